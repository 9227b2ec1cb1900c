package channels

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// Network is a channel network for tests and the lab: nodes for some dev
// accounts on one L1 mined every BlockEvery, each node with its own disk,
// which can be stopped, restarted from that disk and cut off from its
// peers.
type Network struct {
	L1     *wingtest.L1Miner
	Params Params
	Nodes  []*Node // by index into Keys; nil while stopped
	Keys   []uint32
	dir    string
	stop   func()
	Log    *slog.Logger
	// FeeBase is what every node asks to forward.
	FeeBase *big.Int
	towers  map[int]int
}

// NetworkOptions configure a network.
type NetworkOptions struct {
	Keys          []uint32 // dev accounts, one node each
	DisputeWindow uint64   // L1 blocks
	BlockEvery    time.Duration
	Dir           string // parent of the nodes' data directories; "" a temporary one
	Log           *slog.Logger
	FeeBase       *big.Int
	// TowerFor maps a node to the node it uses as its watchtower.
	TowerFor map[int]int
}

// NewNetwork starts an L1 with the adjudicator, funds the accounts, and
// starts a node for each.
func NewNetwork(o NetworkOptions) (*Network, error) {
	o.DisputeWindow = cmp.Or(o.DisputeWindow, 20)
	o.BlockEvery = cmp.Or(o.BlockEvery, 20*time.Millisecond)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.FeeBase == nil {
		o.FeeBase = big.NewInt(1_000)
	}
	dir, err := os.MkdirTemp(o.Dir, "cairn-channels-")
	if err != nil {
		return nil, err
	}
	alloc := types.GenesisAlloc{}
	for _, k := range o.Keys {
		alloc[chain.DevAddress(k)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	}
	p := Params{L1ChainID: wingtest.L1MinerChainID, DisputeWindow: o.DisputeWindow}
	m, err := wingtest.NewL1Miner(alloc, NewAdjudicator(p))
	if err != nil {
		return nil, err
	}
	net := &Network{L1: m, Params: p, Keys: o.Keys, dir: dir, Log: o.Log, FeeBase: o.FeeBase, Nodes: make([]*Node, len(o.Keys)), towers: o.TowerFor}
	net.stop = m.AutoMine(o.BlockEvery)
	// Towers first, so their clients can reach them.
	order := make([]int, 0, len(o.Keys))
	for i := range o.Keys {
		for _, t := range o.TowerFor {
			if t == i {
				order = append(order, i)
				break
			}
		}
	}
	for i := range o.Keys {
		if !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := net.Start(i); err != nil {
			net.Close()
			return nil, err
		}
	}
	return net, nil
}

// Start starts node i (again, from its disk).
func (net *Network) Start(i int) error {
	tower := ""
	if t, ok := net.towers[i]; ok && net.Nodes[t] != nil {
		tower = net.Nodes[t].RPCURL()
	}
	n, err := NewNode(Config{
		Key: chain.DevKey(net.Keys[i]), DataDir: filepath.Join(net.dir, fmt.Sprint(i)), Listen: "127.0.0.1:0",
		RPC: "127.0.0.1:0", Tower: tower, L1: net.L1.Client(), Params: net.Params, FeeBase: net.FeeBase,
		Poll: 10 * time.Millisecond, Log: net.Log.With("node", i),
	})
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		n.Stop()
		return err
	}
	net.Nodes[i] = n
	// Tell every running node where i is now, and i where they are.
	for j, o := range net.Nodes {
		if o == nil || j == i {
			continue
		}
		_ = o.do(func() { o.uris[n.self] = n.URI() })
		_ = n.do(func() { n.uris[o.self] = o.URI() })
	}
	return nil
}

// Stop stops node i, as a crash would after its last commit.
func (net *Network) Stop(i int) {
	if n := net.Nodes[i]; n != nil {
		n.Stop()
		net.Nodes[i] = nil
	}
}

// Restart stops node i and starts it from its disk.
func (net *Network) Restart(i int) error {
	net.Stop(i)
	return net.Start(i)
}

// Close stops everything and removes the nodes' disks.
func (net *Network) Close() {
	for i := range net.Nodes {
		net.Stop(i)
	}
	if net.stop != nil {
		net.stop()
	}
	net.L1.Close()
	os.RemoveAll(net.dir)
}

// Open opens a channel from node i to node j with deposits depA (i's) and
// depB (j's) and waits until both nodes can use it.
func (net *Network) Open(ctx context.Context, i, j int, depA, depB *big.Int) (common.Hash, error) {
	a, b := net.Nodes[i], net.Nodes[j]
	_ = b.do(func() { b.cfg.Deposit = depB })
	id, err := a.Open(ctx, b.URI(), depA)
	if err != nil {
		return id, err
	}
	return id, net.WaitFor(ctx, func() bool {
		return a.usable(id) && b.usable(id) && a.online(b.self) && b.online(a.self)
	})
}

// Line opens a channel from each node to the next (0–1, 1–2, ...) with
// deposits depA and depB, and waits until node 0 can route to the last.
func (net *Network) Line(ctx context.Context, depA, depB *big.Int) ([]common.Hash, error) {
	var ids []common.Hash
	for i := 0; i+1 < len(net.Nodes); i++ {
		id, err := net.Open(ctx, i, i+1, depA, depB)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	first, last := net.Nodes[0], net.Nodes[len(net.Nodes)-1]
	return ids, net.WaitFor(ctx, func() bool { return first.CanRoute(last.self, big.NewInt(1)) })
}

// WaitFor polls cond until it holds or ctx ends.
func (net *Network) WaitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.New("timed out waiting for the channel network")
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Height is the L1 head's number.
func (net *Network) Height() uint64 { return net.L1.Head().Number.Uint64() }

func (n *Node) usable(id common.Hash) (ok bool) {
	_ = n.do(func() { l := n.links[id]; ok = l != nil && l.usable() && l.m.Idle() })
	return ok
}

func (n *Node) online(peer common.Address) (ok bool) {
	_ = n.do(func() { ok = n.peers[peer] != nil })
	return ok
}

// Channel returns what node knows of channel id: its newest state signed
// by both and its status.
func (n *Node) Channel(id common.Hash) (s *State, status Status) {
	_ = n.do(func() {
		if l := n.links[id]; l != nil {
			status = l.meta.Status
			if l.m != nil {
				s = l.m.State().Copy()
			}
		}
	})
	return s, status
}

// Disconnect cuts node i off from all its peers (they redial within a
// second unless it is stopped).
func (net *Network) Disconnect(i int) {
	n := net.Nodes[i]
	_ = n.do(func() {
		for _, p := range n.peers {
			n.dropPeer(p)
		}
	})
}

// RecordOf returns a copy of the node's record of channel id.
func (n *Node) RecordOf(id common.Hash) (rec Record) {
	_ = n.do(func() {
		if l := n.links[id]; l != nil && l.m != nil {
			rec = copyRecord(l.m.Record())
		}
	})
	return rec
}

// TowerVersion is the newest version of channel id the node watches as a
// tower (0 if none).
func (n *Node) TowerVersion(id common.Hash) (v uint64) {
	_ = n.do(func() {
		if t := n.towered[id]; t != nil {
			v = t.State.Version
		}
	})
	return v
}

// Withhold makes the node drop the channel messages f picks instead of
// sending them, as a peer that withholds its answers does (nil: none).
// For fault tests and the lab's attacks.
func (n *Node) Withhold(f func(*Message) bool) { _ = n.do(func() { n.withhold = f }) }
