package rolluptest

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/rollup/node"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// L1Miner is the hand-mined L1 of action tests (see wingtest.L1Miner).
type L1Miner = wingtest.L1Miner

// L1MinerChainID is the chain ID of hand-mined L1s.
const L1MinerChainID = wingtest.L1MinerChainID

// NewL1Miner starts a hand-mined L1 (see wingtest.NewL1Miner).
var NewL1Miner = wingtest.NewL1Miner

// Clock is a settable clock for sequencers in tests.
type Clock struct{ now atomic.Int64 }

// NewClock returns a clock at unix second t.
func NewClock(t uint64) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(c.now.Load(), 0) }

// Set moves the clock to unix second t.
func (c *Clock) Set(t uint64) { c.now.Store(int64(t)) }

// System is a whole rollup driven by hand: an L1 miner, a sequencer, a
// batcher and a verifier, each moving only when a test says so.
type System struct {
	L1        *L1Miner
	Config    *rollup.Config
	Sequencer *node.Node
	Batcher   *batcher.Batcher
	Verifier  *node.Node
	Committee []*da.Member      // with DA committee: the data-availability committee's members
	Storage   []*da.StorageNode // with DA sampling: the storage nodes
	Clock     *Clock
	dir       string
	opts      Options
}

// Options tune a System.
type Options struct {
	Dir          string             // data directories; "" keeps chains in memory
	SeqWindow    uint64             // 0: 10
	CensorForced bool               // the sequencer ignores forced transactions
	MaxTxData    int                // the batcher's calldata per L1 transaction; 0: DefaultMaxTxData
	DA           rollup.DA          // where the batcher posts: calldata (default) or blobs
	L1Alloc      types.GenesisAlloc // more L1 genesis accounts (contracts a story calls)
	// BatcherKey is the batcher's L1 key, the one the inbox accepts
	// batches from; nil: BatcherKey(). A story whose attacker also runs
	// the sequencer gives it the attacker's.
	BatcherKey *ecdsa.PrivateKey
	Log        *slog.Logger
}

// NewSystem starts an L1 miner with the test accounts and the batcher funded,
// and anchors a rollup to its genesis.
func NewSystem(ctx context.Context, opts Options) (*System, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	alloc := maps.Clone(opts.L1Alloc)
	if alloc == nil {
		alloc = types.GenesisAlloc{}
	}
	balance := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	for i := range uint32(10) {
		alloc[chain.DevAddress(i)] = types.Account{Balance: balance}
	}
	batcher := cmp.Or(opts.BatcherKey, rollup.BatcherKey())
	if _, ok := alloc[crypto.PubkeyToAddress(batcher.PublicKey)]; !ok {
		alloc[crypto.PubkeyToAddress(batcher.PublicKey)] = types.Account{Balance: balance}
	}
	g := rollup.DevGenesis(0)
	alloc[rollup.PortalAddress] = rollup.PortalBacking(&g)
	proofs, err := rollup.DevL1Params(&g, crypto.PubkeyToAddress(batcher.PublicKey))
	if err != nil {
		return nil, err
	}
	proofs.SeqWindow = cmp.Or(opts.SeqWindow, 10)
	proofs.ChannelTimeout = 10
	var members []*da.Member
	if opts.DA == rollup.DACommittee {
		var keys []*da.BLSKey
		proofs.Committee, keys = rollup.DevCommittee(rollup.DevCommitteeSize, rollup.DevCommitteeHonest)
		for _, k := range keys {
			m, err := da.NewMember(k, proofs.L2ChainID, "", opts.Log)
			if err != nil {
				return nil, err
			}
			if err := m.Start("127.0.0.1:0"); err != nil {
				return nil, err
			}
			members = append(members, m)
		}
	}
	var storage []*da.StorageNode
	if opts.DA == rollup.DASampling {
		proofs.Sampling = true
		for range 2 {
			n, err := da.NewStorageNode("", opts.Log)
			if err != nil {
				return nil, err
			}
			if err := n.Start("127.0.0.1:0"); err != nil {
				return nil, err
			}
			storage = append(storage, n)
		}
	}
	l1, err := NewL1Miner(alloc, rollup.L1Contracts(proofs)...)
	if err != nil {
		return nil, err
	}
	cfg := rollup.NewDevConfig(L1MinerChainID, l1.Head(), crypto.PubkeyToAddress(batcher.PublicKey), g, proofs)
	for _, m := range members {
		cfg.CommitteeURLs = append(cfg.CommitteeURLs, m.URL())
	}
	for _, n := range storage {
		cfg.StorageURLs = append(cfg.StorageURLs, n.URL())
	}
	s := &System{L1: l1, Config: cfg, Committee: members, Storage: storage, Clock: NewClock(l1.Head().Time), dir: opts.Dir, opts: opts}
	if err := s.StartSequencer(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.StartVerifier(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.StartBatcher(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *System) dataDir(name string) string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, name)
}

// StartSequencer (re)starts the sequencer from its data directory.
func (s *System) StartSequencer(ctx context.Context) error {
	n, err := node.Start(ctx, node.Config{
		Name: "sequencer", Rollup: s.Config, DataDir: s.dataDir("sequencer"), L1: s.L1.Client(), L1Beacon: s.L1.URL(),
		Sequencer: true, Manual: true, Clock: s.Clock.Now, RPCAddr: "127.0.0.1:0", SequencerKey: rollup.SequencerKey(),
		CensorForced: s.opts.CensorForced, Log: s.opts.Log,
	})
	if err != nil {
		return err
	}
	s.Sequencer = n
	return nil
}

// StartVerifier (re)starts the verifier from its data directory.
func (s *System) StartVerifier(ctx context.Context) error {
	n, err := node.Start(ctx, node.Config{
		Name: "verifier", Rollup: s.Config, DataDir: s.dataDir("verifier"), L1: s.L1.Client(), L1Beacon: s.L1.URL(),
		Manual: true, RPCAddr: "127.0.0.1:0", SequencerRPC: s.Sequencer.RPCURL(), Log: s.opts.Log,
	})
	if err != nil {
		return err
	}
	s.Verifier = n
	return nil
}

// StartBatcher (re)starts the batcher; it keeps no state of its own.
func (s *System) StartBatcher() error {
	b, err := batcher.New(batcher.Config{
		Rollup: s.Config, L1: s.L1.Client(), L2: s.Sequencer, Key: cmp.Or(s.opts.BatcherKey, rollup.BatcherKey()),
		Manual: true, ReceiptTimeout: 5 * time.Second, MaxTxData: s.opts.MaxTxData, DA: s.opts.DA, Log: s.opts.Log,
	})
	if err != nil {
		return err
	}
	s.Batcher = b
	return nil
}

// Close stops everything.
func (s *System) Close() {
	if s.Batcher != nil {
		s.Batcher.Close()
	}
	if s.Sequencer != nil {
		s.Sequencer.Close()
	}
	if s.Verifier != nil {
		s.Verifier.Close()
	}
	s.L1.Close()
	for _, m := range s.Committee {
		m.Close()
	}
	for _, n := range s.Storage {
		n.Close()
	}
}

// Sequence advances the sequencer's clock to the L1 head's time and builds
// one L2 block.
func (s *System) Sequence(ctx context.Context) (*types.Block, error) {
	if now := s.L1.Head().Time; uint64(s.Clock.Now().Unix()) < now {
		s.Clock.Set(now)
	}
	return s.Sequencer.Sequence(ctx)
}

// Batch posts everything the sequencer has not posted yet and mines the L1
// block that includes it: the batcher plans and sends, the miner mines,
// the batcher confirms; nothing runs in the background.
func (s *System) Batch(ctx context.Context) error {
	p, err := s.Batcher.Plan(ctx, true)
	if err != nil || p == nil {
		return err
	}
	if err := s.Batcher.Send(ctx, p); err != nil {
		return err
	}
	if _, _, err := s.L1.Mine(); err != nil {
		return err
	}
	done, err := s.Batcher.Confirm(ctx, p, false)
	if err == nil && !done {
		err = fmt.Errorf("the batcher's %d transactions were not all mined", len(p.Txs()))
	}
	return err
}

// Derive runs a node's derivation until it has read the whole L1.
func Derive(ctx context.Context, n *node.Node) error {
	for {
		progress, err := n.Derive(ctx)
		if err != nil {
			return err
		}
		if !progress {
			return nil
		}
	}
}

// SendL2 signs and sends an L2 transfer from dev account i through the
// sequencer's RPC, returning the transaction.
func (s *System) SendL2(ctx context.Context, client *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int) (*types.Transaction, error) {
	return SendTransfer(ctx, client, key, new(big.Int).SetUint64(s.Config.L2ChainID), to, value)
}

// SendTransfer signs and sends a dynamic-fee value transfer with the
// sender's pending nonce.
func SendTransfer(ctx context.Context, client *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, to common.Address, value *big.Int) (*types.Transaction, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := client.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, err
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, To: &to, Value: value, Gas: 21_000,
		GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(params.GWei/1000)),
	})
	if err != nil {
		return nil, err
	}
	if err := client.SendTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return tx, nil
}
