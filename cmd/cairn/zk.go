package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/zkrollup"
)

// zkSession is what every `cairn zk` command opens: the user's L1 key, the
// L1 node, and (where needed) the operator.
type zkSession struct {
	ctx  context.Context
	out  io.Writer
	key  *ecdsa.PrivateKey
	addr common.Address
	l1   *ethclient.Client
	op   *zkrollup.Client
}

func zkCmd() *cobra.Command {
	var (
		s     signer
		opRPC string
		fee   string
		to    string
	)
	root := &cobra.Command{
		Use:   "zk",
		Short: "Use the ZK rollup: deposit, register, transfer, withdraw, balance, exit",
		Long: `The ZK rollup's accounts belong to L1 addresses. Deposit ETH on L1 (which
opens your account), register the L2 key derived from your L1 key, then
transfer and withdraw on L2. Amounts are in ETH, to the gwei. If the operator
stops answering, exit takes your balance out with a Merkle proof rebuilt
from L1 alone.`,
	}
	open := func(cmd *cobra.Command, needOperator bool) (*zkSession, func(), error) {
		key, err := s.key()
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
		z := &zkSession{ctx: ctx, out: cmd.OutOrStdout(), key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
		closeAll := func() {
			if z.l1 != nil {
				z.l1.Close()
			}
			if z.op != nil {
				z.op.Close()
			}
			cancel()
		}
		if z.l1, err = ethclient.DialContext(ctx, s.rpc); err != nil {
			closeAll()
			return nil, nil, err
		}
		if needOperator {
			if z.op, err = zkrollup.DialOperator(ctx, opRPC); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		return z, closeAll, nil
	}
	command := func(use, short string, args cobra.PositionalArgs, needOperator bool, run func(z *zkSession, args []string) error) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			z, done, err := open(cmd, needOperator)
			if err != nil {
				return err
			}
			defer done()
			return run(z, args)
		}}
		s.flags(cmd)
		cmd.Flags().StringVar(&opRPC, "zk-rpc", "http://127.0.0.1:9645", "the ZK rollup operator's JSON-RPC URL")
		return cmd
	}

	deposit := command("deposit <eth>", "Deposit ETH from L1 into your ZK rollup account (or --to another address's)", cobra.ExactArgs(1), false,
		func(z *zkSession, args []string) error {
			wei, err := parseEther(args[0])
			if err != nil {
				return err
			}
			var data []byte
			if to != "" {
				if !common.IsHexAddress(to) {
					return fmt.Errorf("--to %q is not an address", to)
				}
				if data, err = zkrollup.VerifierABI.Pack("deposit", common.HexToAddress(to)); err != nil {
					return err
				}
			}
			return z.l1Call("deposit", wei, data)
		})
	deposit.Flags().StringVar(&to, "to", "", "credit this L1 address's account instead of yours")

	register := command("register", "Bind the L2 key derived from your L1 key to your account (signed with the L1 key)", cobra.NoArgs, true,
		func(z *zkSession, _ []string) error {
			idx, err := z.op.AccountIndex(z.ctx, z.addr)
			if err != nil {
				return err
			}
			l2 := zkrollup.L2Key(z.key)
			op := zkrollup.Op{Type: zkrollup.OpRegister, Account: idx, Address: z.addr, PubKey: zkrollup.PubKeyBytes(l2)}
			d, err := z.domain()
			if err != nil {
				return err
			}
			if err := op.SignRegister(z.key, d); err != nil {
				return err
			}
			return z.send(&op, fmt.Sprintf("register L2 key 0x%x for account %d", op.PubKey, idx))
		})

	transfer := command("transfer <to-address> <eth>", "Send ETH on the ZK rollup to another address's account", cobra.ExactArgs(2), true,
		func(z *zkSession, args []string) error {
			if !common.IsHexAddress(args[0]) {
				return fmt.Errorf("%q is not an address", args[0])
			}
			toIdx, err := z.op.AccountIndex(z.ctx, common.HexToAddress(args[0]))
			if err != nil {
				return err
			}
			return z.signed(zkrollup.OpTransfer, toIdx, args[1], fee)
		})
	transfer.Flags().StringVar(&fee, "fee", "0", "fee to the operator, in ETH")

	withdraw := command("withdraw <eth>", "Withdraw ETH from the ZK rollup to your L1 address (paid when the batch verifies)", cobra.ExactArgs(1), true,
		func(z *zkSession, args []string) error { return z.signed(zkrollup.OpWithdraw, 0, args[0], fee) })
	withdraw.Flags().StringVar(&fee, "fee", "0", "fee to the operator, in ETH")

	balance := command("balance [address]", "Show an account: balance after every accepted op, and what L1 has verified", cobra.MaximumNArgs(1), true,
		func(z *zkSession, args []string) error {
			who := z.addr
			if len(args) == 1 {
				if !common.IsHexAddress(args[0]) {
					return fmt.Errorf("%q is not an address", args[0])
				}
				who = common.HexToAddress(args[0])
			}
			idx, err := z.op.AccountIndex(z.ctx, who)
			if err != nil {
				return err
			}
			a, err := z.op.Account(z.ctx, idx)
			if err != nil {
				return err
			}
			reg := "not registered (cairn zk register)"
			if len(a.PubKey) > 0 {
				reg = fmt.Sprintf("L2 key %s", a.PubKey)
			}
			fmt.Fprintf(z.out, "account %d of %s, %s\n  balance  %s ETH (nonce %d)\n  verified %s ETH (nonce %d) on L1\n",
				idx, a.Address, reg, gweiString(uint64(a.Balance)), a.Nonce, gweiString(uint64(a.VerifiedBalance)), a.VerifiedNonce)
			return nil
		})

	exit := command("exit", "Leave without the operator: request a full exit on L1, or in exit mode withdraw with a Merkle proof", cobra.NoArgs, false,
		func(z *zkSession, _ []string) error { return z.exit() })

	root.AddCommand(deposit, register, transfer, withdraw, balance, exit)
	return root
}

// l1Call sends a transaction to the ZK rollup's L1 contract and waits.
func (z *zkSession) l1Call(what string, value *big.Int, data []byte) error {
	r, err := ethtx.SendAndWait(z.ctx, z.l1, z.key, zkrollup.VerifierAddress, value, data, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(z.out, "%s: L1 transaction %s in block %d\n", what, r.TxHash, r.BlockNumber)
	return nil
}

// signed signs and sends a transfer or withdrawal.
// domain is the deployment the L1 contract says signatures are for.
func (z *zkSession) domain() (zkrollup.Domain, error) {
	p, err := zkrollup.ReadParams(z.ctx, z.l1)
	if err != nil {
		return zkrollup.Domain{}, fmt.Errorf("read the ZK rollup's rules from L1: %w", err)
	}
	return p.Domain(), nil
}

func (z *zkSession) signed(t zkrollup.OpType, to uint64, amountEth, feeEth string) error {
	amount, err := ethToGwei(amountEth)
	if err != nil {
		return err
	}
	fee, err := ethToGwei(feeEth)
	if err != nil {
		return err
	}
	idx, err := z.op.AccountIndex(z.ctx, z.addr)
	if err != nil {
		return err
	}
	a, err := z.op.Account(z.ctx, idx)
	if err != nil {
		return err
	}
	op := zkrollup.Op{Type: t, Account: idx, To: to, Amount: amount, Fee: fee, Nonce: uint64(a.Nonce)}
	d, err := z.domain()
	if err != nil {
		return err
	}
	if err := op.Sign(zkrollup.L2Key(z.key), d); err != nil {
		return err
	}
	what := fmt.Sprintf("%s %s ETH from account %d", t, amountEth, idx)
	if t == zkrollup.OpTransfer {
		what += fmt.Sprintf(" to account %d", to)
	}
	return z.send(&op, what)
}

func (z *zkSession) send(op *zkrollup.Op, what string) error {
	res, err := z.op.Send(z.ctx, op)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(z.out, "%s: accepted by the operator (%d ops waiting for a batch); final once its batch verifies on L1\n", what, res.Pending)
	return nil
}

// exit leaves the rollup without the operator.
func (z *zkSession) exit() error {
	p, err := zkrollup.ReadParams(z.ctx, z.l1)
	if err != nil {
		return err
	}
	tree, err := zkrollup.RebuildFromL1(z.ctx, z.l1, p)
	if err != nil {
		return fmt.Errorf("rebuild the state from L1: %w", err)
	}
	idx, ok := tree.Find(z.addr)
	if !ok {
		return fmt.Errorf("%s has no account in the verified state", z.addr)
	}
	exitMode, err := zkrollup.InExitMode(z.ctx, z.l1)
	if err != nil {
		return err
	}
	if !exitMode {
		activate, _ := zkrollup.VerifierABI.Pack("activateExitMode")
		if _, err := z.l1.CallContract(z.ctx, ethereum.CallMsg{From: z.addr, To: &zkrollup.VerifierAddress, Data: activate}, nil); err != nil {
			req, _ := zkrollup.VerifierABI.Pack("requestExit", uint32(idx))
			if err := z.l1Call(fmt.Sprintf("request a full exit of account %d", idx), p.PriorityFee, req); err != nil {
				return err
			}
			fmt.Fprintf(z.out, "the operator must pay out account %d within %d L1 blocks; if it does not, run cairn zk exit again to leave with a Merkle proof\n", idx, p.PriorityDeadline)
			return nil
		}
		if err := z.l1Call("activate exit mode (a priority op is overdue)", nil, activate); err != nil {
			return err
		}
	}
	a := tree.Account(idx)
	data, err := zkrollup.ExitCalldata(tree, idx)
	if err != nil {
		return err
	}
	return z.l1Call(fmt.Sprintf("exit account %d with %s ETH (Merkle proof against the verified root)", idx, gweiString(a.Balance)), nil, data)
}

// ethToGwei reads an amount of ETH that must be whole gwei.
func ethToGwei(s string) (uint64, error) {
	wei, err := parseEther(s)
	if err != nil {
		return 0, err
	}
	g, rem := new(big.Int).QuoRem(wei, big.NewInt(params.GWei), new(big.Int))
	if rem.Sign() != 0 || !g.IsUint64() {
		return 0, errors.New("amounts on the ZK rollup are whole gwei below 2^64")
	}
	return g.Uint64(), nil
}

func gweiString(g uint64) string {
	return ethString(new(big.Int).Mul(new(big.Int).SetUint64(g), big.NewInt(params.GWei)))
}
