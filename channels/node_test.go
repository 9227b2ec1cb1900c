package channels

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

func newNetwork(t *testing.T, keys ...uint32) *Network {
	t.Helper()
	net, err := NewNetwork(NetworkOptions{Keys: keys, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// openPair opens a channel between nodes 0 and 1, 1,000 ETH each side.
func openPair(t *testing.T, ctx context.Context, net *Network) common.Hash {
	t.Helper()
	id, err := net.Open(ctx, 0, 1, eth(1000), eth(1000))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// balances returns a channel's state at node n as (n's, the peer's).
func stateAt(t *testing.T, n *Node, id common.Hash) *State {
	t.Helper()
	s, _ := n.Channel(id)
	if s == nil {
		t.Fatalf("node %s has no state of %s", n.self, id)
	}
	return s
}

// Two nodes open a channel on L1 and pay each other many times at once:
// every payment lands, both hold the same state signed by both, and the
// fsyncs were shared between payments.
func TestNodesPayDirectly(t *testing.T) {
	net := newNetwork(t, 4, 5)
	ctx := ctxFor(t, 30*time.Second)
	a, b := net.Nodes[0], net.Nodes[1]
	id := openPair(t, ctx, net)
	const each = 200
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i := range 2 * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := a, b
			if i%2 == 1 {
				from, to = b, a
			}
			amt := eth(1)
			if i%2 == 1 {
				amt = eth(2)
			}
			errs <- from.Send(ctx, to.self, amt)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Each sender's payments returned once it held the state signed by
	// both; its peer's confirmation may still be on the way.
	d := net.Params.Domain()
	var sa *State
	if err := net.WaitFor(ctx, func() bool {
		sa = stateAt(t, a, id)
		return d.Digest(sa) == d.Digest(stateAt(t, b, id))
	}); err != nil {
		t.Fatal(err)
	}
	if want := eth(1000 + each); sa.BalanceA.Cmp(want) != 0 {
		t.Fatalf("A holds %s, want %s", sa.BalanceA, want)
	}
	st := a.Stats()
	t.Logf("%d payments each way in %d updates, %d fsyncs at A", each, sa.Version, st.Fsyncs)
	if sa.Version >= 2*each {
		t.Errorf("%d updates for %d payments: none were batched", sa.Version, 2*each)
	}
}

// A pays C's invoice through B: B forwards for its fee, C gets the amount,
// A gets the preimage.
func TestPaymentOverTwoHops(t *testing.T) {
	net := newNetwork(t, 4, 5, 6)
	ctx := ctxFor(t, 30*time.Second)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ids, err := net.Line(ctx, eth(1000), eth(0)) // A routes once it has B's terms for B→C
	if err != nil {
		t.Fatal(err)
	}
	ab, bc := ids[0], ids[1]
	inv, err := c.CreateInvoice(eth(100), "coffee")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseInvoice(inv.String())
	if err != nil || parsed.Hash != inv.Hash || parsed.Amount.Cmp(inv.Amount) != 0 {
		t.Fatalf("invoice round trip: %+v, %v", parsed, err)
	}
	res, err := a.Pay(ctx, parsed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hops != 2 || sha256Hash(res.Preimage) != inv.Hash || res.Fee.Cmp(net.FeeBase) != 0 {
		t.Fatalf("payment: %+v", res)
	}
	if err := net.WaitFor(ctx, func() bool { s, _ := c.Channel(bc); return s != nil && len(s.HTLCs) == 0 && s.BalanceB.Sign() > 0 }); err != nil {
		s, st := c.Channel(bc)
		t.Fatalf("C's state of B→C: %+v (%s): %v", s, st, err)
	}
	if s := stateAt(t, c, bc); s.BalanceB.Cmp(eth(100)) != 0 {
		t.Errorf("C holds %s, want 0.1 ETH", s.BalanceB)
	}
	if err := net.WaitFor(ctx, func() bool { s, _ := b.Channel(ab); return s != nil && len(s.HTLCs) == 0 }); err != nil {
		t.Fatal(err)
	}
	if s := stateAt(t, b, ab); s.BalanceB.Cmp(new(big.Int).Add(eth(100), net.FeeBase)) != 0 {
		t.Errorf("B got %s from A, want 0.1 ETH and its fee", s.BalanceB)
	}
	// A will not pay it twice; B, trying, is refused by C, and the HTLC
	// comes back to B. (B first settles the HTLC it forwarded on B→C: its
	// removal, committed after B learned the preimage, would otherwise
	// read as the outcome of B's own payment of the same hash.)
	if err := net.WaitFor(ctx, func() bool { s, _ := b.Channel(bc); return s != nil && len(s.HTLCs) == 0 }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pay(ctx, inv); !errors.Is(err, ErrPayment) {
		t.Fatalf("A paid an invoice twice: %v", err)
	}
	if _, err := b.Pay(ctx, inv); !errors.Is(err, ErrPayment) {
		t.Fatalf("B paid a paid invoice: %v", err)
	}
	if s := stateAt(t, b, bc); s.BalanceA.Cmp(eth(900)) != 0 || len(s.HTLCs) != 0 {
		t.Errorf("B's side of B→C after the refusal: %+v", s)
	}
}

// A keeps an old state and, after paying B, closes the channel with it.
// B's node sees the close on L1 and answers with the newest state; A loses
// its whole balance to B.
func TestNodeAnswersAStaleClose(t *testing.T) {
	net := newNetwork(t, 4, 5)
	ctx := ctxFor(t, 30*time.Second)
	a, b := net.Nodes[0], net.Nodes[1]
	id := openPair(t, ctx, net)
	old := payKeepingOld(t, ctx, a, b, id)
	// A's operator stops A's node and sends the old state by hand.
	net.Stop(0)
	cheat := &L1{Client: net.L1.Client(), Key: chain.DevKey(4)}
	if _, err := cheat.ForceClose(ctx, old.Full, old.SigA, old.SigB); err != nil {
		t.Fatal(err)
	}
	before, err := net.L1.Client().BalanceAt(ctx, b.self, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitClosedOnL1(t, ctx, net, id)
	after, _ := net.L1.Client().BalanceAt(ctx, b.self, nil)
	gain := new(big.Int).Sub(after, before)
	if gain.Cmp(eth(1990)) < 0 { // the channel's 2 ETH, less B's gas
		t.Fatalf("B gained %s, want the channel's 2 ETH less gas", gain)
	}
	if st := b.Stats(); st.Challenges != 1 {
		t.Errorf("B sent %d challenges", st.Challenges)
	}
}

// B hands its states to a watchtower and goes offline; A closes with an
// old state; the tower answers within the window and B, still offline,
// gets the whole channel.
func TestTowerAnswersForAnOfflineVictim(t *testing.T) {
	net, err := NewNetwork(NetworkOptions{Keys: []uint32{4, 5, 7}, Dir: t.TempDir(), TowerFor: map[int]int{1: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	ctx := ctxFor(t, 30*time.Second)
	a, b, tower := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	id := openPair(t, ctx, net)
	old := payKeepingOld(t, ctx, a, b, id)
	newest := stateAt(t, a, id).Version // A proposed them all: it completes first
	if err := net.WaitFor(ctx, func() bool {
		var v uint64
		_ = tower.do(func() {
			if tw := tower.towered[id]; tw != nil {
				v = tw.State.Version
			}
		})
		return v == newest
	}); err != nil {
		t.Fatal(err)
	}
	net.Stop(1) // the victim goes offline
	net.Stop(0)
	before, _ := net.L1.Client().BalanceAt(ctx, chain.DevAddress(5), nil)
	cheat := &L1{Client: net.L1.Client(), Key: chain.DevKey(4)}
	if _, err := cheat.ForceClose(ctx, old.Full, old.SigA, old.SigB); err != nil {
		t.Fatal(err)
	}
	waitClosedOnL1(t, ctx, net, id)
	after, _ := net.L1.Client().BalanceAt(ctx, chain.DevAddress(5), nil)
	if gain := new(big.Int).Sub(after, before); gain.Cmp(eth(2000)) != 0 {
		t.Fatalf("the offline victim gained %s, want the channel's 2 ETH", gain)
	}
	if st := tower.Stats(); st.Challenges != 1 {
		t.Errorf("the tower sent %d challenges", st.Challenges)
	}
}

// payKeepingOld has a pay b 0.01 ETH, keeps a's record of that state, and
// has a pay b 0.3 ETH more: the record is the stale state a cheater keeps.
func payKeepingOld(t *testing.T, ctx context.Context, a, b *Node, id common.Hash) Record {
	t.Helper()
	if err := a.Send(ctx, b.self, eth(10)); err != nil {
		t.Fatal(err)
	}
	old := a.RecordOf(id)
	for range 3 {
		if err := a.Send(ctx, b.self, eth(100)); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

func waitClosedOnL1(t *testing.T, ctx context.Context, net *Network, id common.Hash) {
	t.Helper()
	if err := net.WaitFor(ctx, func() bool {
		ch, err := Channel(ctx, net.L1.Client(), id)
		return err == nil && ch.Status == StatusClosed
	}); err != nil {
		t.Fatal(err)
	}
}
