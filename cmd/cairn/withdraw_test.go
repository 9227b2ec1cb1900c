package main

import (
	"context"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
)

// A rollup withdrawal moved along with the CLI, as a user would on a
// devnet whose proposer posts outputs: status, prove, then finalize after
// the challenge window; the ETH arrives on L1.
func TestRollupWithdrawCommands(t *testing.T) {
	bin := cairnBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := startDevnet(t, ctx, testDevnet())
	l1c, seq := dial(t, d.L1RPC(0)), dial(t, d.Rollup.Sequencer.RPCURL())
	user := chain.DevKey(6)
	dep, err := ethtx.Send(ctx, l1c, user, rollup.PortalAddress, big.NewInt(params.Ether), nil, 21_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ethtx.WaitReceipt(ctx, l1c, dep.Hash()); err != nil {
		t.Fatal(err)
	}
	tx, err := ethtx.Send(ctx, seq, user, rollup.MessagePasserAddress, big.NewInt(params.Ether/4), nil, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ethtx.WaitReceipt(ctx, seq, tx.Hash()); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"withdraw"}, append(args, tx.Hash().Hex(), "--dev", "6",
			"--rpc", d.L1RPC(0), "--l2-rpc", d.Rollup.Sequencer.RPCURL())...)...).CombinedOutput()
		return string(out), err
	}
	retry := func(what string, args ...string) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			out, err := run(args...)
			if err == nil {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\n%s", what, err, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	out, err := run("status")
	if err != nil || !strings.Contains(out, "status:") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	retry("prove once an output covers the withdrawal", "prove")
	if out, _ := run("status"); !strings.Contains(out, "proven") {
		t.Fatalf("status after prove:\n%s", out)
	}
	if out, err := run("finalize"); err == nil {
		t.Fatalf("finalized inside the challenge window:\n%s", out)
	}
	before, _ := l1c.BalanceAt(ctx, chain.DevAddress(6), nil)
	retry("finalize after the window", "finalize")
	after, _ := l1c.BalanceAt(ctx, chain.DevAddress(6), nil)
	if gain := new(big.Int).Sub(after, before); gain.Cmp(big.NewInt(params.Ether/5)) < 0 {
		t.Fatalf("L1 balance grew by %v, want about 0.25 ETH", gain)
	}
	if out, _ := run("status"); !strings.Contains(out, "finalized") {
		t.Fatalf("status after finalize:\n%s", out)
	}
}
