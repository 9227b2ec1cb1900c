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
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/zkrollup"
)

// The ZK rollup used from the CLI on a devnet, as a user would: two users
// deposit on L1, register their L2 keys, one pays the other, who withdraws
// to L1; balances turn final as batches verify; then a user asks L1 for a
// full exit and the operator pays it out.
func TestZKCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	bin := cairnBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testDevnet()
	cfg.Validators, cfg.Rollup.RPCPort, cfg.ZK = 1, -1, devnet.ZKOptions{Slots: 2, Depth: 4, KeyDir: t.TempDir()}
	d := startDevnet(t, ctx, cfg)
	l1c := dial(t, d.L1RPC(0))
	flags := []string{"--rpc", d.L1RPC(0), "--zk-rpc", d.ZK.Operator.RPCURL()}
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, bin, append(append([]string{"zk"}, args...), flags...)...).CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("cairn zk %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	eventually := func(what string, f func() bool) {
		t.Helper()
		for !f() {
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s", what)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	contractBalance := func() *big.Int {
		b, err := l1c.BalanceAt(ctx, zkrollup.VerifierAddress, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	must("deposit", "1", "--dev", "5")
	must("deposit", "1", "--dev", "6")
	if out, err := run("deposit", "0.0000000001", "--dev", "5"); err == nil {
		t.Fatalf("a deposit below a gwei was accepted: %s", out)
	}
	for _, dev := range []string{"5", "6"} {
		eventually("the operator to open account of dev "+dev, func() bool { _, err := run("register", "--dev", dev); return err == nil })
	}
	must("transfer", chain.DevAddress(6).Hex(), "0.25", "--fee", "0.000001", "--dev", "5")
	if out, err := run("transfer", chain.DevAddress(6).Hex(), "5", "--dev", "5"); err == nil || !strings.Contains(out, "insufficient balance") {
		t.Fatalf("an overdraft: %v\n%s", err, out)
	}
	must("withdraw", "0.1", "--dev", "6")
	eventually("the withdrawal to verify", func() bool {
		out, _ := run("balance", "--dev", "6")
		return strings.Contains(out, "verified 1.150000 ETH")
	})
	if got := contractBalance(); got.Cmp(new(big.Int).Mul(big.NewInt(19), big.NewInt(params.Ether/10))) != 0 {
		t.Fatalf("the contract holds %v wei after a 0.1 ETH withdrawal", got)
	}
	out := must("balance", chain.DevAddress(5).Hex(), "--dev", "6")
	if !strings.Contains(out, "0.749999 ETH") || !strings.Contains(out, "L2 key") {
		t.Fatalf("balance of dev 5: %s", out)
	}

	// A full exit requested on L1: the operator must process it.
	if out := must("exit", "--dev", "5"); !strings.Contains(out, "request a full exit of account") {
		t.Fatalf("exit: %s", out)
	}
	eventually("the full exit to be paid", func() bool {
		return contractBalance().Cmp(new(big.Int).Mul(big.NewInt(1_150_001), big.NewInt(params.GWei*1000))) == 0
	})
}
