package rollup_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// A proof assembles a block's channel by derivation's rules over every
// batcher transaction from the one that opens it: a channel derivation
// dropped (replaced by another's first frame, timed out) or a batch it
// dropped (not extending the parent) cannot be proven, though its frames
// are all on L1; the same channel posted as derivation takes it can.
func TestProofsFollowDerivationsChannelRules(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	if err := seq.SendTransaction(ctx, rolluptest.SignL2(t, s, 5, 0, common.Address{0x55}, big.NewInt(1))); err != nil {
		t.Fatal(err)
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	txs := rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(b))
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	originTime := rolluptest.Must[*types.Header](t)(s.L1.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(info.Number))).Time
	channel := func(check [20]byte) []byte {
		raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: check, Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number, Txs: txs}}}, big.NewInt(int64(s.Config.L2ChainID))))
		return rolluptest.Must[[]byte](t)(batch.Compress(raw))
	}
	data := channel(rollup.ParentCheck(parent))
	half := len(data) / 2
	a0 := batch.Frame{ID: batch.ChannelID{0xa}, Number: 0, Data: data[:half]}
	a1 := batch.Frame{ID: batch.ChannelID{0xa}, Number: 1, Data: data[half:], IsLast: true}
	other := batch.Frame{ID: batch.ChannelID{0xb}, Number: 0, Data: []byte{1, 2, 3}}
	// post lays frames out as consecutive inbox records, each in an L1 block.
	post := func(blocks []uint64, frames ...batch.Frame) (*rollup.StepProof, rollup.BatchList) {
		var l rollup.BatchList
		for i, f := range frames {
			data := batch.MarshalTxData(f)
			l.Add(rollup.BatchTx{Index: uint64(i), Data: data}, rollup.InboxEntry{Hash: crypto.Keccak256Hash(data), Block: blocks[i]})
		}
		return &rollup.StepProof{Time: b.Time(), OriginNumber: info.Number, Derivation: rollup.Derivation{Records: l.Txs()}}, l
	}
	check := func(p *rollup.StepProof, l rollup.BatchList) error {
		return rollup.CheckChannel(p, parent, txs, originTime, l, &s.Config.Proofs)
	}
	at := info.Number + 1 // the L1 block after the origin's
	if err := check(post([]uint64{at, at}, a0, a1)); err != nil {
		t.Fatalf("the channel as derivation takes it: %v", err)
	}
	// Another channel's first frame between the two: derivation drops the
	// first channel. Naming all three transactions, or skipping the middle
	// one, proves nothing.
	p, l := post([]uint64{at, at, at}, a0, other, a1)
	if err := check(p, l); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a replaced channel: %v", err)
	}
	p.Derivation.Records = []rollup.BatchTx{l.Txs()[0], l.Txs()[2]}
	if err := check(p, l); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a replaced channel, its replacement left out: %v", err)
	}
	// A frame of another channel that does not open one is dropped by
	// derivation and by the proof alike.
	stray := batch.Frame{ID: batch.ChannelID{0xb}, Number: 3, Data: []byte{1}}
	if err := check(post([]uint64{at, at, at}, a0, stray, a1)); err != nil {
		t.Fatalf("a stray frame between the channel's: %v", err)
	}
	// The last frame after the channel timed out.
	if err := check(post([]uint64{at, at + s.Config.ChannelTimeout + 1}, a0, a1)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a timed-out channel: %v", err)
	}
	// A batch that does not extend the block's parent: derivation drops it
	// (batch-not-next).
	wrong := channel([20]byte{0xde, 0xad})
	w0 := batch.Frame{ID: batch.ChannelID{0xc}, Data: wrong, IsLast: true}
	if err := check(post([]uint64{at}, w0)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a batch with another parent: %v", err)
	}
}

// The batcher key posts another channel's first frame and never completes
// it; the block's batch follows in a channel of two records. Derivation
// drops the open channel at the batch's first frame and makes the block.
// Its proof in parts loads the batch's channel, as for any batch, rather
// than carrying its records inline: before, the open channel forced them
// inline, so one stray frame made a batch too large for one L1
// transaction unprovable. Where the loaded channel opens after other
// frames of its record, which derivation reads into the open channel, it
// stays inline, and both proofs still verify.
func TestPartedProofLoadsABatchAfterAnOpenChannel(t *testing.T) {
	for _, lead := range []bool{false, true} {
		s, ctx := rolluptest.Start(t, rolluptest.Options{})
		b := transferBlock(t, s, 0)
		data := batchOf(t, s, b)
		half := len(data) / 2
		open := batch.Frame{ID: batch.ChannelID{0xb}, Data: []byte{1, 2, 3}}
		first := []batch.Frame{{ID: batch.ChannelID{0xa}, Data: data[:half]}}
		if lead { // a frame before the batch's, in its record: the open channel's next
			first = append([]batch.Frame{{ID: batch.ChannelID{0xb}, Number: 1, Data: []byte{4}}}, first...)
		}
		rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(open))
		rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(first...))
		rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0xa}, Number: 1, Data: data[half:], IsLast: true}))
		if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
			t.Fatal(err)
		}
		if safe := s.Sequencer.SafeHead(); safe.Hash() != b.Hash() {
			t.Fatalf("lead %v: safe head %d, want %d", lead, safe.Number, b.NumberU64())
		}
		l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
		pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
		post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
		p := rolluptest.Must[*rollup.StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
		if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
			t.Fatalf("lead %v: one step: %v", lead, err)
		}
		parts := rolluptest.Must[*rollup.PartedProof](t)(s.Sequencer.StepParts(b.NumberU64(), rollup.DefaultPartBudget))
		if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), b.NumberU64(), rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
			t.Fatalf("lead %v: in parts: %v", lead, err)
		}
		// The batch's records are the last two of the inbox.
		batchStart := p.Derivation.Records[len(p.Derivation.Records)-1].Index - 1
		loaded := len(parts.Loads) == 1 && parts.Loads[0].Start == batchStart && len(parts.Loads[0].Txs) == 2
		if loaded == lead {
			t.Fatalf("lead %v: the parted proof loads %d channels (%+v), want the batch's loaded: %v", lead, len(parts.Loads), parts.Loads, !lead)
		}
		// Loaded a record per call, the channel is kept as in one call,
		// where it opens in its first record included.
		once, calls := l1State.Copy(), l1State.Copy()
		load := rollup.BatchLoad{Start: batchStart, Txs: p.Derivation.Records[len(p.Derivation.Records)-2:]}
		if err := rollup.LoadBatch(once, &load, &s.Config.Proofs, rollup.InboxRecordsOf(once)); err != nil {
			t.Fatalf("lead %v: load: %v", lead, err)
		}
		for i, bt := range load.Txs {
			if i == 1 {
				// A load begun where its frame 0's place was not kept (before
				// the rule) cannot go on.
				old := calls.Copy()
				old.SetState(rollup.OutputsAddress, rollup.ChanSlot(batchStart, 6), common.Hash{})
				if err := rollup.LoadBatch(old, &rollup.BatchLoad{Start: batchStart, Txs: []rollup.BatchTx{bt}}, &s.Config.Proofs, rollup.InboxRecordsOf(old)); !errors.Is(err, rollup.ErrBadProof) {
					t.Fatalf("lead %v: a load begun without its frame 0's place went on: %v", lead, err)
				}
			}
			if err := rollup.LoadBatch(calls, &rollup.BatchLoad{Start: batchStart, Txs: []rollup.BatchTx{bt}}, &s.Config.Proofs, rollup.InboxRecordsOf(calls)); err != nil {
				t.Fatalf("lead %v: load of record %d: %v", lead, bt.Index, err)
			}
		}
		if h := rollup.OutputsRecordsOf(once).LoadedChannel(batchStart); h == (common.Hash{}) || h != rollup.OutputsRecordsOf(calls).LoadedChannel(batchStart) {
			t.Fatalf("lead %v: the channel loaded in one call and in two differ", lead)
		}
	}
}

// A load may name the frame its channel opens at (BatchLoad.Open), to pass
// over a junk channel that opens after other frames of its record. Such a
// load is kept under its own key, so a load of the record's first channel
// cannot block it, and it is refused if its channel holds blocks:
// derivation may have read a batch from the frames before it, which a
// proof naming the loaded channel would not see.
func TestLoadsFromAFramesPlace(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	good := batchOf(t, s, transferBlock(t, s, 0))
	// Record 0: a junk channel complete, then the block's batch (a second
	// batch for the block, as a batcher may post). Record 1: another junk
	// channel opening after a batch, completed in record 2.
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(
		batch.Frame{ID: batch.ChannelID{0x01}, Data: []byte("junk"), IsLast: true},
		batch.Frame{ID: batch.ChannelID{0x02}, Data: good, IsLast: true}))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(
		batch.Frame{ID: batch.ChannelID{0x03}, Data: good, IsLast: true},
		batch.Frame{ID: batch.ChannelID{0x04}, Data: []byte("jun")}))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x04}, Number: 1, Data: []byte("k"), IsLast: true}))
	st := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	inbox := rollup.InboxRecordsOf(st)
	var records []rollup.BatchTx
	for n := uint64(1); n <= s.L1.Head().Number.Uint64(); n++ {
		for _, tx := range s.L1.Chain().BlockByNumber(n).Transactions() {
			if to := tx.To(); to != nil && *to == rollup.InboxAddress {
				records = append(records, rollup.BatchTx{Index: uint64(len(records)), Data: tx.Data()})
			}
		}
	}
	if len(records) != 3 {
		t.Fatalf("%d inbox records, want 3", len(records))
	}
	load := func(l rollup.BatchLoad) error { return rollup.LoadBatch(st, &l, &s.Config.Proofs, inbox) }
	// The block's batch, after another channel's frame 0 in its record.
	if err := load(rollup.BatchLoad{Start: 0, Open: 1, Txs: records[:1]}); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a batch loaded from the second frame 0 of its record: %v", err)
	}
	// From the first frame 0: the junk channel, holding no blocks.
	if err := load(rollup.BatchLoad{Start: 0, Txs: records[:1]}); err != nil {
		t.Fatalf("the record's first channel: %v", err)
	}
	// Record 1's first channel is a batch; the junk channel after it loads
	// at its place, under its own key, over two records.
	if err := load(rollup.BatchLoad{Start: 1, Txs: records[1:2]}); err != nil {
		t.Fatalf("record 1's batch: %v", err)
	}
	if err := load(rollup.BatchLoad{Start: 1, Open: 1, Txs: records[1:2]}); err != nil {
		t.Fatalf("the junk channel's first record: %v", err)
	}
	if err := load(rollup.BatchLoad{Start: 1, Open: 1, Txs: records[2:3]}); err != nil {
		t.Fatalf("the junk channel's last record: %v", err)
	}
	out := rollup.OutputsRecordsOf(st)
	if out.LoadedChannel(rollup.LoadID(1, 1)) == (common.Hash{}) || out.LoadedChannel(rollup.LoadID(1, 1)) == out.LoadedChannel(1) {
		t.Fatal("the junk channel's load is not kept apart from the record's first channel's")
	}
}
