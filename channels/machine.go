package channels

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// MsgType is the kind of a peer message about one channel.
type MsgType uint8

// The update protocol's messages (rule C4 of docs/channels.md).
const (
	// MsgPropose carries the proposer's ops for the next version,
	// unsigned.
	MsgPropose MsgType = iota + 1
	// MsgAccept carries the acceptor's signature on the proposed state
	// (and the proposal again, so a proposer that reconnects can match it).
	MsgAccept
	// MsgConfirm carries the proposer's signature: both now hold the
	// state signed by both.
	MsgConfirm
	// MsgSync opens a reconnection: the sender's newest version signed by
	// both.
	MsgSync
	// MsgReject refuses the proposal of Version: the acceptor signed
	// nothing, and the proposer drops it.
	MsgReject
)

func (t MsgType) String() string {
	switch t {
	case MsgPropose:
		return "propose"
	case MsgAccept:
		return "accept"
	case MsgConfirm:
		return "confirm"
	case MsgSync:
		return "sync"
	case MsgReject:
		return "reject"
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

// Message is one peer message about a channel.
type Message struct {
	Type    MsgType
	Channel common.Hash
	Version uint64 // the state's version (MsgSync: the sender's newest full one)
	Ops     []Op   // MsgPropose, MsgAccept
	Sig     []byte // MsgAccept, MsgConfirm
}

// Proposal is an update this party sent and the peer has not answered.
type Proposal struct {
	Version uint64
	Ops     []Op
}

// Half is a state this party signed as acceptor that the proposer has not
// confirmed: the party must not sign another state of that version.
type Half struct {
	State *State
	Ops   []Op
	Sig   []byte // this party's
}

// Record is what a party keeps of a channel: all it needs to resume after
// a crash, and what it must have on disk before any signature of its
// leaves the process.
type Record struct {
	Channel common.Hash
	Role    Role
	// Full is the newest state signed by both, with the signatures.
	Full       *State
	SigA, SigB []byte
	// Proposal is this party's unanswered proposal, if any.
	Proposal *Proposal
	// Half is the state this party accepted and the peer did not yet
	// confirm, if any.
	Half *Half
}

// Event tells the node what a newly signed state changed for this party.
type Event struct {
	Kind OpKind // OpAddHTLC, OpFulfil, OpFail, OpPay, OpClose
	// Incoming is true for an HTLC offered to this party (OpAddHTLC), an
	// HTLC this party offered that the peer fulfilled or failed, or a
	// payment to this party.
	Incoming bool
	Op       Op
}

// Ready is what a step asks the shell to do, in order: save Save (durably),
// then send Send. Events are the HTLC and payment changes of a state that
// became signed by both; Requeue holds ops of a proposal of this party's
// that lost a simultaneous proposal and must be proposed again.
type Ready struct {
	Save    *Record
	Send    []*Message
	Events  []Event
	Requeue []Op
	// Final is set when a state for a cooperative close became signed by
	// both: the shell sends it to the adjudicator.
	Final bool
	// Learned holds the preimages of HTLCs offered by this party that it
	// just signed away, accepting the peer's fulfilment: the peer can
	// publish that state, so the party claims upstream now, not when
	// the peer confirms.
	Learned []common.Hash
	// Refused holds the ops of this party's proposal the peer rejected.
	Refused []Op
}

// Errors of the channel machine.
var (
	// ErrBusy is returned by Propose while an update is in flight.
	ErrBusy = errors.New("an update of the channel is in flight")
	// ErrProtocol is returned for a peer message that breaks the update
	// protocol: it is dropped and the channel is unchanged.
	ErrProtocol = errors.New("peer broke the channel protocol")
)

// Machine is one party's side of one channel: a deterministic core that
// takes the party's proposals and the peer's messages and returns what to
// save and send. It is not safe for concurrent use; the shell serialises
// calls per channel.
type Machine struct {
	dom  Domain
	key  *ecdsa.PrivateKey
	self common.Address
	peer common.Address
	rec  Record
	// synced is set once the peer's MsgSync of this connection arrived:
	// until then this party proposes nothing, so that what the
	// resynchronisation sends goes first.
	synced bool
	// Limits are checked on HTLCs offered to this party; the shell updates
	// Height as L1 moves.
	Limits Limits
}

// NewMachine resumes (or starts, from the opening state in rec.Full) a
// channel whose party in role rec.Role holds key, with peer the other
// party's address.
func NewMachine(dom Domain, key *ecdsa.PrivateKey, peer common.Address, rec Record, lim Limits) *Machine {
	return &Machine{dom: dom, key: key, self: crypto.PubkeyToAddress(key.PublicKey), peer: peer, rec: rec, Limits: lim}
}

// Record returns the channel's record (the caller must not change it).
func (m *Machine) Record() *Record { return &m.rec }

// State is the newest state signed by both.
func (m *Machine) State() *State { return m.rec.Full }

// Idle reports whether no update is in flight and the channel is in sync
// with the peer: whether Propose may be called.
func (m *Machine) Idle() bool { return m.synced && m.rec.Proposal == nil && m.rec.Half == nil }

func (m *Machine) save() *Record {
	r := m.rec
	return &r
}

// Propose starts an update with ops. The shell saves the proposal before
// sending it, so that a restarted party recognises the peer's answer.
func (m *Machine) Propose(ops []Op) (Ready, error) {
	if !m.Idle() {
		return Ready{}, ErrBusy
	}
	if _, err := Apply(m.rec.Full, m.rec.Role, ops, nil); err != nil {
		return Ready{}, err
	}
	p := &Proposal{Version: m.rec.Full.Version + 1, Ops: ops}
	m.rec.Proposal = p
	return Ready{Save: m.save(), Send: []*Message{{Type: MsgPropose, Channel: m.rec.Channel, Version: p.Version, Ops: ops}}}, nil
}

// Sync is the message that opens a connection (every one, the first
// included). Until the peer's own arrives, Propose returns ErrBusy.
func (m *Machine) Sync() *Message {
	m.synced = false
	return &Message{Type: MsgSync, Channel: m.rec.Channel, Version: m.rec.Full.Version}
}

// Step takes one peer message.
func (m *Machine) Step(msg *Message) (Ready, error) {
	if msg.Channel != m.rec.Channel {
		return Ready{}, fmt.Errorf("%w: message for channel %s", ErrProtocol, msg.Channel)
	}
	switch msg.Type {
	case MsgPropose:
		return m.stepPropose(msg)
	case MsgAccept:
		return m.stepAccept(msg)
	case MsgConfirm:
		return m.stepConfirm(msg)
	case MsgSync:
		return m.stepSync(msg)
	case MsgReject:
		return m.stepReject(msg)
	}
	return Ready{}, fmt.Errorf("%w: message type %d", ErrProtocol, msg.Type)
}

func (m *Machine) sign(s *State) []byte {
	sig, err := m.dom.Sign(s, m.key)
	if err != nil {
		panic(fmt.Sprintf("channels: signing with a valid key failed: %v", err)) // cannot happen for a valid key
	}
	return sig
}

// stepPropose answers the peer's proposal: sign it (rule C4: only while
// holding the previous version signed by both, and never a second state
// of one version). When both proposed the same version at once, A's
// proposal wins: B drops its own (nobody signed it) and requeues its ops.
func (m *Machine) stepPropose(msg *Message) (Ready, error) {
	if msg.Version != m.rec.Full.Version+1 {
		return Ready{}, fmt.Errorf("%w: proposal for version %d, the channel is at %d", ErrProtocol, msg.Version, m.rec.Full.Version)
	}
	if h := m.rec.Half; h != nil {
		if h.State.Version == msg.Version && sameOps(h.Ops, msg.Ops) { // sent again after a reconnection
			return Ready{Send: []*Message{{Type: MsgAccept, Channel: m.rec.Channel, Version: msg.Version, Ops: h.Ops, Sig: h.Sig}}}, nil
		}
		return Ready{}, fmt.Errorf("%w: a second proposal for version %d, already accepted", ErrProtocol, msg.Version)
	}
	var ready Ready
	if m.rec.Proposal != nil {
		if m.rec.Role == RoleA {
			return Ready{}, nil // A's own proposal wins; B drops this one
		}
		ready.Requeue = m.rec.Proposal.Ops
		m.rec.Proposal = nil
	}
	next, err := Apply(m.rec.Full, m.rec.Role.Other(), msg.Ops, &m.Limits)
	if err != nil {
		if ready.Requeue != nil { // the dropped proposal stands again
			m.rec.Proposal = &Proposal{Version: msg.Version, Ops: ready.Requeue}
		}
		// Say so, so the proposer does not wait on it for ever.
		return Ready{Send: []*Message{{Type: MsgReject, Channel: m.rec.Channel, Version: msg.Version}}}, err
	}
	sig := m.sign(next)
	m.rec.Half = &Half{State: next, Ops: msg.Ops, Sig: sig}
	ready.Save = m.save()
	ready.Send = []*Message{{Type: MsgAccept, Channel: m.rec.Channel, Version: next.Version, Ops: msg.Ops, Sig: sig}}
	for _, op := range msg.Ops {
		if op.Kind == OpFulfil {
			ready.Learned = append(ready.Learned, op.Preimage)
		}
	}
	return ready, nil
}

// stepReject drops this party's proposal the peer refused.
func (m *Machine) stepReject(msg *Message) (Ready, error) {
	p := m.rec.Proposal
	if p == nil || p.Version != msg.Version {
		return Ready{}, nil // an answer to a proposal already settled
	}
	m.rec.Proposal = nil
	return Ready{Save: m.save(), Refused: p.Ops}, nil
}

// stepAccept completes this party's proposal with the peer's signature:
// check it, sign, and the state is signed by both.
func (m *Machine) stepAccept(msg *Message) (Ready, error) {
	p := m.rec.Proposal
	if p == nil || msg.Version != p.Version {
		if msg.Version == m.rec.Full.Version {
			return Ready{}, nil // an answer this party already has (a resync)
		}
		return Ready{}, fmt.Errorf("%w: accept of version %d with no such proposal", ErrProtocol, msg.Version)
	}
	if !sameOps(p.Ops, msg.Ops) {
		return Ready{}, fmt.Errorf("%w: accept of other ops than proposed", ErrProtocol)
	}
	next, err := Apply(m.rec.Full, m.rec.Role, p.Ops, nil)
	if err != nil {
		return Ready{}, err
	}
	if err := m.dom.Verify(next, msg.Sig, m.peer); err != nil {
		return Ready{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	mine := m.sign(next)
	ready := m.complete(next, mine, msg.Sig, m.rec.Role, p.Ops)
	m.rec.Proposal = nil
	ready.Save = m.save()
	ready.Send = []*Message{{Type: MsgConfirm, Channel: m.rec.Channel, Version: next.Version, Sig: mine}}
	return ready, nil
}

// stepConfirm completes a state this party accepted.
func (m *Machine) stepConfirm(msg *Message) (Ready, error) {
	h := m.rec.Half
	if h == nil || msg.Version != h.State.Version {
		if msg.Version == m.rec.Full.Version {
			return Ready{}, nil
		}
		return Ready{}, fmt.Errorf("%w: confirm of version %d with nothing accepted", ErrProtocol, msg.Version)
	}
	if err := m.dom.Verify(h.State, msg.Sig, m.peer); err != nil {
		return Ready{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	ready := m.complete(h.State, h.Sig, msg.Sig, m.rec.Role.Other(), h.Ops)
	m.rec.Half = nil
	ready.Save = m.save()
	return ready, nil
}

// complete makes next the newest state signed by both and reports what
// its ops did for this party.
func (m *Machine) complete(next *State, mine, theirs []byte, proposer Role, ops []Op) Ready {
	m.rec.Full = next
	if m.rec.Role == RoleA {
		m.rec.SigA, m.rec.SigB = mine, theirs
	} else {
		m.rec.SigA, m.rec.SigB = theirs, mine
	}
	var ready Ready
	byMe := proposer == m.rec.Role
	for _, op := range ops {
		ev := Event{Kind: op.Kind, Op: op}
		switch op.Kind {
		case OpPay, OpAddHTLC:
			ev.Incoming = !byMe
		case OpFulfil, OpFail:
			ev.Incoming = !byMe // the peer settled an HTLC this party offered
			if op.Kind == OpFulfil {
				ev.Op.PaymentHash = sha256Hash(op.Preimage)
			}
		case OpClose:
			ready.Final = true
		}
		ready.Events = append(ready.Events, ev)
	}
	return ready
}

// stepSync answers the peer's reconnection: a party one version ahead
// sends its confirmation again, a party that accepted a state sends its
// acceptance again, and a party with an unanswered proposal proposes
// again, so no update is lost and neither party is left unable to sign.
func (m *Machine) stepSync(msg *Message) (Ready, error) {
	m.synced = true
	var ready Ready
	switch {
	case msg.Version+1 == m.rec.Full.Version:
		mine := m.rec.SigA
		if m.rec.Role == RoleB {
			mine = m.rec.SigB
		}
		ready.Send = append(ready.Send, &Message{Type: MsgConfirm, Channel: m.rec.Channel, Version: m.rec.Full.Version, Sig: mine})
	case msg.Version == m.rec.Full.Version:
	case msg.Version == m.rec.Full.Version+1 && m.rec.Half != nil:
		// The peer confirmed what this party accepted; its confirmation
		// comes again.
	default:
		return Ready{}, fmt.Errorf("%w: peer is at version %d, this party at %d", ErrProtocol, msg.Version, m.rec.Full.Version)
	}
	if h := m.rec.Half; h != nil {
		ready.Send = append(ready.Send, &Message{Type: MsgAccept, Channel: m.rec.Channel, Version: h.State.Version, Ops: h.Ops, Sig: h.Sig})
	}
	if p := m.rec.Proposal; p != nil {
		ready.Send = append(ready.Send, &Message{Type: MsgPropose, Channel: m.rec.Channel, Version: p.Version, Ops: p.Ops})
	}
	return ready, nil
}

// OpeningRecord is the record of a channel just funded: the opening state,
// each party its deposit, which needs no signatures.
func OpeningRecord(id common.Hash, role Role, ch OnChain) Record {
	return Record{Channel: id, Role: role, Full: &State{Channel: id, BalanceA: ch.DepositA, BalanceB: ch.DepositB}}
}

func sha256Hash(preimage common.Hash) common.Hash { return sha256.Sum256(preimage[:]) }

// amountOf is an op's amount, none being 0 (as the wire carries it).
func amountOf(op Op) *big.Int {
	if op.Amount == nil {
		return new(big.Int)
	}
	return op.Amount
}

func sameOps(a, b []Op) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind != y.Kind || x.PaymentHash != y.PaymentHash || x.Expiry != y.Expiry || x.Preimage != y.Preimage ||
			amountOf(x).Cmp(amountOf(y)) != 0 {
			return false
		}
	}
	return true
}

// copyRecord is a deep copy of a record.
func copyRecord(r *Record) Record {
	c := *r
	c.Full = r.Full.Copy()
	if r.Half != nil {
		h := *r.Half
		h.State = r.Half.State.Copy()
		c.Half = &h
	}
	return c
}
