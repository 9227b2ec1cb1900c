package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/channels"
)

// channelCmd is `cairn channel`: run a channel node, and talk to one.
func channelCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "channel",
		Short: "Payment channels: run a node, open channels, invoice, pay, close",
		Long: `Each user runs a channel node (cairn channel node), as with lnd. The other
commands talk to a node's ch_ JSON-RPC: --node URL, or on the devnet the node
of --dev N (or of the account of --key), found through cairn_layers on --rpc.
Amounts are in ETH.`,
	}
	root.AddCommand(channelNodeCmd())
	var (
		s       signer
		nodeURL string
		force   bool
		memo    string
	)
	command := func(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			url := nodeURL
			if url == "" {
				var err error
				if url, err = s.channelNode(ctx); err != nil {
					return err
				}
			}
			c, err := gethrpc.DialContext(ctx, url)
			if err != nil {
				return err
			}
			defer c.Close()
			return run(ctx, c, args, func(v any) {
				raw, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(raw))
			})
		}}
		s.flags(cmd)
		cmd.Flags().StringVar(&nodeURL, "node", "", "the channel node's JSON-RPC URL (default: the devnet's node of --dev N / --key)")
		return cmd
	}
	info := command("info", "Show the node: address, peer URI, counters", cobra.NoArgs, func(ctx context.Context, c *gethrpc.Client, _ []string, out func(any)) error {
		var r channels.InfoResult
		if err := c.CallContext(ctx, &r, "ch_info"); err != nil {
			return err
		}
		out(r)
		return nil
	})
	open := command("open <peer-uri> <eth>", "Open a channel to a peer (pubkey@host:port) with a deposit from your L1 account", cobra.ExactArgs(2),
		func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error {
			wei, err := parseEther(args[1])
			if err != nil {
				return err
			}
			var id common.Hash
			if err := c.CallContext(ctx, &id, "ch_open", args[0], (*hexutil.Big)(wei)); err != nil {
				return err
			}
			out(map[string]any{"channel": id})
			return nil
		})
	invoice := command("invoice <eth>", "Make an invoice to be paid", cobra.ExactArgs(1), func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error {
		wei, err := parseEther(args[0])
		if err != nil {
			return err
		}
		var r channels.InvoiceResult
		if err := c.CallContext(ctx, &r, "ch_invoice", (*hexutil.Big)(wei), memo); err != nil {
			return err
		}
		out(r)
		return nil
	})
	invoice.Flags().StringVar(&memo, "memo", "", "what the invoice is for")
	pay := command("pay <invoice>", "Pay an invoice over the channel network", cobra.ExactArgs(1), func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error {
		var r channels.PayResult
		if err := c.CallContext(ctx, &r, "ch_pay", args[0]); err != nil {
			return err
		}
		out(r)
		return nil
	})
	send := command("send <peer-address> <eth>", "Pay a peer straight over your channel with it", cobra.ExactArgs(2), func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error {
		if !common.IsHexAddress(args[0]) {
			return fmt.Errorf("%q is not an address", args[0])
		}
		wei, err := parseEther(args[1])
		if err != nil {
			return err
		}
		if err := c.CallContext(ctx, nil, "ch_send", common.HexToAddress(args[0]), (*hexutil.Big)(wei)); err != nil {
			return err
		}
		out(map[string]any{"sent": args[1] + " ETH", "to": common.HexToAddress(args[0])})
		return nil
	})
	list := command("list", "List your channels", cobra.NoArgs, func(ctx context.Context, c *gethrpc.Client, _ []string, out func(any)) error {
		var r []channels.ChannelInfo
		if err := c.CallContext(ctx, &r, "ch_list"); err != nil {
			return err
		}
		out(r)
		return nil
	})
	balance := command("balance", "Your balance over your open channels", cobra.NoArgs, func(ctx context.Context, c *gethrpc.Client, _ []string, out func(any)) error {
		var r channels.BalanceResult
		if err := c.CallContext(ctx, &r, "ch_balance"); err != nil {
			return err
		}
		out(map[string]string{"local": ether((*big.Int)(r.Local)), "remote": ether((*big.Int)(r.Remote)), "inFlight": ether((*big.Int)(r.Pending))})
		return nil
	})
	closeCmd := command("close <channel-id>", "Close a channel: together with the peer, or --force alone (paid after the dispute window)", cobra.ExactArgs(1),
		func(ctx context.Context, c *gethrpc.Client, args []string, out func(any)) error {
			if err := c.CallContext(ctx, nil, "ch_close", common.HexToHash(args[0]), force); err != nil {
				return err
			}
			out(map[string]any{"closing": common.HexToHash(args[0]), "force": force})
			return nil
		})
	closeCmd.Flags().BoolVar(&force, "force", false, "close alone, registering the newest state on L1")
	root.AddCommand(info, open, invoice, pay, send, list, balance, closeCmd)
	return root
}

func ether(wei *big.Int) string {
	if wei == nil {
		return "0"
	}
	return new(big.Rat).SetFrac(wei, big.NewInt(params.Ether)).FloatString(18) + " ETH"
}

// channelNode finds the devnet's channel node of the signer's account in
// cairn_layers.
func (s *signer) channelNode(ctx context.Context) (string, error) {
	key, err := s.key()
	if err != nil {
		return "", fmt.Errorf("%w (or give --node URL)", err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	c, err := gethrpc.DialContext(ctx, s.rpc)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var layers []struct {
		Kind   string `json:"kind"`
		Params struct {
			Nodes []struct {
				Address common.Address `json:"address"`
				RPC     string         `json:"rpc"`
			} `json:"nodes"`
		} `json:"params"`
	}
	if err := c.CallContext(ctx, &layers, "cairn_layers"); err != nil {
		return "", fmt.Errorf("cairn_layers on %s: %w", s.rpc, err)
	}
	for _, l := range layers {
		if l.Kind != channels.WingName {
			continue
		}
		for _, n := range l.Params.Nodes {
			if n.Address == addr {
				return n.RPC, nil
			}
		}
	}
	return "", fmt.Errorf("no channel node of %s in %s's cairn_layers (give --node URL)", addr, s.rpc)
}

// channelNodeCmd is `cairn channel node`: one user's node.
func channelNodeCmd() *cobra.Command {
	var (
		s                      signer
		dataDir, listen, rpcAt string
		deposit                string
		feeBase                uint64
		feePPM                 uint64
	)
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a channel node for your account against an L1",
		Long: `Runs one user's channel node: it keeps its channels' states in --datadir,
talks to peers on --listen (its URI, printed at start, is what peers open
channels to), serves ch_ JSON-RPC on --rpc, and watches the L1 (--rpc of
the L1 is --l1) to answer any close with an old state.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := s.key()
			if err != nil {
				return err
			}
			if dataDir == "" {
				return errors.New("give --datadir: a channel node must keep its states")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			l1c, err := ethclient.DialContext(ctx, s.rpc)
			if err != nil {
				cancel()
				return err
			}
			defer l1c.Close()
			p, err := channels.ReadParams(ctx, l1c)
			cancel()
			if err != nil {
				return err
			}
			var dep *big.Int
			if deposit != "" {
				if dep, err = parseEther(deposit); err != nil {
					return err
				}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			n, err := channels.NewNode(channels.Config{Key: key, DataDir: dataDir, Listen: listen, RPC: rpcAt, L1: l1c, Params: p,
				FeeBase: new(big.Int).SetUint64(feeBase), FeePPM: feePPM, Deposit: dep, Log: log})
			if err != nil {
				return err
			}
			if err := n.Start(); err != nil {
				return err
			}
			defer n.Stop()
			fmt.Fprintf(cmd.OutOrStdout(), "channel node of %s\n  peers: %s\n  RPC:   %s (ch_ methods)\n", n.Address(), n.URI(), n.RPCURL())
			stop := make(chan os.Signal, 1)
			signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
			select {
			case <-stop:
			case <-cmd.Context().Done():
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.rpc, "l1", "http://127.0.0.1:8545", "the L1's JSON-RPC URL")
	f.StringVar(&s.keyFile, "key", "", "file holding the account's private key in hex")
	f.IntVar(&s.dev, "dev", -1, "use account N of the test mnemonic instead of --key (development chains only)")
	f.StringVar(&dataDir, "datadir", "", "where the node keeps its channels (required)")
	f.StringVar(&listen, "listen", "127.0.0.1:9735", "host:port for peers")
	f.StringVar(&rpcAt, "rpc", "127.0.0.1:9740", "host:port of the node's ch_ JSON-RPC")
	f.StringVar(&deposit, "deposit", "", "ETH this node puts into each channel a peer opens to it")
	f.Uint64Var(&feeBase, "fee-base", 1000, "wei this node takes to forward a payment")
	f.Uint64Var(&feePPM, "fee-ppm", 100, "millionths of the amount this node takes to forward a payment")
	return cmd
}
