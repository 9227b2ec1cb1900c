package lab

import (
	"context"
	"fmt"
	"io"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/node"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// attackCensoringSequencer: the optimistic rollup's sequencer ignores a
// user's forced transaction. It can hold its L1 origin back, but only for
// the sequencing window: then derivation, reading L1 alone, puts the
// transaction in, and the sequencer's blocks past the window are dropped.
// The run counts the L1 blocks from the forcing to the inclusion.
func attackCensoringSequencer(ctx context.Context, out io.Writer) error {
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{CensorForced: true})
	if err != nil {
		return err
	}
	defer s.Close()
	window := s.Config.SeqWindow
	fmt.Fprintf(out, "setup: L1 (mined by hand), a rollup sequencer that ignores forced transactions, its batcher and a verifier; sequencing window %d L1 blocks\n", window)
	id := new(big.Int).SetUint64(s.Config.L2ChainID)
	to := common.Address{0xca}
	tx, err := types.SignNewTx(chain.DevKey(2), types.LatestSignerForChainID(id), &types.DynamicFeeTx{
		ChainID: id, Nonce: 0, To: &to, Value: big.NewInt(params.Ether), Gas: 21_000,
		GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: big.NewInt(params.GWei),
	})
	if err != nil {
		return err
	}
	raw, _ := tx.MarshalBinary()
	data, err := rollup.PortalABI.Pack("forceTransaction", raw)
	if err != nil {
		return err
	}
	if _, err := ethtx.Send(ctx, s.L1.Client(), chain.DevKey(2), rollup.PortalAddress, new(big.Int), data, 200_000); err != nil {
		return err
	}
	fb, _, err := s.L1.Mine()
	if err != nil {
		return err
	}
	forcedAt := fb.NumberU64()
	fmt.Fprintf(out, "1. a user forces an L2 transfer of 1 ETH through the L1 portal, in L1 block %d\n", forcedAt)
	fmt.Fprintln(out, "2. the sequencer goes on making blocks, and its batcher posting them, but its origin never reaches that L1 block")
	in := func(n *node.Node) bool {
		found, _, _, _ := n.Chain().TxLookup(tx.Hash())
		return found != nil
	}
	for range 3 * window {
		if _, err := s.Sequence(ctx); err != nil {
			return err
		}
		if in(s.Sequencer) {
			return fmt.Errorf("the censoring sequencer included the forced transaction")
		}
		if err := s.Batch(ctx); err != nil {
			return err
		}
		if _, _, err := s.L1.Mine(); err != nil {
			return err
		}
		if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
			return err
		}
		if in(s.Verifier) {
			after := s.L1.Head().Number.Uint64() - forcedAt
			fmt.Fprintf(out, "3. the verifier, reading L1 alone, put it in once L1 was %d blocks past the forcing; the sequencer's blocks that left it out were dropped\n", after)
			fmt.Fprintln(out, "attacker's cost: nothing: censoring costs the sequencer nothing, and gains it nothing past the window")
			fmt.Fprintf(out, "outcome as promised: the censored transfer went in %d L1 blocks after it was forced (the window: %d), from L1 alone\n", after, window)
			return nil
		}
	}
	return fmt.Errorf("SECURITY FAILURE: the forced transaction was not in the chain %d L1 blocks after it was forced", 3*window)
}
