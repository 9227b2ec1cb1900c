// Command cairn runs the Cairn stack: a proof-of-stake L1 on CometBFT and the
// layers that scale it. `cairn devnet` starts everything in one process.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/l1"
)

func main() {
	// The devnet and the lab run several nodes in one process and allocate
	// fast: collecting at 5x the live heap instead of 2x costs memory the
	// devnet has and gives the L1 about 15% more throughput (cairn lab l1).
	// GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	root := &cobra.Command{
		Use:           "cairn",
		Short:         "Cairn: a proof-of-stake L1 and the layers that scale it",
		Version:       l1.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(devnetCmd(), initCmd(), testnetCmd(), nodeCmd(), rollupCmd(), labCmd(), zkCmd(), channelCmd(), bridgeCmd(), sidechainCmd(), explorerCmd())
	root.AddCommand(stakingCmds()...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(1)
	}
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func devnetCmd() *cobra.Command {
	var (
		cfg      devnet.Config
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run the whole stack in this process: a multi-validator L1 on loopback",
		Long: `Starts N validators (default 4) in this process, each serving Ethereum
JSON-RPC over HTTP and WebSocket (validator 0 at 127.0.0.1:8545, the others
next to it). Genesis funds the ten accounts of the test mnemonic
"test test test test test test test test test test test junk" with 10,000 ETH.

Without --datadir the chain lives in a temporary directory removed on exit;
with it, a later run on the same directory resumes the chain.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Log = log
			start := time.Now()
			d, err := devnet.Start(cfg)
			if err != nil {
				return err
			}
			defer d.Stop()
			// Wait for the first block so the summary shows a live chain.
			for d.L1.Height() == 0 && time.Since(start) < 10*time.Second {
				time.Sleep(20 * time.Millisecond)
			}
			d.PrintSummary(cmd.OutOrStdout())
			fmt.Fprintf(cmd.OutOrStdout(), "\nStarted in %v. Press Ctrl-C to stop.\n", time.Since(start).Round(time.Millisecond))
			if d.ZK != nil {
				go func() { // the first run of a circuit size sets up its keys in the background
					<-d.ZK.Operator.KeysReady()
					if d.ZK.Operator.Status().KeysReady {
						fmt.Fprintf(cmd.OutOrStdout(), "ZK rollup: proving keys ready %v after start; batches are proven from now on\n", time.Since(start).Round(100*time.Millisecond))
					} else {
						fmt.Fprintln(cmd.OutOrStdout(), "ZK rollup: proving keys unavailable; ops are accepted but not proven (see the log)")
					}
				}()
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			fmt.Fprintln(cmd.OutOrStdout(), "Stopping...")
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Validators, "validators", devnet.DefaultValidators, "number of L1 validators")
	f.StringVar(&cfg.DataDir, "datadir", "", "keep data here and resume from it (default: a temporary directory)")
	f.Uint64Var(&cfg.ChainID, "chain-id", devnet.DefaultL1ChainID, "L1 chain ID")
	f.Uint64Var(&cfg.GasLimit, "gas-limit", 0, "L1 block gas limit (default 60,000,000)")
	f.DurationVar(&cfg.BlockTime, "block-time", devnet.DefaultBlockTime, "longest time between L1 blocks: blocks come when transactions wait, and this often when idle")
	f.DurationVar(&cfg.BlockGap, "block-gap", l1.DefaultBlockGap, "pause after each L1 block (CometBFT timeout_commit)")
	f.DurationVar(&cfg.BlobRetention, "blob-retention", l1.DefaultBlobRetention, "how long the L1 keeps blob sidecars after their block (Ethereum's ~18 days)")
	f.StringVar(&cfg.Host, "host", "127.0.0.1", "address to listen on")
	f.IntVar(&cfg.RPCPort, "rpc-port", devnet.DefaultRPCPort, "JSON-RPC port of validator 0; validator i uses port+i")
	f.IntVar(&cfg.P2PPort, "p2p-port", devnet.DefaultP2PPort, "CometBFT P2P port of validator 0; validator i uses port+i")
	cfg.AddFlags(f)
	f.StringVar(&cfg.MetricsAddr, "metrics", "", "serve Prometheus metrics at this address (e.g. 127.0.0.1:9090)")
	f.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	return cmd
}
