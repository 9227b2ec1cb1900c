package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/internal/promutil"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/derive"
	"github.com/cairn-dev/cairn/rpc"
)

// ClientVersion is what web3_clientVersion answers on rollup nodes.
const ClientVersion = "cairn-rollup/v0.1.0"

// Config configures a rollup node: a sequencer, or a verifier that reads
// only L1.
type Config struct {
	Name    string // for logs and metrics: "sequencer", "verifier"
	Rollup  *rollup.Config
	DataDir string          // "" keeps the chain in memory
	L1      rollup.L1Client // the L1 node's JSON-RPC (ethclient)
	// L1Beacon is the base URL of the L1's Beacon API, where blobs the
	// batcher posted are read (Cairn's L1 serves it on its JSON-RPC port);
	// "" reads none, and derivation waits at the first blob it meets.
	L1Beacon  string
	Sequencer bool // build blocks from the mempool
	// BlockTime is the longest time between two blocks: with nothing to
	// do, the sequencer builds an empty block this often.
	BlockTime time.Duration
	// MinBlockGap makes blocks on demand: a transaction arriving starts a
	// block at once, up to BlockBurst blocks with transactions, then one
	// every MinBlockGap on average (so at once on an idle chain),
	// so a receipt comes in milliseconds rather than after half a block
	// time. 0 keeps the fixed cadence of BlockTime.
	MinBlockGap time.Duration
	Clock       func() time.Time // the sequencer's clock for block times; time.Now when nil
	// Manual leaves block production and derivation to the caller
	// (Sequence and Derive), as action tests do.
	Manual    bool
	RPCAddr   string // "" serves no RPC
	RPCLimits rpc.Limits
	// SequencerRPC is where a verifier forwards transactions sent to it
	// and, with Follow, fetches the sequencer's unsafe blocks.
	SequencerRPC string
	// Follow makes a verifier execute and serve the sequencer's unsafe
	// blocks as they are built (see SignedBlock), so its latest is the
	// sequencer's; safe and finalized still come from L1 alone.
	Follow bool
	// SequencerKey signs the blocks a sequencer publishes; it must be the
	// rollup's UnsafeBlockSigner. Nil publishes none.
	SequencerKey *ecdsa.PrivateKey
	// CensorForced makes a sequencer that ignores forced transactions: it
	// never moves its L1 origin past a block that queued one. For tests.
	CensorForced bool
	PoolSize     int
	Registry     prometheus.Registerer
	Layers       func() []rpc.Layer
	Log          *slog.Logger
}

// Node is a rollup node. A sequencer orders transactions into blocks every
// BlockTime and gives receipts once they are durable; every node runs
// derivation, which rebuilds the chain from L1 and moves the safe and
// finalized heads. A verifier's chain is derived only.
type Node struct {
	cfg     Config
	rollup  *rollup.Config
	store   *chain.Store
	engine  *rollup.Engine
	l1      *rollup.L1Reader
	deriver *derive.Deriver
	pool    *pool
	server  *rpc.Server
	log     *slog.Logger
	forward *gethrpc.Client

	signed *lru.Cache[common.Hash, *SignedBlock] // unsafe blocks signed for followers

	mu      sync.Mutex // one writer of the chain: sequencing and derivation
	derived uint64     // the last block derivation applied, under mu
	stMu    sync.Mutex
	st      *state.StateDB // head state for validating transactions
	stRoot  common.Hash

	reorgs         prometheus.Counter
	blocks         prometheus.Counter
	rejected       prometheus.Counter
	unsafeRejected prometheus.Counter
	work           chan struct{} // a transaction arrived: with MinBlockGap, a block is due
	stop           chan struct{}
	done           sync.WaitGroup
	closeOnce      sync.Once
}

// ErrNotSequencer is returned by a verifier without a sequencer to forward
// transactions to.
var ErrNotSequencer = errors.New("this rollup node is a verifier and has no sequencer to forward transactions to")

// ErrL1Behind is returned when the sequencer cannot build a block because
// its L1 view is too old for the block's time (the L1 has stalled).
var ErrL1Behind = errors.New("L1 origin too old for a new block: waiting for L1")

// Start opens the node's chain, replays blocks lost in a crash, and
// starts its loops and RPC server.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Rollup.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name = "verifier"
		if cfg.Sequencer {
			cfg.Name = "sequencer"
		}
	}
	if cfg.BlockTime <= 0 {
		cfg.BlockTime = rollup.DefaultBlockTime
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Log.With("node", cfg.Name)
	store, err := chain.Open(cfg.DataDir, &cfg.Rollup.Genesis, log)
	if err != nil {
		return nil, err
	}
	store.SyncWrites(cfg.Sequencer && cfg.DataDir != "")
	labels := prometheus.Labels{"node": cfg.Name}
	n := &Node{
		cfg:    cfg,
		rollup: cfg.Rollup,
		store:  store,
		engine: rollup.NewEngine(cfg.Rollup, store, log),
		l1:     rollup.NewL1Reader(cfg.L1, cfg.Rollup.L2ChainID, log),
		log:    log,
		work:   make(chan struct{}, 1),
		signed: lru.NewCache[common.Hash, *SignedBlock](signedBlockCache),
		stop:   make(chan struct{}),
		reorgs: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "reorgs_total", Help: "Unsafe blocks replaced because L1 data disagreed.", ConstLabels: labels}),
		blocks: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "sequenced_blocks_total", Help: "Blocks the sequencer built.", ConstLabels: labels}),
		rejected: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "rejected_txs_total", Help: "Transactions refused by the sequencer's mempool.", ConstLabels: labels}),
		unsafeRejected: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "rejected_unsafe_blocks_total", Help: "Unsafe blocks from the sequencer refused: bad signature, or not re-executing to themselves.", ConstLabels: labels}),
	}
	if cfg.L1Beacon != "" {
		n.l1.WithBlobs(da.NewBeaconClient(cfg.L1Beacon))
	}
	if cfg.SequencerKey != nil && crypto.PubkeyToAddress(cfg.SequencerKey.PublicKey) != cfg.Rollup.UnsafeBlockSigner {
		store.Close()
		return nil, fmt.Errorf("%w: the sequencer key is not the rollup's unsafe-block signer %s", rollup.ErrConfig, cfg.Rollup.UnsafeBlockSigner)
	}
	if cfg.Follow && (cfg.SequencerRPC == "" || cfg.Rollup.UnsafeBlockSigner == (common.Address{})) {
		store.Close()
		return nil, fmt.Errorf("%w: following needs the sequencer's RPC and the rollup's unsafe-block signer", rollup.ErrConfig)
	}
	if cfg.Sequencer {
		n.pool = newPool(cfg.Rollup, cfg.PoolSize)
	}
	fail := func(err error) (*Node, error) {
		n.Close()
		return nil, err
	}
	if err := n.engine.Replay(ctx, n.l1); err != nil {
		return fail(fmt.Errorf("replay after crash: %w", err))
	}
	if err := n.checkAnchor(ctx); err != nil {
		return fail(err)
	}
	var reg prometheus.Registerer
	if cfg.Registry != nil {
		reg = prometheus.WrapRegistererWith(labels, cfg.Registry)
	}
	if n.deriver, err = derive.New(cfg.Rollup, n.l1, store, n, reg, log); err != nil {
		return fail(err)
	}
	if !cfg.Sequencer {
		// A sequencer has its senders from admission; a verifier recovers
		// them for each batch on every core.
		n.deriver.Warm = n.engine.WarmSenders
	}
	if cfg.SequencerRPC != "" {
		if n.forward, err = gethrpc.DialContext(ctx, cfg.SequencerRPC); err != nil {
			return fail(fmt.Errorf("dial sequencer: %w", err))
		}
	}
	if cfg.RPCAddr != "" {
		opts := rpc.Options{ClientVersion: ClientVersion, Limits: cfg.RPCLimits, Registry: cfg.Registry, MetricsLabel: cfg.Name, Log: log}
		opts.APIs = map[string]any{"rollup": &API{n: n, waiters: make(chan struct{}, maxFollowWaiters)}}
		srv, err := rpc.NewServer(n, opts)
		if err == nil {
			err = srv.Start(cfg.RPCAddr)
		}
		if err != nil {
			return fail(err)
		}
		n.server = srv
	}
	if !cfg.Manual {
		n.done.Add(1)
		go n.deriveLoop()
		if cfg.Sequencer {
			n.done.Add(1)
			go n.sequenceLoop()
		}
		if cfg.Follow {
			n.done.Add(1)
			go n.followLoop()
		}
	}
	log.Info("Rollup node started", "sequencer", cfg.Sequencer, "head", store.Head().Number, "rpc", n.RPCURL())
	return n, nil
}

// ErrWrongL1 is returned when the L1 a node reads does not hold the block
// the rollup is anchored to.
var ErrWrongL1 = errors.New("the L1 does not hold the rollup's anchor block")

// checkAnchor makes sure the L1 is the one the rollup was created on.
func (n *Node) checkAnchor(ctx context.Context) error {
	if n.rollup.L1StartHash == (common.Hash{}) {
		return nil
	}
	h, err := n.l1.Header(ctx, n.rollup.L1Start)
	if err != nil {
		return err
	}
	if h.Hash() != n.rollup.L1StartHash {
		return fmt.Errorf("%w: block %d is %s, want %s", ErrWrongL1, n.rollup.L1Start, h.Hash(), n.rollup.L1StartHash)
	}
	return nil
}

// Close stops the loops and the RPC server and closes the chain.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		close(n.stop)
		n.done.Wait()
		if n.server != nil {
			n.server.Close()
		}
		if n.forward != nil {
			n.forward.Close()
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if err := n.store.Close(); err != nil {
			n.log.Warn("Closing chain", "err", err)
		}
	})
}

// RPCURL is the node's HTTP JSON-RPC URL, or "".
func (n *Node) RPCURL() string {
	if n.server == nil {
		return ""
	}
	return n.server.URL()
}

// WSURL is the node's WebSocket JSON-RPC URL, or "".
func (n *Node) WSURL() string {
	if n.server == nil {
		return ""
	}
	return n.server.WSURL()
}

// Deriver returns the node's derivation pipeline.
func (n *Node) Deriver() *derive.Deriver { return n.deriver }

// Config returns the rollup configuration.
func (n *Node) Config() *rollup.Config { return n.rollup }

// sequenceLoop builds a block every BlockTime and, with MinBlockGap, as
// soon as transactions wait and the pacer allows.
func (n *Node) sequenceLoop() {
	defer n.done.Done()
	heartbeat := time.NewTimer(n.cfg.BlockTime)
	defer heartbeat.Stop()
	pace := blockPacer{gap: n.cfg.MinBlockGap, burst: BlockBurst}
	for {
		var work <-chan struct{}
		if n.cfg.MinBlockGap > 0 {
			work = n.work
		}
		select {
		case <-n.stop:
			return
		case <-heartbeat.C:
		case <-work:
			if wait := pace.wait(time.Now()); wait > 0 {
				select {
				case <-n.stop:
					return
				case <-time.After(wait):
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b, err := n.Sequence(ctx)
		cancel()
		switch {
		case err != nil:
			n.log.Warn("Sequencing a block failed", "err", err)
			// Retry at the heartbeat, not at once: the L1 may be stalled.
		case len(b.Transactions()) > 0:
			pace.built(time.Now())
			if n.pool.len() > 0 {
				n.signalWork() // more than one block's worth waits
			}
		}
		heartbeat.Reset(n.cfg.BlockTime)
	}
}

// BlockBurst is how many blocks with transactions an on-demand sequencer
// may build at once before MinBlockGap paces them: a test suite sending
// one transaction after another gets each its own block at once, while
// under load blocks come one a gap on average, so the 128 blocks whose state
// a node serves still span (128-BlockBurst) gaps, about 5 s at 50 ms.
const BlockBurst = 32

// blockPacer spaces blocks with transactions gap apart on average, with
// bursts of up to burst at once (the generic cell rate algorithm: tat is
// when the next block would be due at the steady rate).
type blockPacer struct {
	gap   time.Duration
	burst int
	tat   time.Time
}

// wait is how long a block must wait at now.
func (p *blockPacer) wait(now time.Time) time.Duration {
	if allowed := p.tat.Add(-time.Duration(p.burst) * p.gap); now.Before(allowed) {
		return allowed.Sub(now)
	}
	return 0
}

// built records a block with transactions built at now.
func (p *blockPacer) built(now time.Time) {
	if p.tat.Before(now) {
		p.tat = now
	}
	p.tat = p.tat.Add(p.gap)
}

// signalWork tells an on-demand sequencer that transactions wait.
func (n *Node) signalWork() {
	select {
	case n.work <- struct{}{}:
	default:
	}
}

func (n *Node) deriveLoop() {
	defer n.done.Done()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		progress, err := n.Derive(ctx)
		cancel()
		if err != nil {
			n.log.Warn("Derivation step failed", "err", err)
		}
		wait := time.Duration(0)
		if !progress || err != nil {
			wait = 100 * time.Millisecond
		}
		select {
		case <-n.stop:
			return
		case <-time.After(wait):
		}
	}
}

// Derive runs one derivation step: it reads the next L1 block, if any.
func (n *Node) Derive(ctx context.Context) (bool, error) { return n.deriver.Step(ctx) }

// Sequence builds, commits and returns one block from the mempool, with the
// newest L1 origin its time allows. Only a sequencer sequences.
func (n *Node) Sequence(ctx context.Context) (*types.Block, error) {
	if n.pool == nil {
		return nil, ErrNotSequencer
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	parent := n.store.Head()
	pinfo, err := rollup.Origin(parent)
	if err != nil {
		return nil, err
	}
	now := uint64(n.cfg.Clock().Unix())
	t := max(now, parent.Time)
	origin, err := n.chooseOrigin(ctx, pinfo.Number, t)
	if err != nil {
		return nil, err
	}
	if limit := origin.Time + n.rollup.MaxSeqDrift; t > limit {
		if parent.Time > limit {
			return nil, fmt.Errorf("%w: origin %d at %d, parent time %d", ErrL1Behind, origin.Number, origin.Time, parent.Time)
		}
		t = limit
	}
	queue, err := n.l1.Queue(ctx, pinfo.Number, origin.Number.Uint64())
	if err != nil {
		return nil, err
	}
	txs := n.pool.take(maxBlockTxs, parent.GasLimit)
	res, err := n.engine.Build(&rollup.Attributes{Parent: parent, Time: t, Origin: rollup.L1InfoOf(origin), Queue: queue, Txs: txs})
	if err != nil {
		return nil, err
	}
	if err := n.engine.Commit(res); err != nil {
		return nil, err
	}
	n.pool.done(txs, res.Skipped)
	n.blocks.Inc()
	return res.Block, nil
}

// maxBlockTxs bounds one block's transactions, so a block is built well
// within the block time.
const maxBlockTxs = 5_000

// chooseOrigin picks the newest L1 block after from whose time is at most t.
func (n *Node) chooseOrigin(ctx context.Context, from, t uint64) (*types.Header, error) {
	head, err := n.l1.Head(ctx)
	if err != nil {
		return nil, err
	}
	num := from
	for num < head.Number.Uint64() {
		next, err := n.l1.Header(ctx, num+1)
		if err != nil {
			return nil, err
		}
		if next.Time > t {
			break
		}
		if n.cfg.CensorForced {
			q, err := n.l1.Queue(ctx, num, num+1)
			if err != nil {
				return nil, err
			}
			if hasForced(q) {
				break
			}
		}
		num++
	}
	return n.l1.Header(ctx, num)
}

func hasForced(q []rollup.QueueItem) bool {
	for _, item := range q {
		if item.Deposit == nil {
			return true
		}
	}
	return false
}

// Apply implements Sink: a derived block that matches the stored block at
// its height becomes safe as it is; one that does not replaces the stored
// chain from there.
func (n *Node) Apply(ctx context.Context, a *rollup.Attributes) (*types.Header, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	number := a.Parent.Number.Uint64() + 1
	if b := n.store.BlockByNumber(number); b != nil {
		if rollup.Matches(b, a) {
			n.derived = number // safe once Apply returns: following must not undo it
			return b.Header(), nil
		}
		n.log.Warn("L1 data disagrees with the unsafe chain: replacing it", "block", number, "unsafeHead", n.store.Head().Number)
		if _, err := n.store.SetHead(number - 1); err != nil {
			return nil, err
		}
		n.reorgs.Inc()
		if n.pool != nil {
			n.pool.reset()
		}
	}
	if head := n.store.Head(); head.Hash() != a.Parent.Hash() {
		return nil, fmt.Errorf("%w: derived parent %s is not the head %s", chain.ErrNotNext, a.Parent.Hash(), head.Hash())
	}
	res, err := n.engine.Build(a)
	if err != nil {
		return nil, err
	}
	if err := n.engine.Commit(res); err != nil {
		return nil, err
	}
	n.derived = number
	return res.Block.Header(), nil
}

// headState returns the head's state for transaction validation, shared
// between callers under stMu.
func (n *Node) headState() (*types.Header, *state.StateDB, error) {
	head := n.store.Head()
	if n.st == nil || n.stRoot != head.Root {
		st, err := n.store.StateAt(head.Root)
		if err != nil {
			return nil, nil, err
		}
		n.st, n.stRoot = st, head.Root
	}
	return head, n.st, nil
}

// rpc.Backend

// Chain implements rpc.Backend.
func (n *Node) Chain() *chain.Store { return n.store }

// Executor implements rpc.Backend.
func (n *Node) Executor() *chain.Executor { return n.engine.Executor() }

// SendTransaction implements rpc.Backend: the sequencer queues the
// transaction; a verifier forwards it to the sequencer.
func (n *Node) SendTransaction(ctx context.Context, raw []byte) error {
	if n.pool == nil {
		if n.forward == nil {
			return ErrNotSequencer
		}
		var hash common.Hash
		return n.forward.CallContext(ctx, &hash, "eth_sendRawTransaction", hexutil.Bytes(raw))
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		n.rejected.Inc()
		return fmt.Errorf("decode transaction: %w", err)
	}
	from, need, err := n.pool.check(tx, n.store.Head())
	if err != nil {
		n.rejected.Inc()
		return err
	}
	n.stMu.Lock()
	defer n.stMu.Unlock()
	_, st, err := n.headState()
	if err != nil {
		return err
	}
	if err := n.pool.add(tx, from, need, st); err != nil {
		n.rejected.Inc()
		return err
	}
	n.signalWork()
	return nil
}

// PendingNonce implements rpc.Backend.
func (n *Node) PendingNonce(addr common.Address) (uint64, error) {
	n.stMu.Lock()
	_, st, err := n.headState()
	if err != nil {
		n.stMu.Unlock()
		return 0, err
	}
	local := st.GetNonce(addr)
	n.stMu.Unlock()
	if n.pool != nil {
		return n.pool.nonce(addr, local), nil
	}
	if n.forward != nil {
		// The sequencer's pool holds what was forwarded: ask it, as a
		// wallet sending twice in a row needs its second nonce.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var remote hexutil.Uint64
		if err := n.forward.CallContext(ctx, &remote, "eth_getTransactionCount", addr, "pending"); err == nil {
			return max(local, uint64(remote)), nil
		}
	}
	return local, nil
}

// PendingTransaction implements rpc.Backend.
func (n *Node) PendingTransaction(hash common.Hash) *types.Transaction {
	if n.pool == nil {
		return nil
	}
	return n.pool.get(hash)
}

// TxPoolContent implements rpc.TxPoolReader: the sequencer's queue and what
// waits behind nonce gaps (nothing on a verifier, which forwards).
func (n *Node) TxPoolContent() (pending, queued map[common.Address][]*types.Transaction) {
	if n.pool == nil {
		return nil, nil
	}
	return n.pool.content()
}

// Layers implements rpc.Backend.
func (n *Node) Layers() []rpc.Layer {
	if n.cfg.Layers != nil {
		return n.cfg.Layers()
	}
	return []rpc.Layer{n.Layer(nil, nil)}
}

// Layer describes this rollup for cairn_layers, with the given RPC URLs.
func (n *Node) Layer(rpcURLs, wsURLs []string) rpc.Layer {
	return LayerInfo(n.rollup, rpcURLs, wsURLs)
}

// LayerInfo describes a rollup for cairn_layers.
func LayerInfo(c *rollup.Config, rpcURLs, wsURLs []string) rpc.Layer {
	return rpc.Layer{
		Name:    "optimistic-rollup",
		Kind:    "optimistic-rollup",
		ChainID: c.L2ChainID,
		RPC:     rpcURLs,
		WS:      wsURLs,
		Contracts: map[string]common.Address{
			"portal":          rollup.PortalAddress,
			"batchInbox":      rollup.InboxAddress,
			"batcher":         c.Batcher,
			"outputs":         rollup.OutputsAddress,
			"messagePasserL2": rollup.MessagePasserAddress,
		},
		Params: map[string]any{
			"sequencingWindow":   c.SeqWindow,
			"maxSequencerDrift":  c.MaxSeqDrift,
			"channelTimeout":     c.ChannelTimeout,
			"l1StartBlock":       c.L1Start,
			"l1FeeScalar":        c.L1FeeScalar,
			"finalizationPeriod": c.Proofs.FinalizationPeriod,
			"gameClock":          c.Proofs.GameClock,
		},
	}
}

// SafeHead implements rpc.HeadTags.
func (n *Node) SafeHead() *types.Header { return n.deriver.SafeHead() }

// DerivedBy is the newest safe L2 block derived from L1 blocks up to
// l1Block (see Deriver.DerivedBy).
func (n *Node) DerivedBy(l1Block uint64) uint64 { return n.deriver.DerivedBy(l1Block) }

// L1Done is the last L1 block the node has derived from.
func (n *Node) L1Done() uint64 { return n.deriver.L1Done() }

// FinalizedHead implements rpc.HeadTags.
func (n *Node) FinalizedHead() *types.Header { return n.deriver.FinalizedHead() }

// PoolLen is the number of transactions waiting in the sequencer's mempool.
func (n *Node) PoolLen() int {
	if n.pool == nil {
		return 0
	}
	return n.pool.len()
}

// HeaderByNumber implements L2Source in process: nil is the head, and
// rpc.SafeBlockNumber and rpc.FinalizedBlockNumber the derived heads.
func (n *Node) HeaderByNumber(_ context.Context, number *big.Int) (*types.Header, error) {
	var h *types.Header
	switch {
	case number == nil:
		h = n.store.Head()
	case number.Sign() < 0:
		switch gethrpc.BlockNumber(number.Int64()) {
		case gethrpc.SafeBlockNumber:
			h = n.SafeHead()
		case gethrpc.FinalizedBlockNumber:
			h = n.FinalizedHead()
		default:
			h = n.store.Head()
		}
	default:
		h = n.store.GetHeaderByNumber(number.Uint64())
	}
	if h == nil {
		return nil, ethereum.NotFound
	}
	return h, nil
}

// BlockByNumber implements L2Source in process.
func (n *Node) BlockByNumber(ctx context.Context, number *big.Int) (*types.Block, error) {
	h, err := n.HeaderByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	b := n.store.BlockByHash(h.Hash())
	if b == nil {
		return nil, ethereum.NotFound
	}
	return b, nil
}

// StepProof makes the one-step proof of L2 block number from this node's
// chain.
func (n *Node) StepProof(number uint64) (*rollup.StepProof, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.engine.MakeStepProof(n.l1, number)
}

// L1HeaderProof returns the proveL1Headers calls, each at most budget
// bytes, that must precede the one-step proof of L2 block number.
func (n *Node) L1HeaderProof(number uint64, budget int) ([][]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.engine.MakeL1HeaderProof(n.l1, number, budget)
}

// StepParts builds the parted one-step proof of L2 block number, each
// load and part at most budget bytes.
func (n *Node) StepParts(number uint64, budget int) (*rollup.PartedProof, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.engine.MakeStepParts(n.l1, number, budget)
}
