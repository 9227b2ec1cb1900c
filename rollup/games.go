package rollup

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
)

// gameRec is one dispute game: the proposer of an output (the defender)
// against one challenger, bisecting the L2 blocks between the output
// before it (lo, agreed) and it (hi, disputed).
type gameRec struct {
	challenger common.Address
	lo, hi     uint64
	loRoot     common.Hash
	hiRoot     common.Hash
	midRoot    common.Hash
	turn       uint8
	since      uint64    // when the party to move began its turn
	used       [2]uint64 // seconds spent: the defender's clock, the challenger's
	result     uint8
}

// A game is stored under the serial of the proposal it disputes, so a
// deleted output's games never mix with those of the output that takes
// its index.
func gameSlot(serial, game uint64, field int) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-game"), h64(serial).Bytes(), h64(game).Bytes(), []byte{byte(field)})
}

func (s outputsState) game(serial, n uint64) gameRec {
	f := func(i int) common.Hash { return s.Get(gameSlot(serial, n, i)) }
	return gameRec{
		challenger: common.BytesToAddress(f(0).Bytes()),
		lo:         u64(f(1)),
		hi:         u64(f(2)),
		loRoot:     f(3),
		hiRoot:     f(4),
		midRoot:    f(5),
		turn:       uint8(u64(f(6))),
		since:      u64(f(7)),
		used:       [2]uint64{u64(f(8)), u64(f(9))},
		result:     uint8(u64(f(10))),
	}
}

func (s outputsState) setGame(serial, n uint64, g gameRec) {
	f := func(i int, v common.Hash) { s.Set(gameSlot(serial, n, i), v) }
	f(0, common.BytesToHash(g.challenger.Bytes()))
	f(1, h64(g.lo))
	f(2, h64(g.hi))
	f(3, g.loRoot)
	f(4, g.hiRoot)
	f(5, g.midRoot)
	f(6, h64(uint64(g.turn)))
	f(7, h64(g.since))
	f(8, h64(g.used[0]))
	f(9, h64(g.used[1]))
	f(10, h64(uint64(g.result)))
}

// gameBondPaidSlot marks a void game's challenger bond as returned.
func gameBondPaidSlot(serial, n uint64) common.Hash { return gameSlot(serial, n, 11) }

// parts reads the env and progress hashes of a game's parted proof.
func (s outputsState) parts(serial, n uint64) (env, progress common.Hash) {
	return s.Get(gameSlot(serial, n, 12)), s.Get(gameSlot(serial, n, 13))
}

func (s outputsState) setParts(serial, n uint64, env, progress common.Hash) {
	s.Set(gameSlot(serial, n, 12), env)
	s.Set(gameSlot(serial, n, 13), progress)
}

// mover is whose clock runs: 0 for the defender, 1 for the challenger.
func (g *gameRec) mover() int {
	if g.turn == TurnRespond {
		return 1
	}
	return 0
}

// deadline is when the party to move runs out of time.
func (g *gameRec) deadline(clock uint64) uint64 {
	return g.since + clock - min(clock, g.used[g.mover()])
}

// tick charges the mover's clock up to now, for a move it makes; it fails
// once the clock has run out, so a late move cannot save a lost game.
func (g *gameRec) tick(now, clock uint64) error {
	if now > g.deadline(clock) {
		return chain.Revert("outputs: %v (deadline %d, now %d)", ErrOutOfTime, g.deadline(clock), now)
	}
	g.used[g.mover()] += now - g.since
	g.since = now
	return nil
}

// Run implements chain.SystemContract.
func (o *Outputs) Run(c *chain.Call) ([]byte, error) {
	m, args, err := chain.ParseCall(&OutputsABI, "outputs", c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && !c.Value.IsZero() {
		return nil, chain.Revert("outputs: %s takes no value", m.Name)
	}
	s := outputsOf(c.State)
	now := c.Block.Time
	index := func() (uint64, outputRec, error) {
		i := args[0].(*big.Int)
		if !i.IsUint64() || i.Sign() == 0 {
			return 0, outputRec{}, chain.Revert("outputs: %v: %v", ErrNoOutput, i)
		}
		out, ok := s.output(&o.p, i.Uint64())
		if !ok {
			return 0, outputRec{}, chain.Revert("outputs: %v: %d", ErrNoOutput, i)
		}
		return i.Uint64(), out, nil
	}
	// game finds an open game of a live output.
	game := func() (uint64, outputRec, uint64, gameRec, error) {
		i, out, err := index()
		if err != nil {
			return 0, out, 0, gameRec{}, err
		}
		n := args[1].(*big.Int)
		if !n.IsUint64() || n.Uint64() >= out.games {
			return 0, out, 0, gameRec{}, chain.Revert("outputs: %v: output %d game %v", ErrNoGame, i, n)
		}
		g := s.game(out.serial, n.Uint64())
		if g.result != GameOpen || out.status == OutputDefeated {
			return 0, out, 0, g, chain.Revert("outputs: output %d game %v is over", i, n)
		}
		return i, out, n.Uint64(), g, nil
	}
	// stepTurn finds a game at one block apart, where a step may come.
	stepTurn := func() (uint64, outputRec, uint64, gameRec, error) {
		i, out, n, g, err := game()
		if err == nil && g.turn != TurnStep {
			err = chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		if err == nil {
			err = g.tick(now, o.p.GameClock)
		}
		return i, out, n, g, err
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
		if l2Block-last.l2Block > MaxOutputSpan {
			return nil, chain.Revert("outputs: L2 block %d is more than %d past the last output's %d", l2Block, MaxOutputSpan, last.l2Block)
		}
		serial := u64(s.Get(serialCountSlot)) + 1
		s.Set(serialCountSlot, h64(serial))
		s.Set(serialSlot(serial, serialIndex), h64(n))
		s.Set(serialSlot(serial, serialProposer), common.BytesToHash(c.Caller.Bytes()))
		s.setOutput(n, outputRec{root: root, l2Block: l2Block, timestamp: now, proposer: c.Caller, status: OutputProposed,
			l1Block: c.Block.BlockNumber.Uint64(), serial: serial})
		s.Set(outputCountSlot, h64(n+1))
		data, _ := OutputsABI.Events["OutputProposed"].Inputs.NonIndexed().Pack(l2Block, c.Caller)
		c.Emit([]common.Hash{OutputsABI.Events["OutputProposed"].ID, h64(n), root}, data)
		return h64(n).Bytes(), nil

	case "challenge":
		i, out, err := index()
		if err != nil {
			return nil, err
		}
		if c.Value.ToBig().Cmp(o.p.ChallengerBond) != 0 {
			return nil, chain.Revert("outputs: bond must be %v wei", o.p.ChallengerBond)
		}
		if now >= out.timestamp+o.p.FinalizationPeriod {
			return nil, chain.Revert("outputs: output %d is past its challenge window", i)
		}
		base, _ := s.output(&o.p, i-1)
		g := gameRec{challenger: c.Caller, lo: base.l2Block, hi: out.l2Block, loRoot: base.root, hiRoot: out.root, turn: TurnDefend, since: now}
		if g.hi-g.lo == 1 {
			g.turn = TurnStep
		}
		n := out.games
		out.games++
		out.open++
		out.status = OutputChallenged
		s.setOutput(i, out)
		s.setGame(out.serial, n, g)
		data, _ := OutputsABI.Events["Challenged"].Inputs.NonIndexed().Pack(new(big.Int).SetUint64(n))
		c.Emit([]common.Hash{OutputsABI.Events["Challenged"].ID, h64(i), common.BytesToHash(c.Caller.Bytes())}, data)
		o.moved(c, i, n, g)
		return h64(n).Bytes(), nil

	case "defend":
		i, out, n, g, err := game()
		if err != nil {
			return nil, err
		}
		if g.turn != TurnDefend || c.Caller != out.proposer {
			return nil, chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		if err := g.tick(now, o.p.GameClock); err != nil {
			return nil, err
		}
		g.midRoot = common.Hash(args[2].([32]byte))
		g.turn = TurnRespond
		s.setGame(out.serial, n, g)
		o.moved(c, i, n, g)
		return nil, nil

	case "respond":
		i, out, n, g, err := game()
		if err != nil {
			return nil, err
		}
		if g.turn != TurnRespond || c.Caller != g.challenger {
			return nil, chain.Revert("outputs: %v", ErrNotYourTurn)
		}
		if err := g.tick(now, o.p.GameClock); err != nil {
			return nil, err
		}
		mid := g.lo + (g.hi-g.lo)/2
		if args[2].(bool) {
			g.lo, g.loRoot = mid, g.midRoot
		} else {
			g.hi, g.hiRoot = mid, g.midRoot
		}
		g.midRoot = common.Hash{}
		g.turn = TurnDefend
		if g.hi-g.lo == 1 {
			g.turn = TurnStep
		}
		s.setGame(out.serial, n, g)
		o.moved(c, i, n, g)
		return nil, nil

	case "step":
		i, out, n, g, err := stepTurn()
		if err != nil {
			return nil, err
		}
		var proof StepProof
		if err := rlp.DecodeBytes(args[2].([]byte), &proof); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		got, err := VerifyStep(&proof, g.loRoot, out.l1Block, &o.p, c.State)
		if err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		if got != g.hiRoot {
			return nil, chain.Revert("outputs: %v: block %d executes to output %s, the claim is %s", ErrBadProof, g.hi, got, g.hiRoot)
		}
		return nil, o.finish(c, s, i, out, n, g, true)

	case "stepPart":
		i, out, n, g, err := stepTurn()
		if err != nil {
			return nil, err
		}
		var part StepPart
		if err := rlp.DecodeBytes(args[2].([]byte), &part); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		envHash, progHash := s.parts(out.serial, n)
		res, err := VerifyStepPart(&part, g.loRoot, g.hi, envHash, progHash, out.l1Block, &o.p, c.State)
		if err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		if res.Progress != nil {
			// A part spends the defender's clock; it does not refill it.
			s.setParts(out.serial, n, res.EnvHash, res.Progress.Hash())
			s.setGame(out.serial, n, g)
			data, _ := OutputsABI.Events["StepProgressed"].Inputs.NonIndexed().Pack(new(big.Int).SetUint64(n), res.Progress.Position)
			c.Emit([]common.Hash{OutputsABI.Events["StepProgressed"].ID, h64(i)}, data)
			return nil, nil
		}
		if res.Output != g.hiRoot {
			return nil, chain.Revert("outputs: %v: block %d executes to output %s, the claim is %s", ErrBadProof, g.hi, res.Output, g.hiRoot)
		}
		return nil, o.finish(c, s, i, out, n, g, true)

	case "loadBatch":
		var load BatchLoad
		if err := rlp.DecodeBytes(args[0].([]byte), &load); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		if err := loadBatch(c.State, &load, &o.p, inboxRecords{c.State}); err != nil {
			return nil, chain.Revert("outputs: %v", err)
		}
		return nil, nil

	case "scanInbox":
		var sc Scan
		if err := rlp.DecodeBytes(args[0].([]byte), &sc); err != nil {
			return nil, chain.Revert("outputs: %v: %v", ErrBadProof, err)
		}
		if err := StoreScan(c.State, &sc, &o.p); err != nil {
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
		return s.Get(l1HashSlot(args[0].(*big.Int).Uint64())).Bytes(), nil

	case "resolve":
		i, out, n, g, err := game()
		if err != nil {
			return nil, err
		}
		if now <= g.deadline(o.p.GameClock) {
			return nil, chain.Revert("outputs: the clock runs until %d (now %d)", g.deadline(o.p.GameClock), now)
		}
		// The party whose move it was has run out of time.
		return nil, o.finish(c, s, i, out, n, g, g.mover() == 1)

	case "claimBond":
		serial := args[0].(*big.Int)
		if !serial.IsUint64() || serial.Sign() == 0 || serial.Uint64() > u64(s.Get(serialCountSlot)) {
			return nil, chain.Revert("outputs: no proposal %v", serial)
		}
		sn := serial.Uint64()
		i, _, live := s.live(&o.p, sn)
		switch {
		case s.Flag(serialSlot(sn, serialPaid)) || s.Flag(serialSlot(sn, serialDefeated)):
			return nil, chain.Revert("outputs: proposal %d's bond is not claimable", sn)
		case live && !o.finalOutput(s, i, now, true):
			return nil, chain.Revert("outputs: output %d is not final", i)
		}
		// A final output's bond returns to its proposer, and so does that
		// of one deleted because an output before it fell.
		s.SetFlag(serialSlot(sn, serialPaid))
		return nil, pay(c, common.BytesToAddress(s.Get(serialSlot(sn, serialProposer)).Bytes()), o.p.ProposerBond)

	case "claimGameBond":
		serial, n := args[0].(*big.Int), args[1].(*big.Int)
		if !serial.IsUint64() || !n.IsUint64() {
			return nil, chain.Revert("outputs: %v", ErrNoGame)
		}
		sn, gn := serial.Uint64(), n.Uint64()
		_, _, live := s.live(&o.p, sn)
		g := s.game(sn, gn)
		// An open game of an output that is gone is void: its challenger
		// takes back its bond.
		if live || g.challenger == (common.Address{}) || g.result != GameOpen || s.Flag(gameBondPaidSlot(sn, gn)) {
			return nil, chain.Revert("outputs: game %d of proposal %d has no bond to return", gn, sn)
		}
		s.SetFlag(gameBondPaidSlot(sn, gn))
		return nil, pay(c, g.challenger, o.p.ChallengerBond)

	case "outputCount":
		return h64(s.count()).Bytes(), nil

	case "settle":
		// Anyone may advance the record of final outputs, up to
		// maxSettleSteps a call, so a withdrawal far ahead of the last
		// output found final can still finalize.
		o.finalOutput(s, s.count()-1, now, true)
		return s.Get(settledSlot).Bytes(), nil

	case "isFinal":
		i := args[0].(*big.Int)
		ok := i.IsUint64() && i.Sign() > 0 && o.finalOutput(s, i.Uint64(), now, false)
		return m.Outputs.Pack(ok)

	case "getOutput":
		i := args[0].(*big.Int)
		out, _ := s.output(&o.p, i.Uint64())
		if !i.IsUint64() {
			out = outputRec{}
		}
		return m.Outputs.Pack([32]byte(out.root), out.l2Block, out.timestamp, out.proposer, out.status, out.serial, out.l1Block, out.games, out.open)

	case "getGame":
		var g gameRec
		i, n := args[0].(*big.Int), args[1].(*big.Int)
		if out, ok := s.output(&o.p, i.Uint64()); i.IsUint64() && ok && n.IsUint64() && n.Uint64() < out.games {
			g = s.game(out.serial, n.Uint64())
		}
		deadline := uint64(0)
		if g.turn != TurnNone && g.result == GameOpen {
			deadline = g.deadline(o.p.GameClock)
		} else if g.result != GameOpen {
			g.turn = turnResolved
		}
		return m.Outputs.Pack(g.challenger, g.lo, g.hi, [32]byte(g.loRoot), [32]byte(g.hiRoot), [32]byte(g.midRoot), g.turn, deadline, g.result, g.used[0], g.used[1])
	}
	return nil, chain.Revert("outputs: unknown method")
}

func (o *Outputs) moved(c *chain.Call, i, n uint64, g gameRec) {
	data, _ := OutputsABI.Events["Moved"].Inputs.NonIndexed().Pack(new(big.Int).SetUint64(n), g.turn, g.lo, g.hi)
	c.Emit([]common.Hash{OutputsABI.Events["Moved"].ID, h64(i)}, data)
}

// finish ends game n of output i. A defender that wins takes the
// challenger's bond, and the output stands as long as no other game goes
// against it. A challenger that wins takes both bonds, and the output is
// deleted with every output after it, whose proposers take back their
// bonds with claimBond and whose open games are void (claimGameBond); the
// next proposal takes index i.
func (o *Outputs) finish(c *chain.Call, s outputsState, i uint64, out outputRec, n uint64, g gameRec, defenderWon bool) error {
	winner := out.proposer
	g.turn = turnResolved
	out.open--
	if defenderWon {
		g.result = GameDefenderWon
		if out.open == 0 {
			out.status = OutputDefended
		}
		s.setOutput(i, out)
		s.setGame(out.serial, n, g)
		if err := pay(c, out.proposer, o.p.ChallengerBond); err != nil {
			return err
		}
	} else {
		winner = g.challenger
		g.result = GameChallengerWon
		out.status = OutputDefeated
		s.setOutput(i, out)
		s.setGame(out.serial, n, g)
		s.SetFlag(serialSlot(out.serial, serialDefeated))
		if err := pay(c, g.challenger, new(big.Int).Add(o.p.ChallengerBond, o.p.ProposerBond)); err != nil {
			return err
		}
		s.Set(outputCountSlot, h64(i))
		c.Emit([]common.Hash{OutputsABI.Events["OutputsDeleted"].ID, h64(i)}, nil)
	}
	data, _ := OutputsABI.Events["GameResolved"].Inputs.NonIndexed().Pack(new(big.Int).SetUint64(n), defenderWon, winner)
	c.Emit([]common.Hash{OutputsABI.Events["GameResolved"].ID, h64(i)}, data)
	return nil
}

// outputFromState reads output i from L1 state, for the portal.
func outputFromState(st vm.StateDB, p *L1Params, i uint64) (outputRec, bool) {
	return outputsOf(st).output(p, i)
}
