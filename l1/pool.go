package l1

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

// DefaultMaxTxSize is the largest transaction accepted, as go-ethereum's pool
// (128 KiB).
const DefaultMaxTxSize = 4 * 32 * 1024

// MaxBlobTxSize is the largest blob transaction accepted, sidecar
// included: the most blobs a transaction may carry (EIP-7594: 6), each
// with its commitment and 128 cell proofs, and room for the rest.
const MaxBlobTxSize = params.BlobTxMaxBlobs*(params.BlobTxFieldElementsPerBlob*32+48+kzg4844.CellProofsPerBlob*48) + DefaultMaxTxSize

// DefaultAccountSlots is how many pending transactions one sender may have.
const DefaultAccountSlots = 4096

// AccountQueue is how many transactions one sender may have waiting behind
// a nonce gap, go-ethereum's default (--txpool.accountqueue 64): a client
// sending consecutive nonces over several connections has them arrive out
// of order, and each waits until the gap fills.
const AccountQueue = 64

// DefaultPoolBytes bounds the bytes of all pending transactions in the
// view, under CometBFT's own mempool bound (256 MiB), so the view decides
// what is admitted and what is evicted when it is full.
const DefaultPoolBytes = 64 * 1024 * 1024

// MinTip is the smallest priority fee per gas admitted, go-ethereum's
// default price limit (1 wei).
const MinTip = 1

// ErrPoolFull is returned for a transaction refused because the pool is
// full of transactions that pay at least as much.
var ErrPoolFull = errors.New("txpool is full")

// pool is the application's view of its CometBFT mempool: for every sender,
// the pending transactions by nonce, gapless from the sender's state nonce.
// CometBFT keeps the bytes and gossips them; this view decides what is valid,
// what replaces what, and what a proposal may contain.
type pool struct {
	mu       sync.Mutex
	config   *params.ChainConfig
	signer   types.Signer
	slots    int
	maxBytes uint64
	bytes    uint64 // of all pending transactions
	accounts map[common.Address]*pending
	byHash   map[common.Hash]*types.Transaction
}

type pending struct {
	base  uint64 // state nonce when last pruned
	txs   map[uint64]*types.Transaction
	spent *big.Int // sum of the pending transactions' maximum costs
	// The end of the gapless run from state nonce memoState, while
	// memoOK: recheck asks for it once per transaction, and walking the
	// run each time was quadratic in the sender's pending count.
	memoOK    bool
	memoState uint64
	memoNext  uint64
}

func (acc *pending) put(tx *types.Transaction) {
	if old := acc.txs[tx.Nonce()]; old != nil {
		acc.spent.Sub(acc.spent, old.Cost())
	}
	acc.txs[tx.Nonce()] = tx
	acc.spent.Add(acc.spent, tx.Cost())
	if acc.memoOK && tx.Nonce() == acc.memoNext {
		acc.memoOK = false // the run may go further now
	}
}

// queued counts the transactions waiting behind a gap at next.
func (acc *pending) queued(next uint64) int {
	n := 0
	for nonce := range acc.txs {
		if nonce > next {
			n++
		}
	}
	return n
}

func (acc *pending) drop(nonce uint64) {
	if old := acc.txs[nonce]; old != nil {
		acc.spent.Sub(acc.spent, old.Cost())
		delete(acc.txs, nonce)
		if acc.memoOK && nonce >= acc.memoState && nonce < acc.memoNext {
			acc.memoNext = nonce // the run now ends here
		}
	}
}

func newPool(config *params.ChainConfig, slots int) *pool {
	return &pool{
		config:   config,
		signer:   types.LatestSigner(config),
		slots:    slots,
		maxBytes: DefaultPoolBytes,
		accounts: map[common.Address]*pending{},
		byHash:   map[common.Hash]*types.Transaction{},
	}
}

// nextNonce is the first nonce after a sender's gapless pending run. Caller
// holds mu.
func (p *pool) nextNonce(addr common.Address, stateNonce uint64) uint64 {
	acc := p.accounts[addr]
	if acc == nil {
		return stateNonce
	}
	if acc.memoOK && acc.memoState == stateNonce {
		return acc.memoNext
	}
	n := stateNonce
	for acc.txs[n] != nil {
		n++
	}
	acc.memoOK, acc.memoState, acc.memoNext = true, stateNonce, n
	return n
}

// effectiveTip is what a transaction pays the proposer per gas at a base
// fee (zero when its fee cap is below it).
func effectiveTip(tx *types.Transaction, baseFee *big.Int) *big.Int {
	tip, err := tx.EffectiveGasTip(baseFee)
	if err != nil {
		return new(big.Int)
	}
	return tip
}

// PendingNonce returns the nonce the sender's next transaction should use.
func (p *pool) PendingNonce(addr common.Address, stateNonce uint64) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextNonce(addr, stateNonce)
}

// Get returns a pending transaction by hash, or nil.
func (p *pool) Get(hash common.Hash) *types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byHash[hash]
}

// Has reports whether the view holds this transaction.
func (p *pool) Has(hash common.Hash) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byHash[hash] != nil
}

// Content splits the view by sender into what is executable from the
// state nonce (pending) and what waits behind a gap (queued), in nonce
// order, as go-ethereum's txpool_content does.
func (p *pool) Content() (pending, queued map[common.Address][]*types.Transaction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending, queued = map[common.Address][]*types.Transaction{}, map[common.Address][]*types.Transaction{}
	for addr, acc := range p.accounts {
		next := p.nextNonce(addr, acc.base)
		nonces := make([]uint64, 0, len(acc.txs))
		for n := range acc.txs {
			nonces = append(nonces, n)
		}
		slices.Sort(nonces)
		for _, n := range nonces {
			if n < next {
				pending[addr] = append(pending[addr], acc.txs[n])
			} else {
				queued[addr] = append(queued[addr], acc.txs[n])
			}
		}
	}
	return pending, queued
}

// Len is the number of pending transactions.
func (p *pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byHash)
}

// add validates tx against the head state and the pending transactions of its
// sender and adds it, replacing a pending one with the same nonce when both of
// its fee caps are at least 10% higher (go-ethereum's rule). Its fee cap must
// cover baseFee, the next block's, and its tip MinTip: a transaction that
// can never be included would otherwise sit in every node's mempool for
// free. When the pool is full, a transaction is admitted only by evicting
// a sender's last transaction that pays a lower tip.
func (p *pool) add(tx *types.Transaction, from common.Address, head *types.Header, baseFee *big.Int, st *state.StateDB, maxSize uint64) error {
	opts := &txpool.ValidationOptions{
		Config:       p.config,
		Accept:       1<<types.LegacyTxType | 1<<types.AccessListTxType | 1<<types.DynamicFeeTxType | 1<<types.BlobTxType,
		MaxSize:      maxSize,
		MaxBlobCount: params.BlobTxMaxBlobs,
		MinTip:       big.NewInt(MinTip),
	}
	if tx.Type() == types.BlobTxType {
		opts.MaxSize = MaxBlobTxSize
	}
	if err := txpool.ValidateTransaction(tx, head, p.signer, opts); err != nil {
		return err
	}
	if tx.GasFeeCap().Cmp(baseFee) < 0 {
		return fmt.Errorf("%w: max fee per gas %v, the next block's base fee %v", core.ErrFeeCapTooLow, tx.GasFeeCap(), baseFee)
	}
	if tx.Type() == types.BlobTxType {
		if blobFee := eip4844.CalcBlobFee(p.config, head); tx.BlobGasFeeCap().Cmp(blobFee) < 0 {
			return fmt.Errorf("%w: max fee per blob gas %v, the blob base fee %v", core.ErrBlobFeeCapTooLow, tx.BlobGasFeeCap(), blobFee)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byHash[tx.Hash()] != nil {
		return txpool.ErrAlreadyKnown
	}
	acc := p.accounts[from]
	err := txpool.ValidateTransactionWithState(tx, p.signer, &txpool.ValidationOptionsWithState{
		State: st,
		// Future nonces queue (below), so no gap check here.
		UsedAndLeftSlots: func(common.Address) (int, int) {
			if acc == nil {
				return 0, p.slots
			}
			return len(acc.txs), p.slots - len(acc.txs)
		},
		ExistingExpenditure: func(common.Address) *big.Int {
			if acc == nil {
				return new(big.Int)
			}
			return new(big.Int).Set(acc.spent)
		},
		ExistingCost: func(_ common.Address, nonce uint64) *big.Int {
			if acc != nil && acc.txs[nonce] != nil {
				return acc.txs[nonce].Cost()
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if next := p.nextNonce(from, st.GetNonce(from)); tx.Nonce() > next {
		if tx.Nonce()-next > AccountQueue || acc != nil && acc.queued(next) >= AccountQueue && acc.txs[tx.Nonce()] == nil {
			return fmt.Errorf("%w: tx nonce %d, next executable %d, at most %d may wait behind a gap", core.ErrNonceTooHigh, tx.Nonce(), next, AccountQueue)
		}
	}
	old := (*types.Transaction)(nil)
	if acc != nil {
		old = acc.txs[tx.Nonce()]
	}
	if old != nil && !chain.Bumped(old, tx) {
		return fmt.Errorf("%w: need both fee caps %d%% above the pending transaction's", txpool.ErrReplaceUnderpriced, chain.PriceBump)
	}
	grow := tx.Size()
	if old != nil {
		grow -= min(grow, old.Size())
	}
	for p.bytes+grow > p.maxBytes {
		if !p.evictCheaperLocked(from, effectiveTip(tx, baseFee), baseFee) {
			return fmt.Errorf("%w: %d bytes pending pay at least this transaction's tip", ErrPoolFull, p.bytes)
		}
	}
	if acc == nil {
		acc = &pending{base: st.GetNonce(from), txs: map[uint64]*types.Transaction{}, spent: new(big.Int)}
		p.accounts[from] = acc
	}
	if old != nil {
		delete(p.byHash, old.Hash())
		p.bytes -= old.Size()
	}
	acc.put(tx)
	p.byHash[tx.Hash()] = tx
	p.bytes += tx.Size()
	return nil
}

// evictCheaperLocked drops the last pending transaction (highest nonce, so
// no gap opens) of the sender, other than from, whose last transaction pays
// the lowest tip at baseFee, if that tip is below tip. It reports whether it
// dropped one. CometBFT's mempool drops the bytes at its next recheck.
func (p *pool) evictCheaperLocked(from common.Address, tip, baseFee *big.Int) bool {
	var (
		victim    common.Address
		victimTx  *types.Transaction
		victimTip *big.Int
	)
	for addr, acc := range p.accounts {
		if addr == from {
			continue
		}
		var last *types.Transaction
		for _, t := range acc.txs {
			if last == nil || t.Nonce() > last.Nonce() {
				last = t
			}
		}
		if last == nil {
			continue
		}
		lt := effectiveTip(last, baseFee)
		// Ties go to the lower address, so every node evicts the same.
		if victimTx == nil || lt.Cmp(victimTip) < 0 || lt.Cmp(victimTip) == 0 && bytes.Compare(addr[:], victim[:]) < 0 {
			victim, victimTx, victimTip = addr, last, lt
		}
	}
	if victimTx == nil || victimTip.Cmp(tip) >= 0 {
		return false
	}
	p.removeLocked(victim, victimTx)
	return true
}

// errReplaced is returned on recheck for a transaction no longer in the view:
// included, replaced, or dropped.
var errReplaced = errors.New("transaction no longer pending: included or replaced")

// recheck re-validates a pending transaction after a block; it drops it when
// it has gone (included or replaced), turned invalid, or can no longer pay
// the next block's base fee (there is no parked pool to wait in).
func (p *pool) recheck(tx *types.Transaction, from common.Address, st *state.StateDB, baseFee *big.Int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byHash[tx.Hash()] == nil {
		return errReplaced
	}
	acc := p.accounts[from]
	if tx.GasFeeCap().Cmp(baseFee) < 0 {
		p.removeLocked(from, tx)
		return fmt.Errorf("%w: max fee per gas %v, the next block's base fee %v", core.ErrFeeCapTooLow, tx.GasFeeCap(), baseFee)
	}
	if tx.Nonce() < st.GetNonce(from) {
		p.removeLocked(from, tx)
		return fmt.Errorf("%w: nonce %d, state %d", core.ErrNonceTooLow, tx.Nonce(), st.GetNonce(from))
	}
	// A transaction behind a gap stays queued, as go-ethereum keeps it,
	// until the gap fills or it is evicted.
	balance := st.GetBalance(from).ToBig()
	if balance.Cmp(acc.spent) >= 0 {
		return nil // covers everything the sender has pending
	}
	var spent big.Int // what this transaction and those before it need
	for n, t := range acc.txs {
		if n <= tx.Nonce() {
			spent.Add(&spent, t.Cost())
		}
	}
	if balance.Cmp(&spent) < 0 {
		p.removeLocked(from, tx)
		return fmt.Errorf("insufficient funds for gas * price + value: now short for nonce %d", tx.Nonce())
	}
	return nil
}

func (p *pool) removeLocked(from common.Address, tx *types.Transaction) {
	if p.byHash[tx.Hash()] != nil {
		p.bytes -= tx.Size()
	}
	delete(p.byHash, tx.Hash())
	if acc := p.accounts[from]; acc != nil && acc.txs[tx.Nonce()] == tx {
		acc.drop(tx.Nonce())
		if len(acc.txs) == 0 {
			delete(p.accounts, from)
		}
	}
}

// prune drops transactions whose nonce the new state has used.
func (p *pool) prune(st *state.StateDB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Order does not matter here: each account is pruned independently.
	for addr, acc := range p.accounts {
		nonce := st.GetNonce(addr)
		if nonce == acc.base {
			continue
		}
		for n, t := range acc.txs {
			if n < nonce {
				acc.drop(n)
				if p.byHash[t.Hash()] != nil {
					p.bytes -= t.Size()
				}
				delete(p.byHash, t.Hash())
			}
		}
		acc.base = nonce
		if len(acc.txs) == 0 {
			delete(p.accounts, addr)
		}
	}
}
