package rollup

import (
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// OutputsAddress is the L1 system contract holding output proposals and
// their dispute games.
var OutputsAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0101")

// L1Params are the rules of the rollup's L1 contracts. They are fixed when
// the L1 starts, and must not depend on the L1's own blocks.
type L1Params struct {
	L2ChainID   uint64         `json:"l2ChainId"`
	Batcher     common.Address `json:"batcher"` // whose inbox transactions are recorded
	L1FeeScalar uint64         `json:"l1FeeScalar"`
	// GenesisOutput is the output root of L2 block 0: the agreed start of
	// every dispute over the first output.
	GenesisOutput common.Hash `json:"genesisOutput"`
	// FinalizationPeriod is the challenge window in seconds of L1 time:
	// an output is final, and withdrawals proven against it payable, this
	// long after it was proposed (and after the withdrawal was proven).
	FinalizationPeriod uint64   `json:"finalizationPeriod"`
	ProposerBond       *big.Int `json:"proposerBond"`
	ChallengerBond     *big.Int `json:"challengerBond"`
	// MoveTimeout is each party's clock, in seconds, for each move of a
	// dispute game. The party to move when it runs out loses.
	MoveTimeout uint64 `json:"moveTimeout"`
	// SeqWindow is derivation's sequencing window in L1 blocks. A one-step
	// proof may claim a block that no batch carries only as derivation's
	// forced advance: no batcher transaction in the window. 0 refuses such
	// claims.
	SeqWindow uint64 `json:"seqWindow"`
	// MaxSeqDrift is derivation's bound, in seconds, on how far a batched
	// block's time may run ahead of its origin's. 0 leaves the bound
	// unchecked.
	MaxSeqDrift uint64 `json:"maxSeqDrift"`
}

// Defaults. The devnet's window is seconds so a withdrawal completes while
// one watches; a real deployment would use the OP Stack's seven days.
const (
	DevFinalizationPeriod     = 12
	DefaultFinalizationPeriod = 7 * 24 * 3600
	DevMoveTimeout            = 6
)

// Output and game states.
const (
	OutputNone       = 0
	OutputProposed   = 1
	OutputChallenged = 2
	OutputDefended   = 3 // won its dispute game
	OutputDefeated   = 4

	TurnNone     = 0
	TurnDefend   = 1 // the proposer posts the output root at the midpoint
	TurnRespond  = 2 // the challenger agrees or disagrees with it
	TurnStep     = 3 // one block apart: the proposer proves it on L1
	turnResolved = 4
)

const outputsABI = `[
{"type":"function","name":"proposeOutput","stateMutability":"payable","inputs":[{"name":"l2Block","type":"uint64"},{"name":"outputRoot","type":"bytes32"}],"outputs":[{"name":"index","type":"uint256"}]},
{"type":"function","name":"challenge","stateMutability":"payable","inputs":[{"name":"index","type":"uint256"}],"outputs":[]},
{"type":"function","name":"defend","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"midRoot","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"respond","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"agree","type":"bool"}],"outputs":[]},
{"type":"function","name":"step","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"proof","type":"bytes"}],"outputs":[]},
{"type":"function","name":"stepPart","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"part","type":"bytes"}],"outputs":[]},
{"type":"function","name":"proveL1Headers","stateMutability":"nonpayable","inputs":[{"name":"headers","type":"bytes"}],"outputs":[]},
{"type":"function","name":"l1BlockHash","stateMutability":"view","inputs":[{"name":"number","type":"uint256"}],"outputs":[{"name":"","type":"bytes32"}]},
{"type":"function","name":"loadBatch","stateMutability":"nonpayable","inputs":[{"name":"load","type":"bytes"}],"outputs":[]},
{"type":"function","name":"resolve","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"}],"outputs":[]},
{"type":"function","name":"claimBond","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"}],"outputs":[]},
{"type":"function","name":"outputCount","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"getOutput","stateMutability":"view","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"outputRoot","type":"bytes32"},{"name":"l2Block","type":"uint64"},{"name":"timestamp","type":"uint64"},{"name":"proposer","type":"address"},{"name":"status","type":"uint8"}]},
{"type":"function","name":"getGame","stateMutability":"view","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"challenger","type":"address"},{"name":"lo","type":"uint64"},{"name":"hi","type":"uint64"},{"name":"loRoot","type":"bytes32"},{"name":"hiRoot","type":"bytes32"},{"name":"midRoot","type":"bytes32"},{"name":"turn","type":"uint8"},{"name":"deadline","type":"uint64"}]},
{"type":"event","name":"L1HeaderProven","inputs":[{"name":"number","type":"uint256","indexed":true},{"name":"hash","type":"bytes32","indexed":false}]},
{"type":"event","name":"OutputProposed","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"outputRoot","type":"bytes32","indexed":true},{"name":"l2Block","type":"uint64","indexed":false},{"name":"proposer","type":"address","indexed":false}]},
{"type":"event","name":"Challenged","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"challenger","type":"address","indexed":true}]},
{"type":"event","name":"Moved","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"turn","type":"uint8","indexed":false},{"name":"lo","type":"uint64","indexed":false},{"name":"hi","type":"uint64","indexed":false}]},
{"type":"event","name":"StepProgressed","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"position","type":"uint64","indexed":false}]},
{"type":"event","name":"GameResolved","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"defenderWon","type":"bool","indexed":false},{"name":"winner","type":"address","indexed":false}]},
{"type":"event","name":"OutputsDeleted","inputs":[{"name":"fromIndex","type":"uint256","indexed":true}]}
]`

// OutputsABI is the outputs contract's Solidity ABI.
var OutputsABI = chain.MustParseABI(outputsABI)

// OutputsABIJSON is the ABI as JSON.
const OutputsABIJSON = outputsABI

// Outputs is the L1 system contract where proposers post L2 output roots
// with a bond, and where anyone may challenge one within the finalization
// period by an interactive bisection game ending in a one-step proof. See
// docs/rollup.md for the numbered rules.
type Outputs struct{ p L1Params }

// NewOutputs returns the outputs contract.
func NewOutputs(p L1Params) *Outputs { return &Outputs{p: p} }

// L1Contracts returns the rollup's L1 system contracts: the portal and the
// outputs contract.
func L1Contracts(p L1Params) []chain.SystemContract {
	return []chain.SystemContract{&Portal{params: p}, NewOutputs(p), Inbox{batcher: p.Batcher}}
}

// Address implements chain.SystemContract.
func (o *Outputs) Address() common.Address { return OutputsAddress }

// Name implements chain.SystemContract.
func (o *Outputs) Name() string { return "rollup-outputs" }

// RequiredGas implements chain.SystemContract. A step, a step part and a
// batch load pay for their input: they decode and execute it.
func (o *Outputs) RequiredGas(input []byte) uint64 {
	if len(input) >= 4 {
		if m, err := OutputsABI.MethodById(input[:4]); err == nil && (m.Name == "step" || m.Name == "stepPart" || m.Name == "loadBatch" || m.Name == "proveL1Headers") {
			return StepGas(len(input))
		}
	}
	return 60_000
}

// StepGas is the L1 gas a step with this much input costs: 500,000 plus 16
// per input byte (beyond calldata's own cost, for decoding and hashing the
// witness).
func StepGas(inputLen int) uint64 {
	return 500_000 + 16*uint64(inputLen)
}

// Sentinel errors of the dispute game, wrapped in reverts.
var (
	ErrNoOutput    = errors.New("no such output")
	ErrNotYourTurn = errors.New("not this party's move")
)

type outputRec struct {
	root      common.Hash
	l2Block   uint64
	timestamp uint64
	proposer  common.Address
	status    uint8
	bondPaid  bool
}

type gameRec struct {
	challenger common.Address
	lo, hi     uint64
	loRoot     common.Hash
	hiRoot     common.Hash
	midRoot    common.Hash
	turn       uint8
	deadline   uint64
}

var outputCountSlot = common.Hash{31: 1}

func fieldSlot(kind string, idx uint64, field int) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-"+kind), new(big.Int).SetUint64(idx).FillBytes(make([]byte, 32)), []byte{byte(field)})
}

type store struct{ st vm.StateDB }

func (s store) get(slot common.Hash) common.Hash { return s.st.GetState(OutputsAddress, slot) }
func (s store) set(slot, v common.Hash)          { s.st.SetState(OutputsAddress, slot, v) }
func u64(h common.Hash) uint64                   { return h.Big().Uint64() }
func h64(v uint64) common.Hash                   { return common.BigToHash(new(big.Int).SetUint64(v)) }

// count is the number of outputs, the genesis anchor (index 0) included.
func (s store) count() uint64 { return max(1, u64(s.get(outputCountSlot))) }

func (s store) output(p *L1Params, i uint64) (outputRec, bool) {
	if i >= s.count() {
		return outputRec{}, false
	}
	if i == 0 {
		return outputRec{root: p.GenesisOutput, status: OutputDefended, bondPaid: true}, true
	}
	return outputRec{
		root:      s.get(fieldSlot("output", i, 0)),
		l2Block:   u64(s.get(fieldSlot("output", i, 1))),
		timestamp: u64(s.get(fieldSlot("output", i, 2))),
		proposer:  common.BytesToAddress(s.get(fieldSlot("output", i, 3)).Bytes()),
		status:    uint8(u64(s.get(fieldSlot("output", i, 4)))),
		bondPaid:  s.get(fieldSlot("output", i, 5)) != (common.Hash{}),
	}, true
}

func (s store) setOutput(i uint64, o outputRec) {
	s.set(fieldSlot("output", i, 0), o.root)
	s.set(fieldSlot("output", i, 1), h64(o.l2Block))
	s.set(fieldSlot("output", i, 2), h64(o.timestamp))
	s.set(fieldSlot("output", i, 3), common.BytesToHash(o.proposer.Bytes()))
	s.set(fieldSlot("output", i, 4), h64(uint64(o.status)))
	paid := common.Hash{}
	if o.bondPaid {
		paid[31] = 1
	}
	s.set(fieldSlot("output", i, 5), paid)
}

func (s store) game(i uint64) gameRec {
	return gameRec{
		challenger: common.BytesToAddress(s.get(fieldSlot("game", i, 0)).Bytes()),
		lo:         u64(s.get(fieldSlot("game", i, 1))),
		hi:         u64(s.get(fieldSlot("game", i, 2))),
		loRoot:     s.get(fieldSlot("game", i, 3)),
		hiRoot:     s.get(fieldSlot("game", i, 4)),
		midRoot:    s.get(fieldSlot("game", i, 5)),
		turn:       uint8(u64(s.get(fieldSlot("game", i, 6)))),
		deadline:   u64(s.get(fieldSlot("game", i, 7))),
	}
}

func (s store) setGame(i uint64, g gameRec) {
	s.set(fieldSlot("game", i, 0), common.BytesToHash(g.challenger.Bytes()))
	s.set(fieldSlot("game", i, 1), h64(g.lo))
	s.set(fieldSlot("game", i, 2), h64(g.hi))
	s.set(fieldSlot("game", i, 3), g.loRoot)
	s.set(fieldSlot("game", i, 4), g.hiRoot)
	s.set(fieldSlot("game", i, 5), g.midRoot)
	s.set(fieldSlot("game", i, 6), h64(uint64(g.turn)))
	s.set(fieldSlot("game", i, 7), h64(g.deadline))
}

// parts reads the env and progress hashes of game i's parted proof.
func (s store) parts(i uint64) (env, progress common.Hash) {
	return s.get(fieldSlot("parts", i, 0)), s.get(fieldSlot("parts", i, 1))
}

func (s store) setParts(i uint64, env, progress common.Hash) {
	s.set(fieldSlot("parts", i, 0), env)
	s.set(fieldSlot("parts", i, 1), progress)
}

func pay(c *chain.Call, to common.Address, amount *big.Int) {
	if amount == nil || amount.Sign() == 0 {
		return
	}
	v := uint256.MustFromBig(amount)
	c.State.SubBalance(c.Self, v, tracing.BalanceChangeUnspecified)
	c.State.AddBalance(to, v, tracing.BalanceChangeUnspecified)
}

// Run implements chain.SystemContract.
func (o *Outputs) Run(c *chain.Call) ([]byte, error) {
	m, args, err := chain.ParseCall(&OutputsABI, "outputs", c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsConstant() && m.Name != "proposeOutput" && m.Name != "challenge" && !c.Value.IsZero() {
		return nil, chain.Revert("outputs: %s takes no value", m.Name)
	}
	s := store{c.State}
	now := c.Block.Time
	index := func() (uint64, outputRec, error) {
		i := args[0].(*big.Int)
		if !i.IsUint64() {
			return 0, outputRec{}, chain.Revert("outputs: %v", ErrNoOutput)
		}
		out, ok := s.output(&o.p, i.Uint64())
		if !ok || i.Sign() == 0 {
			return 0, outputRec{}, chain.Revert("outputs: %v: %d", ErrNoOutput, i)
		}
		return i.Uint64(), out, nil
	}
	// stepTurn finds a game at one block apart, where a step may come.
	stepTurn := func() (uint64, outputRec, gameRec, error) {
		i, out, err := index()
		if err != nil {
			return 0, out, gameRec{}, err
		}
		g := s.game(i)
		if out.status != OutputChallenged || g.turn != TurnStep {
			return 0, out, g, chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		return i, out, g, nil
	}
	switch m.Name {
	case "proposeOutput":
		l2Block, root := args[0].(uint64), common.Hash(args[1].([32]byte))
		if c.Value.ToBig().Cmp(o.p.ProposerBond) != 0 {
			return nil, chain.Revert("outputs: bond must be %v wei", o.p.ProposerBond)
		}
		n := s.count()
		last, _ := s.output(&o.p, n-1)
		if l2Block <= last.l2Block {
			return nil, chain.Revert("outputs: L2 block %d does not follow the last output's %d", l2Block, last.l2Block)
		}
		s.setOutput(n, outputRec{root: root, l2Block: l2Block, timestamp: now, proposer: c.Caller, status: OutputProposed})
		s.setGame(n, gameRec{})
		s.setParts(n, common.Hash{}, common.Hash{})
		s.set(outputCountSlot, h64(n+1))
		data, _ := OutputsABI.Events["OutputProposed"].Inputs.NonIndexed().Pack(l2Block, c.Caller)
		c.Emit([]common.Hash{OutputsABI.Events["OutputProposed"].ID, h64(n), root}, data)
		return common.BigToHash(new(big.Int).SetUint64(n)).Bytes(), nil

	case "challenge":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		if c.Value.ToBig().Cmp(o.p.ChallengerBond) != 0 {
			return nil, chain.Revert("outputs: bond must be %v wei", o.p.ChallengerBond)
		}
		if out.status != OutputProposed {
			return nil, chain.Revert("outputs: output %d cannot be challenged (status %d)", i, out.status)
		}
		if now >= out.timestamp+o.p.FinalizationPeriod {
			return nil, chain.Revert("outputs: output %d is past its challenge window", i)
		}
		base, _ := s.output(&o.p, i-1)
		g := gameRec{challenger: c.Caller, lo: base.l2Block, hi: out.l2Block, loRoot: base.root, hiRoot: out.root, turn: TurnDefend, deadline: now + o.p.MoveTimeout}
		if g.hi-g.lo == 1 {
			g.turn = TurnStep
		}
		out.status = OutputChallenged
		s.setOutput(i, out)
		s.setGame(i, g)
		c.Emit([]common.Hash{OutputsABI.Events["Challenged"].ID, h64(i), common.BytesToHash(c.Caller.Bytes())}, nil)
		o.moved(c, i, g)
		return nil, nil

	case "defend":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		g := s.game(i)
		if out.status != OutputChallenged || g.turn != TurnDefend || c.Caller != out.proposer {
			return nil, chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		g.midRoot = common.Hash(args[1].([32]byte))
		g.turn, g.deadline = TurnRespond, now+o.p.MoveTimeout
		s.setGame(i, g)
		o.moved(c, i, g)
		return nil, nil

	case "respond":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		g := s.game(i)
		if out.status != OutputChallenged || g.turn != TurnRespond || c.Caller != g.challenger {
			return nil, chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		mid := g.lo + (g.hi-g.lo)/2
		if args[1].(bool) {
			g.lo, g.loRoot = mid, g.midRoot
		} else {
			g.hi, g.hiRoot = mid, g.midRoot
		}
		g.midRoot = common.Hash{}
		g.turn, g.deadline = TurnDefend, now+o.p.MoveTimeout
		if g.hi-g.lo == 1 {
			g.turn = TurnStep
		}
		s.setGame(i, g)
		o.moved(c, i, g)
		return nil, nil

	case "step":
		i, out, g, err := stepTurn()
		if err != nil {
			return nil, err
		}
		var proof StepProof
		if err := rlp.DecodeBytes(args[1].([]byte), &proof); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		got, err := VerifyStep(&proof, g.loRoot, &o.p, c.State)
		if err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		if got != g.hiRoot {
			return nil, chain.Revert("outputs: %v: block %d executes to output %s, the claim is %s", ErrBadProof, g.hi, got, g.hiRoot)
		}
		o.finish(c, s, i, out, g, true)
		return nil, nil

	case "stepPart":
		i, out, g, err := stepTurn()
		if err != nil {
			return nil, err
		}
		var part StepPart
		if err := rlp.DecodeBytes(args[1].([]byte), &part); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		envHash, progHash := s.parts(i)
		res, err := VerifyStepPart(&part, g.loRoot, g.hi, envHash, progHash, &o.p, c.State)
		if err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		if res.Progress != nil {
			// A part is a move: the defender's clock starts again.
			s.setParts(i, res.EnvHash, res.Progress.Hash())
			g.deadline = now + o.p.MoveTimeout
			s.setGame(i, g)
			data, _ := OutputsABI.Events["StepProgressed"].Inputs.NonIndexed().Pack(res.Progress.Position)
			c.Emit([]common.Hash{OutputsABI.Events["StepProgressed"].ID, h64(i)}, data)
			return nil, nil
		}
		if res.Output != g.hiRoot {
			return nil, chain.Revert("outputs: %v: block %d executes to output %s, the claim is %s", ErrBadProof, g.hi, res.Output, g.hiRoot)
		}
		o.finish(c, s, i, out, g, true)
		return nil, nil

	case "loadBatch":
		var load BatchLoad
		if err := rlp.DecodeBytes(args[0].([]byte), &load); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		if err := loadBatch(c.State, &load, o.p.L2ChainID, o.p.SeqWindow, inboxRecords{c.State}); err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		return nil, nil

	case "proveL1Headers":
		number, hash, err := proveL1Headers(c.State, args[0].([]byte))
		if err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		data, _ := OutputsABI.Events["L1HeaderProven"].Inputs.NonIndexed().Pack(hash)
		c.Emit([]common.Hash{OutputsABI.Events["L1HeaderProven"].ID, h64(number)}, data)
		return nil, nil

	case "l1BlockHash":
		return s.get(l1HashSlot(args[0].(*big.Int).Uint64())).Bytes(), nil

	case "resolve":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		g := s.game(i)
		if out.status != OutputChallenged {
			return nil, chain.Revert("outputs: output %d has no open game", i)
		}
		if now <= g.deadline {
			return nil, chain.Revert("outputs: the clock runs until %d (now %d)", g.deadline, now)
		}
		// The party whose move it was has run out of time.
		o.finish(c, s, i, out, g, g.turn == TurnRespond)
		return nil, nil

	case "claimBond":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		final := out.status == OutputDefended || (out.status == OutputProposed && now >= out.timestamp+o.p.FinalizationPeriod)
		if !final || out.bondPaid {
			return nil, chain.Revert("outputs: output %d's bond is not claimable", i)
		}
		out.bondPaid = true
		s.setOutput(i, out)
		pay(c, out.proposer, o.p.ProposerBond)
		return nil, nil

	case "outputCount":
		return h64(s.count()).Bytes(), nil

	case "getOutput":
		i := args[0].(*big.Int)
		out, _ := s.output(&o.p, i.Uint64())
		if !i.IsUint64() {
			out = outputRec{}
		}
		return m.Outputs.Pack([32]byte(out.root), out.l2Block, out.timestamp, out.proposer, out.status)

	case "getGame":
		g := s.game(args[0].(*big.Int).Uint64())
		return m.Outputs.Pack(g.challenger, g.lo, g.hi, [32]byte(g.loRoot), [32]byte(g.hiRoot), [32]byte(g.midRoot), g.turn, g.deadline)
	}
	return nil, chain.Revert("outputs: unknown method")
}

func (o *Outputs) moved(c *chain.Call, i uint64, g gameRec) {
	data, _ := OutputsABI.Events["Moved"].Inputs.NonIndexed().Pack(g.turn, g.lo, g.hi)
	c.Emit([]common.Hash{OutputsABI.Events["Moved"].ID, h64(i)}, data)
}

// finish ends game i. The winner takes both bonds. A defeated output is
// deleted with every output after it (their open games end with bonds
// returned), and the next proposal takes its index.
func (o *Outputs) finish(c *chain.Call, s store, i uint64, out outputRec, g gameRec, defenderWon bool) {
	winner := out.proposer
	if defenderWon {
		out.status = OutputDefended
		s.setOutput(i, out)
		pay(c, out.proposer, o.p.ChallengerBond)
	} else {
		winner = g.challenger
		out.status = OutputDefeated
		out.bondPaid = true
		s.setOutput(i, out)
		pay(c, g.challenger, new(big.Int).Add(o.p.ChallengerBond, o.p.ProposerBond))
		n := s.count()
		for j := i + 1; j < n; j++ {
			later, _ := s.output(&o.p, j)
			if later.status == OutputChallenged {
				pay(c, s.game(j).challenger, o.p.ChallengerBond)
			}
			if !later.bondPaid {
				pay(c, later.proposer, o.p.ProposerBond)
			}
		}
		s.set(outputCountSlot, h64(i))
		c.Emit([]common.Hash{OutputsABI.Events["OutputsDeleted"].ID, h64(i)}, nil)
	}
	g.turn = turnResolved
	s.setGame(i, g)
	data, _ := OutputsABI.Events["GameResolved"].Inputs.NonIndexed().Pack(defenderWon, winner)
	c.Emit([]common.Hash{OutputsABI.Events["GameResolved"].ID, h64(i)}, data)
}

// OutputStatus reads output i from L1 state, for the portal.
func outputFromState(st vm.StateDB, p *L1Params, i uint64) (outputRec, bool) {
	return store{st}.output(p, i)
}
