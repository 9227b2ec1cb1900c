package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/da"
)

// L1Client is what rollup nodes need of an L1 node. go-ethereum's
// ethclient.Client implements it, so a rollup node reads its L1 over
// JSON-RPC, in the same process or on another machine.
type L1Client interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	BlockByNumber(ctx context.Context, number *big.Int) (*types.Block, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
}

// ErrL1NotReady is returned when an L1 block asked for does not exist yet.
var ErrL1NotReady = errors.New("L1 block not available yet")

// L1Reader reads the L1 blocks, headers and portal queue a rollup node needs,
// keeping recent headers in a small cache.
type L1Reader struct {
	client  L1Client
	chainID uint64 // L2 chain ID, for decoding forced transactions
	log     *slog.Logger

	blobs BlobSource // nil: no blobs can be read

	mu      sync.Mutex
	headers map[uint64]*types.Header
}

const headerCacheSize = 4096

// NewL1Reader returns a reader over client.
func NewL1Reader(client L1Client, l2ChainID uint64, log *slog.Logger) *L1Reader {
	if log == nil {
		log = slog.Default()
	}
	return &L1Reader{client: client, chainID: l2ChainID, log: log, headers: map[uint64]*types.Header{}}
}

// WithBlobs makes the reader read blobs from src and returns it.
func (r *L1Reader) WithBlobs(src BlobSource) *L1Reader {
	r.blobs = src
	return r
}

// Blobs returns the blobs of versioned hashes that L1 block number
// carries, each checked against its hash.
func (r *L1Reader) Blobs(ctx context.Context, number uint64, hashes []common.Hash) ([]*da.BlobSidecar, error) {
	if r.blobs == nil {
		return nil, ErrNoBlobSource
	}
	return r.blobs.Blobs(ctx, number, hashes)
}

// Head returns the newest L1 header.
func (r *L1Reader) Head(ctx context.Context) (*types.Header, error) {
	h, err := r.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("L1 head: %w", err)
	}
	r.remember(h)
	return h, nil
}

// Finalized returns the newest finalized L1 header.
func (r *L1Reader) Finalized(ctx context.Context) (*types.Header, error) {
	h, err := r.client.HeaderByNumber(ctx, big.NewInt(int64(rpc.FinalizedBlockNumber)))
	if err != nil {
		return nil, fmt.Errorf("L1 finalized head: %w", err)
	}
	return h, nil
}

// Header returns the L1 header at number.
func (r *L1Reader) Header(ctx context.Context, number uint64) (*types.Header, error) {
	r.mu.Lock()
	h := r.headers[number]
	r.mu.Unlock()
	if h != nil {
		return h, nil
	}
	h, err := r.client.HeaderByNumber(ctx, new(big.Int).SetUint64(number))
	if errors.Is(err, ethereum.NotFound) {
		return nil, fmt.Errorf("%w: %d", ErrL1NotReady, number)
	}
	if err != nil {
		return nil, fmt.Errorf("L1 header %d: %w", number, err)
	}
	r.remember(h)
	return h, nil
}

func (r *L1Reader) remember(h *types.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) >= headerCacheSize {
		// Drop the oldest half; readers move forward.
		nums := make([]uint64, 0, len(r.headers))
		for n := range r.headers {
			nums = append(nums, n)
		}
		sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
		for _, n := range nums[:len(nums)/2] {
			delete(r.headers, n)
		}
	}
	r.headers[h.Number.Uint64()] = h
}

// Block returns the L1 block at number with its transactions.
func (r *L1Reader) Block(ctx context.Context, number uint64) (*types.Block, error) {
	b, err := r.client.BlockByNumber(ctx, new(big.Int).SetUint64(number))
	if errors.Is(err, ethereum.NotFound) {
		return nil, fmt.Errorf("%w: %d", ErrL1NotReady, number)
	}
	if err != nil {
		return nil, fmt.Errorf("L1 block %d: %w", number, err)
	}
	r.remember(b.Header())
	return b, nil
}

// queueChunk is the most L1 blocks one eth_getLogs call covers, well under
// the range limits of L1 nodes.
const queueChunk = 10_000

// Queue returns the portal's deposits and forced transactions of L1 blocks
// from+1 through to, in L1 order. Logs that do not decode are skipped (the
// portal never emits them).
func (r *L1Reader) Queue(ctx context.Context, from, to uint64) ([]QueueItem, error) {
	logs, err := r.queueLogs(ctx, from, to)
	if err != nil {
		return nil, err
	}
	items := make([]QueueItem, 0, len(logs))
	for i := range logs {
		item, err := ParseQueueLog(&logs[i], r.chainID)
		if err != nil {
			r.log.Warn("Skipping portal log", "block", logs[i].BlockNumber, "err", err)
			continue
		}
		items = append(items, *item)
	}
	return items, nil
}

// queueLogs returns the portal's logs of L1 blocks (from, to] in queue
// order.
func (r *L1Reader) queueLogs(ctx context.Context, from, to uint64) ([]types.Log, error) {
	var logs []types.Log
	for lo := from + 1; lo <= to; lo += queueChunk {
		hi := min(to, lo+queueChunk-1)
		part, err := r.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(lo),
			ToBlock:   new(big.Int).SetUint64(hi),
			Addresses: []common.Address{PortalAddress},
		})
		if err != nil {
			return nil, fmt.Errorf("portal logs of L1 blocks %d-%d: %w", lo, hi, err)
		}
		logs = append(logs, part...)
	}
	kept := logs[:0]
	for _, l := range logs {
		// Only queue events: the portal also logs withdrawals.
		if !l.Removed && len(l.Topics) > 0 && (l.Topics[0] == depositedTopic || l.Topics[0] == forcedTopic) {
			kept = append(kept, l)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		return kept[i].Topics[len(kept[i].Topics)-1].Big().Cmp(kept[j].Topics[len(kept[j].Topics)-1].Big()) < 0
	})
	return kept, nil
}

func nilContext() context.Context { return context.Background() }
