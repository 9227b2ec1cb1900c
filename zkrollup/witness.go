package zkrollup

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/ethereum/go-ethereum/crypto"
)

// KeyFromSeed derives an L2 key from 32 bytes of seed.
func KeyFromSeed(seed [32]byte) *eddsa.PrivateKey {
	k, err := eddsa.GenerateKey(bytes.NewReader(seed[:]))
	if err != nil {
		panic(err) // a 32-byte reader does not fail
	}
	return k
}

// L2Key derives an account's L2 key from its L1 key, so a user keeps one
// secret (zkSync Lite derives it from an L1 signature instead).
func L2Key(l1 *ecdsa.PrivateKey) *eddsa.PrivateKey {
	return KeyFromSeed(sha256.Sum256(append([]byte("cairn/zkrollup/l2key"), crypto.FromECDSA(l1)...)))
}

// PubKeyBytes returns an L2 key's compressed public key, as registrations
// carry it.
func PubKeyBytes(k *eddsa.PrivateKey) [32]byte {
	var out [32]byte
	copy(out[:], k.PublicKey.Bytes())
	return out
}

// padKey signs the slots whose authority is L1's (deposits, registrations,
// full exits) and padding, so every slot runs the same signature check. Its
// private key is public on purpose: it authorizes nothing.
var padKey = KeyFromSeed(sha256.Sum256([]byte("cairn/zkrollup/pad")))

func padPublic() twistededwards.Point {
	return twistededwards.Point{X: toBig(padKey.PublicKey.A.X), Y: toBig(padKey.PublicKey.A.Y)}
}

// Assign builds the circuit assignment of ops on the tree, padded to n
// slots, with the batch's fees paid to feeAccount, and applies them to the
// tree. It does not check the ops (Apply does, before): that is the
// circuit's job, so an invalid op makes proving fail.
func (t *Tree) Assign(ops []Op, n int, feeAccount uint64) (*BatchCircuit, error) {
	if len(ops) > n {
		return nil, fmt.Errorf("%d ops for %d slots", len(ops), n)
	}
	c := NewBatchCircuit(n, t.depth)
	c.OldRoot = toBig(t.Root())
	c.Domain = toBig(t.domain.Element())
	var fees uint64
	for i := range c.Ops {
		op := Op{Type: OpNoop}
		if i < len(ops) {
			op = ops[i]
		}
		if err := t.assignOp(&c.Ops[i], &op); err != nil {
			return nil, fmt.Errorf("slot %d (%s): %w", i, op.Type, err)
		}
		fees += op.Fee
	}
	c.FeeAccount = feeAccount
	t.assignLeaf(&c.FeeLeaf, feeAccount)
	if err := t.CreditFees(feeAccount, fees); err != nil {
		return nil, err
	}
	c.NewRoot = toBig(t.Root())
	data, err := EncodeOps(feeAccount, ops)
	if err != nil {
		return nil, err
	}
	h, err := PubDataHash(t.domain, data, n)
	if err != nil {
		return nil, err
	}
	c.PubDataHash = toBig(h)
	return c, nil
}

func (t *Tree) assignOp(w *OpWitness, op *Op) error {
	w.Type, w.Account, w.To, w.Amount, w.Fee, w.Nonce = uint64(op.Type), op.Account, op.To, op.Amount, op.Fee, op.Nonce
	w.Address = op.Address.Big()
	if op.Type == OpTransfer {
		w.Address = 0
	}
	w.NewKey.Assign(tedwards.BN254, padKey.PublicKey.Bytes())
	if op.Type == OpRegister {
		w.NewKey.Assign(tedwards.BN254, op.PubKey[:])
	}
	sig := op.Sig
	if !op.signed() {
		var err error
		if sig, err = padKey.Sign(op.Message(t.domain), newMessageHasher()); err != nil {
			return err
		}
	}
	w.Sig.Assign(tedwards.BN254, sig)
	t.assignLeaf(&w.A, op.Account)
	if err := t.updateAccount(op); err != nil {
		return err
	}
	t.assignLeaf(&w.B, receiver(op))
	return t.updateReceiver(op)
}

func (t *Tree) assignLeaf(w *LeafWitness, i uint64) {
	a := t.Account(i)
	w.Address, w.PubX, w.PubY, w.Nonce, w.Balance = a.Address.Big(), toBig(a.PubX), toBig(a.PubY), a.Nonce, a.Balance
	for l, s := range t.Proof(i) {
		w.Path[l] = toBig(s)
	}
}
