package chain

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

const testChainID = 99

type testChain struct {
	t     *testing.T
	store *Store
	exec  *Executor
	keys  []*ecdsa.PrivateKey
	nonce map[common.Address]uint64
}

func newTestChain(t *testing.T, gasLimit uint64, system *SystemContracts, extra types.GenesisAlloc) *testChain {
	t.Helper()
	alloc := types.GenesisAlloc{}
	var keys []*ecdsa.PrivateKey
	for i := range uint32(3) {
		keys = append(keys, DevKey(i))
		alloc[DevAddress(i)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	}
	for a, acc := range extra {
		alloc[a] = acc
	}
	store, err := Open("", &Genesis{ChainID: testChainID, GasLimit: gasLimit, Alloc: alloc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &testChain{t: t, store: store, exec: NewExecutor(store.Config(), store, system), keys: keys, nonce: map[common.Address]uint64{}}
}

// tx signs a dynamic-fee transaction from key k paying tip and at most 100 gwei.
func (c *testChain) tx(k int, to *common.Address, value *big.Int, data []byte, gas uint64, tip int64) *types.Transaction {
	from := crypto.PubkeyToAddress(c.keys[k].PublicKey)
	tx := types.MustSignNewTx(c.keys[k], types.LatestSigner(c.store.Config()), &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: c.nonce[from], GasTipCap: big.NewInt(tip),
		GasFeeCap: big.NewInt(100 * params.GWei), Gas: gas, To: to, Value: value, Data: data,
	})
	c.nonce[from]++
	return tx
}

// block executes and commits a block of txs with the given coinbase.
func (c *testChain) block(coinbase common.Address, txs ...*types.Transaction) *Result {
	c.t.Helper()
	head := c.store.Head()
	st, err := c.store.StateAt(head.Root)
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.exec.Build(head, st, Env{Time: head.Time + 1, Coinbase: coinbase}, txs)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.store.Commit(res); err != nil {
		c.t.Fatal(err)
	}
	return res
}

func (c *testChain) balance(a common.Address) *big.Int {
	st, err := c.store.StateAt(c.store.Head().Root)
	if err != nil {
		c.t.Fatal(err)
	}
	return st.GetBalance(a).ToBig()
}

// Under sustained demand above the target the base fee rises block by block;
// when demand stops it falls. Priority fees go to the coinbase and the base
// fee is burned.
func TestFeeMarket(t *testing.T) {
	c := newTestChain(t, 1_000_000, nil, nil) // target 500,000 gas
	proposer := common.HexToAddress("0xc0ffee")
	sink := common.HexToAddress("0x5151")
	var fees []*big.Int
	fees = append(fees, c.store.Head().BaseFee)
	for range 5 {
		var txs []*types.Transaction
		for range 40 { // 840,000 gas: above target
			txs = append(txs, c.tx(0, &sink, big.NewInt(1), nil, 21000, params.GWei))
		}
		before := c.balance(proposer)
		res := c.block(proposer, txs...)
		if len(res.Skipped) != 0 || res.Block.GasUsed() != 840_000 {
			t.Fatalf("block %d: %d skipped, gas %d", res.Block.NumberU64(), len(res.Skipped), res.Block.GasUsed())
		}
		// The proposer earned exactly the tips.
		earned := new(big.Int).Sub(c.balance(proposer), before)
		if want := big.NewInt(840_000 * params.GWei); earned.Cmp(want) != 0 {
			t.Fatalf("proposer earned %v, want %v", earned, want)
		}
		fees = append(fees, res.Block.BaseFee())
	}
	for range 5 {
		fees = append(fees, c.block(proposer).Block.BaseFee())
	}
	// fees[i] is block i's base fee, set by block i-1's gas used: block 1
	// follows the empty genesis, blocks 2-6 follow loaded blocks.
	for i := 2; i <= 6; i++ {
		if fees[i].Cmp(fees[i-1]) <= 0 {
			t.Fatalf("base fee did not rise under load: %v", fees)
		}
	}
	for i := 7; i < len(fees); i++ {
		if fees[i].Cmp(fees[i-1]) >= 0 {
			t.Fatalf("base fee did not fall without load: %v", fees)
		}
	}
}

// The base fee is burned: the sender pays base fee + tip, only the tip and the
// value reappear anywhere.
func TestBaseFeeBurned(t *testing.T) {
	c := newTestChain(t, 0, nil, nil)
	proposer, to := common.HexToAddress("0xc0ffee"), common.HexToAddress("0x70")
	from := DevAddress(0)
	before := c.balance(from)
	res := c.block(proposer, c.tx(0, &to, big.NewInt(7), nil, 21000, 2))
	paid := new(big.Int).Sub(before, c.balance(from))
	baseFee := res.Block.BaseFee()
	want := new(big.Int).Mul(new(big.Int).Add(baseFee, big.NewInt(2)), big.NewInt(21000))
	want.Add(want, big.NewInt(7))
	if paid.Cmp(want) != 0 {
		t.Fatalf("sender paid %v, want %v", paid, want)
	}
	if got := c.balance(proposer); got.Cmp(big.NewInt(2*21000)) != 0 {
		t.Fatalf("proposer got %v, want only the tip", got)
	}
}

// Invalid transactions are left out of the block, not fatal to it.
func TestBuildSkipsInvalid(t *testing.T) {
	c := newTestChain(t, 0, nil, nil)
	to := common.HexToAddress("0x70")
	good := c.tx(0, &to, big.NewInt(1), nil, 21000, 1)
	c.nonce[DevAddress(0)] += 5
	gapped := c.tx(0, &to, big.NewInt(1), nil, 21000, 1)
	broke := c.tx(1, &to, new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether)), nil, 21000, 1)
	wrongChain := types.MustSignNewTx(c.keys[2], types.LatestSignerForChainID(big.NewInt(1)), &types.DynamicFeeTx{
		ChainID: big.NewInt(1), Gas: 21000, GasFeeCap: big.NewInt(params.GWei * 10), To: &to,
	})
	res := c.block(common.Address{}, good, gapped, broke, wrongChain)
	if n := len(res.Block.Transactions()); n != 1 {
		t.Fatalf("%d transactions included, want 1", n)
	}
	want := []error{core.ErrNonceTooHigh, core.ErrInsufficientFunds, types.ErrInvalidChainId}
	if len(res.Skipped) != len(want) {
		t.Fatalf("skipped %v", res.Skipped)
	}
	for i, s := range res.Skipped {
		if !errors.Is(s.Err, want[i]) {
			t.Errorf("skip %d: %v, want %v", i, s.Err, want[i])
		}
	}
}

// counter is a system contract that exists only in tests.
type counter struct{ abi abi.ABI }

var counterAddr = common.HexToAddress("0x00000000000000000000000000000000c0de0001")

const counterABI = `[
 {"type":"function","name":"add","stateMutability":"payable","inputs":[{"name":"by","type":"uint256"}],"outputs":[{"name":"total","type":"uint256"}]},
 {"type":"function","name":"total","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
 {"type":"event","name":"Added","inputs":[{"name":"caller","type":"address","indexed":true},{"name":"by","type":"uint256","indexed":false},{"name":"paid","type":"uint256","indexed":false}]}
]`

func newCounter() *counter {
	parsed, err := abi.JSON(strings.NewReader(counterABI))
	if err != nil {
		panic(err)
	}
	return &counter{abi: parsed}
}

func (c *counter) Address() common.Address      { return counterAddr }
func (c *counter) Name() string                 { return "counter" }
func (c *counter) RequiredGas(in []byte) uint64 { return 5000 }

func (c *counter) Run(call *Call) ([]byte, error) {
	if len(call.Input) < 4 {
		return nil, Revert("no selector")
	}
	m, err := c.abi.MethodById(call.Input[:4])
	if err != nil {
		return nil, Revert("unknown method")
	}
	total := call.Get(common.Hash{}).Big()
	switch m.Name {
	case "total":
		return m.Outputs.Pack(total)
	case "add":
		args, err := m.Inputs.Unpack(call.Input[4:])
		if err != nil {
			return nil, Revert("bad arguments")
		}
		by := args[0].(*big.Int)
		if by.Sign() == 0 {
			return nil, Revert("nothing to add")
		}
		total.Add(total, by)
		call.Set(common.Hash{}, common.BigToHash(total))
		data, _ := c.abi.Events["Added"].Inputs.NonIndexed().Pack(by, call.Value.ToBig())
		call.Emit([]common.Hash{c.abi.Events["Added"].ID, common.BytesToHash(call.Caller.Bytes())}, data)
		return m.Outputs.Pack(total)
	}
	return nil, Revert("unknown method")
}

func TestSystemContract(t *testing.T) {
	cnt := newCounter()
	sys, err := NewSystemContracts(cnt)
	if err != nil {
		t.Fatal(err)
	}
	// An EVM contract that forwards its calldata to the counter and returns
	// the call's success flag.
	caller := common.HexToAddress("0xca11e4")
	code := append(append(common.FromHex("365f5f375f5f365f5f73"), counterAddr.Bytes()...), common.FromHex("5af15f5260205ff3")...)
	c := newTestChain(t, 0, sys, types.GenesisAlloc{caller: {Code: code, Balance: common.Big0}})
	addr := counterAddr

	add, _ := cnt.abi.Pack("add", big.NewInt(5))
	zero, _ := cnt.abi.Pack("add", big.NewInt(0))
	res := c.block(common.Address{},
		c.tx(0, &addr, big.NewInt(params.GWei), add, 100_000, 1),
		c.tx(1, &addr, nil, zero, 100_000, 1),
		c.tx(2, &caller, nil, add, 100_000, 1),
	)
	if len(res.Skipped) != 0 {
		t.Fatalf("skipped: %v", res.Skipped)
	}
	ok, reverted, nested := res.Receipts[0], res.Receipts[1], res.Receipts[2]

	// The direct call ran natively: status, deterministic gas, a log from the
	// contract's address, value and state in the contract's own account.
	if ok.Status != types.ReceiptStatusSuccessful {
		t.Fatal("add failed")
	}
	intrinsic, _ := core.IntrinsicGas(add, nil, nil, DevAddress(0), &addr, uint256.NewInt(params.GWei), c.store.Config().Rules(common.Big1, true, 0))
	if ok.GasUsed != intrinsic+5000 {
		t.Fatalf("gas used %d, want %d", ok.GasUsed, intrinsic+5000)
	}
	if len(ok.Logs) != 1 || ok.Logs[0].Address != counterAddr || ok.Logs[0].Topics[1] != common.BytesToHash(DevAddress(0).Bytes()) {
		t.Fatalf("logs %+v", ok.Logs)
	}
	st, _ := c.store.StateAt(c.store.Head().Root)
	if got := st.GetState(counterAddr, common.Hash{}).Big(); got.Int64() != 5 {
		t.Fatalf("total %v", got)
	}
	if got := st.GetBalance(counterAddr); got.Uint64() != params.GWei {
		t.Fatalf("contract balance %v", got)
	}
	// A revert keeps state and reports failure, charging only used gas.
	if reverted.Status != types.ReceiptStatusFailed || reverted.GasUsed >= 100_000 {
		t.Fatalf("revert: status %d gas %d", reverted.Status, reverted.GasUsed)
	}
	// EVM code cannot reach a system contract: the inner call failed (the
	// total above stayed 5) while the outer transaction succeeded.
	if nested.Status != types.ReceiptStatusSuccessful || len(nested.Logs) != 0 {
		t.Fatal("outer call failed or the forwarded add ran")
	}
	// The state root covers the contract's storage.
	if res.Block.Root() != c.store.Head().Root {
		t.Fatal("root mismatch")
	}
	// Same inputs, same root: rebuild on a second chain.
	c2 := newTestChain(t, 0, sys, types.GenesisAlloc{caller: {Code: code, Balance: common.Big0}})
	res2 := c2.block(common.Address{},
		c2.tx(0, &addr, big.NewInt(params.GWei), add, 100_000, 1),
		c2.tx(1, &addr, nil, zero, 100_000, 1),
		c2.tx(2, &caller, nil, add, 100_000, 1),
	)
	if res2.Block.Hash() != res.Block.Hash() {
		t.Fatal("the same block built twice has different hashes")
	}
}

func TestSystemContractsRejectClashes(t *testing.T) {
	if _, err := NewSystemContracts(newCounter(), newCounter()); err == nil {
		t.Fatal("two contracts at one address accepted")
	}
}

// A store reopened from disk has the same head, and a clean close keeps
// state.
func TestStoreReopen(t *testing.T) {
	dir := t.TempDir()
	g := &Genesis{ChainID: testChainID, Alloc: types.GenesisAlloc{DevAddress(0): {Balance: big.NewInt(params.Ether)}}}
	s, err := Open(dir, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testChain{t: t, store: s, exec: NewExecutor(s.Config(), s, nil), keys: []*ecdsa.PrivateKey{DevKey(0)}, nonce: map[common.Address]uint64{}}
	to := common.HexToAddress("0x70")
	var last *Result
	for range 3 {
		last = c.block(common.Address{}, c.tx(0, &to, big.NewInt(1), nil, 21000, 1))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Head().Hash() != last.Block.Hash() || s2.RewoundBy() != 0 {
		t.Fatalf("head %d after reopen, rewound %d", s2.Head().Number, s2.RewoundBy())
	}
	tx, _, n, _ := s2.TxLookup(last.Block.Transactions()[0].Hash())
	if tx == nil || n != 3 {
		t.Fatal("transaction lookup lost")
	}
	s2.Close()
	if _, err := Open(dir, &Genesis{ChainID: testChainID + 1}, nil); !errors.Is(err, ErrGenesisMismatch) {
		t.Fatalf("other genesis accepted: %v", err)
	}
}

// Prepare writes a block's state and body ahead of Commit without making
// anything visible: the head, the canonical chain and the transaction
// lookups only move at Commit, which then does not write the state again.
func TestPrepareThenCommit(t *testing.T) {
	c := newTestChain(t, 0, nil, nil)
	to := common.Address{0x70}
	tx := c.tx(0, &to, big.NewInt(1), nil, 21_000, 1)
	head := c.store.Head()
	st, err := c.store.StateAt(head.Root)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.exec.Build(head, st, Env{Time: head.Time + 1}, []*types.Transaction{tx})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.Prepare(res); err != nil {
		t.Fatal(err)
	}
	if c.store.Head().Hash() != head.Hash() || c.store.BlockByNumber(1) != nil {
		t.Fatal("a prepared block is visible before Commit")
	}
	if found, _, _, _ := c.store.TxLookup(tx.Hash()); found != nil {
		t.Fatal("a prepared block's transaction is found before Commit")
	}
	if err := c.store.Commit(res); err != nil {
		t.Fatal(err)
	}
	if c.store.Head().Hash() != res.Block.Hash() || c.store.BlockByNumber(1) == nil || !c.store.HasState(res.Block.Root()) {
		t.Fatal("the committed block is not the head")
	}
	if found, _, _, _ := c.store.TxLookup(tx.Hash()); found == nil || len(c.store.Receipts(res.Block.Hash())) != 1 {
		t.Fatal("the committed block's transaction or receipt is missing")
	}
}
