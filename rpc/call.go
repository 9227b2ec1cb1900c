package rpc

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
)

// CallArgs are the arguments of eth_call and eth_estimateGas.
type CallArgs struct {
	From                 *common.Address   `json:"from"`
	To                   *common.Address   `json:"to"`
	Gas                  *hexutil.Uint64   `json:"gas"`
	GasPrice             *hexutil.Big      `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big      `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *hexutil.Big      `json:"maxPriorityFeePerGas"`
	Value                *hexutil.Big      `json:"value"`
	Nonce                *hexutil.Uint64   `json:"nonce"`
	Data                 *hexutil.Bytes    `json:"data"`
	Input                *hexutil.Bytes    `json:"input"`
	AccessList           *types.AccessList `json:"accessList"`
	ChainID              *hexutil.Big      `json:"chainId"`
	Type                 *hexutil.Uint64   `json:"type"`
	// A blob transaction's: its versioned hashes (what BLOBHASH reads)
	// and blob fee cap. Blobs themselves are not needed to run it.
	BlobHashes       []common.Hash `json:"blobVersionedHashes"`
	MaxFeePerBlobGas *hexutil.Big  `json:"maxFeePerBlobGas"`
}

func (a *CallArgs) data() ([]byte, error) {
	if a.Input != nil && a.Data != nil && string(*a.Input) != string(*a.Data) {
		return nil, invalidParams(`both "data" and "input" are set and not equal. Please use "input" to pass transaction call data`)
	}
	if a.Input != nil {
		return *a.Input, nil
	}
	if a.Data != nil {
		return *a.Data, nil
	}
	return nil, nil
}

// message converts the arguments to a message with the given gas limit. With
// no price given, calls run at a zero price (go-ethereum's NoBaseFee mode).
func (a *CallArgs) message(gas uint64, baseFee *big.Int) (*core.Message, error) {
	if a.GasPrice != nil && (a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil) {
		return nil, invalidParams("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	data, err := a.data()
	if err != nil {
		return nil, err
	}
	var from common.Address
	if a.From != nil {
		from = *a.From
	}
	gasPrice, feeCap, tipCap := new(big.Int), new(big.Int), new(big.Int)
	switch {
	case a.GasPrice != nil:
		gasPrice.Set((*big.Int)(a.GasPrice))
		feeCap.Set(gasPrice)
		tipCap.Set(gasPrice)
	case a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil:
		feeCap.Set(bigOrZero(a.MaxFeePerGas))
		tipCap.Set(bigOrZero(a.MaxPriorityFeePerGas))
		if a.MaxFeePerGas == nil {
			feeCap.Add(tipCap, baseFee)
		}
		if feeCap.Sign() > 0 {
			gasPrice = new(big.Int).Add(tipCap, baseFee)
			if gasPrice.Cmp(feeCap) > 0 {
				gasPrice.Set(feeCap)
			}
		}
	}
	var al types.AccessList
	if a.AccessList != nil {
		al = *a.AccessList
	}
	value := new(uint256.Int)
	if a.Value != nil {
		var overflow bool
		if value, overflow = uint256.FromBig((*big.Int)(a.Value)); overflow {
			return nil, invalidParams("value too large")
		}
	}
	msg := &core.Message{
		From:       from,
		To:         a.To,
		Value:      value,
		GasLimit:   gas,
		GasPrice:   uint256.MustFromBig(gasPrice),
		GasFeeCap:  uint256.MustFromBig(feeCap),
		GasTipCap:  uint256.MustFromBig(tipCap),
		Data:       data,
		AccessList: al,
	}
	if len(a.BlobHashes) > 0 {
		msg.BlobHashes = a.BlobHashes
		msg.BlobGasFeeCap = uint256.MustFromBig(bigOrZero(a.MaxFeePerBlobGas))
	}
	return msg.SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck(), nil
}

// execute runs a message on a copy of the state at header, with the system
// contracts installed.
func (api *EthAPI) execute(ctx context.Context, st *state.StateDB, header *types.Header, args CallArgs, gas uint64) (*core.ExecutionResult, error) {
	msg, err := args.message(gas, header.BaseFee)
	if err != nil {
		return nil, err
	}
	noBaseFee := msg.GasFeeCap.IsZero() && msg.GasTipCap.IsZero()
	evm, setMsg := api.b.Executor().NewEVM(header, st, vm.Config{NoBaseFee: noBaseFee})
	defer evm.Release()
	if len(msg.BlobHashes) > 0 && (msg.BlobGasFeeCap == nil || msg.BlobGasFeeCap.IsZero()) {
		evm.Context.BlobBaseFee = new(big.Int) // a call without a blob fee pays none, as go-ethereum's
	}
	ctx, cancel := context.WithTimeout(ctx, api.limits.CallTimeout)
	defer cancel()
	go func() {
		<-ctx.Done()
		evm.Cancel()
	}()
	setMsg(msg)
	res, err := core.ApplyMessage(evm, msg, core.NewGasPool(gas))
	if evm.Cancelled() {
		return nil, fmt.Errorf("execution aborted (timeout = %v)", api.limits.CallTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("err: %w (supplied gas %d)", err, gas)
	}
	return res, nil
}

// callGas is the gas a call may use: the caller's, capped by the block gas
// limit and the node's cap.
func (api *EthAPI) callGas(args CallArgs, header *types.Header) uint64 {
	gas := min(header.GasLimit, api.limits.GasCap)
	if args.Gas != nil && uint64(*args.Gas) < gas {
		gas = uint64(*args.Gas)
	}
	return gas
}

// Call executes a call without making a transaction.
func (api *EthAPI) Call(ctx context.Context, args CallArgs, at *rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	st, header, err := api.stateAt(orLatest(at))
	if err != nil {
		return nil, err
	}
	res, err := api.execute(ctx, st, header, args, api.callGas(args, header))
	if err != nil {
		return nil, err
	}
	if errors.Is(res.Err, vm.ErrExecutionReverted) {
		return nil, revertError(res.Revert())
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Return(), nil
}

// EstimateGas finds the smallest gas limit with which the call succeeds, by
// binary search as go-ethereum does. A reverting call is reported with its
// revert data.
func (api *EthAPI) EstimateGas(ctx context.Context, args CallArgs, at *rpc.BlockNumberOrHash) (hexutil.Uint64, error) {
	st, header, err := api.stateAt(orLatest(at))
	if err != nil {
		return 0, err
	}
	hi := min(api.callGas(args, header), params.MaxTxGas)
	if args.Gas != nil && uint64(*args.Gas) < hi {
		hi = uint64(*args.Gas)
	}
	// Cap by what the sender can pay for when a price is given.
	if args.From != nil {
		feeCap := bigOrZero(args.GasPrice)
		if args.MaxFeePerGas != nil {
			feeCap = (*big.Int)(args.MaxFeePerGas)
		}
		if feeCap.Sign() > 0 {
			avail := st.GetBalance(*args.From).ToBig()
			if args.Value != nil {
				if avail.Cmp((*big.Int)(args.Value)) < 0 {
					return 0, core.ErrInsufficientFunds
				}
				avail.Sub(avail, (*big.Int)(args.Value))
			}
			if allow := new(big.Int).Div(avail, feeCap); allow.IsUint64() && allow.Uint64() < hi {
				hi = allow.Uint64()
			}
		}
	}
	run := func(gas uint64) (*core.ExecutionResult, error) {
		return api.execute(ctx, st.Copy(), header, args, gas)
	}
	// A plain value transfer to an account without code: try the base
	// transaction gas first, as go-ethereum does, and answer it if it works.
	if data, _ := args.data(); len(data) == 0 && args.To != nil && len(st.GetCode(*args.To)) == 0 {
		if _, system := api.b.Executor().System().Lookup(*args.To); !system {
			if r, err := run(params.TxGas); err == nil && !r.Failed() {
				return hexutil.Uint64(params.TxGas), nil
			}
		}
	}
	res, err := run(hi)
	if err != nil {
		return 0, err
	}
	if res.Failed() {
		if errors.Is(res.Err, vm.ErrExecutionReverted) {
			return 0, revertError(res.Revert())
		}
		return 0, fmt.Errorf("gas required exceeds allowance (%d): %w", hi, res.Err)
	}
	// The answer lies between what was used and hi. Try a close guess first,
	// then search.
	lo := res.UsedGas - 1
	if guess := res.UsedGas * 64 / 63; guess < hi {
		if r, err := run(guess); err == nil && !r.Failed() {
			hi = guess
		} else {
			lo = guess
		}
	}
	for lo+1 < hi {
		if (hi-lo)*1000 < hi*15 { // within 1.5%: good enough, as geth
			break
		}
		mid := lo + (hi-lo)/2
		r, err := run(mid)
		if err != nil {
			return 0, err
		}
		if r.Failed() {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hexutil.Uint64(hi), nil
}

// orLatest is the block a call runs at when the caller names none.
func orLatest(at *rpc.BlockNumberOrHash) rpc.BlockNumberOrHash {
	if at == nil {
		return rpc.BlockNumberOrHashWithNumber(rpc.LatestBlockNumber)
	}
	return *at
}
