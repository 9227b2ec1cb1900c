package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/l1"
)

func nodeCmd() *cobra.Command { return nodeCmdFor(l1Kind) }

func nodeCmdFor(k chainKind) *cobra.Command {
	var (
		home, rpcAddr, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run one " + k.name + " node (validator or full node) from its home directory",
		Long: `Runs one L1 node in this process from a home directory holding CometBFT's
config/config.toml, config/genesis.json and keys, as 'cairn devnet --datadir'
leaves under l1/node<i>. Its chain data lives in <home>/data.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cc, err := l1.LoadCometConfig(home)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("rpc") {
				settings, err := l1.ReadSettings(home)
				if err != nil {
					return err
				}
				rpcAddr = settings.RPC
			}
			n, err := l1.StartNode(l1.NodeConfig{Name: cc.Moniker, Comet: cc, RPCAddr: rpcAddr, Wings: k.set(), Log: log})
			if err != nil {
				return err
			}
			defer n.Stop()
			if n.RPC() != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "node %s at height %d, JSON-RPC %s\n", cc.Moniker, n.Chain().Head().Number, n.RPC().URL())
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "node home directory (required)")
	f.StringVar(&rpcAddr, "rpc", fmt.Sprintf("127.0.0.1:%d", k.rpcPort), "Ethereum JSON-RPC listen address (default: config/cairn.toml's)")
	f.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	cmd.MarkFlagRequired("home")
	return cmd
}
