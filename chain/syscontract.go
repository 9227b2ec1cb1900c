package chain

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// SystemContract is a contract written in Go that lives at a reserved address.
// A transaction whose recipient is that address runs it instead of EVM code.
// Calldata and return data use the Solidity ABI, logs are ordinary logs, and
// all state lives in the storage slots (and balance) of the contract's own
// address, so the state root covers it.
//
// Implementations must be deterministic: the same input and state give the
// same output, gas, logs and state changes on every machine.
type SystemContract interface {
	// Address is the reserved address the contract answers at.
	Address() common.Address
	// Name is a short human-readable name ("portal", "staking").
	Name() string
	// RequiredGas is the execution gas a call with this input costs, charged
	// before Run. It must depend on the input only.
	RequiredGas(input []byte) uint64
	// Run executes one call. An error wrapping ErrRevert reverts the call's
	// state changes and returns its data; any other error reverts and
	// consumes all gas, as a failed precompile does.
	Run(call *Call) ([]byte, error)
}

// ErrNotDirectCall is returned when a system contract is reached from EVM code
// instead of as a transaction's direct recipient. System contracts only know
// the sender and value of the transaction itself.
var ErrNotDirectCall = errors.New("system contract: callable only as a transaction's direct recipient")

// NestedCallee is a system contract that answers EVM code calling it back
// while it is itself calling out ([Call.CallOut]), as the portal answers
// l2Sender() to the target of a withdrawal. Such a call sees the state only:
// a system contract knows no caller or value but the transaction's, so any
// other call back into it, or into another system contract, reverts with
// [ErrNotDirectCall].
type NestedCallee interface {
	RunNested(state vm.StateDB, input []byte) ([]byte, error)
}

// ErrNoCallOut is returned by [Call.CallOut] on a Call that was not made by
// an EVM (a contract run directly, as tests and tools do).
var ErrNoCallOut = errors.New("system contract: no EVM to call out with")

// Call is what a system contract sees of one call.
type Call struct {
	State  vm.StateDB
	Block  vm.BlockContext
	Self   common.Address
	Caller common.Address
	Value  *uint256.Int // already credited to Self when Run starts
	Input  []byte
	// BlobHashes are the versioned hashes of the calling transaction's
	// blobs (EIP-4844), as BLOBHASH reads them; empty for other types.
	BlobHashes []common.Hash

	env *callEnv // the EVM running the call, for CallOut; nil outside one
}

// CallOut calls to from the contract's own address with value and exactly
// gas, as Solidity's to.call{value: value, gas: gas}(input) does, and
// returns what the callee returned. The contract must have charged that gas
// in RequiredGas: what the callee leaves is not refunded. A failed callee's
// state changes are reverted and its error returned; the contract's own
// changes stand unless Run then returns an error.
func (c *Call) CallOut(to common.Address, value *uint256.Int, gas uint64, input []byte) ([]byte, error) {
	if c.env == nil {
		return nil, ErrNoCallOut
	}
	ret, _, err := c.env.evm.Call(c.Self, to, input, vm.NewGasBudget(gas, 0), value)
	return ret, err
}

// Emit appends a log from the contract.
func (c *Call) Emit(topics []common.Hash, data []byte) {
	c.State.AddLog(&types.Log{
		Address:     c.Self,
		Topics:      topics,
		Data:        common.CopyBytes(data),
		BlockNumber: c.Block.BlockNumber.Uint64(),
	})
}

// Get reads a storage slot of the contract.
func (c *Call) Get(slot common.Hash) common.Hash { return c.State.GetState(c.Self, slot) }

// Set writes a storage slot of the contract.
func (c *Call) Set(slot, value common.Hash) { c.State.SetState(c.Self, slot, value) }

// RevertError carries ABI-encoded revert data. Use [Revert] or
// [RevertWith] to make one.
type RevertError struct {
	Reason string
	Data   []byte
	Cause  error // a sentinel error the revert stands for, or nil
}

func (e *RevertError) Error() string { return "execution reverted: " + e.Reason }

// Unwrap lets errors.Is(err, vm.ErrExecutionReverted) hold, and
// errors.Is(err, cause) for a revert made by RevertWith.
func (e *RevertError) Unwrap() []error {
	if e.Cause == nil {
		return []error{vm.ErrExecutionReverted}
	}
	return []error{vm.ErrExecutionReverted, e.Cause}
}

// RevertWith is Revert for a sentinel error: the reason is cause's text
// (after the formatted detail, when format is not empty), and the error
// keeps cause for errors.Is, in Go callers of a contract's Run.
func RevertWith(cause error, format string, args ...any) error {
	reason := cause.Error()
	if format != "" {
		reason = fmt.Sprintf(format, args...) + ": " + reason
	}
	return &RevertError{Reason: reason, Data: encodeRevertReason(reason), Cause: cause}
}

// Revert returns an error that reverts the call with Solidity's Error(string)
// encoding of the reason, as `revert("reason")` does.
func Revert(format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	return &RevertError{Reason: reason, Data: encodeRevertReason(reason)}
}

var revertSelector = []byte{0x08, 0xc3, 0x79, 0xa0} // keccak("Error(string)")[:4]

func encodeRevertReason(reason string) []byte {
	str, _ := abi.NewType("string", "", nil)
	packed, err := abi.Arguments{{Type: str}}.Pack(reason)
	if err != nil {
		return nil
	}
	return append(append([]byte{}, revertSelector...), packed...)
}

// SystemContracts is a set of system contracts, kept sorted by address.
type SystemContracts struct {
	list []SystemContract
}

// NewSystemContracts checks that addresses are distinct and do not shadow a
// standard precompile, and returns the set.
func NewSystemContracts(contracts ...SystemContract) (*SystemContracts, error) {
	seen := map[common.Address]string{}
	std := vm.ActivePrecompiledContracts(ChainConfig(1).Rules(common.Big0, true, 0))
	for _, c := range contracts {
		addr := c.Address()
		if prev, ok := seen[addr]; ok {
			return nil, fmt.Errorf("system contracts %q and %q share address %s", prev, c.Name(), addr)
		}
		if _, ok := std[addr]; ok {
			return nil, fmt.Errorf("system contract %q shadows precompile %s", c.Name(), addr)
		}
		seen[addr] = c.Name()
	}
	list := append([]SystemContract(nil), contracts...)
	sort.Slice(list, func(i, j int) bool { return list[i].Address().Cmp(list[j].Address()) < 0 })
	return &SystemContracts{list: list}, nil
}

// List returns the contracts in address order.
func (s *SystemContracts) List() []SystemContract {
	if s == nil {
		return nil
	}
	return s.list
}

// Lookup returns the contract at addr, if any.
func (s *SystemContracts) Lookup(addr common.Address) (SystemContract, bool) {
	for _, c := range s.List() {
		if c.Address() == addr {
			return c, true
		}
	}
	return nil, false
}

// callEnv ties the precompile adapters of one EVM to the message being run.
type callEnv struct {
	evm     *vm.EVM
	msg     *core.Message
	running bool // a system contract's Run is in progress
}

// install adds the system contracts to an EVM's precompile table and returns
// the environment through which the current message is told to them.
func (s *SystemContracts) install(evm *vm.EVM, rules params.Rules) *callEnv {
	env := &callEnv{evm: evm}
	if len(s.List()) == 0 {
		return env
	}
	table := maps.Clone(vm.ActivePrecompiledContracts(rules))
	for _, c := range s.list {
		table[c.Address()] = &precompile{sc: c, env: env}
	}
	evm.SetPrecompiles(table)
	return env
}

// precompile adapts a SystemContract to go-ethereum's precompile interface, so
// go-ethereum's own state transition does nonce, gas purchase, value transfer,
// refunds and the proposer's tip exactly as for any other transaction.
type precompile struct {
	sc  SystemContract
	env *callEnv
}

func (p *precompile) RequiredGas(input []byte) uint64 { return p.sc.RequiredGas(input) }
func (p *precompile) Name() string                    { return "cairn:" + p.sc.Name() }

func (p *precompile) Run(input []byte) (out []byte, err error) {
	// A system contract that panics on some input is a bug, but it must
	// not stop the chain: the call reverts, on every node alike.
	defer func() {
		if r := recover(); r != nil {
			slog.Error("System contract panicked", "contract", p.sc.Name(), "panic", r)
			rev := Revert("%s: internal error", p.sc.Name()).(*RevertError)
			out, err = rev.Data, vm.ErrExecutionReverted
		}
	}()
	msg := p.env.msg
	// A direct call is the first frame of its transaction: the transaction's
	// recipient is this contract, and no system contract is running yet
	// (while one is, any call into one comes from EVM code it called out to).
	direct := msg != nil && msg.To != nil && *msg.To == p.sc.Address()
	if direct && p.env.running {
		if n, ok := p.sc.(NestedCallee); ok {
			return revertData(n.RunNested(p.env.evm.StateDB, input))
		}
	}
	if !direct || p.env.running {
		return revertData(nil, RevertWith(ErrNotDirectCall, ""))
	}
	p.env.running = true
	defer func() { p.env.running = false }()
	value := new(uint256.Int)
	if msg.Value != nil {
		value.Set(msg.Value)
	}
	// A nonce keeps the contract's account from being "empty" under
	// EIP-161, which would delete it, storage and all, at the end of a
	// transaction that leaves it without balance.
	self := p.sc.Address()
	if p.env.evm.StateDB.GetNonce(self) == 0 {
		p.env.evm.StateDB.SetNonce(self, 1, tracing.NonceChangeUnspecified)
	}
	return revertData(p.sc.Run(&Call{
		State:  p.env.evm.StateDB,
		Block:  p.env.evm.Context,
		Self:   p.sc.Address(),
		Caller: msg.From,
		Value:  value,
		Input:  input,
		// direct: the transaction's own message
		BlobHashes: msg.BlobHashes,
		env:        p.env,
	}))
}

// revertData turns a RevertError into its return data and the EVM's revert
// error, so the caller sees the reason as from a Solidity revert.
func revertData(out []byte, err error) ([]byte, error) {
	var rev *RevertError
	if errors.As(err, &rev) {
		return rev.Data, vm.ErrExecutionReverted
	}
	return out, err
}

// ParseCall finds the method a system contract's input calls in its ABI and
// unpacks the arguments; on failure it returns an error that reverts with a
// reason prefixed by name.
func ParseCall(a *abi.ABI, name string, input []byte) (*abi.Method, []any, error) {
	if len(input) < 4 {
		return nil, nil, Revert("%s: unknown method", name)
	}
	m, err := a.MethodById(input[:4])
	if err != nil {
		return nil, nil, Revert("%s: unknown method", name)
	}
	args, err := m.Inputs.Unpack(input[4:])
	if err != nil {
		return nil, nil, Revert("%s: bad arguments: %v", name, err)
	}
	return m, args, nil
}

// MustParseABI parses a system contract's ABI JSON, which is a constant of
// the program: a parse error is a programming error and panics.
func MustParseABI(j string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(j))
	if err != nil {
		panic(err)
	}
	return a
}
