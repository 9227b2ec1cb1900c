package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/sidechain"
)

// bridgeCmd is `cairn bridge`: move ETH between the L1 and the sidechain.
func bridgeCmd() *cobra.Command {
	var (
		s       signer
		sideRPC string
		kind    string
		to      string
	)
	root := &cobra.Command{
		Use:   "bridge",
		Short: "Move ETH between the L1 and the sidechain: deposit, withdraw, status, recover",
		Long: `deposit locks ETH on the L1 for an address on the sidechain; withdraw burns it on the
sidechain for an address on the L1; status follows either by its transaction hash.
The devnet's relayers carry both across.

--bridge light (the default) is the light-client bridge: each chain runs a CometBFT
light client of the other, and a transfer crosses on a Merkle proof against a
verified header. It trusts more than 2/3 of the other chain's validator power, and
a withdrawal waits out a delay on L1 in which a forged header can be shown and the
bridge frozen. --bridge multisig is Ronin's design: 5 of its 9 attester keys move
everything it holds (cairn lab attack bridge-keys).`,
	}
	open := func(cmd *cobra.Command) (context.Context, context.CancelFunc, *ethclient.Client, *ethclient.Client, error) {
		if kind != "multisig" && kind != "light" {
			return nil, nil, nil, nil, fmt.Errorf("--bridge %s: the bridges are light and multisig", kind)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		l1c, err := ethclient.DialContext(ctx, s.rpc)
		if err != nil {
			cancel()
			return nil, nil, nil, nil, err
		}
		url := sideRPC
		if url == "" {
			if url, err = sidechainURL(ctx, s.rpc); err != nil {
				cancel()
				l1c.Close()
				return nil, nil, nil, nil, err
			}
		}
		sc, err := ethclient.DialContext(ctx, url)
		if err != nil {
			cancel()
			l1c.Close()
			return nil, nil, nil, nil, err
		}
		return ctx, func() { l1c.Close(); sc.Close(); cancel() }, l1c, sc, nil
	}
	move := func(use, short string, deposit bool) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			key, err := s.key()
			if err != nil {
				return err
			}
			wei, err := parseEther(args[0])
			if err != nil {
				return err
			}
			dest := crypto.PubkeyToAddress(key.PublicKey)
			if to != "" {
				if !common.IsHexAddress(to) {
					return fmt.Errorf("--to %q is not an address", to)
				}
				dest = common.HexToAddress(to)
			}
			ctx, done, l1c, sc, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			var r *types.Receipt
			switch {
			case deposit && kind == "light":
				r, err = sidechain.LightDeposit(ctx, l1c, key, dest, wei)
			case kind == "light":
				r, err = sidechain.LightWithdraw(ctx, sc, key, dest, wei)
			case deposit:
				r, err = sidechain.Deposit(ctx, l1c, key, dest, wei)
			default:
				r, err = sidechain.Withdraw(ctx, sc, key, dest, wei)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s of %s ETH for %s: transaction %s; the relayer carries it across (cairn bridge status %s)\n",
				map[bool]string{true: "deposit", false: "withdrawal"}[deposit], args[0], dest, r.TxHash, r.TxHash)
			return nil
		}}
		s.flags(cmd)
		cmd.Flags().StringVar(&sideRPC, "sidechain-rpc", "", "the sidechain's JSON-RPC URL (default: from cairn_layers on --rpc)")
		cmd.Flags().StringVar(&kind, "bridge", "light", "which bridge: light or multisig")
		cmd.Flags().StringVar(&to, "to", "", "the address to credit on the other chain (default: the sender's)")
		return cmd
	}
	status := &cobra.Command{Use: "status <tx-hash>", Short: "Where a deposit or withdrawal stands", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, done, l1c, sc, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			hash := common.HexToHash(args[0])
			for _, side := range []struct {
				name, bridge string
				src, dst     *ethclient.Client
				from, at     common.Address
				ev           string
			}{
				{"deposit", "light", l1c, sc, sidechain.LightL1Address, sidechain.LightSideAddress, "Deposited"},
				{"withdrawal", "light", sc, l1c, sidechain.LightSideAddress, sidechain.LightL1Address, "Withdrawn"},
				{"deposit", "multisig", l1c, sc, sidechain.MultisigL1Address, sidechain.MultisigSideAddress, "Deposited"},
				{"withdrawal", "multisig", sc, l1c, sidechain.MultisigSideAddress, sidechain.MultisigL1Address, "Withdrawn"},
			} {
				r, err := side.src.TransactionReceipt(ctx, hash)
				if errors.Is(err, ethereum.NotFound) {
					continue
				}
				if err != nil {
					return err
				}
				e := sidechain.MultisigABI.Events[side.ev] // the same event in both bridges' ABIs
				for _, lg := range r.Logs {
					if lg.Address != side.from || len(lg.Topics) != 3 || lg.Topics[0] != e.ID {
						continue
					}
					nonce := new(big.Int).SetBytes(lg.Topics[1].Bytes()).Uint64()
					out := map[string]any{"kind": side.name, "bridge": side.bridge, "transfer": nonce,
						"to": common.BytesToAddress(lg.Topics[2].Bytes())}
					if side.bridge == "light" {
						st, err := sidechain.ReadLightTransfer(ctx, side.dst, side.at, nonce)
						if err != nil {
							return err
						}
						switch {
						case st.Carried:
							out["status"] = "carried across"
						case st.Pending:
							out["status"] = "proven; paid once the withdrawal delay is over"
							out["payableAt"] = time.Unix(int64(st.PayableAt), 0).UTC().Format(time.RFC3339)
						default:
							out["status"] = "waiting for a header of its block and its proof (the relayer sends both)"
						}
					} else {
						v, err := ethtx.View(ctx, side.dst, &sidechain.MultisigABI, side.at, "carriedOut", nonce)
						if err != nil {
							return err
						}
						out["status"] = "waiting for the attesters"
						if v[0].(bool) {
							out["status"] = "carried across"
						}
					}
					raw, _ := json.MarshalIndent(out, "", "  ")
					fmt.Fprintln(cmd.OutOrStdout(), string(raw))
					return nil
				}
			}
			return fmt.Errorf("%s is no bridge deposit or withdrawal on either chain", hash)
		}}
	s.flags(status)
	status.Flags().StringVar(&sideRPC, "sidechain-rpc", "", "the sidechain's JSON-RPC URL (default: from cairn_layers on --rpc)")
	status.Flags().StringVar(&kind, "bridge", "light", "which bridge the transaction used: light or multisig (either is found)")
	recoverCmd := &cobra.Command{Use: "recover", Short: "The guardian restarts an expired or frozen light client from the other chain's newest header",
		Long: `A light client expires when no header reached it within its trusting period
(the relayer was down), and freezes when two valid headers conflict. Either way it
proves nothing more until its guardian (the devnet's: --dev 120) restarts it from a
header it vouches for: this reads the other chain's newest light block from its
node and sends it to every half that is expired or frozen. Withdrawals proven
before are void and proven again by the relayer; none is lost or paid twice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := s.key()
			if err != nil {
				return err
			}
			kind = "light"
			ctx, done, l1c, sc, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			halves, err := sidechain.RecoverClients(ctx, l1c, sc, key)
			if err != nil {
				return err
			}
			if len(halves) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "both light clients are live: nothing to recover")
				return nil
			}
			for _, h := range halves {
				fmt.Fprintf(cmd.OutOrStdout(), "recovered the light client at %s\n", h)
			}
			return nil
		}}
	s.flags(recoverCmd)
	recoverCmd.Flags().StringVar(&sideRPC, "sidechain-rpc", "", "the sidechain's JSON-RPC URL (default: from cairn_layers on --rpc)")
	root.AddCommand(move("deposit <eth>", "Lock ETH on the L1 for the sidechain", true),
		move("withdraw <eth>", "Burn ETH on the sidechain for the L1", false), status, recoverCmd)
	return root
}

// sidechainURL finds the sidechain's JSON-RPC in cairn_layers.
func sidechainURL(ctx context.Context, l1 string) (string, error) {
	c, err := gethrpc.DialContext(ctx, l1)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var layers []struct {
		Kind string   `json:"kind"`
		RPC  []string `json:"rpc"`
	}
	if err := c.CallContext(ctx, &layers, "cairn_layers"); err != nil {
		return "", fmt.Errorf("cairn_layers on %s: %w", l1, err)
	}
	for _, l := range layers {
		if l.Kind == sidechain.WingName && len(l.RPC) > 0 {
			return l.RPC[0], nil
		}
	}
	return "", fmt.Errorf("no sidechain in %s's cairn_layers (give --sidechain-rpc)", l1)
}
