package rolluptest

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/cairn-dev/cairn/rollup"
)

// ForgedOutput is what a dishonest proposer needs to steal through a false
// output: a message-passer storage trie holding only its own withdrawal,
// the output root that commits to it, and the storage proof the portal
// accepts against that root. It exists for the lab's invalid-output attack
// and its tests: the portal must pay it only if no one challenges in time.
type ForgedOutput struct {
	Root              common.Hash
	MessagePasserRoot common.Hash
	StateRoot         common.Hash
	BlockHash         common.Hash
	Position          rollup.Position
	Proof             [][]byte
}

// ForgeOutput returns an output at real L2 block o whose message passer
// holds only withdrawal w.
func ForgeOutput(o *rollup.Output, w *rollup.Withdrawal) *ForgedOutput {
	tr := trie.NewEmpty(triedb.NewDatabase(rawdb.NewMemoryDatabase(), nil))
	slot := w.StorageSlot()
	key := crypto.Keccak256(slot[:])
	if err := tr.Update(key, []byte{0x01}); err != nil {
		panic(err) // an in-memory trie does not fail
	}
	root := tr.Hash()
	db := memorydb.New()
	if err := tr.Prove(key, db); err != nil {
		panic(err)
	}
	var proof [][]byte
	it := db.NewIterator(nil, nil)
	for it.Next() {
		proof = append(proof, common.CopyBytes(it.Value()))
	}
	it.Release()
	return &ForgedOutput{
		Root:              rollup.OutputRoot(o.StateRoot, root, o.BlockHash, o.Position),
		MessagePasserRoot: root,
		StateRoot:         o.StateRoot,
		BlockHash:         o.BlockHash,
		Position:          o.Position,
		Proof:             proof,
	}
}
