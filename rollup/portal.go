package rollup

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// Limits of the portal.
const (
	// MaxDepositGas is the most L2 gas one deposit may ask for.
	MaxDepositGas = 5_000_000
	// MinDepositGas is the least L2 gas a deposit with a call is given.
	MinDepositGas = 21_000
	// MaxForcedTxSize is the largest L2 transaction the portal forces.
	MaxForcedTxSize = 64 * 1024
	// MaxDepositData is the largest calldata of a deposit.
	MaxDepositData = 64 * 1024
	// MaxDepositGasPerL1Block bounds the L2 gas all deposits of one L1
	// block may ask for, so the deposits an L2 block must run stay bounded.
	MaxDepositGasPerL1Block = 30_000_000
)

const portalABI = `[
{"type":"receive","stateMutability":"payable"},
{"type":"function","name":"depositTransaction","stateMutability":"payable","inputs":[{"name":"to","type":"address"},{"name":"value","type":"uint256"},{"name":"gasLimit","type":"uint64"},{"name":"data","type":"bytes"}],"outputs":[]},
{"type":"function","name":"forceTransaction","stateMutability":"nonpayable","inputs":[{"name":"signedTx","type":"bytes"}],"outputs":[]},
{"type":"function","name":"queueLength","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"proveWithdrawal","stateMutability":"nonpayable","inputs":[{"name":"withdrawal","type":"bytes"},{"name":"outputIndex","type":"uint256"},{"name":"stateRoot","type":"bytes32"},{"name":"messagePasserRoot","type":"bytes32"},{"name":"blockHash","type":"bytes32"},{"name":"position","type":"bytes32"},{"name":"proof","type":"bytes[]"}],"outputs":[]},
{"type":"function","name":"finalizeWithdrawal","stateMutability":"nonpayable","inputs":[{"name":"withdrawal","type":"bytes"}],"outputs":[]},
{"type":"function","name":"l2Sender","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"address"}]},
{"type":"function","name":"provenWithdrawal","stateMutability":"view","inputs":[{"name":"withdrawalHash","type":"bytes32"}],"outputs":[{"name":"outputIndex","type":"uint256"},{"name":"outputRoot","type":"bytes32"},{"name":"timestamp","type":"uint64"},{"name":"finalized","type":"bool"}]},
{"type":"event","name":"WithdrawalProven","inputs":[{"name":"withdrawalHash","type":"bytes32","indexed":true},{"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"outputIndex","type":"uint256","indexed":false}]},
{"type":"event","name":"WithdrawalFinalized","inputs":[{"name":"withdrawalHash","type":"bytes32","indexed":true},{"name":"success","type":"bool","indexed":false}]},
{"type":"event","name":"TransactionDeposited","inputs":[{"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"queueIndex","type":"uint256","indexed":true},{"name":"mint","type":"uint256","indexed":false},{"name":"value","type":"uint256","indexed":false},{"name":"gasLimit","type":"uint64","indexed":false},{"name":"data","type":"bytes","indexed":false}]},
{"type":"event","name":"TransactionForced","inputs":[{"name":"from","type":"address","indexed":true},{"name":"queueIndex","type":"uint256","indexed":true},{"name":"signedTx","type":"bytes","indexed":false}]}
]`

// PortalABI is the portal's Solidity ABI.
var PortalABI = chain.MustParseABI(portalABI)

// PortalABIJSON is the portal's ABI as JSON, for ethers, viem and cast.
const PortalABIJSON = portalABI

var (
	depositedTopic = PortalABI.Events["TransactionDeposited"].ID
	forcedTopic    = PortalABI.Events["TransactionForced"].ID
	queueSlot      = common.Hash{31: 1}
	gasBlockSlot   = common.Hash{31: 2} // L1 block whose deposit gas gasUsedSlot counts
	gasUsedSlot    = common.Hash{31: 3}
	l2SenderSlot   = common.Hash{31: 4} // the sender of the withdrawal being finalized
)

// DefaultL2Sender is what l2Sender() returns when no withdrawal is being
// finalized, as in the OP Stack.
var DefaultL2Sender = common.HexToAddress("0x000000000000000000000000000000000000dEaD")

// Portal is the L1 system contract through which value and transactions
// enter the rollup.
//
//   - Sending ETH to its address with no calldata deposits it to the same
//     address on L2, so any wallet can deposit.
//   - depositTransaction(to, value, gasLimit, data) mints msg.value to the
//     sender on L2 and makes the sender call to (address(0) creates a
//     contract) with value, data and gasLimit there.
//   - forceTransaction(signedTx) queues a signed L2 transaction; derivation
//     includes it even if the sequencer ignores it.
//
// Each is one event in the queue, numbered in L1 order. The ETH stays in
// the portal (withdrawals pay it out).
type Portal struct{ params L1Params }

// Address implements chain.SystemContract.
func (*Portal) Address() common.Address { return PortalAddress }

// Name implements chain.SystemContract.
func (*Portal) Name() string { return "rollup-portal" }

// RequiredGas charges L1 gas for what a deposit asks of the L2: a plain
// transfer costs nothing beyond the 21,000 intrinsic gas, so wallets that
// send 21,000 gas to an address without code can deposit.
func (*Portal) RequiredGas(input []byte) uint64 {
	if len(input) == 0 {
		return 0
	}
	if len(input) < 4 {
		return 1_000
	}
	m, err := PortalABI.MethodById(input[:4])
	if err != nil {
		return 1_000
	}
	switch m.Name {
	case "proveWithdrawal":
		return 100_000 + 8*uint64(len(input))
	case "finalizeWithdrawal":
		// The target's call gets exactly the withdrawal's gas limit, paid
		// here up front, so no relayer can starve it.
		gas := uint64(60_000)
		if args, err := m.Inputs.Unpack(input[4:]); err == nil {
			if w, err := DecodeWithdrawal(args[0].([]byte)); err == nil {
				if limit, ok := w.callGas(); ok {
					gas += limit
				}
			}
		}
		return gas
	case "depositTransaction":
		gas := uint64(20_000)
		if args, err := m.Inputs.Unpack(input[4:]); err == nil {
			gas += args[2].(uint64) / 16 // L2 gas bought with L1 gas
		}
		return gas
	case "forceTransaction":
		return 20_000 + 16*uint64(len(input))
	}
	return 2_000
}

// Run implements chain.SystemContract.
func (p *Portal) Run(c *chain.Call) ([]byte, error) {
	if len(c.Input) == 0 {
		p.deposit(c, c.Caller, c.Value.ToBig(), new(big.Int), 0, nil)
		return nil, nil
	}
	m, args, err := chain.ParseCall(&PortalABI, "portal", c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && !c.Value.IsZero() {
		return nil, chain.Revert("portal: %s takes no value", m.Name)
	}
	switch m.Name {
	case "depositTransaction":
		to, value, gas, data := args[0].(common.Address), args[1].(*big.Int), args[2].(uint64), args[3].([]byte)
		if gas < MinDepositGas || gas > MaxDepositGas {
			return nil, chain.Revert("portal: gas limit %d outside [%d, %d]", gas, MinDepositGas, MaxDepositGas)
		}
		if len(data) > MaxDepositData {
			return nil, chain.Revert("portal: data of %d bytes exceeds %d", len(data), MaxDepositData)
		}
		if err := useDepositGas(c, gas); err != nil {
			return nil, err
		}
		p.deposit(c, to, c.Value.ToBig(), value, gas, data)
		return nil, nil
	case "forceTransaction":
		raw := args[0].([]byte)
		if len(raw) == 0 || len(raw) > MaxForcedTxSize {
			return nil, chain.Revert("portal: transaction of %d bytes outside (0, %d]", len(raw), MaxForcedTxSize)
		}
		idx := p.next(c)
		data, _ := PortalABI.Events["TransactionForced"].Inputs.NonIndexed().Pack(raw)
		record(c, idx, []common.Hash{forcedTopic, common.BytesToHash(c.Caller.Bytes()), common.BigToHash(idx)}, data)
		return nil, nil
	case "proveWithdrawal":
		return nil, p.prove(c, args)
	case "finalizeWithdrawal":
		return nil, p.finalize(c, args[0].([]byte))
	case "l2Sender":
		return p.RunNested(c.State, c.Input)
	case "provenWithdrawal":
		h := common.Hash(args[0].([32]byte))
		pw := readProven(c, h)
		return PortalABI.Methods["provenWithdrawal"].Outputs.Pack(new(big.Int).SetUint64(pw.index), [32]byte(pw.root), pw.timestamp, pw.finalized)
	case "queueLength":
		return c.Get(queueSlot).Bytes(), nil
	}
	return nil, chain.Revert("portal: unknown method")
}

// useDepositGas counts gas against this L1 block's deposit gas budget.
func useDepositGas(c *chain.Call, gas uint64) error {
	block := common.BigToHash(c.Block.BlockNumber)
	used := uint64(0)
	if c.Get(gasBlockSlot) == block {
		used = c.Get(gasUsedSlot).Big().Uint64()
	}
	if used+gas > MaxDepositGasPerL1Block {
		return chain.Revert("portal: deposits of this L1 block already use %d of %d L2 gas", used, MaxDepositGasPerL1Block)
	}
	c.Set(gasBlockSlot, block)
	c.Set(gasUsedSlot, common.BigToHash(new(big.Int).SetUint64(used+gas)))
	return nil
}

func (*Portal) next(c *chain.Call) *big.Int {
	idx := c.Get(queueSlot).Big()
	c.Set(queueSlot, common.BigToHash(new(big.Int).Add(idx, common.Big1)))
	return idx
}

func (p *Portal) deposit(c *chain.Call, to common.Address, mint, value *big.Int, gas uint64, data []byte) {
	idx := p.next(c)
	out, _ := PortalABI.Events["TransactionDeposited"].Inputs.NonIndexed().Pack(mint, value, gas, data)
	record(c, idx, []common.Hash{depositedTopic, common.BytesToHash(c.Caller.Bytes()), common.BytesToHash(to.Bytes()), common.BigToHash(idx)}, out)
}

// record emits queue item idx and keeps its hash and L1 block in storage,
// so the one-step proof can check the deposits a block claims.
func record(c *chain.Call, idx *big.Int, topics []common.Hash, data []byte) {
	c.Emit(topics, data)
	c.Set(itemSlot("hash", idx.Uint64()), queueItemHash(topics, data))
	c.Set(itemSlot("block", idx.Uint64()), common.BigToHash(c.Block.BlockNumber))
}

func itemSlot(kind string, i uint64) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-queue-"+kind), new(big.Int).SetUint64(i).FillBytes(make([]byte, 32)))
}

// portalRecords reads the portal's queue records from L1 state.
type portalRecords struct{ st vm.StateDB }

func (r portalRecords) QueueLength() uint64 {
	return r.st.GetState(PortalAddress, queueSlot).Big().Uint64()
}

func (r portalRecords) QueueItem(i uint64) (common.Hash, uint64, bool) {
	if i >= r.QueueLength() {
		return common.Hash{}, 0, false
	}
	return r.st.GetState(PortalAddress, itemSlot("hash", i)), r.st.GetState(PortalAddress, itemSlot("block", i)).Big().Uint64(), true
}

// QueueItem is one event of the portal's queue, as derivation reads it from
// L1 logs: a deposit or a forced transaction.
type QueueItem struct {
	Index   uint64
	L1Block uint64
	Deposit *chain.Deposit     // set for a deposit
	Forced  *types.Transaction // set for a forced transaction that decodes
	Raw     []byte             // the forced transaction's bytes
}

// ErrBadQueueLog is returned for a portal log that does not decode.
var ErrBadQueueLog = errors.New("malformed portal log")

// ParseQueueLog decodes a portal log. Forced transactions that do not decode
// as an L2 transaction are returned with a nil Forced: derivation skips them.
func ParseQueueLog(l *types.Log, l2ChainID uint64) (*QueueItem, error) {
	if l.Address != PortalAddress || len(l.Topics) == 0 {
		return nil, fmt.Errorf("%w: not a portal event", ErrBadQueueLog)
	}
	switch l.Topics[0] {
	case depositedTopic:
		if len(l.Topics) != 4 {
			return nil, fmt.Errorf("%w: deposit with %d topics", ErrBadQueueLog, len(l.Topics))
		}
		vals, err := PortalABI.Events["TransactionDeposited"].Inputs.NonIndexed().Unpack(l.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadQueueLog, err)
		}
		from := common.BytesToAddress(l.Topics[1].Bytes())
		to := common.BytesToAddress(l.Topics[2].Bytes())
		d := &chain.Deposit{
			Source: crypto.Keccak256Hash(PortalAddress.Bytes(), l.Topics[3].Bytes()),
			From:   from,
			Mint:   vals[0].(*big.Int),
			Value:  vals[1].(*big.Int),
			Gas:    vals[2].(uint64),
			Data:   vals[3].([]byte),
		}
		if d.Gas == 0 { // plain ETH sent to the portal: mint to the sender
			d.To = &from
		} else if to != (common.Address{}) {
			d.To = &to
		}
		return &QueueItem{Index: l.Topics[3].Big().Uint64(), L1Block: l.BlockNumber, Deposit: d}, nil
	case forcedTopic:
		if len(l.Topics) != 3 {
			return nil, fmt.Errorf("%w: forced tx with %d topics", ErrBadQueueLog, len(l.Topics))
		}
		vals, err := PortalABI.Events["TransactionForced"].Inputs.NonIndexed().Unpack(l.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadQueueLog, err)
		}
		raw := vals[0].([]byte)
		item := &QueueItem{Index: l.Topics[2].Big().Uint64(), L1Block: l.BlockNumber, Raw: raw}
		item.Forced = decodeL2Tx(raw, l2ChainID)
		return item, nil
	}
	return nil, fmt.Errorf("%w: unknown event %s", ErrBadQueueLog, l.Topics[0])
}

// decodeL2Tx decodes a transaction that may enter an L2 block: type 0, 1 or
// 2, for the L2 chain. Anything else is nil.
func decodeL2Tx(raw []byte, chainID uint64) *types.Transaction {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil
	}
	switch tx.Type() {
	case types.LegacyTxType:
		if !tx.Protected() {
			return nil
		}
	case types.AccessListTxType, types.DynamicFeeTxType:
	default:
		return nil
	}
	if tx.ChainId().Cmp(new(big.Int).SetUint64(chainID)) != 0 {
		return nil
	}
	return tx
}

type proven struct {
	index     uint64
	root      common.Hash
	timestamp uint64
	finalized bool
}

func provenSlot(h common.Hash, field int) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-proven"), h[:], []byte{byte(field)})
}

func readProven(c *chain.Call, h common.Hash) proven {
	return proven{
		index:     c.Get(provenSlot(h, 0)).Big().Uint64(),
		root:      c.Get(provenSlot(h, 1)),
		timestamp: c.Get(provenSlot(h, 2)).Big().Uint64(),
		finalized: c.Get(provenSlot(h, 3)) != (common.Hash{}),
	}
}

// prove checks a withdrawal against a posted output: the output's preimage
// opens the output root, and a Merkle proof shows the message passer's
// storage marks the withdrawal as sent. Proving again against another
// output replaces the record (when the first output was defeated).
func (p *Portal) prove(c *chain.Call, args []any) error {
	w, err := DecodeWithdrawal(args[0].([]byte))
	if err != nil {
		return chain.Revert("portal: %v", err)
	}
	idx := args[1].(*big.Int)
	stateRoot, mpRoot, blockHash := common.Hash(args[2].([32]byte)), common.Hash(args[3].([32]byte)), common.Hash(args[4].([32]byte))
	out, ok := outputFromState(c.State, &p.params, idx.Uint64())
	if !idx.IsUint64() || !ok || idx.Sign() == 0 || out.status == OutputDefeated {
		return chain.Revert("portal: no live output %v", idx)
	}
	pos, ok := PositionOfWord(args[5].([32]byte))
	if !ok || OutputRoot(stateRoot, mpRoot, blockHash, pos) != out.root {
		return chain.Revert("portal: the preimage does not open output %v", idx)
	}
	value, err := verifyStorageProof(mpRoot, w.StorageSlot(), args[6].([][]byte))
	if err != nil || !bytes.Equal(value, []byte{1}) {
		return chain.Revert("portal: withdrawal not in the message passer's storage at output %v: %v", idx, err)
	}
	h := w.Hash()
	pw := readProven(c, h)
	if pw.finalized {
		return chain.Revert("portal: withdrawal already finalized")
	}
	// As the OP Stack's portal: a proof stands while the output it was
	// made against does; only once that output is gone may another replace
	// it (else anyone could restart a victim's wait forever).
	if pw.root != (common.Hash{}) {
		if prev, ok := outputFromState(c.State, &p.params, pw.index); ok && pw.index > 0 && prev.root == pw.root && prev.status != OutputDefeated {
			return chain.Revert("portal: withdrawal already proven against output %d, which stands", pw.index)
		}
	}
	c.Set(provenSlot(h, 0), common.BigToHash(idx))
	c.Set(provenSlot(h, 1), out.root)
	c.Set(provenSlot(h, 2), common.BigToHash(new(big.Int).SetUint64(c.Block.Time)))
	data, _ := PortalABI.Events["WithdrawalProven"].Inputs.NonIndexed().Pack(idx)
	c.Emit([]common.Hash{PortalABI.Events["WithdrawalProven"].ID, h, common.BytesToHash(w.Sender.Bytes()), common.BytesToHash(w.Target.Bytes())}, data)
	return nil
}

// finalize pays a proven withdrawal once both its output and its proof are
// older than the finalization period, and the output still stands.
func (p *Portal) finalize(c *chain.Call, raw []byte) error {
	w, err := DecodeWithdrawal(raw)
	if err != nil {
		return chain.Revert("portal: %v", err)
	}
	h := w.Hash()
	pw := readProven(c, h)
	switch {
	case pw.root == (common.Hash{}):
		return chain.Revert("portal: withdrawal not proven")
	case pw.finalized:
		return chain.Revert("portal: withdrawal already finalized")
	}
	out, ok := outputFromState(c.State, &p.params, pw.index)
	if !ok || out.root != pw.root || out.status == OutputDefeated {
		return chain.Revert("portal: the output this withdrawal was proven against was removed")
	}
	if out.open > 0 {
		return chain.Revert("portal: the output is being disputed")
	}
	now := c.Block.Time
	if now < pw.timestamp+p.params.FinalizationPeriod || now < out.timestamp+p.params.FinalizationPeriod {
		return chain.Revert("portal: challenge window open until %d", max(pw.timestamp, out.timestamp)+p.params.FinalizationPeriod)
	}
	if !NewOutputs(p.params).finalOutput(outputsOf(c.State), pw.index, now, true) {
		return chain.Revert("portal: an output before output %d is not yet final (or more than %d wait to be found final: call settle on the outputs contract)", pw.index, maxSettleSteps)
	}
	gas, ok := w.callGas()
	if !ok {
		return chain.Revert("portal: gas limit %v exceeds %d", w.GasLimit, MaxWithdrawalGas)
	}
	value, overflow := uint256.FromBig(w.Value)
	if overflow || c.State.GetBalance(c.Self).Cmp(value) < 0 {
		return chain.Revert("portal: not enough deposited funds")
	}
	// As the OP Stack's portal: the withdrawal is spent before the call, so
	// the target cannot finalize it twice, and a failed call does not make
	// it replayable (a messenger above the portal may offer replay).
	c.Set(provenSlot(h, 3), common.Hash{31: 1})
	c.Set(l2SenderSlot, common.BytesToHash(w.Sender.Bytes()))
	_, err = c.CallOut(w.Target, value, gas, w.Data)
	c.Set(l2SenderSlot, common.Hash{})
	if errors.Is(err, chain.ErrNoCallOut) {
		return err
	}
	data, _ := PortalABI.Events["WithdrawalFinalized"].Inputs.NonIndexed().Pack(err == nil)
	c.Emit([]common.Hash{PortalABI.Events["WithdrawalFinalized"].ID, h}, data)
	return nil
}

// RunNested implements chain.NestedCallee: while a withdrawal's target runs,
// it may ask l2Sender() who sent the withdrawal on L2, as contracts do on
// the OP Stack to authenticate a message.
func (*Portal) RunNested(state vm.StateDB, input []byte) ([]byte, error) {
	if len(input) < 4 || !bytes.Equal(input[:4], PortalABI.Methods["l2Sender"].ID) {
		return nil, chain.Revert("portal: only l2Sender() answers during a withdrawal's call")
	}
	sender := common.BytesToAddress(state.GetState(PortalAddress, l2SenderSlot).Bytes())
	if sender == (common.Address{}) {
		sender = DefaultL2Sender
	}
	return common.LeftPadBytes(sender.Bytes(), 32), nil
}

// verifyStorageProof checks an eth_getProof storage proof: the value at
// slot in the storage trie with this root.
func verifyStorageProof(root, slot common.Hash, proof [][]byte) ([]byte, error) {
	db := memorydb.New()
	for _, node := range proof {
		db.Put(crypto.Keccak256(node), node)
	}
	enc, err := trie.VerifyProof(root, crypto.Keccak256(slot[:]), db)
	if err != nil || len(enc) == 0 {
		return nil, fmt.Errorf("storage proof: %w", err)
	}
	_, content, _, err := rlp.Split(enc)
	return content, err
}
