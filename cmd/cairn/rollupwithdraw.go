package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
)

// rollupWithdrawCmds are `cairn withdraw status|prove|finalize <l2-tx-hash>`:
// the L1 side of a withdrawal started on the rollup by sending ETH to the
// message passer.
func rollupWithdrawCmds() []*cobra.Command {
	var (
		s     signer
		l2RPC string
	)
	run := func(action string) func(cmd *cobra.Command, args []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			l1, err := ethclient.DialContext(ctx, s.rpc)
			if err != nil {
				return err
			}
			defer l1.Close()
			l2, err := ethclient.DialContext(ctx, l2RPC)
			if err != nil {
				return err
			}
			defer l2.Close()
			return withdrawal(ctx, cmd.OutOrStdout(), action, &s, l1, l2, common.HexToHash(args[0]))
		}
	}
	var cmds []*cobra.Command
	for _, c := range []struct{ use, short string }{
		{"status", "Show where a rollup withdrawal stands: started, covered by an output, proven, finalizable, finalized"},
		{"prove", "Prove a rollup withdrawal on L1 against the newest output that covers it"},
		{"finalize", "Pay a proven rollup withdrawal on L1 once the challenge window has passed"},
	} {
		cmd := &cobra.Command{Use: c.use + " <l2-tx-hash>", Short: c.short, Args: cobra.ExactArgs(1), RunE: run(c.use)}
		s.flags(cmd)
		cmd.Flags().StringVar(&l2RPC, "l2-rpc", "http://127.0.0.1:9545", "the rollup's JSON-RPC URL")
		cmds = append(cmds, cmd)
	}
	return cmds
}

func withdrawal(ctx context.Context, out io.Writer, action string, s *signer, l1, l2 *ethclient.Client, txHash common.Hash) error {
	w, block, err := rollup.FindWithdrawal(ctx, l2, txHash)
	if err != nil {
		return err
	}
	view := rollup.L1View{C: l1}
	hash := w.Hash()
	fmt.Fprintf(out, "withdrawal %s: %s ETH from %s (L2) to %s (L1), L2 block %d\n", hash, ethString(w.Value), w.Sender, w.Target, block)
	idx, root, provenAt, finalized, err := view.Proven(ctx, hash)
	if err != nil {
		return err
	}
	switch action {
	case "status":
		// "Ready to prove" only when proving would work now: an output
		// covers the block and the L2 node serves the state one needs.
		_, cover, proveErr := rollup.ProveCalldata(ctx, view, l2, w, block)
		switch {
		case finalized:
			fmt.Fprintln(out, "status: finalized (paid on L1)")
		case root != (common.Hash{}):
			o, err := view.Output(ctx, idx)
			if err != nil {
				return err
			}
			final, err := view.Final(ctx, idx)
			if err != nil {
				return err
			}
			switch {
			case o.Root != root:
				fmt.Fprintf(out, "status: the output %d it was proven against was removed; prove it again against a live output\n", idx)
			case o.Open > 0:
				fmt.Fprintf(out, "status: proven against output %d, which is being disputed (%d games open)\n", idx, o.Open)
			case final:
				fmt.Fprintf(out, "status: proven against output %d, which is final; ready to finalize once its own proof is past the challenge window (proven at L1 time %d)\n", idx, provenAt)
			default:
				fmt.Fprintf(out, "status: proven against output %d at L1 time %d; finalizable once the challenge window has passed and every output before it is final\n", idx, provenAt)
			}
		case proveErr == nil:
			fmt.Fprintf(out, "status: ready to prove (output %d covers L2 block %d)\n", cover.Index, cover.L2Block)
		default:
			fmt.Fprintf(out, "status: not provable yet: %v\n", proveErr)
		}
		return nil
	case "prove":
		data, o, err := rollup.ProveCalldata(ctx, view, l2, w, block)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "proving against output %d (L2 block %d)\n", o.Index, o.L2Block)
		return sendPortal(ctx, out, s, l1, data)
	case "finalize":
		if finalized {
			return fmt.Errorf("already finalized")
		}
		data, err := rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode())
		if err != nil {
			return err
		}
		return sendPortal(ctx, out, s, l1, data)
	}
	return fmt.Errorf("unknown action %q", action)
}

func sendPortal(ctx context.Context, out io.Writer, s *signer, l1 *ethclient.Client, data []byte) error {
	key, err := s.key()
	if err != nil {
		return err
	}
	r, err := ethtx.SendAndWait(ctx, l1, key, rollup.PortalAddress, nil, data, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "done: L1 transaction %s in block %d, gas %d\n", r.TxHash, r.BlockNumber, r.GasUsed)
	return nil
}

func ethString(wei *big.Int) string {
	f := new(big.Float).Quo(new(big.Float).SetInt(wei), big.NewFloat(params.Ether))
	return f.Text('f', 6)
}
