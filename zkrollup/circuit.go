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

// AmountBits bounds balances, amounts and fees (gwei) so sums cannot wrap
// the field.
const AmountBits = 64

// LeafWitness is one account leaf as the circuit sees it, with the siblings
// of its path from the leaf up.
type LeafWitness struct {
	Address, PubX, PubY, Nonce, Balance frontend.Variable
	Path                                []frontend.Variable
}

// OpWitness is one slot of a batch. A is the op's account before the op; B
// is the transfer's receiver after A's update (for other ops, account 0,
// left unchanged).
type OpWitness struct {
	Type, Account, To, Amount, Fee, Nonce, Address frontend.Variable
	// NewKey is the key a registration sets (the pad key for other ops).
	NewKey eddsa.PublicKey
	// Sig is the L2 signature of a transfer or withdrawal over the op's
	// message; for other ops, the public pad key's signature of it.
	Sig  eddsa.Signature
	A, B LeafWitness
}

// BatchCircuit proves that applying Ops in order to the tree with root
// OldRoot, then paying their fees to FeeAccount, gives NewRoot, with every
// op valid: signatures, nonces, balances, ownership. PubDataHash commits to
// the fee account and each op's public fields (see PubDataHash).
type BatchCircuit struct {
	OldRoot     frontend.Variable `gnark:",public"`
	NewRoot     frontend.Variable `gnark:",public"`
	PubDataHash frontend.Variable `gnark:",public"`
	// Domain is the deployment's Domain element. It is private, but the
	// public data hash starts with it, so the contract, which hashes its
	// own, fixes it: signatures for another deployment do not verify.
	Domain     frontend.Variable
	Ops        []OpWitness
	FeeAccount frontend.Variable
	FeeLeaf    LeafWitness
}

func newLeafWitness(depth int) LeafWitness {
	return LeafWitness{Path: make([]frontend.Variable, depth)}
}

// NewBatchCircuit returns an empty circuit of n slots over a tree of depth.
func NewBatchCircuit(n, depth int) *BatchCircuit {
	c := &BatchCircuit{Ops: make([]OpWitness, n), FeeLeaf: newLeafWitness(depth)}
	for i := range c.Ops {
		c.Ops[i].A, c.Ops[i].B = newLeafWitness(depth), newLeafWitness(depth)
	}
	return c
}

// gadgets holds what the constraints of every slot share.
type gadgets struct {
	api   frontend.API
	curve twistededwards.Curve
	perm  *poseidon2.Permutation
}

func (g *gadgets) hasher() hash.FieldHasher { return hash.NewMerkleDamgardHasher(g.api, g.perm, 0) }

// leaf is the account's leaf hash (zero for the empty account) and
// whether the account is empty.
func (g *gadgets) leaf(address, x, y, nonce, balance frontend.Variable) (hash, empty frontend.Variable) {
	h := g.hasher()
	h.Write(address, x, y, nonce, balance)
	empty = g.empty(address, x, y, nonce, balance)
	return g.api.Select(empty, 0, h.Sum()), empty
}

// leafOf is leaf of a witnessed leaf.
func (g *gadgets) leafOf(l *LeafWitness) (hash, empty frontend.Variable) {
	return g.leaf(l.Address, l.PubX, l.PubY, l.Nonce, l.Balance)
}

func (g *gadgets) empty(vs ...frontend.Variable) frontend.Variable {
	out := frontend.Variable(1)
	for _, v := range vs {
		out = g.api.And(out, g.api.IsZero(v))
	}
	return out
}

// update asserts that the leaf before sits at index under root (siblings
// path) and returns the root with the leaf after in its place.
func (g *gadgets) update(root, index frontend.Variable, path []frontend.Variable, before, after frontend.Variable) frontend.Variable {
	bits := g.api.ToBinary(index, len(path))
	g.api.AssertIsEqual(g.climb(before, bits, path), root)
	return g.climb(after, bits, path)
}

// climb recomputes the root from a leaf, its index's bits and its path.
func (g *gadgets) climb(leafHash frontend.Variable, bits, path []frontend.Variable) frontend.Variable {
	api := g.api
	cur := leafHash
	for l, sib := range path {
		left := api.Select(bits[l], sib, cur)
		right := api.Select(bits[l], cur, sib)
		cur = g.perm.Compress(left, right)
	}
	return cur
}

// when asserts that v is zero wherever cond (0 or 1) is one.
func (g *gadgets) when(cond, v frontend.Variable) { g.api.AssertIsEqual(g.api.Mul(cond, v), 0) }

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
	g := &gadgets{api: api, curve: curve, perm: perm}
	pad := padPublic()
	pub := g.hasher()
	pub.Write(c.Domain)
	pub.Write(c.FeeAccount)
	root := c.OldRoot
	fees := frontend.Variable(0)
	for i := range c.Ops {
		var e [4]frontend.Variable
		var err error
		root, e, err = g.slot(&c.Ops[i], root, pad, c.Domain)
		if err != nil {
			return err
		}
		fees = api.Add(fees, c.Ops[i].Fee)
		pub.Write(e[:]...)
	}

	// The batch's fees go to the fee account.
	f := &c.FeeLeaf
	credited := api.Add(f.Balance, fees)
	api.ToBinary(credited, AmountBits)
	before, _ := g.leafOf(f)
	after, _ := g.leaf(f.Address, f.PubX, f.PubY, f.Nonce, credited)
	root = g.update(root, c.FeeAccount, f.Path, before, after)

	api.AssertIsEqual(root, c.NewRoot)
	api.AssertIsEqual(pub.Sum(), c.PubDataHash)
	return nil
}

// slot constrains one op applied to root and returns the next root and the
// op's four public-data elements.
func (g *gadgets) slot(op *OpWitness, root frontend.Variable, pad twistededwards.Point, domain frontend.Variable) (frontend.Variable, [4]frontend.Variable, error) {
	api := g.api
	is := func(t OpType) frontend.Variable { return api.IsZero(api.Sub(op.Type, uint64(t))) }
	isNoop, isT, isD, isW, isR, isX := is(OpNoop), is(OpTransfer), is(OpDeposit), is(OpWithdraw), is(OpRegister), is(OpFullExit)
	api.AssertIsEqual(api.Add(isNoop, isT, isD, isW, isR, isX), 1)
	signed := api.Add(isT, isW)
	a := &op.A
	aBefore, emptyA := g.leafOf(a)

	// Transfers and withdrawals are signed by the account's key; other ops
	// carry the public pad key's signature, their authority being L1's.
	msg := g.hasher()
	msg.Write(domain, op.Type, op.Account, op.To, op.Amount, op.Fee, op.Nonce)
	key := eddsa.PublicKey{A: twistededwards.Point{X: api.Select(signed, a.PubX, pad.X), Y: api.Select(signed, a.PubY, pad.Y)}}
	g.curve.AssertIsOnCurve(key.A) // an unregistered account's (0, 0) is not
	if err := eddsa.Verify(g.curve, op.Sig, msg.Sum(), key, g.hasher()); err != nil {
		return nil, [4]frontend.Variable{}, err
	}
	g.when(signed, api.Sub(op.Nonce, a.Nonce))
	g.when(api.Sub(1, signed), op.Fee) // only signed ops pay fees
	api.ToBinary(op.Amount, AmountBits)
	api.ToBinary(op.Fee, AmountBits)

	// Per type.
	g.when(isT, api.IsZero(api.Sub(op.Account, op.To)))                      // no self-transfer
	g.when(isT, api.IsZero(op.B.Address))                                    // to an existing account
	g.when(api.Sub(1, isT), op.To)                                           // other ops name no receiver
	g.when(isD, api.IsZero(op.Address))                                      // deposits name an owner
	g.when(api.Mul(isD, api.Sub(1, emptyA)), api.Sub(op.Address, a.Address)) // and credit its account or a new one
	g.when(api.Add(isW, isR), api.Sub(op.Address, a.Address))                // withdrawals pay, registrations are signed by, the owner
	g.when(isR, api.IsZero(a.Address))
	g.when(isR, api.Sub(1, g.empty(a.PubX, a.PubY))) // a key is set once
	newKey := twistededwards.Point{X: api.Select(isR, op.NewKey.A.X, pad.X), Y: api.Select(isR, op.NewKey.A.Y, pad.Y)}
	g.curve.AssertIsOnCurve(newKey)
	owner := api.IsZero(api.Sub(op.Address, a.Address))
	g.when(isX, api.Sub(op.Amount, api.Mul(owner, a.Balance))) // a full exit takes all, if the address owns the account

	// The account's update, its leaf checked against the current root; a
	// balance that would go negative wraps and fails the range check.
	address := api.Add(a.Address, api.Mul(api.Mul(isD, emptyA), api.Sub(op.Address, a.Address)))
	x, y := api.Select(isR, newKey.X, a.PubX), api.Select(isR, newKey.Y, a.PubY)
	nonce := api.Add(a.Nonce, signed)
	balance := api.Sub(api.Add(a.Balance, api.Mul(isD, op.Amount)), api.Mul(signed, api.Add(op.Amount, op.Fee)), api.Mul(isX, op.Amount))
	api.ToBinary(balance, AmountBits)
	aAfter, _ := g.leaf(address, x, y, nonce, balance)
	mid := g.update(root, op.Account, a.Path, aBefore, aAfter)

	// The receiver (a transfer's; otherwise unchanged), in the intermediate root.
	b := &op.B
	credited := api.Add(b.Balance, api.Mul(isT, op.Amount))
	api.ToBinary(credited, AmountBits)
	bBefore, _ := g.leafOf(b)
	bAfter, _ := g.leaf(b.Address, b.PubX, b.PubY, b.Nonce, credited)
	next := g.update(mid, op.To, b.Path, bBefore, bAfter)

	// Public data: zero for padding.
	live := api.Sub(1, isNoop)
	head := api.Add(api.Mul(op.Type, pow2(192)), api.Mul(op.Account, pow2(160)), api.Mul(op.To, pow2(128)), api.Mul(op.Amount, pow2(64)), op.Fee)
	e := [4]frontend.Variable{
		api.Mul(live, head),
		api.Mul(api.Add(isD, isW, isR, isX), op.Address),
		api.Mul(isR, newKey.X),
		api.Mul(isR, newKey.Y),
	}
	return next, e, nil
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
