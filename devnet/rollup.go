package devnet

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/rollup/node"
	"github.com/cairn-dev/cairn/rpc"
)

// Rollup is the devnet's optimistic rollup: a sequencer, a verifier that
// derives the chain from L1 alone, and the batcher between them. Each reads
// the L1 over JSON-RPC, as it would from another machine.
type Rollup struct {
	Config     *rollup.Config
	ConfigPath string // rollup.json in the data directory: what `cairn rollup node` reads
	Sequencer  *node.Node
	Verifier   *node.Node
	Batcher    *batcher.Batcher
	Proposer   *agents.Agent
	Challenger *agents.Agent
	Relayer    *agents.Relayer   // with Config.Relay
	Committee  []*da.Member      // with --l2-da committee: the data-availability committee
	Storage    []*da.StorageNode // with --l2-da sampling: the storage nodes
	dacKeys    []*da.BLSKey
	clients    []*ethclient.Client
	blockTime  time.Duration
	blockGap   time.Duration
	cfg        Config
	opts       RollupOptions
	l2         chain.Genesis   // the L2 genesis
	proofs     rollup.L1Params // the L1 contracts' rules
}

// RollupOptions are the devnet's optimistic rollup's options.
type RollupOptions struct {
	// RPCPort is the sequencer's JSON-RPC port, the verifier's being the
	// next one; 0 picks free ports, -1 runs no rollup.
	RPCPort   int
	BlockTime time.Duration // longest gap between L2 blocks; 0: rollup.DefaultBlockTime
	// BlockGap is the average gap between L2 blocks under load, after a
	// burst at once; 0: rollup.DefaultMinBlockGap, -1: fixed blocks of
	// BlockTime.
	BlockGap time.Duration
	// Relay runs a relayer that proves and finalizes every withdrawal on
	// its own, as the OP Stack's relayer does.
	Relay bool
	// NoProposer and NoChallenger leave the outputs to others (tests of a
	// proposer or challenger in its own process).
	NoProposer, NoChallenger bool
	// GameClock is each party's chess clock in the dispute games, in
	// seconds, set when the devnet is created; 0: rollup.DevGameClock.
	GameClock uint64
	// DA is where the batcher posts its frames: blobs (the default, as
	// production rollups do) or calldata.
	DA string
}

// AddFlags registers the rollup's devnet flags.
func (o *RollupOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.RPCPort, "l2-rpc-port", DefaultL2RPCPort, "JSON-RPC port of the rollup's sequencer; its verifier uses port+1; -1 runs no rollup")
	f.DurationVar(&o.BlockTime, "l2-block-time", rollup.DefaultBlockTime, "the rollup sequencer's longest gap between blocks (an empty block when idle)")
	f.DurationVar(&o.BlockGap, "l2-block-gap", rollup.DefaultMinBlockGap, "the rollup sequencer's average gap between blocks under load, after a burst of blocks at once (-1ns: fixed blocks of --l2-block-time)")
	f.StringVar(&o.DA, "l2-da", string(rollup.DABlobs), "where the rollup's batcher posts its data: blobs (EIP-4844), calldata, committee (5 members keep it, 4 sign a certificate the L1 gets) or sampling (erasure-coded, with 2 storage nodes; the L1 gets the square's root)")
	f.BoolVar(&o.Relay, "relay", false, "prove and finalize every rollup withdrawal on L1 on its own, as the OP Stack's relayer does")
}

func newRollup(cfg Config) *Rollup {
	o := cfg.Rollup
	return &Rollup{cfg: cfg, opts: o, blockTime: cmp.Or(o.BlockTime, rollup.DefaultBlockTime), blockGap: max(cmp.Or(o.BlockGap, rollup.DefaultMinBlockGap), 0)}
}

// Name implements Wing.
func (r *Rollup) Name() string { return rollup.WingName }

// Genesis implements Wing: the L1 contracts' rules, the portal backing the
// L2 genesis, and the batcher's, proposer's, challenger's and relayer's L1
// accounts.
func (r *Rollup) Genesis() (json.RawMessage, types.GenesisAlloc, error) {
	r.l2 = rollup.DevGenesis(0)
	proofs, err := rollup.DevL1Params(&r.l2, crypto.PubkeyToAddress(rollup.BatcherKey().PublicKey))
	if err != nil {
		return nil, nil, err
	}
	if r.opts.GameClock != 0 {
		proofs.GameClock = r.opts.GameClock
	}
	switch r.opts.DA {
	case string(rollup.DACommittee):
		proofs.Committee, r.dacKeys = rollup.DevCommittee(rollup.DevCommitteeSize, rollup.DevCommitteeHonest)
	case string(rollup.DASampling):
		proofs.Sampling = true
	}
	r.proofs = proofs
	section, err := json.Marshal(proofs)
	if err != nil {
		return nil, nil, err
	}
	alloc := types.GenesisAlloc{rollup.PortalAddress: rollup.PortalBacking(&r.l2)}
	for _, k := range []*ecdsa.PrivateKey{rollup.BatcherKey(), rollup.ProposerKey(), rollup.ChallengerKey(), rollup.RelayerKey()} {
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Set(DevBalance)}
	}
	return section, alloc, nil
}

// Start implements Wing: the sequencer, the verifier, the batcher and the
// agents, each reading the L1 over JSON-RPC.
func (r *Rollup) Start(d *Devnet, reg prometheus.Registerer) error { // on error, the devnet calls Stop
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dial := func(i int) (*ethclient.Client, error) {
		c, err := ethclient.DialContext(ctx, d.L1RPC(i%d.L1.Size()))
		if err == nil {
			r.clients = append(r.clients, c)
		}
		return c, err
	}
	seqL1, err := dial(0)
	if err != nil {
		return err
	}
	genesis, err := seqL1.HeaderByNumber(ctx, new(big.Int))
	if err != nil {
		return fmt.Errorf("L1 genesis: %w", err)
	}
	batcherKey := rollup.BatcherKey()
	r.Config = rollup.NewDevConfig(d.cfg.ChainID, genesis, crypto.PubkeyToAddress(batcherKey.PublicKey), r.l2, r.proofs)
	if r.Config.DA, err = rollup.ParseDA(cmp.Or(r.opts.DA, string(rollup.DABlobs))); err != nil {
		return err
	}
	seqAddr, verAddr, err := rollupAddrs(d.cfg.Host, r.opts.RPCPort)
	if err != nil {
		return err
	}
	dir := filepath.Join(d.dir, "rollup")
	for i, k := range r.dacKeys {
		m, err := da.NewMember(k, r.Config.L2ChainID, filepath.Join(dir, fmt.Sprintf("committee-%d", i)), d.cfg.Log)
		if err != nil {
			return err
		}
		if err := m.Start(net.JoinHostPort(d.cfg.Host, "0")); err != nil {
			return err
		}
		r.Committee = append(r.Committee, m)
		r.Config.CommitteeURLs = append(r.Config.CommitteeURLs, m.URL())
	}
	if r.Config.Proofs.Sampling {
		for i := range 2 {
			n, err := da.NewStorageNode(filepath.Join(dir, fmt.Sprintf("storage-%d", i)), d.cfg.Log)
			if err != nil {
				return err
			}
			if err := n.Start(net.JoinHostPort(d.cfg.Host, "0")); err != nil {
				return err
			}
			r.Storage = append(r.Storage, n)
			r.Config.StorageURLs = append(r.Config.StorageURLs, n.URL())
		}
	}
	if r.ConfigPath, err = writeRollupConfig(dir, r.Config); err != nil {
		return err
	}
	if r.Sequencer, err = node.Start(ctx, node.Config{
		Name: "sequencer", Rollup: r.Config, DataDir: filepath.Join(dir, "sequencer"), L1: seqL1, L1Beacon: d.L1RPC(0),
		Sequencer: true, BlockTime: r.blockTime, MinBlockGap: r.blockGap, RPCAddr: seqAddr, SequencerKey: rollup.SequencerKey(), Registry: reg, Layers: d.layers, Log: d.cfg.Log,
	}); err != nil {
		return err
	}
	verL1, err := dial(1)
	if err != nil {
		return err
	}
	if r.Verifier, err = node.Start(ctx, node.Config{
		Name: "verifier", Rollup: r.Config, DataDir: filepath.Join(dir, "verifier"), L1: verL1, L1Beacon: d.L1RPC(1 % d.L1.Size()),
		RPCAddr: verAddr, SequencerRPC: r.Sequencer.RPCURL(), Follow: true, Registry: reg, Layers: d.layers, Log: d.cfg.Log,
	}); err != nil {
		return err
	}
	batcherL1, err := dial(2)
	if err != nil {
		return err
	}
	if r.Batcher, err = batcher.New(batcher.Config{
		Rollup: r.Config, L1: batcherL1, L2: r.Sequencer, Key: batcherKey, Registry: reg, Log: d.cfg.Log,
	}); err != nil {
		return err
	}
	agentL1, err := dial(3)
	if err != nil {
		return err
	}
	if !r.opts.NoProposer {
		r.Proposer = agents.NewProposer(agents.Config{Node: r.Verifier, L1: agentL1, Key: rollup.ProposerKey(), Interval: DefaultOutputInterval, Log: d.cfg.Log})
	}
	if !r.opts.NoChallenger {
		r.Challenger = agents.NewChallenger(agents.Config{Node: r.Verifier, L1: agentL1, Key: rollup.ChallengerKey(), Log: d.cfg.Log})
	}
	if r.opts.Relay {
		relayL2, err := ethclient.DialContext(ctx, r.Verifier.RPCURL())
		if err != nil {
			return err
		}
		r.clients = append(r.clients, relayL2)
		r.Relayer = agents.NewRelayer(agents.RelayerConfig{L1: agentL1, L2: relayL2, Key: rollup.RelayerKey(), Log: d.cfg.Log})
	}
	return nil
}

// writeRollupConfig writes the rollup's configuration where a node in its
// own process (cairn rollup node --rollup) reads it.
func writeRollupConfig(dir string, c *rollup.Config) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "rollup.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write the rollup config: %w", err)
	}
	return path, nil
}

// DefaultOutputInterval is how many L2 blocks the devnet's proposer lets
// pass between outputs: 10 s of an idle chain's 250 ms blocks, less under
// load.
const DefaultOutputInterval = 40

// rollupAddrs returns the sequencer's and verifier's listen addresses.
func rollupAddrs(host string, port int) (string, string, error) {
	if port == 0 {
		var err error
		if port, err = l1.FreePorts(host, 2); err != nil {
			return "", "", err
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), net.JoinHostPort(host, strconv.Itoa(port+1)), nil
}

// Stop stops the batcher, then the nodes.
func (r *Rollup) Stop() {
	if r.Relayer != nil {
		r.Relayer.Close()
	}
	for _, a := range []*agents.Agent{r.Proposer, r.Challenger} {
		if a != nil {
			a.Close()
		}
	}
	if r.Batcher != nil {
		r.Batcher.Close()
	}
	if r.Verifier != nil {
		r.Verifier.Close()
	}
	if r.Sequencer != nil {
		r.Sequencer.Close()
	}
	for _, m := range r.Committee {
		m.Close()
	}
	for _, n := range r.Storage {
		n.Close()
	}
	r.Committee, r.Storage = nil, nil
	for _, c := range r.clients {
		c.Close()
	}
	r.clients = nil
}

// Layer implements Wing.
func (r *Rollup) Layer() rpc.Layer {
	if r.Sequencer == nil || r.Verifier == nil {
		return node.LayerInfo(r.Config, nil, nil)
	}
	return node.LayerInfo(r.Config,
		[]string{r.Sequencer.RPCURL(), r.Verifier.RPCURL()},
		[]string{r.Sequencer.WSURL(), r.Verifier.WSURL()})
}

// Summary implements Wing.
func (r *Rollup) Summary(w io.Writer, d *Devnet) {
	if r.Sequencer == nil || r.Verifier == nil {
		return
	}
	blocks := fmt.Sprintf("%v blocks", r.blockTime)
	if r.blockGap > 0 {
		blocks = fmt.Sprintf("blocks on demand (at once in bursts of %d, then one per %v; %v apart at most)", node.BlockBurst, r.blockGap, r.blockTime)
	}
	fmt.Fprintf(w, "\nL2  optimistic rollup, chain ID %d, %s, sequencing window %d L1 blocks, data in %s\n",
		r.Config.L2ChainID, blocks, r.Config.SeqWindow, r.Config.DA)
	fmt.Fprintf(w, "    sequencer    RPC %-24s WS %s\n", r.Sequencer.RPCURL(), r.Sequencer.WSURL())
	fmt.Fprintf(w, "    verifier     RPC %-24s WS %s  (follows the sequencer, checks it against L1)\n", r.Verifier.RPCURL(), r.Verifier.WSURL())
	fmt.Fprintf(w, "    portal %s (send ETH to it to deposit), batch inbox %s\n", rollup.PortalAddress, rollup.InboxAddress)
	fmt.Fprintf(w, "    outputs %s: a proposer posts an output every %d L2 blocks, a challenger checks each; challenge window %d s\n",
		rollup.OutputsAddress, DefaultOutputInterval, r.Config.Proofs.FinalizationPeriod)
	if len(r.Storage) > 0 {
		fmt.Fprintf(w, "    storage nodes of the sampled data: %s, %s (light nodes sample shares: GET /das/share/{root}/{row}/{col})\n", r.Storage[0].URL(), r.Storage[1].URL())
	}
	if len(r.Committee) > 0 {
		fmt.Fprintf(w, "    data-availability committee: %d members, %d must sign (2 assumed honest), at %s ...\n", len(r.Committee), r.Config.Proofs.Committee.Threshold, r.Committee[0].URL())
	}
	fmt.Fprintf(w, "    config %s\n", r.ConfigPath)
	fmt.Fprintf(w, "    verify it yourself: cairn rollup node --l1 %s --rollup %s [--challenge --dev 9]\n", d.L1RPC(0), r.ConfigPath)
	if r.opts.Relay {
		fmt.Fprintf(w, "    withdraw: send ETH on L2 to %s; the relayer proves and finalizes it on L1 (--relay)\n", rollup.MessagePasserAddress)
	} else {
		fmt.Fprintf(w, "    withdraw: send ETH on L2 to %s, then cairn withdraw prove|finalize <l2-tx-hash> (or run with --relay)\n", rollup.MessagePasserAddress)
	}
}
