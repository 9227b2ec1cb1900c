package rolluptest

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/node"
)

func included(t *testing.T, n *node.Node, hash common.Hash) bool {
	t.Helper()
	tx, _, _, _ := n.Chain().TxLookup(hash)
	return tx != nil
}

// An honest sequencer includes a forced transaction in its first block whose
// origin reaches the L1 block that queued it.
func TestActionForcedTransactionHonestSequencer(t *testing.T) {
	s, ctx := Start(t, Options{})
	carol := common.Address{0xca}
	tx := SignL2(t, s, 2, 0, carol, Ether(1))
	Force(t, ctx, s, 2, tx)
	Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())

	b := Must[*types.Block](t)(s.Sequence(ctx))
	if len(b.Transactions()) != 1 || b.Transactions()[0].Hash() != tx.Hash() {
		t.Fatalf("forced transaction not first in block %d", b.NumberU64())
	}
	info := Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	if info.Forced != 1 {
		t.Fatalf("block records %d forced transactions, want 1", info.Forced)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().Head().Hash() {
		t.Fatal("verifier disagrees with the sequencer")
	}
}

// A sequencer that censors can hold the L1 origin back, but only for a
// sequencing window: then derivation moves on without its batches and
// includes the forced transaction, and the sequencer must follow.
func TestActionForcedTransactionCensoringSequencer(t *testing.T) {
	s, ctx := Start(t, Options{CensorForced: true})
	carol := common.Address{0xca}
	tx := SignL2(t, s, 2, 0, carol, Ether(1))
	Force(t, ctx, s, 2, tx)
	fb, _ := Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	forcedAt := fb.NumberU64()

	// The sequencer keeps building blocks and the batcher keeps posting
	// them, but the origin never reaches the L1 block with the forced tx.
	for i := uint64(0); i < s.Config.SeqWindow+2; i++ {
		b := Must[*types.Block](t)(s.Sequence(ctx))
		if included(t, s.Sequencer, tx.Hash()) {
			t.Fatalf("censoring sequencer included the forced tx in block %d", b.NumberU64())
		}
		if err := s.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	}
	info := Must[rollup.L1Info](t)(rollup.Origin(s.Sequencer.Chain().Head()))
	if info.Number >= forcedAt {
		t.Fatalf("sequencer origin %d reached the forced block %d", info.Number, forcedAt)
	}

	// The verifier, reading L1 only, includes it once the window has passed.
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if !included(t, s.Verifier, tx.Hash()) {
		t.Fatal("verifier did not include the forced transaction after the sequencing window")
	}
	ver := Dial(t, s.Verifier.RPCURL())
	if got := Must[*big.Int](t)(ver.BalanceAt(ctx, carol, nil)); got.Cmp(Ether(1)) != 0 {
		t.Fatalf("carol has %v on the verifier, want 1 ETH", got)
	}
	if d := s.Verifier.Deriver().DropStats(); d[rollup.DropBadBlock] == 0 {
		t.Fatalf("expected late batches dropped by the window rule, stats %v", d)
	}

	// The sequencer's own derivation replaces its censoring blocks.
	if err := Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	if !included(t, s.Sequencer, tx.Hash()) {
		t.Fatal("sequencer did not adopt the derived chain")
	}
	if s.Sequencer.SafeHead().Hash() != s.Verifier.SafeHead().Hash() {
		t.Fatal("safe heads differ")
	}
}

// When the batcher posts nothing for a sequencing window, derivation
// advances on its own, and the one-step proof accepts those blocks
// without a batch.
func TestStepProofForcedAdvance(t *testing.T) {
	s, ctx := Start(t, Options{SeqWindow: 4})
	carol := common.Address{0xca}
	Force(t, ctx, s, 2, SignL2(t, s, 2, 0, carol, Ether(1)))
	for range s.Config.SeqWindow + 2 {
		Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	head := s.Verifier.Chain().Head().Number.Uint64()
	if head == 0 {
		t.Fatal("no forced advance")
	}
	proveForced(t, s, head, func(n uint64, p *rollup.StepProof, pre common.Hash, st *state.StateDB) {
		// Nothing but derivation's rule sets a forced advance's time.
		p.Time++
		if _, err := rollup.VerifyStep(p, pre, rollup.AnyL1Block, &s.Config.Proofs, st); !errors.Is(err, rollup.ErrBadProof) {
			t.Fatalf("forced block %d at another time: %v", n, err)
		}
	})
}

// proveForced proves the verifier's blocks 1 to head, whole and in parts,
// and hands each one-step proof to more.
func proveForced(t *testing.T, s *System, head uint64, more func(n uint64, p *rollup.StepProof, pre common.Hash, st *state.StateDB)) {
	t.Helper()
	st := Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	for n := uint64(1); n <= head; n++ {
		p := Must[*rollup.StepProof](t)(s.Verifier.StepProof(n))
		pre := Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), n-1))
		post := Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), n))
		if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, st); err != nil || got != post.Root() {
			t.Fatalf("forced block %d: %v", n, err)
		}
		parts := Must[*rollup.PartedProof](t)(s.Verifier.StepParts(n, rollup.DefaultPartBudget))
		if got, err := rollup.VerifyParted(st.Copy(), parts, pre.Root(), n, rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
			t.Fatalf("forced block %d in parts: %v", n, err)
		}
		more(n, p, pre.Root(), st)
	}
}

// A batcher that keeps posting what derivation drops (data that does not
// parse, a batch that does not extend the safe head) does not stop the
// forced advance, nor its proof: the proof reads every record in the
// window as derivation does and shows each one dropped. The contract once
// refused a forced block whenever the batcher had posted anything in the
// window, so a censoring sequencer's junk cost the honest proposer its
// games.
func TestStepProofForcedAdvanceOverDroppedBatches(t *testing.T) {
	s, ctx := Start(t, Options{SeqWindow: 4})
	genesis := s.Verifier.Chain().GetHeaderByNumber(0)
	info := Must[rollup.L1Info](t)(rollup.Origin(genesis))
	junk := Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: [20]byte{0xde, 0xad}, Blocks: []batch.Block{{Number: 1, Time: genesis.Time, Origin: info.Number}}}, new(big.Int).SetUint64(s.Config.L2ChainID)))
	notNext := batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x11}, Data: Must[[]byte](t)(batch.Compress(junk)), IsLast: true})
	PostInbox(t, ctx, s, rollup.BatcherKey(), []byte{0x00, 0xff, 0xff})
	PostInbox(t, ctx, s, rollup.BatcherKey(), notNext)
	for range s.Config.SeqWindow + 2 {
		Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	drops := s.Verifier.Deriver().DropStats()
	if drops[rollup.DropBadFrame] != 1 || drops[rollup.DropNotNext] != 1 {
		t.Fatalf("derivation dropped %v", drops)
	}
	head := s.Verifier.Chain().Head().Number.Uint64()
	if head == 0 {
		t.Fatal("no forced advance")
	}
	proveForced(t, s, head, func(n uint64, p *rollup.StepProof, _ common.Hash, _ *state.StateDB) {
		if n == 1 && len(p.Derivation.Records) != 2 {
			t.Fatalf("the proof of block 1 reads %d records, want the batcher's 2", len(p.Derivation.Records))
		}
	})
}
