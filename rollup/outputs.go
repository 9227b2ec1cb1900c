package rollup

import (
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
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
	// L1Start is the L1 block the L2 genesis is anchored to: derivation
	// reads the inbox from the block after it.
	L1Start uint64 `json:"l1Start,omitempty"`
	// FinalizationPeriod is the challenge window in seconds of L1 time:
	// an output may be challenged this long after it was proposed, and is
	// final once the window has passed, no game against it is open or was
	// lost, and every output before it is final.
	FinalizationPeriod uint64   `json:"finalizationPeriod"`
	ProposerBond       *big.Int `json:"proposerBond"`
	ChallengerBond     *big.Int `json:"challengerBond"`
	// GameClock is each party's chess clock in seconds: the most time it
	// may spend, over all its moves, in one dispute game. A party's own
	// moves do not refill it. The party to move when it runs out loses.
	GameClock uint64 `json:"gameClock"`
	// SeqWindow is derivation's sequencing window in L1 blocks. A one-step
	// proof may claim a block that no batch carries only as derivation's
	// forced advance, once the parent's origin has left the window with no
	// batch derivation applied. 0 refuses such claims.
	SeqWindow uint64 `json:"seqWindow"`
	// MaxSeqDrift is derivation's bound, in seconds, on how far a batched
	// block's time may run ahead of its origin's. 0 leaves the bound
	// unchecked.
	MaxSeqDrift uint64 `json:"maxSeqDrift"`
	// ChannelTimeout is derivation's channel timeout in L1 blocks: a proof
	// assembles a block's channel under derivation's rules, which drop a
	// channel whose frames span more. 0 leaves it unchecked.
	ChannelTimeout uint64 `json:"channelTimeout"`
	// Committee is the data-availability committee whose certificates
	// the inbox may carry in place of frames (docs/da.md); nil: none, and
	// a certificate is data that does not parse.
	Committee *da.Committee `json:"committee,omitempty"`
	// Sampling lets the inbox carry sampling commitments (da.Sampled) in
	// place of frames: the data is with storage nodes, erasure-coded.
	Sampling bool `json:"sampling,omitempty"`
}

// Defaults. The devnet's window is seconds so a withdrawal completes while
// one watches; a real deployment would use the OP Stack's seven days.
const (
	DevFinalizationPeriod     = 12
	DefaultFinalizationPeriod = 7 * 24 * 3600
	// DevGameClock covers an honest party's moves in the deepest game
	// (MaxOutputSpan's 16 bisection moves, then the step) with L1 blocks
	// of a few seconds.
	DevGameClock = 60
	// MaxOutputSpan is the most L2 blocks one output may cover past the
	// one before it, which bounds a game at 16 bisection moves a party.
	MaxOutputSpan = 1 << 16
	// maxSettleSteps is how many outputs one call may newly find final;
	// an output further behind waits for calls that settle those before it.
	maxSettleSteps = 256
)

// Output states.
const (
	OutputNone       = 0
	OutputProposed   = 1 // no game open against it
	OutputChallenged = 2 // one or more games open
	OutputDefended   = 3 // every game against it so far won by its proposer
	OutputDefeated   = 4
)

// Game turns and results.
const (
	TurnNone     = 0
	TurnDefend   = 1 // the proposer posts the output root at the midpoint
	TurnRespond  = 2 // the challenger agrees or disagrees with it
	TurnStep     = 3 // one block apart: the proposer proves it on L1
	turnResolved = 4

	GameOpen          = 0
	GameDefenderWon   = 1
	GameChallengerWon = 2
)

const outputsABI = `[
{"type":"function","name":"proposeOutput","stateMutability":"payable","inputs":[{"name":"l2Block","type":"uint64"},{"name":"outputRoot","type":"bytes32"}],"outputs":[{"name":"index","type":"uint256"}]},
{"type":"function","name":"challenge","stateMutability":"payable","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"game","type":"uint256"}]},
{"type":"function","name":"defend","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"},{"name":"midRoot","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"respond","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"},{"name":"agree","type":"bool"}],"outputs":[]},
{"type":"function","name":"step","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"},{"name":"proof","type":"bytes"}],"outputs":[]},
{"type":"function","name":"stepPart","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"},{"name":"part","type":"bytes"}],"outputs":[]},
{"type":"function","name":"proveL1Headers","stateMutability":"nonpayable","inputs":[{"name":"headers","type":"bytes"}],"outputs":[]},
{"type":"function","name":"l1BlockHash","stateMutability":"view","inputs":[{"name":"number","type":"uint256"}],"outputs":[{"name":"","type":"bytes32"}]},
{"type":"function","name":"loadBatch","stateMutability":"nonpayable","inputs":[{"name":"load","type":"bytes"}],"outputs":[]},
{"type":"function","name":"scanInbox","stateMutability":"nonpayable","inputs":[{"name":"scan","type":"bytes"}],"outputs":[]},
{"type":"function","name":"resolve","stateMutability":"nonpayable","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"}],"outputs":[]},
{"type":"function","name":"claimBond","stateMutability":"nonpayable","inputs":[{"name":"serial","type":"uint256"}],"outputs":[]},
{"type":"function","name":"claimGameBond","stateMutability":"nonpayable","inputs":[{"name":"serial","type":"uint256"},{"name":"game","type":"uint256"}],"outputs":[]},
{"type":"function","name":"outputCount","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"isFinal","stateMutability":"view","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]},
{"type":"function","name":"settle","stateMutability":"nonpayable","inputs":[],"outputs":[{"name":"settled","type":"uint256"}]},
{"type":"function","name":"getOutput","stateMutability":"view","inputs":[{"name":"index","type":"uint256"}],"outputs":[{"name":"outputRoot","type":"bytes32"},{"name":"l2Block","type":"uint64"},{"name":"timestamp","type":"uint64"},{"name":"proposer","type":"address"},{"name":"status","type":"uint8"},{"name":"serial","type":"uint64"},{"name":"l1Block","type":"uint64"},{"name":"games","type":"uint64"},{"name":"openGames","type":"uint64"}]},
{"type":"function","name":"getGame","stateMutability":"view","inputs":[{"name":"index","type":"uint256"},{"name":"game","type":"uint256"}],"outputs":[{"name":"challenger","type":"address"},{"name":"lo","type":"uint64"},{"name":"hi","type":"uint64"},{"name":"loRoot","type":"bytes32"},{"name":"hiRoot","type":"bytes32"},{"name":"midRoot","type":"bytes32"},{"name":"turn","type":"uint8"},{"name":"deadline","type":"uint64"},{"name":"result","type":"uint8"},{"name":"defenderClock","type":"uint64"},{"name":"challengerClock","type":"uint64"}]},
{"type":"event","name":"L1HeaderProven","inputs":[{"name":"number","type":"uint256","indexed":true},{"name":"hash","type":"bytes32","indexed":false}]},
{"type":"event","name":"OutputProposed","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"outputRoot","type":"bytes32","indexed":true},{"name":"l2Block","type":"uint64","indexed":false},{"name":"proposer","type":"address","indexed":false}]},
{"type":"event","name":"Challenged","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"challenger","type":"address","indexed":true},{"name":"game","type":"uint256","indexed":false}]},
{"type":"event","name":"Moved","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"game","type":"uint256","indexed":false},{"name":"turn","type":"uint8","indexed":false},{"name":"lo","type":"uint64","indexed":false},{"name":"hi","type":"uint64","indexed":false}]},
{"type":"event","name":"StepProgressed","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"game","type":"uint256","indexed":false},{"name":"position","type":"uint64","indexed":false}]},
{"type":"event","name":"GameResolved","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"game","type":"uint256","indexed":false},{"name":"defenderWon","type":"bool","indexed":false},{"name":"winner","type":"address","indexed":false}]},
{"type":"event","name":"OutputsDeleted","inputs":[{"name":"fromIndex","type":"uint256","indexed":true}]}
]`

// OutputsABI is the outputs contract's Solidity ABI.
var OutputsABI = chain.MustParseABI(outputsABI)

// OutputsABIJSON is the ABI as JSON.
const OutputsABIJSON = outputsABI

// Outputs is the L1 system contract where proposers post L2 output roots
// with a bond, and where anyone may challenge one within the finalization
// period: each challenge opens a game of its own between the output's
// proposer and that challenger, an interactive bisection ending in a
// one-step proof, played on chess clocks. One lost game deletes the
// output; it is final only when none was lost, none is open, its window
// has passed and every output before it is final. See docs/rollup.md for
// the numbered rules.
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
// batch load pay for their input: they decode and execute it. A step and a
// step part also pay for the L2 gas they may re-execute (see
// ExecGasDivisor).
func (o *Outputs) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return 60_000
	}
	m, err := OutputsABI.MethodById(input[:4])
	if err != nil {
		return 60_000
	}
	switch m.Name {
	case "step", "stepPart":
		gas := StepGas(len(input))
		if args, err := m.Inputs.Unpack(input[4:]); err == nil {
			gas += proofExecGas(m.Name, args[2].([]byte), o.p.L2ChainID) / ExecGasDivisor
		}
		return gas
	case "loadBatch", "proveL1Headers", "scanInbox":
		return StepGas(len(input))
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
	ErrNoGame      = errors.New("no such game")
	ErrNotYourTurn = errors.New("not this party's move")
	ErrOutOfTime   = errors.New("the party's clock has run out")
)

type outputRec struct {
	root      common.Hash
	l2Block   uint64
	timestamp uint64
	proposer  common.Address
	status    uint8
	// l1Block is the L1 block that included the proposal: the output
	// claims the L2 block derivation makes from L1 data before it, and
	// its games' one-step proofs may use no L1 data from it or later.
	l1Block uint64
	serial  uint64 // unique over all proposals; an index is reused after a deletion
	games   uint64 // games opened against it
	open    uint64 // games not yet resolved
}

var (
	outputCountSlot = common.Hash{31: 1}
	serialCountSlot = common.Hash{31: 2}
	settledSlot     = common.Hash{31: 3} // the highest index known final
)

func fieldSlot(kind string, idx uint64, field int) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-"+kind), new(big.Int).SetUint64(idx).FillBytes(make([]byte, 32)), []byte{byte(field)})
}

// outputsState is the outputs contract's storage: its outputs and games.
type outputsState struct{ chain.Slots }

func outputsOf(st vm.StateDB) outputsState {
	return outputsState{chain.Slots{State: st, Self: OutputsAddress}}
}

func u64(h common.Hash) uint64 { return h.Big().Uint64() }
func h64(v uint64) common.Hash { return common.BigToHash(new(big.Int).SetUint64(v)) }

// count is the number of outputs, the genesis anchor (index 0) included.
func (s outputsState) count() uint64 { return max(1, u64(s.Get(outputCountSlot))) }

func (s outputsState) output(p *L1Params, i uint64) (outputRec, bool) {
	if i >= s.count() {
		return outputRec{}, false
	}
	if i == 0 {
		return outputRec{root: p.GenesisOutput, status: OutputDefended}, true
	}
	return outputRec{
		root:      s.Get(fieldSlot("output", i, 0)),
		l2Block:   u64(s.Get(fieldSlot("output", i, 1))),
		timestamp: u64(s.Get(fieldSlot("output", i, 2))),
		proposer:  common.BytesToAddress(s.Get(fieldSlot("output", i, 3)).Bytes()),
		status:    uint8(u64(s.Get(fieldSlot("output", i, 4)))),
		l1Block:   u64(s.Get(fieldSlot("output", i, 5))),
		serial:    u64(s.Get(fieldSlot("output", i, 6))),
		games:     u64(s.Get(fieldSlot("output", i, 7))),
		open:      u64(s.Get(fieldSlot("output", i, 8))),
	}, true
}

func (s outputsState) setOutput(i uint64, o outputRec) {
	s.Set(fieldSlot("output", i, 0), o.root)
	s.Set(fieldSlot("output", i, 1), h64(o.l2Block))
	s.Set(fieldSlot("output", i, 2), h64(o.timestamp))
	s.Set(fieldSlot("output", i, 3), common.BytesToHash(o.proposer.Bytes()))
	s.Set(fieldSlot("output", i, 4), h64(uint64(o.status)))
	s.Set(fieldSlot("output", i, 5), h64(o.l1Block))
	s.Set(fieldSlot("output", i, 6), h64(o.serial))
	s.Set(fieldSlot("output", i, 7), h64(o.games))
	s.Set(fieldSlot("output", i, 8), h64(o.open))
}

// Per serial: where the proposal sits, and what became of its bond.
func serialSlot(serial uint64, field int) common.Hash { return fieldSlot("serial", serial, field) }

const (
	serialIndex    = 0 // the index it was proposed at
	serialProposer = 1
	serialDefeated = 2 // it lost a game: its bond went to the challenger
	serialPaid     = 3 // its bond was returned
)

// live reports whether proposal serial still stands at its index.
func (s outputsState) live(p *L1Params, serial uint64) (uint64, outputRec, bool) {
	i := u64(s.Get(serialSlot(serial, serialIndex)))
	out, ok := s.output(p, i)
	return i, out, ok && i > 0 && out.serial == serial
}

// pay moves amount from the contract to an address; it reverts rather than
// pay out more than the contract holds.
func pay(c *chain.Call, to common.Address, amount *big.Int) error {
	if amount == nil || amount.Sign() == 0 {
		return nil
	}
	v, overflow := uint256.FromBig(amount)
	if overflow || c.State.GetBalance(c.Self).Cmp(v) < 0 {
		return chain.Revert("%s: balance below the %v wei to pay", c.Self, amount)
	}
	c.State.SubBalance(c.Self, v, tracing.BalanceChangeUnspecified)
	c.State.AddBalance(to, v, tracing.BalanceChangeUnspecified)
	return nil
}

// finalOutput reports whether output i is final: it and every output
// before it stand with no game open or lost and their challenge windows
// passed. When write is set it records how far it found outputs final, so
// later calls start from there; one call looks at no more than
// maxSettleSteps outputs it has not found final before.
func (o *Outputs) finalOutput(s outputsState, i, now uint64, write bool) bool {
	settled := u64(s.Get(settledSlot))
	if i <= settled {
		return i < s.count()
	}
	target := min(i, settled+maxSettleSteps)
	j := settled + 1
	for ; j <= target; j++ {
		out, ok := s.output(&o.p, j)
		if !ok || out.open > 0 || out.status == OutputDefeated || now < out.timestamp+o.p.FinalizationPeriod {
			break
		}
	}
	if write && j-1 > settled {
		s.Set(settledSlot, h64(j-1))
	}
	return j > i
}
