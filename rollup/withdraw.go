package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/chain"
)

// MessagePasserAddress is the L2 system contract that starts withdrawals, at
// the OP Stack's L2ToL1MessagePasser address.
var MessagePasserAddress = common.HexToAddress("0x4200000000000000000000000000000000000016")

const messagePasserABI = `[
{"type":"receive","stateMutability":"payable"},
{"type":"function","name":"initiateWithdrawal","stateMutability":"payable","inputs":[{"name":"target","type":"address"},{"name":"gasLimit","type":"uint256"},{"name":"data","type":"bytes"}],"outputs":[]},
{"type":"function","name":"messageNonce","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"sentMessages","stateMutability":"view","inputs":[{"name":"","type":"bytes32"}],"outputs":[{"name":"","type":"bool"}]},
{"type":"event","name":"MessagePassed","inputs":[{"name":"nonce","type":"uint256","indexed":true},{"name":"sender","type":"address","indexed":true},{"name":"target","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false},{"name":"gasLimit","type":"uint256","indexed":false},{"name":"data","type":"bytes","indexed":false},{"name":"withdrawalHash","type":"bytes32","indexed":false}]}
]`

// MessagePasserABI is the message passer's Solidity ABI (the OP Stack's
// L2ToL1MessagePasser, less burn()).
var MessagePasserABI = chain.MustParseABI(messagePasserABI)

// MessagePasserABIJSON is the ABI as JSON.
const MessagePasserABIJSON = messagePasserABI

var (
	messagePassedTopic = MessagePasserABI.Events["MessagePassed"].ID
	sentMessagesSlot   = common.Hash{}      // mapping(bytes32 => bool) at slot 0, as the OP Stack's
	messageNonceSlot   = common.Hash{31: 1} // uint256 at slot 1
)

// Withdrawal gas limits: the L1 gas the target's call on finalization gets.
const (
	// DefaultWithdrawalGas is the gas limit of a plain transfer to the
	// message passer, the OP Stack's RECEIVE_DEFAULT_GAS_LIMIT: enough for
	// a contract wallet to accept the ETH.
	DefaultWithdrawalGas = 100_000
	// MaxWithdrawalGas is the largest gas limit a withdrawal may ask for,
	// so every withdrawal fits one L1 transaction.
	MaxWithdrawalGas = 10_000_000
)

// Withdrawal is a message from L2 to L1: value (and data) from Sender on L2
// to Target on L1. Its hash is the OP Stack's.
type Withdrawal struct {
	Nonce    *big.Int
	Sender   common.Address
	Target   common.Address
	Value    *big.Int
	GasLimit *big.Int
	Data     []byte
}

var withdrawalArgs = func() abi.Arguments {
	u, _ := abi.NewType("uint256", "", nil)
	a, _ := abi.NewType("address", "", nil)
	b, _ := abi.NewType("bytes", "", nil)
	return abi.Arguments{{Type: u}, {Type: a}, {Type: a}, {Type: u}, {Type: u}, {Type: b}}
}()

// Encode is abi.encode(nonce, sender, target, value, gasLimit, data).
func (w *Withdrawal) Encode() []byte {
	out, err := withdrawalArgs.Pack(w.Nonce, w.Sender, w.Target, w.Value, w.GasLimit, w.Data)
	if err != nil {
		panic(err) // fixed types, always packable
	}
	return out
}

// Hash is keccak256 of Encode, the OP Stack's withdrawal hash.
func (w *Withdrawal) Hash() common.Hash { return crypto.Keccak256Hash(w.Encode()) }

// callGas is the gas the target's call gets on L1, when the gas limit is
// within MaxWithdrawalGas.
func (w *Withdrawal) callGas() (uint64, bool) {
	if w.GasLimit == nil || !w.GasLimit.IsUint64() || w.GasLimit.Uint64() > MaxWithdrawalGas {
		return 0, false
	}
	return w.GasLimit.Uint64(), true
}

// DecodeWithdrawal reverses Encode.
func DecodeWithdrawal(b []byte) (*Withdrawal, error) {
	v, err := withdrawalArgs.Unpack(b)
	if err != nil {
		return nil, fmt.Errorf("withdrawal: %w", err)
	}
	return &Withdrawal{Nonce: v[0].(*big.Int), Sender: v[1].(common.Address), Target: v[2].(common.Address),
		Value: v[3].(*big.Int), GasLimit: v[4].(*big.Int), Data: v[5].([]byte)}, nil
}

// StorageSlot is where the message passer marks this withdrawal as sent:
// sentMessages[hash] = true.
func (w *Withdrawal) StorageSlot() common.Hash {
	return crypto.Keccak256Hash(w.Hash().Bytes(), sentMessagesSlot.Bytes())
}

// MessagePasser is the L2 system contract that starts withdrawals. Sending
// ETH to it with no calldata withdraws to the same address on L1;
// initiateWithdrawal(target, gasLimit, data) names another. The value
// leaves the L2 (it is burned) and is paid on L1 from the portal once the
// withdrawal is proven against an output and the challenge window passed.
type MessagePasser struct{}

// Address implements chain.SystemContract.
func (MessagePasser) Address() common.Address { return MessagePasserAddress }

// Name implements chain.SystemContract.
func (MessagePasser) Name() string { return "message-passer" }

// RequiredGas implements chain.SystemContract: a withdrawal writes two slots
// and a log; a plain transfer fits in a wallet's 21,000 + this.
func (MessagePasser) RequiredGas(input []byte) uint64 {
	return 45_000 + 16*uint64(len(input))
}

// Run implements chain.SystemContract.
func (m MessagePasser) Run(c *chain.Call) ([]byte, error) {
	if len(c.Input) == 0 {
		return nil, m.initiate(c, c.Caller, big.NewInt(DefaultWithdrawalGas), nil)
	}
	meth, args, err := chain.ParseCall(&MessagePasserABI, "message passer", c.Input)
	if err != nil {
		return nil, err
	}
	switch meth.Name {
	case "initiateWithdrawal":
		data := args[2].([]byte)
		if len(data) > MaxDepositData {
			return nil, chain.Revert("message passer: data of %d bytes exceeds %d", len(data), MaxDepositData)
		}
		if gas := args[1].(*big.Int); gas.Cmp(big.NewInt(MaxWithdrawalGas)) > 0 {
			return nil, chain.Revert("message passer: gas limit %v exceeds %d", gas, MaxWithdrawalGas)
		}
		return nil, m.initiate(c, args[0].(common.Address), args[1].(*big.Int), data)
	case "messageNonce":
		return c.Get(messageNonceSlot).Bytes(), nil
	case "sentMessages":
		h := args[0].([32]byte)
		return c.Get(crypto.Keccak256Hash(h[:], sentMessagesSlot.Bytes())).Bytes(), nil
	}
	return nil, chain.Revert("message passer: unknown method")
}

func (MessagePasser) initiate(c *chain.Call, target common.Address, gasLimit *big.Int, data []byte) error {
	nonce := c.Get(messageNonceSlot).Big()
	w := &Withdrawal{Nonce: nonce, Sender: c.Caller, Target: target, Value: c.Value.ToBig(), GasLimit: gasLimit, Data: data}
	hash := w.Hash()
	c.Set(w.StorageSlot(), common.Hash{31: 1})
	c.Set(messageNonceSlot, common.BigToHash(new(big.Int).Add(nonce, common.Big1)))
	out, _ := MessagePasserABI.Events["MessagePassed"].Inputs.NonIndexed().Pack(w.Value, w.GasLimit, w.Data, hash)
	c.Emit([]common.Hash{messagePassedTopic, common.BigToHash(nonce), common.BytesToHash(c.Caller.Bytes()), common.BytesToHash(target.Bytes())}, out)
	// The value leaves the L2.
	c.State.SubBalance(c.Self, c.Value, tracing.BalanceChangeUnspecified)
	return nil
}

// ErrNotWithdrawal is returned for a log that is not a MessagePassed event.
var ErrNotWithdrawal = errors.New("not a withdrawal log")

// ParseWithdrawal decodes a MessagePassed log.
func ParseWithdrawal(l *types.Log) (*Withdrawal, error) {
	if l.Address != MessagePasserAddress || len(l.Topics) != 4 || l.Topics[0] != messagePassedTopic {
		return nil, ErrNotWithdrawal
	}
	v, err := MessagePasserABI.Events["MessagePassed"].Inputs.NonIndexed().Unpack(l.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotWithdrawal, err)
	}
	return &Withdrawal{Nonce: l.Topics[1].Big(), Sender: common.BytesToAddress(l.Topics[2].Bytes()), Target: common.BytesToAddress(l.Topics[3].Bytes()),
		Value: v[0].(*big.Int), GasLimit: v[1].(*big.Int), Data: v[2].([]byte)}, nil
}

// outputVersion is the output root format: the OP Stack's version 0 with
// derivation's position appended (see Position), as version 1.
var outputVersion = common.Hash{31: 1}

// OutputRoot is the output root of an L2 block: keccak256(version 1 ‖
// state root ‖ message passer storage root ‖ block hash ‖ position word).
// The OP Stack's version 0 stops at the block hash; the position lets the
// one-step proof check that the block is the one derivation made next.
func OutputRoot(stateRoot, messagePasserRoot, blockHash common.Hash, pos Position) common.Hash {
	return crypto.Keccak256Hash(outputVersion[:], stateRoot.Bytes(), messagePasserRoot.Bytes(), blockHash.Bytes(), pos.Word().Bytes())
}

// Output is an output root with its preimage.
type Output struct {
	Number            uint64
	StateRoot         common.Hash
	MessagePasserRoot common.Hash
	BlockHash         common.Hash
	Position          Position
}

// Root returns the output root.
func (o *Output) Root() common.Hash {
	return OutputRoot(o.StateRoot, o.MessagePasserRoot, o.BlockHash, o.Position)
}

// OutputJSON is an output as rollup_outputAtBlock returns it.
type OutputJSON struct {
	OutputRoot        common.Hash    `json:"outputRoot"`
	BlockNumber       hexutil.Uint64 `json:"blockNumber"`
	StateRoot         common.Hash    `json:"stateRoot"`
	MessagePasserRoot common.Hash    `json:"messagePasserRoot"`
	BlockHash         common.Hash    `json:"blockHash"`
	Position          common.Hash    `json:"position"` // Position.Word
}

// JSON is the output as rollup_outputAtBlock returns it.
func (o *Output) JSON() *OutputJSON {
	return &OutputJSON{OutputRoot: o.Root(), BlockNumber: hexutil.Uint64(o.Number), StateRoot: o.StateRoot,
		MessagePasserRoot: o.MessagePasserRoot, BlockHash: o.BlockHash, Position: o.Position.Word()}
}

// ErrNotDerived is returned for the output of a block derivation has not
// made (an unsafe block): its position is not known.
var ErrNotDerived = errors.New("L2 block not derived from L1")

// OutputAt computes the output of a stored safe L2 block.
func OutputAt(store *chain.Store, number uint64) (*Output, error) {
	h := store.GetHeaderByNumber(number)
	if h == nil {
		return nil, fmt.Errorf("no L2 block %d", number)
	}
	pos, ok := ReadPosition(store.Database(), number)
	if !ok {
		return nil, fmt.Errorf("%w: block %d", ErrNotDerived, number)
	}
	mp, err := messagePasserRoot(store, number, h.Hash())
	if err != nil {
		return nil, err
	}
	return &Output{Number: number, StateRoot: h.Root, MessagePasserRoot: mp, BlockHash: h.Hash(), Position: pos}, nil
}

// messagePasserRoot is the message passer's storage root after a stored
// block: kept at commit (mpRootKey), so it outlives the block's state, or
// read from the state (the genesis).
func messagePasserRoot(store *chain.Store, number uint64, hash common.Hash) (common.Hash, error) {
	if raw, err := store.Database().Get(mpRootKey(number, hash)); err == nil && len(raw) == common.HashLength {
		return common.BytesToHash(raw), nil
	}
	h := store.GetHeader(hash, number)
	if h == nil {
		return common.Hash{}, fmt.Errorf("no L2 block %d %s", number, hash)
	}
	st, err := store.StateAt(h.Root)
	if err != nil {
		return common.Hash{}, err
	}
	return st.GetStorageRoot(MessagePasserAddress), nil
}

// mpRootKey is where a node keeps a block's message passer storage root.
func mpRootKey(number uint64, hash common.Hash) []byte {
	return append(binary.BigEndian.AppendUint64([]byte("cairn-rollup-mproot-"), number), hash[:]...)
}

// L2System returns the L2's system contracts.
func L2System() *chain.SystemContracts {
	s, err := chain.NewSystemContracts(MessagePasser{})
	if err != nil {
		panic(err)
	}
	return s
}
