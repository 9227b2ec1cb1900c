package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/devnet"
)

// TestEthers runs e2e/js/ethers.test.mjs (ethers v6: transfers, deploy, call,
// events, revert reasons, nonce errors, WebSocket blocks) against a devnet.
func TestEthers(t *testing.T) {
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
	d, err := devnet.Start(devnet.Config{ZKRPCPort: -1, Validators: 4, BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if err := d.L1.WaitHeight(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "ethers.test.mjs")
	cmd.Dir = "js"
	cmd.Env = append(os.Environ(), "CAIRN_RPC="+d.L1RPC(0), "CAIRN_WS="+d.L1WS(1))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ethers test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
