package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"strings"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/node"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// The withhold-data attack (docs/da.md): a proposer posts a false output
// that steals the portal's deposits, and the data that would let anyone
// rebuild the state to challenge it is withheld. The challenger here is a
// verifier that joins late, with nothing but the L1 and the rollup's data
// sources, as anyone checking a rollup is.
//
//   - Data in blobs: the L1's validators keep them; the late verifier
//     derives the chain, challenges, and the false output falls.
//   - Data with a committee of which every member colludes: the late
//     verifier's derivation stops at the first certificate; no one can
//     challenge, the output finalizes and the theft succeeds. This is the
//     risk of a validium or optimium, which the committee's honesty
//     assumption is there to rule out.
//   - Data by sampling: light nodes sampling the storage nodes, which
//     withhold what stops a rebuild, reject the data, with the
//     probability measured; the verifier cannot derive past it.

// ErrTheftSucceeded is returned by the committee part when the theft went
// through, which is the outcome to show, not a failure of the run.
var ErrTheftSucceeded = errors.New("the theft succeeded")

func attackWithholdData(ctx context.Context, out io.Writer) error {
	fmt.Fprintln(out, "== A. the rollup's data in blobs on the L1 ==")
	if err := withholdRun(ctx, out, rollup.DABlobs); err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	fmt.Fprintln(out, "\n== B. the rollup's data with a committee of five, all five colluding with the proposer ==")
	err := withholdRun(ctx, out, rollup.DACommittee)
	if !errors.Is(err, ErrTheftSucceeded) {
		if err == nil {
			return fmt.Errorf("committee: the theft failed although no one could see the data")
		}
		return fmt.Errorf("committee: %w", err)
	}
	fmt.Fprintln(out, "\n== C. the rollup's data erasure-coded with two storage nodes, both withholding what stops a rebuild ==")
	if err := withholdSampled(ctx, out); err != nil {
		return fmt.Errorf("sampling: %w", err)
	}
	withholdSampling(out)
	fmt.Fprintln(out, "\noutcome as promised: with blobs the challenger won; with a colluding committee the theft went through, as the validium's trust assumption says it can; sampling light nodes reject a withholding publisher with the probability shown")
	return nil
}

// withholdRun plays the attack with the rollup's data in mode.
func withholdRun(ctx context.Context, out io.Writer, mode rollup.DA) error {
	steal := &rollup.Withdrawal{Nonce: big.NewInt(1 << 41), Sender: chain.DevAddress(8), Target: chain.DevAddress(8), Value: ether(5), GasLimit: new(big.Int), Data: []byte{}}
	f := newForger(steal)
	a, err := newArenaWith(ctx, out, rolluptest.Options{DA: mode}, agents.Config{Lie: f.lie}, agents.Config{})
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.userDeposits("1. a user deposits 5 ETH and pays on L2; the batcher posts the blocks"); err != nil {
		return err
	}
	if mode == rollup.DACommittee {
		fmt.Fprintf(out, "2. all %d committee members stop serving the data they signed for (the L1 holds only certificates)\n", len(a.Committee))
		for _, m := range a.Committee {
			m.Withhold.Store(true)
		}
	} else {
		fmt.Fprintln(out, "2. the attacker cannot withhold blobs: every L1 validator keeps them, and the Beacon API serves them")
	}
	fmt.Fprintln(out, "3. an honest verifier joins, deriving from the L1 alone, and its challenger replaces the old one")
	late, err := node.Start(ctx, node.Config{Name: "late-verifier", Rollup: a.Config, L1: a.L1.Client(), L1Beacon: a.L1.URL(),
		Manual: true, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer late.Close()
	a.Challenger.Close()
	a.Challenger = agents.NewChallenger(agents.Config{Node: late, L1: a.L1.Client(), Key: challengerKey, Manual: true, Interval: 1, Log: slog.New(slog.DiscardHandler)})
	var derr error
	round := func() error {
		_, derr = late.Derive(ctx)
		for derr == nil {
			var progress bool
			if progress, derr = late.Derive(ctx); !progress {
				break
			}
		}
		return a.round()
	}
	fmt.Fprintln(out, "4. the attacker proposes an output whose message passer pays it the 5 ETH, and proves its withdrawal")
	if err := round(); err != nil {
		return err
	}
	if err := a.proveLoot(f, 1); err != nil {
		return err
	}
	fmt.Fprintf(out, "5. rounds through the challenge window (%d s); the late verifier has derived L2 block %d\n", rollup.DevFinalizationPeriod, late.Chain().Head().Number)
	if mode == rollup.DACommittee {
		err = rounds(rollup.DevFinalizationPeriod+2, round)
	} else {
		err = a.falls(1, round)
	}
	fmt.Fprintf(out, "   the late verifier reached L2 block %d", late.Chain().Head().Number)
	if derr != nil {
		fmt.Fprintf(out, "; its derivation waits: %v", strings.ReplaceAll(shortErr(derr), "\n", "; "))
	}
	fmt.Fprintln(out)
	if err != nil {
		return err
	}
	if mode != rollup.DACommittee {
		fmt.Fprintln(out, "   the challenger derived the true chain from the blobs, challenged and won: the false output was deleted")
		if err := rounds(rollup.DevFinalizationPeriod, round); err != nil {
			return err
		}
		return a.finalizeWithdrawal(steal, false)
	}
	if err := a.finalizeWithdrawal(steal, true); err != nil {
		return err
	}
	a.balances("   balances")
	return ErrTheftSucceeded
}

// finalizeWithdrawal has the attacker finalize w, reporting what happens.
func (a *arena) finalizeWithdrawal(w *rollup.Withdrawal, expectPaid bool) error {
	fmt.Fprintln(a.out, "6. the attacker tries to finalize its withdrawal")
	fin, _ := rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode())
	before, err := a.l1.BalanceAt(a.ctx, w.Target, nil)
	if err != nil {
		return err
	}
	tx, err := ethtx.Send(a.ctx, a.l1, attackerKey, rollup.PortalAddress, nil, fin, 0)
	if err == nil {
		if err = a.round(); err == nil {
			var r *types.Receipt
			if r, err = a.l1.TransactionReceipt(a.ctx, tx.Hash()); err == nil && r.Status != types.ReceiptStatusSuccessful {
				err = fmt.Errorf("finalizeWithdrawal reverted")
			}
		}
	}
	if err == nil {
		after, berr := a.l1.BalanceAt(a.ctx, w.Target, nil)
		if berr != nil {
			return berr
		}
		fmt.Fprintf(a.out, "   the attacker's L1 balance went from %s to %s ETH\n", ethFloat(before), ethFloat(after))
	}
	switch {
	case err == nil && expectPaid:
		fmt.Fprintln(a.out, "   paid: nobody could challenge what nobody could see; the portal released the user's 5 ETH to the attacker")
		return nil
	case err == nil:
		return fmt.Errorf("SECURITY FAILURE: the portal paid the forged withdrawal")
	case expectPaid:
		return fmt.Errorf("the forged withdrawal was refused (%v), although its output went unchallenged", shortErr(err))
	}
	fmt.Fprintf(a.out, "   refused: %v\n", shortErr(err))
	return nil
}

// withholdSampled has the rollup post sampled data, its storage nodes
// withhold, and light nodes sample the commitment the L1 holds over HTTP.
func withholdSampled(ctx context.Context, out io.Writer) error {
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{DA: rollup.DASampling, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer s.Close()
	seq, err := ethclient.DialContext(ctx, s.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	if err := sendTransfers(ctx, s, seq, 200); err != nil {
		return err
	}
	if err := s.Batch(ctx); err != nil {
		return err
	}
	var com *da.Sampled
	for _, tx := range s.L1.Chain().BlockByNumber(s.L1.Head().Number.Uint64()).Transactions() {
		if c, err := da.ParseSampled(tx.Data()); err == nil && *tx.To() == rollup.InboxAddress {
			com = c
		}
	}
	if com == nil {
		return fmt.Errorf("no sampling commitment on L1")
	}
	fmt.Fprintf(out, "1. the batcher posted 200 transfers: the L1 holds a %d-byte commitment to a %d-wide extended square (%d bytes of data)\n", da.SampledSize, 2*com.K, com.Len)
	for _, n := range s.Storage {
		n.Withhold.Store(true)
	}
	fmt.Fprintf(out, "2. both storage nodes withhold the (k+1)² = %d shares that stop a rebuild, and the data\n", (com.K+1)*(com.K+1))
	client := da.NewSamplingClient(s.Config.StorageURLs)
	rng := rand.New(rand.NewPCG(3, 4))
	const lights = 300
	for _, samples := range []int{1, 4, 16} {
		rejected := 0
		for range lights {
			if !client.SampleLight(ctx, s.Storage[rng.IntN(len(s.Storage))].URL(), com, samples, rng) {
				rejected++
			}
		}
		fmt.Fprintf(out, "   %d light nodes sampling %d shares each over HTTP: %d reject the data (%.1f%%; formula %.1f%%)\n", lights, samples, rejected,
			100*float64(rejected)/lights, 100*da.DetectionProbability(com.K, samples))
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err == nil {
		return fmt.Errorf("the verifier derived data that no one serves")
	}
	fmt.Fprintln(out, "3. the verifier cannot rebuild the data either: its derivation waits at the commitment, as a challenger's would")
	return nil
}

// withholdSampling measures light nodes against a publisher withholding
// the minimal unrecoverable block of a k=32 square.
func withholdSampling(out io.Writer) {
	const k, trials = 32, 1000
	data := make([]byte, k*k*da.ShareSize)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	sq, err := da.Extend(data, k)
	if err != nil {
		fmt.Fprintf(out, "   extend: %v\n", err)
		return
	}
	srv := da.WithholdMinimal(sq)
	for _, s := range []int{4, 8, 16} {
		caught := 0
		for range trials {
			if !da.Sample(sq.RowRoots, srv, s, rng) {
				caught++
			}
		}
		fmt.Fprintf(out, "   k=%d, %d samples each: %d of %d light nodes reject the block (%.1f%%; formula %.1f%%)\n", k, s, caught, trials,
			100*float64(caught)/trials, 100*da.DetectionProbability(k, s))
	}
	fmt.Fprintln(out, "   (a larger square, k=32, measured in memory)")
}
