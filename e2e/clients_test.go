package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
)

// target is one layer a client script drives.
type target struct {
	layer   string
	rpc, ws string
	chainID uint64
	deposit string // a deposit transaction's hash, on a rollup
}

// TestClients runs ethers v6 (e2e/js/ethers.test.mjs: transfers, sends back
// to back, deploy, call, events, revert reasons, nonce errors, WebSocket
// blocks) and viem (e2e/js/viem.test.mjs) against the devnet's L1 and
// against its rollup verifier, and Foundry's cast against the verifier. A
// wallet pointed at the verifier sends back to back as against the
// sequencer: the verifier follows the sequencer's blocks.
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet and Node.js")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("Node.js not installed")
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "ethers")); err != nil {
		t.Skip("ethers not installed: run npm ci --prefix e2e/js")
	}
	d, err := devnet.Start(devnet.Config{Sidechain: devnet.SidechainOptions{RPCPort: -1}, ZK: devnet.ZKOptions{RPCPort: -1}, Validators: 4, BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if err := d.L1.WaitHeight(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	targets := []target{
		{layer: "L1", rpc: d.L1RPC(0), ws: d.L1WS(1), chainID: devnet.DefaultL1ChainID},
		{layer: "rollup verifier", rpc: d.Rollup.Verifier.RPCURL(), ws: d.Rollup.Verifier.WSURL(), chainID: rollup.DefaultL2ChainID,
			deposit: depositOnL2(t, d).Hex()},
	}
	for _, tg := range targets {
		for _, script := range []string{"ethers.test.mjs", "viem.test.mjs"} {
			t.Run(script+" on "+tg.layer, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, "--test", script)
				cmd.Dir = "js"
				cmd.Env = append(os.Environ(), "CAIRN_RPC="+tg.rpc, "CAIRN_WS="+tg.ws,
					fmt.Sprintf("CAIRN_CHAIN_ID=%d", tg.chainID), "CAIRN_LAYER="+tg.layer, "CAIRN_DEPOSIT_TX="+tg.deposit)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s failed: %v\n%s", script, err, out)
				}
			})
		}
	}
	for _, tg := range targets {
		t.Run("cast on "+tg.layer, func(t *testing.T) { castFlow(t, tg) })
	}
}

// castFlow drives a layer with Foundry's cast as a user at a shell would:
// chain ID, two sends back to back (each waits for its receipt, and the
// second takes its nonce from the node right after; the second with --sync,
// eth_sendRawTransactionSync), a balance and a block.
func castFlow(t *testing.T, tg target) {
	cast, err := filepath.Abs(filepath.Join("js", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast"))
	if err == nil {
		_, err = os.Stat(cast)
	}
	if err != nil {
		t.Skip("cast not installed: run npm ci --prefix e2e/js")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, cast, args...)
		cmd.Env = append(os.Environ(), "FOUNDRY_DISABLE_NIGHTLY_WARNING=1")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("cast %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	if id := run("chain-id", "--rpc-url", tg.rpc); id != fmt.Sprint(tg.chainID) {
		t.Fatalf("cast chain-id: %s, want %d", id, tg.chainID)
	}
	const key = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" // test mnemonic account 2
	to := "0x00000000000000000000000000000000000ca57e"
	for _, sync := range []bool{false, true} {
		var r struct {
			Status string `json:"status"`
		}
		args := []string{"send", "--json", "--private-key", key, "--rpc-url", tg.rpc, to, "--value", "7"}
		if sync {
			args = append(args, "--sync")
		}
		if err := json.Unmarshal([]byte(run(args...)), &r); err != nil {
			t.Fatal(err)
		}
		if r.Status != "0x1" && r.Status != "1" {
			t.Fatalf("cast send: receipt status %q", r.Status)
		}
	}
	if b := run("balance", "--rpc-url", tg.rpc, to); b != "14" {
		t.Fatalf("cast balance: %s, want 14", b)
	}
	var blk struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(run("block", "latest", "--json", "--rpc-url", tg.rpc)), &blk); err != nil || blk.Hash == "" {
		t.Fatalf("cast block latest: %v %+v", err, blk)
	}
	if tg.layer == "L1" {
		castBlob(t, tg, run, key, to)
	}
	if tg.deposit == "" {
		return
	}
	// A deposit transaction, its receipt and its block, full.
	var dep struct {
		Type        string `json:"type"`
		BlockNumber string `json:"blockNumber"`
	}
	if err := json.Unmarshal([]byte(run("tx", "--json", "--rpc-url", tg.rpc, tg.deposit)), &dep); err != nil || dep.Type != "0x7e" {
		t.Fatalf("cast tx of a deposit: %v %+v", err, dep)
	}
	var dr struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(run("receipt", "--json", "--rpc-url", tg.rpc, tg.deposit)), &dr); err != nil || (dr.Status != "0x1" && dr.Status != "1") {
		t.Fatalf("cast receipt of a deposit: %v %+v", err, dr)
	}
	var full struct {
		Transactions []struct {
			Hash string `json:"hash"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(run("block", dep.BlockNumber, "--full", "--json", "--rpc-url", tg.rpc)), &full); err != nil ||
		len(full.Transactions) == 0 || !strings.EqualFold(full.Transactions[0].Hash, tg.deposit) {
		t.Fatalf("cast block --full of a deposit's block: %v %+v", err, full)
	}
}

// castBlob sends a blob transaction with cast send --blob (EIP-7594 cell
// proofs, cast's default) and reads the blob back from the Beacon API
// endpoint of the L1's JSON-RPC port.
func castBlob(t *testing.T, tg target, run func(...string) string, key, to string) {
	msg := "a blob from Foundry's cast"
	path := filepath.Join(t.TempDir(), "blob.txt")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Status      string `json:"status"`
		BlockNumber string `json:"blockNumber"`
		BlobGasUsed string `json:"blobGasUsed"`
	}
	if err := json.Unmarshal([]byte(run("send", "--blob", "--path", path, "--json", "--private-key", key, "--rpc-url", tg.rpc, to)), &r); err != nil {
		t.Fatal(err)
	}
	if (r.Status != "0x1" && r.Status != "1") || r.BlobGasUsed != "0x20000" {
		t.Fatalf("cast send --blob: %+v", r)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(r.BlockNumber, "0x"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("%s/eth/v1/beacon/blob_sidecars/%d", tg.rpc, n))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Blob string `json:"blob"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data) != 1 {
		t.Fatalf("blob sidecars of block %d: %v %+v", n, err, body)
	}
	if !strings.Contains(string(common.FromHex(body.Data[0].Blob)), msg[:20]) {
		t.Fatalf("the blob served is not the one sent")
	}
}

// depositOnL2 deposits ETH through the portal from test account 3 and
// returns the deposit's transaction hash on L2 once the verifier has it.
func depositOnL2(t *testing.T, d *devnet.Devnet) common.Hash {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l1c, err := ethclient.Dial(d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1c.Close()
	tx, err := ethtx.Send(ctx, l1c, chain.DevKey(3), rollup.PortalAddress, big.NewInt(params.Ether), nil, 21_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ethtx.WaitReceipt(ctx, l1c, tx.Hash()); err != nil {
		t.Fatal(err)
	}
	store := d.Rollup.Verifier.Chain()
	for n := uint64(1); ; {
		if ctx.Err() != nil {
			t.Fatal("the deposit never reached the verifier's chain")
		}
		b := store.BlockByNumber(n)
		if b == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if deps := store.Deposits(b.Hash()); len(deps) > 0 {
			return deps[0].Receipt.TxHash
		}
		n++
	}
}
