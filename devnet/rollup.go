package devnet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rpc"
)

// Rollup is the devnet's optimistic rollup: a sequencer, a verifier that
// derives the chain from L1 alone, and the batcher between them. Each reads
// the L1 over JSON-RPC, as it would from another machine.
type Rollup struct {
	Config     *rollup.Config
	ConfigPath string // rollup.json in the data directory: what `cairn rollup node` reads
	Sequencer  *rollup.Node
	Verifier   *rollup.Node
	Batcher    *rollup.Batcher
	Proposer   *rollup.Agent
	Challenger *rollup.Agent
	Relayer    *rollup.Relayer // with Config.Relay
	clients    []*ethclient.Client
	blockTime  time.Duration
	blockGap   time.Duration
}

func startRollup(d *Devnet, reg prometheus.Registerer) (*Rollup, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &Rollup{blockTime: cmp.Or(d.cfg.L2BlockTime, rollup.DefaultBlockTime), blockGap: max(cmp.Or(d.cfg.L2BlockGap, rollup.DefaultMinBlockGap), 0)}
	dial := func(i int) (*ethclient.Client, error) {
		c, err := ethclient.DialContext(ctx, d.L1RPC(i%d.L1.Size()))
		if err == nil {
			r.clients = append(r.clients, c)
		}
		return c, err
	}
	seqL1, err := dial(0)
	if err != nil {
		return nil, err
	}
	genesis, err := seqL1.HeaderByNumber(ctx, new(big.Int))
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("L1 genesis: %w", err)
	}
	batcherKey := rollup.BatcherKey()
	r.Config = rollup.NewDevConfig(d.cfg.ChainID, genesis, crypto.PubkeyToAddress(batcherKey.PublicKey), d.l2, d.proofs)
	seqAddr, verAddr, err := rollupAddrs(d.cfg.Host, d.cfg.L2RPCPort)
	if err != nil {
		r.Stop()
		return nil, err
	}
	dir := filepath.Join(d.dir, "rollup")
	if r.ConfigPath, err = writeRollupConfig(dir, r.Config); err != nil {
		r.Stop()
		return nil, err
	}
	if r.Sequencer, err = rollup.StartNode(ctx, rollup.NodeConfig{
		Name: "sequencer", Rollup: r.Config, DataDir: filepath.Join(dir, "sequencer"), L1: seqL1,
		Sequencer: true, BlockTime: r.blockTime, MinBlockGap: r.blockGap, RPCAddr: seqAddr, SequencerKey: rollup.SequencerKey(), Registry: reg, Layers: d.layers, Log: d.cfg.Log,
	}); err != nil {
		r.Stop()
		return nil, err
	}
	verL1, err := dial(1)
	if err != nil {
		r.Stop()
		return nil, err
	}
	if r.Verifier, err = rollup.StartNode(ctx, rollup.NodeConfig{
		Name: "verifier", Rollup: r.Config, DataDir: filepath.Join(dir, "verifier"), L1: verL1,
		RPCAddr: verAddr, SequencerRPC: r.Sequencer.RPCURL(), Follow: true, Registry: reg, Layers: d.layers, Log: d.cfg.Log,
	}); err != nil {
		r.Stop()
		return nil, err
	}
	batcherL1, err := dial(2)
	if err != nil {
		r.Stop()
		return nil, err
	}
	if r.Batcher, err = rollup.NewBatcher(rollup.BatcherConfig{
		Rollup: r.Config, L1: batcherL1, L2: r.Sequencer, Key: batcherKey, Registry: reg, Log: d.cfg.Log,
	}); err != nil {
		r.Stop()
		return nil, err
	}
	agentL1, err := dial(3)
	if err != nil {
		r.Stop()
		return nil, err
	}
	if !d.cfg.NoProposer {
		r.Proposer = rollup.NewProposer(rollup.AgentConfig{Node: r.Verifier, L1: agentL1, Key: rollup.ProposerKey(), Interval: DefaultOutputInterval, Log: d.cfg.Log})
	}
	if !d.cfg.NoChallenger {
		r.Challenger = rollup.NewChallenger(rollup.AgentConfig{Node: r.Verifier, L1: agentL1, Key: rollup.ChallengerKey(), Log: d.cfg.Log})
	}
	if d.cfg.Relay {
		relayL2, err := ethclient.DialContext(ctx, r.Verifier.RPCURL())
		if err != nil {
			r.Stop()
			return nil, err
		}
		r.clients = append(r.clients, relayL2)
		r.Relayer = rollup.NewRelayer(rollup.RelayerConfig{L1: agentL1, L2: relayL2, Key: rollup.RelayerKey(), Log: d.cfg.Log})
	}
	return r, nil
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
// pass between outputs: 10 s of 250 ms blocks.
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
	for _, a := range []*rollup.Agent{r.Proposer, r.Challenger} {
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
	for _, c := range r.clients {
		c.Close()
	}
}

func (r *Rollup) layer() rpc.Layer {
	return rollup.LayerInfo(r.Config,
		[]string{r.Sequencer.RPCURL(), r.Verifier.RPCURL()},
		[]string{r.Sequencer.WSURL(), r.Verifier.WSURL()})
}
