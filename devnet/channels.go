package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/rpc"
)

// DefaultChannelRPCPort is the first channel node's JSON-RPC port; node i
// serves on the next ones.
const DefaultChannelRPCPort = 9745

// ChannelAccounts are the test accounts the devnet runs channel nodes for,
// with channels between neighbours (4–5, 5–6).
var ChannelAccounts = []uint32{4, 5, 6}

// ChannelDeposit is what each side of a devnet channel deposits: 10 ETH.
var ChannelDeposit = new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))

// ChannelsOptions are the devnet's payment channels' options.
type ChannelsOptions struct {
	// RPCPort is the first node's JSON-RPC port; 0 picks free ones, -1
	// runs no channel network.
	RPCPort int
}

// AddFlags registers the payment channels' devnet flags.
func (o *ChannelsOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.RPCPort, "channel-rpc-port", DefaultChannelRPCPort,
		"JSON-RPC port of the first payment-channel node (one per account 4, 5, 6); -1 runs no channel network")
}

// Channels is the devnet's payment-channel network: a node for each of
// ChannelAccounts, with channels opened and funded on L1 between
// neighbours at start.
type Channels struct {
	Params   channels.Params
	Nodes    []*channels.Node
	Channels []common.Hash // 4–5, 5–6
	clients  []*ethclient.Client
	cfg      Config
}

func newChannels(cfg Config) *Channels {
	return &Channels{cfg: cfg, Params: channels.DevParams(cfg.ChainID)}
}

// Name implements Wing.
func (c *Channels) Name() string { return channels.WingName }

// Genesis implements Wing: the adjudicator's rules; the nodes' accounts
// are test accounts, funded already.
func (c *Channels) Genesis() (json.RawMessage, types.GenesisAlloc, error) {
	section, err := json.Marshal(c.Params)
	return section, nil, err
}

// Start implements Wing: the nodes, and the channels between them if
// their disks hold none yet.
func (c *Channels) Start(d *Devnet, _ prometheus.Registerer) error {
	for i, acct := range ChannelAccounts {
		client, err := ethclient.Dial(d.L1RPC(i % d.L1.Size()))
		if err != nil {
			return err
		}
		c.clients = append(c.clients, client)
		port := 0
		if c.cfg.Channels.RPCPort > 0 {
			port = c.cfg.Channels.RPCPort + i
		}
		n, err := channels.NewNode(channels.Config{
			Key: chain.DevKey(acct), DataDir: filepath.Join(d.dir, "channels", strconv.Itoa(int(acct))),
			Listen: net.JoinHostPort(c.cfg.Host, "0"), RPC: net.JoinHostPort(c.cfg.Host, strconv.Itoa(port)),
			L1: client, Params: c.Params, FeeBase: big.NewInt(1_000), FeePPM: 100, Deposit: ChannelDeposit,
			Log: c.cfg.Log.With("wing", "channels", "account", acct),
		})
		if err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
		if err := n.Start(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i+1 < len(c.Nodes); i++ {
		a, b := c.Nodes[i], c.Nodes[i+1]
		id, err := c.openOnce(ctx, a, b)
		if err != nil {
			return fmt.Errorf("channel %d–%d: %w", ChannelAccounts[i], ChannelAccounts[i+1], err)
		}
		c.Channels = append(c.Channels, id)
	}
	// A payment from the first account to the last works at once: wait
	// until its node has the graph and the forwarder's terms.
	first, last := c.Nodes[0], c.Nodes[len(c.Nodes)-1]
	for !first.CanRoute(last.Address(), big.NewInt(1)) {
		select {
		case <-ctx.Done():
			return errors.New("channels: the first node found no route to the last")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// openOnce opens a channel from a to b, unless a resumed disk holds one.
func (c *Channels) openOnce(ctx context.Context, a, b *channels.Node) (common.Hash, error) {
	for _, ch := range a.Channels() {
		if ch.Peer == b.Address() && ch.Status == channels.StatusOpen.String() {
			_, err := a.Connect(b.URI())
			return ch.ID, err
		}
	}
	id, err := a.Open(ctx, b.URI(), ChannelDeposit)
	if err != nil {
		return id, err
	}
	for {
		for _, ch := range a.Channels() {
			if ch.ID == id && ch.Status == channels.StatusOpen.String() && ch.Online {
				return id, nil
			}
		}
		select {
		case <-ctx.Done():
			return id, errors.New("the peer did not fund the channel in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop implements Wing.
func (c *Channels) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
	for _, cl := range c.clients {
		cl.Close()
	}
}

// Layer implements Wing.
func (c *Channels) Layer() rpc.Layer {
	var urls []string
	var nodes []map[string]any
	for i, n := range c.Nodes {
		urls = append(urls, n.RPCURL())
		nodes = append(nodes, map[string]any{"account": ChannelAccounts[i], "address": n.Address(), "rpc": n.RPCURL(), "uri": n.URI()})
	}
	return rpc.Layer{Name: "Payment channels", Kind: channels.WingName, RPC: urls,
		Contracts: map[string]common.Address{"adjudicator": channels.AdjudicatorAddress},
		Params: map[string]any{"disputeWindow": c.Params.DisputeWindow, "nodes": nodes, "channels": c.Channels,
			"finality": "a payment is final when both parties signed it; on L1 after a close and its dispute window"}}
}

// Summary implements Wing.
func (c *Channels) Summary(w io.Writer, _ *Devnet) {
	if len(c.Nodes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nPC  Payment channels, adjudicator %s, dispute window %d L1 blocks\n", channels.AdjudicatorAddress, c.Params.DisputeWindow)
	for i, n := range c.Nodes {
		fmt.Fprintf(w, "    node of account %d  RPC %s  (ch_ methods)\n", ChannelAccounts[i], n.RPCURL())
	}
	fmt.Fprintf(w, "    channels 4–5 and 5–6 open, %s ETH a side; try: cairn channel invoice 0.01 --dev 6, then cairn channel pay <invoice> --dev 4\n",
		new(big.Float).Quo(new(big.Float).SetInt(ChannelDeposit), big.NewFloat(params.Ether)).Text('f', 0))
}
