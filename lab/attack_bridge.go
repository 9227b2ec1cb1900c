package lab

import (
	"context"
	"fmt"
	"io"
	"math/big"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/sidechain"
)

// attackBridgeKeys is Ronin (2022): five of the multisig bridge's nine
// attester keys are taken, and the thieves release everything the bridge
// holds on L1 for a withdrawal nobody made. The attack succeeds: that is
// what a multisig bridge trusts its keys with.
func attackBridgeKeys(ctx context.Context, out io.Writer) error {
	w, err := sidechain.NewWorld()
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(out, "setup: an L1 and a sidechain (chain %d), the multisig bridge between them, %d of %d attester keys needed\n",
		sidechain.WorldSideID, w.Params.Threshold, len(w.Params.Attesters))
	user, thief := chain.DevKey(3), chain.DevAddress(8)
	if _, err := sidechain.Deposit(ctx, w.L1.Client(), user, chain.DevAddress(3), ethWei(40)); err != nil {
		return err
	}
	if _, err := w.Relayer.Step(ctx); err != nil {
		return err
	}
	locked, _ := w.Balance(ctx, w.L1, sidechain.MultisigL1Address)
	fmt.Fprintf(out, "  a user bridges 40 ETH: the L1 half holds %s ETH, the user has it on the sidechain\n", ethFloat(locked))
	forged := sidechain.Transfer{Nonce: 1 << 40, To: thief, Amount: locked}
	sigs, err := sidechain.Sign(w.Attesters[:5], w.Params.L1ChainID, sidechain.MultisigL1Address, forged)
	if err != nil {
		return err
	}
	data, err := sidechain.MultisigABI.Pack("release", forged.Nonce, forged.To, forged.Amount, sigs)
	if err != nil {
		return err
	}
	before, _ := w.Balance(ctx, w.L1, thief)
	r, err := ethtx.SendAndWait(ctx, w.L1.Client(), chain.DevKey(8), sidechain.MultisigL1Address, nil, data, 200_000)
	if err != nil {
		return fmt.Errorf("the forged release failed: %w", err)
	}
	after, _ := w.Balance(ctx, w.L1, thief)
	left, _ := w.Balance(ctx, w.L1, sidechain.MultisigL1Address)
	gain := new(big.Int).Sub(after, before)
	fmt.Fprintf(out, "  5 colluding keys sign a release of %s ETH for a withdrawal nobody made: the thief gains %s ETH (gas %d), the bridge holds %s ETH\n",
		ethFloat(locked), ethFloat(gain), r.GasUsed, ethFloat(left))
	if left.Sign() != 0 {
		return fmt.Errorf("the bridge kept %s ETH", ethFloat(left))
	}
	fmt.Fprintf(out, "attacker's cost: 5 of the 9 attester keys and %d gas; nothing staked, so nothing lost: it gained %s ETH\n", r.GasUsed, ethFloat(gain))
	fmt.Fprintln(out, "outcome as promised: the multisig bridge was drained, as its trust model says it can be by 5 of its 9 keys; the user's sidechain ETH is backed by nothing")
	return nil
}
