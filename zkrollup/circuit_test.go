package zkrollup

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
)

const testDepth = 4

type world struct {
	tree *Tree
	keys []*eddsa.PrivateKey
	pad  *eddsa.PrivateKey
}

func newWorld(t *testing.T, balances ...uint64) *world {
	t.Helper()
	w := &world{tree: NewTree(testDepth)}
	for i, b := range balances {
		k, err := eddsa.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, k)
		if err := w.tree.Set(uint64(i), Account{PubX: k.PublicKey.A.X, PubY: k.PublicKey.A.Y, Balance: b}); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if w.pad, err = eddsa.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) transfer(t *testing.T, from, to, amount, nonce uint64) Transfer {
	t.Helper()
	tr := Transfer{From: from, To: to, Amount: amount, Nonce: nonce}
	if err := SignTransfer(w.keys[from], &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// The native tree and the circuit agree: a valid batch (two transfers and
// padding) satisfies the circuit, and its new root is the native one.
func TestBatchCircuitAcceptsValidBatch(t *testing.T) {
	w := newWorld(t, 100, 50, 0)
	check := NewTree(testDepth) // the same accounts, run natively with checks
	for i := range 3 {
		check.Set(uint64(i), w.tree.Account(uint64(i)))
	}
	txs := []Transfer{w.transfer(t, 0, 1, 30, 0), w.transfer(t, 1, 2, 80, 0)}
	for i := range txs {
		if err := check.Apply(&txs[i]); err != nil {
			t.Fatal(err)
		}
	}
	assignment, err := w.tree.Assign(txs, 3, w.pad)
	if err != nil {
		t.Fatal(err)
	}
	if w.tree.Root() != check.Root() {
		t.Fatal("assignment and native execution disagree on the new root")
	}
	if err := test.IsSolved(NewBatchCircuit(3, testDepth), assignment, ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
}

// Soundness: a wrong signature, an overdraft, a replayed nonce and a wrong
// root each make the batch unprovable.
func TestBatchCircuitRefusesInvalid(t *testing.T) {
	cases := map[string]func(w *world) ([]Transfer, func(*BatchCircuit)){
		"wrong signature": func(w *world) ([]Transfer, func(*BatchCircuit)) {
			tr := w.transfer(t, 0, 1, 10, 0)
			other := Transfer{From: 0, To: 1, Amount: 10, Nonce: 0}
			SignTransfer(w.keys[1], &other) // signed by the wrong key
			tr.Sig = other.Sig
			return []Transfer{tr}, nil
		},
		"overdraft": func(w *world) ([]Transfer, func(*BatchCircuit)) { return []Transfer{w.transfer(t, 0, 1, 101, 0)}, nil },
		"replayed nonce": func(w *world) ([]Transfer, func(*BatchCircuit)) {
			tr := w.transfer(t, 0, 1, 10, 0)
			return []Transfer{tr, tr}, nil
		},
		"wrong root": func(w *world) ([]Transfer, func(*BatchCircuit)) {
			return []Transfer{w.transfer(t, 0, 1, 10, 0)}, func(c *BatchCircuit) { c.NewRoot = 12345 }
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 100, 50)
			txs, tamper := build(w)
			assignment, err := w.tree.Assign(txs, 2, w.pad)
			if err != nil {
				t.Fatal(err)
			}
			if tamper != nil {
				tamper(assignment)
			}
			if err := test.IsSolved(NewBatchCircuit(2, testDepth), assignment, ecc.BN254.ScalarField()); err == nil {
				t.Fatal("invalid batch satisfied the circuit")
			}
		})
	}
}

// A real Groth16 proof of a small batch verifies, and not against another
// root.
func TestBatchGroth16(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	w := newWorld(t, 100, 50)
	assignment, err := w.tree.Assign([]Transfer{w.transfer(t, 0, 1, 30, 0)}, 2, w.pad)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, NewBatchCircuit(2, testDepth))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d constraints for 2 slots at depth %d", ccs.GetNbConstraints(), testDepth)
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := groth16.Prove(ccs, pk, full)
	if err != nil {
		t.Fatal(err)
	}
	public, _ := full.Public()
	if err := groth16.Verify(proof, vk, public); err != nil {
		t.Fatalf("proof refused: %v", err)
	}
	verifierContract(t, vk, proof, assignment, w)
	assignment.NewRoot = 7
	wrong, _ := frontend.NewWitness(assignment, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if groth16.Verify(proof, vk, wrong) == nil {
		t.Fatal("proof verified against another root")
	}
}

// verifierContract runs the L1 verifier contract on the proof: it moves the
// root once, and refuses a replay, other public data and other senders.
func verifierContract(t *testing.T, vk groth16.VerifyingKey, proof groth16.Proof, a *BatchCircuit, w *world) {
	t.Helper()
	var vkBuf, proofBuf bytes.Buffer
	vk.WriteTo(&vkBuf)
	proof.WriteTo(&proofBuf)
	operator := common.Address{0x0b}
	oldRoot := common.BigToHash(a.OldRoot.(*big.Int))
	newRoot := common.BigToHash(a.NewRoot.(*big.Int))
	v := NewVerifier(VerifierParams{Slots: 2, Depth: testDepth, VerifyingKey: vkBuf.Bytes(), GenesisRoot: oldRoot, Operator: operator})
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	call := func(from common.Address, method string, args ...any) ([]byte, error) {
		in, err := VerifierABI.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(1)}, Self: VerifierAddress, Caller: from, Value: new(uint256.Int), Input: in})
	}
	data := must(EncodeTransfers([]Transfer{{From: 0, To: 1, Amount: 30}}))
	if _, err := call(common.Address{0x0c}, "submitBatch", newRoot, data, proofBuf.Bytes()); err == nil {
		t.Fatal("a stranger submitted a batch")
	}
	other := must(EncodeTransfers([]Transfer{{From: 0, To: 1, Amount: 31}}))
	if _, err := call(operator, "submitBatch", newRoot, other, proofBuf.Bytes()); err == nil {
		t.Fatal("a proof verified for other public data")
	}
	t0 := time.Now()
	if _, err := call(operator, "submitBatch", newRoot, data, proofBuf.Bytes()); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	t.Logf("verifier contract: %v for one batch (proof %d bytes)", time.Since(t0), proofBuf.Len())
	if got := must(call(operator, "stateRoot")); common.BytesToHash(got) != newRoot {
		t.Fatal("root not moved")
	}
	if _, err := call(operator, "submitBatch", newRoot, data, proofBuf.Bytes()); err == nil {
		t.Fatal("the same batch verified twice")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
