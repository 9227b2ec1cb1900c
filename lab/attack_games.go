package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// The attacks on the dispute game that an adversarial review found
// (issue "Security: close the holes ..."). Each exits without error only
// when the attack fails.

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// loot is the withdrawal a forged output pays the attacker.
func loot() *rollup.Withdrawal {
	thief := chain.DevAddress(8)
	return &rollup.Withdrawal{Nonce: big.NewInt(1 << 40), Sender: thief, Target: thief, Value: ether(1000), GasLimit: new(big.Int), Data: []byte{}}
}

// forger is a proposer's Lie that forges every output to hold the
// withdrawal w.
type forger struct {
	w       *rollup.Withdrawal
	outputs map[common.Hash]*rolluptest.ForgedOutput
}

func newForger(w *rollup.Withdrawal) *forger {
	return &forger{w: w, outputs: map[common.Hash]*rolluptest.ForgedOutput{}}
}

func (f *forger) lie(o *rollup.Output) common.Hash {
	forged := rolluptest.ForgeOutput(o, f.w)
	f.outputs[forged.Root] = forged
	return forged.Root
}

// newForgingArena is an arena whose proposer, the attacker, forges every
// output to pay it the loot.
func newForgingArena(ctx context.Context, out io.Writer, opts rolluptest.Options) (*arena, *forger, error) {
	f := newForger(loot())
	a, err := newArenaWith(ctx, out, opts, agents.Config{Lie: f.lie}, agents.Config{})
	return a, f, err
}

// forging is an attack told by story on a forging arena (above), closed
// when the story ends.
func forging(opts rolluptest.Options, story func(a *arena, f *forger) error) func(context.Context, io.Writer) error {
	return func(ctx context.Context, out io.Writer) error {
		a, f, err := newForgingArena(ctx, out, opts)
		if err != nil {
			return err
		}
		defer a.close()
		return story(a, f)
	}
}

// proveLoot sends the proof of f's withdrawal against output i with the
// forged preimage; the next round mines it.
func (a *arena) proveLoot(f *forger, i uint64) error {
	o, err := rollup.L1View{C: a.l1}.Output(a.ctx, i)
	if err != nil {
		return err
	}
	forged := f.outputs[o.Root]
	if forged == nil {
		return fmt.Errorf("output %d is not a forged one", i)
	}
	data, _ := rollup.PortalABI.Pack("proveWithdrawal", f.w.Encode(), new(big.Int).SetUint64(i), forged.StateRoot, forged.MessagePasserRoot, forged.BlockHash, forged.Position.Word(), forged.Proof)
	if _, err := ethtx.Send(a.ctx, a.l1, attackerKey, rollup.PortalAddress, nil, data, 0); err != nil {
		return fmt.Errorf("proving the forged withdrawal: %w", err)
	}
	return nil
}

// finalizeLoot tries to take f's withdrawal; it fails when the attack did.
func (a *arena) finalizeLoot(f *forger) error {
	fin, _ := rollup.PortalABI.Pack("finalizeWithdrawal", f.w.Encode())
	if _, err := ethtx.Send(a.ctx, a.l1, attackerKey, rollup.PortalAddress, nil, fin, 0); err == nil {
		return fmt.Errorf("SECURITY FAILURE: the portal accepted the forged withdrawal")
	} else {
		fmt.Fprintf(a.out, "   refused: %v\n", shortErr(err))
	}
	return nil
}

func (a *arena) send(key string, to common.Address, value *big.Int, data []byte) error {
	_, err := ethtx.Send(a.ctx, a.l1, attackerKey, to, value, data, 300_000)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func attackSelfChallenge(a *arena, f *forger) error {
	if err := a.userDeposits("1. a user deposits 5 ETH: the portal holds all the rollup's ETH"); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "2. the attacker proposes a false output holding a 1,000 ETH withdrawal to itself and, in the same L1 block, challenges it itself")
	challenge, _ := rollup.OutputsABI.Pack("challenge", big.NewInt(1))
	if err := a.roundWith(func() error { return a.send("challenge", rollup.OutputsAddress, ether(1), challenge) }); err != nil {
		return err
	}
	o, err := rollup.L1View{C: a.l1}.Output(a.ctx, 1)
	if err != nil {
		return err
	}
	if o.Games != 1 {
		return fmt.Errorf("the self-challenge did not open a game: %+v", o)
	}
	fmt.Fprintln(a.out, "3. the attacker proves its withdrawal; it will defend its own game once and never answer as its challenger")
	if err := a.proveLoot(f, 1); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "4. the honest challenger is not locked out: every challenge opens a game of its own, and one lost game removes the output")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "   the false output was deleted after the challenger's game (the challenger opened %d game)\n", a.Challenger.Moves()["challenge"])
	fmt.Fprintln(a.out, "5. the attacker tries to finalize its withdrawal")
	if err := a.finalizeLoot(f); err != nil {
		return err
	}
	return a.promised("a self-challenge protects nothing; the output fell to the honest challenger's own game")
}

func attackFutureOutput(a *arena, f *forger) error {
	// The attacker's proposer plays its games (with made-up roots) but
	// proposes nothing on its own.
	a.Proposer.Close()
	a.Proposer = agents.NewProposer(agents.Config{Node: a.Verifier, L1: a.l1, Key: attackerKey, Manual: true, Interval: 1 << 20,
		Lie: f.lie, Log: slog.New(slog.DiscardHandler)})
	fmt.Fprintln(a.out, "1. the rollup makes a few blocks")
	if err := a.blocks(3); err != nil {
		return err
	}
	head := a.Verifier.SafeHead().Number.Uint64()
	fmt.Fprintf(a.out, "2. the attacker proposes an output for L2 block %d, 2^40 past the last output\n", uint64(1)<<40)
	far, _ := rollup.OutputsABI.Pack("proposeOutput", uint64(1)<<40, common.Hash{0xfa, 0x4e})
	if _, err := ethtx.Send(a.ctx, a.l1, attackerKey, rollup.OutputsAddress, ether(1), far, 0); err == nil {
		if err := a.round(); err != nil {
			return err
		}
		if outs, _ := (rollup.L1View{C: a.l1}).Outputs(a.ctx); len(outs) > 1 {
			return fmt.Errorf("SECURITY FAILURE: an output 2^40 blocks ahead was accepted")
		}
	} else {
		fmt.Fprintf(a.out, "   refused: %v\n", shortErr(err))
	}
	target := head + 1000
	fmt.Fprintf(a.out, "3. it proposes one for L2 block %d, 1,000 past the chain's head (%d), with a root of its own making\n", target, head)
	near, _ := rollup.OutputsABI.Pack("proposeOutput", target, common.Hash{0xfa, 0x4e})
	if err := a.roundWith(func() error { return a.send("proposeOutput", rollup.OutputsAddress, ether(1), near) }); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "4. the challenger disputes it: L1 data before the output gives no such block; the attacker answers with made-up midpoints")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	return a.promised("an output ahead of L1 data is disputed and removed, and cannot block later proposals")
}

func attackUnsettledBase(a *arena, f *forger) error {
	fmt.Fprintln(a.out, "1. a user deposits 5 ETH")
	if err := a.deposit(ether(5)); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "2. the attacker proposes a false output F1, then a false output F2 after it; both hold a 1,000 ETH withdrawal to itself")
	if err := a.round(); err != nil {
		return err
	}
	if err := a.l2Block(); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	view := rollup.L1View{C: a.l1}
	outs, err := view.Outputs(a.ctx)
	if err != nil {
		return err
	}
	if len(outs) < 3 {
		return fmt.Errorf("the attacker posted %d outputs, want 2", len(outs)-1)
	}
	fmt.Fprintln(a.out, "3. the attacker proves its withdrawal against F2; the challenger disputes F1, the first false output (a game over F2 would start from F1's false root)")
	if err := a.proveLoot(f, 2); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "4. F2 passes its challenge window unchallenged while F1's game runs; the attacker tries to finalize against F2")
	if err := rounds(rollup.DevFinalizationPeriod/a.L1.BlockTime+1, a.round); err != nil {
		return err
	}
	if o, err := view.Output(a.ctx, 1); err != nil || o.Open == 0 {
		return fmt.Errorf("F1's game ended before the check (%+v, %v)", o, err)
	}
	if err := a.finalizeLoot(f); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "5. F1's game is played out; when F1 falls, F2 goes with it")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	if outs, _ := view.Outputs(a.ctx); len(outs) > 1 {
		return fmt.Errorf("SECURITY FAILURE: F2 outlived F1: %+v", outs[1:])
	}
	if err := a.finalizeLoot(f); err != nil {
		return err
	}
	return a.promised("an output is final only once every output before it is, so a false base protects nothing built on it")
}

func attackReproveGrief(ctx context.Context, out io.Writer) error {
	a, err := newArena(ctx, out, agents.Config{}, agents.Config{})
	if err != nil {
		return err
	}
	defer a.close()
	fmt.Fprintln(out, "1. a user deposits 5 ETH and withdraws 2 ETH on L2; an honest output covers it")
	if err := a.deposit(ether(5)); err != nil {
		return err
	}
	seq, err := ethclient.Dial(a.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	tx, err := ethtx.Send(ctx, seq, userKey, rollup.MessagePasserAddress, ether(2), nil, 100_000)
	if err != nil {
		return err
	}
	if err := a.l2Block(); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	w, n, err := rollup.FindWithdrawal(ctx, a.l2, tx.Hash())
	if err != nil {
		return err
	}
	data, _, err := rollup.ProveCalldata(ctx, rollup.L1View{C: a.l1}, a.l2, w, n)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "2. the user proves it on L1")
	if _, err := ethtx.Send(ctx, a.l1, userKey, rollup.PortalAddress, nil, data, 0); err != nil {
		return err
	}
	if err := rounds(rollup.DevFinalizationPeriod/a.L1.BlockTime-1, a.round); err != nil {
		return err
	}
	fmt.Fprintln(out, "3. just before the window ends, a griefer proves the same withdrawal again, to restart the user's wait")
	if _, err := ethtx.Send(ctx, a.l1, chain.DevKey(6), rollup.PortalAddress, nil, data, 0); err == nil {
		if err := a.round(); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "   refused: %v\n", shortErr(err))
	}
	if err := rounds(2, a.round); err != nil {
		return err
	}
	fmt.Fprintln(out, "4. the user finalizes when its window has passed")
	fin, _ := rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode())
	if _, err := ethtx.Send(ctx, a.l1, userKey, rollup.PortalAddress, nil, fin, 0); err != nil {
		return fmt.Errorf("SECURITY FAILURE: the griefer froze the withdrawal: %w", err)
	}
	if err := a.round(); err != nil {
		return err
	}
	fmt.Fprintln(out, "outcome as promised: a proof stands while its output does; nobody can restart another's wait")
	return nil
}

// attackBatcherJunk: the holder of the rollup's batcher key posts 200 KB
// that derivation drops before a block's batch, and a dishonest challenger
// drives the game over a true output to that block. Every record after
// the parent goes into the block's proof, so before scans the proof did
// not fit one L1 transaction and the honest proposer lost; now it reads
// the junk in bounded scanInbox calls first, proves the block and wins.
func attackBatcherJunk(ctx context.Context, out io.Writer) error {
	batcherKey := chain.DevKey(6)
	a, err := newArenaWith(ctx, out, rolluptest.Options{BatcherKey: batcherKey}, agents.Config{}, agents.Config{Dishonest: true})
	if err != nil {
		return err
	}
	defer a.close()
	fmt.Fprintln(out, "   the attackers hold the batcher key (key 6) and challenge (key 9); the honest proposer uses key 8")
	fmt.Fprintln(out, "1. the sequencer makes a block with a transfer; before its batch, the batcher key posts 200 KB of calldata and a full blob (130 KB) that derivation drops")
	seq, err := ethclient.Dial(a.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	if _, err := ethtx.Send(ctx, seq, userKey, common.Address{0x55}, big.NewInt(1), nil, 21_000); err != nil {
		return err
	}
	if _, err := a.Sequence(ctx); err != nil {
		return err
	}
	junk := bytes.Repeat([]byte{0xff}, 100_000) // no frames
	for range 2 {
		if err := a.roundWith(func() error {
			_, err := ethtx.Send(ctx, a.l1, batcherKey, rollup.InboxAddress, nil, junk, 21_000+40*uint64(len(junk)))
			return err
		}); err != nil {
			return err
		}
	}
	// A full blob of junk: more than a proof could carry in one call, so
	// derivation drops it, and a proof passes over it by its cell 0.
	blob, err := da.EncodeBlob(bytes.Repeat([]byte{0xff}, da.MaxBlobData))
	if err != nil {
		return err
	}
	if err := a.roundWith(func() error {
		_, err := rolluptest.SendBlobs(ctx, a.l1, batcherKey, *blob)
		return err
	}); err != nil {
		return err
	}
	if err := a.Batch(ctx); err != nil {
		return err
	}
	if err := rolluptest.Derive(ctx, a.Verifier); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	fmt.Fprintln(out, "2. the challenger disputes the true output and disagrees with every midpoint, down to that block")
	res, err := a.play(1)
	if err != nil {
		return err
	}
	if res == nil || res.Status != rollup.OutputDefended {
		return fmt.Errorf("SECURITY FAILURE: the batcher's junk made a true output unprovable: %+v", res)
	}
	m := a.Proposer.Moves()
	fmt.Fprintf(out, "   the proposer read the junk in %d scanInbox calls, then proved the block on L1 (%d step, %d parts)\n", m["scanInbox"], m["step"], m["stepPart"])
	return a.promised("junk from the batcher key costs the defender a few more L1 calls, not its output; the challenger's bond went to the proposer")
}
