package node_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/node"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// A verifier that follows the sequencer's signed unsafe blocks serves
// them as latest, executed by itself, before any batch reaches L1: a
// wallet pointed at it sends twice in a row without a stale nonce. Safe
// still moves only with L1, and L1 confirms the same blocks.
func TestVerifierFollowsUnsafeBlocks(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	ver := rolluptest.Dial(t, s.Verifier.RPCURL())
	bob := common.Address{0xb0, 0xb}
	first := rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, ver, chain.DevKey(1), bob, rolluptest.Ether(1)))
	second := rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, ver, chain.DevKey(1), bob, rolluptest.Ether(1)))
	if first.Nonce() != 0 || second.Nonce() != 1 {
		t.Fatalf("back-to-back sends through the verifier got nonces %d and %d, want 0 and 1", first.Nonce(), second.Nonce())
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if n := rolluptest.Must[int](t)(s.Verifier.Follow(ctx)); n != 1 {
		t.Fatalf("followed %d blocks, want 1", n)
	}
	if got := s.Verifier.Chain().Head(); got.Hash() != b.Hash() {
		t.Fatalf("verifier head %d %s, want the sequencer's %d %s", got.Number, got.Hash(), b.Number(), b.Hash())
	}
	r := rolluptest.Must[*types.Receipt](t)(ver.TransactionReceipt(ctx, second.Hash()))
	if r.Status != types.ReceiptStatusSuccessful || r.BlockHash != b.Hash() {
		t.Fatalf("receipt on the verifier: %+v", r)
	}
	if got := rolluptest.Must[*big.Int](t)(ver.BalanceAt(ctx, bob, nil)); got.Cmp(rolluptest.Ether(2)) != 0 {
		t.Fatalf("bob holds %v on the verifier, want 2 ETH", got)
	}
	if safe := s.Verifier.SafeHead(); safe.Number.Sign() != 0 {
		t.Fatalf("safe head %d before any batch", safe.Number)
	}
	// L1 confirms the followed block: it becomes safe as it is.
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if safe := s.Verifier.SafeHead(); safe.Hash() != b.Hash() {
		t.Fatalf("safe head %d, want the followed block %d", safe.Number, b.Number())
	}
	if testutil.ToFloat64(s.Verifier.Reorgs()) != 0 {
		t.Fatal("L1 confirmed the followed block, yet the verifier reorganised")
	}
}

// Unsafe blocks are the sequencer's word only: one signed by another key,
// or signed but not what its transactions execute to, is refused and
// counted, and the verifier's chain is untouched.
func TestVerifierRefusesForgedUnsafeBlocks(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, rolluptest.Dial(t, s.Sequencer.RPCURL()), chain.DevKey(1), common.Address{0xb0}, rolluptest.Ether(1)))
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))

	wrongKey := rolluptest.Must[*node.SignedBlock](t)(node.SignBlock(chain.DevKey(7), s.Config.L2ChainID, b))
	if _, err := node.OpenSignedBlock(wrongKey, s.Config.L2ChainID, s.Config.UnsafeBlockSigner); !errors.Is(err, node.ErrUnsafeSignature) {
		t.Fatalf("a block signed by another key: %v", err)
	}
	otherChain := rolluptest.Must[*node.SignedBlock](t)(node.SignBlock(rollup.SequencerKey(), s.Config.L2ChainID+1, b))
	if _, err := node.OpenSignedBlock(otherChain, s.Config.L2ChainID, s.Config.UnsafeBlockSigner); !errors.Is(err, node.ErrUnsafeSignature) {
		t.Fatalf("a signature for another chain: %v", err)
	}
	// The sequencer signs a block whose state root is a lie.
	h := b.Header()
	h.Root = common.Hash{0x11}
	forged := types.NewBlockWithHeader(h).WithBody(*b.Body())
	sb := rolluptest.Must[*node.SignedBlock](t)(node.SignBlock(rollup.SequencerKey(), s.Config.L2ChainID, forged))
	opened := rolluptest.Must[*types.Block](t)(node.OpenSignedBlock(sb, s.Config.L2ChainID, s.Config.UnsafeBlockSigner))
	if _, err := s.Verifier.ApplyUnsafe(ctx, opened); !errors.Is(err, node.ErrUnsafeMismatch) {
		t.Fatalf("a signed block with a false state root: %v", err)
	}
	// Transactions that do not match the header's root.
	raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(types.NewBlockWithHeader(b.Header())))
	empty := &node.SignedBlock{Block: raw, Signature: rolluptest.Must[*node.SignedBlock](t)(node.SignBlock(rollup.SequencerKey(), s.Config.L2ChainID, b)).Signature}
	if _, err := s.Verifier.ApplyUnsafe(ctx, rolluptest.Must[*types.Block](t)(node.OpenSignedBlock(empty, s.Config.L2ChainID, s.Config.UnsafeBlockSigner))); !errors.Is(err, node.ErrUnsafeMismatch) {
		t.Fatalf("a block without its transactions: %v", err)
	}
	if _, err := node.OpenSignedBlock(&node.SignedBlock{Block: []byte{0xc0, 0x01}}, s.Config.L2ChainID, s.Config.UnsafeBlockSigner); err == nil {
		t.Fatal("garbage decoded as a block")
	}
	if head := s.Verifier.Chain().Head(); head.Number.Sign() != 0 {
		t.Fatalf("verifier head %d after forged blocks", head.Number)
	}
	// The genuine block is then taken.
	if n := rolluptest.Must[int](t)(s.Verifier.Follow(ctx)); n != 1 || s.Verifier.Chain().Head().Hash() != b.Hash() {
		t.Fatalf("followed %d, head %s", n, s.Verifier.Chain().Head().Hash())
	}
}

// When the sequencer's chain changes under the follower (it reorganised
// its unsafe blocks), the follower drops its unsafe blocks and takes the
// new ones.
func TestVerifierFollowsSequencerReorg(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), common.Address{0xa1}, rolluptest.Ether(1)))
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if n := rolluptest.Must[int](t)(s.Verifier.Follow(ctx)); n != 1 {
		t.Fatalf("followed %d", n)
	}
	// The sequencer drops its block 1 and builds another chain.
	if _, err := s.Sequencer.Chain().SetHead(0); err != nil {
		t.Fatal(err)
	}
	s.Sequencer.ResetPool()
	rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(2), common.Address{0xa2}, rolluptest.Ether(1)))
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	b2 := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if _, err := s.Verifier.Follow(ctx); !errors.Is(err, node.ErrDiverged) {
		t.Fatalf("following a diverged sequencer: %v", err)
	}
	if n := rolluptest.Must[int](t)(s.Verifier.Follow(ctx)); n != 2 || s.Verifier.Chain().Head().Hash() != b2.Hash() {
		t.Fatalf("followed %d, head %d, want the sequencer's new head %d", n, s.Verifier.Chain().Head().Number, b2.Number())
	}
	// A block past the next (a replayed one, say) drops nothing.
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	b4 := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if _, err := s.Verifier.ApplyUnsafe(ctx, b4); !errors.Is(err, node.ErrUnsafeGap) || s.Verifier.Chain().Head().Hash() != b2.Hash() {
		t.Fatalf("a block past the next: %v, head %d", err, s.Verifier.Chain().Head().Number)
	}
}

// FuzzOpenSignedBlock feeds arbitrary bytes as an unsafe block and its
// signature: nothing may panic, and nothing opens unless signed by the
// signer.
func FuzzOpenSignedBlock(f *testing.F) {
	key := chain.DevKey(9)
	b := types.NewBlock(&types.Header{Number: big.NewInt(3), Extra: []byte{1}}, &types.Body{}, nil, trie.NewStackTrie(nil))
	good := rolluptest.Must[*node.SignedBlock](&testing.T{})(node.SignBlock(key, 901, b))
	f.Add([]byte(good.Block), []byte(good.Signature))
	f.Add([]byte{0xc0}, make([]byte, 65))
	signer := crypto.PubkeyToAddress(key.PublicKey)
	f.Fuzz(func(t *testing.T, raw, sig []byte) {
		got, err := node.OpenSignedBlock(&node.SignedBlock{Block: raw, Signature: sig}, 901, signer)
		if err == nil && got.Hash() != b.Hash() {
			t.Fatalf("a block no one signed opened: %s", got.Hash())
		}
	})
}

// The long poll holds at most maxFollowWaiters calls: past them a call for
// a block not yet made answers at once with none, so callers cannot pile up
// goroutines on the sequencer; one with blocks to return still gets them.
func TestUnsafeBlocksBoundsItsWaiters(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	api := node.NewAPIWithSlots(s.Sequencer, 1) // the one slot is taken
	head := s.Sequencer.Chain().Head().Number.Uint64()
	done := make(chan []*node.SignedBlock, 1)
	go func() {
		got, err := api.UnsafeBlocks(ctx, hexutil.Uint64(head+5), 10)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	select {
	case got := <-done:
		if len(got) != 0 {
			t.Fatalf("%d blocks past the head", len(got))
		}
	case <-time.After(node.FollowWait / 2):
		t.Fatal("a call past the bound waited")
	}
	got, err := api.UnsafeBlocks(ctx, hexutil.Uint64(head), 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("the head block: %d blocks, %v", len(got), err)
	}
}

// A safe block names the L1 block whose data made it: the one its batch
// landed in, also over rollup_derivedFrom; an unsafe block has none.
func TestDerivedFromNamesTheBatchsL1Block(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	batchBlock := s.L1.Head().Number.Uint64()
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Verifier.Deriver().DerivedFrom(b.NumberU64()); !ok || got != batchBlock {
		t.Fatalf("block %d derived from L1 block %d (%v), want %d", b.NumberU64(), got, ok, batchBlock)
	}
	c := rolluptest.Dial(t, s.Verifier.RPCURL())
	var n *hexutil.Uint64
	if err := c.Client().CallContext(ctx, &n, "rollup_derivedFrom", hexutil.Uint64(b.NumberU64())); err != nil || n == nil || uint64(*n) != batchBlock {
		t.Fatalf("rollup_derivedFrom: %v %v", n, err)
	}
	next := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	cs := rolluptest.Dial(t, s.Sequencer.RPCURL())
	if err := cs.Client().CallContext(ctx, &n, "rollup_derivedFrom", hexutil.Uint64(next.NumberU64())); err != nil || n != nil {
		t.Fatalf("an unsafe block derived from %v (%v)", n, err)
	}
}
