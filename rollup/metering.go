package rollup

import (
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
)

// Metering the L2 execution a proof makes L1 run. A step or a step part
// re-executes L2 transactions on every L1 node; charged for its input
// bytes alone, a proof of a block stuffed with heavy transactions (forced
// ones cost their sender only calldata) would make L1 do up to a block's
// worth of L2 work for the price of a transfer, again with every failed
// attempt. So the call also pays for the gas limits of the transactions
// and deposits it carries, read from its input before it runs: one L1 gas
// per ExecGasDivisor L2 gas. The divisor is 2 so that the largest single
// L2 transaction (EIP-7825's 2^24 gas) still fits one L1 transaction.
const (
	ExecGasDivisor = 2
	// PartExecBudget is the most L2 gas the prover puts in one part, so
	// each part's L1 gas stays far under EIP-7825's cap.
	PartExecBudget = 16_000_000
)

// ExecGas is the L2 gas a proof's transactions and portal items may use.
func ExecGas(txs [][]byte, queue []ProofItem, l2ChainID uint64) uint64 {
	total := uint64(0)
	for _, raw := range txs {
		var tx types.Transaction
		if tx.UnmarshalBinary(raw) == nil {
			total += tx.Gas()
		}
	}
	for _, pi := range queue {
		item, err := ParseQueueLog(&types.Log{Address: PortalAddress, Topics: pi.Topics, Data: pi.Data}, l2ChainID)
		switch {
		case err != nil:
		case item.Deposit != nil:
			total += item.Deposit.Gas
		case item.Forced != nil:
			total += item.Forced.Gas()
		}
	}
	return total
}

// proofExecGas reads a step's or a part's input and returns the L2 gas it
// may run; 0 for input that does not decode (the call then fails before
// running anything).
func proofExecGas(method string, proof []byte, l2ChainID uint64) uint64 {
	switch method {
	case "step":
		var p StepProof
		if rlp.DecodeBytes(proof, &p) == nil {
			return ExecGas(p.Txs, p.Queue, l2ChainID)
		}
	case "stepPart":
		var p StepPart
		if rlp.DecodeBytes(proof, &p) == nil {
			return ExecGas(p.Txs, p.Queue, l2ChainID)
		}
	}
	return 0
}
