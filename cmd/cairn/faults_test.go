package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/chain"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

// Four validators, each its own process, made by `cairn testnet` and run by
// `cairn node`. Stopping one keeps blocks coming; stopping a second halts the
// chain without a fork and without losing committed transactions; restarting
// them resumes it, and all four agree.
func TestSeparateProcessFaults(t *testing.T) {
	bin := cairnBinary(t)
	dir := t.TempDir()
	rpcBase, p2pBase := freeBase(t, 4), freeBase(t, 4)
	out, err := exec.Command(bin, "testnet", "--validators", "4", "--out", dir, "--block-time", "100ms",
		"--rpc-port", strconv.Itoa(rpcBase), "--p2p-port", strconv.Itoa(p2pBase)).CombinedOutput()
	if err != nil {
		t.Fatalf("cairn testnet: %v\n%s", err, out)
	}
	home := func(i int) string { return filepath.Join(dir, fmt.Sprintf("node%d", i)) }
	url := func(i int) string { return "http://127.0.0.1:" + strconv.Itoa(rpcBase+i) }
	procs := make([]*exec.Cmd, 4)
	for i := range procs {
		procs[i] = start(t, bin, "node", "--home", home(i))
	}
	clients := make([]*ethclient.Client, 4)
	for i := range clients {
		clients[i] = dialWait(t, url(i))
	}
	c0 := clients[0]
	heightOf := func(c *ethclient.Client) uint64 {
		h, err := c.BlockNumber(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	waitHeight := func(c *ethclient.Client, h uint64) {
		t.Helper()
		waitClientHeight(t, c, h, "blocks")
	}
	stop := func(i int) {
		procs[i].Process.Signal(syscall.SIGTERM)
		procs[i].Wait()
	}

	// Transactions committed while all four run.
	stopLoad := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(stopLoad) })
	committed := load(c0, []*ecdsa.PrivateKey{chain.DevKey(7)}, stopLoad)
	for _, h := range committed {
		receipt(t, c0, h, 20*time.Second)
	}

	// One stopped: blocks keep coming.
	stop(3)
	waitHeight(c0, heightOf(c0)+5)

	// Two stopped: the chain halts.
	stop(2)
	time.Sleep(time.Second) // let a block already in flight land
	halted := heightOf(c0)
	time.Sleep(2 * time.Second)
	if h := heightOf(c0); h != halted {
		t.Fatalf("the chain moved with half the validators stopped: %d -> %d", halted, h)
	}
	// No fork: the two running validators agree on every block.
	for n := uint64(1); n <= min(halted, heightOf(clients[1])); n++ {
		if blockHash(t, c0, n) != blockHash(t, clients[1], n) {
			t.Fatalf("validators 0 and 1 disagree at height %d", n)
		}
	}
	// Nothing committed was lost.
	for _, h := range committed {
		receipt(t, clients[1], h, time.Second)
	}

	// Restarted, the chain resumes and all four agree.
	procs[2] = start(t, bin, "node", "--home", home(2))
	procs[3] = start(t, bin, "node", "--home", home(3))
	waitHeight(c0, halted+5)
	clients[2], clients[3] = dialWait(t, url(2)), dialWait(t, url(3))
	top := halted + 5
	for i := 1; i < 4; i++ {
		waitHeight(clients[i], top)
		if blockHash(t, clients[i], top) != blockHash(t, c0, top) {
			t.Fatalf("validator %d disagrees at height %d", i, top)
		}
	}
	// Restarted validators did not sign twice (CometBFT's signing state in
	// data/priv_validator_state.json): staking would have jailed them.
	var vals []cairnrpc.Validator
	if err := c0.Client().CallContext(context.Background(), &vals, "cairn_validators"); err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if v.Jailed {
			t.Fatalf("validator %s was jailed after restarts", v.Operator)
		}
	}
	t.Logf("%d transfers committed; halted at %d with two validators stopped; resumed past %d", len(committed), halted, top)
}

func blockHash(t *testing.T, c *ethclient.Client, n uint64) common.Hash {
	t.Helper()
	h, err := c.HeaderByNumber(context.Background(), new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatalf("header %d: %v", n, err)
	}
	return h.Hash()
}
