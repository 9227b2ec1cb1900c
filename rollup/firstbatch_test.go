package rollup_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// The batcher key posts a second batch for a block it has already batched,
// the block without its transfer. Derivation keeps the first (the second
// does not extend the safe head), and so does the proof: the second batch's
// block cannot be proven, whether the proof names every inbox record or
// leaves the first batch's out. Before outputs committed to derivation's
// position, the proof took any batch that held the block.
func TestProofTakesTheFirstBatchForABlock(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := transferBlock(t, s, 0)
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	// The second batch: the same block, empty.
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: rollup.ParentCheck(parent), Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number}}}, big.NewInt(int64(s.Config.L2ChainID))))
	second := batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x2b}, Data: rolluptest.Must[[]byte](t)(batch.Compress(raw)), IsLast: true})
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), second)
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	if got := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64()).Hash(); got != b.Hash() {
		t.Fatalf("derivation replaced block %d", b.NumberU64())
	}
	if drops := s.Sequencer.Deriver().DropStats()[rollup.DropNotNext]; drops != 1 {
		t.Fatalf("derivation dropped %d batches as not next, want 1", drops)
	}

	p := rolluptest.Must[*rollup.StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("the block derivation made: %v", err)
	}
	// The attacker's proof: the block empty, the second batch named too.
	records := p.Derivation.Records
	if len(records) == 0 {
		t.Fatal("the proof names no records")
	}
	secondRecord := rollup.BatchTx{Index: records[len(records)-1].Index + 1, Data: second}
	attack := func(records []rollup.BatchTx) error {
		forged := *rolluptest.Must[*rollup.StepProof](t)(decodeProof(p))
		forged.Txs = nil
		forged.Derivation.Records = records
		_, err := rollup.VerifyStep(&forged, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State)
		return err
	}
	if err := attack(append(append([]rollup.BatchTx{}, records...), secondRecord)); !errors.Is(err, rollup.ErrNotNextBlock) {
		t.Fatalf("the second batch, every record named: %v", err)
	}
	if err := attack([]rollup.BatchTx{secondRecord}); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("the second batch, the first's records left out: %v", err)
	}
}

// decodeProof copies a proof through its encoding.
func decodeProof(p *rollup.StepProof) (*rollup.StepProof, error) {
	raw, err := rlp.EncodeToBytes(p)
	if err != nil {
		return nil, err
	}
	out := new(rollup.StepProof)
	return out, rlp.DecodeBytes(raw, out)
}

// A batch that overlaps the safe chain (it repeats the parent, then goes
// on) is how derivation takes the block when the batcher re-posts from an
// older block: the proof compares the batch's copy of the parent with the
// parent's own transactions, which it carries, checked against the
// parent's header.
func TestProofOfABlockFromAnOverlappingBatch(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	a := transferBlock(t, s, 0)
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	b := transferBlock(t, s, 1)
	blockOf := func(blk *types.Block) batch.Block {
		info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(blk.Header()))
		return batch.Block{Number: blk.NumberU64(), Time: blk.Time(), Origin: info.Number, Txs: rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(blk))}
	}
	parent := s.Sequencer.Chain().GetHeaderByNumber(a.NumberU64() - 1)
	raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: rollup.ParentCheck(parent), Blocks: []batch.Block{blockOf(a), blockOf(b)}}, big.NewInt(int64(s.Config.L2ChainID))))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0b}, Data: rolluptest.Must[[]byte](t)(batch.Compress(raw)), IsLast: true}))
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	if safe := s.Sequencer.SafeHead(); safe.Hash() != b.Hash() {
		t.Fatalf("safe head %d, want block %d from the overlapping batch", safe.Number, b.NumberU64())
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
	if len(p.Derivation.ParentTxs) == 0 {
		t.Fatal("the proof does not carry the parent's transactions")
	}
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("the block from the overlapping batch: %v", err)
	}
	parts := rolluptest.Must[*rollup.PartedProof](t)(s.Sequencer.StepParts(b.NumberU64(), rollup.DefaultPartBudget))
	if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), b.NumberU64(), rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
		t.Fatalf("the block from the overlapping batch, in parts: %v", err)
	}
	// Without them, or with the parent's transactions altered, nothing holds.
	p.Derivation.ParentTxs = nil
	if _, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrNeedParentTxs) {
		t.Fatalf("without the parent's transactions: %v", err)
	}
	p.Derivation.ParentTxs = [][]byte{{0x02, 0xc0}}
	if _, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("with other transactions: %v", err)
	}
}

// transferBlock sequences a block holding one transfer from dev account 5
// with this nonce.
func transferBlock(t *testing.T, s *rolluptest.System, nonce uint64) *types.Block {
	t.Helper()
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	if err := seq.SendTransaction(t.Context(), rolluptest.SignL2(t, s, 5, nonce, common.Address{0x55}, big.NewInt(1))); err != nil {
		t.Fatal(err)
	}
	return rolluptest.Must[*types.Block](t)(s.Sequence(t.Context()))
}

// batchOf is the channel data (compressed) of a batch holding block b
// alone, on its parent.
func batchOf(t *testing.T, s *rolluptest.System, b *types.Block) []byte {
	t.Helper()
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	txs := rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(b))
	raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: rollup.ParentCheck(parent), Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number, Txs: txs}}}, big.NewInt(int64(s.Config.L2ChainID))))
	return rolluptest.Must[[]byte](t)(batch.Compress(raw))
}

// batchAndDerive has the batcher post the sequencer's blocks and the
// verifier derive them, its safe head then block b.
func batchAndDerive(t *testing.T, s *rolluptest.System, b *types.Block) {
	t.Helper()
	if err := s.Batch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(t.Context(), s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.SafeHead(); got.Hash() != b.Hash() {
		t.Fatalf("safe head %d, want %d", got.Number, b.NumberU64())
	}
}

// A batcher transaction may hold several channels. When the one that made
// the parent opens after another's frames in its record, the proof names
// where it opens (Derivation.ParentOpen), and the parent's next block is
// proven from the same channel, in one step and in parts.
func TestProofOfABlockWhoseChannelOpensMidRecord(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	a := transferBlock(t, s, 0)
	b := transferBlock(t, s, 1)
	parent := s.Sequencer.Chain().GetHeaderByNumber(a.NumberU64() - 1)
	blockOf := func(blk *types.Block) batch.Block {
		info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(blk.Header()))
		return batch.Block{Number: blk.NumberU64(), Time: blk.Time(), Origin: info.Number, Txs: rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(blk))}
	}
	raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: rollup.ParentCheck(parent), Blocks: []batch.Block{blockOf(a), blockOf(b)}}, big.NewInt(int64(s.Config.L2ChainID))))
	junk := batch.Frame{ID: batch.ChannelID{0x01}, Data: []byte("not a channel"), IsLast: true}
	good := batch.Frame{ID: batch.ChannelID{0x02}, Data: rolluptest.Must[[]byte](t)(batch.Compress(raw)), IsLast: true}
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(junk, good))
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	if safe := s.Sequencer.SafeHead(); safe.Hash() != b.Hash() {
		t.Fatalf("safe head %d, want %d", safe.Number, b.NumberU64())
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
	if p.Derivation.ParentOpen != 1 {
		t.Fatalf("the parent's channel opens at frame %d, want 1", p.Derivation.ParentOpen)
	}
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), a.NumberU64()))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("one step: %v", err)
	}
	parts := rolluptest.Must[*rollup.PartedProof](t)(s.Sequencer.StepParts(b.NumberU64(), rollup.DefaultPartBudget))
	if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), b.NumberU64(), rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
		t.Fatalf("in parts: %v", err)
	}
	// Opening the run at the record's first frame reads another channel.
	p.Derivation.ParentOpen = 0
	if _, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("the parent's channel opened at the wrong frame: %v", err)
	}
}
