package zkrollup

import (
	"errors"
	"fmt"
	"maps"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/ethereum/go-ethereum/common"
)

// Account is one L2 account: the L1 address that owns it (set by its first
// deposit), its BabyJubjub public key (set once by a registration the L1
// address signs; zero until then), nonce and balance (in gwei).
type Account struct {
	Address    common.Address
	PubX, PubY fr.Element
	Nonce      uint64
	Balance    uint64
}

// Empty reports whether the account was never used.
func (a *Account) Empty() bool {
	return a.Address == (common.Address{}) && !a.Registered() && a.Nonce == 0 && a.Balance == 0
}

// Registered reports whether the account has an L2 key.
func (a *Account) Registered() bool { return !a.PubX.IsZero() || !a.PubY.IsZero() }

// Hash is the account's leaf: Poseidon2 (Merkle–Damgård) of its five fields,
// the address read as a 160-bit number. The empty account hashes to zero.
func (a *Account) Hash() fr.Element {
	if a.Empty() {
		return fr.Element{}
	}
	h := poseidon2.NewMerkleDamgardHasher()
	var addr, n, b fr.Element
	addr.SetBytes(a.Address.Bytes())
	n.SetUint64(a.Nonce)
	b.SetUint64(a.Balance)
	for _, e := range []fr.Element{addr, a.PubX, a.PubY, n, b} {
		buf := e.Bytes()
		h.Write(buf[:])
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}

var compressor = poseidon2.NewPermutation(2, 6, 50)

// hash2 is the tree's node hash: Poseidon2's 2-to-1 compression.
func hash2(l, r fr.Element) fr.Element {
	lb, rb := l.Bytes(), r.Bytes()
	out, err := compressor.Compress(lb[:], rb[:])
	if err != nil {
		panic(err) // width 2 is fixed above
	}
	var e fr.Element
	e.SetBytes(out)
	return e
}

// ErrIndex is returned for an account index outside the tree.
var ErrIndex = errors.New("account index outside the tree")

// Tree is a sparse Merkle tree of accounts of a fixed depth. Absent
// subtrees hash to precomputed empty roots.
type Tree struct {
	depth    int
	nodes    []map[uint64]fr.Element // nodes[level][index]; level 0 = leaves
	empty    []fr.Element            // empty[level]: the root of an empty subtree of that height
	accounts map[uint64]Account
	domain   Domain // what its ops' signatures are bound to (see Domain)
}

// SetDomain sets the deployment the tree's ops are signed for.
func (t *Tree) SetDomain(d Domain) { t.domain = d }

// Domain is the deployment the tree's ops are signed for.
func (t *Tree) Domain() Domain { return t.domain }

// NewTree returns an empty tree of the given depth (2^depth accounts).
func NewTree(depth int) *Tree {
	t := &Tree{depth: depth, nodes: make([]map[uint64]fr.Element, depth+1), empty: make([]fr.Element, depth+1), accounts: map[uint64]Account{}}
	for i := range t.nodes {
		t.nodes[i] = map[uint64]fr.Element{}
	}
	for l := 1; l <= depth; l++ {
		t.empty[l] = hash2(t.empty[l-1], t.empty[l-1])
	}
	return t
}

// Depth returns the tree's depth.
func (t *Tree) Depth() int { return t.depth }

func (t *Tree) node(level int, i uint64) fr.Element {
	if v, ok := t.nodes[level][i]; ok {
		return v
	}
	return t.empty[level]
}

// Root returns the root hash.
func (t *Tree) Root() fr.Element { return t.node(t.depth, 0) }

// Account returns the account at index (empty if unset).
func (t *Tree) Account(i uint64) Account { return t.accounts[i] }

// Set writes the account at index and updates the path to the root.
func (t *Tree) Set(i uint64, a Account) error {
	if i >= 1<<t.depth {
		return fmt.Errorf("%w: %d", ErrIndex, i)
	}
	t.accounts[i] = a
	h := a.Hash()
	t.nodes[0][i] = h
	for l := 1; l <= t.depth; l++ {
		i >>= 1
		h = hash2(t.node(l-1, 2*i), t.node(l-1, 2*i+1))
		t.nodes[l][i] = h
	}
	return nil
}

// Proof returns the siblings of index's path, from the leaf up.
func (t *Tree) Proof(i uint64) []fr.Element {
	out := make([]fr.Element, t.depth)
	for l := 0; l < t.depth; l++ {
		out[l] = t.node(l, i^1)
		i >>= 1
	}
	return out
}

// RootFrom recomputes a root from a leaf, its index and its siblings.
func RootFrom(leaf fr.Element, i uint64, siblings []fr.Element) fr.Element {
	h := leaf
	for _, s := range siblings {
		if i&1 == 0 {
			h = hash2(h, s)
		} else {
			h = hash2(s, h)
		}
		i >>= 1
	}
	return h
}

// toBig converts a field element for gnark witnesses.
func toBig(e fr.Element) *big.Int {
	var b big.Int
	e.BigInt(&b)
	return &b
}

// Clone returns an independent copy of the tree.
func (t *Tree) Clone() *Tree {
	c := &Tree{depth: t.depth, nodes: make([]map[uint64]fr.Element, len(t.nodes)), empty: t.empty, accounts: maps.Clone(t.accounts), domain: t.domain}
	for i, m := range t.nodes {
		c.nodes[i] = maps.Clone(m)
	}
	return c
}

// GenesisTree is the rollup's first state: account 0 belongs to the
// operator, who collects the fees there; every other account is empty.
func GenesisTree(depth int, operator common.Address) *Tree {
	t := NewTree(depth)
	if err := t.Set(0, Account{Address: operator}); err != nil {
		panic(err) // index 0 is in every tree
	}
	return t
}

// Find returns the lowest-numbered account an address owns.
func (t *Tree) Find(owner common.Address) (uint64, bool) {
	found, best := false, uint64(0)
	for i, a := range t.accounts {
		if a.Address == owner && (!found || i < best) {
			found, best = true, i
		}
	}
	return best, found
}

// RootHash is the root as the L1 contract holds it.
func (t *Tree) RootHash() common.Hash { return rootBytes(t.Root()) }
