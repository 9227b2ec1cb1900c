package zkrollup

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
)

// Transfer is a signed L2 transfer between two accounts.
type Transfer struct {
	From, To uint64
	Amount   uint64 // gwei
	Nonce    uint64
	Sig      []byte // BabyJubjub EdDSA over TransferMessage
}

// TransferMessage is what a transfer's sender signs: Poseidon2 of (from,
// to, amount, nonce), as 32 bytes.
func TransferMessage(from, to, amount, nonce uint64) []byte {
	h := poseidon2.NewMerkleDamgardHasher()
	for _, v := range []uint64{from, to, amount, nonce} {
		var e fr.Element
		e.SetUint64(v)
		b := e.Bytes()
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// SignTransfer signs a transfer with an L2 key.
func SignTransfer(key *eddsa.PrivateKey, t *Transfer) error {
	sig, err := key.Sign(TransferMessage(t.From, t.To, t.Amount, t.Nonce), poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return err
	}
	t.Sig = sig
	return nil
}

// Sentinel errors of native execution.
var (
	ErrBadSignature = errors.New("bad transfer signature")
	ErrNonce        = errors.New("wrong nonce")
	ErrOverdraft    = errors.New("insufficient balance")
	ErrSelfTransfer = errors.New("transfer to self")
)

// Apply checks a transfer against the tree and applies it, as the operator
// does before it ever reaches the prover.
func (t *Tree) Apply(tr *Transfer) error {
	if tr.From >= 1<<t.depth || tr.To >= 1<<t.depth {
		return ErrIndex
	}
	if tr.From == tr.To {
		return ErrSelfTransfer
	}
	from := t.Account(tr.From)
	var pub eddsa.PublicKey
	pub.A.X, pub.A.Y = from.PubX, from.PubY
	ok, err := pub.Verify(tr.Sig, TransferMessage(tr.From, tr.To, tr.Amount, tr.Nonce), poseidon2.NewMerkleDamgardHasher())
	if err != nil || !ok {
		return ErrBadSignature
	}
	if tr.Nonce != from.Nonce {
		return fmt.Errorf("%w: account %d expects %d, got %d", ErrNonce, tr.From, from.Nonce, tr.Nonce)
	}
	if tr.Amount > from.Balance {
		return fmt.Errorf("%w: account %d has %d, sends %d", ErrOverdraft, tr.From, from.Balance, tr.Amount)
	}
	to := t.Account(tr.To)
	from.Nonce++
	from.Balance -= tr.Amount
	to.Balance += tr.Amount
	if err := t.Set(tr.From, from); err != nil {
		return err
	}
	return t.Set(tr.To, to)
}

// Assign builds the circuit assignment for txs on tree, padded to n slots
// with pad (a valid signature by padKey over an arbitrary message), and
// applies them to the tree. It does not check the transfers: that is the
// circuit's job, so a bad transfer makes proving fail.
func (t *Tree) Assign(txs []Transfer, n int, padKey *eddsa.PrivateKey) (*BatchCircuit, error) {
	if len(txs) > n {
		return nil, fmt.Errorf("%d transfers for %d slots", len(txs), n)
	}
	c := NewBatchCircuit(n, t.depth)
	c.OldRoot = toBig(t.Root())
	for i := range c.Txs {
		w := &c.Txs[i]
		if i >= len(txs) {
			pad := Transfer{}
			if err := SignTransfer(padKey, &pad); err != nil {
				return nil, err
			}
			w.Noop, w.From, w.To, w.Amount, w.Nonce, w.Mantissa, w.Exponent = 1, 0, 0, 0, 0, 0, 0
			w.Sig.Assign(tedwards.BN254, pad.Sig)
			w.PubKey.Assign(tedwards.BN254, padKey.Public().Bytes())
			w.FromNonce, w.FromBalance = 0, 0
			w.ToPubX, w.ToPubY, w.ToNonce, w.ToBalance = 0, 0, 0, 0
			for l := range t.depth {
				w.FromPath[l], w.ToPath[l] = 0, 0
			}
			continue
		}
		tr := txs[i]
		from, to := t.Account(tr.From), t.Account(tr.To)
		w.Noop, w.From, w.To, w.Amount, w.Nonce = 0, tr.From, tr.To, tr.Amount, tr.Nonce
		packed, err := PackAmount(tr.Amount)
		if err != nil {
			return nil, err
		}
		w.Mantissa, w.Exponent = packed>>exponentBits, packed&(1<<exponentBits-1)
		w.Sig.Assign(tedwards.BN254, tr.Sig)
		w.PubKey.A.X, w.PubKey.A.Y = toBig(from.PubX), toBig(from.PubY)
		w.FromNonce, w.FromBalance = from.Nonce, from.Balance
		for l, s := range t.Proof(tr.From) {
			w.FromPath[l] = toBig(s)
		}
		// The sender's update, as the circuit computes it (unchecked).
		fromNew := from
		fromNew.Nonce++
		fromNew.Balance -= tr.Amount
		if err := t.Set(tr.From, fromNew); err != nil {
			return nil, err
		}
		w.ToPubX, w.ToPubY, w.ToNonce, w.ToBalance = toBig(to.PubX), toBig(to.PubY), to.Nonce, to.Balance
		for l, s := range t.Proof(tr.To) {
			w.ToPath[l] = toBig(s)
		}
		to.Balance += tr.Amount
		if err := t.Set(tr.To, to); err != nil {
			return nil, err
		}
	}
	c.NewRoot = toBig(t.Root())
	data, err := EncodeTransfers(txs)
	if err != nil {
		return nil, err
	}
	h, err := PubDataHash(data, n)
	if err != nil {
		return nil, err
	}
	c.PubDataHash = toBig(h)
	return c, nil
}
