package chain

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// Deposit is a message a rollup takes from its L1 and runs at the start of a
// block, before the block's transactions. It has no signature and is not part
// of the block body: the block's L1 origin, recorded in the header, determines
// which deposits a block runs, so the state root commits to them.
//
// Mint is credited to From first and stays even if the call fails; then From
// calls To with Value, Data and Gas at a gas price of zero, as an OP Stack
// deposit transaction does. A Deposit with no Data, To equal to From and
// Value zero only mints.
type Deposit struct {
	Source common.Hash // unique id of the deposit on L1, used as its transaction hash for logs
	From   common.Address
	To     *common.Address // nil creates a contract
	Mint   *big.Int
	Value  *big.Int
	Gas    uint64
	Data   []byte
}

// mintOnly reports whether the deposit only credits From.
func (d *Deposit) mintOnly() bool {
	return len(d.Data) == 0 && d.To != nil && *d.To == d.From && (d.Value == nil || d.Value.Sign() == 0)
}

// DataCost is what a transaction pays for its data on another chain (a
// rollup's L1 data fee).
type DataCost struct {
	GasUsed  uint64   // L1 gas the transaction's data is charged as
	GasPrice *big.Int // L1 gas price (wei)
	Fee      *big.Int // wei charged to the sender
}

// DataFee is an extra fee charged to every transaction of a block before it
// runs, and credited to Vault. A transaction whose sender cannot pay it and
// the transaction's own maximum cost is left out of the block.
type DataFee interface {
	Cost(header *types.Header, tx *types.Transaction) DataCost
	Vault() common.Address
}

// runDeposit applies a deposit at the start of a block, with its own gas
// budget, outside the block's gas pool.
func runDeposit(evm *vm.EVM, setMsg func(*core.Message), statedb *state.StateDB, d *Deposit) {
	noBaseFee := evm.Config.NoBaseFee
	evm.Config.NoBaseFee = true
	defer func() { evm.Config.NoBaseFee = noBaseFee }()
	if d.Mint != nil && d.Mint.Sign() > 0 {
		statedb.AddBalance(d.From, uint256.MustFromBig(d.Mint), tracing.BalanceChangeUnspecified)
	}
	if d.mintOnly() {
		return
	}
	value := new(uint256.Int)
	if d.Value != nil {
		value = uint256.MustFromBig(d.Value)
	}
	msg := &core.Message{
		From:      d.From,
		To:        d.To,
		Nonce:     statedb.GetNonce(d.From),
		Value:     value,
		GasLimit:  d.Gas,
		GasPrice:  new(uint256.Int),
		GasFeeCap: new(uint256.Int),
		GasTipCap: new(uint256.Int),
		Data:      d.Data,
	}
	msg.SkipNonceCheck().SkipEOACheck()
	snap := statedb.Snapshot()
	statedb.SetTxContext(d.Source, 0, 0)
	evm.SetTxContext(core.NewEVMTxContext(msg))
	setMsg(msg)
	_, err := core.ApplyMessage(evm, msg, core.NewGasPool(d.Gas))
	setMsg(nil)
	if err != nil {
		// The message could not start (value above the balance): the
		// mint stays, the call does not happen.
		statedb.RevertToSnapshot(snap)
	}
}
