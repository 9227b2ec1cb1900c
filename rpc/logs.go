package rpc

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/rpc"
)

// GetLogs returns the logs matching a filter, scanning each block's bloom
// before reading its receipts.
func (api *EthAPI) GetLogs(ctx context.Context, crit filters.FilterCriteria) ([]*types.Log, error) {
	c := api.b.Chain()
	if len(crit.Topics) > 4 {
		return nil, invalidParams("too many topics (max 4)")
	}
	if crit.BlockHash != nil {
		if crit.FromBlock != nil || crit.ToBlock != nil {
			return nil, invalidParams("can't specify fromBlock/toBlock with blockHash")
		}
		h := c.GetHeaderByHash(*crit.BlockHash)
		if h == nil {
			return nil, ErrBlockNotFound
		}
		return api.blockLogs(h, crit, nil)
	}
	head := c.Head().Number.Uint64()
	from, err := blockArg(crit.FromBlock, head)
	if err != nil {
		return nil, err
	}
	to, err := blockArg(crit.ToBlock, head)
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, invalidParams("invalid block range params")
	}
	if to > head {
		to = head
	}
	if to-from >= api.limits.LogBlockRange {
		return nil, &rpcError{code: codeServerError, msg: fmt.Sprintf("%v: %d blocks, limit %d", ErrRangeTooLarge, to-from+1, api.limits.LogBlockRange)}
	}
	out := []*types.Log{}
	for n := from; n <= to; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := c.GetHeaderByNumber(n)
		if h == nil {
			break
		}
		if out, err = api.blockLogs(h, crit, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (api *EthAPI) blockLogs(h *types.Header, crit filters.FilterCriteria, out []*types.Log) ([]*types.Log, error) {
	if out == nil {
		out = []*types.Log{}
	}
	if !bloomMatches(h.Bloom, crit.Addresses, crit.Topics) {
		return out, nil
	}
	for _, r := range api.b.Chain().Receipts(h.Hash()) {
		for _, l := range r.Logs {
			if logMatches(l, crit.Addresses, crit.Topics) {
				if len(out) >= api.limits.MaxLogs {
					return nil, &rpcError{code: codeServerError, msg: fmt.Sprintf("%v: limit %d", ErrTooManyLogs, api.limits.MaxLogs)}
				}
				out = append(out, l)
			}
		}
	}
	return out, nil
}

func blockArg(n *big.Int, head uint64) (uint64, error) {
	if n == nil {
		return head, nil
	}
	if n.Sign() >= 0 {
		if !n.IsUint64() {
			return 0, invalidParams("block number too large")
		}
		return n.Uint64(), nil
	}
	switch rpc.BlockNumber(n.Int64()) {
	case rpc.LatestBlockNumber, rpc.PendingBlockNumber, rpc.SafeBlockNumber, rpc.FinalizedBlockNumber:
		return head, nil
	case rpc.EarliestBlockNumber:
		return 0, nil
	}
	return 0, invalidParams("invalid block number %d", n)
}

func bloomMatches(bloom types.Bloom, addrs []common.Address, topics [][]common.Hash) bool {
	if len(addrs) > 0 && !slices.ContainsFunc(addrs, func(a common.Address) bool { return bloom.Test(a.Bytes()) }) {
		return false
	}
	for _, alts := range topics {
		if len(alts) > 0 && !slices.ContainsFunc(alts, func(t common.Hash) bool { return bloom.Test(t.Bytes()) }) {
			return false
		}
	}
	return true
}

func logMatches(l *types.Log, addrs []common.Address, topics [][]common.Hash) bool {
	if len(addrs) > 0 && !slices.Contains(addrs, l.Address) {
		return false
	}
	if len(topics) > len(l.Topics) {
		return false
	}
	for i, alts := range topics {
		if len(alts) > 0 && !slices.Contains(alts, l.Topics[i]) {
			return false
		}
	}
	return true
}

// NewHeads notifies each new block header (eth_subscribe "newHeads").
func (api *EthAPI) NewHeads(ctx context.Context) (*rpc.Subscription, error) {
	heads := make(chan core.ChainHeadEvent, 64)
	return forward(ctx, heads, api.b.Chain().SubscribeChainHeadEvent(heads), func(ev core.ChainHeadEvent) []any {
		return []any{marshalHeader(ev.Header)}
	})
}

// Logs notifies each new log matching a filter (eth_subscribe "logs").
func (api *EthAPI) Logs(ctx context.Context, crit filters.FilterCriteria) (*rpc.Subscription, error) {
	if len(crit.Topics) > 4 {
		return nil, invalidParams("too many topics (max 4)")
	}
	logsCh := make(chan []*types.Log, 64)
	return forward(ctx, logsCh, api.b.Chain().SubscribeLogsEvent(logsCh), func(logs []*types.Log) []any {
		var out []any
		for _, l := range logs {
			if logMatches(l, crit.Addresses, crit.Topics) {
				out = append(out, l)
			}
		}
		return out
	})
}

// forward turns a chain event feed into an RPC subscription: each event
// becomes zero or more notifications, until the client or the feed goes.
func forward[E any](ctx context.Context, events <-chan E, feed event.Subscription, render func(E) []any) (*rpc.Subscription, error) {
	notifier, ok := rpc.NotifierFromContext(ctx)
	if !ok {
		feed.Unsubscribe()
		return nil, rpc.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	go func() {
		defer feed.Unsubscribe()
		for {
			select {
			case ev := <-events:
				for _, n := range render(ev) {
					if notifier.Notify(sub.ID, n) != nil {
						return
					}
				}
			case <-sub.Err():
				return
			case <-feed.Err():
				return
			}
		}
	}()
	return sub, nil
}
