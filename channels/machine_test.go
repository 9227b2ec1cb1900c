package channels

import (
	"crypto/sha256"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

// party is one side of a channel in memory: its machine, its disk (the
// last record it saved) and every digest it ever signed, by version.
type party struct {
	m      *Machine
	disk   Record
	signed map[uint64]common.Hash
	events []Event
	queue  []Op // requeued ops
}

// pair is two parties and the wire between them (messages in flight, in
// order, per direction).
type pair struct {
	t    *testing.T
	dom  Domain
	p    [2]*party
	wire [2][]*Message // wire[i]: messages to party i
	lim  Limits
}

func newPair(t *testing.T, depA, depB int64) *pair {
	dom := Domain{ChainID: 900, Contract: AdjudicatorAddress}
	id := common.Hash{0xc4}
	ch := OnChain{DepositA: big.NewInt(depA), DepositB: big.NewInt(depB)}
	lim := Limits{Height: 100, MinExpiryDelta: 20}
	pr := &pair{t: t, dom: dom, lim: lim}
	keys := [2]uint32{4, 5}
	for i, role := range []Role{RoleA, RoleB} {
		rec := OpeningRecord(id, role, ch)
		pr.p[i] = &party{m: NewMachine(dom, chain.DevKey(keys[i]), chain.DevAddress(keys[1-i]), rec, lim), disk: rec, signed: map[uint64]common.Hash{}}
	}
	pr.reconnect()
	pr.settle()
	return pr
}

// apply does what a shell does with a Ready: save, then send.
func (pr *pair) apply(i int, r Ready, err error) error {
	if err != nil {
		return err
	}
	p := pr.p[i]
	if r.Save != nil {
		p.disk = copyRecord(r.Save)
	}
	for _, msg := range r.Send {
		if msg.Sig != nil {
			// Find the state this signature is over and check the
			// party never signed another with its version.
			var s *State
			switch {
			case p.m.rec.Half != nil && p.m.rec.Half.State.Version == msg.Version:
				s = p.m.rec.Half.State
			case p.m.rec.Full.Version == msg.Version:
				s = p.m.rec.Full
			}
			if s == nil {
				pr.t.Fatalf("party %d sent a signature on version %d it holds no state of", i, msg.Version)
			}
			d := pr.dom.Digest(s)
			if prev, ok := p.signed[msg.Version]; ok && prev != d {
				pr.t.Fatalf("party %d signed two states of version %d", i, msg.Version)
			}
			p.signed[msg.Version] = d
			if p.disk.Full.Version < msg.Version && (p.disk.Half == nil || p.disk.Half.State.Version != msg.Version) {
				pr.t.Fatalf("party %d sent a signature on version %d before saving it", i, msg.Version)
			}
		}
		// Every message crosses the wire form.
		raw, err := EncodeMessage(msg)
		if err != nil {
			pr.t.Fatal(err)
		}
		back, err := DecodeMessage(raw)
		if err != nil {
			pr.t.Fatal(err)
		}
		pr.wire[1-i] = append(pr.wire[1-i], back)
	}
	p.events = append(p.events, r.Events...)
	p.queue = append(p.queue, r.Requeue...)
	return nil
}

// deliver hands party i its next message; it reports whether there was one.
func (pr *pair) deliver(i int) (bool, error) {
	if len(pr.wire[i]) == 0 {
		return false, nil
	}
	msg := pr.wire[i][0]
	pr.wire[i] = pr.wire[i][1:]
	r, err := pr.p[i].m.Step(msg)
	return true, pr.apply(i, r, err)
}

// settle delivers every message until the wire is empty.
func (pr *pair) settle() {
	pr.t.Helper()
	for {
		a, errA := pr.deliver(0)
		b, errB := pr.deliver(1)
		if errA != nil || errB != nil {
			pr.t.Fatalf("step: %v / %v", errA, errB)
		}
		if !a && !b {
			return
		}
	}
}

func (pr *pair) propose(i int, ops ...Op) {
	pr.t.Helper()
	r, err := pr.p[i].m.Propose(ops)
	if err := pr.apply(i, r, err); err != nil {
		pr.t.Fatal(err)
	}
}

// restart rebuilds party i from its disk, as after a crash, and drops the
// wire (the connection went with it); both then resynchronise.
func (pr *pair) restart(i int) {
	p := pr.p[i]
	p.m = NewMachine(pr.dom, p.m.key, p.m.peer, copyRecord(&p.disk), pr.lim)
	pr.reconnect()
}

func (pr *pair) reconnect() {
	pr.wire = [2][]*Message{}
	for i := range 2 {
		pr.wire[1-i] = append(pr.wire[1-i], pr.p[i].m.Sync())
	}
}

// agree checks both parties hold the same state, signed by both.
func (pr *pair) agree() *State {
	pr.t.Helper()
	a, b := pr.p[0].m.rec, pr.p[1].m.rec
	if pr.dom.Digest(a.Full) != pr.dom.Digest(b.Full) {
		pr.t.Fatalf("A holds version %d, B version %d", a.Full.Version, b.Full.Version)
	}
	if a.Full.Version > 0 {
		if err := pr.dom.Verify(a.Full, a.SigA, chain.DevAddress(4)); err != nil {
			pr.t.Fatal(err)
		}
		if err := pr.dom.Verify(a.Full, a.SigB, chain.DevAddress(5)); err != nil {
			pr.t.Fatal(err)
		}
	}
	return a.Full
}

func pay(wei int64) Op { return Op{Kind: OpPay, Amount: big.NewInt(wei)} }

func TestPaymentsBothWays(t *testing.T) {
	pr := newPair(t, 1000, 1000)
	pr.propose(0, pay(300))
	pr.settle()
	pr.propose(1, pay(50), pay(25))
	pr.settle()
	s := pr.agree()
	if s.Version != 2 || s.BalanceA.Int64() != 775 || s.BalanceB.Int64() != 1225 {
		t.Fatalf("state %d: A %s, B %s", s.Version, s.BalanceA, s.BalanceB)
	}
	if ev := pr.p[1].events; len(ev) != 3 || !ev[0].Incoming || ev[1].Incoming {
		t.Fatalf("B's events: %+v", ev)
	}
	// Overdrawing is refused at the proposer and, if a peer sends it
	// anyway, at the receiver, leaving the channel as it was.
	if _, err := pr.p[0].m.Propose([]Op{pay(776)}); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("overdraw: %v", err)
	}
	if _, err := pr.p[1].m.Step(&Message{Type: MsgPropose, Channel: s.Channel, Version: 3, Ops: []Op{pay(776)}}); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("overdraw from the peer: %v", err)
	}
	if !pr.p[1].m.Idle() {
		t.Fatal("a refused proposal left an update in flight")
	}
}

// Both propose the same version at once: A's proposal wins, B's ops come
// back to B to propose again, and nobody signed two states of a version.
func TestSimultaneousProposals(t *testing.T) {
	pr := newPair(t, 1000, 1000)
	pr.propose(0, pay(10))
	pr.propose(1, pay(20))
	pr.settle()
	s := pr.agree()
	if s.Version != 1 || s.BalanceB.Int64() != 1010 {
		t.Fatalf("after the race: version %d, B %s", s.Version, s.BalanceB)
	}
	if q := pr.p[1].queue; len(q) != 1 || q[0].Amount.Int64() != 20 {
		t.Fatalf("B's requeued ops: %+v", q)
	}
	pr.propose(1, pr.p[1].queue...)
	pr.settle()
	if s := pr.agree(); s.Version != 2 || s.BalanceA.Int64() != 1010 {
		t.Fatalf("after B's retry: version %d, A %s", s.Version, s.BalanceA)
	}
}

// An HTLC from A to B, fulfilled by B with the preimage; another failed.
func TestHTLCAddFulfilFail(t *testing.T) {
	pr := newPair(t, 1000, 0)
	pre := common.Hash{7}
	hash := common.Hash(sha256.Sum256(pre[:]))
	pr.propose(0, Op{Kind: OpAddHTLC, Amount: big.NewInt(100), PaymentHash: hash, Expiry: 200},
		Op{Kind: OpAddHTLC, Amount: big.NewInt(50), PaymentHash: common.Hash{9}, Expiry: 200})
	pr.settle()
	if s := pr.agree(); len(s.HTLCs) != 2 || s.BalanceA.Int64() != 850 {
		t.Fatalf("after adds: %+v", s)
	}
	// A cannot fulfil its own HTLC, nor B one with the wrong preimage.
	if _, err := pr.p[0].m.Propose([]Op{{Kind: OpFulfil, Preimage: pre}}); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("sender fulfilled its own HTLC: %v", err)
	}
	if _, err := pr.p[1].m.Propose([]Op{{Kind: OpFulfil, Preimage: common.Hash{8}}}); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("wrong preimage: %v", err)
	}
	pr.propose(1, Op{Kind: OpFulfil, Preimage: pre}, Op{Kind: OpFail, PaymentHash: common.Hash{9}})
	pr.settle()
	s := pr.agree()
	if len(s.HTLCs) != 0 || s.BalanceA.Int64() != 900 || s.BalanceB.Int64() != 100 {
		t.Fatalf("after settling: %+v", s)
	}
	var fulfilled bool
	for _, ev := range pr.p[0].events {
		if ev.Kind == OpFulfil && ev.Incoming && ev.Op.PaymentHash == hash {
			fulfilled = true
		}
	}
	if !fulfilled {
		t.Fatalf("A heard of no fulfilment: %+v", pr.p[0].events)
	}
	// An HTLC expiring too soon for B to claim on L1 is refused by B.
	pr.p[0].m.rec.Full = s
	if _, err := pr.p[1].m.Step(&Message{Type: MsgPropose, Channel: s.Channel, Version: s.Version + 1,
		Ops: []Op{{Kind: OpAddHTLC, Amount: big.NewInt(1), PaymentHash: common.Hash{3}, Expiry: pr.lim.Height + pr.lim.MinExpiryDelta - 1}}}); !errors.Is(err, ErrBadUpdate) {
		t.Fatalf("short expiry: %v", err)
	}
	// A cooperative close: final, no HTLCs.
	pr.propose(0, Op{Kind: OpClose})
	pr.settle()
	if s := pr.agree(); !s.Final {
		t.Fatal("close did not make the state final")
	}
}

// Forged and replayed messages from the peer change nothing.
func TestHostilePeerMessages(t *testing.T) {
	pr := newPair(t, 1000, 1000)
	pr.propose(0, pay(100))
	msgs := append([]*Message{}, pr.wire[1]...)
	pr.settle()
	b := pr.p[1].m
	before := pr.dom.Digest(b.State())
	// An accept B never asked for, a confirm with a forged signature, a
	// replayed proposal, a message for another channel, a bad type.
	forged, _ := pr.dom.Sign(b.State(), chain.DevKey(7))
	for _, msg := range []*Message{
		{Type: MsgAccept, Channel: b.rec.Channel, Version: 5, Sig: forged},
		{Type: MsgConfirm, Channel: b.rec.Channel, Version: 2, Sig: forged},
		msgs[0],
		{Type: MsgPropose, Channel: common.Hash{1}, Version: 2, Ops: []Op{pay(1)}},
		{Type: 99, Channel: b.rec.Channel},
	} {
		if r, err := b.Step(msg); err == nil && (r.Save != nil || len(r.Send) > 0) {
			t.Errorf("%s: no error, and B acted on it", msg.Type)
		}
	}
	// B's proposal accepted with a signature that is not A's.
	pr.reconnect()
	pr.settle()
	pr.wire = [2][]*Message{}
	pr.propose(1, pay(5))
	if _, err := b.Step(&Message{Type: MsgAccept, Channel: b.rec.Channel, Version: 2, Ops: []Op{pay(5)}, Sig: forged}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("forged accept: %v", err)
	}
	if _, err := b.Step(&Message{Type: MsgAccept, Channel: b.rec.Channel, Version: 2, Ops: []Op{pay(6)}, Sig: forged}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("accept of other ops: %v", err)
	}
	if pr.dom.Digest(b.State()) != before {
		t.Fatal("hostile messages moved B's state")
	}
}

// Messages lost and parties crashed at every step of an update: after a
// reconnection both hold the same newest state, every update lands
// exactly once, and nobody signs two states of one version.
func TestLossAndCrashesConverge(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		pr := newPair(t, 1_000_000, 1_000_000)
		sent := [2]int64{}
		for range 40 {
			i := rng.IntN(2)
			if pr.p[i].m.Idle() {
				ops := pr.p[i].queue
				pr.p[i].queue = nil
				amt := int64(rng.IntN(100) + 1)
				ops = append(ops, pay(amt))
				if r, err := pr.p[i].m.Propose(ops); err == nil {
					if err := pr.apply(i, r, nil); err != nil {
						t.Fatal(err)
					}
					sent[i] += amt
				} else {
					pr.p[i].queue = ops[:len(ops)-1]
				}
			}
			switch rng.IntN(6) {
			case 0: // a message lost
				if j := rng.IntN(2); len(pr.wire[j]) > 0 {
					pr.wire[j] = pr.wire[j][1:]
				}
				pr.reconnect()
			case 1:
				pr.restart(rng.IntN(2))
			default:
				for range rng.IntN(4) {
					if _, err := pr.deliver(rng.IntN(2)); err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
				}
			}
		}
		// Quiesce: reconnect, deliver, propose what was requeued, repeat.
		for round := 0; round < 20; round++ {
			pr.reconnect()
			pr.settle()
			for i := range 2 {
				if q := pr.p[i].queue; len(q) > 0 && pr.p[i].m.Idle() {
					pr.p[i].queue = nil
					pr.propose(i, q...)
				}
			}
			pr.settle()
			if pr.p[0].m.Idle() && pr.p[1].m.Idle() && len(pr.p[0].queue)+len(pr.p[1].queue) == 0 {
				break
			}
		}
		s := pr.agree()
		if s.Total().Int64() != 2_000_000 {
			t.Fatalf("seed %d: the channel holds %s", seed, s.Total())
		}
		// Every payment a party proposed landed exactly once (a proposal a
		// crash erased before it was saved never left the party).
		wantA := 1_000_000 - sent[0] + sent[1]
		if s.BalanceA.Int64() != wantA {
			t.Fatalf("seed %d: A holds %s, want %d", seed, s.BalanceA, wantA)
		}
	}
}

// A proposal the peer refuses is answered with a reject: the proposer
// drops it, hears which ops were refused, and can propose again.
func TestRefusedProposalIsRejected(t *testing.T) {
	pr := newPair(t, 1000, 1000)
	a, b := pr.p[0].m, pr.p[1].m
	bad := Op{Kind: OpAddHTLC, Amount: big.NewInt(5), PaymentHash: common.Hash{7}, Expiry: pr.lim.Height + 1} // too soon for B
	r, err := a.Propose([]Op{bad})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Step(r.Send[0])
	if !errors.Is(err, ErrBadUpdate) || len(rb.Send) != 1 || rb.Send[0].Type != MsgReject {
		t.Fatalf("B's answer: %+v, %v", rb, err)
	}
	ra, err := a.Step(rb.Send[0])
	if err != nil || len(ra.Refused) != 1 || !a.Idle() {
		t.Fatalf("A after the reject: %+v, %v, idle %v", ra, err, a.Idle())
	}
	pr.propose(0, pay(10))
	pr.settle()
	if s := pr.agree(); s.Version != 1 {
		t.Fatalf("after the retry: version %d", s.Version)
	}
}
