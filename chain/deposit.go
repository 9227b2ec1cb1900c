package chain

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// Deposit is a message a rollup takes from its L1 and runs at the start of a
// block, before the block's transactions. It has no signature. It is a
// transaction of the OP Stack's deposit type (DepositTxType, 0x7E): the
// header's transactions and receipts roots commit to a block's deposits
// first, then its body's transactions, and JSON-RPC serves deposits as the
// block's first transactions, with receipts and logs. The body stores only
// the signed transactions: the block's L1 origin, in the header, determines
// its deposits, so derivation recomputes them and a batch never carries them.
//
// Mint is credited to From first and stays even if the call fails; then From
// calls To with Value, Data and Gas at a gas price of zero, as an OP Stack
// deposit transaction does. A Deposit with no Data, To equal to From and
// Value zero only mints.
type Deposit struct {
	Source common.Hash // unique id of the deposit on L1 (the OP Stack's source hash)
	From   common.Address
	To     *common.Address // nil creates a contract
	Mint   *big.Int
	Value  *big.Int
	Gas    uint64
	Data   []byte
}

// DepositTxType is the OP Stack's deposit transaction type.
const DepositTxType = 0x7E

// depositRLP is the OP Stack's deposit transaction payload, in order.
type depositRLP struct {
	SourceHash          common.Hash
	From                common.Address
	To                  *common.Address `rlp:"nil"`
	Mint                *big.Int        `rlp:"nil"`
	Value               *big.Int
	Gas                 uint64
	IsSystemTransaction bool
	Data                []byte
}

// MarshalBinary is the deposit's transaction encoding: 0x7E followed by the
// RLP of (source hash, from, to, mint, value, gas, is-system, data).
func (d *Deposit) MarshalBinary() ([]byte, error) {
	value := d.Value
	if value == nil {
		value = new(big.Int)
	}
	mint := d.Mint
	if mint != nil && mint.Sign() == 0 {
		mint = nil
	}
	payload, err := rlp.EncodeToBytes(&depositRLP{d.Source, d.From, d.To, mint, value, d.Gas, false, d.Data})
	if err != nil {
		return nil, err
	}
	return append([]byte{DepositTxType}, payload...), nil
}

// UnmarshalBinary decodes MarshalBinary's encoding.
func (d *Deposit) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != DepositTxType {
		return fmt.Errorf("%w: not a deposit transaction", types.ErrTxTypeNotSupported)
	}
	var r depositRLP
	if err := rlp.DecodeBytes(b[1:], &r); err != nil {
		return fmt.Errorf("deposit transaction: %w", err)
	}
	if r.IsSystemTransaction {
		return fmt.Errorf("deposit transaction: system transactions are not used")
	}
	*d = Deposit{Source: r.SourceHash, From: r.From, To: r.To, Mint: r.Mint, Value: r.Value, Gas: r.Gas, Data: r.Data}
	return nil
}

// Hash is the deposit's transaction hash: keccak256 of MarshalBinary.
func (d *Deposit) Hash() common.Hash {
	b, _ := d.MarshalBinary()
	return crypto.Keccak256Hash(b)
}

// DepositTx is a deposit as a block ran it: the nonce its sender had before
// (the OP Stack's depositNonce) and its receipt.
type DepositTx struct {
	Deposit *Deposit
	Nonce   uint64
	Receipt *types.Receipt
}

// encodeDepositReceipt is a deposit receipt's consensus encoding, as a
// receipts trie holds it: 0x7E followed by the RLP of (status, cumulative
// gas, bloom, logs), as for the other typed receipts.
func encodeDepositReceipt(r *types.Receipt) []byte {
	status := []byte{}
	if r.Status == types.ReceiptStatusSuccessful {
		status = []byte{0x01}
	}
	logs := r.Logs
	if logs == nil {
		logs = []*types.Log{}
	}
	payload, _ := rlp.EncodeToBytes([]any{status, r.CumulativeGasUsed, r.Bloom, logs})
	return append([]byte{DepositTxType}, payload...)
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
// budget, outside the block's gas pool, as transaction index of the block;
// cumulative is the gas of the block's deposits before it. It returns the
// deposit with its receipt (logs without block fields yet).
func runDeposit(evm *vm.EVM, setMsg func(*core.Message), statedb *state.StateDB, d *Deposit, index int, cumulative uint64) *DepositTx {
	noBaseFee := evm.Config.NoBaseFee
	evm.Config.NoBaseFee = true
	defer func() { evm.Config.NoBaseFee = noBaseFee }()
	hash := d.Hash()
	out := &DepositTx{Deposit: d, Nonce: statedb.GetNonce(d.From),
		Receipt: &types.Receipt{Type: DepositTxType, Status: types.ReceiptStatusSuccessful, TxHash: hash, TransactionIndex: uint(index)}}
	finish := func(gas uint64) *DepositTx {
		r := out.Receipt
		r.GasUsed, r.CumulativeGasUsed = gas, cumulative+gas
		r.Logs = statedb.GetLogs(hash, evm.Context.BlockNumber.Uint64(), common.Hash{}, evm.Context.Time)
		r.Bloom = types.CreateBloom(r)
		return out
	}
	statedb.SetTxContext(hash, index, uint32(index+1))
	if d.Mint != nil && d.Mint.Sign() > 0 {
		statedb.AddBalance(d.From, uint256.MustFromBig(d.Mint), tracing.BalanceChangeUnspecified)
	}
	if d.mintOnly() {
		return finish(0)
	}
	value := new(uint256.Int)
	if d.Value != nil {
		value = uint256.MustFromBig(d.Value)
	}
	msg := &core.Message{
		From:      d.From,
		To:        d.To,
		Nonce:     out.Nonce,
		Value:     value,
		GasLimit:  d.Gas,
		GasPrice:  new(uint256.Int),
		GasFeeCap: new(uint256.Int),
		GasTipCap: new(uint256.Int),
		Data:      d.Data,
	}
	msg.SkipNonceCheck().SkipEOACheck()
	snap := statedb.Snapshot()
	evm.SetTxContext(core.NewEVMTxContext(msg))
	setMsg(msg)
	res, err := core.ApplyMessage(evm, msg, core.NewGasPool(d.Gas))
	setMsg(nil)
	if err != nil {
		// The message could not start (value above the balance): the
		// mint stays, the call does not happen.
		statedb.RevertToSnapshot(snap)
		out.Receipt.Status = types.ReceiptStatusFailed
		return finish(0)
	}
	if res.Failed() {
		out.Receipt.Status = types.ReceiptStatusFailed
	}
	if d.To == nil {
		out.Receipt.ContractAddress = crypto.CreateAddress(d.From, out.Nonce)
	}
	return finish(res.UsedGas)
}
