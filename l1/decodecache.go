package l1

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
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
