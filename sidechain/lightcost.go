package sidechain

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// Published costs of verifying CometBFT headers in Solidity, for the
// comparison the light client's gas is printed beside: more than 26M gas
// per non-adjacent header (a Solidity Tendermint light client, 4
// validators upward), and about 500k gas per ed25519 signature checked in
// the EVM.
const (
	SolidityNonAdjacentGas  = 26_000_000
	SolidityEd25519GasEach  = 500_000
	lightCostHeaderTime     = 1_700_000_000
	lightCostSkippedHeights = 100
)

// UpdateCost is what one light-client update costs with a validator set
// of a given size.
type UpdateCost struct {
	Validators int
	// Gas of an adjacent update (height h+1 from h) and of a skipping one
	// (h+100 from h), transaction gas included: intrinsic, calldata and
	// the contract's.
	AdjacentGas, SkippingGas uint64
	// The contract's part of the skipping update's gas (without the
	// transaction's intrinsic and calldata gas): a function of the number
	// of signatures and validators only.
	SkippingContractGas uint64
	// Time to verify and store each, on this machine.
	Adjacent, Skipping time.Duration
	// Bytes of the skipping update's calldata.
	CalldataBytes int
}

// MeasureUpdate measures updates signed by all of n validators of equal
// power, each run `runs` times for the time (the gas is the same every
// run: it depends on the input only).
func MeasureUpdate(n, runs int) (UpdateCost, error) {
	cons := NewHandConsensus("cairn-measure", n, nil)
	p := LightParams{L1ChainID: 1, SideID: 2, Side: cons.Trust(lightCostHeaderTime), TrustingSeconds: 3600, MaxClockDriftSeconds: 10, WithdrawalDelaySeconds: 60}
	b := NewLightL1(p)
	sign := func(h uint64) (*LightBlock, error) {
		return cons.Sign(cons.HeaderAt(h, HandTime(lightCostHeaderTime+h, h), common.Hash{1}), allOf(n))
	}
	first, err := sign(1)
	if err != nil {
		return UpdateCost{}, err
	}
	adj, err := sign(2)
	if err != nil {
		return UpdateCost{}, err
	}
	skip, err := sign(1 + lightCostSkippedHeights)
	if err != nil {
		return UpdateCost{}, err
	}
	input := func(trusted uint64, lb *LightBlock, tvals bool) ([]byte, error) {
		if tvals {
			return packUpdate("update", trusted, lb, lb.Validators)
		}
		return packUpdate("update", trusted, lb, nil)
	}
	out := UpdateCost{Validators: n}
	for _, c := range []struct {
		lb   *LightBlock
		gas  *uint64
		took *time.Duration
		skip bool
	}{{adj, &out.AdjacentGas, &out.Adjacent, false}, {skip, &out.SkippingGas, &out.Skipping, true}} {
		in, err := input(1, c.lb, c.skip)
		if err != nil {
			return UpdateCost{}, err
		}
		if c.skip {
			out.CalldataBytes = len(in)
			out.SkippingContractGas = b.RequiredGas(in)
		}
		*c.gas = txGas(in) + b.RequiredGas(in)
		var total time.Duration
		for range max(runs, 1) {
			st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
			if err != nil {
				return UpdateCost{}, err
			}
			call := func(in []byte) error {
				_, err := b.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(1), Time: lightCostHeaderTime + 200},
					Self: b.Address(), Value: new(uint256.Int), Input: in})
				return err
			}
			firstIn, err := input(0, first, false)
			if err != nil {
				return UpdateCost{}, err
			}
			if err := call(firstIn); err != nil {
				return UpdateCost{}, fmt.Errorf("first header: %w", err)
			}
			start := time.Now()
			if err := call(in); err != nil {
				return UpdateCost{}, fmt.Errorf("update with %d validators: %w", n, err)
			}
			total += time.Since(start)
		}
		*c.took = total / time.Duration(max(runs, 1))
	}
	return out, nil
}

func allOf(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// txGas is a transaction's intrinsic and calldata gas.
func txGas(input []byte) uint64 {
	gas := params.TxGas
	for _, b := range input {
		if b == 0 {
			gas += params.TxDataZeroGas
		} else {
			gas += params.TxDataNonZeroGasEIP2028
		}
	}
	return gas
}
