package l1

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/txpool/txorder"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1/staking"
)

// Result codes of CheckTx and of transactions in FinalizeBlock. They are kept
// apart from Go errors: a code is the application's verdict on a transaction,
// an error means the application itself failed.
const (
	CodeOK          uint32 = 0
	CodeInvalidTx   uint32 = 1 // the transaction is malformed or invalid now
	CodePeerRefused uint32 = 2 // a peer filter query refused the peer
)

// ErrUnprotected refuses legacy transactions signed without a chain ID, as
// go-ethereum's RPC does by default.
var ErrUnprotected = errors.New("only replay-protected (EIP-155) transactions allowed over RPC")

// Config tunes the application.
type Config struct {
	MaxTxSize    uint64           // bytes; DefaultMaxTxSize when 0
	AccountSlots int              // pending transactions per sender; DefaultAccountSlots when 0
	Staking      *staking.Staking // proof of stake; nil keeps the genesis validators and pays fees to the proposer's address
	// ProposalBudget bounds how long a proposer spends executing the
	// transactions it offers (DefaultProposalBudget when 0).
	ProposalBudget time.Duration
	Clock          func() time.Time // time.Now when nil; only sizes proposals
	// BlobRetention is how long blob sidecars are kept after their block
	// (DefaultBlobRetention when 0), as consensus clients keep blobs.
	BlobRetention time.Duration
}

// DefaultBlobRetention is Ethereum's: 4096 epochs of 32 slots of 12 s,
// about 18 days.
const DefaultBlobRetention = 4096 * 32 * 12 * time.Second

// DefaultProposalBudget is the execution time a proposal is cut at: with the
// other validators' execution, the votes and the commit, a block under a
// backlog takes about three times this.
const DefaultProposalBudget = 50 * time.Millisecond

// App is the L1's CometBFT ABCI++ application: Ethereum-format transactions
// executed by the chain package, one Ethereum block per CometBFT block, the
// app hash being the state root.
//
// CometBFT calls it on three connections (consensus, mempool, query), each
// serialised by its own mutex, so CheckTx runs while a block executes. The
// mempool's state (checkState) belongs to the mempool connection; the
// consensus connection and RPC readers open their own state from the store,
// which is safe for concurrent use.
type App struct {
	abci.BaseApplication

	store *chain.Store
	exec  *chain.Executor
	pool  *pool
	cfg   Config
	log   *slog.Logger
	stats *Metrics

	decoded *decodeCache
	chainID uint64
	builds  atomic.Int64 // block executions, for tests of the result cache
	baseFee atomic.Pointer[headBaseFee]

	mu         sync.Mutex // guards the fields below against RPC readers
	checkState *state.StateDB
	results    map[[32]byte]*chain.Result // executed proposals of this height
	finalized  *chain.Result              // FinalizeBlock's result, for Commit
	appHash    common.Hash                // the app hash (apphash.go) of block appHeight
	appHeight  uint64                     // the head, as Info reports it
}

type decodedTx struct {
	tx   *types.Transaction // as sent: a blob transaction with its sidecar
	from common.Address
	key  common.Hash // keccak256 of the bytes, the decode cache's key
}

// body is the transaction as a block holds it: a blob transaction without
// its sidecar.
func (d *decodedTx) body() *types.Transaction {
	if d.tx.Type() == types.BlobTxType {
		return d.tx.WithoutBlobTxSidecar()
	}
	return d.tx
}

// NewApp returns the application over an open store.
func NewApp(store *chain.Store, system *chain.SystemContracts, cfg Config, metrics *Metrics, log *slog.Logger) (*App, error) {
	cfg.MaxTxSize = cmp.Or(cfg.MaxTxSize, DefaultMaxTxSize)
	cfg.AccountSlots = cmp.Or(cfg.AccountSlots, DefaultAccountSlots)
	cfg.ProposalBudget = cmp.Or(cfg.ProposalBudget, DefaultProposalBudget)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if metrics == nil {
		metrics = NewMetrics(nil, "")
	}
	var hooks []chain.BlockHook
	if cfg.Staking != nil {
		hooks = append(hooks, cfg.Staking)
	}
	a := &App{
		store:   store,
		exec:    chain.NewExecutor(store.Config(), store, system, hooks...).WithBlobs(),
		pool:    newPool(store.Config(), cfg.AccountSlots),
		cfg:     cfg,
		log:     log,
		stats:   metrics,
		decoded: newDecodeCache(decodeCacheBytes),
		chainID: store.Config().ChainID.Uint64(),
		results: map[[32]byte]*chain.Result{},
	}
	if err := a.resetCheckState(); err != nil {
		return nil, err
	}
	if err := a.checkAppHashRule(); err != nil {
		return nil, err
	}
	a.appHeight = store.Head().Number.Uint64()
	var err error
	if a.appHash, err = a.appHashAt(a.appHeight); err != nil {
		return nil, err
	}
	return a, nil
}

// nextBaseFee is the base fee of the block after head, computed once per
// head: CheckTx asks for it for every transaction.
func (a *App) nextBaseFee(head *types.Header) *big.Int {
	if b := a.baseFee.Load(); b != nil && b.head == head {
		return b.fee
	}
	fee := a.exec.Header(head, chain.Env{}).BaseFee
	a.baseFee.Store(&headBaseFee{head, fee})
	return fee
}

type headBaseFee struct {
	head *types.Header
	fee  *big.Int
}

// Store returns the chain store.
func (a *App) Store() *chain.Store { return a.store }

// Executor returns the block executor.
func (a *App) Executor() *chain.Executor { return a.exec }

// PendingNonce is the nonce the next transaction of addr should carry,
// counting transactions waiting in the mempool.
// It reads its own copy of the head state: the mempool's is not safe to share
// with RPC goroutines. A block may commit between reading the head and the
// mempool, and its sender's transactions leave the mempool only after the
// new head is made; so the head is read again after the mempool, and the
// larger answer kept (else a client would be told a nonce already used).
func (a *App) PendingNonce(addr common.Address) (uint64, error) {
	nonceAt := func() (uint64, error) {
		st, err := a.store.StateAt(a.store.Head().Root)
		if err != nil {
			return 0, err
		}
		return st.GetNonce(addr), nil
	}
	before, err := nonceAt()
	if err != nil {
		return 0, err
	}
	pending := a.pool.PendingNonce(addr, before)
	after, err := nonceAt()
	if err != nil {
		return 0, err
	}
	return max(pending, after), nil
}

// PendingTransaction returns a transaction waiting in the mempool, or nil.
func (a *App) PendingTransaction(hash common.Hash) *types.Transaction { return a.pool.Get(hash) }

// PendingCount is how many transactions wait in the mempool view.
func (a *App) PendingCount() int { return a.pool.Len() }

func (a *App) resetCheckState() error {
	st, err := a.store.StateAt(a.store.Head().Root)
	if err != nil {
		return fmt.Errorf("open head state: %w", err)
	}
	a.mu.Lock()
	a.checkState = st
	a.mu.Unlock()
	return nil
}

// decode parses raw transaction bytes and recovers the sender. What passed
// CheckTx is cached by hash, so the later phases of a transaction's life do
// not recover its sender again.
func (a *App) decode(raw []byte) (*decodedTx, error) {
	hash := crypto.Keccak256Hash(raw)
	if d, ok := a.decoded.get(hash); ok {
		return d, nil
	}
	limit := a.cfg.MaxTxSize
	if len(raw) > 0 && raw[0] == types.BlobTxType {
		limit = MaxBlobTxSize
	}
	if uint64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: transaction size %d, limit %d", txpool.ErrOversizedData, len(raw), limit)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	if tx.Type() == types.LegacyTxType && !tx.Protected() {
		return nil, ErrUnprotected
	}
	if tx.Type() == types.SetCodeTxType {
		return nil, chain.ErrTxTypeRefused
	}
	if tx.Type() == types.BlobTxType {
		if err := checkSidecar(tx); err != nil {
			a.stats.BlobsRefused.Inc()
			return nil, err
		}
	}
	if from, ok := senders.Get(senderKey{hash, a.chainID}); ok {
		// Seed go-ethereum's own per-transaction sender cache, which
		// the pool's validation reads.
		_, _ = types.Sender(knownSender{a.pool.signer, from}, tx)
		return &decodedTx{tx: tx, from: from, key: hash}, nil
	}
	from, err := types.Sender(a.pool.signer, tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", txpool.ErrInvalidSender, err)
	}
	return &decodedTx{tx: tx, from: from, key: hash}, nil
}

// Info tells CometBFT where the application is, so it replays what is missing.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	height, hash := a.appHeight, a.appHash
	a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "cairn-l1",
		Version:          Version,
		AppVersion:       AppVersion,
		LastBlockHeight:  int64(height),
		LastBlockAppHash: hash.Bytes(),
	}, nil
}

// InitChain answers with the genesis state root; the genesis itself was
// written when the store was opened.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	if head := a.store.Head(); head.Number.Sign() != 0 {
		return nil, fmt.Errorf("InitChain on a chain at height %d", head.Number)
	}
	if a.cfg.Staking != nil {
		if err := a.checkGenesisValidators(req.Validators); err != nil {
			return nil, err
		}
	}
	return &abci.ResponseInitChain{AppHash: a.store.Genesis().Root().Bytes()}, nil
}

// checkGenesisValidators refuses a CometBFT genesis whose validator set is
// not the staking contract's genesis set with its powers: the two would
// disagree on who may sign from the first block.
func (a *App) checkGenesisValidators(vals []abci.ValidatorUpdate) error {
	st, err := a.store.StateAt(a.store.Genesis().Root())
	if err != nil {
		return err
	}
	want := map[string]int64{}
	for _, v := range staking.Validators(st) {
		if v.Power > 0 {
			want[string(v.PubKey[:])] = v.Power
		}
	}
	if len(vals) != len(want) {
		return fmt.Errorf("%w: CometBFT's genesis has %d validators, staking %d", staking.ErrParams, len(vals), len(want))
	}
	for _, v := range vals {
		pub := v.PubKey.GetEd25519()
		if p, ok := want[string(pub)]; !ok || p != v.Power {
			return fmt.Errorf("%w: CometBFT's genesis validator %x with power %d is not staking's (power %d)", staking.ErrParams, pub, v.Power, p)
		}
	}
	return nil
}

// CheckTx admits a transaction to the mempool: decoding, chain ID, signature,
// size, intrinsic gas, a fee cap covering the next block's base fee and a tip
// of at least MinTip, nonce against the pending nonce, balance for the
// maximum cost, go-ethereum's replacement rule, and the pool's byte bound.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	d, err := a.decode(req.Tx)
	if err == nil {
		a.mu.Lock()
		st := a.checkState
		a.mu.Unlock()
		head := a.store.Head()
		baseFee := a.nextBaseFee(head)
		if req.Type == abci.CheckTxType_Recheck {
			err = a.pool.recheck(d.tx, d.from, st, baseFee)
		} else {
			err = a.pool.add(d.tx, d.from, head, baseFee, st, a.cfg.MaxTxSize)
		}
	}
	if err != nil {
		if req.Type == abci.CheckTxType_New {
			a.stats.TxRejected.Inc()
		}
		return &abci.ResponseCheckTx{Code: CodeInvalidTx, Log: err.Error()}, nil
	}
	if req.Type == abci.CheckTxType_New {
		a.stats.TxAccepted.Inc()
		a.decoded.add(d.key, d, len(req.Tx))
		senders.Add(senderKey{d.tx.Hash(), a.chainID}, d.from)
	}
	return &abci.ResponseCheckTx{Code: CodeOK, GasWanted: int64(d.tx.Gas())}, nil
}

// PrepareProposal orders the mempool's valid transactions by effective tip
// (nonce order within a sender), fills the block to its gas limit, executes
// it, and drops what turned out invalid.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	head := a.store.Head()
	baseFee := a.nextBaseFee(head)
	bySender := map[common.Address][]*txpool.LazyTransaction{}
	raws := map[common.Hash][]byte{}
	bodies := map[common.Hash]*types.Transaction{}
	for _, raw := range req.Txs {
		d, err := a.decode(raw)
		if err != nil || !a.pool.Has(d.tx.Hash()) {
			continue // replaced or invalid: recheck will drop it
		}
		tx := d.tx
		raws[tx.Hash()], bodies[tx.Hash()] = raw, d.body()
		bySender[d.from] = append(bySender[d.from], &txpool.LazyTransaction{
			Hash:      tx.Hash(),
			Tx:        tx,
			GasFeeCap: uint256.MustFromBig(tx.GasFeeCap()),
			GasTipCap: uint256.MustFromBig(tx.GasTipCap()),
			Gas:       tx.Gas(),
		})
	}
	st, err := a.store.StateAt(head.Root)
	if err != nil {
		return nil, err
	}
	for from, txs := range bySender {
		slices.SortFunc(txs, func(a, b *txpool.LazyTransaction) int { return cmp.Compare(a.Tx.Nonce(), b.Tx.Nonce()) })
		// Only the executable run: what waits behind a gap stays queued.
		next, k := st.GetNonce(from), 0
		for k < len(txs) && txs[k].Tx.Nonce() == next {
			k++
			next++
		}
		if k == 0 {
			delete(bySender, from)
			continue
		}
		bySender[from] = txs[:k]
	}
	order := txorder.NewTransactionsByPriceAndNonce(a.pool.signer, bySender, baseFee)
	var (
		gasLeft = head.GasLimit
		bytes   int64
		picked  []*types.Transaction
	)
	for {
		lt, _ := order.Peek()
		if lt == nil {
			break
		}
		raw := raws[lt.Hash]
		if lt.Gas > gasLeft || bytes+int64(len(raw)) > req.MaxTxBytes {
			order.Pop() // this sender's later nonces cannot follow
			continue
		}
		gasLeft -= lt.Gas
		bytes += int64(len(raw))
		picked = append(picked, bodies[lt.Hash])
		order.Shift()
	}
	env := a.env(req.Time.Unix(), req.ProposerAddress, extendedVotes(req.LocalLastCommit.Votes), req.Misbehavior)
	res, err := a.propose(head, env, picked)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(res.Block.Transactions()))
	for _, tx := range res.Block.Transactions() {
		out = append(out, raws[tx.Hash()])
	}
	if len(res.Skipped) == 0 {
		a.remember(resultKey(head.Number.Uint64()+1, env, out), res)
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal executes a proposed block and refuses it when any
// transaction is malformed or cannot be applied.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	head := a.store.Head()
	env := a.env(req.Time.Unix(), req.ProposerAddress, commitVotes(req.ProposedLastCommit.Votes), req.Misbehavior)
	key := resultKey(uint64(req.Height), env, req.Txs)
	if a.hasResult(key) { // our own proposal, executed by PrepareProposal
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
	}
	txs := make([]*types.Transaction, 0, len(req.Txs))
	for i, raw := range req.Txs {
		d, err := a.decode(raw)
		if err != nil {
			a.log.Warn("Rejecting proposal with a malformed transaction", "height", req.Height, "index", i, "err", err)
			a.stats.ProposalsRejected.Inc()
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		txs = append(txs, d.body())
	}
	res, err := a.build(head, env, txs, nil)
	if err != nil {
		return nil, err
	}
	if len(res.Skipped) > 0 {
		s := res.Skipped[0]
		a.log.Warn("Rejecting proposal with an invalid transaction", "height", req.Height, "index", s.Index, "tx", s.Tx.Hash(), "err", s.Err)
		a.stats.ProposalsRejected.Inc()
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	a.remember(key, res)
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the decided block (or reuses the execution of its
// proposal). A transaction that cannot be applied is left out of the
// Ethereum block and reported with a non-zero code; it cannot halt the chain.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	head := a.store.Head()
	if uint64(req.Height) != head.Number.Uint64()+1 {
		return nil, fmt.Errorf("FinalizeBlock at height %d, head is %d", req.Height, head.Number)
	}
	env := a.env(req.Time.Unix(), req.ProposerAddress, commitVotes(req.DecidedLastCommit.Votes), req.Misbehavior)
	results := make([]*abci.ExecTxResult, len(req.Txs))
	res := a.cached(resultKey(uint64(req.Height), env, req.Txs))
	if res == nil {
		var (
			txs   []*types.Transaction
			index []int
		)
		for i, raw := range req.Txs {
			d, err := a.decode(raw)
			if err != nil {
				results[i] = &abci.ExecTxResult{Code: CodeInvalidTx, Log: err.Error()}
				continue
			}
			txs = append(txs, d.body())
			index = append(index, i)
		}
		var err error
		if res, err = a.build(head, env, txs, nil); err != nil {
			return nil, err
		}
		for _, s := range res.Skipped {
			results[index[s.Index]] = &abci.ExecTxResult{Code: CodeInvalidTx, Log: s.Err.Error()}
		}
	}
	receipts := res.Receipts
	for i := range results {
		if results[i] != nil {
			continue
		}
		r := receipts[0]
		receipts = receipts[1:]
		results[i] = &abci.ExecTxResult{Code: CodeOK, Data: r.TxHash.Bytes(), GasUsed: int64(r.GasUsed), GasWanted: int64(r.GasUsed)}
	}
	var updates []abci.ValidatorUpdate
	if a.cfg.Staking != nil {
		for _, u := range staking.Updates(res.State) {
			updates = append(updates, abci.Ed25519ValidatorUpdate(u.PubKey[:], u.Power))
		}
	}
	res.Sidecars = a.sidecarsOf(req.Txs, res.Block)
	// The state and block are written now, outside the mempool lock
	// CometBFT holds through Commit; Commit makes them the head.
	if err := a.store.Prepare(res); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.finalized = res
	hash := nextAppHash(a.appHash, res.Block)
	a.mu.Unlock()
	return &abci.ResponseFinalizeBlock{TxResults: results, ValidatorUpdates: updates, AppHash: hash.Bytes()}, nil
}

// Commit makes the finalized block durable and the new head, then resets the
// mempool view to the new state before CometBFT rechecks the mempool.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	res := a.finalized
	a.finalized = nil
	a.results = map[[32]byte]*chain.Result{}
	a.mu.Unlock()
	if res == nil {
		return nil, errors.New("Commit without FinalizeBlock")
	}
	if err := a.store.Commit(res); err != nil {
		return nil, err
	}
	a.mu.Lock()
	hash := nextAppHash(a.appHash, res.Block) // as FinalizeBlock reported
	a.appHash, a.appHeight = hash, res.Block.NumberU64()
	a.mu.Unlock()
	if err := a.recordAppHash(res.Block.NumberU64(), hash); err != nil {
		return nil, err
	}
	if err := a.resetCheckState(); err != nil {
		return nil, err
	}
	// The mempool connection may be running CheckTx on checkState right now,
	// so pruning reads its own copy of the new state.
	st, err := a.store.StateAt(res.Block.Root())
	if err != nil {
		return nil, err
	}
	a.pool.prune(st)
	retention := cmp.Or(a.cfg.BlobRetention, DefaultBlobRetention)
	if n, err := a.store.PruneSidecars(uint64(retention / time.Second)); err != nil {
		a.log.Warn("Pruning blob sidecars failed", "err", err)
	} else {
		a.stats.SidecarsPruned.Add(float64(n))
	}
	a.stats.observeBlock(res)
	a.stats.Pending.Set(float64(a.pool.Len()))
	return &abci.ResponseCommit{}, nil
}

// env is the block environment consensus decided: time in seconds, the
// proposer, who signed the previous block, and evidence of misbehaviour. With
// staking, the staking contract collects the priority fees and pays them to
// the proposer's validator; without, the proposer's CometBFT address
// receives them.
func (a *App) env(unix int64, proposer []byte, votes []chain.Vote, evidence []abci.Misbehavior) chain.Env {
	t := uint64(0)
	if unix > 0 {
		t = uint64(unix)
	}
	env := chain.Env{Time: t, Coinbase: common.BytesToAddress(proposer)}
	env.Consensus.Proposer = proposer
	env.Consensus.Votes = votes
	for _, ev := range evidence {
		if ev.Type == abci.MisbehaviorType_DUPLICATE_VOTE {
			env.Consensus.Evidence = append(env.Consensus.Evidence, chain.Misbehaviour{Address: ev.Validator.Address, Height: ev.Height})
		}
	}
	if a.cfg.Staking != nil {
		env.Coinbase = staking.Address
	}
	return env
}

func commitVotes(votes []abci.VoteInfo) []chain.Vote {
	out := make([]chain.Vote, len(votes))
	for i, v := range votes {
		out[i] = chain.Vote{Address: v.Validator.Address, Signed: v.BlockIdFlag == cmtproto.BlockIDFlagCommit}
	}
	return out
}

func extendedVotes(votes []abci.ExtendedVoteInfo) []chain.Vote {
	out := make([]chain.Vote, len(votes))
	for i, v := range votes {
		out[i] = chain.Vote{Address: v.Validator.Address, Signed: v.BlockIdFlag == cmtproto.BlockIDFlagCommit}
	}
	return out
}

// build executes txs on head in env, asking stop (when not nil) before each
// whether the block is done.
func (a *App) build(head *types.Header, env chain.Env, txs []*types.Transaction, stop func(i int) bool) (*chain.Result, error) {
	a.builds.Add(1)
	st, err := a.store.StateAt(head.Root)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", head.Root, err)
	}
	return a.exec.BuildUntil(head, st, env, txs, stop)
}

// propose executes the picked transactions in order until the block is
// done or executing it has taken the proposal budget: what is left waits for
// the next block, so a backlog drains in blocks of bounded time instead of
// one that takes seconds to execute on every validator. The clock decides
// only how much the proposer offers; the other validators check the block
// by executing it, whatever its size.
func (a *App) propose(head *types.Header, env chain.Env, txs []*types.Transaction) (*chain.Result, error) {
	start := a.cfg.Clock()
	return a.build(head, env, txs, func(i int) bool {
		if i%64 != 0 || i == 0 || a.cfg.Clock().Sub(start) <= a.cfg.ProposalBudget {
			return false
		}
		a.stats.ProposalsCut.Inc()
		return true
	})
}

func (a *App) remember(key [32]byte, res *chain.Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.results) >= 8 { // many rounds at one height: start over
		a.results = map[[32]byte]*chain.Result{}
	}
	a.results[key] = res
}

// hasResult reports whether this block has been executed at this height.
func (a *App) hasResult(key [32]byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.results[key] != nil
}

// cached returns (and forgets) an execution of the same block. The result's
// state is mutated by Commit, so it is handed out once.
func (a *App) cached(key [32]byte) *chain.Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := a.results[key]
	delete(a.results, key)
	return res
}

// resultKey identifies a block's execution by everything it depends on.
func resultKey(height uint64, env chain.Env, txs [][]byte) [32]byte {
	h := sha256.New()
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], height)
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], env.Time)
	h.Write(buf[:])
	h.Write(env.Coinbase.Bytes())
	h.Write(env.Consensus.Proposer)
	for _, v := range env.Consensus.Votes {
		h.Write(v.Address)
		if v.Signed {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	for _, ev := range env.Consensus.Evidence {
		h.Write(ev.Address)
		binary.BigEndian.PutUint64(buf[:], uint64(ev.Height))
		h.Write(buf[:])
	}
	for _, tx := range txs {
		h.Write(crypto.Keccak256(tx))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
