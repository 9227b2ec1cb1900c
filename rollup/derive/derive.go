package derive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/internal/promutil"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
)

// L1Source is what derivation reads of the L1: blocks, headers, the
// portal's queue and the finalized head (L1Reader over JSON-RPC).
type L1Source interface {
	Block(ctx context.Context, number uint64) (*types.Block, error)
	Header(ctx context.Context, number uint64) (*types.Header, error)
	Queue(ctx context.Context, from, to uint64) ([]rollup.QueueItem, error)
	Finalized(ctx context.Context) (*types.Header, error)
	// Blobs returns the blobs of the versioned hashes that L1 block
	// number carries, each checked against its hash.
	Blobs(ctx context.Context, number uint64, hashes []common.Hash) ([]*da.BlobSidecar, error)
}

// ErrTemporary marks a derivation step that failed before it changed
// anything (the L1 could not be read): the next step tries the same L1
// block again. Any other error resets derivation to what is stored.
var ErrTemporary = errors.New("temporary")

// Sink takes the blocks derivation produces. A verifier executes and commits
// them; a sequencer checks them against the blocks it already made and
// replaces its own where they differ.
type Sink interface {
	// Apply makes the block of attributes a the next safe block and returns
	// its header.
	Apply(ctx context.Context, a *rollup.Attributes) (*types.Header, error)
}

// Deriver rebuilds the L2 chain from L1 alone: one L1 block per Step, in
// order. It is the same for the sequencer and for verifiers; only their Sink
// differs. It is not safe for concurrent use, except for the accessors.
type Deriver struct {
	cfg    *rollup.Config
	l1     L1Source
	sink   Sink
	store  *chain.Store
	signer types.Signer
	log    *slog.Logger

	Warm        func([]*types.Transaction) // recovers senders ahead of execution; may be nil, set before the first Step
	dac         *da.CommitteeClient        // the data-availability committee; nil: none
	das         *da.SamplingClient         // the storage nodes of sampled data; nil: none
	asm         *batch.Assembler
	l1Pos       uint64 // last L1 block fully processed
	replayUntil uint64 // L1 blocks up to here only rebuild channel state
	safe        *types.Header
	recent      []derived // safe blocks not yet known final, oldest first

	done      atomic.Uint64 // the last L1 block fully derived from
	mu        sync.Mutex
	safeHead  *types.Header
	finalHead *types.Header
	drops     map[string]uint64
	dropped   *prometheus.CounterVec
}

type derived struct {
	header *types.Header
	from   uint64 // L1 block it was derived from
}

// progress is what the deriver persists after each L1 block.
type progress struct {
	L1Pos uint64
	Safe  common.Hash
}

var progressKey = []byte("cairn-rollup-derivation-progress")

// New returns a deriver that resumes from the progress stored in the
// chain store, or starts at the rollup's L1 anchor.
func New(cfg *rollup.Config, l1 L1Source, store *chain.Store, sink Sink, reg prometheus.Registerer, log *slog.Logger) (*Deriver, error) {
	if log == nil {
		log = slog.Default()
	}
	d := &Deriver{
		cfg:    cfg,
		l1:     l1,
		sink:   sink,
		store:  store,
		signer: types.LatestSignerForChainID(new(big.Int).SetUint64(cfg.L1ChainID)),
		log:    log,
		drops:  map[string]uint64{},
		dac:    cfg.CommitteeClient(),
		das:    cfg.SamplingClient(),
		dropped: promutil.CounterVec(reg, prometheus.CounterOpts{
			Namespace: "cairn", Subsystem: "rollup", Name: "derivation_dropped_total",
			Help: "Data derivation dropped, by rule.",
		}, "reason"),
	}
	if err := d.reset(); err != nil {
		return nil, err
	}
	return d, nil
}

// reset reloads the persisted progress and rebuilds the channel state by
// re-reading the L1 blocks a still-open channel may have started in.
func (d *Deriver) reset() error {
	p, err := readProgress(d.store.Database())
	if err != nil {
		return err
	}
	if p == nil {
		p = &progress{L1Pos: d.cfg.L1Start, Safe: d.store.Genesis().Hash()}
	}
	safe := d.store.GetHeaderByHash(p.Safe)
	if safe == nil {
		return fmt.Errorf("derivation progress names unknown safe block %s", p.Safe)
	}
	d.asm = batch.NewAssembler(d.cfg.ChannelTimeout)
	d.safe = safe
	d.recent = nil
	d.replayUntil = p.L1Pos
	d.done.Store(p.L1Pos)
	// A channel opened in L1 block p.L1Pos-timeout is still open after it.
	d.l1Pos = max(d.cfg.L1Start, p.L1Pos-min(p.L1Pos, d.cfg.ChannelTimeout+1))
	d.publish(safe, safe)
	return nil
}

func readProgress(db ethdb.KeyValueReader) (*progress, error) {
	raw, err := db.Get(progressKey)
	if err != nil || len(raw) == 0 {
		return nil, nil // nothing stored yet
	}
	var p progress
	if err := rlp.DecodeBytes(raw, &p); err != nil {
		return nil, fmt.Errorf("derivation progress: %w", err)
	}
	return &p, nil
}

func (d *Deriver) writeProgress() error {
	raw, err := rlp.EncodeToBytes(&progress{L1Pos: d.l1Pos, Safe: d.safe.Hash()})
	if err != nil {
		return err
	}
	return d.store.Database().Put(progressKey, raw)
}

func (d *Deriver) publish(safe, final *types.Header) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.safeHead = safe
	if final != nil {
		d.finalHead = final
	}
}

// SafeHead is the newest L2 block derived from L1.
func (d *Deriver) SafeHead() *types.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.safeHead
}

// FinalizedHead is the newest L2 block derived from finalized L1 blocks.
func (d *Deriver) FinalizedHead() *types.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.finalHead
}

// L1Position is the last L1 block derivation has fully read.
func (d *Deriver) L1Position() uint64 { return d.l1Pos }

// DropStats returns how much data derivation has dropped, by reason.
func (d *Deriver) DropStats() map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]uint64, len(d.drops))
	for k, v := range d.drops {
		out[k] = v
	}
	return out
}

func (d *Deriver) drop(reason string, l1Block uint64, err error) {
	d.mu.Lock()
	d.drops[reason]++
	d.mu.Unlock()
	d.dropped.WithLabelValues(reason).Inc()
	d.log.Debug("Derivation dropped data", "reason", reason, "l1", l1Block, "err", err)
}

// Step reads the next L1 block, if there is one, and derives what it
// completes. It reports whether it made progress. On an error (the L1 or
// the sink failing) the deriver goes back to its last persisted position,
// so a Step can simply be retried.
func (d *Deriver) Step(ctx context.Context) (bool, error) {
	ok, err := d.step(ctx)
	if err != nil && !errors.Is(err, ErrTemporary) {
		// Part of the L1 block may have been applied: start again from
		// what is stored.
		if rerr := d.reset(); rerr != nil {
			return false, errors.Join(err, rerr)
		}
	}
	return ok, err
}

func (d *Deriver) step(ctx context.Context) (bool, error) {
	x := d.l1Pos + 1
	block, err := d.l1.Block(ctx, x)
	if errors.Is(err, rollup.ErrL1NotReady) {
		return false, nil
	}
	if err != nil {
		// Nothing was applied: try the same block again, no reset.
		return false, fmt.Errorf("%w: L1 block %d: %w", ErrTemporary, x, err)
	}
	live := x > d.replayUntil
	items, err := d.inboxData(ctx, block, live)
	if err != nil {
		// Nothing was applied: read the block and its blobs again.
		return false, fmt.Errorf("%w: L1 block %d: %w", ErrTemporary, x, err)
	}
	for k, data := range items {
		if data == nil {
			continue // recorded, but derivation dropped what it carries
		}
		frames, err := batch.ParseTxData(data)
		if err != nil {
			if live {
				d.drop(rollup.DropBadFrame, x, err)
			}
			continue
		}
		for j, f := range frames {
			channel, dropped := d.asm.Add(f, x)
			if dropped != nil && live {
				d.drop(rollup.DropFrame, x, dropped)
			}
			if channel != nil && live {
				pos := rollup.Position{L1: x, Record: uint64(k), Frame: uint64(j), Batch: true}
				if err := d.channel(ctx, channel, pos); err != nil {
					return false, err
				}
			}
		}
	}
	if err := d.asm.Expire(x); err != nil && live {
		d.drop(rollup.DropFrame, x, err)
	}
	if live {
		if err := d.forceAdvance(ctx, x); err != nil {
			return false, err
		}
	}
	d.l1Pos = x
	if live {
		if err := d.writeProgress(); err != nil {
			return false, err
		}
		d.done.Store(x)
		d.finalize(ctx)
	}
	return true, nil
}

// inboxData returns the data of each inbox record the block makes, in
// order: the calldata of the block's transactions to the inbox that the
// batcher sent (rules 2 and 3), and for a blob transaction the data of each
// of its blobs in their place, its calldata ignored. A record whose data
// derivation drops is nil: a blob that does not decode or holds more than
// MaxInboxData bytes (DropBadBlob), a
// data-availability reference that does not hold. A blob that cannot be
// read is an error, and the block is read again.
func (d *Deriver) inboxData(ctx context.Context, block *types.Block, live bool) ([][]byte, error) {
	var out [][]byte
	for _, tx := range block.Transactions() {
		if tx.To() == nil || *tx.To() != rollup.InboxAddress {
			continue
		}
		from, err := types.Sender(d.signer, tx)
		if err != nil || from != d.cfg.Batcher {
			if live {
				d.drop(rollup.DropForeignSender, block.NumberU64(), err)
			}
			continue
		}
		if tx.Value().Sign() != 0 {
			// The inbox refuses value and records nothing, so no proof
			// could name the transaction: derivation drops it too.
			if live {
				d.drop(rollup.DropInboxValue, block.NumberU64(), nil)
			}
			continue
		}
		if hashes := tx.BlobHashes(); len(hashes) > 0 {
			cars, err := d.l1.Blobs(ctx, block.NumberU64(), hashes)
			if err != nil {
				return nil, err
			}
			for _, sc := range cars {
				data, err := rollup.BlobData(&sc.Blob)
				if err != nil {
					if live {
						d.drop(rollup.DropBadBlob, block.NumberU64(), err)
					}
					data = nil
				}
				out = append(out, data)
			}
			continue
		}
		data := tx.Data()
		if len(data) > rollup.MaxInboxData {
			// The inbox records nothing of it: derivation drops it too.
			if live {
				d.drop(rollup.DropInboxSize, block.NumberU64(), nil)
			}
			continue
		}
		if kept, drop, err := rollup.OffChainData(ctx, d.dac, d.das, d.cfg.L2ChainID, data); drop != "" {
			if live {
				d.drop(drop, block.NumberU64(), err)
			}
			out = append(out, nil)
			continue
		} else if err != nil {
			// Withheld data stops derivation here: the validium's risk.
			return nil, err
		} else if kept != nil {
			data = kept
		}
		out = append(out, append([]byte{}, data...)) // never nil: the record carries data
	}
	return out, nil
}

// channel decodes a completed channel and derives its blocks (rules 6-9).
func (d *Deriver) channel(ctx context.Context, data []byte, pos rollup.Position) error {
	x := pos.L1
	raw, err := batch.Decompress(data)
	if err != nil {
		d.drop(rollup.DropBadChannel, x, err)
		return nil
	}
	b, err := batch.Decode(raw, new(big.Int).SetUint64(d.cfg.L2ChainID))
	if err != nil {
		d.drop(rollup.DropBadChannel, x, err)
		return nil
	}
	start, ok := d.extends(b)
	if !ok {
		d.drop(rollup.DropNotNext, x, fmt.Errorf("batch does not extend safe block %d", d.safe.Number))
		return nil
	}
	if d.Warm != nil {
		var txs []*types.Transaction
		for i := start; i < len(b.Blocks); i++ {
			txs = append(txs, b.Blocks[i].Txs...)
		}
		d.Warm(txs)
	}
	for i := start; i < len(b.Blocks); i++ {
		a, err := d.attributes(ctx, &b.Blocks[i], x)
		if errors.Is(err, rollup.ErrBlockRule) {
			d.drop(rollup.DropBadBlock, x, err)
			return nil // the rest of the batch goes too
		}
		if err != nil {
			return err
		}
		if err := d.apply(ctx, a, pos); err != nil {
			return err
		}
	}
	return nil
}

// extends says where a batch continues the safe chain (rule 7, see
// rollup.Extends).
func (d *Deriver) extends(b *batch.Batch) (int, bool) {
	return rollup.Extends(b, d.safe, func(blk *batch.Block) bool {
		stored := d.store.BlockByHash(d.safe.Hash())
		if stored == nil {
			return false
		}
		txs, err := rollup.SequencerTxs(stored)
		if err != nil {
			return false
		}
		hashes := make([]common.Hash, len(txs))
		for i, tx := range txs {
			hashes[i] = tx.Hash()
		}
		return rollup.SameBlock(stored.Header(), hashes, blk)
	})
}

// attributes checks a batch block against the safe head (rule 8) and
// returns its attributes.
func (d *Deriver) attributes(ctx context.Context, blk *batch.Block, x uint64) (*rollup.Attributes, error) {
	parent := d.safe
	pinfo, err := rollup.Origin(parent)
	if err != nil {
		return nil, err
	}
	if err := rollup.CheckBatchBlock(blk, parent.Time, pinfo.Number, x, d.cfg.SeqWindow); err != nil {
		return nil, err
	}
	origin, err := d.l1.Header(ctx, blk.Origin)
	if err != nil {
		return nil, err
	}
	if err := rollup.CheckDrift(blk, origin.Time, d.cfg.MaxSeqDrift); err != nil {
		return nil, err
	}
	queue, err := d.queue(ctx, pinfo.Number, blk.Origin, x)
	if err != nil {
		return nil, err
	}
	return &rollup.Attributes{Parent: parent, Time: blk.Time, Origin: rollup.L1InfoOf(origin), Queue: queue, Txs: blk.Txs}, nil
}

// queue reads the portal items of L1 blocks (from, to] and counts forced
// transactions that do not decode (rule 10).
func (d *Deriver) queue(ctx context.Context, from, to, x uint64) ([]rollup.QueueItem, error) {
	items, err := d.l1.Queue(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, q := range items {
		if q.Deposit == nil && q.Forced == nil {
			d.drop(rollup.DropForcedInvalid, x, nil)
		}
	}
	return items, nil
}

// forceAdvance derives blocks without sequencer transactions while the safe
// head's origin has fallen out of the sequencing window (rule 11): the
// sequencer can delay deposits and forced transactions, not drop them.
func (d *Deriver) forceAdvance(ctx context.Context, x uint64) error {
	for {
		info, err := rollup.Origin(d.safe)
		if err != nil {
			return err
		}
		if info.Number+d.cfg.SeqWindow > x {
			return nil
		}
		origin, err := d.l1.Header(ctx, info.Number+1)
		if err != nil {
			return err
		}
		queue, err := d.queue(ctx, info.Number, info.Number+1, x)
		if err != nil {
			return err
		}
		a := &rollup.Attributes{Parent: d.safe, Time: max(d.safe.Time, origin.Time), Origin: rollup.L1InfoOf(origin), Queue: queue}
		if err := d.apply(ctx, a, rollup.Position{L1: x}); err != nil {
			return err
		}
	}
}

func (d *Deriver) apply(ctx context.Context, a *rollup.Attributes, pos rollup.Position) error {
	h, err := d.sink.Apply(ctx, a)
	if err != nil {
		return fmt.Errorf("apply derived block %d: %w", a.Parent.Number.Uint64()+1, err)
	}
	d.safe = h
	d.recent = append(d.recent, derived{header: h, from: pos.L1})
	if err := rollup.WritePosition(d.store.Database(), h.Number.Uint64(), pos); err != nil {
		return err
	}
	d.publish(h, nil)
	return nil
}

// L1Done is the last L1 block derivation has fully processed.
func (d *Deriver) L1Done() uint64 { return d.done.Load() }

// DerivedBy returns the newest safe L2 block that derivation made from L1
// blocks up to l1Block: what an output proposed in the L1 block after it
// may claim.
func (d *Deriver) DerivedBy(l1Block uint64) uint64 {
	safe := d.SafeHead()
	if safe == nil {
		return 0
	}
	from := func(n uint64) uint64 {
		l1, _ := d.DerivedFrom(n)
		return l1
	}
	// The L1 block each block came from grows with the block number.
	n := safe.Number.Uint64()
	k := sort.Search(int(n), func(i int) bool { return from(uint64(i)+1) > l1Block })
	return uint64(k)
}

// DerivedFrom is the L1 block whose data completed safe L2 block n (its
// batch's last frame, or the window that forced it), and whether it is
// recorded: not for genesis, nor for blocks derived before it was kept.
func (d *Deriver) DerivedFrom(n uint64) (uint64, bool) {
	if n == 0 {
		return 0, false
	}
	pos, ok := rollup.ReadPosition(d.store.Database(), n)
	return pos.L1, ok
}

// finalize moves the finalized head to the newest safe block derived from a
// finalized L1 block. CometBFT finalizes every L1 block it commits, so this
// follows the safe head closely.
func (d *Deriver) finalize(ctx context.Context) {
	if len(d.recent) == 0 {
		return
	}
	fin, err := d.l1.Finalized(ctx)
	if err != nil {
		return // retried next step
	}
	n := fin.Number.Uint64()
	var last *types.Header
	i := 0
	for ; i < len(d.recent) && d.recent[i].from <= n; i++ {
		last = d.recent[i].header
	}
	d.recent = d.recent[i:]
	if last != nil {
		d.publish(d.safe, last)
	}
}
