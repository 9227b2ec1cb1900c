package zkrollup

import (
	"crypto/ecdsa"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/test"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/chain"
)

const testDepth = 4

// world is a tree and the keys of its users: user i owns account i.
type world struct {
	tree *Tree
	l1   []*ecdsa.PrivateKey
	l2   []*eddsa.PrivateKey
}

func newWorld(users int) *world {
	w := &world{tree: NewTree(testDepth)}
	w.tree.SetDomain(VerifierParams{}.Domain()) // the contract's, with the tests' chain ID 0
	for i := range users {
		k := chain.DevKey(uint32(i))
		w.l1 = append(w.l1, k)
		w.l2 = append(w.l2, L2Key(k))
	}
	return w
}

func (w *world) addr(i uint64) common.Address { return crypto.PubkeyToAddress(w.l1[i].PublicKey) }

func (w *world) deposit(i, gwei uint64) Op {
	return Op{Type: OpDeposit, Account: i, Address: w.addr(i), Amount: gwei}
}

func (w *world) register(t *testing.T, i uint64) Op {
	t.Helper()
	op := Op{Type: OpRegister, Account: i, Address: w.addr(i), PubKey: PubKeyBytes(w.l2[i])}
	if err := op.SignRegister(w.l1[i], w.tree.Domain()); err != nil {
		t.Fatal(err)
	}
	return op
}

func (w *world) signed(t *testing.T, op Op, signer uint64) Op {
	t.Helper()
	if err := op.Sign(w.l2[signer], w.tree.Domain()); err != nil {
		t.Fatal(err)
	}
	return op
}

func (w *world) transfer(t *testing.T, from, to, amount, fee, nonce uint64) Op {
	return w.signed(t, Op{Type: OpTransfer, Account: from, To: to, Amount: amount, Fee: fee, Nonce: nonce}, from)
}

func (w *world) withdraw(t *testing.T, i, amount, fee, nonce uint64) Op {
	return w.signed(t, Op{Type: OpWithdraw, Account: i, Amount: amount, Fee: fee, Nonce: nonce, Address: w.addr(i)}, i)
}

// funded gives user i balances[i] gwei and registers its key, natively.
func (w *world) funded(t *testing.T, balances ...uint64) *world {
	t.Helper()
	for i, b := range balances {
		for _, op := range []Op{w.deposit(uint64(i), b), w.register(t, uint64(i))} {
			if err := w.tree.Apply(&op); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// batch applies ops natively with checks on a copy, assigns them on the
// world's tree, and checks both agree; it returns the assignment.
func (w *world) batch(t *testing.T, slots int, feeAccount uint64, ops ...Op) *BatchCircuit {
	t.Helper()
	check := w.tree.Clone()
	var fees uint64
	for i := range ops {
		if err := check.Apply(&ops[i]); err != nil {
			t.Fatalf("op %d (%s): %v", i, ops[i].Type, err)
		}
		fees += ops[i].Fee
	}
	check.CreditFees(feeAccount, fees)
	a, err := w.tree.Assign(ops, slots, feeAccount)
	if err != nil {
		t.Fatal(err)
	}
	if w.tree.Root() != check.Root() {
		t.Fatal("the assignment and native execution disagree on the new root")
	}
	return a
}

func solved(slots int, a *BatchCircuit) error {
	return test.IsSolved(NewBatchCircuit(slots, testDepth), a, ecc.BN254.ScalarField())
}

// A registration of a key that protects nothing is refused at admission:
// the identity, a small-order point, or the padding key (its private key
// is public).
func TestWeakL2KeysRefused(t *testing.T) {
	w := newWorld(1).funded(t)
	w.tree.Set(0, Account{Address: w.addr(0)})
	var identity, order2 twistededwards.PointAffine
	identity.X.SetZero()
	identity.Y.SetOne()
	order2.X.SetZero()
	order2.Y.SetOne()
	order2.Y.Neg(&order2.Y)
	for name, key := range map[string][32]byte{"identity": identity.Bytes(), "order 2": order2.Bytes(), "padding": PubKeyBytes(padKey)} {
		op := Op{Type: OpRegister, Account: 0, Address: w.addr(0), PubKey: key}
		if err := op.SignRegister(w.l1[0], w.tree.Domain()); err != nil {
			t.Fatal(err)
		}
		if err := w.tree.Check(&op); !errors.Is(err, ErrWeakKey) {
			t.Errorf("%s key: %v", name, err)
		}
	}
	good := w.register(t, 0)
	if err := w.tree.Check(&good); err != nil {
		t.Fatalf("a real key: %v", err)
	}
}

// Signatures are bound to one deployment, the L1's chain ID and the
// contract's address: a transfer or a registration signed for another one
// is refused, so a signature cannot be replayed across devnets, testnets
// and forks.
func TestSignaturesBoundToTheDeployment(t *testing.T) {
	w := newWorld(2).funded(t, 1_000, 1_000)
	other := []Domain{{ChainID: 99, Contract: VerifierAddress}, {ChainID: w.tree.Domain().ChainID, Contract: common.Address{1}}}
	for _, d := range other {
		tr := Op{Type: OpTransfer, Account: 0, To: 1, Amount: 10, Nonce: 0}
		if err := tr.Sign(w.l2[0], d); err != nil {
			t.Fatal(err)
		}
		if err := w.tree.Check(&tr); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("a transfer signed for %+v: %v", d, err)
		}
	}
	fresh := newWorld(1)
	fresh.tree.Apply(&Op{Type: OpDeposit, Account: 0, Address: fresh.addr(0), Amount: 1})
	reg := Op{Type: OpRegister, Account: 0, Address: fresh.addr(0), PubKey: PubKeyBytes(fresh.l2[0])}
	if err := reg.SignRegister(fresh.l1[0], other[0]); err != nil {
		t.Fatal(err)
	}
	if err := fresh.tree.Check(&reg); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a registration signed for another chain: %v", err)
	}
	good := fresh.register(t, 0)
	if err := fresh.tree.Check(&good); err != nil {
		t.Fatal(err)
	}
}
