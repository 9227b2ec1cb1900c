package chain

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// ErrTxTypeRefused is returned for set-code (EIP-7702) transactions, which
// Cairn does not support, and for blob (EIP-4844) transactions on a layer
// that carries no blobs (the rollups: see Executor.WithBlobs).
var ErrTxTypeRefused = fmt.Errorf("%w: set-code transactions are not supported by Cairn, nor blob transactions on this layer", core.ErrTxTypeNotSupported)

// Errors of blob transactions in a block, kept by Result.Skipped.
var (
	// ErrSidecarInBlock refuses a blob transaction carrying its sidecar in
	// a block body: the body holds the transaction alone, the sidecar is
	// stored beside the block (Result.Sidecars).
	ErrSidecarInBlock = errors.New("blob transaction with its sidecar in a block body")
	// ErrBlobsFull is returned for a blob transaction past the block's
	// blob gas limit.
	ErrBlobsFull = errors.New("block blob gas limit reached")
)

// Env is what a block takes from outside its transactions: its place in the
// chain and what consensus decided. The rest of the header follows from the
// parent and the execution:
//
//   - baseFeePerGas from the parent by EIP-1559;
//   - mixHash (PREVRANDAO) is the parent block's hash: deterministic and known
//     in advance, so contracts must not use it as randomness;
//   - parentBeaconBlockRoot is the zero hash and withdrawals are empty, as
//     there is no beacon chain;
//   - blobGasUsed is the blob gas of the block's blob transactions (none on
//     an executor without WithBlobs), and excessBlobGas follows from the
//     parent by EIP-4844 and EIP-7918, with the Prague schedule Osaka keeps
//     (a target of 6 blobs a block, at most 9).
type Env struct {
	Time      uint64         // seconds; raised to the parent's time if lower
	Coinbase  common.Address // receives priority fees
	GasLimit  uint64         // 0 keeps the parent's
	Extra     []byte
	Consensus Consensus // what consensus reports about the block, for hooks
	Deposits  []Deposit // run first (rollups): deposit transactions, outside the body
}

// Consensus is what the consensus engine reports with a block, in its own
// terms: who proposed it, who signed the previous one, and misbehaviour.
// Hooks (staking) turn it into state changes inside the block.
type Consensus struct {
	Proposer []byte // consensus address of the proposer
	Votes    []Vote // the validators of the previous block and whether they signed it
	Evidence []Misbehaviour
}

// Vote says whether a validator signed the previous block.
type Vote struct {
	Address []byte
	Signed  bool
}

// Misbehaviour is evidence of a validator signing two blocks at one height.
type Misbehaviour struct {
	Address []byte
	Height  int64
}

// BlockHook runs inside a block's state transition: BeginBlock before its
// transactions, EndBlock after them. Its state changes are covered by the
// block's state root. Hooks must be deterministic.
type BlockHook interface {
	BeginBlock(st vm.StateDB, header *types.Header, c Consensus) error
	EndBlock(st vm.StateDB, header *types.Header, c Consensus) error
}

// Skip is a transaction left out of a block, with the reason.
type Skip struct {
	Index int // position in the input
	Tx    *types.Transaction
	Err   error
}

// Result is the outcome of executing a block. Nothing has been written yet.
type Result struct {
	Block    *types.Block
	Receipts types.Receipts // of the body's transactions
	Deposits []*DepositTx   // run before them (rollups), with their receipts
	// Sidecars are the blobs of the body's blob transactions, which the
	// caller sets (the body holds the transactions without them); the
	// store keeps them beside the block until pruned.
	Sidecars []TxSidecar
	State    *state.StateDB
	Skipped  []Skip
	prepared bool // Store.Prepare wrote the state and the block
}

// Logs returns every log of the block, in order: deposits' first.
func (r *Result) Logs() []*types.Log {
	var logs []*types.Log
	for _, d := range r.Deposits {
		logs = append(logs, d.Receipt.Logs...)
	}
	for _, rc := range r.Receipts {
		logs = append(logs, rc.Logs...)
	}
	return logs
}

// Executor executes blocks for one chain.
type Executor struct {
	config  *params.ChainConfig
	chain   core.ChainContext
	system  *SystemContracts
	hooks   []BlockHook
	dataFee DataFee
	blobs   bool
}

// WithBlobs lets blocks include blob transactions (the L1's) and returns
// the executor.
func (e *Executor) WithBlobs() *Executor {
	e.blobs = true
	return e
}

// Blobs tells whether blocks may include blob transactions.
func (e *Executor) Blobs() bool { return e.blobs }

// WithDataFee makes every transaction pay fee before it runs (a rollup's L1
// data fee) and returns the executor.
func (e *Executor) WithDataFee(fee DataFee) *Executor {
	e.dataFee = fee
	return e
}

// DataFee returns the data fee rule, or nil.
func (e *Executor) DataFee() DataFee { return e.dataFee }

// NewExecutor returns an executor. chain answers BLOCKHASH lookups; hooks run
// at the start and end of every block, in order.
func NewExecutor(config *params.ChainConfig, chain core.ChainContext, system *SystemContracts, hooks ...BlockHook) *Executor {
	return &Executor{config: config, chain: chain, system: system, hooks: hooks}
}

// Config returns the chain configuration.
func (e *Executor) Config() *params.ChainConfig { return e.config }

// System returns the system contracts.
func (e *Executor) System() *SystemContracts { return e.system }

// Header returns the header of the block built on parent in env, before
// execution fills in roots and gas used.
func (e *Executor) Header(parent *types.Header, env Env) *types.Header {
	gasLimit := env.GasLimit
	gasLimit = cmp.Or(gasLimit, parent.GasLimit)
	timestamp := max(env.Time, parent.Time)
	var excess uint64
	if parent.ExcessBlobGas != nil {
		excess = eip4844.CalcExcessBlobGas(e.config, parent, timestamp)
	}
	beaconRoot := common.Hash{}
	return &types.Header{
		ParentHash:       parent.Hash(),
		UncleHash:        types.EmptyUncleHash,
		Coinbase:         env.Coinbase,
		Difficulty:       new(big.Int),
		Number:           new(big.Int).Add(parent.Number, common.Big1),
		GasLimit:         gasLimit,
		Time:             timestamp,
		Extra:            common.CopyBytes(env.Extra),
		MixDigest:        parent.Hash(),
		BaseFee:          eip1559.CalcBaseFee(e.config, parent),
		BlobGasUsed:      new(uint64),
		ExcessBlobGas:    &excess,
		ParentBeaconRoot: &beaconRoot,
	}
}

// NewEVM returns an EVM over statedb for header, with the system contracts
// installed, and the hook through which the running message is set.
func (e *Executor) NewEVM(header *types.Header, statedb vm.StateDB, cfg vm.Config) (*vm.EVM, func(*core.Message)) {
	coinbase := header.Coinbase
	evm := vm.NewEVM(core.NewEVMBlockContext(header, e.chain, &coinbase), statedb, e.config, cfg)
	env := e.system.install(evm, e.config.Rules(header.Number, true, header.Time))
	return evm, func(m *core.Message) { env.msg = m }
}

// Build executes txs in order on statedb (the parent's post-state) and
// assembles the block. A transaction that cannot be included (wrong nonce,
// insufficient funds, no room left, unsupported type...) is left out and
// listed in Result.Skipped; the block itself only fails on a state error.
func (e *Executor) Build(parent *types.Header, statedb *state.StateDB, env Env, txs []*types.Transaction) (*Result, error) {
	return e.BuildUntil(parent, statedb, env, txs, nil)
}

// BuildUntil is Build that asks stop, when not nil, before each
// transaction i: once it says the block is done, txs[i:] are left out (not
// skipped: they were never tried).
func (e *Executor) BuildUntil(parent *types.Header, statedb *state.StateDB, env Env, txs []*types.Transaction, stop func(i int) bool) (*Result, error) {
	p, err := e.Begin(parent, statedb, env)
	if err != nil {
		return nil, err
	}
	for i := range env.Deposits {
		p.Deposit(&env.Deposits[i])
	}
	for i, tx := range txs {
		if stop != nil && stop(i) {
			break
		}
		p.Apply(i, tx)
	}
	return p.Finish()
}

// chargeDataFee moves the transaction's data fee from its sender to the
// vault, if the sender can pay it on top of the transaction's maximum cost.
func (e *Executor) chargeDataFee(statedb *state.StateDB, header *types.Header, tx *types.Transaction, msg *core.Message) error {
	if e.dataFee == nil {
		return nil
	}
	fee := e.dataFee.Cost(header, tx).Fee
	if fee == nil || fee.Sign() == 0 {
		return nil
	}
	need := new(big.Int).Add(fee, tx.Cost())
	if have := statedb.GetBalance(msg.From); have.ToBig().Cmp(need) < 0 {
		return fmt.Errorf("%w: address %v have %v want %v (L1 data fee %v)", core.ErrInsufficientFunds, msg.From, have, need, fee)
	}
	amount := uint256.MustFromBig(fee)
	statedb.SubBalance(msg.From, amount, tracing.BalanceChangeUnspecified)
	statedb.AddBalance(e.dataFee.Vault(), amount, tracing.BalanceChangeUnspecified)
	return nil
}

// maxBlockSizeBuffer leaves room under EIP-7934's RLP size cap for the header
// and list overhead, as go-ethereum's miner does.
const maxBlockSizeBuffer = 1_000_000

var errBlockFull = errors.New("block size limit reached")
