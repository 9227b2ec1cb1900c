package channels

import (
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

func balanceOf(s *State, r Role) *big.Int {
	if r == RoleA {
		return s.BalanceA
	}
	return s.BalanceB
}

// D, the payee, takes forwarder F's signature on the state that pays it
// and never confirms. F claims upstream as soon as it has signed (the
// preimage is in D's proposal), so F loses nothing when D publishes that
// state on L1.
func TestWithheldConfirmCostsTheForwarderNothing(t *testing.T) {
	net := newNetwork(t, 4, 5, 6)
	ctx := ctxFor(t, 60*time.Second)
	u, f, d := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ids, err := net.Line(ctx, eth(1000), eth(1000))
	if err != nil {
		t.Fatal(err)
	}
	up, down := ids[0], ids[1]
	d.Withhold(func(m *Message) bool { return m.Type == MsgConfirm && m.Channel == down })
	inv, err := d.CreateInvoice(eth(100), "goods")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Pay(ctx, inv); err != nil {
		t.Fatalf("the payer was not paid out its preimage: %v", err)
	}
	// D publishes the state F signed away; F's node closed at the expiry
	// with the one before, which D's replaces.
	dl := &L1{Client: net.L1.Client(), Key: chain.DevKey(6)}
	waitDisputed(t, net, down)
	half := d.RecordOf(down).Full
	rec := d.RecordOf(down)
	if _, err := dl.Challenge(ctx, half, rec.SigA, rec.SigB); err != nil {
		t.Fatal(err)
	}
	waitClosedOnL1(t, ctx, net, down)
	regs, err := call(ctx, net.L1.Client(), "registered", down)
	if err != nil {
		t.Fatal(err)
	}
	upState := stateAt(t, f, up)
	if len(upState.HTLCs) != 0 {
		t.Fatalf("F's upstream HTLC is still in flight: %+v", upState)
	}
	fNet := new(big.Int).Add(balanceOf(upState, RoleB), regs[0].(*big.Int))
	fNet.Sub(fNet, eth(2000))
	if fNet.Sign() < 0 {
		t.Fatalf("the forwarder lost %s wei", new(big.Int).Neg(fNet))
	}
}

func waitDisputed(t *testing.T, net *Network, id common.Hash) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	if err := net.WaitFor(ctx, func() bool {
		ch, err := Channel(ctx, net.L1.Client(), id)
		return err == nil && ch.Status == StatusDisputed
	}); err != nil {
		t.Fatal(err)
	}
}

// V force-closes while its proposal waits for M's accept and more ops
// wait in its queue. M's late accept completes that proposal, but V
// signs nothing more on a closing channel, so M cannot show a state two
// versions past V's close, and V is not punished.
func TestAnHonestCloserIsNotPunished(t *testing.T) {
	net := newNetwork(t, 4, 5)
	ctx := ctxFor(t, 60*time.Second)
	v, m := net.Nodes[0], net.Nodes[1]
	id := openPair(t, ctx, net)
	var mu sync.Mutex
	var held []*Message
	m.Withhold(func(msg *Message) bool {
		mu.Lock()
		defer mu.Unlock()
		if msg.Type == MsgAccept {
			held = append(held, msg)
			return true
		}
		return false
	})
	for range 3 {
		go func() { _ = v.Send(ctx, m.self, eth(10)) }()
	}
	if err := net.WaitFor(ctx, func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 1 }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the other sends wait in V's queue
	if err := v.Close(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	waitDisputed(t, net, id)
	m.Withhold(nil)
	mu.Lock()
	raw, _ := EncodeMessage(held[0])
	mu.Unlock()
	_ = m.do(func() { m.peers[v.self].send(codeChannel, raw) })
	time.Sleep(200 * time.Millisecond)
	rec := m.RecordOf(id)
	if rec.Full.Version >= 2 {
		t.Fatalf("V signed version %d after closing with version 0", rec.Full.Version)
	}
	if rec.Full.Version == 1 {
		mc := &L1{Client: net.L1.Client(), Key: chain.DevKey(5)}
		if _, err := mc.Challenge(ctx, rec.Full, rec.SigA, rec.SigB); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := net.L1.Client().BalanceAt(ctx, m.self, nil)
	waitClosedOnL1(t, ctx, net, id)
	after, _ := net.L1.Client().BalanceAt(ctx, m.self, nil)
	if gain := new(big.Int).Sub(after, before); gain.Cmp(new(big.Int).Mul(big.NewInt(11), big.NewInt(params.Ether/10))) > 0 {
		t.Fatalf("M gained %s wei from V's honest close", gain)
	}
}

// A victim that was offline when the cheater closed, and comes back within
// the window, finds the close in the L1 logs and answers it.
func TestVictimBackWithinTheWindowAnswers(t *testing.T) {
	net, err := NewNetwork(NetworkOptions{Keys: []uint32{4, 5}, Dir: t.TempDir(), DisputeWindow: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	ctx := ctxFor(t, 30*time.Second)
	a, b := net.Nodes[0], net.Nodes[1]
	id := openPair(t, ctx, net)
	old := payKeepingOld(t, ctx, a, b, id)
	if err := net.WaitFor(ctx, func() bool { return stateAt(t, b, id).Version == stateAt(t, a, id).Version }); err != nil {
		t.Fatal(err)
	}
	net.Stop(1)
	net.Stop(0)
	cheat := &L1{Client: net.L1.Client(), Key: chain.DevKey(4)}
	if _, err := cheat.ForceClose(ctx, old.Full, old.SigA, old.SigB); err != nil {
		t.Fatal(err)
	}
	waitDisputed(t, net, id)
	before, _ := net.L1.Client().BalanceAt(ctx, chain.DevAddress(5), nil)
	if err := net.Start(1); err != nil {
		t.Fatal(err)
	}
	waitClosedOnL1(t, ctx, net, id)
	after, _ := net.L1.Client().BalanceAt(ctx, chain.DevAddress(5), nil)
	if gain := new(big.Int).Sub(after, before); gain.Cmp(eth(1990)) < 0 {
		t.Fatalf("the returning victim gained %s wei, want the channel", gain)
	}
}

// Updates signed for channels that do not exist are neither kept as terms
// nor passed on, so a flood of them cannot cut nodes off each other.
func TestUpdateFloodIsBounded(t *testing.T) {
	net := newNetwork(t, 4, 5)
	ctx := ctxFor(t, 30*time.Second)
	a, b := net.Nodes[0], net.Nodes[1]
	openPair(t, ctx, net)
	key := chain.DevKey(9)
	_ = a.do(func() {
		for i := range maxEarlyUpdates + 200 {
			u := &ChannelUpdate{Channel: common.BigToHash(big.NewInt(int64(i + 1))), Node: chain.DevAddress(9), FeeBase: big.NewInt(0), Seq: 1}
			_ = u.Sign(key)
			if a.graph.addUpdate(u) {
				t.Fatal("an update of no channel was kept")
			}
		}
		if len(a.graph.early) > maxEarlyUpdates || len(a.graph.policy) > 2 {
			t.Fatalf("%d early updates, %d terms kept", len(a.graph.early), len(a.graph.policy))
		}
	})
	net.Disconnect(0)
	if err := a.Send(ctx, b.self, eth(1)); err != nil {
		t.Fatal(err)
	}
}

// An update that comes before its channel's funding is read is kept, and
// handed back to be passed on once the funding is read, so nodes further
// away still learn the channel's terms.
func TestEarlyUpdateIsPassedOnAtFunding(t *testing.T) {
	g := newGraph()
	id := common.Hash{5}
	u := &ChannelUpdate{Channel: id, Node: chain.DevAddress(5), FeeBase: big.NewInt(1), Seq: 1}
	if err := u.Sign(chain.DevKey(5)); err != nil {
		t.Fatal(err)
	}
	if g.addUpdate(u) {
		t.Fatal("an update of an unknown channel was kept as terms")
	}
	g.opened(id, chain.DevAddress(5), chain.DevAddress(6), eth(1))
	if kept := g.funded(id, eth(1)); len(kept) != 1 || kept[0] != u {
		t.Fatalf("funding handed back %d updates", len(kept))
	}
	if g.policy[policyKey{id, chain.DevAddress(5)}] == nil {
		t.Fatal("the early update's terms are not kept")
	}
}
