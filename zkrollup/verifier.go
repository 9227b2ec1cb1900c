package zkrollup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// VerifierAddress is the ZK rollup's L1 contract.
var VerifierAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0200")

// VerifierParams are the L1 contract's rules, fixed at L1 genesis.
type VerifierParams struct {
	Slots int `json:"slots"` // ops per batch
	Depth int `json:"depth"` // account tree depth
	// VerifyingKey is the Groth16 key of the circuit for Slots and Depth.
	// Empty, the operator installs it once (installVerifyingKey): how a
	// devnet starts before its first setup ends. A real deployment fixes it
	// here, from a multi-party ceremony.
	VerifyingKey []byte         `json:"verifyingKey,omitempty"`
	GenesisRoot  common.Hash    `json:"genesisRoot"`
	Operator     common.Address `json:"operator"` // who submits batches
	// PriorityDeadline is how many L1 blocks the operator has to process a
	// deposit or exit request before anyone may switch the contract to
	// exit mode.
	PriorityDeadline uint64 `json:"priorityDeadline"`
	// PrioritySpacing is how many L1 blocks the operator is granted per
	// priority op: an op's deadline is PriorityDeadline blocks away, and at
	// least PrioritySpacing after the deadline of the op before it. A burst
	// of requests then pushes deadlines out instead of outrunning the
	// operator into exit mode. 0 grants nothing more.
	PrioritySpacing uint64 `json:"prioritySpacing,omitempty"`
	// PriorityFee is the wei a full-exit request pays, to the operator.
	PriorityFee *big.Int `json:"priorityFee,omitempty"`
	// MinDeposit is the smallest deposit, in gwei, so that filling the
	// account tree costs real money.
	MinDeposit uint64 `json:"minDeposit,omitempty"`
	// GenesisAccounts are the owners of the genesis tree's accounts, by
	// index (GenesisTree: the operator's account 0). Deposits open the
	// next accounts in queue order, as the operator numbers them.
	GenesisAccounts []common.Address `json:"genesisAccounts,omitempty"`
	// L1ChainID is the L1's chain ID: with the contract's address, the
	// Domain every signature of the rollup is bound to.
	L1ChainID uint64 `json:"l1ChainId"`
}

// Domain is the deployment's signature domain.
func (p VerifierParams) Domain() Domain {
	return Domain{ChainID: p.L1ChainID, Contract: VerifierAddress}
}

const verifierABIJSON = `[
{"type":"receive","stateMutability":"payable"},
{"type":"function","name":"deposit","stateMutability":"payable","inputs":[{"name":"to","type":"address"}],"outputs":[]},
{"type":"function","name":"requestExit","stateMutability":"payable","inputs":[{"name":"account","type":"uint32"}],"outputs":[]},
{"type":"function","name":"submitBatch","stateMutability":"nonpayable","inputs":[{"name":"newRoot","type":"bytes32"},{"name":"pubdata","type":"bytes"},{"name":"proof","type":"bytes"}],"outputs":[]},
{"type":"function","name":"installVerifyingKey","stateMutability":"nonpayable","inputs":[{"name":"key","type":"bytes"}],"outputs":[]},
{"type":"function","name":"activateExitMode","stateMutability":"nonpayable","inputs":[],"outputs":[]},
{"type":"function","name":"exit","stateMutability":"nonpayable","inputs":[{"name":"account","type":"uint32"},{"name":"owner","type":"address"},{"name":"pubX","type":"bytes32"},{"name":"pubY","type":"bytes32"},{"name":"nonce","type":"uint64"},{"name":"balance","type":"uint64"},{"name":"siblings","type":"bytes32[]"}],"outputs":[]},
{"type":"function","name":"cancelDeposit","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"}],"outputs":[]},
{"type":"function","name":"rules","stateMutability":"view","inputs":[],"outputs":[{"name":"slots","type":"uint32"},{"name":"depth","type":"uint32"},{"name":"operator","type":"address"},{"name":"priorityDeadline","type":"uint64"},{"name":"genesisRoot","type":"bytes32"},{"name":"prioritySpacing","type":"uint64"},{"name":"priorityFee","type":"uint256"},{"name":"minDeposit","type":"uint64"},{"name":"l1ChainId","type":"uint64"}]},
{"type":"function","name":"accountOf","stateMutability":"view","inputs":[{"name":"owner","type":"address"}],"outputs":[{"name":"account","type":"uint32"},{"name":"exists","type":"bool"}]},
{"type":"function","name":"stateRoot","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"bytes32"}]},
{"type":"function","name":"batchCount","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"exitMode","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"bool"}]},
{"type":"function","name":"verifyingKey","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"bytes"}]},
{"type":"function","name":"priorityQueue","stateMutability":"view","inputs":[],"outputs":[{"name":"head","type":"uint256"},{"name":"tail","type":"uint256"}]},
{"type":"function","name":"priorityOp","stateMutability":"view","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"opType","type":"uint8"},{"name":"owner","type":"address"},{"name":"account","type":"uint32"},{"name":"amount","type":"uint64"},{"name":"deadline","type":"uint64"}]},
{"type":"event","name":"BatchVerified","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"newRoot","type":"bytes32","indexed":true},{"name":"pubdata","type":"bytes","indexed":false}]},
{"type":"event","name":"PriorityOp","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"owner","type":"address","indexed":true},{"name":"opType","type":"uint8","indexed":false},{"name":"account","type":"uint32","indexed":false},{"name":"amount","type":"uint64","indexed":false},{"name":"deadline","type":"uint64","indexed":false}]},
{"type":"event","name":"Withdrawal","inputs":[{"name":"to","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"ExitMode","inputs":[{"name":"blockNumber","type":"uint64","indexed":false}]}
]`

// VerifierABI is the L1 contract's ABI.
var VerifierABI = chain.MustParseABI(verifierABIJSON)

// VerifierABIJSON is the L1 contract's ABI as JSON, for ethers, viem and cast.
const VerifierABIJSON = verifierABIJSON

// Gas of the L1 contract: a price per method and per record, so it depends
// on the input only. Verifying a batch is priced as a precompile pairing
// check (EIP-197 prices 4 pairings at 181,000) plus the public-data hashing.
const (
	VerifyGas     = 250_000
	ecrecoverGas  = 3_000
	payGas        = 9_000
	priorityOpGas = 50_000
	exitGas       = 60_000
	exitLevelGas  = 1_000
	keyWordGas    = 20_000
	smallCallGas  = 30_000
	viewGas       = 2_600
	gweiPerEth    = 1_000_000_000
)

var (
	rootSlot     = common.Hash{31: 1}
	countSlot    = common.Hash{31: 2}
	headSlot     = common.Hash{31: 3}
	tailSlot     = common.Hash{31: 4}
	exitModeSlot = common.Hash{31: 5}
	keyLenSlot   = common.Hash{31: 6}
	lastDueSlot  = common.Hash{31: 7} // the deadline of the newest priority op
	accountsSlot = common.Hash{31: 8} // accounts the deposits have opened, the operator's included
)

func indexedSlot(tag string, i uint64, word uint64) common.Hash {
	h := crypto.Keccak256Hash([]byte(tag), common.BigToHash(new(big.Int).SetUint64(i)).Bytes())
	return common.BigToHash(new(big.Int).Add(h.Big(), new(big.Int).SetUint64(word)))
}

// Sentinel errors of the L1 contract.
var (
	ErrProof    = errors.New("batch proof does not verify")
	ErrNoKey    = errors.New("no verifying key installed")
	ErrPriority = errors.New("batch does not match the priority queue")
)

// Verifier is the ZK rollup's L1 contract. It holds the verified state root
// and moves it only for a batch whose Groth16 proof verifies; keeps the
// priority queue of deposits and exit requests, which batches must process
// in order; pays withdrawals when their batch verifies; and, once a
// priority op waits past its deadline, switches to exit mode, where every
// owner withdraws their verified balance with a Merkle proof and no
// operator.
type Verifier struct {
	p  VerifierParams
	mu sync.Mutex
	vk map[[32]byte]groth16.VerifyingKey // parsed keys by hash
}

// NewVerifier returns the L1 contract.
func NewVerifier(p VerifierParams) *Verifier {
	return &Verifier{p: p, vk: map[[32]byte]groth16.VerifyingKey{}}
}

// Address implements chain.SystemContract.
func (v *Verifier) Address() common.Address { return VerifierAddress }

// Name implements chain.SystemContract.
func (v *Verifier) Name() string { return "zk-verifier" }

// RequiredGas implements chain.SystemContract.
func (v *Verifier) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return priorityOpGas // a plain deposit
	}
	m, err := VerifierABI.MethodById(input[:4])
	if err != nil {
		return smallCallGas
	}
	switch m.Name {
	case "submitBatch":
		return VerifyGas + 8*uint64(len(input)) + opsGas(m.Inputs, input[4:])
	case "deposit", "requestExit":
		return priorityOpGas
	case "exit":
		return exitGas + exitLevelGas*uint64(v.p.Depth)
	case "installVerifyingKey":
		return keyWordGas * (uint64(len(input))/32 + 1)
	case "activateExitMode", "cancelDeposit":
		return smallCallGas
	}
	return viewGas
}

// opsGas prices what a batch's records make the contract do beyond the
// proof: recover a registration's signer (3,000, as ecrecover) or pay a
// withdrawal (9,000, as a value call). Undecodable input costs nothing
// more: it is refused.
func opsGas(args abi.Arguments, input []byte) uint64 {
	vals, err := args.Unpack(input)
	if err != nil {
		return 0
	}
	_, ops, err := DecodeOps(vals[1].([]byte))
	if err != nil {
		return 0
	}
	var gas uint64
	for _, op := range ops {
		switch op.Type {
		case OpRegister:
			gas += ecrecoverGas
		case OpWithdraw, OpFullExit:
			gas += payGas
		}
	}
	return gas
}

// Run implements chain.SystemContract.
func (v *Verifier) Run(c *chain.Call) ([]byte, error) {
	if len(c.Input) == 0 {
		return nil, v.deposit(c, c.Caller)
	}
	m, args, err := chain.ParseCall(&VerifierABI, "zk rollup", c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && c.Value.Sign() != 0 {
		return nil, chain.Revert("zk rollup: %s takes no value", m.Name)
	}
	exitMode := c.Get(exitModeSlot) != (common.Hash{})
	switch m.Name {
	case "deposit":
		return nil, v.deposit(c, args[0].(common.Address))
	case "requestExit":
		if exitMode {
			return nil, chain.Revert("zk rollup: in exit mode")
		}
		account := uint64(args[0].(uint32))
		if own, ok := v.accountOf(c, c.Caller); !ok || own != account {
			return nil, chain.Revert("zk rollup: only the owner of account %d may request its exit", account)
		}
		fee := v.p.PriorityFee
		if fee == nil {
			fee = new(big.Int)
		}
		if c.Value.ToBig().Cmp(fee) != 0 {
			return nil, chain.Revert("zk rollup: an exit request pays %v wei", fee)
		}
		if !c.Value.IsZero() {
			c.State.SubBalance(c.Self, c.Value, tracing.BalanceChangeUnspecified)
			c.State.AddBalance(v.p.Operator, c.Value, tracing.BalanceChangeUnspecified)
		}
		return nil, v.enqueue(c, OpFullExit, c.Caller, account, 0)
	case "submitBatch":
		if c.Caller != v.p.Operator {
			return nil, chain.Revert("zk rollup: only the operator submits batches")
		}
		if exitMode {
			return nil, chain.Revert("zk rollup: in exit mode")
		}
		return nil, v.submit(c, common.Hash(args[0].([32]byte)), args[1].([]byte), args[2].([]byte))
	case "installVerifyingKey":
		if c.Caller != v.p.Operator {
			return nil, chain.Revert("zk rollup: only the operator installs the key")
		}
		if len(v.p.VerifyingKey) > 0 || c.Get(keyLenSlot) != (common.Hash{}) {
			return nil, chain.Revert("zk rollup: the verifying key is already set")
		}
		key := args[0].([]byte)
		if _, err := v.parseKey(key); err != nil {
			return nil, chain.Revert("zk rollup: %v", err)
		}
		v.storeKey(c, key)
		return nil, nil
	case "activateExitMode":
		if exitMode {
			return nil, chain.Revert("zk rollup: already in exit mode")
		}
		head, tail := c.Get(headSlot).Big().Uint64(), c.Get(tailSlot).Big().Uint64()
		if head == tail || loadPriority(c, head).deadline >= c.Block.BlockNumber.Uint64() {
			return nil, chain.Revert("zk rollup: no priority op is overdue")
		}
		c.Set(exitModeSlot, common.Hash{31: 1})
		data, _ := VerifierABI.Events["ExitMode"].Inputs.Pack(c.Block.BlockNumber.Uint64())
		c.Emit([]common.Hash{VerifierABI.Events["ExitMode"].ID}, data)
		return nil, nil
	case "exit":
		if !exitMode {
			return nil, chain.Revert("zk rollup: not in exit mode")
		}
		return nil, v.exit(c, args)
	case "cancelDeposit":
		if !exitMode {
			return nil, chain.Revert("zk rollup: not in exit mode")
		}
		return nil, v.cancelDeposit(c, args[0].(*big.Int))
	case "rules":
		fee := v.p.PriorityFee
		if fee == nil {
			fee = new(big.Int)
		}
		return m.Outputs.Pack(uint32(v.p.Slots), uint32(v.p.Depth), v.p.Operator, v.p.PriorityDeadline, [32]byte(v.p.GenesisRoot), v.p.PrioritySpacing, fee, v.p.MinDeposit, v.p.L1ChainID)
	case "accountOf":
		i, ok := v.accountOf(c, args[0].(common.Address))
		return m.Outputs.Pack(uint32(i), ok)
	case "stateRoot":
		return v.root(c).Bytes(), nil
	case "batchCount":
		return c.Get(countSlot).Bytes(), nil
	case "exitMode":
		return m.Outputs.Pack(exitMode)
	case "verifyingKey":
		return m.Outputs.Pack(v.key(c))
	case "priorityQueue":
		return m.Outputs.Pack(c.Get(headSlot).Big(), c.Get(tailSlot).Big())
	case "priorityOp":
		i := args[0].(*big.Int)
		if !i.IsUint64() || i.Uint64() >= c.Get(tailSlot).Big().Uint64() {
			return nil, chain.Revert("zk rollup: no priority op %v", i)
		}
		p := loadPriority(c, i.Uint64())
		return m.Outputs.Pack(uint8(p.op.Type), p.op.Address, uint32(p.op.Account), p.op.Amount, p.deadline)
	}
	return nil, chain.Revert("zk rollup: unknown method")
}

func (v *Verifier) root(c *chain.Call) common.Hash {
	if r := c.Get(rootSlot); r != (common.Hash{}) {
		return r
	}
	return v.p.GenesisRoot
}

// deposit queues a credit of the call's value, in gwei, to the account of to.
func (v *Verifier) deposit(c *chain.Call, to common.Address) error {
	if c.Get(exitModeSlot) != (common.Hash{}) {
		return chain.Revert("zk rollup: in exit mode")
	}
	gwei := new(uint256.Int)
	if rem := new(uint256.Int).Mod(c.Value, uint256.NewInt(gweiPerEth)); !rem.IsZero() || c.Value.IsZero() {
		return chain.Revert("zk rollup: deposit a positive whole number of gwei")
	}
	gwei.Div(c.Value, uint256.NewInt(gweiPerEth))
	if !gwei.IsUint64() {
		return chain.Revert("zk rollup: deposit too large")
	}
	if gwei.Uint64() < v.p.MinDeposit {
		return chain.Revert("zk rollup: the smallest deposit is %d gwei", v.p.MinDeposit)
	}
	if to == (common.Address{}) {
		return chain.Revert("zk rollup: deposit to the zero address")
	}
	// The contract numbers accounts as the operator does, in queue order,
	// so it refuses a deposit that would open one past the tree's end
	// rather than leave the operator a priority op it cannot process.
	if _, ok := v.accountOf(c, to); !ok {
		n := v.accounts(c)
		if n >= 1<<v.p.Depth {
			return chain.Revert("zk rollup: the account tree is full")
		}
		c.Set(ownerSlot(to), common.BigToHash(new(big.Int).SetUint64(n+1)))
		c.Set(accountsSlot, common.BigToHash(new(big.Int).SetUint64(n+1)))
	}
	return v.enqueue(c, OpDeposit, to, 0, gwei.Uint64())
}

func ownerSlot(a common.Address) common.Hash {
	return crypto.Keccak256Hash([]byte("zk.owner"), a.Bytes())
}

// accounts is how many accounts the tree has: the genesis tree's and the
// ones deposits opened.
func (v *Verifier) accounts(c *chain.Call) uint64 {
	return max(uint64(len(v.p.GenesisAccounts)), c.Get(accountsSlot).Big().Uint64())
}

// accountOf is the account of an L1 address: its genesis account, or the
// one its first deposit opened.
func (v *Verifier) accountOf(c *chain.Call, a common.Address) (uint64, bool) {
	for i, g := range v.p.GenesisAccounts {
		if g == a {
			return uint64(i), true
		}
	}
	n := c.Get(ownerSlot(a)).Big().Uint64()
	return n - min(n, 1), n > 0
}

// priority is one queued L1 operation.
type priority struct {
	op        Op // Type, Address, and Account (full exit) or Amount (deposit)
	deadline  uint64
	cancelled bool
}

func (v *Verifier) enqueue(c *chain.Call, t OpType, owner common.Address, account, amount uint64) error {
	i := c.Get(tailSlot).Big().Uint64()
	deadline := max(c.Block.BlockNumber.Uint64()+v.p.PriorityDeadline, c.Get(lastDueSlot).Big().Uint64()+v.p.PrioritySpacing)
	c.Set(lastDueSlot, common.BigToHash(new(big.Int).SetUint64(deadline)))
	var w0, w1 common.Hash
	w0[0] = byte(t)
	copy(w0[1:21], owner.Bytes())
	new(big.Int).SetUint64(account).FillBytes(w0[21:29])
	new(big.Int).SetUint64(amount).FillBytes(w1[0:8])
	new(big.Int).SetUint64(deadline).FillBytes(w1[8:16])
	c.Set(indexedSlot("zk.queue", i, 0), w0)
	c.Set(indexedSlot("zk.queue", i, 1), w1)
	c.Set(tailSlot, common.BigToHash(new(big.Int).SetUint64(i+1)))
	ev := VerifierABI.Events["PriorityOp"]
	data, _ := ev.Inputs.NonIndexed().Pack(uint8(t), uint32(account), amount, deadline)
	c.Emit([]common.Hash{ev.ID, common.BigToHash(new(big.Int).SetUint64(i)), common.BytesToHash(owner.Bytes())}, data)
	return nil
}

func loadPriority(c *chain.Call, i uint64) priority {
	w0, w1 := c.Get(indexedSlot("zk.queue", i, 0)), c.Get(indexedSlot("zk.queue", i, 1))
	return priority{
		op: Op{
			Type:    OpType(w0[0]),
			Address: common.BytesToAddress(w0[1:21]),
			Account: new(big.Int).SetBytes(w0[21:29]).Uint64(),
			Amount:  new(big.Int).SetBytes(w1[0:8]).Uint64(),
		},
		deadline:  new(big.Int).SetBytes(w1[8:16]).Uint64(),
		cancelled: w1[16] != 0,
	}
}

// ErrNonCanonical is returned for a root that is not a field element's
// canonical encoding: the proof checks it reduced mod r, so root and
// root + r would both verify, and the contract would store bytes that no
// tree has, breaking exits and the rebuild from L1.
var ErrNonCanonical = errors.New("root is not below the field modulus")

// submit verifies a batch and applies its effects on L1.
func (v *Verifier) submit(c *chain.Call, newRoot common.Hash, pubdata, proof []byte) error {
	var root fr.Element
	if root.SetBytesCanonical(newRoot[:]) != nil {
		return chain.Revert("zk rollup: %v: %s", ErrNonCanonical, newRoot)
	}
	_, ops, err := DecodeOps(pubdata)
	if err != nil {
		return chain.Revert("zk rollup: %v", err)
	}
	// Priority ops in queue order; registrations signed by their owner.
	head, tail := c.Get(headSlot).Big().Uint64(), c.Get(tailSlot).Big().Uint64()
	for i := range ops {
		op := &ops[i]
		switch op.Type {
		case OpDeposit, OpFullExit:
			if head >= tail {
				return chain.Revert("zk rollup: %v: op %d has no queued request", ErrPriority, i)
			}
			want := loadPriority(c, head).op
			if want.Type != op.Type || want.Address != op.Address ||
				(op.Type == OpDeposit && want.Amount != op.Amount) || (op.Type == OpFullExit && want.Account != op.Account) {
				return chain.Revert("zk rollup: %v: op %d is not request %d", ErrPriority, i, head)
			}
			head++
		case OpRegister:
			signer, err := registrant(v.p.Domain(), op.Account, op.PubKey, op.Sig)
			if err != nil || signer != op.Address {
				return chain.Revert("zk rollup: op %d: registration not signed by %s", i, op.Address)
			}
		}
	}
	if err := v.verify(c, v.root(c), newRoot, pubdata, proof); err != nil {
		return chain.Revert("zk rollup: %v", err)
	}
	for i := range ops {
		if op := &ops[i]; (op.Type == OpWithdraw || op.Type == OpFullExit) && op.Amount > 0 {
			if err := v.pay(c, op.Address, op.Amount); err != nil {
				return err
			}
		}
	}
	c.Set(headSlot, common.BigToHash(new(big.Int).SetUint64(head)))
	c.Set(rootSlot, newRoot)
	n := c.Get(countSlot).Big()
	c.Set(countSlot, common.BigToHash(new(big.Int).Add(n, common.Big1)))
	ev := VerifierABI.Events["BatchVerified"]
	data, _ := ev.Inputs.NonIndexed().Pack(pubdata)
	c.Emit([]common.Hash{ev.ID, common.BigToHash(n), newRoot}, data)
	return nil
}

// pay sends gwei from the contract's balance to an L1 address; it reverts
// rather than pay out more than the contract holds.
func (v *Verifier) pay(c *chain.Call, to common.Address, gwei uint64) error {
	wei := new(uint256.Int).Mul(uint256.NewInt(gwei), uint256.NewInt(gweiPerEth))
	if c.State.GetBalance(c.Self).Cmp(wei) < 0 {
		return chain.Revert("zk rollup: %d gwei to pay, the contract holds less", gwei)
	}
	c.State.SubBalance(c.Self, wei, tracing.BalanceChangeUnspecified)
	c.State.AddBalance(to, wei, tracing.BalanceChangeUnspecified)
	ev := VerifierABI.Events["Withdrawal"]
	data, _ := ev.Inputs.NonIndexed().Pack(wei.ToBig())
	c.Emit([]common.Hash{ev.ID, common.BytesToHash(to.Bytes())}, data)
	return nil
}

// exit pays an account's balance at the last verified root to its owner,
// once, given the account's leaf and Merkle path.
func (v *Verifier) exit(c *chain.Call, args []any) error {
	account := uint64(args[0].(uint32))
	a := Account{Address: args[1].(common.Address), Nonce: args[4].(uint64), Balance: args[5].(uint64)}
	x, y := args[2].([32]byte), args[3].([32]byte)
	if a.PubX.SetBytesCanonical(x[:]) != nil || a.PubY.SetBytesCanonical(y[:]) != nil {
		return chain.Revert("zk rollup: key coordinates outside the field")
	}
	raw := args[6].([][32]byte)
	if len(raw) != v.p.Depth || account >= 1<<v.p.Depth {
		return chain.Revert("zk rollup: want %d siblings and an account below 2^%d", v.p.Depth, v.p.Depth)
	}
	siblings := make([]fr.Element, len(raw))
	for i, s := range raw {
		if siblings[i].SetBytesCanonical(s[:]) != nil {
			return chain.Revert("zk rollup: sibling %d outside the field", i)
		}
	}
	if rootBytes(RootFrom(a.Hash(), account, siblings)) != v.root(c) {
		return chain.Revert("zk rollup: the account is not in the verified root")
	}
	done := indexedSlot("zk.exited", account, 0)
	if c.Get(done) != (common.Hash{}) {
		return chain.Revert("zk rollup: account %d already exited", account)
	}
	c.Set(done, common.Hash{31: 1})
	if a.Balance > 0 {
		return v.pay(c, a.Address, a.Balance)
	}
	return nil
}

// cancelDeposit refunds a deposit the operator never processed.
func (v *Verifier) cancelDeposit(c *chain.Call, index *big.Int) error {
	head, tail := c.Get(headSlot).Big().Uint64(), c.Get(tailSlot).Big().Uint64()
	if !index.IsUint64() || index.Uint64() < head || index.Uint64() >= tail {
		return chain.Revert("zk rollup: priority op %v is not pending", index)
	}
	i := index.Uint64()
	p := loadPriority(c, i)
	if p.op.Type != OpDeposit || p.cancelled {
		return chain.Revert("zk rollup: priority op %d is not a refundable deposit", i)
	}
	w1 := c.Get(indexedSlot("zk.queue", i, 1))
	w1[16] = 1
	c.Set(indexedSlot("zk.queue", i, 1), w1)
	return v.pay(c, p.op.Address, p.op.Amount)
}

// key returns the verifying key: the genesis one, or the installed one.
func (v *Verifier) key(c *chain.Call) []byte {
	if len(v.p.VerifyingKey) > 0 {
		return v.p.VerifyingKey
	}
	n := c.Get(keyLenSlot).Big().Uint64()
	out := make([]byte, 0, n+31)
	for w := uint64(0); uint64(len(out)) < n; w++ {
		word := c.Get(indexedSlot("zk.key", 0, w))
		out = append(out, word[:]...)
	}
	return out[:n]
}

func (v *Verifier) storeKey(c *chain.Call, key []byte) {
	c.Set(keyLenSlot, common.BigToHash(big.NewInt(int64(len(key)))))
	for w := 0; w*32 < len(key); w++ {
		var word common.Hash
		copy(word[:], key[w*32:])
		c.Set(indexedSlot("zk.key", 0, uint64(w)), word)
	}
}

func (v *Verifier) parseKey(key []byte) (groth16.VerifyingKey, error) {
	h := sha256.Sum256(key)
	v.mu.Lock()
	defer v.mu.Unlock()
	if vk, ok := v.vk[h]; ok {
		return vk, nil
	}
	if err := checkKeyEncoding(key); err != nil {
		return nil, fmt.Errorf("verifying key: %w", err)
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(bytes.NewReader(key)); err != nil {
		return nil, fmt.Errorf("verifying key: %w", err)
	}
	if vk.NbPublicWitness() != 3 {
		return nil, fmt.Errorf("verifying key: %d public inputs, want 3", vk.NbPublicWitness())
	}
	v.vk[h] = vk
	return vk, nil
}

// verify checks a batch proof against the roots and the public data.
func (v *Verifier) verify(c *chain.Call, oldRoot, newRoot common.Hash, pubdata, proofBytes []byte) error {
	raw := v.key(c)
	if len(raw) == 0 {
		return ErrNoKey
	}
	vk, err := v.parseKey(raw)
	if err != nil {
		return err
	}
	h, err := PubDataHash(v.p.Domain(), pubdata, v.p.Slots)
	if err != nil {
		return err
	}
	assignment := &BatchCircuit{OldRoot: oldRoot.Big(), NewRoot: newRoot.Big(), PubDataHash: toBig(h)}
	public, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return err
	}
	proof, err := readProof(proofBytes)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	if err := groth16.Verify(proof, vk, public); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	return nil
}

// rootBytes is a root as the contract stores it.
func rootBytes(e fr.Element) common.Hash { return common.Hash(e.Bytes()) }
