package zkrollup

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// l1Contract reads the L1 contract through an L1 node's JSON-RPC.
type l1Contract struct{ c *ethclient.Client }

func (l *l1Contract) call(ctx context.Context, method string, args ...any) ([]any, error) {
	v, err := ethtx.View(ctx, l.c, &VerifierABI, VerifierAddress, method, args...)
	if err != nil {
		return nil, fmt.Errorf("zk contract %w", err)
	}
	return v, nil
}

func (l *l1Contract) batchCount(ctx context.Context) (uint64, error) {
	out, err := l.call(ctx, "batchCount")
	if err != nil {
		return 0, err
	}
	return out[0].(*big.Int).Uint64(), nil
}

func (l *l1Contract) queue(ctx context.Context) (head, tail uint64, err error) {
	out, err := l.call(ctx, "priorityQueue")
	if err != nil {
		return 0, 0, err
	}
	return out[0].(*big.Int).Uint64(), out[1].(*big.Int).Uint64(), nil
}

func (l *l1Contract) priorityOp(ctx context.Context, i uint64) (Op, error) {
	out, err := l.call(ctx, "priorityOp", new(big.Int).SetUint64(i))
	if err != nil {
		return Op{}, err
	}
	return Op{Type: OpType(out[0].(uint8)), Address: out[1].(common.Address), Account: uint64(out[2].(uint32)), Amount: out[3].(uint64)}, nil
}

func (l *l1Contract) verifyingKey(ctx context.Context) ([]byte, error) {
	out, err := l.call(ctx, "verifyingKey")
	if err != nil {
		return nil, err
	}
	return out[0].([]byte), nil
}

func (l *l1Contract) exitMode(ctx context.Context) (bool, error) {
	out, err := l.call(ctx, "exitMode")
	if err != nil {
		return false, err
	}
	return out[0].(bool), nil
}

// verifiedBatches returns the public data of every verified batch, in
// order, from the contract's BatchVerified logs.
func (l *l1Contract) verifiedBatches(ctx context.Context) ([][]byte, error) {
	ev := VerifierABI.Events["BatchVerified"]
	logs, err := l.c.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{VerifierAddress}, Topics: [][]common.Hash{{ev.ID}}})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i, lg := range logs {
		if len(lg.Topics) < 2 || lg.Topics[1].Big().Uint64() != uint64(i) {
			return nil, fmt.Errorf("zk contract: batch log %d out of order", i)
		}
		vals, err := ev.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, vals[0].([]byte))
	}
	return out, nil
}

// ReadParams reads the L1 contract's rules (without its verifying key).
func ReadParams(ctx context.Context, c *ethclient.Client) (VerifierParams, error) {
	out, err := (&l1Contract{c: c}).call(ctx, "rules")
	if err != nil {
		return VerifierParams{}, err
	}
	return VerifierParams{Slots: int(out[0].(uint32)), Depth: int(out[1].(uint32)), Operator: out[2].(common.Address),
		PriorityDeadline: out[3].(uint64), GenesisRoot: out[4].([32]byte),
		PrioritySpacing: out[5].(uint64), PriorityFee: out[6].(*big.Int), MinDeposit: out[7].(uint64), L1ChainID: out[8].(uint64)}, nil
}
