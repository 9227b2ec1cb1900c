package channels

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// A watchtower answers stale closes for users who are offline (rule C9 of
// docs/channels.md). Every node is one: a user's node hands the tower its
// newest state signed by both after each update (Config.Tower), and the
// tower, which watches the adjudicator as every node does, challenges any
// unilateral close with an older version. The penalty pays the victim,
// not the tower; the tower pays the gas. Unlike Lightning's towers, which
// get encrypted blobs, this tower sees the states in the clear.

// Towered is a state handed to a tower.
type Towered struct {
	State *State `json:"state"`
	SigA  []byte `json:"sigA"`
	SigB  []byte `json:"sigB"`
}

// watch keeps a state for the tower, if it is newer than the one held and
// both parties of the channel (as the L1 logs name them) signed it.
func (n *Node) watch(t *Towered) error {
	if t.State == nil {
		return fmt.Errorf("%w: no state", ErrBadState)
	}
	if err := t.State.Check(); err != nil {
		return err
	}
	e := n.graph.edges[t.State.Channel]
	if e == nil {
		return fmt.Errorf("%w: %s is not an open channel", ErrNoChannel, t.State.Channel)
	}
	d := n.cfg.Params.Domain()
	if err := d.Verify(t.State, t.SigA, e.a); err != nil {
		return err
	}
	if err := d.Verify(t.State, t.SigB, e.b); err != nil {
		return err
	}
	if old := n.towered[t.State.Channel]; old != nil && old.State.Version >= t.State.Version {
		return nil
	}
	n.towered[t.State.Channel] = t
	n.save("tower/"+t.State.Channel.Hex(), t)
	return nil
}

// feedTower sends the tower the newest state of every channel that moved,
// at most every 50 ms, until the node stops. A state is sent after it is
// on this node's disk; the tower may lag by a few updates, which a stale
// close of those costs the cheater nothing but also gains it nothing it
// was not given (rule C9).
func (n *Node) feedTower() {
	defer n.wg.Done()
	c, err := gethrpc.DialContext(n.ctx, n.cfg.Tower)
	if err != nil {
		n.log.Error("Cannot reach the watchtower", "tower", n.cfg.Tower, "err", err)
		return
	}
	defer c.Close()
	sent := map[common.Hash]uint64{}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.quit:
			return
		}
		var batch []*Towered
		_ = n.do(func() {
			for _, id := range n.sortedLinks() {
				l := n.links[id]
				if l.m == nil {
					continue
				}
				rec := l.m.Record()
				if rec.Full.Version > sent[id] {
					batch = append(batch, &Towered{State: rec.Full.Copy(), SigA: rec.SigA, SigB: rec.SigB})
				}
			}
		})
		for _, tw := range batch {
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			err := c.CallContext(ctx, nil, "ch_towerWatch", tw)
			cancel()
			if err != nil {
				n.log.Warn("Watchtower refused a state", "channel", tw.State.Channel, "err", err)
				continue
			}
			sent[tw.State.Channel] = tw.State.Version
		}
	}
}

// TowerWatch is ch_towerWatch: keep a channel's newest state and answer
// any older close of it on L1.
func (a *API) TowerWatch(t *Towered) error {
	var err error
	if e := a.n.doCommitted(func() { err = a.n.watch(t) }); e != nil {
		return e
	}
	return err
}
