package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/l1"
)

func initCmd() *cobra.Command {
	var (
		c     l1.InitConfig
		peers string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a node home that joins an existing network",
		Long: `Creates a node home: fresh keys (files 0600), CometBFT's config.toml (with
--peers to dial), config/cairn.toml (the JSON-RPC address) and the network's
genesis from --genesis. Start it with 'cairn node --home DIR': it catches up by
block sync as a full node. To make it a validator, register its consensus key
with 'cairn stake --home DIR --amount ETH --key FILE'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if peers != "" {
				c.Peers = strings.Split(peers, ",")
			}
			res, err := l1.InitHome(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created %s\n  node ID        %s (peers reach it as %s@<host>:<port>)\n  consensus key  %s\n",
				c.Home, res.NodeID, res.NodeID, hex.EncodeToString(res.ConsensusKey))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Home, "home", "", "directory of the new node home (required)")
	f.StringVar(&c.Genesis, "genesis", "", "the network's genesis.json (required)")
	f.StringVar(&peers, "peers", "", "comma-separated id@host:port of nodes to dial")
	f.StringVar(&c.Moniker, "moniker", "cairn-node", "name of the node")
	f.StringVar(&c.P2P, "p2p", "0.0.0.0:26656", "listen address for peers")
	f.StringVar(&c.RPC, "rpc", "127.0.0.1:8545", "Ethereum JSON-RPC listen address")
	f.DurationVar(&c.BlockTime, "block-time", devnet.DefaultBlockTime, "longest time between blocks, when idle (keep the network's)")
	f.DurationVar(&c.BlockGap, "block-gap", l1.DefaultBlockGap, "pause after each block, CometBFT timeout_commit (keep the network's)")
	cmd.MarkFlagRequired("home")
	cmd.MarkFlagRequired("genesis")
	return cmd
}
