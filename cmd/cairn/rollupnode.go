package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/rollup/node"
)

func rollupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Run an optimistic rollup node in its own process",
	}
	cmd.AddCommand(rollupNodeCmd())
	return cmd
}

// rollupNodeFlags are the flags of cairn rollup node.
type rollupNodeFlags struct {
	l1, beacon, config, dataDir, rpcAddr, seqRPC string
	challenge, propose, sequencer                bool
	key                                          signer
	unsafeKey                                    string
	interval                                     uint64
	blockTime                                    time.Duration
	logLevel                                     string
}

func rollupNodeCmd() *cobra.Command {
	var f rollupNodeFlags
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a rollup verifier (and challenger, or proposer), or the sequencer and batcher, against an L1",
		Long: `Runs an optimistic rollup node in this process against an L1 reached over
JSON-RPC (--l1), with the rollup's configuration file (--rollup: the
rollup.json that cairn devnet writes into its data directory and prints).

By default the node is a verifier: it derives the L2 chain from L1 data alone
and serves it over JSON-RPC (--rpc). With --sequencer-rpc it forwards the
transactions sent to it to the sequencer and follows the sequencer's signed
unsafe blocks, so its latest block is the sequencer's; safe and finalized
still come from L1 alone.

  --challenge --key F   also challenge every output on L1 that disagrees with
                        the derived chain, and play its dispute game (the key
                        pays the challenger bond)
  --propose --key F     also propose outputs every --interval L2 blocks
  --sequencer --key F   be the sequencer and batcher instead (the key is the
                        rollup's batcher account); --unsafe-key F signs the
                        blocks it publishes before they reach L1

Anyone can run a verifier and challenger: that is the rollup's security.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRollupNode(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.l1, "l1", "http://127.0.0.1:8545", "L1 JSON-RPC URL")
	fl.StringVar(&f.beacon, "l1-beacon", "", "base URL of the L1's Beacon API, where the batcher's blobs are read (empty: the --l1 URL, where Cairn's L1 serves it)")
	fl.StringVar(&f.config, "rollup", "", "the rollup's configuration file (rollup.json)")
	fl.StringVar(&f.dataDir, "datadir", "", "where the node keeps its chain (empty: in memory)")
	fl.StringVar(&f.rpcAddr, "rpc", "127.0.0.1:9556", "JSON-RPC listen address (HTTP and WebSocket)")
	fl.StringVar(&f.seqRPC, "sequencer-rpc", "", "the sequencer's JSON-RPC URL: forward transactions to it and follow its unsafe blocks")
	fl.BoolVar(&f.challenge, "challenge", false, "challenge outputs that disagree with the derived chain (needs --key)")
	fl.BoolVar(&f.propose, "propose", false, "propose outputs (needs --key)")
	fl.BoolVar(&f.sequencer, "sequencer", false, "be the sequencer and batcher (--key: the batcher account)")
	fl.StringVar(&f.unsafeKey, "unsafe-key", "", "file holding the sequencer's unsafe-block signing key in hex")
	fl.Uint64Var(&f.interval, "interval", 40, "L2 blocks between proposed outputs")
	fl.DurationVar(&f.blockTime, "block-time", rollup.DefaultBlockTime, "the sequencer's block time")
	fl.StringVar(&f.key.keyFile, "key", "", "file holding the node's L1 account key in hex (bonds, or batches)")
	fl.IntVar(&f.key.dev, "dev", -1, "use account N of the test mnemonic as --key (development chains only)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// loadRollupConfig reads and checks a rollup configuration file.
func loadRollupConfig(path string) (*rollup.Config, error) {
	if path == "" {
		return nil, errors.New("--rollup: the rollup's configuration file is required (cairn devnet prints its path)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg := new(rollup.Config)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func runRollupNode(cmd *cobra.Command, f *rollupNodeFlags) error {
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}
	cfg, err := loadRollupConfig(f.config)
	if err != nil {
		return err
	}
	roles := 0
	for _, on := range []bool{f.challenge, f.propose, f.sequencer} {
		if on {
			roles++
		}
	}
	if f.sequencer && roles > 1 {
		return errors.New("--sequencer runs alone: run a verifier beside it for --challenge or --propose")
	}
	var key *ecdsa.PrivateKey
	if roles > 0 {
		if key, err = f.key.key(); err != nil {
			return err
		}
	}
	var unsafeKey *ecdsa.PrivateKey
	if f.unsafeKey != "" {
		if !f.sequencer {
			return errors.New("--unsafe-key is the sequencer's: give it with --sequencer")
		}
		if unsafeKey, err = readKeyFile(f.unsafeKey); err != nil {
			return fmt.Errorf("--unsafe-key: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l1c, err := ethclient.DialContext(dialCtx, f.l1)
	if err != nil {
		return fmt.Errorf("dial L1: %w", err)
	}
	defer l1c.Close()
	if id, err := l1c.ChainID(dialCtx); err != nil {
		return fmt.Errorf("L1 chain ID: %w", err)
	} else if id.Uint64() != cfg.L1ChainID {
		return fmt.Errorf("the L1 at %s has chain ID %d; the rollup settles on %d", f.l1, id, cfg.L1ChainID)
	}
	role := "verifier"
	if f.sequencer {
		role = "sequencer"
	}
	n, err := node.Start(dialCtx, node.Config{
		Name: role, Rollup: cfg, DataDir: f.dataDir, L1: l1c, L1Beacon: cmp.Or(f.beacon, f.l1), RPCAddr: f.rpcAddr,
		Sequencer: f.sequencer, BlockTime: f.blockTime, SequencerKey: unsafeKey,
		SequencerRPC: f.seqRPC, Follow: f.seqRPC != "" && cfg.UnsafeBlockSigner != (common.Address{}),
		Log: log,
	})
	if err != nil {
		return err
	}
	defer n.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Cairn rollup node: %s of L2 chain %d on L1 chain %d (%s)\n", role, cfg.L2ChainID, cfg.L1ChainID, f.l1)
	fmt.Fprintf(out, "  RPC %s  WS %s  head %d\n", n.RPCURL(), n.WSURL(), n.Chain().Head().Number)
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	if f.sequencer {
		b, err := batcher.New(batcher.Config{Rollup: cfg, L1: l1c, L2: n, Key: key, Log: log})
		if err != nil {
			return err
		}
		closers = append(closers, b.Close)
		fmt.Fprintf(out, "  batcher %s posts to the inbox %s in %s\n", crypto.PubkeyToAddress(key.PublicKey), rollup.InboxAddress, cmp.Or(cfg.DA, rollup.DACalldata))
	}
	if f.propose {
		a := agents.NewProposer(agents.Config{Node: n, L1: l1c, Key: key, Interval: f.interval, Log: log})
		closers = append(closers, a.Close)
		fmt.Fprintf(out, "  proposer %s posts an output every %d L2 blocks\n", crypto.PubkeyToAddress(key.PublicKey), f.interval)
	}
	if f.challenge {
		a := agents.NewChallenger(agents.Config{Node: n, L1: l1c, Key: key, Log: log})
		closers = append(closers, a.Close)
		fmt.Fprintf(out, "  challenger %s checks every output against the chain derived from L1\n", crypto.PubkeyToAddress(key.PublicKey))
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// readKeyFile reads a hex private key from a file.
func readKeyFile(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(string(data)), "0x"))
}
