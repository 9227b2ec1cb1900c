package l1

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// The app hash CometBFT signs is the state root of the newest block that
// carried transactions; a block without any reports its parent's app hash.
//
// Why not every block's own root: an empty block still changes state
// (EIP-2935 records its parent's hash, EIP-4788 the time), and CometBFT makes
// a "proof block" at once after every block that changed the app hash, so
// with every block's root the chain could never wait for transactions: it
// would make empty blocks as fast as consensus runs. With this rule, a block
// with transactions is followed by one proof block, and then the chain waits
// for work (or for the idle interval).
//
// Nothing is lost by it. Each Ethereum header still carries its own state
// root, and the state after an empty block is a deterministic function of the
// blocks CometBFT decided, so the next app hash a block with transactions
// reports commits to it as well: a validator whose execution diverged in an
// empty block is caught at the next block with transactions (or at once, if
// its proof block diverged). A light client reading state through CometBFT's
// headers verifies it at blocks with transactions.
//
// Each block's app hash is kept under appHashKey in the store's database;
// one lost in a crash is recomputed from the headers (appHashAt).

var (
	appHashPrefix = []byte("cairn-l1-apphash-")
	// appHashRule marks a chain whose app hashes follow this rule from its
	// genesis on. A data directory without it was made by an earlier Cairn,
	// whose app hash was every block's own root: CometBFT would refuse its
	// stored app hash at the first empty block, so it is refused here, with
	// a clear error, instead.
	appHashRule = []byte("cairn-l1-apphash-rule")
)

// ErrOldDataDir refuses a data directory written under the earlier app hash
// rule.
var ErrOldDataDir = errors.New("this L1 data directory was written by an earlier Cairn (another app hash rule): start from a fresh one")

// checkAppHashRule marks a fresh chain and refuses one made before the
// rule.
func (a *App) checkAppHashRule() error {
	db := a.store.Database()
	if ok, err := db.Has(appHashRule); err != nil || ok {
		return err
	}
	if a.store.Head().Number.Sign() != 0 {
		return ErrOldDataDir
	}
	return db.Put(appHashRule, []byte{1})
}

func appHashKey(number uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, appHashPrefix...), number)
}

// nextAppHash is the app hash of a block built on a parent whose app hash
// was parent.
func nextAppHash(parent common.Hash, block *types.Block) common.Hash {
	if len(block.Transactions()) == 0 {
		return parent
	}
	return block.Root()
}

// appHashAt returns block number's app hash: the one recorded, or, walking
// back over blocks whose record a crash lost, the root of the newest block
// with transactions (the genesis root if none).
func (a *App) appHashAt(number uint64) (common.Hash, error) {
	for n := number; ; n-- {
		if v, err := a.store.Database().Get(appHashKey(n)); err == nil && len(v) == common.HashLength {
			return common.BytesToHash(v), nil
		}
		h := a.store.GetHeaderByNumber(n)
		if h == nil {
			return common.Hash{}, fmt.Errorf("app hash at %d: no header %d", number, n)
		}
		if n == 0 || h.TxHash != types.EmptyTxsHash {
			return h.Root, nil
		}
	}
}

// recordAppHash keeps block number's app hash. It need not be synced: a
// record lost in a crash is recomputed.
func (a *App) recordAppHash(number uint64, hash common.Hash) error {
	if err := a.store.Database().Put(appHashKey(number), hash.Bytes()); err != nil {
		return fmt.Errorf("record app hash of block %d: %w", number, err)
	}
	return nil
}
