package rollup_test

import (
	"testing"

	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// With sampling, the L1 carries a 39-byte commitment to the square of each
// frame; the verifier fetches the data from a storage node, checks that it
// extends to the committed root, and derives the sequencer's chain. With
// one storage node withholding, the other serves; with both, derivation
// waits at the commitment.
func TestActionSamplingDerives(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{DA: rollup.DASampling})
	b := transfersAndBatch(t, ctx, s, 20)
	st := s.Batcher.Stats()
	if st.Certified == 0 || st.Fallbacks != 0 || st.L1Bytes != uint64(da.SampledSize)*st.L1Txs {
		t.Fatalf("batcher stats %+v", st)
	}
	s.Storage[0].Withhold.Store(true)
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatalf("the verifier derived %v, want %s", got, b.Hash())
	}
	s.Storage[1].Withhold.Store(true)
	b = transfersAndBatch(t, ctx, s, 3)
	if err := rolluptest.Derive(ctx, s.Verifier); err == nil {
		t.Fatal("derivation went past withheld data")
	}
	s.Storage[1].Withhold.Store(false)
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("derivation did not resume once the data came back")
	}
	// A malformed commitment from the batcher is dropped and counted.
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), []byte{da.SampledVersion, 1, 2})
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if n := s.Verifier.Deriver().DropStats()[rollup.DropBadCommitment]; n != 1 {
		t.Fatalf("%d bad commitments counted", n)
	}
}

// A proof's data must extend to the committed root.
func TestSampledDataChecked(t *testing.T) {
	data := []byte("frames")
	com, _, err := da.Commit(data)
	if err != nil {
		t.Fatal(err)
	}
	bt := rollup.BatchTx{Data: com.Marshal(), Preimage: data}
	if got, err := rollup.SampledData(&bt); err != nil || string(got) != "frames" {
		t.Fatalf("%q, %v", got, err)
	}
	bt.Preimage = []byte("framez")
	if _, err := rollup.SampledData(&bt); err == nil {
		t.Fatal("other data passed under the commitment")
	}
	bt.Data = bt.Data[:10]
	if got, err := rollup.SampledData(&bt); got != nil || err != nil {
		t.Fatalf("a malformed commitment carried %q, %v", got, err)
	}
}
