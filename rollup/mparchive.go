package rollup

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb/database"

	"github.com/cairn-dev/cairn/chain"
)

// The message passer archive. A withdrawal is proven on L1 by a storage
// proof against the message passer's storage root in an output, and an
// output may be 7 days old (or, with blocks made on demand, thousands of
// blocks) when a user proves, while the node's path-scheme state serves
// only the last 128 blocks. So every node also keeps the message passer's
// storage trie in a hash-keyed archive of its own: nodes are stored by hash
// and never deleted, so the trie of every block's storage root stays
// readable. Only withdrawals write to the message passer (two slots each:
// sentMessages[hash] and messageNonce), so the archive grows by a few trie
// nodes per withdrawal and not at all for other blocks.

var mpArchivePrefix = []byte("cairn-rollup-mp-")

// ErrNoArchivedProof is returned when the archive does not hold the message
// passer's trie at a block (a chain written before the archive existed).
var ErrNoArchivedProof = errors.New("message passer storage at this block is not archived")

// mpArchive reads and writes archived trie nodes by hash.
type mpArchive struct{ db ethdb.Database }

func newMPArchive(db ethdb.Database) mpArchive {
	return mpArchive{rawdb.NewTable(db, string(mpArchivePrefix))}
}

// NodeReader implements database.NodeDatabase: one reader serves every root.
func (a mpArchive) NodeReader(common.Hash) (database.NodeReader, error) { return a, nil }

// Node implements database.NodeReader.
func (a mpArchive) Node(_ common.Hash, _ []byte, hash common.Hash) ([]byte, error) {
	blob, err := a.db.Get(hash[:])
	if err != nil {
		return nil, nil // missing: the trie reports which node
	}
	return blob, nil
}

// withdrawalSlots are the message passer slots a block's withdrawals set
// (sentMessages of each), from its logs, deposits' included: only
// withdrawals write to the message passer.
func withdrawalSlots(res *chain.Result) []common.Hash {
	var slots []common.Hash
	for _, l := range res.Logs() {
		if wd, err := ParseWithdrawal(l); err == nil {
			slots = append(slots, wd.StorageSlot())
		}
	}
	return slots
}

// update writes to w (the node's database, unprefixed) the trie nodes of
// the message passer's storage after a block, from its parent's storage root
// and the slots its withdrawals set (withdrawalSlots, not empty) read from
// st, the block's post-state, and returns the new root.
func (a mpArchive) update(w ethdb.KeyValueWriter, parentRoot common.Hash, slots []common.Hash, st interface {
	GetState(common.Address, common.Hash) common.Hash
}) (common.Hash, error) {
	slots = append(slots, messageNonceSlot)
	tr, err := trie.New(trie.TrieID(parentRoot), a)
	if err != nil {
		return common.Hash{}, fmt.Errorf("%w: parent root %s: %w", ErrNoArchivedProof, parentRoot, err)
	}
	for _, slot := range slots {
		v := st.GetState(MessagePasserAddress, slot)
		enc, _ := rlp.EncodeToBytes(common.TrimLeftZeroes(v[:]))
		if err := tr.Update(crypto.Keccak256(slot[:]), enc); err != nil {
			return common.Hash{}, err
		}
	}
	root, nodes := tr.Commit(false)
	if nodes != nil {
		for _, n := range nodes.Nodes {
			if len(n.Blob) > 0 {
				if err := w.Put(append(append([]byte{}, mpArchivePrefix...), n.Hash[:]...), n.Blob); err != nil {
					return common.Hash{}, err
				}
			}
		}
	}
	return root, nil
}

// prove returns the storage proof of slot in the message passer's trie of
// root, root first, as eth_getProof gives it.
func (a mpArchive) prove(root, slot common.Hash) ([][]byte, error) {
	tr, err := trie.New(trie.TrieID(root), a)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoArchivedProof, err)
	}
	var p proofList
	if err := tr.Prove(crypto.Keccak256(slot[:]), &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoArchivedProof, err)
	}
	return p, nil
}

// proofList collects proof nodes in the order Prove writes them.
type proofList [][]byte

func (p *proofList) Put(_ []byte, value []byte) error {
	*p = append(*p, common.CopyBytes(value))
	return nil
}

func (p *proofList) Delete([]byte) error { return errors.New("proofList: delete") }

// MessagePasserProof is the storage proof of slot in the message passer's
// storage at L2 block number, from the archive: what proveWithdrawal needs,
// for any block the node holds, however old.
func MessagePasserProof(store *chain.Store, number uint64, slot common.Hash) (root common.Hash, proof [][]byte, err error) {
	h := store.GetHeaderByNumber(number)
	if h == nil {
		return common.Hash{}, nil, fmt.Errorf("no L2 block %d", number)
	}
	if root, err = messagePasserRoot(store, number, h.Hash()); err != nil {
		return common.Hash{}, nil, err
	}
	proof, err = newMPArchive(store.Database()).prove(root, slot)
	return root, proof, err
}
