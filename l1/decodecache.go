package l1

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/types"
)

// decodeCacheBytes bounds the raw bytes of the transactions whose decoding
// the application keeps: by count alone, 65,536 transactions of 128 KiB
// were 8 GiB.
const decodeCacheBytes = 64 * 1024 * 1024

// decodeCache keeps decoded transactions (sender recovered) by hash, least
// recently used first out, within a byte budget. Only transactions that
// passed CheckTx go in, so garbage never takes the room of real ones.
type decodeCache struct {
	mu    sync.Mutex
	lru   *lru.BasicLRU[common.Hash, cachedTx]
	bytes int
	max   int
}

type cachedTx struct {
	d    *decodedTx
	size int
}

func newDecodeCache(maxBytes int) *decodeCache {
	c := lru.NewBasicLRU[common.Hash, cachedTx](1 << 20)
	return &decodeCache{lru: &c, max: maxBytes}
}

func (c *decodeCache) get(h common.Hash) (*decodedTx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(h)
	return e.d, ok
}

func (c *decodeCache) add(h common.Hash, d *decodedTx, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max || c.lru.Contains(h) {
		return
	}
	for c.bytes+size > c.max {
		_, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		c.bytes -= old.size
	}
	if _, old, evicted := c.lru.Add3(h, cachedTx{d: d, size: size}); evicted {
		c.bytes -= old.size
	}
	c.bytes += size
}

func (c *decodeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// senderCacheSize bounds the process-wide sender cache: 256 Ki entries of
// 72 bytes each before the LRU's own overhead.
const senderCacheSize = 1 << 18

// senders is a cache of a pure function shared by every node in this
// process: the sender recovered from a transaction's bytes under a chain ID.
// A devnet runs its validators in one process, where each would otherwise
// recover every transaction's sender again as it arrives by gossip (4
// validators: four secp256k1 recoveries per transaction, the largest cost of
// the L1's intake). A node that finds the sender here has exactly what its
// own recovery would return, since the key is the transaction's hash (keccak
// of its bytes, signature included) and the chain ID; nodes in separate
// processes share nothing. Only senders of transactions some node accepted
// go in, so garbage cannot churn it.
var senders = lru.NewCache[senderKey, common.Address](senderCacheSize)

type senderKey struct {
	hash    common.Hash
	chainID uint64
}

// knownSender is the chain's signer answering Sender with a sender already
// recovered. types.Sender records what a signer returns in the transaction,
// for every later call with an equal signer, so go-ethereum's checks that
// ask for the sender again do not recover it either.
type knownSender struct {
	types.Signer
	from common.Address
}

func (s knownSender) Sender(*types.Transaction) (common.Address, error) { return s.from, nil }
