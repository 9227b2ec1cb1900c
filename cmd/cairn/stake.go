package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/cometbft/cometbft/privval"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/l1/staking"
)

// signer holds the flags every transaction-sending command shares.
type signer struct {
	rpc     string
	keyFile string
	dev     int
}

func (s *signer) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.rpc, "rpc", "http://127.0.0.1:8545", "L1 JSON-RPC URL")
	f.StringVar(&s.keyFile, "key", "", "file holding the account's private key in hex")
	f.IntVar(&s.dev, "dev", -1, "use account N of the test mnemonic instead of --key (development chains only)")
}

func (s *signer) key() (*ecdsa.PrivateKey, error) {
	switch {
	case s.dev >= 0 && s.keyFile != "":
		return nil, errors.New("give --key or --dev, not both")
	case s.dev >= 0:
		return chain.DevKey(uint32(s.dev)), nil
	case s.keyFile != "":
		return readKeyFile(s.keyFile)
	}
	return nil, errors.New("no account: give --key FILE or --dev N")
}

// call sends a staking contract call and waits for its receipt.
func (s *signer) call(cmd *cobra.Command, value *big.Int, method string, args ...any) error {
	key, err := s.key()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
	defer cancel()
	c, err := ethclient.DialContext(ctx, s.rpc)
	if err != nil {
		return err
	}
	defer c.Close()
	data, err := staking.ABI.Pack(method, args...)
	if err != nil {
		return err
	}
	r, err := ethtx.SendAndWait(ctx, c, key, staking.Address, value, data, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s by %s: transaction %s in block %d\n", method, crypto.PubkeyToAddress(key.PublicKey), r.TxHash, r.BlockNumber)
	return nil
}

// parseEther reads a decimal amount of ETH exactly, as wei.
func parseEther(s string) (*big.Int, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return nil, fmt.Errorf("invalid amount %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(big.NewInt(params.Ether)))
	if !r.IsInt() {
		return nil, fmt.Errorf("amount %q has more than 18 decimals", s)
	}
	return r.Num(), nil
}

func stakingCmds() []*cobra.Command {
	var (
		s                    signer
		home, amount, valHex string
		commission           uint16
	)
	stake := &cobra.Command{
		Use:   "stake",
		Short: "Register this node as a validator with a stake, or add to the stake",
		Long: `Signs with the node's consensus key (from --home) to bind it to the sending
account, and registers it as a validator with --amount ETH of stake. If the
account already runs a validator, adds --amount to its stake.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			value, err := parseEther(amount)
			if err != nil {
				return err
			}
			key, err := s.key()
			if err != nil {
				return err
			}
			if home == "" {
				op := crypto.PubkeyToAddress(key.PublicKey)
				return s.call(cmd, value, "delegate", op)
			}
			pv := privval.LoadFilePV(home+"/config/priv_validator_key.json", home+"/data/priv_validator_state.json")
			var pub [32]byte
			copy(pub[:], pv.Key.PubKey.Bytes())
			c, err := ethclient.Dial(s.rpc)
			if err != nil {
				return err
			}
			chainID, err := c.ChainID(cmd.Context())
			c.Close()
			if err != nil {
				return err
			}
			sig, err := pv.Key.PrivKey.Sign(staking.RegistrationMessage(chainID, crypto.PubkeyToAddress(key.PublicKey), pub))
			if err != nil {
				return err
			}
			return s.call(cmd, value, "registerValidator", pub, sig, commission)
		},
	}
	s.flags(stake)
	stake.Flags().StringVar(&home, "home", "", "node home whose consensus key to register (omit to add stake to an existing validator)")
	stake.Flags().StringVar(&amount, "amount", "", "ETH to stake")
	stake.Flags().Uint16Var(&commission, "commission", 500, "commission on rewards, in basis points")
	stake.MarkFlagRequired("amount")

	var d signer
	delegate := &cobra.Command{
		Use:   "delegate",
		Short: "Delegate ETH to a validator",
		RunE: func(cmd *cobra.Command, _ []string) error {
			value, err := parseEther(amount)
			if err != nil {
				return err
			}
			if !common.IsHexAddress(valHex) {
				return fmt.Errorf("--validator: %q is not an address", valHex)
			}
			return d.call(cmd, value, "delegate", common.HexToAddress(valHex))
		},
	}
	d.flags(delegate)
	delegate.Flags().StringVar(&valHex, "validator", "", "the validator's operator address")
	delegate.Flags().StringVar(&amount, "amount", "", "ETH to delegate")
	delegate.MarkFlagRequired("validator")
	delegate.MarkFlagRequired("amount")

	var u signer
	unbond := &cobra.Command{
		Use:   "unbond",
		Short: "Unbond ETH from a validator; 'cairn withdraw' pays it after the unbonding period",
		RunE: func(cmd *cobra.Command, _ []string) error {
			value, err := parseEther(amount)
			if err != nil {
				return err
			}
			key, err := u.key()
			if err != nil {
				return err
			}
			val := crypto.PubkeyToAddress(key.PublicKey)
			if valHex != "" {
				if !common.IsHexAddress(valHex) {
					return fmt.Errorf("--validator: %q is not an address", valHex)
				}
				val = common.HexToAddress(valHex)
			}
			return u.call(cmd, nil, "unbond", val, value)
		},
	}
	u.flags(unbond)
	unbond.Flags().StringVar(&valHex, "validator", "", "the validator's operator address (default: the sender's own validator)")
	unbond.Flags().StringVar(&amount, "amount", "", "ETH to unbond")
	unbond.MarkFlagRequired("amount")

	var w signer
	withdraw := &cobra.Command{
		Use:   "withdraw",
		Short: "Collect unbonded stake (no subcommand), or move a rollup withdrawal along (status, prove, finalize)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return w.call(cmd, nil, "withdraw") },
	}
	w.flags(withdraw)
	withdraw.AddCommand(rollupWithdrawCmds()...)

	var j signer
	unjail := &cobra.Command{
		Use:   "unjail",
		Short: "Return the sender's jailed validator to the active set after its jail period",
		RunE:  func(cmd *cobra.Command, _ []string) error { return j.call(cmd, nil, "unjail") },
	}
	j.flags(unjail)
	return []*cobra.Command{stake, delegate, unbond, withdraw, unjail}
}
