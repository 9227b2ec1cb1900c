package rollup

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
)

// A deposit can create a contract on L2 and another can call it; both run
// identically in the sequencer and in derivation.
func TestActionDepositCreatesAndCallsContract(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{})
	greeterABI, bin := contracts.Greeter()
	ctor := must[[]byte](t)(greeterABI.Pack("", "deposited"))
	create := must[[]byte](t)(PortalABI.Pack("depositTransaction", common.Address{}, new(big.Int), uint64(2_000_000), append(bin, ctor...)))
	sendL1(t, ctx, s, 4, PortalAddress, nil, create, 1_000_000)
	// The contract's address follows from the depositor's L2 nonce, as for
	// any contract creation.
	st := must[*types.Header](t)(s.Sequencer.Chain().Head(), nil)
	state := must[interface{ GetNonce(common.Address) uint64 }](t)(s.Sequencer.Chain().StateAt(st.Root))
	addr := crypto.CreateAddress(chain.DevAddress(4), state.GetNonce(chain.DevAddress(4)))
	set := must[[]byte](t)(greeterABI.Pack("greet", "changed by a deposit"))
	call := must[[]byte](t)(PortalABI.Pack("depositTransaction", addr, new(big.Int), uint64(200_000), set))
	sendL1(t, ctx, s, 4, PortalAddress, nil, call, 500_000)
	b, skipped := must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	if len(skipped) != 0 || len(b.Transactions()) != 2 {
		t.Fatalf("deposits not mined: %v", skipped)
	}
	must[*types.Block](t)(s.Sequence(ctx))
	seq := dial(t, s.Sequencer.RPCURL())
	code := must[[]byte](t)(seq.CodeAt(ctx, addr, nil))
	if len(code) == 0 {
		t.Fatal("deposit did not create the contract")
	}
	in := must[[]byte](t)(greeterABI.Pack("greeting"))
	out := must[[]byte](t)(seq.CallContract(ctx, callMsg(addr, in), nil))
	if res, _ := greeterABI.Unpack("greeting", out); res[0].(string) != "changed by a deposit" {
		t.Fatalf("greeting %v", res)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().Head().Hash() {
		t.Fatal("verifier disagrees after contract deposits")
	}
}

// The portal bounds the L2 gas that one L1 block's deposits may ask for.
func TestPortalDepositGasBudget(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{})
	ask := func() []byte {
		return must[[]byte](t)(PortalABI.Pack("depositTransaction", chain.DevAddress(5), new(big.Int), uint64(MaxDepositGas), []byte{}))
	}
	var hashes []common.Hash
	for range MaxDepositGasPerL1Block/MaxDepositGas + 1 {
		hashes = append(hashes, sendL1(t, ctx, s, 5, PortalAddress, nil, ask(), 500_000).Hash())
	}
	must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	c := s.L1.Client()
	for i, h := range hashes {
		r := must[*types.Receipt](t)(c.TransactionReceipt(ctx, h))
		over := i == len(hashes)-1
		if ok := r.Status == types.ReceiptStatusSuccessful; ok == over {
			t.Fatalf("deposit %d: status %d", i, r.Status)
		}
	}
	// The next L1 block has a fresh budget.
	h := sendL1(t, ctx, s, 5, PortalAddress, nil, ask(), 500_000).Hash()
	must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	if r := must[*types.Receipt](t)(c.TransactionReceipt(ctx, h)); r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deposit refused in a new L1 block")
	}
}

// The L2 genesis hands out ETH that no one deposited; the portal holds as
// much on L1 from the start, so early withdrawals of it do not pay out
// other users' deposits.
func TestPortalBacksTheL2Genesis(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{})
	l2 := dial(t, s.Sequencer.RPCURL())
	supply := new(big.Int)
	for a := range s.Config.Genesis.Alloc {
		supply.Add(supply, must[*big.Int](t)(l2.BalanceAt(ctx, a, nil)))
	}
	if supply.Sign() == 0 {
		t.Fatal("the L2 genesis mints nothing")
	}
	if got := must[*big.Int](t)(s.L1.Client().BalanceAt(ctx, PortalAddress, nil)); got.Cmp(supply) != 0 {
		t.Fatalf("portal holds %v on L1, the L2 genesis hands out %v", got, supply)
	}
}
