package main

import (
	"context"
	"math/big"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

// The staking commands, run as a user would against a devnet: delegate,
// unbond, register a new validator from a node home.
func TestStakingCommands(t *testing.T) {
	bin := cairnBinary(t)
	d := startDevnet(t, context.Background(), testDevnet())
	url := d.L1RPC(0)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--rpc", url)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	validators := func() []cairnrpc.Validator {
		t.Helper()
		c, err := rpc.Dial(url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var vals []cairnrpc.Validator
		if err := c.CallContext(context.Background(), &vals, "cairn_validators"); err != nil {
			t.Fatal(err)
		}
		return vals
	}
	val0 := chain.DevAddress(0).Hex()
	before := (*big.Int)(validators()[0].Stake)
	run("delegate", "--dev", "5", "--validator", val0, "--amount", "2.5")
	run("unbond", "--dev", "5", "--validator", val0, "--amount", "1")
	after := (*big.Int)(validators()[0].Stake)
	// +1.5 ETH, plus whatever rewards validator 0 earned meanwhile.
	if diff := new(big.Int).Sub(after, before); diff.Cmp(big.NewInt(15e17)) < 0 || diff.Cmp(big.NewInt(16e17)) > 0 {
		t.Fatalf("stake moved by %v, want 1.5 ETH", diff)
	}
	out, err := exec.Command(bin, "withdraw", "--dev", "5", "--rpc", url).CombinedOutput()
	if err != nil {
		t.Fatalf("withdraw: %v\n%s", err, out)
	}

	// A new node's key registered by account 6 with 7 ETH.
	dir := t.TempDir()
	if out, err := exec.Command(bin, "testnet", "--validators", "1", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	run("stake", "--dev", "6", "--home", filepath.Join(dir, "node0"), "--amount", "7", "--commission", "1000")
	vals := validators()
	if len(vals) != 3 || vals[2].Operator != chain.DevAddress(6) || vals[2].CommissionBps != 1000 ||
		(*big.Int)(vals[2].Stake).Cmp(new(big.Int).Mul(big.NewInt(7), big.NewInt(params.Ether))) != 0 {
		t.Fatalf("after stake: %+v", vals)
	}
	// Refusals come back as errors with the contract's reason.
	bad, err := exec.Command(bin, "unjail", "--dev", "6", "--rpc", url).CombinedOutput()
	if err == nil || !strings.Contains(string(bad), "validator is not jailed") {
		t.Fatalf("unjail of a free validator: %v\n%s", err, bad)
	}
}

// A full node made by `cairn init` from a running devnet's genesis joins late,
// in its own process, and catches up by block sync.
func TestInitFullNodeCatchesUp(t *testing.T) {
	bin := cairnBinary(t)
	dataDir := t.TempDir()
	cfg := testDevnet()
	cfg.DataDir = dataDir
	d := startDevnet(t, context.Background(), cfg)
	if err := d.L1.WaitHeight(context.Background(), 20); err != nil {
		t.Fatal(err)
	}
	p2p, rpcPort := freeBase(t, 1), freeBase(t, 1)
	home := filepath.Join(t.TempDir(), "full")
	out, err := exec.Command(bin, "init", "--home", home, "--genesis", filepath.Join(dataDir, "l1", "genesis.json"),
		"--peers", d.L1.PeerAddress(0)+","+d.L1.PeerAddress(1), "--p2p", "127.0.0.1:"+itoa(p2p), "--rpc", "127.0.0.1:"+itoa(rpcPort)).CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := exec.Command(bin, "init", "--home", home, "--genesis", filepath.Join(dataDir, "l1", "genesis.json")).CombinedOutput(); err == nil {
		t.Fatal("init overwrote an existing home")
	}
	start(t, bin, "node", "--home", home)
	c := dialWait(t, "http://127.0.0.1:"+itoa(rpcPort))
	target := d.L1.Height()
	waitClientHeight(t, c, target, "the full node to catch up")
	if blockHash(t, c, target) != d.L1.Node(0).Chain().GetHeaderByNumber(target).Hash() {
		t.Fatalf("full node disagrees at height %d", target)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
