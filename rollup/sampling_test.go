package rollup

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
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

// A challenger disputes a true output whose blocks came as sampled data:
// the proof carries the data, which the contract extends again and checks
// against the committed root.
func TestActionFalseChallengeOverSampling(t *testing.T) {
	for _, budget := range []int{0, 6_000} {
		st := newStoryWith(t, SystemOptions{DA: DASampling}, AgentConfig{PartBudget: budget}, AgentConfig{Dishonest: true})
		seq := dial(t, st.Sequencer.RPCURL())
		for i := range 24 {
			if _, err := st.SendL2(st.ctx, seq, chain.DevKey(uint32(3+i%4)), common.Address{byte(i + 1)}, big.NewInt(1)); err != nil {
				t.Fatal(err)
			}
		}
		st.l2Block()
		st.l2Block()
		st.round()
		out := st.play(1)
		if out == nil || out.Status != OutputDefended {
			t.Fatalf("budget %d: true output lost: %+v", budget, out)
		}
		moves := st.proposer.Moves()
		if st.Batcher.Stats().Certified == 0 || budget == 0 && moves["step"] != 1 || budget > 0 && (moves["loadBatch"] == 0 || moves["stepPart"] < 2) {
			t.Fatalf("budget %d: moves %v, batcher %+v", budget, moves, st.Batcher.Stats())
		}
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
