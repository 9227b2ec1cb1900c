package rollup_test

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// The batcher posts 200 KB that derivation drops before a block's batch.
// The block's proof resumes from scans of it (Scan), and holds only once
// they are stored; a scan that reaches the batch, which would let a proof
// resume past the block derivation made, is refused.
func TestScansOfDroppedDataBeforeABlock(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := transferBlock(t, s, 0)
	junk := bytes.Repeat([]byte{0xff}, 100_000)
	for range 2 {
		rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), junk)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Verifier.StepProof(b.NumberU64()))
	if len(p.Scans) != 2 || p.Derivation.Resume == nil {
		t.Fatalf("%d scans, resume %v: want the two junk records scanned", len(p.Scans), p.Derivation.Resume)
	}
	if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(p)); len(raw) > rollup.DefaultPartBudget {
		t.Fatalf("the proof after its scans is %d bytes", len(raw))
	}
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()))
	if _, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("resumed from scans never stored: %v", err)
	}
	scanned := l1State.Copy()
	for i := range p.Scans {
		if err := rollup.StoreScan(scanned, &p.Scans[i], &s.Config.Proofs); err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
	}
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, scanned); err != nil || got != post.Root() {
		t.Fatalf("the proof after its scans: %v", err)
	}
	parts := rolluptest.Must[*rollup.PartedProof](t)(s.Verifier.StepParts(b.NumberU64(), 6_000))
	if len(parts.Scans) != 2 {
		t.Fatalf("the parted proof has %d scans, want 2", len(parts.Scans))
	}
	if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), b.NumberU64(), rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
		t.Fatalf("the parted proof after its scans: %v", err)
	}
	// A scan on to the batch's record: derivation makes the block there.
	last := p.Scans[len(p.Scans)-1]
	last.Derivation.Records = append(append([]rollup.BatchTx{}, last.Derivation.Records...), p.Derivation.Records...)
	if err := rollup.StoreScan(scanned, &last, &s.Config.Proofs); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a scan over the block's batch: %v", err)
	}
	// The proof resuming from the second scan's state with the first's
	// records skipped, or from the first scan's state, fails.
	skip := *rolluptest.Must[*rollup.StepProof](t)(decodeProof(p))
	skip.Derivation.Resume.Next--
	if _, err := rollup.VerifyStep(&skip, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, scanned); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a resume state no scan stored: %v", err)
	}
}

// A junk channel opens with 60 KB, 40 KB of junk follows, then the
// channel's last frame: the scan that reads that frame needs the open
// channel's frames beside its records. The prover counts them, so each
// scan stays within a part's budget (before, it sent the junk and the
// last frame together with the 60 KB of frames, over the budget).
func TestScansCountTheOpenChannelsFrames(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := transferBlock(t, s, 0)
	opening := batch.Frame{ID: batch.ChannelID{0x0c}, Data: bytes.Repeat([]byte{0x11}, 60_000)}
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(opening))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), bytes.Repeat([]byte{0xff}, 40_000))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0c}, Number: 1, Data: []byte("not a batch"), IsLast: true}))
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Verifier.StepProof(b.NumberU64()))
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	frames := false
	for i := range p.Scans {
		frames = frames || len(p.Scans[i].Derivation.OpenFrames) > 0
		if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(&p.Scans[i])); len(raw) > rollup.DefaultPartBudget {
			t.Fatalf("scan %d of %d is %d bytes, over the budget of %d", i, len(p.Scans), len(raw), rollup.DefaultPartBudget)
		}
		if err := rollup.StoreScan(l1State, &p.Scans[i], &s.Config.Proofs); err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
	}
	if !frames {
		t.Fatalf("no scan carries the open channel's frames (%d scans)", len(p.Scans))
	}
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("the proof after its scans: %v", err)
	}
}

// The batcher key opens a junk channel with 90 KB, and completes it with
// 90 KB more in the next record, before a block's batch. A scan that reads
// the completing record needs the channel's data to see it does not
// decode, and both together fit no L1 transaction. The parted proof loads
// the junk channel instead (loadBatch keeps a channel that does not decode
// as holding no blocks), and its scans pass over it where it completes
// (Derivation.Passed): every call stays within the budget and the block
// proves. A scan naming a loaded channel that holds blocks, or passing
// over nothing, is refused.
func TestPartedProofPassesOverALargeJunkChannel(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := transferBlock(t, s, 0)
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0d}, Data: bytes.Repeat([]byte{0x22}, 90_000)}))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0d}, Number: 1, Data: bytes.Repeat([]byte{0x33}, 90_000), IsLast: true}))
	batchAndDerive(t, s, b)
	parts := rolluptest.Must[*rollup.PartedProof](t)(s.Verifier.StepParts(b.NumberU64(), rollup.DefaultPartBudget))
	junk := -1
	for i, l := range parts.Loads {
		if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(&l)); len(raw) > rollup.DefaultPartBudget+1_000 {
			t.Fatalf("load %d is %d bytes", i, len(raw))
		}
		if l.Start == 0 && junk < 0 {
			junk = i
		}
	}
	var passing *rollup.Scan
	for i := range parts.Scans {
		if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(&parts.Scans[i])); len(raw) > rollup.DefaultPartBudget {
			t.Fatalf("scan %d of %d is %d bytes, over the budget", i, len(parts.Scans), len(raw))
		}
		if len(parts.Scans[i].Derivation.Passed) > 0 {
			passing = &parts.Scans[i]
		}
	}
	if junk < 0 || passing == nil {
		t.Fatalf("loads %d (junk channel loaded: %v), a scan passing over it: %v", len(parts.Loads), junk >= 0, passing != nil)
	}
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), b.NumberU64(), rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
		t.Fatalf("the parted proof: %v", err)
	}
	// With the loads stored, the passing scan alone: as sent it stores; it
	// fails passing over nothing, or over a loaded channel with blocks.
	loadedState := l1State.Copy()
	for i := range parts.Loads {
		if err := rollup.LoadBatch(loadedState, &parts.Loads[i], &s.Config.Proofs, rollup.InboxRecordsOf(loadedState)); err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
	}
	stored := loadedState.Copy()
	for i := range parts.Scans {
		if err := rollup.StoreScan(stored, &parts.Scans[i], &s.Config.Proofs); err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if &parts.Scans[i] == passing {
			break
		}
		if err := rollup.StoreScan(loadedState, &parts.Scans[i], &s.Config.Proofs); err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
	}
	none := *passing
	none.Derivation.Passed = nil
	if err := rollup.StoreScan(loadedState.Copy(), &none, &s.Config.Proofs); !errors.Is(err, rollup.ErrNeedOpenFrames) {
		t.Fatalf("a scan over the junk channel's end without its frames or its load: %v", err)
	}
	if own := parts.Parts[0].Derivation.Loaded; own != nil {
		blocks := *passing
		blocks.Derivation.Passed = []rollup.LoadedRef{*own}
		if err := rollup.StoreScan(loadedState.Copy(), &blocks, &s.Config.Proofs); !errors.Is(err, rollup.ErrBadProof) {
			t.Fatalf("a scan passing over a loaded channel that holds blocks: %v", err)
		}
	} else {
		t.Fatal("the block's own channel is not loaded")
	}
}

// FuzzScanInbox feeds arbitrary scanInbox input to an outputs contract
// over an empty inbox: it must never panic, and a scan of records the
// inbox does not hold, or from a state no scan stored, stores nothing.
func FuzzScanInbox(f *testing.F) {
	parent := rolluptest.Must[[]byte](&testing.T{})(rlp.EncodeToBytes(&types.Header{Number: big.NewInt(1), Difficulty: new(big.Int)}))
	for _, sc := range []rollup.Scan{
		{Parent: parent},
		{Parent: parent, Derivation: rollup.Derivation{Records: []rollup.BatchTx{{Index: 0, Data: []byte{0xff}}}}},
		{Parent: parent, Derivation: rollup.Derivation{ParentPosition: rollup.Position{L1: 3, Batch: true}, Resume: &rollup.ScanState{Next: 1, Block: 2, Open: true, Frames: 1, Size: 3}, OpenFrames: [][]byte{{1, 2, 3}}}},
	} {
		f.Add(rolluptest.Must[[]byte](&testing.T{})(rlp.EncodeToBytes(&sc)))
	}
	params := &rollup.L1Params{L2ChainID: 901, SeqWindow: 10, ChannelTimeout: 5}
	f.Fuzz(func(t *testing.T, in []byte) {
		var sc rollup.Scan
		if rlp.DecodeBytes(in, &sc) != nil {
			return
		}
		st := rolluptest.Must[*state.StateDB](t)(state.New(types.EmptyRootHash, state.NewDatabaseForTesting()))
		if err := rollup.StoreScan(st, &sc, params); err == nil {
			t.Fatalf("a scan over an empty inbox was stored: %+v", sc)
		}
	})
}
