package main

import (
	"context"
	"fmt"
	"math/big"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/sidechain"
)

// The sidechain's validators as separate processes: cairn sidechain
// testnet writes their homes, cairn sidechain node runs each, and they
// make blocks of chain 1339 with the sidechain's half of the bridge.
func TestSidechainValidatorsInTheirOwnProcesses(t *testing.T) {
	bin := cairnBinary(t)
	dir := t.TempDir()
	rpcBase, p2pBase := freeBase(t, 2), freeBase(t, 2)
	out := filepath.Join(dir, "sc")
	if err := start(t, bin, "sidechain", "testnet", "--out", out, "--validators", "2",
		"--rpc-port", fmt.Sprint(rpcBase), "--p2p-port", fmt.Sprint(p2pBase)).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		start(t, bin, "sidechain", "node", "--home", filepath.Join(out, fmt.Sprintf("node%d", i)))
	}
	c := dialWait(t, fmt.Sprintf("http://127.0.0.1:%d", rpcBase+1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if id, err := c.ChainID(ctx); err != nil || id.Uint64() != devnet.DefaultSidechainID {
		t.Fatalf("chain ID %v, %v", id, err)
	}
	for {
		if n, err := c.BlockNumber(ctx); err == nil && n >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the sidechain makes no blocks")
		case <-time.After(50 * time.Millisecond):
		}
	}
	data, _ := sidechain.MultisigABI.Pack("rules")
	res, err := c.CallContract(ctx, ethereum.CallMsg{To: &sidechain.MultisigSideAddress, Data: data}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sidechain.MultisigABI.Unpack("rules", res)
	if err != nil || v[1].(uint32) != 5 || v[3].(uint64) != devnet.DefaultSidechainID {
		t.Fatalf("the sidechain's bridge half: %v, %v", v, err)
	}
}

// Deposits and withdrawals over both bridges, sent with cairn bridge, and
// the whole devnet SIGKILLed before its relayers could carry them: after a
// restart on the same --datadir every one is carried, exactly once.
func TestBridgesCarryExactlyOnceAcrossSIGKILL(t *testing.T) {
	bin := cairnBinary(t)
	dir := t.TempDir()
	rpcBase, p2pBase := freeBase(t, 2), freeBase(t, 2) // the wings pick their own (see TestDevnetResumesAfterSIGKILL)
	args := []string{"devnet", "--datadir", dir, "--validators", "2", "--sidechain-validators", "2",
		"--rpc-port", strconv.Itoa(rpcBase), "--p2p-port", strconv.Itoa(p2pBase), "--sidechain-rpc-port", "0",
		"--l2-rpc-port", "-1", "--zk-rpc-port", "-1", "--channel-rpc-port", "-1", "--sidechain-withdrawal-delay", "3s", "--explorer-port", "-1"}
	proc := start(t, bin, args...)
	url := "http://127.0.0.1:" + strconv.Itoa(rpcBase)
	dialWait(t, url)
	dialWait(t, layerRPC(t, url, "sidechain", 1)[0])
	bridge := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(append([]string{"bridge"}, args...), "--rpc", url)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cairn bridge %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	type crossing struct {
		to     common.Address
		wei    *big.Int
		onL1   bool // a withdrawal: paid on L1
		txHash string
	}
	var all []crossing
	for i, c := range []struct {
		kind, bridge, eth string
	}{{"deposit", "light", "1"}, {"deposit", "multisig", "1"}, {"withdraw", "light", "0.25"}, {"withdraw", "multisig", "0.25"},
		{"deposit", "light", "2"}, {"withdraw", "light", "0.5"}} {
		k, _ := crypto.GenerateKey()
		to := crypto.PubkeyToAddress(k.PublicKey)
		wei, _ := parseEther(c.eth)
		out := bridge(c.kind, c.eth, "--bridge", c.bridge, "--dev", strconv.Itoa(5+i%2), "--to", to.Hex())
		f := strings.Fields(out[strings.Index(out, "transaction "):])
		all = append(all, crossing{to: to, wei: wei, onL1: c.kind == "withdraw", txHash: strings.TrimSuffix(f[1], ";")})
		if i == 1 {
			// A bridge carries back only what it carried in: the first
			// deposits land before the first withdrawals are sent.
			sc := dialWait(t, layerRPC(t, url, "sidechain", 1)[0])
			for _, d := range all {
				for deadline := time.Now().Add(30 * time.Second); ; {
					if b, err := sc.BalanceAt(context.Background(), d.to, nil); err == nil && b.Sign() > 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("deposit %+v not carried", d)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
	}
	kill9(t, proc)

	start(t, bin, args...)
	l1c := dialWait(t, url)
	sc := dialWait(t, layerRPC(t, url, "sidechain", 1)[0])
	balanceOf := func(c *ethclient.Client, a common.Address) *big.Int {
		b, err := c.BalanceAt(context.Background(), a, nil)
		if err != nil {
			return nil
		}
		return b
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range all {
		dst := sc
		if c.onL1 {
			dst = l1c
		}
		for {
			if b := balanceOf(dst, c.to); b != nil && b.Sign() > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%+v was never carried after the restart", c)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(3 * time.Second) // relayers go on: nothing may be paid twice
	for _, c := range all {
		dst := sc
		if c.onL1 {
			dst = l1c
		}
		if b := balanceOf(dst, c.to); b == nil || b.Cmp(c.wei) != 0 {
			t.Fatalf("%s holds %v, want exactly %s", c.to, b, c.wei)
		}
	}
	if out := bridge("status", all[0].txHash); !strings.Contains(out, "carried across") || !strings.Contains(out, `"light"`) {
		t.Fatalf("status of a carried light deposit:\n%s", out)
	}
}
