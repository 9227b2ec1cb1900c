package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/explorer"
)

func explorerCmd() *cobra.Command {
	var cfg explorer.Config
	cmd := &cobra.Command{
		Use:   "explorer",
		Short: "Serve the block explorer against a running network, in its own process",
		Long: `Serves the explorer's web UI (every layer's heads, blocks, transactions and addresses,
each page with a JSON twin under /api) against the L1 node at --l1, finding the other
layers through its cairn_layers. The index of addresses' transactions is kept in
--datadir (in memory when empty) and caught up from the nodes. --layers shows only
the kinds named; --lab DIR shows a cairn lab compare report on the lab page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			e, err := explorer.Start(startCtx, cfg)
			cancel()
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Cairn explorer at %s, reading %s. Press Ctrl-C to stop.\n", e.URL(), cfg.L1)
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.L1, "l1", "http://127.0.0.1:8545", "an L1 node's JSON-RPC URL")
	f.StringVar(&cfg.Addr, "addr", explorer.DefaultAddr, "listen address (loopback unless told)")
	f.StringVar(&cfg.DataDir, "datadir", "", "where the index is kept (empty: in memory)")
	f.StringSliceVar(&cfg.Layers, "layers", nil, "the kinds of layer to show, comma-separated (l1, optimistic-rollup, zk-rollup, payment-channels, sidechain); empty: every layer the L1 lists")
	f.StringVar(&cfg.LabDir, "lab", "", "a `cairn lab compare --out` directory: its report is the explorer's lab page")
	return cmd
}
