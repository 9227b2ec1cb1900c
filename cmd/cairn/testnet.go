package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/l1"
)

func testnetCmd() *cobra.Command {
	var (
		validators, rpcPort, p2pPort int
		out, hosts                   string
		chainID                      uint64
		blockTime, blockGap          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of an N-validator network, one per process or machine",
		Long: `Writes DIR/node0 ... DIR/node{N-1}: each a node home with its CometBFT keys
(files 0600), config/config.toml, config/cairn.toml (its JSON-RPC address) and
the shared genesis, which funds the test mnemonic's ten accounts with 10,000 ETH
and stakes 100 ETH for each validator, operated by the mnemonic's account i.
Start each node with 'cairn node --home DIR/node<i>'.

Without --hosts the nodes find each other on 127.0.0.1: node i takes P2P port
p2p-port+i and serves JSON-RPC at 127.0.0.1:rpc-port+i. With --hosts h0,h1,...
node i is reached by its peers at h<i>:p2p-port+i and listens for them on all
interfaces; its JSON-RPC stays on 127.0.0.1:rpc-port+i of its machine.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := l1.ClusterConfig{
				Dir:         out,
				Validators:  validators,
				Genesis:     chain.Genesis{ChainID: chainID, Alloc: devnet.DevAlloc()},
				BlockTime:   blockTime,
				BlockGap:    blockGap,
				BaseP2PPort: p2pPort,
				BaseRPCPort: rpcPort,
				Staking:     devnet.DevStaking(validators),
			}
			if hosts != "" {
				cfg.Hosts = strings.Split(hosts, ",")
			}
			cl, err := l1.NewCluster(cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Wrote %d node homes and %s\n", cl.Size(), l1.GenesisFile(out))
			for i := 0; i < cl.Size(); i++ {
				fmt.Fprintf(w, "  node %d: cairn node --home %s    (JSON-RPC http://%s)\n", i, filepath.Join(out, fmt.Sprintf("node%d", i)), cl.RPCAddr(i))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&validators, "validators", 4, "number of validators")
	f.StringVar(&out, "out", "", "directory to write the homes into (required)")
	f.StringVar(&hosts, "hosts", "", "comma-separated host of each node, for nodes on separate machines")
	f.Uint64Var(&chainID, "chain-id", devnet.DefaultL1ChainID, "chain ID")
	f.DurationVar(&blockTime, "block-time", devnet.DefaultBlockTime, "longest time between blocks: blocks come when transactions wait, and this often when idle")
	f.DurationVar(&blockGap, "block-gap", l1.DefaultBlockGap, "pause after each block (CometBFT timeout_commit)")
	f.IntVar(&rpcPort, "rpc-port", devnet.DefaultRPCPort, "JSON-RPC port of node 0; node i uses port+i")
	f.IntVar(&p2pPort, "p2p-port", devnet.DefaultP2PPort, "P2P port of node 0; node i uses port+i")
	cmd.MarkFlagRequired("out")
	return cmd
}
