package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
)

// Attributes are everything an L2 block is built from. The sequencer fills
// them from its clock, the L1 head and its mempool; derivation fills them
// from L1 alone. The same attributes on the same parent give the same block.
type Attributes struct {
	Parent *types.Header
	Time   uint64
	Origin L1Info               // the block's L1 origin (its Forced is ignored)
	Queue  []QueueItem          // portal items of L1 blocks (origin of parent, Origin], in order
	Txs    []*types.Transaction // the sequencer's transactions
}

// ErrBlockMismatch is returned when re-executing a stored block gives
// another block.
var ErrBlockMismatch = errors.New("re-executed block differs from the stored one")

// Engine builds L2 blocks on the shared execution core and commits them to
// the node's chain store. A block first runs the deposits of its new L1
// origins, then the forced transactions queued with them, then the
// sequencer's transactions; every transaction pays the L1 data fee.
type Engine struct {
	cfg   *Config
	store *chain.Store
	exec  *chain.Executor
	log   *slog.Logger
}

// NewEngine returns an engine over store.
func NewEngine(cfg *Config, store *chain.Store, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{
		cfg:   cfg,
		store: store,
		exec:  chain.NewExecutor(cfg.Genesis.Config(), store, L2System()).WithDataFee(cfg.DataFee()),
		log:   log,
	}
}

// Executor returns the engine's executor (for RPC calls).
func (e *Engine) Executor() *chain.Executor { return e.exec }

// Store returns the chain store.
func (e *Engine) Store() *chain.Store { return e.store }

// Build executes attributes on their parent's state. Nothing is written.
func (e *Engine) Build(a *Attributes) (*chain.Result, error) {
	st, err := e.store.StateAt(a.Parent.Root)
	if err != nil {
		return nil, fmt.Errorf("state of L2 block %d: %w", a.Parent.Number, err)
	}
	return BuildBlock(e.exec, st, a)
}

// BuildBlock executes attributes on st, their parent's state, with an L2
// executor: the one rule for making an L2 block, shared by the sequencer,
// derivation and the one-step proof on L1.
func BuildBlock(exec *chain.Executor, st *state.StateDB, a *Attributes) (*chain.Result, error) {
	var (
		deposits []chain.Deposit
		forced   []*types.Transaction
	)
	for _, q := range a.Queue {
		switch {
		case q.Deposit != nil:
			deposits = append(deposits, *q.Deposit)
		case q.Forced != nil:
			forced = append(forced, q.Forced)
		}
	}
	info := a.Origin
	info.Forced = 0
	env := chain.Env{
		Time:     a.Time,
		Coinbase: SequencerFeeVault,
		Extra:    EncodeL1Info(info),
		Deposits: deposits,
	}
	txs := make([]*types.Transaction, 0, len(forced)+len(a.Txs))
	txs = append(append(txs, forced...), a.Txs...)
	res, err := exec.Build(a.Parent, st, env, txs)
	if err != nil {
		return nil, err
	}
	// Record how many forced transactions made it into the block, so a
	// batch can leave them out. Execution reads only the origin's base fee
	// from the extra-data (for the data fee), so setting the count
	// afterwards changes only the hash.
	info.Forced = uint32(len(forced))
	for _, s := range res.Skipped {
		if s.Index < len(forced) {
			info.Forced--
		}
	}
	header := res.Block.Header()
	header.Extra = EncodeL1Info(info)
	res.Block = res.Block.WithSeal(header)
	hash := res.Block.Hash()
	for _, r := range res.Receipts {
		r.BlockHash = hash
		for _, l := range r.Logs {
			l.BlockHash = hash
		}
	}
	return res, nil
}

// WarmSenders recovers the senders of txs on every core, so that executing
// them one by one finds the senders cached. Sender recovery is the largest
// cost of executing simple transfers.
func (e *Engine) WarmSenders(txs []*types.Transaction) {
	signer := types.LatestSigner(e.exec.Config())
	workers := runtime.GOMAXPROCS(0)
	if len(txs) < 64 || workers < 2 {
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(txs); i += workers {
				types.Sender(signer, txs[i])
			}
		}()
	}
	wg.Wait()
}

// Commit writes a built block as the new head. Before it, in the same
// write-ahead log (so the block's sync covers them), it keeps the block's
// message passer storage root and archives the message passer's trie
// nodes: outputs can be checked and withdrawals proven long after the
// block's state is gone.
func (e *Engine) Commit(res *chain.Result) error {
	number := res.Block.NumberU64()
	mp := res.State.GetStorageRoot(MessagePasserAddress)
	db := e.store.Database()
	batch := db.NewBatch()
	if slots := withdrawalSlots(res); len(slots) > 0 {
		if parent, err := messagePasserRoot(e.store, number-1, res.Block.ParentHash()); err != nil {
			e.log.Warn("Message passer root of the parent unknown: not archiving", "block", number, "err", err)
		} else if root, err := newMPArchive(db).update(batch, parent, slots, res.State); err != nil {
			e.log.Debug("Not archiving the message passer's storage", "block", number, "err", err)
		} else if root != mp {
			e.log.Error("Archived message passer root differs from the state's", "block", number, "archived", root, "state", mp)
		}
	}
	if err := batch.Put(mpRootKey(number, res.Block.Hash()), mp.Bytes()); err != nil {
		return err
	}
	if err := batch.Write(); err != nil {
		return fmt.Errorf("message passer archive of block %d: %w", number, err)
	}
	return e.store.Commit(res)
}

// SequencerTxs returns the transactions of an L2 block that a batch carries:
// all but the forced ones at its start.
func SequencerTxs(b *types.Block) ([]*types.Transaction, error) {
	info, err := Origin(b.Header())
	if err != nil {
		return nil, err
	}
	txs := b.Transactions()
	if int(info.Forced) > len(txs) {
		return nil, fmt.Errorf("%w: block %d claims %d forced of %d transactions", ErrNoL1Info, b.NumberU64(), info.Forced, len(txs))
	}
	return txs[info.Forced:], nil
}

// AttributesOf rebuilds the attributes a stored block was made from, reading
// its L1 origin and queue from l1.
func AttributesOf(ctx context.Context, l1 *L1Reader, parent *types.Header, b *types.Block) (*Attributes, error) {
	info, err := Origin(b.Header())
	if err != nil {
		return nil, err
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, err
	}
	origin, err := l1.Header(ctx, info.Number)
	if err != nil {
		return nil, err
	}
	queue, err := l1.Queue(ctx, pinfo.Number, info.Number)
	if err != nil {
		return nil, err
	}
	txs, err := SequencerTxs(b)
	if err != nil {
		return nil, err
	}
	return &Attributes{Parent: parent, Time: b.Time(), Origin: L1InfoOf(origin), Queue: queue, Txs: txs}, nil
}

// Replay re-executes the blocks the store dropped at Open because their
// state did not reach disk before a crash. Their data was durable, so every
// block acknowledged before the crash comes back, with the same hash.
func (e *Engine) Replay(ctx context.Context, l1 *L1Reader) error {
	dropped := e.store.Dropped()
	if len(dropped) == 0 {
		return nil
	}
	e.log.Info("Replaying L2 blocks after a crash", "from", dropped[0].NumberU64(), "count", len(dropped))
	for _, b := range dropped {
		parent := e.store.Head()
		if b.ParentHash() != parent.Hash() {
			return fmt.Errorf("%w: block %d does not extend the head", ErrBlockMismatch, b.NumberU64())
		}
		a, err := AttributesOf(ctx, l1, parent, b)
		if err != nil {
			return err
		}
		e.WarmSenders(b.Transactions())
		res, err := e.Build(a)
		if err != nil {
			return err
		}
		if res.Block.Hash() != b.Hash() {
			return fmt.Errorf("%w: block %d is %s, stored %s", ErrBlockMismatch, b.NumberU64(), res.Block.Hash(), b.Hash())
		}
		if err := e.Commit(res); err != nil {
			return err
		}
	}
	return e.store.Replayed()
}

// Matches reports whether stored block b is what attributes a give, without
// executing: same parent, time, origin and sequencer transactions (the
// deposits and forced transactions follow from the origin).
func Matches(b *types.Block, a *Attributes) bool {
	if b.ParentHash() != a.Parent.Hash() || b.Time() != a.Time {
		return false
	}
	info, err := Origin(b.Header())
	if err != nil || info.Number != a.Origin.Number || info.Hash != a.Origin.Hash {
		return false
	}
	txs, err := SequencerTxs(b)
	if err != nil || len(txs) != len(a.Txs) {
		return false
	}
	return slices.EqualFunc(txs, a.Txs, func(x, y *types.Transaction) bool { return x.Hash() == y.Hash() })
}
