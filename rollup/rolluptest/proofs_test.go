package rolluptest

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/batch"
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

// The batcher key posts 200 KB that derivation drops before a block's
// batch, and a channel it never completes. The block's proof would carry
// all of it, past what one L1 transaction holds: before scans, an honest
// proposer could not prove the block, and a challenger disputing its true
// output there won. Now the proposer scans the junk in bounded calls
// (scanInbox), proves the block from where the last scan left derivation,
// in one step and in parts, and wins.
func TestActionFalseChallengeOverBatcherJunk(t *testing.T) {
	for _, budget := range []int{0, 6_000} {
		st := newStory(t, agents.Config{PartBudget: budget}, agents.Config{Dishonest: true})
		seq := Dial(t, st.Sequencer.RPCURL())
		if _, err := st.SendL2(st.ctx, seq, chain.DevKey(3), common.Address{1}, big.NewInt(1)); err != nil {
			t.Fatal(err)
		}
		Must[*types.Block](t)(st.Sequence(st.ctx))
		junk := bytes.Repeat([]byte{0xff}, 100_000) // no frames: dropped (rule 4)
		PostInbox(t, st.ctx, st.System, rollup.BatcherKey(), junk)
		PostInbox(t, st.ctx, st.System, rollup.BatcherKey(), batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0xee}, Data: junk[:20_000]}))
		PostInbox(t, st.ctx, st.System, rollup.BatcherKey(), junk)
		if err := st.Batch(st.ctx); err != nil {
			t.Fatal(err)
		}
		if err := Derive(st.ctx, st.Verifier); err != nil {
			t.Fatal(err)
		}
		if st.Verifier.SafeHead().Number.Uint64() != 1 {
			t.Fatalf("safe head %d after the batch, want 1", st.Verifier.SafeHead().Number)
		}
		st.round()
		out := st.play(1)
		if out == nil || out.Status != rollup.OutputDefended {
			t.Fatalf("budget %d: true output lost: %+v (moves %v)", budget, out, st.proposer.Moves())
		}
		if moves := st.proposer.Moves(); moves["scanInbox"] < 2 || moves["step"]+moves["stepPart"] == 0 {
			t.Fatalf("budget %d: the proposer did not scan the junk: %v", budget, moves)
		}
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
