// Package devnet wires the whole Cairn stack into one process: a
// multi-validator L1 on loopback with the test mnemonic's accounts funded,
// and the optimistic rollup settled on it (sequencer, batcher, verifier).
// `cairn devnet` is a thin command around it, and end-to-end tests start it
// on free ports.
package devnet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/explorer"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/l1/staking"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/sidechain"
	"github.com/cairn-dev/cairn/wing"
	"github.com/cairn-dev/cairn/zkrollup"
)

// Defaults of `cairn devnet`.
const (
	DefaultValidators = 4
	DefaultL1ChainID  = 1337 // what MetaMask's "Localhost 8545" network expects
	DefaultRPCPort    = 8545
	DefaultP2PPort    = 26656
	DefaultBlockTime  = 200 * time.Millisecond
	DefaultL2RPCPort  = 9545 // the rollup's sequencer; its verifier is on the next port
	// DefaultExplorerPort is the block explorer's.
	DefaultExplorerPort = 8080
	DefaultZKRPCPort    = 9645 // the ZK rollup's operator
)

// DevBalance is what each test-mnemonic account holds at genesis: 10,000 ETH.
var DevBalance = new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))

// DevValidatorStake is each devnet validator's stake at genesis.
var DevValidatorStake = new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))

// DevStaking is the devnet's proof of stake: validator i is operated by the
// test mnemonic's account i, with DevValidatorStake staked at genesis
// (minted into the staking contract, not taken from the account).
func DevStaking(validators int) *l1.ClusterStaking {
	ops := make([]common.Address, validators)
	for i := range ops {
		ops[i] = chain.DevAddress(uint32(i))
	}
	return &l1.ClusterStaking{Params: staking.DefaultParams(), Operators: ops, Stake: DevValidatorStake}
}

// DevAlloc funds the test mnemonic's accounts with DevBalance each.
func DevAlloc() types.GenesisAlloc {
	alloc := types.GenesisAlloc{}
	for i := range uint32(chain.DevAccounts) {
		alloc[chain.DevAddress(i)] = types.Account{Balance: new(big.Int).Set(DevBalance)}
	}
	return alloc
}

// Config configures a devnet.
type Config struct {
	Validators int
	DataDir    string // "" uses a fresh temporary directory, removed on Stop
	ChainID    uint64
	GasLimit   uint64
	BlockTime  time.Duration // longest time between L1 blocks: an idle chain makes one this often
	BlockGap   time.Duration // pause after each L1 block; l1.DefaultBlockGap when 0
	// BlobRetention is how long the L1 keeps blob sidecars
	// (l1.DefaultBlobRetention, about 18 days, when 0).
	BlobRetention time.Duration
	Host          string // listen host for RPC and P2P; 127.0.0.1 when empty
	RPCPort       int    // validator i serves JSON-RPC on RPCPort+i; 0 picks free ports
	P2PPort       int    // 0 picks free ports
	MetricsAddr   string // serve Prometheus metrics here; "" disables
	// ExplorerPort is where the explorer serves, on Host; 0 picks a free
	// port, -1 serves none.
	ExplorerPort int
	// LabDir is a `cairn lab compare --out` directory whose report the
	// explorer's lab page shows; "" shows how to make one.
	LabDir string
	// Each wing's options, with their flags (AddFlags).
	Rollup    RollupOptions
	ZK        ZKOptions
	Channels  ChannelsOptions
	Sidechain SidechainOptions
	// Alloc funds more accounts, on the L1 and on the sidechain (the lab's
	// senders).
	Alloc types.GenesisAlloc
	Log   *slog.Logger
}

// Devnet is a running devnet.
type Devnet struct {
	cfg    Config
	L1     *l1.Cluster
	Rollup *Rollup // nil when the devnet runs no rollup
	ZK     *ZK     // nil when the devnet runs no ZK rollup
	// Channels is nil when the devnet runs no payment-channel network.
	Channels *Channels
	// Sidechain is nil when the devnet runs no sidechain.
	Sidechain *Sidechain
	dir       string
	tmp       bool
	metrics   *http.Server
	wings     []Wing // in start order
	// Explorer is the block explorer; nil with ExplorerPort -1.
	Explorer *explorer.Explorer
}

// Start creates (or resumes) and starts a devnet.
func Start(cfg Config) (*Devnet, error) {
	cfg.Validators = cmp.Or(cfg.Validators, DefaultValidators)
	cfg.ChainID = cmp.Or(cfg.ChainID, DefaultL1ChainID)
	cfg.BlockTime = cmp.Or(cfg.BlockTime, DefaultBlockTime)
	cfg.Host = cmp.Or(cfg.Host, "127.0.0.1")
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Devnet{cfg: cfg, dir: cfg.DataDir}
	if d.dir == "" {
		tmp, err := os.MkdirTemp("", "cairn-devnet-")
		if err != nil {
			return nil, err
		}
		d.dir, d.tmp = tmp, true
	}
	var reg prometheus.Registerer
	if cfg.MetricsAddr != "" {
		reg = prometheus.DefaultRegisterer
		_ = reg.Register(collectors.NewBuildInfoCollector())
	}
	alloc := DevAlloc()
	maps.Copy(alloc, cfg.Alloc)
	if cfg.Rollup.RPCPort >= 0 {
		d.Rollup = newRollup(cfg)
		d.wings = append(d.wings, d.Rollup)
	}
	if cfg.ZK.RPCPort >= 0 {
		d.ZK = newZK(cfg)
		d.wings = append(d.wings, d.ZK)
	}
	if cfg.Channels.RPCPort >= 0 {
		d.Channels = newChannels(cfg)
		d.wings = append(d.wings, d.Channels)
	}
	if cfg.Sidechain.RPCPort >= 0 {
		d.Sidechain = newSidechain(cfg, d.dir)
		d.wings = append(d.wings, d.Sidechain)
	}
	wings := map[string]json.RawMessage{}
	for _, w := range d.wings {
		section, walloc, err := w.Genesis()
		if err != nil {
			d.cleanup()
			return nil, fmt.Errorf("%s genesis: %w", w.Name(), err)
		}
		wings[w.Name()] = section
		maps.Copy(alloc, walloc)
	}
	cluster, err := l1.NewCluster(l1.ClusterConfig{
		Wings:       wings,
		WingSet:     Wings(),
		Dir:         filepath.Join(d.dir, "l1"),
		Validators:  cfg.Validators,
		Genesis:     chain.Genesis{ChainID: cfg.ChainID, GasLimit: cfg.GasLimit, Alloc: alloc},
		BlockTime:   cfg.BlockTime,
		BlockGap:    cfg.BlockGap,
		App:         l1.Config{BlobRetention: cfg.BlobRetention},
		Host:        cfg.Host,
		BaseP2PPort: cfg.P2PPort,
		BaseRPCPort: cfg.RPCPort,
		Registry:    reg,
		Layers:      d.layers,
		Log:         cfg.Log,
		Staking:     DevStaking(cfg.Validators),
	})
	if err != nil {
		d.cleanup()
		return nil, err
	}
	d.L1 = cluster
	if err := cluster.Start(); err != nil {
		d.cleanup()
		return nil, err
	}
	for i, w := range d.wings {
		if err := w.Start(d, reg); err != nil {
			// Said now: stopping what started takes a while, and whoever
			// kills a devnet that failed to start should still learn why.
			cfg.Log.Error("A wing failed to start; stopping the devnet", "wing", w.Name(), "err", err)
			d.wings = d.wings[:i+1]
			d.Stop()
			return nil, fmt.Errorf("start %s: %w", w.Name(), err)
		}
	}
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			d.Stop()
			return nil, fmt.Errorf("metrics listen: %w", err)
		}
		d.metrics = &http.Server{Handler: promhttp.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go d.metrics.Serve(ln)
	}
	if cfg.ExplorerPort >= 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		d.Explorer, err = explorer.Start(ctx, explorer.Config{L1: d.L1RPC(0), Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.ExplorerPort)),
			DataDir: filepath.Join(d.dir, "explorer"), LabDir: cfg.LabDir, Log: cfg.Log})
		cancel()
		if err != nil {
			d.Stop()
			return nil, fmt.Errorf("explorer: %w", err)
		}
	}
	return d, nil
}

// AddFlags registers every wing's devnet flags.
func (c *Config) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&c.ExplorerPort, "explorer-port", DefaultExplorerPort, "port of the block explorer's web UI, on the listen host; -1 serves none")
	f.StringVar(&c.LabDir, "lab", "", "a `cairn lab compare --out` directory whose report the explorer's lab page shows")
	c.Rollup.AddFlags(f)
	c.ZK.AddFlags(f)
	c.Channels.AddFlags(f)
	c.Sidechain.AddFlags(f)
}

// Wings is the registry of every wing this binary has: what an L1 node
// needs to run a genesis that installs them.
func Wings() *wing.Registry {
	r := wing.NewRegistry()
	for name, f := range map[string]wing.Contracts{rollup.WingName: rollup.WingContracts, zkrollup.WingName: zkrollup.WingContracts,
		channels.WingName: channels.WingContracts, sidechain.WingName: sidechain.WingContracts} {
		if err := r.Add(name, f); err != nil {
			panic(err) // distinct names
		}
	}
	return r
}

// Dir is the devnet's data directory.
func (d *Devnet) Dir() string { return d.dir }

// L1RPC is validator i's JSON-RPC URL.
func (d *Devnet) L1RPC(i int) string { return "http://" + d.L1.RPCAddr(i) }

// L1WS is validator i's WebSocket URL.
func (d *Devnet) L1WS(i int) string { return "ws://" + d.L1.RPCAddr(i) }

// Stop stops everything; a temporary data directory is removed.
func (d *Devnet) Stop() {
	if d.Explorer != nil {
		d.Explorer.Close()
	}
	if d.metrics != nil {
		d.metrics.Close()
	}
	for i := len(d.wings) - 1; i >= 0; i-- {
		d.wings[i].Stop()
	}
	if d.L1 != nil {
		d.L1.Stop()
	}
	d.cleanup()
}

func (d *Devnet) cleanup() {
	if d.tmp {
		os.RemoveAll(d.dir)
	}
}

// layers answers cairn_layers on every node.
func (d *Devnet) layers() []rpc.Layer {
	l := rpc.Layer{Name: "L1", Kind: "l1", ChainID: d.cfg.ChainID,
		Contracts: map[string]common.Address{"staking": staking.Address},
		Params:    map[string]any{"validators": d.cfg.Validators, "blockTime": d.cfg.BlockTime.String(), "blocks": "on demand", "finality": "instant (CometBFT)"}}
	for i := 0; i < d.L1.Size(); i++ {
		l.RPC = append(l.RPC, d.L1RPC(i))
		l.WS = append(l.WS, d.L1WS(i))
	}
	layers := []rpc.Layer{l}
	for _, w := range d.wings {
		layers = append(layers, w.Layer())
	}
	return layers
}

// PrintSummary writes the start-up summary: chain, endpoints and accounts.
func (d *Devnet) PrintSummary(w io.Writer) {
	where := d.dir
	if d.tmp {
		where += ", temporary"
	}
	fmt.Fprintf(w, "Cairn devnet running (data in %s)\n\n", where)
	fmt.Fprintf(w, "L1  chain ID %d, %d validators (proof of stake: %s ETH each, operated by accounts 0-%d), blocks on demand (%v apart at most), height %d\n",
		d.cfg.ChainID, d.L1.Size(), new(big.Int).Div(DevValidatorStake, big.NewInt(params.Ether)), d.L1.Size()-1, d.cfg.BlockTime, d.L1.Height())
	fmt.Fprintf(w, "    staking contract %s\n", staking.Address)
	for i := 0; i < d.L1.Size(); i++ {
		fmt.Fprintf(w, "    validator %d  RPC %-24s WS %s\n", i, d.L1RPC(i), d.L1WS(i))
	}
	for _, wg := range d.wings {
		wg.Summary(w, d)
	}
	if d.metrics != nil {
		fmt.Fprintf(w, "    metrics       http://%s/metrics\n", d.cfg.MetricsAddr)
	}
	if d.Explorer != nil {
		fmt.Fprintf(w, "\nExplorer  %s  (every layer's blocks, transactions and addresses)\n", d.Explorer.URL())
	}
	fmt.Fprintf(w, "\nAccounts (mnemonic %q, m/44'/60'/0'/0/i), 10000 ETH each at genesis on L1 and L2:\n", chain.DevMnemonic)
	for i := range uint32(chain.DevAccounts) {
		key := d.keyHex(i)
		fmt.Fprintf(w, "  (%d) %s  key 0x%s\n", i, chain.DevAddress(i), key)
	}
	fmt.Fprintf(w, "\nThese keys are public. Never send real funds to them.\n")
}

func (d *Devnet) keyHex(i uint32) string {
	return fmt.Sprintf("%x", crypto.FromECDSA(chain.DevKey(i)))
}
