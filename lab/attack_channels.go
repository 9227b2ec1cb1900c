package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
)

// The channel attacks run on a channels.Network: nodes for dev accounts on
// an L1 mined every 20 ms, with a dispute window of 20 L1 blocks.

// channelArena is a channel network telling what happens as it goes.
type channelArena struct {
	*channels.Network
	ctx context.Context
	out io.Writer
	t0  time.Time
}

func newChannelArena(ctx context.Context, out io.Writer, keys []uint32, towerFor map[int]int) (*channelArena, error) {
	net, err := channels.NewNetwork(channels.NetworkOptions{Keys: keys, TowerFor: towerFor})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "setup: L1 mined every 20 ms with the adjudicator, dispute window %d L1 blocks; channel nodes for accounts %v\n",
		net.Params.DisputeWindow, keys)
	return &channelArena{Network: net, ctx: ctx, out: out, t0: time.Now()}, nil
}

func (a *channelArena) say(format string, args ...any) {
	fmt.Fprintf(a.out, "  [%5.2fs, L1 block %3d] %s\n", time.Since(a.t0).Seconds(), a.Height(), fmt.Sprintf(format, args...))
}

func (a *channelArena) l1Balance(acct uint32) *big.Int {
	b, err := a.L1.Client().BalanceAt(a.ctx, chain.DevAddress(acct), nil)
	if err != nil {
		return new(big.Int)
	}
	return b
}

func (a *channelArena) waitClosed(id common.Hash) (channels.OnChain, error) {
	var ch channels.OnChain
	err := a.WaitFor(a.ctx, func() bool {
		var err error
		ch, err = channels.Channel(a.ctx, a.L1.Client(), id)
		return err == nil && ch.Status == channels.StatusClosed && ch.Locked.Sign() == 0
	})
	return ch, err
}

// staleClose: A pays B, then closes with the state from before.
func staleClose(ctx context.Context, out io.Writer, offline bool) error {
	towers := map[int]int{}
	if offline {
		towers[1] = 2
	}
	a, err := newChannelArena(ctx, out, []uint32{4, 5, 7}, towers)
	if err != nil {
		return err
	}
	defer a.Close()
	id, err := a.Open(ctx, 0, 1, ethWei(1), ethWei(1))
	if err != nil {
		return err
	}
	a.say("channel %s open: 1 ETH from each of A (account 4) and B (account 5)", short(id))
	cheater, victim := a.Nodes[0], a.Nodes[1]
	if err := cheater.Send(ctx, victim.Address(), ethWei(0.1)); err != nil {
		return err
	}
	old, oldA, oldB := a.snapshot(0, id)
	a.say("A pays B 0.1 ETH and keeps that state (version %d: A %s, B %s)", old.Version, ethFloat(old.BalanceA), ethFloat(old.BalanceB))
	for range 5 {
		if err := cheater.Send(ctx, victim.Address(), ethWei(0.1)); err != nil {
			return err
		}
	}
	newest, _ := cheater.Channel(id)
	a.say("A pays B 0.5 ETH more (version %d: A %s, B %s)", newest.Version, ethFloat(newest.BalanceA), ethFloat(newest.BalanceB))
	if offline {
		if err := a.WaitFor(ctx, func() bool { return a.towerHolds(2, id) >= newest.Version }); err != nil {
			return err
		}
		a.Stop(1)
		a.say("B has handed its states to a watchtower (account 7's node) and goes offline")
	}
	a.Stop(0)
	before := a.l1Balance(5)
	cheat := &channels.L1{Client: a.L1.Client(), Key: chain.DevKey(4)}
	if _, err := cheat.ForceClose(ctx, old, oldA, oldB); err != nil {
		return err
	}
	a.say("A closes on L1 with version %d, which gives A %s instead of %s", old.Version, ethFloat(old.BalanceA), ethFloat(newest.BalanceA))
	ch, err := a.waitClosed(id)
	if err != nil {
		return fmt.Errorf("the channel did not close: %w", err)
	}
	gain := new(big.Int).Sub(a.l1Balance(5), before)
	who := "B's node"
	if offline {
		who = "the watchtower"
	}
	a.say("%s answered with version %d within the window; the channel is closed (registered version %d)", who, newest.Version, ch.Version)
	a.say("B's L1 balance: %+s ETH (the whole channel, 2 ETH, less any gas B paid); A gets nothing", ethFloat(gain))
	if gain.Cmp(ethWei(1.99)) < 0 {
		return fmt.Errorf("B gained %s ETH, not the channel", ethFloat(gain))
	}
	fmt.Fprintf(out, "attacker's cost: its whole channel balance, %s ETH, paid to the victim, and its gas\n", ethFloat(newest.BalanceA))
	fmt.Fprintln(out, "outcome as promised: the stale close was answered within the window and the cheater lost its whole balance in the channel to the victim")
	return nil
}

func (a *channelArena) snapshot(i int, id common.Hash) (*channels.State, []byte, []byte) {
	rec := a.Nodes[i].RecordOf(id)
	return rec.Full.Copy(), rec.SigA, rec.SigB
}

func (a *channelArena) towerHolds(i int, id common.Hash) uint64 { return a.Nodes[i].TowerVersion(id) }

func attackStaleClose(ctx context.Context, out io.Writer) error { return staleClose(ctx, out, false) }

func attackOfflineVictim(ctx context.Context, out io.Writer) error { return staleClose(ctx, out, true) }

// attackPreviousState: A closes with the state one version behind, as an
// honest party that lacks B's last signature would. B's newest replaces
// it, without penalty, and A gains nothing.
func attackPreviousState(ctx context.Context, out io.Writer) error {
	a, err := newChannelArena(ctx, out, []uint32{4, 5}, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	id, err := a.Open(ctx, 0, 1, ethWei(1), ethWei(1))
	if err != nil {
		return err
	}
	cheater, victim := a.Nodes[0], a.Nodes[1]
	if err := cheater.Send(ctx, victim.Address(), ethWei(0.2)); err != nil {
		return err
	}
	prev, pa, pb := a.snapshot(0, id)
	if err := cheater.Send(ctx, victim.Address(), ethWei(0.3)); err != nil {
		return err
	}
	newest, _ := cheater.Channel(id)
	a.say("A paid B 0.2 then 0.3 ETH; A keeps version %d (A %s) and closes with it, one version behind the newest", prev.Version, ethFloat(prev.BalanceA))
	a.Stop(0)
	beforeA, beforeB := a.l1Balance(4), a.l1Balance(5)
	cheat := &channels.L1{Client: a.L1.Client(), Key: chain.DevKey(4)}
	if _, err := cheat.ForceClose(ctx, prev, pa, pb); err != nil {
		return err
	}
	ch, err := a.waitClosed(id)
	if err != nil {
		return err
	}
	gainA, gainB := new(big.Int).Sub(a.l1Balance(4), beforeA), new(big.Int).Sub(a.l1Balance(5), beforeB)
	a.say("B's node replaced it with version %d (no penalty: an honest closer can lack the newest signature); after the window: A %+s ETH, B %+s ETH",
		ch.Version, ethFloat(gainA), ethFloat(gainB))
	if ch.Version != newest.Version || gainA.Cmp(newest.BalanceA) > 0 {
		return fmt.Errorf("the close paid version %d, A gained %s", ch.Version, ethFloat(gainA))
	}
	fmt.Fprintln(out, "outcome as promised: the newest state was paid; closing one version behind gains nothing (and is not punished)")
	return nil
}

// attackHTLCGriefing: A pays C through B; B takes A's HTLC and goes
// silent. A's funds come back on L1 after the HTLC's expiry.
func attackHTLCGriefing(ctx context.Context, out io.Writer) error {
	a, err := newChannelArena(ctx, out, []uint32{4, 5, 6}, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	ids, err := a.Line(ctx, ethWei(1), ethWei(0))
	if err != nil {
		return err
	}
	ab, bc := ids[0], ids[1]
	payer, mid, payee := a.Nodes[0], a.Nodes[1], a.Nodes[2]
	inv, err := payee.CreateInvoice(ethWei(0.5), "griefed")
	if err != nil {
		return err
	}
	// B stops as soon as A's HTLC is locked in their channel, before it
	// forwards anything.
	mid.HoldForwards(true)
	payCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res := make(chan error, 1)
	go func() { _, err := payer.Pay(payCtx, inv); res <- err }()
	if err := a.WaitFor(ctx, func() bool { s, _ := payer.Channel(ab); return s != nil && len(s.HTLCs) == 1 }); err != nil {
		return err
	}
	s, _ := payer.Channel(ab)
	a.Stop(1)
	a.say("A pays C's 0.5 ETH invoice through B; B took the HTLC (expiry L1 block %d) and went silent", s.HTLCs[0].Expiry)
	before := a.l1Balance(4)
	ch, err := a.waitClosed(ab)
	if err != nil {
		return fmt.Errorf("A's channel with B did not close: %w", err)
	}
	gain := new(big.Int).Sub(a.l1Balance(4), before)
	a.say("after the expiry A's node closed the channel on L1 and settled the HTLC by timeout (status %s): A %+s ETH on L1", ch.Status, ethFloat(gain))
	if err := <-res; err == nil {
		return errors.New("the payment succeeded through a silent forwarder")
	}
	a.say("A's payment failed; nothing reached C")
	if gain.Cmp(ethWei(0.99)) < 0 {
		return fmt.Errorf("A got %s ETH back, not its 1 ETH", ethFloat(gain))
	}
	if s, _ := payee.Channel(bc); s == nil || len(s.HTLCs) > 0 || s.BalanceB.Sign() != 0 {
		return fmt.Errorf("C's channel moved: %+v", s)
	}
	fmt.Fprintln(out, "outcome as promised: the griefer locked A's funds only until the HTLC's expiry; they came back on L1 by timeout")
	return nil
}

func ethWei(e float64) *big.Int {
	w, _ := new(big.Float).Mul(big.NewFloat(e), big.NewFloat(1e18)).Int(nil)
	return w
}

func short(h common.Hash) string { return h.Hex()[:10] }
