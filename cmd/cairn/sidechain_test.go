package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"

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
