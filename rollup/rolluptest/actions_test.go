package rolluptest

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/node"
)

// Deposit, transfer, batch, derive: the verifier rebuilds the sequencer's
// chain from L1 alone, block for block.
func TestActionDepositTransferDerive(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	ver := Dial(t, s.Verifier.RPCURL())
	alice, bob := chain.DevAddress(1), common.Address{0xb0, 0xb}

	// Alice deposits 5 ETH by sending it to the portal, as any wallet can.
	SendL1(t, ctx, s, 1, rollup.PortalAddress, Ether(5), nil, 21_000)
	// And 2 ETH more to Bob through depositTransaction.
	data := Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", bob, Ether(2), uint64(100_000), []byte{}))
	SendL1(t, ctx, s, 1, rollup.PortalAddress, Ether(2), data, 200_000)
	blk, skipped := Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	if len(skipped) != 0 || len(blk.Transactions()) != 2 {
		t.Fatalf("deposits not mined: %v", skipped)
	}
	before := Must[*big.Int](t)(seq.BalanceAt(ctx, alice, nil))

	// The sequencer takes in the L1 block and its deposits.
	Must[*types.Block](t)(s.Sequence(ctx))
	after := Must[*big.Int](t)(seq.BalanceAt(ctx, alice, nil))
	if got := new(big.Int).Sub(after, before); got.Cmp(Ether(5)) != 0 {
		t.Fatalf("alice's deposit credited %v, want 5 ETH", got)
	}
	if got := Must[*big.Int](t)(seq.BalanceAt(ctx, bob, nil)); got.Cmp(Ether(2)) != 0 {
		t.Fatalf("bob got %v, want 2 ETH", got)
	}

	// Alice pays Bob on L2; the receipt is the soft confirmation.
	tx := Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), bob, Ether(1)))
	b := Must[*types.Block](t)(s.Sequence(ctx))
	if len(b.Transactions()) != 1 {
		t.Fatalf("block has %d txs, want 1", len(b.Transactions()))
	}
	r := Must[*types.Receipt](t)(seq.TransactionReceipt(ctx, tx.Hash()))
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("transfer failed")
	}

	// Nothing is safe until the batcher posts and L1 includes it.
	if safe := Must[*types.Header](t)(seq.HeaderByNumber(ctx, big.NewInt(-4))); safe.Number.Sign() != 0 {
		t.Fatalf("safe head %d before any batch", safe.Number)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Batcher.Stats(); st.L2Txs != 1 || st.L1Txs == 0 {
		t.Fatalf("batcher stats %+v", st)
	}

	// The verifier reads only L1 and reaches the same chain.
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	head := s.Sequencer.Chain().Head()
	vhead := s.Verifier.Chain().Head()
	if vhead.Hash() != head.Hash() {
		t.Fatalf("verifier head %d %s, sequencer head %d %s", vhead.Number, vhead.Hash(), head.Number, head.Hash())
	}
	if s.Sequencer.SafeHead().Hash() != head.Hash() || s.Verifier.SafeHead().Hash() != head.Hash() {
		t.Fatalf("safe heads %d/%d, want %d", s.Sequencer.SafeHead().Number, s.Verifier.SafeHead().Number, head.Number)
	}
	vr := Must[*types.Receipt](t)(ver.TransactionReceipt(ctx, tx.Hash()))
	if vr.BlockHash != r.BlockHash || vr.Status != r.Status {
		t.Fatal("verifier's receipt differs")
	}
	if got := Must[*big.Int](t)(ver.BalanceAt(ctx, bob, nil)); got.Cmp(Ether(3)) != 0 {
		t.Fatalf("verifier: bob has %v, want 3 ETH", got)
	}
	fin := Must[*types.Header](t)(ver.HeaderByNumber(ctx, big.NewInt(-3)))
	if fin.Hash() != head.Hash() {
		t.Fatalf("finalized %d, want %d", fin.Number, head.Number)
	}
}

var _ = crypto.Keccak256

func callMsg(to common.Address, data []byte) ethereum.CallMsg {
	return ethereum.CallMsg{To: &to, Data: data}
}

// Senders whose consecutive nonces arrive out of order (several
// connections) are not refused: as go-ethereum does, the sequencer holds a
// transaction behind a nonce gap until the gap fills, then sequences it.
func TestSequencerQueuesFutureNonces(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	var txs []*types.Transaction
	for i := range uint32(3) {
		for n := range uint64(15) {
			txs = append(txs, SignL2(t, s, 3+i, n, common.Address{0x77}, big.NewInt(1)))
		}
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(txs), func(i, j int) { txs[i], txs[j] = txs[j], txs[i] })
	for i, tx := range txs {
		if err := seq.SendTransaction(ctx, tx); err != nil {
			t.Fatalf("transaction %d (nonce %d) refused: %v", i, tx.Nonce(), err)
		}
	}
	if n := Must[uint64](t)(seq.PendingNonceAt(ctx, chain.DevAddress(3))); n != 15 {
		t.Fatalf("pending nonce %d, want 15", n)
	}
	Must[*types.Block](t)(s.Sequence(ctx))
	for i := range uint32(3) {
		if n := Must[uint64](t)(seq.NonceAt(ctx, chain.DevAddress(3+i), nil)); n != 15 {
			t.Fatalf("sender %d's nonce %d after the block, want 15", i, n)
		}
	}
	far := SignL2(t, s, 3, 15+node.AccountQueue+1, common.Address{0x77}, big.NewInt(1))
	if err := seq.SendTransaction(ctx, far); err == nil || !strings.Contains(err.Error(), "nonce too high") {
		t.Fatalf("a nonce past the account queue: %v", err)
	}
}

// txpool_status and txpool_content answer as go-ethereum's: what the
// sequencer will run, and what waits behind a nonce gap.
func TestSequencerTxPoolRPC(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	for _, n := range []uint64{0, 1, 3} {
		if err := seq.SendTransaction(ctx, SignL2(t, s, 3, n, common.Address{0x77}, big.NewInt(1))); err != nil {
			t.Fatal(err)
		}
	}
	var status map[string]hexutil.Uint
	if err := seq.Client().CallContext(ctx, &status, "txpool_status"); err != nil {
		t.Fatal(err)
	}
	if status["pending"] != 2 || status["queued"] != 1 {
		t.Fatalf("txpool_status %v, want 2 pending and 1 queued", status)
	}
	var content map[string]map[string]map[string]map[string]any
	if err := seq.Client().CallContext(ctx, &content, "txpool_content"); err != nil {
		t.Fatal(err)
	}
	if q := content["queued"][chain.DevAddress(3).Hex()]; len(q) != 1 || q["3"] == nil {
		t.Fatalf("queued: %v", content["queued"])
	}
}

// A sender's pending transactions must fit its balance together, as
// go-ethereum checks: two that each fit but not both are not both taken.
func TestSequencerChecksPendingCostsTogether(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	half := new(big.Int).Mul(big.NewInt(6_000), big.NewInt(params.Ether)) // each account holds 10,000 ETH
	if err := seq.SendTransaction(ctx, SignL2(t, s, 4, 0, common.Address{0x77}, half)); err != nil {
		t.Fatal(err)
	}
	err := seq.SendTransaction(ctx, SignL2(t, s, 4, 1, common.Address{0x77}, half))
	if err == nil || !strings.Contains(err.Error(), "insufficient funds") {
		t.Fatalf("a second transaction the balance cannot cover with the first: %v", err)
	}
	Must[*types.Block](t)(s.Sequence(ctx))
	if err := seq.SendTransaction(ctx, SignL2(t, s, 4, 1, common.Address{0x77}, big.NewInt(1))); err != nil {
		t.Fatalf("after the first was included: %v", err)
	}
}

// A transaction paying both fee caps 10% more replaces the pending one of
// its nonce, as go-ethereum's pool allows, pending or behind a gap; one
// paying less is refused with go-ethereum's error.
func TestSequencerReplacesByFee(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	id := new(big.Int).SetUint64(s.Config.L2ChainID)
	sign := func(nonce uint64, tip, cap int64, to common.Address) *types.Transaction {
		tx, err := types.SignNewTx(chain.DevKey(5), types.LatestSignerForChainID(id), &types.DynamicFeeTx{
			ChainID: id, Nonce: nonce, To: &to, Value: big.NewInt(1), Gas: 21_000,
			GasTipCap: big.NewInt(tip), GasFeeCap: big.NewInt(cap),
		})
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	first, gapped := sign(0, 1e6, 1e9, common.Address{0x71}), sign(2, 1e6, 1e9, common.Address{0x71})
	for _, tx := range []*types.Transaction{first, gapped} {
		if err := seq.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tx := range []*types.Transaction{sign(0, 1.09e6, 1.1e9, common.Address{0x72}), sign(2, 1.1e6, 1.09e9, common.Address{0x72})} {
		if err := seq.SendTransaction(ctx, tx); err == nil || !strings.Contains(err.Error(), "replacement transaction underpriced") {
			t.Fatalf("a replacement under 10%% more on one cap: %v", err)
		}
	}
	again, gappedAgain := sign(0, 1.1e6, 1.1e9, common.Address{0x72}), sign(2, 1.1e6, 1.1e9, common.Address{0x72})
	for _, tx := range []*types.Transaction{again, gappedAgain, sign(1, 1e6, 1e9, common.Address{0x71})} {
		if err := seq.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	var status map[string]hexutil.Uint
	if err := seq.Client().CallContext(ctx, &status, "txpool_status"); err != nil {
		t.Fatal(err)
	}
	if status["pending"] != 3 || status["queued"] != 0 {
		t.Fatalf("txpool_status %v, want the three nonces pending", status)
	}
	Must[*types.Block](t)(s.Sequence(ctx))
	for _, c := range []struct {
		tx *types.Transaction
		in bool
	}{{first, false}, {gapped, false}, {again, true}, {gappedAgain, true}} {
		if got := included(t, s.Sequencer, c.tx.Hash()); got != c.in {
			t.Errorf("transaction of nonce %d to %s included: %v, want %v", c.tx.Nonce(), c.tx.To(), got, c.in)
		}
	}
	if b := Must[*big.Int](t)(seq.BalanceAt(ctx, common.Address{0x72}, nil)); b.Int64() != 2 {
		t.Fatalf("the replacements' recipient holds %v, want 2", b)
	}
}
