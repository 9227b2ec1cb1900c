package channels

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// Params are the adjudicator's rules, fixed at L1 genesis.
type Params struct {
	// L1ChainID is the L1's chain ID: with the adjudicator's address, the
	// Domain every state signature is bound to.
	L1ChainID uint64 `json:"l1ChainId"`
	// DisputeWindow is how many L1 blocks the other party (or its
	// watchtower) has to answer a unilateral close with a newer state.
	DisputeWindow uint64 `json:"disputeWindow"`
}

// Domain is the deployment's signature domain.
func (p Params) Domain() Domain { return Domain{ChainID: p.L1ChainID, Contract: AdjudicatorAddress} }

// Status is where a channel stands on L1.
type Status uint8

// A channel's statuses.
const (
	StatusNone     Status = iota // no such channel
	StatusOpening                // opened and funded by A, waiting for B's deposit
	StatusOpen                   // funded by both, no close begun
	StatusDisputed               // a unilateral close waits out its dispute window
	StatusClosed                 // paid out (HTLCs may still wait to settle)
)

func (s Status) String() string {
	switch s {
	case StatusOpening:
		return "opening"
	case StatusOpen:
		return "open"
	case StatusDisputed:
		return "disputed"
	case StatusClosed:
		return "closed"
	}
	return "none"
}

// Sentinel errors of the adjudicator, kept by its reverts for errors.Is.
var (
	ErrNoChannel   = errors.New("no such channel")
	ErrNotParty    = errors.New("caller is not a party of the channel")
	ErrStatus      = errors.New("channel is not in the status this call needs")
	ErrSum         = errors.New("state does not distribute exactly the channel's deposits")
	ErrOldVersion  = errors.New("state is not newer than the registered one")
	ErrWindow      = errors.New("outside the dispute window")
	ErrUndecided   = errors.New("HTLC is not yet decided: no preimage revealed in time, expiry not passed")
	ErrNotFinal    = errors.New("a cooperative close needs a final state")
	ErrFinal       = errors.New("a final state closes cooperatively, not by force")
	ErrNoSettle    = errors.New("no such HTLC, or already settled")
	ErrZeroDeposit = errors.New("an opening deposit must carry value")
)

// Gas of the adjudicator: a price per method (and per HTLC of a registered
// state), so it depends on the input only. A signature check is priced as
// ecrecover (3,000), a payout as a value call (9,000), a storage word
// written as 20,000.
const (
	openGas     = 46_000
	fundGas     = 28_000
	closeGas    = 40_000 // two signatures, two payouts
	registerGas = 60_000 // two signatures and the state's words
	perHTLCGas  = 4 * 20_000
	concludeGas = 30_000
	settleGas   = 25_000
	revealGas   = 22_000
	viewGas     = 2_600
)

// Adjudicator is the channels' L1 contract. It holds each channel's
// deposits and pays them out by the channel's newest state both parties
// signed: at once for a cooperative close, after a dispute window for a
// unilateral one, during which a newer state replaces the registered one.
// A party that registered a state two or more versions older than one it
// signed since loses the whole channel to the other (rule C5 of
// docs/channels.md). HTLCs of a concluded state settle one by one, by the
// secret registry (a preimage revealed on L1 before the HTLC's expiry) or
// by timeout.
type Adjudicator struct {
	p Params
}

// NewAdjudicator returns the contract with rules p.
func NewAdjudicator(p Params) *Adjudicator { return &Adjudicator{p: p} }

// Address implements chain.SystemContract.
func (a *Adjudicator) Address() common.Address { return AdjudicatorAddress }

// Name implements chain.SystemContract.
func (a *Adjudicator) Name() string { return "channel-adjudicator" }

// RequiredGas implements chain.SystemContract.
func (a *Adjudicator) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return viewGas
	}
	m, err := AdjudicatorABI.MethodById(input[:4])
	if err != nil {
		return viewGas
	}
	switch m.Name {
	case "open":
		return openGas
	case "fund", "cancel":
		return fundGas
	case "close":
		return closeGas
	case "forceClose", "challenge":
		// Each HTLC of the state is four storage words. Input that does
		// not decode costs the base: it is refused.
		var n uint64
		if args, err := m.Inputs.Unpack(input[4:]); err == nil {
			if s, err := fromABI(args[0]); err == nil {
				n = uint64(len(s.HTLCs))
			}
		}
		return registerGas + perHTLCGas*n
	case "conclude":
		return concludeGas
	case "settleHTLC":
		return settleGas
	case "revealSecret":
		return revealGas
	}
	return viewGas
}

// Storage slots of a channel.
func slot(name string, id common.Hash, parts ...[]byte) common.Hash {
	return chain.Slot(name, append([][]byte{id[:]}, parts...)...)
}

var countSlot = chain.Slot("channels")

// Run implements chain.SystemContract.
func (a *Adjudicator) Run(c *chain.Call) ([]byte, error) {
	m, args, err := chain.ParseCall(&AdjudicatorABI, "adjudicator", c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && !c.Value.IsZero() {
		return nil, chain.Revert("adjudicator: %s takes no value", m.Name)
	}
	db := chain.Slots{State: c.State, Self: c.Self}
	switch m.Name {
	case "open":
		return a.open(c, db, args[0].(common.Address))
	case "fund":
		return nil, a.fund(c, db, args[0].([32]byte))
	case "cancel":
		return nil, a.cancel(c, db, args[0].([32]byte))
	case "close", "forceClose", "challenge":
		s, err := fromABI(args[0])
		if err != nil {
			return nil, chain.RevertWith(err, "adjudicator")
		}
		sigA, sigB := args[1].([]byte), args[2].([]byte)
		switch m.Name {
		case "close":
			return nil, a.close(c, db, s, sigA, sigB)
		case "forceClose":
			return nil, a.forceClose(c, db, s, sigA, sigB)
		}
		return nil, a.challenge(c, db, s, sigA, sigB)
	case "conclude":
		return nil, a.conclude(c, db, args[0].([32]byte))
	case "settleHTLC":
		return nil, a.settle(c, db, args[0].([32]byte), args[1].(*big.Int))
	case "revealSecret":
		pre := args[0].([32]byte)
		hash := common.Hash(sha256.Sum256(pre[:]))
		k := chain.Slot("secret", hash[:])
		if db.U64(k) == 0 { // the first reveal counts
			db.SetU64(k, c.Block.BlockNumber.Uint64())
			ev := AdjudicatorABI.Events["SecretRevealed"]
			data, _ := ev.Inputs.NonIndexed().Pack(pre)
			c.Emit([]common.Hash{ev.ID, hash}, data)
		}
		return nil, nil
	case "channel":
		id := common.Hash(args[0].([32]byte))
		ch := a.load(db, id)
		return m.Outputs.Pack(ch.A, ch.B, ch.DepositA, ch.DepositB, uint8(ch.Status), ch.Version, ch.Deadline, ch.Closer, ch.Locked)
	case "registered":
		id := common.Hash(args[0].([32]byte))
		return m.Outputs.Pack(db.Big(slot("balA", id)), db.Big(slot("balB", id)), new(big.Int).SetUint64(db.U64(slot("htlcs", id))))
	case "htlc":
		id := common.Hash(args[0].([32]byte))
		h, settled, ok := a.htlcAt(db, id, args[1].(*big.Int))
		if !ok {
			return nil, chain.RevertWith(ErrNoSettle, "adjudicator")
		}
		return m.Outputs.Pack(h.FromA, h.Amount, h.PaymentHash, h.Expiry, settled)
	case "secretRevealedAt":
		hash := args[0].([32]byte)
		return m.Outputs.Pack(db.U64(chain.Slot("secret", hash[:])))
	case "rules":
		return m.Outputs.Pack(a.p.L1ChainID, a.p.DisputeWindow, uint32(MaxHTLCs))
	}
	return nil, chain.Revert("adjudicator: unknown method")
}

// OnChain is what the adjudicator holds of a channel.
type OnChain struct {
	A, B               common.Address
	DepositA, DepositB *big.Int
	Status             Status
	Version            uint64 // of the registered state
	Deadline           uint64 // last L1 block of the dispute window
	Closer             common.Address
	Locked             *big.Int // wei still held for the channel
}

func (a *Adjudicator) load(db chain.Slots, id common.Hash) OnChain {
	return OnChain{
		A: db.Addr(slot("a", id)), B: db.Addr(slot("b", id)),
		DepositA: db.Big(slot("depA", id)), DepositB: db.Big(slot("depB", id)),
		Status: Status(db.U64(slot("status", id))), Version: db.U64(slot("version", id)),
		Deadline: db.U64(slot("deadline", id)), Closer: db.Addr(slot("closer", id)),
		Locked: db.Big(slot("locked", id)),
	}
}

// ChannelID is the id of the n-th channel the adjudicator in d opens
// between a and b.
func ChannelID(d Domain, a, b common.Address, n uint64) common.Hash {
	return crypto.Keccak256Hash(word(new(big.Int).SetUint64(d.ChainID)), common.LeftPadBytes(d.Contract.Bytes(), 32),
		common.LeftPadBytes(a.Bytes(), 32), common.LeftPadBytes(b.Bytes(), 32), word(new(big.Int).SetUint64(n)))
}

func (a *Adjudicator) open(c *chain.Call, db chain.Slots, peer common.Address) ([]byte, error) {
	if c.Value.IsZero() {
		return nil, chain.RevertWith(ErrZeroDeposit, "adjudicator: open")
	}
	if peer == c.Caller || peer == (common.Address{}) {
		return nil, chain.Revert("adjudicator: open: the peer must be another address")
	}
	n := db.U64(countSlot)
	db.SetU64(countSlot, n+1)
	id := ChannelID(a.p.Domain(), c.Caller, peer, n)
	v := c.Value.ToBig()
	db.SetAddr(slot("a", id), c.Caller)
	db.SetAddr(slot("b", id), peer)
	db.SetBig(slot("depA", id), v)
	db.SetBig(slot("locked", id), v)
	db.SetU64(slot("status", id), uint64(StatusOpening))
	ev := AdjudicatorABI.Events["ChannelOpened"]
	data, _ := ev.Inputs.NonIndexed().Pack(v)
	c.Emit([]common.Hash{ev.ID, id, addrTopic(c.Caller), addrTopic(peer)}, data)
	return id[:], nil
}

// fund is B's deposit (any amount, none included), which makes an opening
// channel open. Each side deposits once and before any state is signed, so
// a deposit can never void states that count on the deposits being what
// they were (rule C2).
func (a *Adjudicator) fund(c *chain.Call, db chain.Slots, id common.Hash) error {
	ch := a.load(db, id)
	if ch.Status != StatusOpening {
		return chain.RevertWith(ErrStatus, "adjudicator: fund a channel that is %s", ch.Status)
	}
	if c.Caller != ch.B {
		return chain.RevertWith(ErrNotParty, "adjudicator: fund")
	}
	v := c.Value.ToBig()
	db.SetBig(slot("depB", id), v)
	db.SetBig(slot("locked", id), ch.Locked.Add(ch.Locked, v))
	db.SetU64(slot("status", id), uint64(StatusOpen))
	ev := AdjudicatorABI.Events["ChannelFunded"]
	data, _ := ev.Inputs.NonIndexed().Pack(v, v)
	c.Emit([]common.Hash{ev.ID, id, addrTopic(c.Caller)}, data)
	return nil
}

// cancel returns A's deposit of a channel B never funded.
func (a *Adjudicator) cancel(c *chain.Call, db chain.Slots, id common.Hash) error {
	ch := a.load(db, id)
	if ch.Status != StatusOpening {
		return chain.RevertWith(ErrStatus, "adjudicator: cancel a channel that is %s", ch.Status)
	}
	if c.Caller != ch.A {
		return chain.RevertWith(ErrNotParty, "adjudicator: cancel")
	}
	db.SetU64(slot("status", id), uint64(StatusClosed))
	if err := a.pay(c, db, id, ch.A, ch.DepositA); err != nil {
		return err
	}
	ev := AdjudicatorABI.Events["ChannelClosed"]
	data, _ := ev.Inputs.NonIndexed().Pack(uint64(0), ch.DepositA, new(big.Int))
	c.Emit([]common.Hash{ev.ID, id}, data)
	return nil
}

// checkSigned checks that s is a valid state of channel ch, signed by both
// parties. The opening state (version 0, each party its deposit, nothing in
// flight) needs no signatures: both agreed to it by funding.
func (a *Adjudicator) checkSigned(ch OnChain, s *State, sigA, sigB []byte) error {
	if err := s.Check(); err != nil {
		return chain.RevertWith(err, "adjudicator")
	}
	if s.Total().Cmp(new(big.Int).Add(ch.DepositA, ch.DepositB)) != 0 {
		return chain.RevertWith(ErrSum, "adjudicator: state distributes %s wei, deposits are %s + %s", s.Total(), ch.DepositA, ch.DepositB)
	}
	if s.Version == 0 && len(sigA) == 0 && len(sigB) == 0 {
		if s.BalanceA.Cmp(ch.DepositA) != 0 || s.BalanceB.Cmp(ch.DepositB) != 0 || len(s.HTLCs) > 0 || s.Final {
			return chain.RevertWith(ErrBadSignature, "adjudicator: an unsigned state must be the opening one")
		}
		return nil
	}
	d := a.p.Domain()
	if err := d.Verify(s, sigA, ch.A); err != nil {
		return chain.RevertWith(err, "adjudicator: party A")
	}
	if err := d.Verify(s, sigB, ch.B); err != nil {
		return chain.RevertWith(err, "adjudicator: party B")
	}
	return nil
}

func (a *Adjudicator) channelOf(db chain.Slots, s *State) (OnChain, error) {
	ch := a.load(db, s.Channel)
	if ch.Status == StatusNone {
		return ch, chain.RevertWith(ErrNoChannel, "adjudicator: %s", s.Channel)
	}
	return ch, nil
}

// close is the cooperative close: a final state both signed, paid at once.
func (a *Adjudicator) close(c *chain.Call, db chain.Slots, s *State, sigA, sigB []byte) error {
	ch, err := a.channelOf(db, s)
	if err != nil {
		return err
	}
	if ch.Status != StatusOpen {
		return chain.RevertWith(ErrStatus, "adjudicator: close a channel that is %s", ch.Status)
	}
	if !s.Final {
		return chain.RevertWith(ErrNotFinal, "adjudicator")
	}
	if err := a.checkSigned(ch, s, sigA, sigB); err != nil {
		return err
	}
	db.SetU64(slot("status", s.Channel), uint64(StatusClosed))
	db.SetU64(slot("version", s.Channel), s.Version)
	if err := a.pay(c, db, s.Channel, ch.A, s.BalanceA); err != nil {
		return err
	}
	if err := a.pay(c, db, s.Channel, ch.B, s.BalanceB); err != nil {
		return err
	}
	ev := AdjudicatorABI.Events["ChannelClosed"]
	data, _ := ev.Inputs.NonIndexed().Pack(s.Version, s.BalanceA, s.BalanceB)
	c.Emit([]common.Hash{ev.ID, s.Channel}, data)
	return nil
}

// forceClose registers the caller's newest state and starts the dispute
// window.
func (a *Adjudicator) forceClose(c *chain.Call, db chain.Slots, s *State, sigA, sigB []byte) error {
	ch, err := a.channelOf(db, s)
	if err != nil {
		return err
	}
	if c.Caller != ch.A && c.Caller != ch.B {
		return chain.RevertWith(ErrNotParty, "adjudicator: forceClose")
	}
	if ch.Status != StatusOpen {
		return chain.RevertWith(ErrStatus, "adjudicator: forceClose a channel that is %s", ch.Status)
	}
	if s.Final {
		return chain.RevertWith(ErrFinal, "adjudicator")
	}
	if err := a.checkSigned(ch, s, sigA, sigB); err != nil {
		return err
	}
	deadline := c.Block.BlockNumber.Uint64() + a.p.DisputeWindow
	db.SetU64(slot("status", s.Channel), uint64(StatusDisputed))
	db.SetAddr(slot("closer", s.Channel), c.Caller)
	db.SetU64(slot("closerVersion", s.Channel), s.Version)
	db.SetU64(slot("deadline", s.Channel), deadline)
	a.register(db, s)
	ev := AdjudicatorABI.Events["ChannelDisputed"]
	data, _ := ev.Inputs.NonIndexed().Pack(s.Version, deadline)
	c.Emit([]common.Hash{ev.ID, s.Channel, addrTopic(c.Caller)}, data)
	return nil
}

// register stores s as the channel's registered state.
func (a *Adjudicator) register(db chain.Slots, s *State) {
	id := s.Channel
	db.SetU64(slot("version", id), s.Version)
	db.SetBig(slot("balA", id), s.BalanceA)
	db.SetBig(slot("balB", id), s.BalanceB)
	db.SetU64(slot("htlcs", id), uint64(len(s.HTLCs)))
	for i, h := range s.HTLCs {
		n := chain.U64Bytes(uint64(i))
		db.SetBig(slot("htlcAmount", id, n), h.Amount)
		db.Set(slot("htlcHash", id, n), h.PaymentHash)
		db.SetU64(slot("htlcExpiry", id, n), h.Expiry)
		fromA := slot("htlcFromA", id, n)
		if h.FromA {
			db.SetFlag(fromA)
		} else {
			db.Set(fromA, common.Hash{})
		}
	}
}

// challenge answers a unilateral close with a newer state, from either
// party or anyone holding both signatures (a watchtower). A state two or
// more versions past the one the closer registered proves the closer
// closed with a state it had revoked: the closer had signed a newer one
// while holding the one in between signed by both (rule C4), so the whole
// channel goes to the other party at once. A state one version past
// replaces the registered one without penalty: an honest closer can lack
// the other's signature on it.
func (a *Adjudicator) challenge(c *chain.Call, db chain.Slots, s *State, sigA, sigB []byte) error {
	ch, err := a.channelOf(db, s)
	if err != nil {
		return err
	}
	if ch.Status != StatusDisputed {
		return chain.RevertWith(ErrStatus, "adjudicator: challenge a channel that is %s", ch.Status)
	}
	if c.Block.BlockNumber.Uint64() > ch.Deadline {
		return chain.RevertWith(ErrWindow, "adjudicator: challenge after block %d", ch.Deadline)
	}
	if s.Version <= ch.Version {
		return chain.RevertWith(ErrOldVersion, "adjudicator: version %d, registered %d", s.Version, ch.Version)
	}
	if err := a.checkSigned(ch, s, sigA, sigB); err != nil {
		return err
	}
	closerVersion := db.U64(slot("closerVersion", s.Channel))
	penalized := s.Version-closerVersion >= 2 // s.Version > closerVersion here
	ev := AdjudicatorABI.Events["ChannelChallenged"]
	data, _ := ev.Inputs.NonIndexed().Pack(s.Version, penalized)
	c.Emit([]common.Hash{ev.ID, s.Channel, addrTopic(c.Caller)}, data)
	if !penalized {
		a.register(db, s)
		return nil
	}
	// The cheater loses everything the channel holds, its HTLCs included.
	victim := ch.A
	if ch.Closer == ch.A {
		victim = ch.B
	}
	db.SetU64(slot("version", s.Channel), s.Version)
	db.SetU64(slot("htlcs", s.Channel), 0)
	db.SetU64(slot("status", s.Channel), uint64(StatusClosed))
	payA, payB := new(big.Int), new(big.Int)
	if victim == ch.A {
		payA.Set(ch.Locked)
	} else {
		payB.Set(ch.Locked)
	}
	db.SetBig(slot("balA", s.Channel), payA)
	db.SetBig(slot("balB", s.Channel), payB)
	if err := a.pay(c, db, s.Channel, victim, ch.Locked); err != nil {
		return err
	}
	a.emitConcluded(c, s.Channel, payA, payB)
	return nil
}

func (a *Adjudicator) emitConcluded(c *chain.Call, id common.Hash, payA, payB *big.Int) {
	ev := AdjudicatorABI.Events["ChannelConcluded"]
	data, _ := ev.Inputs.NonIndexed().Pack(payA, payB)
	c.Emit([]common.Hash{ev.ID, id}, data)
}

// conclude pays a registered state's balances once its window has passed;
// its HTLCs wait for settleHTLC.
func (a *Adjudicator) conclude(c *chain.Call, db chain.Slots, id common.Hash) error {
	ch := a.load(db, id)
	if ch.Status != StatusDisputed {
		return chain.RevertWith(ErrStatus, "adjudicator: conclude a channel that is %s", ch.Status)
	}
	if c.Block.BlockNumber.Uint64() <= ch.Deadline {
		return chain.RevertWith(ErrWindow, "adjudicator: the window runs to block %d", ch.Deadline)
	}
	db.SetU64(slot("status", id), uint64(StatusClosed))
	balA, balB := db.Big(slot("balA", id)), db.Big(slot("balB", id))
	if err := a.pay(c, db, id, ch.A, balA); err != nil {
		return err
	}
	if err := a.pay(c, db, id, ch.B, balB); err != nil {
		return err
	}
	a.emitConcluded(c, id, balA, balB)
	return nil
}

func (a *Adjudicator) htlcAt(db chain.Slots, id common.Hash, index *big.Int) (HTLC, bool, bool) {
	if !index.IsUint64() || index.Uint64() >= db.U64(slot("htlcs", id)) {
		return HTLC{}, false, false
	}
	n := chain.U64Bytes(index.Uint64())
	h := HTLC{FromA: db.Flag(slot("htlcFromA", id, n)), Amount: db.Big(slot("htlcAmount", id, n)),
		PaymentHash: db.Get(slot("htlcHash", id, n)), Expiry: db.U64(slot("htlcExpiry", id, n))}
	return h, db.Flag(slot("htlcSettled", id, n)), true
}

// settle pays one HTLC of a concluded state: to its receiver when the
// preimage was revealed on L1 by its expiry, to its sender once the expiry
// has passed without.
func (a *Adjudicator) settle(c *chain.Call, db chain.Slots, id common.Hash, index *big.Int) error {
	ch := a.load(db, id)
	if ch.Status != StatusClosed {
		return chain.RevertWith(ErrStatus, "adjudicator: settle an HTLC of a channel that is %s", ch.Status)
	}
	h, settled, ok := a.htlcAt(db, id, index)
	if !ok || settled {
		return chain.RevertWith(ErrNoSettle, "adjudicator: HTLC %s", index)
	}
	sender, receiver := ch.B, ch.A
	if h.FromA {
		sender, receiver = ch.A, ch.B
	}
	revealed := db.U64(chain.Slot("secret", h.PaymentHash[:]))
	var to common.Address
	switch {
	case revealed != 0 && revealed <= h.Expiry:
		to = receiver
	case c.Block.BlockNumber.Uint64() > h.Expiry:
		to = sender
	default:
		return chain.RevertWith(ErrUndecided, "adjudicator: HTLC %s expires after block %d", index, h.Expiry)
	}
	db.SetFlag(slot("htlcSettled", id, chain.U64Bytes(index.Uint64())))
	if err := a.pay(c, db, id, to, h.Amount); err != nil {
		return err
	}
	ev := AdjudicatorABI.Events["HTLCSettled"]
	data, _ := ev.Inputs.NonIndexed().Pack(index, to, h.Amount)
	c.Emit([]common.Hash{ev.ID, id, h.PaymentHash}, data)
	return nil
}

// pay sends v of channel id's locked funds to to. A channel never pays out
// more than its own deposits, whatever its states say.
func (a *Adjudicator) pay(c *chain.Call, db chain.Slots, id common.Hash, to common.Address, v *big.Int) error {
	if v.Sign() == 0 {
		return nil
	}
	locked := db.Big(slot("locked", id))
	if locked.Cmp(v) < 0 {
		return chain.Revert("adjudicator: channel %s holds %s wei, %s to pay", id, locked, v)
	}
	wei, overflow := uint256.FromBig(v)
	if overflow || c.State.GetBalance(c.Self).Cmp(wei) < 0 {
		return chain.Revert("adjudicator: %s wei to pay, the contract holds less", v)
	}
	db.SetBig(slot("locked", id), locked.Sub(locked, v))
	c.State.SubBalance(c.Self, wei, tracing.BalanceChangeUnspecified)
	c.State.AddBalance(to, wei, tracing.BalanceChangeUnspecified)
	return nil
}

func addrTopic(a common.Address) common.Hash { return common.BytesToHash(a.Bytes()) }

// Validate checks the rules.
func (p Params) Validate() error {
	if p.DisputeWindow == 0 {
		return fmt.Errorf("%w: no dispute window", ErrParams)
	}
	if p.L1ChainID == 0 {
		return fmt.Errorf("%w: no L1 chain ID", ErrParams)
	}
	return nil
}
