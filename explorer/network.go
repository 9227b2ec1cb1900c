package explorer

import (
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	cairnrpc "github.com/cairn-dev/cairn/rpc"

	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/sidechain"
)

// The layers that are not chains of blocks: the payment-channel network
// (each channel as its nodes and the L1 adjudicator hold it, and the
// graph they make) and the sidechain's bridges (each light client's
// standing, and the bridge transactions on both chains).

// ChannelsPage is the channel network.
type ChannelsPage struct {
	Name     string
	Nodes    []ChannelNode
	Channels []ChannelRow
	Graph    Graph
}

// ChannelNode is one node of the network.
type ChannelNode struct {
	Address common.Address
	URI     string
	Online  bool
}

// ChannelRow is one channel.
type ChannelRow struct {
	ID                 common.Hash
	A, B               common.Address
	BalanceA, BalanceB string // off-chain, as A's node holds it (ETH)
	Version            uint64
	Status             string // off-chain
	OnL1               string // the adjudicator's status
	DepositsEth        string
	HTLCs              int
}

// Graph is the network drawn on a circle: a point for each node, a line
// for each channel.
type Graph struct {
	Points []GraphPoint
	Lines  []GraphLine
}

// GraphPoint is a node's place.
type GraphPoint struct {
	X, Y  float64
	Label string
}

// GraphLine is a channel between two points.
type GraphLine struct {
	X1, Y1, X2, Y2 float64
	Open           bool
}

func (e *Explorer) channelNetwork(r *http.Request) (any, error) {
	var net *layerOther
	for i := range e.others {
		if e.others[i].Kind == channels.WingName {
			net = &layerOther{e.others[i]}
			break
		}
	}
	if net == nil {
		return nil, fmt.Errorf("%w: no payment-channel network", errNotFound)
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	p := &ChannelsPage{Name: net.Name}
	rows := map[common.Hash]*ChannelRow{}
	var order []common.Hash
	for _, n := range net.nodes() {
		node := ChannelNode{Address: n.address, URI: n.uri}
		c, err := gethrpc.DialContext(ctx, n.rpc)
		if err == nil {
			var list []channels.ChannelInfo
			if c.CallContext(ctx, &list, "ch_list") == nil {
				node.Online = true
				for _, ch := range list {
					if rows[ch.ID] != nil {
						continue
					}
					row := &ChannelRow{ID: ch.ID, Version: uint64(ch.Version), Status: ch.Status, HTLCs: ch.HTLCs}
					local, remote := "?", "?"
					if ch.Local != nil {
						local = eth(ch.Local.ToInt())
					}
					if ch.Remote != nil {
						remote = eth(ch.Remote.ToInt())
					}
					row.A, row.B, row.BalanceA, row.BalanceB = n.address, ch.Peer, local, remote
					rows[ch.ID] = row
					order = append(order, ch.ID)
				}
			}
			c.Close()
		}
		p.Nodes = append(p.Nodes, node)
	}
	for _, id := range order {
		row := rows[id]
		if oc, err := channels.Channel(ctx, e.layers[0].client, id); err == nil {
			row.OnL1 = oc.Status.String()
			row.DepositsEth = eth(oc.DepositA) + " + " + eth(oc.DepositB)
			row.A, row.B = oc.A, oc.B
		}
		p.Channels = append(p.Channels, *row)
	}
	p.Graph = drawGraph(p.Nodes, p.Channels)
	return p, nil
}

// drawGraph places the nodes on a circle of radius 120 about (160, 160).
func drawGraph(nodes []ChannelNode, chans []ChannelRow) Graph {
	var g Graph
	at := map[common.Address]int{}
	for i, n := range nodes {
		a := 2 * math.Pi * float64(i) / float64(max(len(nodes), 1))
		g.Points = append(g.Points, GraphPoint{X: 160 + 120*math.Sin(a), Y: 160 - 120*math.Cos(a), Label: n.Address.Hex()[:8]})
		at[n.Address] = i
	}
	for _, c := range chans {
		i, ok1 := at[c.A]
		j, ok2 := at[c.B]
		if !ok1 || !ok2 {
			continue
		}
		g.Lines = append(g.Lines, GraphLine{X1: g.Points[i].X, Y1: g.Points[i].Y, X2: g.Points[j].X, Y2: g.Points[j].Y, Open: c.Status == "open"})
	}
	return g
}

// layerOther is a listed layer whose nodes are not Ethereum JSON-RPC.
type layerOther struct{ cairnrpc.Layer }

// channelNodeInfo is one node as cairn_layers lists it.
type channelNodeInfo struct {
	address  common.Address
	rpc, uri string
}

// nodes reads the channel nodes from the layer's params.
func (l layerOther) nodes() []channelNodeInfo {
	list, _ := l.Params["nodes"].([]any)
	var out []channelNodeInfo
	for _, x := range list {
		m, _ := x.(map[string]any)
		addr, _ := m["address"].(string)
		rpc, _ := m["rpc"].(string)
		uri, _ := m["uri"].(string)
		if common.IsHexAddress(addr) && rpc != "" {
			out = append(out, channelNodeInfo{address: common.HexToAddress(addr), rpc: rpc, uri: uri})
		}
	}
	return out
}

// BridgesPage is the sidechain's two bridges.
type BridgesPage struct {
	Layer, LayerName string
	Light            []LightHalf
	Transfers        []BridgeTx
}

// LightHalf is one light client's standing.
type LightHalf struct {
	Where           string
	Epoch, Latest   uint64
	Frozen, Expired bool
	Follows         string
}

// BridgeTx is a bridge transaction, on either chain.
type BridgeTx struct {
	Layer, Bridge, Method string
	Hash                  common.Hash
	Height                uint64
}

func (e *Explorer) bridges(r *http.Request) (any, error) {
	l, err := e.layerOf(r)
	if err != nil {
		return nil, err
	}
	if l.Kind != "sidechain" {
		return nil, fmt.Errorf("%w: %s is not a sidechain", errNotFound, l.Name)
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	p := &BridgesPage{Layer: l.Key, LayerName: l.Name}
	for _, h := range []struct {
		where   string
		on      *layer
		at      common.Address
		follows string
	}{{"on L1", e.layers[0], sidechain.LightL1Address, "the sidechain's headers"}, {"on the sidechain", l, sidechain.LightSideAddress, "the L1's headers"}} {
		st, err := sidechain.ReadLightStatus(ctx, h.on.client, h.at)
		if err != nil {
			continue
		}
		p.Light = append(p.Light, LightHalf{Where: h.where, Epoch: st.Epoch, Latest: st.Latest, Frozen: st.Frozen, Expired: st.Expired, Follows: h.follows})
	}
	for _, c := range []struct {
		on     *layer
		bridge string
		at     common.Address
	}{{e.layers[0], "light client", sidechain.LightL1Address}, {e.layers[0], "multisig", sidechain.MultisigL1Address},
		{l, "light client", sidechain.LightSideAddress}, {l, "multisig", sidechain.MultisigSideAddress}} {
		txs, err := e.idx.addressTxs(c.on.Key, c.at, 20)
		if err != nil {
			return nil, err
		}
		e.nameMethods(c.on.Key, txs)
		for _, t := range txs {
			p.Transfers = append(p.Transfers, BridgeTx{Layer: c.on.Key, Bridge: c.bridge, Method: t.Method, Hash: t.Hash, Height: t.Height})
		}
	}
	slices.SortStableFunc(p.Transfers, func(a, b BridgeTx) int {
		if a.Layer != b.Layer {
			return map[bool]int{true: -1, false: 1}[a.Layer == "l1"]
		}
		return int(b.Height) - int(a.Height)
	})
	return p, nil
}
