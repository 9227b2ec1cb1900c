package rolluptest

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
)

// A challenger disputes a true output whose blocks came in blobs, through
// the committee or as sampled data: the proposer proves the block from the
// data its mode keeps — a blob's data with its KZG proof, the certified
// data, the data that extends to the committed root — once in one step
// and once in parts.
func TestActionFalseChallengeOverEachDA(t *testing.T) {
	for _, mode := range []rollup.DA{rollup.DABlobs, rollup.DACommittee, rollup.DASampling} {
		for _, budget := range []int{0, 6_000} {
			st := newStoryWith(t, Options{DA: mode}, agents.Config{PartBudget: budget}, agents.Config{Dishonest: true})
			out := st.falseChallengeOverABigBlock()
			if out == nil || out.Status != rollup.OutputDefended {
				t.Fatalf("%s, budget %d: true output lost: %+v", mode, budget, out)
			}
			bs := st.Batcher.Stats()
			if bs.Blobs == 0 && bs.Certified == 0 {
				t.Fatalf("%s: nothing posted in the mode: %+v", mode, bs)
			}
			moves := st.proposer.Moves()
			if budget == 0 && moves["step"] != 1 || budget > 0 && (moves["loadBatch"] == 0 || moves["stepPart"] < 2) {
				t.Fatalf("%s, budget %d: moves %v", mode, budget, moves)
			}
		}
	}
}

// A challenger disputes a true output down to a block too large for one
// L1 transaction; the proposer proves it in parts and wins.
func TestActionFalseChallengeLosesToPartedProof(t *testing.T) {
	st := newStory(t, agents.Config{PartBudget: 6_000}, agents.Config{Dishonest: true})
	out := st.falseChallengeOverABigBlock()
	if out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("true output lost: %+v", out)
	}
	moves := st.proposer.Moves()
	if moves["loadBatch"] != 1 || moves["stepPart"] < 2 || moves["step"] != 0 {
		t.Fatalf("the proposer did not prove in parts: %v", moves)
	}
}

// falseChallengeOverABigBlock makes a block of 24 transfers and an empty
// one, has the proposer post their output and the dishonest challenger
// dispute it, and plays the game.
func (st *story) falseChallengeOverABigBlock() *rollup.OutputInfo {
	st.t.Helper()
	seq := Dial(st.t, st.Sequencer.RPCURL())
	for i := range 24 {
		if _, err := st.SendL2(st.ctx, seq, chain.DevKey(uint32(3+i%4)), common.Address{byte(i + 1)}, big.NewInt(1)); err != nil {
			st.t.Fatal(err)
		}
	}
	st.l2Block()
	st.l2Block()
	st.round()
	return st.play(1)
}
