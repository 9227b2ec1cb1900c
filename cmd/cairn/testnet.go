package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/sidechain"
	"github.com/cairn-dev/cairn/wing"
)

// sidechainCmd is `cairn sidechain`: the sidechain's validators as
// separate processes, as testnet and node do for the L1.
func sidechainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sidechain",
		Short: "Run the sidechain's validators as separate processes: testnet, node",
		Long: `The sidechain is a second chain of its own validators (chain ID 1339 by default),
with the sidechain halves of the bridges in its genesis. 'cairn sidechain testnet'
writes its node homes, 'cairn sidechain node --home' runs one.`,
	}
	cmd.AddCommand(testnetCmdFor(sidechainKind), nodeCmdFor(sidechainKind))
	return cmd
}

// chainKind is what `cairn testnet` and `cairn node` need to know of the
// chain they write or run: the L1, or the sidechain.
type chainKind struct {
	name      string // how the commands name it
	node      string // the command that runs one of its nodes
	chainID   uint64
	rpcPort   int
	p2pPort   int
	blockTime time.Duration
	// wings returns its genesis's wing sections (l1ChainID: the L1 its
	// bridges lead to); nil for none.
	wings func(chainID, l1ChainID uint64) (map[string]json.RawMessage, error)
	alloc func() types.GenesisAlloc
	set   func() *wing.Registry
}

var (
	l1Kind = chainKind{name: "L1", node: "cairn node", chainID: devnet.DefaultL1ChainID, rpcPort: devnet.DefaultRPCPort,
		p2pPort: devnet.DefaultP2PPort, blockTime: devnet.DefaultBlockTime, alloc: devnet.DevAlloc, set: devnet.Wings}
	sidechainKind = chainKind{name: "sidechain", node: "cairn sidechain node", chainID: devnet.DefaultSidechainID,
		rpcPort: devnet.DefaultSidechainRPCPort, p2pPort: devnet.DefaultP2PPort + 100, blockTime: devnet.DefaultSidechainBlock,
		wings: func(chainID, l1ChainID uint64) (map[string]json.RawMessage, error) {
			raw, err := json.Marshal(devnet.SidechainParams(l1ChainID, chainID))
			return map[string]json.RawMessage{sidechain.WingName: raw}, err
		},
		alloc: devnet.SidechainAlloc, set: devnet.SidechainWings}
)

func testnetCmd() *cobra.Command { return testnetCmdFor(l1Kind) }

func testnetCmdFor(k chainKind) *cobra.Command {
	var (
		validators, rpcPort, p2pPort int
		out, hosts                   string
		chainID, l1ChainID           uint64
		blockTime, blockGap          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of an N-validator " + k.name + " network, one per process or machine",
		Long: `Writes DIR/node0 ... DIR/node{N-1}: each a node home with its CometBFT keys
(files 0600), config/config.toml, config/cairn.toml (its JSON-RPC address) and
the shared genesis, which funds the test mnemonic's ten accounts with 10,000 ETH
and stakes 100 ETH for each validator, operated by the mnemonic's account i.
Start each node with '` + k.node + ` --home DIR/node<i>'.

Without --hosts the nodes find each other on 127.0.0.1: node i takes P2P port
p2p-port+i and serves JSON-RPC at 127.0.0.1:rpc-port+i. With --hosts h0,h1,...
node i is reached by its peers at h<i>:p2p-port+i and listens for them on all
interfaces; its JSON-RPC stays on 127.0.0.1:rpc-port+i of its machine.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var wings map[string]json.RawMessage
			if k.wings != nil {
				var err error
				if wings, err = k.wings(chainID, l1ChainID); err != nil {
					return err
				}
			}
			cfg := l1.ClusterConfig{
				Dir:         out,
				Validators:  validators,
				Genesis:     chain.Genesis{ChainID: chainID, Alloc: k.alloc()},
				Wings:       wings,
				WingSet:     k.set(),
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
				fmt.Fprintf(w, "  node %d: %s --home %s    (JSON-RPC http://%s)\n", i, k.node, filepath.Join(out, fmt.Sprintf("node%d", i)), cl.RPCAddr(i))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&validators, "validators", 4, "number of validators")
	f.StringVar(&out, "out", "", "directory to write the homes into (required)")
	f.StringVar(&hosts, "hosts", "", "comma-separated host of each node, for nodes on separate machines")
	f.Uint64Var(&chainID, "chain-id", k.chainID, "chain ID")
	if k.wings != nil {
		f.Uint64Var(&l1ChainID, "l1-chain-id", devnet.DefaultL1ChainID, "chain ID of the L1 its bridges lead to")
	}
	f.DurationVar(&blockTime, "block-time", k.blockTime, "longest time between blocks: blocks come when transactions wait, and this often when idle")
	f.DurationVar(&blockGap, "block-gap", l1.DefaultBlockGap, "pause after each block (CometBFT timeout_commit)")
	f.IntVar(&rpcPort, "rpc-port", k.rpcPort, "JSON-RPC port of node 0; node i uses port+i")
	f.IntVar(&p2pPort, "p2p-port", k.p2pPort, "P2P port of node 0; node i uses port+i")
	cmd.MarkFlagRequired("out")
	return cmd
}
