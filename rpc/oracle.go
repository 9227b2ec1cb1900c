package rpc

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
)

// oracleBackend adapts a chain store to go-ethereum's gas price oracle, which
// computes eth_feeHistory and tip suggestions.
type oracleBackend struct{ c *chain.Store }

func (o oracleBackend) HeaderByNumber(_ context.Context, n rpc.BlockNumber) (*types.Header, error) {
	return resolveHeader(o.c, rpc.BlockNumberOrHashWithNumber(n))
}

func (o oracleBackend) BlockByNumber(_ context.Context, n rpc.BlockNumber) (*types.Block, error) {
	h, err := resolveHeader(o.c, rpc.BlockNumberOrHashWithNumber(n))
	if err != nil {
		return nil, err
	}
	return o.c.BlockByHash(h.Hash()), nil
}

func (o oracleBackend) GetReceipts(_ context.Context, hash common.Hash) (types.Receipts, error) {
	return o.c.BodyReceipts(hash), nil
}

// Pending has no pending block: blocks are built by consensus, not locally.
func (o oracleBackend) Pending() (*types.Block, types.Receipts, *state.StateDB) {
	return nil, nil, nil
}

func (o oracleBackend) ChainConfig() *params.ChainConfig { return o.c.Config() }

func (o oracleBackend) SubscribeChainHeadEvent(ch chan<- core.ChainHeadEvent) event.Subscription {
	return o.c.SubscribeChainHeadEvent(ch)
}
