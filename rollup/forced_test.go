package rollup

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

// signL2 signs an L2 transfer from dev account i without sending it.
func signL2(t *testing.T, s *System, i uint32, nonce uint64, to common.Address, value *big.Int) *types.Transaction {
	t.Helper()
	id := new(big.Int).SetUint64(s.Config.L2ChainID)
	tx, err := types.SignNewTx(chain.DevKey(i), types.LatestSignerForChainID(id), &types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, To: &to, Value: value, Gas: 21_000,
		GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: big.NewInt(params.GWei),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// force sends an L2 transaction through the L1 portal.
func force(t *testing.T, ctx context.Context, s *System, from uint32, tx *types.Transaction) {
	t.Helper()
	raw, _ := tx.MarshalBinary()
	data := must[[]byte](t)(PortalABI.Pack("forceTransaction", raw))
	sendL1(t, ctx, s, from, PortalAddress, new(big.Int), data, 200_000)
}

func included(t *testing.T, n *Node, hash common.Hash) bool {
	t.Helper()
	tx, _, _, _ := n.Chain().TxLookup(hash)
	return tx != nil
}

// An honest sequencer includes a forced transaction in its first block whose
// origin reaches the L1 block that queued it.
func TestActionForcedTransactionHonestSequencer(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{})
	carol := common.Address{0xca}
	tx := signL2(t, s, 2, 0, carol, ether(1))
	force(t, ctx, s, 2, tx)
	must2[*types.Block, []chain.Skip](t)(s.L1.Mine())

	b := must[*types.Block](t)(s.Sequence(ctx))
	if len(b.Transactions()) != 1 || b.Transactions()[0].Hash() != tx.Hash() {
		t.Fatalf("forced transaction not first in block %d", b.NumberU64())
	}
	info := must[L1Info](t)(Origin(b.Header()))
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
	s, ctx := newSystem(t, SystemOptions{CensorForced: true})
	carol := common.Address{0xca}
	tx := signL2(t, s, 2, 0, carol, ether(1))
	force(t, ctx, s, 2, tx)
	fb, _ := must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	forcedAt := fb.NumberU64()

	// The sequencer keeps building blocks and the batcher keeps posting
	// them, but the origin never reaches the L1 block with the forced tx.
	for i := uint64(0); i < s.Config.SeqWindow+2; i++ {
		b := must[*types.Block](t)(s.Sequence(ctx))
		if included(t, s.Sequencer, tx.Hash()) {
			t.Fatalf("censoring sequencer included the forced tx in block %d", b.NumberU64())
		}
		if err := s.Batch(ctx); err != nil {
			t.Fatal(err)
		}
		must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	}
	info := must[L1Info](t)(Origin(s.Sequencer.Chain().Head()))
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
	ver := dial(t, s.Verifier.RPCURL())
	if got := must[*big.Int](t)(ver.BalanceAt(ctx, carol, nil)); got.Cmp(ether(1)) != 0 {
		t.Fatalf("carol has %v on the verifier, want 1 ETH", got)
	}
	if d := s.Verifier.Deriver().DropStats(); d[DropBadBlock] == 0 {
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
	s, ctx := newSystem(t, SystemOptions{SeqWindow: 4})
	carol := common.Address{0xca}
	force(t, ctx, s, 2, signL2(t, s, 2, 0, carol, ether(1)))
	for range s.Config.SeqWindow + 2 {
		must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	head := s.Verifier.Chain().Head().Number.Uint64()
	if head == 0 {
		t.Fatal("no forced advance")
	}
	st := must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	for n := uint64(1); n <= head; n++ {
		p := must[*StepProof](t)(s.Verifier.StepProof(n))
		pre := must[*Output](t)(OutputAt(s.Verifier.Chain(), n-1))
		post := must[*Output](t)(OutputAt(s.Verifier.Chain(), n))
		got, err := VerifyStep(p, pre.Root(), AnyL1Block, &s.Config.Proofs, st)
		if err != nil || got != post.Root() {
			t.Fatalf("forced block %d: %v", n, err)
		}
		// Nothing but derivation's rule sets a forced advance's time.
		p.Time++
		if _, err := VerifyStep(p, pre.Root(), AnyL1Block, &s.Config.Proofs, st); !errors.Is(err, ErrBadProof) {
			t.Fatalf("forced block %d at another time: %v", n, err)
		}
		parts := must[*PartedProof](t)(s.Verifier.StepParts(n, DefaultPartBudget))
		if got, err := VerifyParted(st.Copy(), parts, pre.Root(), n, AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
			t.Fatalf("forced block %d in parts: %v", n, err)
		}
	}
}
