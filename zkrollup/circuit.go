package zkrollup

import (
	"math/big"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"
)

// AmountBits bounds balances and amounts (gwei) so sums cannot wrap the field.
const AmountBits = 64

// TransferWitness is one slot of a batch: a signed transfer, or padding
// (Noop = 1) that leaves the tree unchanged.
type TransferWitness struct {
	Noop   frontend.Variable
	From   frontend.Variable // sender's account index
	To     frontend.Variable // receiver's account index
	Amount frontend.Variable
	Nonce  frontend.Variable
	// The amount's public-data packing: Amount = Mantissa · 10^Exponent.
	Mantissa, Exponent frontend.Variable
	Sig                eddsa.Signature
	PubKey             eddsa.PublicKey // the sender's key

	FromNonce, FromBalance frontend.Variable
	FromPath               []frontend.Variable // siblings of the sender's leaf in the root before this slot

	ToPubX, ToPubY, ToNonce, ToBalance frontend.Variable
	ToPath                             []frontend.Variable // siblings of the receiver's leaf after the sender's update
}

// BatchCircuit proves that applying Txs in order to the tree with root
// OldRoot gives NewRoot, every transfer signed by its sender's key, with the
// sender's nonce and enough balance.
type BatchCircuit struct {
	OldRoot     frontend.Variable `gnark:",public"`
	NewRoot     frontend.Variable `gnark:",public"`
	PubDataHash frontend.Variable `gnark:",public"` // see PubDataHash
	Txs         []TransferWitness
}

// NewBatchCircuit returns an empty circuit of n slots over a tree of depth.
func NewBatchCircuit(n, depth int) *BatchCircuit {
	c := &BatchCircuit{Txs: make([]TransferWitness, n)}
	for i := range c.Txs {
		c.Txs[i].FromPath = make([]frontend.Variable, depth)
		c.Txs[i].ToPath = make([]frontend.Variable, depth)
	}
	return c
}

// Define implements frontend.Circuit.
func (c *BatchCircuit) Define(api frontend.API) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	perm, err := poseidon2.NewPoseidon2FromParameters(api, 2, 6, 50)
	if err != nil {
		return err
	}
	newHasher := func() hash.FieldHasher { return hash.NewMerkleDamgardHasher(api, perm, 0) }
	leaf := func(x, y, nonce, balance frontend.Variable) frontend.Variable {
		h := newHasher()
		h.Write(x, y, nonce, balance)
		sum := h.Sum()
		// The empty account's leaf is zero.
		empty := api.And(api.And(api.IsZero(x), api.IsZero(y)), api.And(api.IsZero(nonce), api.IsZero(balance)))
		return api.Select(empty, 0, sum)
	}
	rootOf := func(leafHash, index frontend.Variable, path []frontend.Variable) frontend.Variable {
		bits := api.ToBinary(index, len(path))
		cur := leafHash
		for l, sib := range path {
			left := api.Select(bits[l], sib, cur)
			right := api.Select(bits[l], cur, sib)
			cur = perm.Compress(left, right)
		}
		return cur
	}
	pub := newHasher()
	root := c.OldRoot
	for i := range c.Txs {
		tx := &c.Txs[i]
		live := api.Sub(1, tx.Noop)
		api.AssertIsBoolean(tx.Noop)

		// The sender's leaf is in the current root.
		fromLeaf := leaf(tx.PubKey.A.X, tx.PubKey.A.Y, tx.FromNonce, tx.FromBalance)
		api.AssertIsEqual(api.Mul(live, api.Sub(rootOf(fromLeaf, tx.From, tx.FromPath), root)), 0)

		// Signed by the sender over (from, to, amount, nonce).
		mh := newHasher()
		mh.Write(tx.From, tx.To, tx.Amount, tx.Nonce)
		msg := mh.Sum()
		if err := eddsa.Verify(curve, tx.Sig, msg, tx.PubKey, newHasher()); err != nil {
			return err
		}

		// Nonce and balance; amounts are range-checked so nothing wraps.
		api.AssertIsEqual(api.Mul(live, api.Sub(tx.Nonce, tx.FromNonce)), 0)
		api.ToBinary(tx.Amount, AmountBits)
		api.ToBinary(tx.FromBalance, AmountBits)
		api.ToBinary(tx.ToBalance, AmountBits)
		remaining := api.Sub(tx.FromBalance, api.Mul(live, tx.Amount))
		api.ToBinary(remaining, AmountBits) // no overdraft: would wrap to a huge value
		api.AssertIsEqual(api.Mul(live, api.IsZero(api.Sub(tx.From, tx.To))), 0)

		// The sender's update.
		fromNew := leaf(tx.PubKey.A.X, tx.PubKey.A.Y, api.Add(tx.FromNonce, 1), remaining)
		mid := rootOf(fromNew, tx.From, tx.FromPath)

		// The receiver's leaf is in the intermediate root, then credited.
		toLeaf := leaf(tx.ToPubX, tx.ToPubY, tx.ToNonce, tx.ToBalance)
		api.AssertIsEqual(api.Mul(live, api.Sub(rootOf(toLeaf, tx.To, tx.ToPath), mid)), 0)
		credited := api.Add(tx.ToBalance, tx.Amount)
		api.ToBinary(credited, AmountBits)
		toNew := leaf(tx.ToPubX, tx.ToPubY, tx.ToNonce, credited)
		next := rootOf(toNew, tx.To, tx.ToPath)

		root = api.Select(tx.Noop, root, next)

		// Public data: from·2^72 + to·2^40 + mantissa·2^5 + exponent, zero
		// for padding; the amount must be exactly its packing.
		api.ToBinary(tx.Mantissa, mantissaBits)
		expBits := api.ToBinary(tx.Exponent, exponentBits)
		pow := frontend.Variable(1)
		p10 := big.NewInt(10)
		for _, bit := range expBits {
			pow = api.Mul(pow, api.Select(bit, new(big.Int).Set(p10), 1))
			p10.Mul(p10, p10)
		}
		api.AssertIsEqual(api.Mul(live, api.Sub(tx.Amount, api.Mul(tx.Mantissa, pow))), 0)
		rec := api.Add(api.Mul(tx.From, new(big.Int).Lsh(big.NewInt(1), 72)), api.Mul(tx.To, new(big.Int).Lsh(big.NewInt(1), 40)),
			api.Mul(tx.Mantissa, 1<<exponentBits), tx.Exponent)
		pub.Write(api.Mul(live, rec))
	}
	api.AssertIsEqual(root, c.NewRoot)
	api.AssertIsEqual(pub.Sum(), c.PubDataHash)
	return nil
}
