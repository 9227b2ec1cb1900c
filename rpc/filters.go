package rpc

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/rpc"
)

// filterTimeout is how long a polling filter lives without being polled, as
// in go-ethereum.
const filterTimeout = 5 * time.Minute

// maxFilters bounds the polling filters one server keeps.
const maxFilters = 10_000

// ErrFilterNotFound is returned for an unknown or expired filter ID.
var ErrFilterNotFound = errors.New("filter not found")

// pollFilter is one eth_newFilter / eth_newBlockFilter: it remembers the last
// block it reported.
type pollFilter struct {
	blocks   bool // block filter; otherwise a log filter
	crit     filters.FilterCriteria
	next     uint64 // first block not yet reported
	lastPoll time.Time
}

type filterSet struct {
	mu      sync.Mutex
	filters map[rpc.ID]*pollFilter
}

func (fs *filterSet) add(f *pollFilter) (rpc.ID, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.filters == nil {
		fs.filters = map[rpc.ID]*pollFilter{}
	}
	now := time.Now()
	for id, old := range fs.filters { // expire idle filters
		if now.Sub(old.lastPoll) > filterTimeout {
			delete(fs.filters, id)
		}
	}
	if len(fs.filters) >= maxFilters {
		return "", errors.New("too many filters installed")
	}
	f.lastPoll = now
	id := rpc.NewID()
	fs.filters[id] = f
	return id, nil
}

func (fs *filterSet) get(id rpc.ID) (*pollFilter, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.filters[id]
	if !ok || time.Since(f.lastPoll) > filterTimeout {
		delete(fs.filters, id)
		return nil, ErrFilterNotFound
	}
	f.lastPoll = time.Now()
	return f, nil
}

// NewBlockFilter installs a filter reporting new block hashes.
func (api *EthAPI) NewBlockFilter() (rpc.ID, error) {
	return api.filters.add(&pollFilter{blocks: true, next: api.b.Chain().Head().Number.Uint64() + 1})
}

// NewFilter installs a log filter; eth_getFilterChanges reports new matches.
func (api *EthAPI) NewFilter(crit filters.FilterCriteria) (rpc.ID, error) {
	if len(crit.Topics) > 4 {
		return "", invalidParams("too many topics (max 4)")
	}
	next := api.b.Chain().Head().Number.Uint64() + 1
	if crit.FromBlock != nil && crit.FromBlock.Sign() >= 0 && crit.FromBlock.IsUint64() {
		next = min(next, crit.FromBlock.Uint64())
	}
	return api.filters.add(&pollFilter{crit: crit, next: next})
}

// GetFilterChanges returns what a filter matched since it was last polled.
func (api *EthAPI) GetFilterChanges(ctx context.Context, id rpc.ID) (any, error) {
	f, err := api.filters.get(id)
	if err != nil {
		return nil, err
	}
	c := api.b.Chain()
	head := c.Head().Number.Uint64()
	api.filters.mu.Lock()
	from := f.next
	f.next = max(f.next, head+1)
	api.filters.mu.Unlock()
	if f.blocks {
		hashes := []common.Hash{}
		for n := from; n <= head; n++ {
			if h := c.GetHeaderByNumber(n); h != nil {
				hashes = append(hashes, h.Hash())
			}
		}
		return hashes, nil
	}
	if from > head {
		return []any{}, nil
	}
	crit := f.crit
	if crit.ToBlock != nil && crit.ToBlock.Sign() >= 0 && crit.ToBlock.Uint64() < from {
		return []any{}, nil
	}
	crit.FromBlock = new(big.Int).SetUint64(from)
	to := head
	if crit.ToBlock != nil && crit.ToBlock.Sign() >= 0 {
		to = min(to, crit.ToBlock.Uint64())
	}
	crit.ToBlock = new(big.Int).SetUint64(to)
	return api.GetLogs(ctx, crit)
}

// GetFilterLogs returns every log matching a log filter's criteria.
func (api *EthAPI) GetFilterLogs(ctx context.Context, id rpc.ID) (any, error) {
	f, err := api.filters.get(id)
	if err != nil {
		return nil, err
	}
	if f.blocks {
		return nil, ErrFilterNotFound
	}
	return api.GetLogs(ctx, f.crit)
}

// UninstallFilter removes a filter.
func (api *EthAPI) UninstallFilter(id rpc.ID) bool {
	api.filters.mu.Lock()
	defer api.filters.mu.Unlock()
	_, ok := api.filters.filters[id]
	delete(api.filters.filters, id)
	return ok
}
