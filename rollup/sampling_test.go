package rollup

import (
	"testing"

	"github.com/cairn-dev/cairn/da"
)

// With sampling, the L1 carries a 39-byte commitment to the square of each
// frame; the verifier fetches the data from a storage node, checks that it
// extends to the committed root, and derives the sequencer's chain. With
// one storage node withholding, the other serves; with both, derivation
// waits at the commitment.
func TestActionSamplingDerives(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{DA: DASampling})
	b := transfersAndBatch(t, ctx, s, 20)
	st := s.Batcher.Stats()
	if st.Certified == 0 || st.Fallbacks != 0 || st.L1Bytes != uint64(da.SampledSize)*st.L1Txs {
		t.Fatalf("batcher stats %+v", st)
	}
	s.Storage[0].Withhold.Store(true)
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatalf("the verifier derived %v, want %s", got, b.Hash())
	}
	s.Storage[1].Withhold.Store(true)
	b = transfersAndBatch(t, ctx, s, 3)
	if err := Derive(ctx, s.Verifier); err == nil {
		t.Fatal("derivation went past withheld data")
	}
	s.Storage[1].Withhold.Store(false)
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("derivation did not resume once the data came back")
	}
	// A malformed commitment from the batcher is dropped and counted.
	postInbox(t, ctx, s, BatcherKey(), []byte{da.SampledVersion, 1, 2})
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if n := s.Verifier.deriver.DropStats()[DropBadCommitment]; n != 1 {
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
	bt := BatchTx{Data: com.Marshal(), Preimage: data}
	if got, err := sampledData(&bt); err != nil || string(got) != "frames" {
		t.Fatalf("%q, %v", got, err)
	}
	bt.Preimage = []byte("framez")
	if _, err := sampledData(&bt); err == nil {
		t.Fatal("other data passed under the commitment")
	}
	bt.Data = bt.Data[:10]
	if got, err := sampledData(&bt); got != nil || err != nil {
		t.Fatalf("a malformed commitment carried %q, %v", got, err)
	}
}
