package channels

import (
	"container/heap"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"
)

// graph is the channel network as a node knows it: every open channel from
// the adjudicator's logs, with its capacity, and each end's forwarding
// terms from the ChannelUpdates flooded between nodes.
type graph struct {
	edges   map[common.Hash]*edge
	policy  map[policyKey]*ChannelUpdate
	pending map[common.Hash]*edge // opened, not yet funded
	// early holds updates of channels not yet funded as far as this node
	// has read the L1 (their node saw the funding first), a bounded few.
	early map[common.Hash][]*ChannelUpdate
}

// maxEarlyUpdates bounds the updates a node keeps for channels it does not
// know open yet.
const maxEarlyUpdates = 1024

type policyKey struct {
	channel common.Hash
	node    common.Address
}

type edge struct {
	id       common.Hash
	a, b     common.Address
	capacity *big.Int
}

func newGraph() *graph {
	return &graph{edges: map[common.Hash]*edge{}, policy: map[policyKey]*ChannelUpdate{}, pending: map[common.Hash]*edge{},
		early: map[common.Hash][]*ChannelUpdate{}}
}

func (g *graph) opened(id common.Hash, a, b common.Address, dep *big.Int) {
	g.pending[id] = &edge{id: id, a: a, b: b, capacity: new(big.Int).Set(dep)}
}

// funded makes an opened channel an edge, and returns the early updates
// of it that are now kept (the node passes them on, as it would have on
// arrival).
func (g *graph) funded(id common.Hash, dep *big.Int) []*ChannelUpdate {
	e := g.pending[id]
	if e == nil {
		return nil
	}
	delete(g.pending, id)
	e.capacity.Add(e.capacity, dep)
	g.edges[id] = e
	var kept []*ChannelUpdate
	for _, u := range g.early[id] {
		if g.addUpdate(u) {
			kept = append(kept, u)
		}
	}
	delete(g.early, id)
	return kept
}

func (g *graph) closed(id common.Hash) {
	delete(g.edges, id)
	delete(g.pending, id)
	delete(g.early, id)
	for k := range g.policy {
		if k.channel == id {
			delete(g.policy, k)
		}
	}
}

// addUpdate keeps a verified update newer than the one held; it reports
// whether it did (and the update should be flooded on).
// Only an end of an open channel may set its terms, so a flood of updates
// costs the flooder a funded channel each.
func (g *graph) addUpdate(u *ChannelUpdate) bool {
	if u.Verify() != nil {
		return false
	}
	e := g.edges[u.Channel]
	if e == nil {
		// Kept (bounded, not passed on) until the funding is read; the
		// end check is made then.
		if p := g.pending[u.Channel]; (p == nil || u.Node == p.a || u.Node == p.b) && len(g.early[u.Channel]) < 2 && len(g.early) < maxEarlyUpdates {
			g.early[u.Channel] = append(g.early[u.Channel], u)
		}
		return false
	}
	if u.Node != e.a && u.Node != e.b {
		return false
	}
	k := policyKey{u.Channel, u.Node}
	if old := g.policy[k]; old != nil && old.Seq >= u.Seq {
		return false
	}
	g.policy[k] = u
	return true
}

// updates lists the held updates in a fixed order.
func (g *graph) updates() []*ChannelUpdate {
	out := make([]*ChannelUpdate, 0, len(g.policy))
	for _, u := range g.policy {
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y *ChannelUpdate) int {
		if c := x.Channel.Cmp(y.Channel); c != 0 {
			return c
		}
		return x.Node.Cmp(y.Node)
	})
	return out
}

// routeHop is one channel of a route, with the HTLC to offer on it.
type routeHop struct {
	edge   common.Hash
	amount *big.Int
	expiry uint64
}

// route finds the cheapest route from node n to payee for amount (Dijkstra
// from the payee backwards, so each hop's amount includes the fees of the
// hops after it), over channels with the capacity, whose forwarding ends
// announced their terms, leaving out the excluded channels. n's own
// channels count with what n can spend in them.
func (g *graph) route(n *Node, payee common.Address, amount *big.Int, excluded []common.Hash) ([]routeHop, error) {
	type label struct {
		amount *big.Int // what must arrive at the node
		expiry uint64   // the expiry of the HTLC arriving at the node
		next   common.Hash
		via    common.Address
	}
	finalExpiry := n.finalExpiry()
	best := map[common.Address]*label{payee: {amount: new(big.Int).Set(amount), expiry: finalExpiry}}
	done := map[common.Address]bool{}
	q := &nodeQueue{}
	heap.Push(q, queueItem{payee, best[payee].amount})
	edges := make([]*edge, 0, len(g.edges))
	for _, e := range g.edges {
		if !contains(excluded, e.id) {
			edges = append(edges, e)
		}
	}
	slices.SortFunc(edges, func(x, y *edge) int { return x.id.Cmp(y.id) })
	for q.Len() > 0 {
		it := heap.Pop(q).(queueItem)
		v := it.node
		if done[v] {
			continue
		}
		done[v] = true
		if v == n.self {
			break
		}
		lv := best[v]
		for _, e := range edges {
			var u common.Address
			switch v {
			case e.a:
				u = e.b
			case e.b:
				u = e.a
			default:
				continue
			}
			if done[u] || e.capacity.Cmp(lv.amount) < 0 {
				continue
			}
			amt, exp := new(big.Int).Set(lv.amount), lv.expiry
			if u == n.self {
				l := n.links[e.id]
				if l == nil || !l.usable() || n.peers[l.meta.Peer] == nil || l.spendable().Cmp(amt) < 0 {
					continue
				}
			} else {
				pol := g.policy[policyKey{e.id, u}]
				if pol == nil {
					continue
				}
				amt.Add(amt, pol.Fee(lv.amount))
				exp += n.cfg.Params.Delta()
			}
			if old := best[u]; old == nil || amt.Cmp(old.amount) < 0 {
				best[u] = &label{amount: amt, expiry: exp, next: e.id, via: v}
				heap.Push(q, queueItem{u, amt})
			}
		}
	}
	if best[n.self] == nil || n.self == payee {
		return nil, fmt.Errorf("%w: %s", ErrNoRoute, payee)
	}
	// Walk from the payer: each hop offers what must arrive at the next
	// node, with the expiry that node needs.
	var hops []routeHop
	for at := n.self; at != payee; {
		lb := best[at]
		nxt := best[lb.via]
		hops = append(hops, routeHop{edge: lb.next, amount: nxt.amount, expiry: nxt.expiry})
		at = lb.via
		if len(hops) > 20 {
			return nil, fmt.Errorf("%w: route too long", ErrNoRoute)
		}
	}
	return hops, nil
}

type queueItem struct {
	node   common.Address
	amount *big.Int
}

type nodeQueue []queueItem

func (q nodeQueue) Len() int { return len(q) }
func (q nodeQueue) Less(i, j int) bool {
	if c := q[i].amount.Cmp(q[j].amount); c != 0 {
		return c < 0
	}
	return q[i].node.Cmp(q[j].node) < 0
}
func (q nodeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *nodeQueue) Push(x any)   { *q = append(*q, x.(queueItem)) }
func (q *nodeQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

func encodeUpdate(u *ChannelUpdate) ([]byte, error) { return rlp.EncodeToBytes(u) }

func decodeUpdate(b []byte) (*ChannelUpdate, error) {
	u := new(ChannelUpdate)
	if err := rlp.DecodeBytes(b, u); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWire, err)
	}
	return u, nil
}

// ourUpdate is this node's terms for forwarding over channel id.
func (n *Node) ourUpdate(id common.Hash) *ChannelUpdate {
	if u := n.graph.policy[policyKey{id, n.self}]; u != nil {
		return u
	}
	return &ChannelUpdate{Channel: id, Node: n.self, FeeBase: n.cfg.FeeBase, FeePPM: n.cfg.FeePPM, Delta: n.cfg.Params.Delta()}
}

// announce floods this node's terms for a channel that opened.
func (n *Node) announce(l *link) {
	n.seq++ // kept on disk, so a restarted node's terms replace its old ones
	n.save("announce/seq", n.seq)
	u := &ChannelUpdate{Channel: l.meta.ID, Node: n.self, FeeBase: n.cfg.FeeBase, FeePPM: n.cfg.FeePPM,
		Delta: n.cfg.Params.Delta(), Seq: n.seq}
	if err := u.Sign(n.cfg.Key); err != nil {
		return
	}
	n.graph.addUpdate(u)
	n.flood([]*ChannelUpdate{u})
}
