package zkrollup

import (
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// l1 runs the L1 contract on a bare state, one call per "block".
type l1Harness struct {
	t     *testing.T
	v     *Verifier
	st    *state.StateDB
	block uint64
}

func newL1(t *testing.T, p VerifierParams) *l1Harness {
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	return &l1Harness{t: t, v: NewVerifier(p), st: st, block: 1}
}

func (l *l1Harness) call(from common.Address, wei *big.Int, method string, args ...any) ([]byte, error) {
	l.t.Helper()
	var in []byte
	if method != "" {
		var err error
		if in, err = VerifierABI.Pack(method, args...); err != nil {
			l.t.Fatal(err)
		}
	}
	return l.run(from, wei, in)
}

// run executes one call of raw input in its own block.
func (l *l1Harness) run(from common.Address, wei *big.Int, in []byte) ([]byte, error) {
	value := uint256.MustFromBig(wei)
	l.st.AddBalance(VerifierAddress, value, tracing.BalanceChangeUnspecified)
	snap := l.st.Snapshot()
	l.block++
	out, err := l.v.Run(&chain.Call{State: l.st, Block: vm.BlockContext{BlockNumber: new(big.Int).SetUint64(l.block)}, Self: VerifierAddress, Caller: from, Value: value, Input: in})
	if err != nil {
		l.st.RevertToSnapshot(snap)
		l.st.SubBalance(VerifierAddress, value, tracing.BalanceChangeUnspecified)
	}
	return out, err
}

// exit runs exit for an account of tree, as cairn zk exit sends it.
func (l *l1Harness) exit(from common.Address, tree *Tree, account uint64) error {
	in, err := ExitCalldata(tree, account)
	if err != nil {
		l.t.Fatal(err)
	}
	_, err = l.run(from, new(big.Int), in)
	return err
}

func (l *l1Harness) must(from common.Address, wei *big.Int, method string, args ...any) []byte {
	l.t.Helper()
	out, err := l.call(from, wei, method, args...)
	if err != nil {
		l.t.Fatalf("%s: %v", method, err)
	}
	return out
}

func (l *l1Harness) refuses(why string, from common.Address, wei *big.Int, method string, args ...any) {
	l.t.Helper()
	var revert *chain.RevertError
	if _, err := l.call(from, wei, method, args...); !errors.As(err, &revert) {
		l.t.Fatalf("%s: %s was not refused (%v)", why, method, err)
	}
}

func gwei(n uint64) *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(n), big.NewInt(gweiPerEth))
}

// prove assigns ops on the operator's tree and proves the batch.
func prove(t *testing.T, k *Keys, tree *Tree, ops ...Op) (common.Hash, []byte, []byte) {
	t.Helper()
	a, err := tree.Assign(ops, k.Slots, 0)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := k.Prove(a)
	if err != nil {
		t.Fatalf("proving: %v", err)
	}
	data, err := EncodeOps(0, ops)
	if err != nil {
		t.Fatal(err)
	}
	return rootBytes(tree.Root()), data, proof
}

// The L1 contract's story, with real Groth16 proofs: the operator installs
// the key; users deposit; batches that process the queue, register keys,
// transfer and withdraw verify and pay out; a batch that invents a deposit
// or forges a registration is refused though its proof is valid; then the
// operator ignores an exit request, the contract enters exit mode, and a
// user leaves with a Merkle proof while another's pending deposit is
// refunded.
func TestL1ContractStory(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	dir := t.TempDir()
	k, err := LoadKeys(dir, 2, testDepth, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadKeys(dir, 2, testDepth, nil)
	if err != nil || again.Hash != k.Hash || string(again.VKBytes) != string(k.VKBytes) {
		t.Fatalf("the cached keys differ: %v", err)
	}
	t.Logf("%d constraints for 2 slots at depth %d; verifying key %d bytes", k.CS.GetNbConstraints(), testDepth, len(k.VKBytes))

	w := newWorld(3)
	operator, stranger := common.Address{0x0b}, common.Address{0x0c}
	tree := NewTree(testDepth)
	tree.SetDomain(VerifierParams{}.Domain())
	c := newL1(t, VerifierParams{Slots: 2, Depth: testDepth, GenesisRoot: rootBytes(tree.Root()), Operator: operator, PriorityDeadline: 5})
	c.refuses("no key yet", operator, new(big.Int), "submitBatch", common.Hash{}, []byte{0, 0, 0, 0}, []byte{})
	c.refuses("a stranger's key", stranger, new(big.Int), "installVerifyingKey", k.VKBytes)
	c.must(operator, new(big.Int), "installVerifyingKey", k.VKBytes)
	c.refuses("a second key", operator, new(big.Int), "installVerifyingKey", k.VKBytes)

	// Deposits: plain ETH, or deposit(to); whole gwei only.
	c.must(w.addr(0), gwei(1_000_000_000), "")
	c.must(w.addr(2), gwei(500_000_000), "deposit", w.addr(1))
	c.refuses("a fraction of a gwei", w.addr(0), big.NewInt(1), "")

	root, data, proof := prove(t, k, tree.Clone(), w.deposit(0, 1_000_000_000), w.deposit(1, 500_000_000))
	c.refuses("a stranger's batch", stranger, new(big.Int), "submitBatch", root, data, proof)
	bad, _ := EncodeOps(0, []Op{w.deposit(0, 1_000_000_000), w.deposit(1, 400_000_000)})
	c.refuses("other public data", operator, new(big.Int), "submitBatch", root, bad, proof)
	root, data, proof = prove(t, k, tree, w.deposit(0, 1_000_000_000), w.deposit(1, 500_000_000))
	// The same batch claiming root + r: the proof checks the root mod r, so
	// it verifies, but the contract would store bytes of no tree, and every
	// exit (and the rebuild from L1) would compare against them.
	aliased := common.BigToHash(new(big.Int).Add(root.Big(), fr.Modulus()))
	c.refuses("a root above the field modulus", operator, new(big.Int), "submitBatch", aliased, data, proof)
	c.must(operator, new(big.Int), "submitBatch", root, data, proof)
	c.refuses("a replay", operator, new(big.Int), "submitBatch", root, data, proof)

	// The proof is valid, but the deposit was never made on L1.
	_, data, proof = prove(t, k, tree.Clone(), w.deposit(2, 5_000_000_000))
	c.refuses("an invented deposit", operator, new(big.Int), "submitBatch", rootBytes(tree.Clone().Root()), data, proof)
	forged := w.register(t, 0)
	forged.SignRegister(w.l1[1], w.tree.Domain())
	fake := tree.Clone()
	fakeRoot, data, proof := prove(t, k, fake, forged)
	c.refuses("a registration the owner did not sign", operator, new(big.Int), "submitBatch", fakeRoot, data, proof)

	root, data, proof = prove(t, k, tree, w.register(t, 0), w.register(t, 1))
	c.must(operator, new(big.Int), "submitBatch", root, data, proof)
	before := c.st.GetBalance(w.addr(1)).ToBig()
	root, data, proof = prove(t, k, tree, w.transfer(t, 0, 1, 300_000_000, 0, 0), w.withdraw(t, 1, 100_000_000, 0, 0))
	c.must(operator, new(big.Int), "submitBatch", root, data, proof)
	if got := new(big.Int).Sub(c.st.GetBalance(w.addr(1)).ToBig(), before); got.Cmp(gwei(100_000_000)) != 0 {
		t.Fatalf("the withdrawal paid %v wei", got)
	}
	if got := common.BytesToHash(c.must(operator, new(big.Int), "stateRoot")); got != rootBytes(tree.Root()) {
		t.Fatal("the contract's root is not the operator's")
	}

	// The operator ignores an exit request and a deposit.
	c.must(w.addr(0), new(big.Int), "requestExit", uint32(0))
	c.must(w.addr(2), gwei(7), "")
	c.refuses("before the deadline", stranger, new(big.Int), "activateExitMode")
	if c.exit(w.addr(1), tree, 1) == nil {
		t.Fatal("an exit outside exit mode")
	}
	c.block += 5
	c.must(stranger, new(big.Int), "activateExitMode")
	c.refuses("a batch in exit mode", operator, new(big.Int), "submitBatch", root, data, proof)
	c.refuses("a deposit in exit mode", w.addr(0), gwei(1), "")

	before = c.st.GetBalance(w.addr(1)).ToBig()
	lie := tree.Clone()
	a := lie.Account(1)
	a.Balance++
	lie.Set(1, a)
	if c.exit(stranger, lie, 1) == nil {
		t.Fatal("an exit with a balance that is not in the root")
	}
	if err := c.exit(stranger, tree, 1); err != nil { // anyone may send it; the owner is paid
		t.Fatal(err)
	}
	if got := new(big.Int).Sub(c.st.GetBalance(w.addr(1)).ToBig(), before); got.Cmp(gwei(700_000_000)) != 0 {
		t.Fatalf("the exit paid %v wei", got)
	}
	if c.exit(w.addr(1), tree, 1) == nil {
		t.Fatal("a second exit")
	}
	if err := c.exit(w.addr(0), tree, 0); err != nil {
		t.Fatal(err)
	}

	q, _ := VerifierABI.Unpack("priorityQueue", c.must(stranger, new(big.Int), "priorityQueue"))
	head, tail := q[0].(*big.Int), q[1].(*big.Int)
	if head.Int64() != 2 || tail.Int64() != 4 {
		t.Fatalf("queue [%v, %v)", head, tail)
	}
	c.refuses("refunding a full exit request", stranger, new(big.Int), "cancelDeposit", big.NewInt(2))
	before = c.st.GetBalance(w.addr(2)).ToBig()
	c.must(stranger, new(big.Int), "cancelDeposit", big.NewInt(3))
	if got := new(big.Int).Sub(c.st.GetBalance(w.addr(2)).ToBig(), before); got.Cmp(gwei(7)) != 0 {
		t.Fatalf("the refund paid %v wei", got)
	}
	c.refuses("a second refund", stranger, new(big.Int), "cancelDeposit", big.NewInt(3))
	if left := c.st.GetBalance(VerifierAddress); !left.IsZero() {
		t.Fatalf("%v wei left in the contract after everyone left", left)
	}
}

// The contract runs on calldata from anyone: no input may panic it, and
// garbage is refused with a revert. The seeds cover each method; proofs and
// keys are parsed from arbitrary bytes as well.
func FuzzContractInput(f *testing.F) {
	for _, m := range []string{"submitBatch", "installVerifyingKey", "exit", "deposit", "requestExit", "priorityOp", "cancelDeposit"} {
		f.Add(VerifierABI.Methods[m].ID)
	}
	data, _ := VerifierABI.Pack("submitBatch", common.Hash{1}, []byte{0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}, []byte{1, 2, 3})
	f.Add(data)
	f.Fuzz(func(t *testing.T, in []byte) {
		operator := common.Address{0x0b}
		c := newL1(t, VerifierParams{Slots: 2, Depth: testDepth, Operator: operator, PriorityDeadline: 1})
		c.run(operator, new(big.Int), in)
		c.run(common.Address{0x0c}, big.NewInt(gweiPerEth), in)
		c.v.parseKey(in)
		readProof(in) // as verify reads a batch's proof
	})
}

// A proof or key that declares more points than its bytes could hold is
// refused before gnark's decoder allocates them: a few bytes declaring
// 2^32 points would otherwise kill every L1 node with an out-of-memory
// error that no recover catches.
func TestHugeDeclaredLengthsRefused(t *testing.T) {
	point := func(n int) []byte { b := make([]byte, n); b[0] = 0b10 << 6; return b } // compressed
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	proof := append(append(append(point(32), point(64)...), point(32)...), huge...)
	if _, err := readProof(proof); !errors.Is(err, ErrEncoding) {
		t.Fatalf("a proof declaring 2^32 commitments: %v", err)
	}
	key := append(append(append(append(append(append(point(32), point(32)...), point(64)...), point(64)...), point(32)...), point(64)...), huge...)
	if _, err := NewVerifier(VerifierParams{}).parseKey(key); !errors.Is(err, ErrEncoding) {
		t.Fatalf("a key declaring 2^32 points: %v", err)
	}
	nested := append(append(append(append(append(append(point(32), point(32)...), point(64)...), point(64)...), point(32)...), point(64)...), 0, 0, 0, 0, 0, 0, 0, 1)
	if _, err := NewVerifier(VerifierParams{}).parseKey(append(nested, huge...)); !errors.Is(err, ErrEncoding) {
		t.Fatalf("a key declaring 2^32 committed inputs: %v", err)
	}
}

// A payout larger than what the contract holds reverts: subtracting would
// wrap the balance around instead (uint256), creating ETH.
func TestPayoutNeverOverdraws(t *testing.T) {
	l := newL1(t, VerifierParams{Slots: 2, Depth: testDepth})
	l.st.AddBalance(VerifierAddress, uint256.NewInt(5*gweiPerEth), tracing.BalanceChangeUnspecified)
	call := &chain.Call{State: l.st, Block: vm.BlockContext{BlockNumber: big.NewInt(1)}, Self: VerifierAddress}
	var revert *chain.RevertError
	if err := l.v.pay(call, common.Address{1}, 6); !errors.As(err, &revert) {
		t.Fatalf("paying 6 gwei from 5: %v", err)
	}
	if got := l.st.GetBalance(VerifierAddress); got.Cmp(uint256.NewInt(5*gweiPerEth)) != 0 {
		t.Fatalf("contract holds %v after a refused payout", got)
	}
	if err := l.v.pay(call, common.Address{1}, 5); err != nil {
		t.Fatal(err)
	}
}

// Priority ops are bounded so that nobody can outrun the operator into
// exit mode: only an account's owner requests its exit, paying the fee;
// deposits have a minimum and stop when the tree is full (the contract
// numbers accounts as the operator does); and each op's deadline is at
// least PrioritySpacing blocks after the one before.
func TestPriorityOpsBounded(t *testing.T) {
	operator, alice, bob, carol := common.Address{0x0b}, common.Address{0xa1}, common.Address{0xb0}, common.Address{0xc0}
	fee := big.NewInt(1_000)
	c := newL1(t, VerifierParams{Slots: 2, Depth: 2, Operator: operator, PriorityDeadline: 10, PrioritySpacing: 3, PriorityFee: fee, MinDeposit: 5,
		GenesisAccounts: []common.Address{operator}})
	c.refuses("a deposit under the minimum", alice, gwei(4), "")
	for _, who := range []common.Address{alice, bob, carol} {
		c.must(who, gwei(5), "")
	}
	c.refuses("a deposit opening a fifth account in a tree of four", common.Address{0xd0}, gwei(5), "")
	c.must(alice, gwei(5), "") // an existing account takes more
	for i, who := range []common.Address{operator, alice, bob, carol} {
		out, _ := VerifierABI.Unpack("accountOf", c.must(who, new(big.Int), "accountOf", who))
		if out[0].(uint32) != uint32(i) || !out[1].(bool) {
			t.Fatalf("%s has account %v", who, out)
		}
	}
	c.refuses("an exit request for another's account", bob, fee, "requestExit", uint32(1))
	c.refuses("an exit request without its fee", alice, new(big.Int), "requestExit", uint32(1))
	c.must(alice, fee, "requestExit", uint32(1))
	c.must(bob, fee, "requestExit", uint32(2))
	if got := c.st.GetBalance(operator); got.Cmp(uint256.NewInt(2_000)) != 0 {
		t.Fatalf("the operator received %v wei of fees", got)
	}
	var last uint64
	for i := range 6 {
		out, _ := VerifierABI.Unpack("priorityOp", c.must(alice, new(big.Int), "priorityOp", big.NewInt(int64(i))))
		d := out[4].(uint64)
		if i > 0 && d < last+3 {
			t.Fatalf("op %d is due at %d, %d blocks after op %d", i, d, d-last, i-1)
		}
		last = d
	}
}
