package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
)

// netnsHosts gives each of n nodes its own network namespace on a private
// bridge (10.211.0.0/24, the test's own hosts), so cutting a node off is
// cutting a cable. It skips the test where namespaces cannot be made (not
// root, no iproute2, a sandbox that forbids it).
func netnsHosts(t *testing.T, n int) (hosts []string, ns []string, cut, heal func(i int)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed")
	}
	tag := fmt.Sprintf("c%d", os.Getpid()%100000)
	bridge := "br" + tag
	sh := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	cleanup := func() {
		for i := 0; i < n; i++ {
			exec.Command("ip", "netns", "del", fmt.Sprintf("%s-%d", tag, i)).Run()
		}
		exec.Command("ip", "link", "del", bridge).Run()
	}
	if err := sh("link", "add", bridge, "type", "bridge"); err != nil {
		t.Skipf("cannot make a bridge here: %v", err)
	}
	t.Cleanup(cleanup)
	must := func(args ...string) {
		t.Helper()
		if err := sh(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("addr", "add", "10.211.0.254/24", "dev", bridge)
	must("link", "set", bridge, "up")
	for i := 0; i < n; i++ {
		name, veth := fmt.Sprintf("%s-%d", tag, i), fmt.Sprintf("v%s%d", tag, i)
		must("netns", "add", name)
		must("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
		must("link", "set", veth, "master", bridge)
		must("link", "set", veth, "up")
		addr := fmt.Sprintf("10.211.0.%d", i+1)
		must("-n", name, "addr", "add", addr+"/24", "dev", "eth0")
		must("-n", name, "link", "set", "eth0", "up")
		must("-n", name, "link", "set", "lo", "up")
		hosts, ns = append(hosts, addr), append(ns, name)
	}
	cut = func(i int) { must("link", "set", fmt.Sprintf("v%s%d", tag, i), "down") }
	heal = func(i int) { must("link", "set", fmt.Sprintf("v%s%d", tag, i), "up") }
	return hosts, ns, cut, heal
}

// Four validators on four network hosts. One host's cable is pulled: the
// other three go on while it stalls; plugged back, it catches up and agrees.
func TestNetnsPartition(t *testing.T) {
	bin := cairnBinary(t)
	hosts, ns, cut, heal := netnsHosts(t, 4)
	dir := t.TempDir()
	out, err := exec.Command(bin, "testnet", "--validators", "4", "--out", dir, "--block-time", "100ms",
		"--hosts", strings.Join(hosts, ",")).CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	clients := make([]*ethclient.Client, 4)
	for i := range hosts {
		rpcAddr := hosts[i] + ":8545"
		start(t, "ip", "netns", "exec", ns[i], bin, "node", "--home", filepath.Join(dir, fmt.Sprintf("node%d", i)), "--rpc", rpcAddr)
		clients[i] = dialWait(t, "http://"+rpcAddr)
	}
	height := func(i int) uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		h, _ := clients[i].BlockNumber(ctx)
		return h
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("blocks on all four", func() bool { return height(3) >= 3 })

	cut(3)
	// Node 3 is now unreachable from here too; ask it from inside its host.
	inside := func() uint64 {
		out, err := exec.Command("ip", "netns", "exec", ns[3], "curl", "-s", "-X", "POST", "-H", "content-type: application/json",
			"--data", `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`, "http://"+hosts[3]+":8545").Output()
		if err != nil {
			t.Fatalf("asking node 3 inside its namespace: %v", err)
		}
		var h uint64
		if _, err := fmt.Sscanf(string(out[strings.Index(string(out), `"result":"0x`)+12:]), "%x", &h); err != nil {
			t.Fatalf("reply %q: %v", out, err)
		}
		return h
	}
	// height answers 0 when the call fails (the cut may delay an answer):
	// the chain is past 3 already, so wait for a real one.
	var at uint64
	wait("node 0 to answer after the cut", func() bool { at = height(0); return at > 0 })
	wait("the other three to go on", func() bool { return height(0) >= at+10 })
	if _, err := exec.LookPath("curl"); err == nil {
		if h := inside(); h > at+1 {
			t.Fatalf("the cut-off validator kept making blocks: %d (others were at %d when cut)", h, at)
		}
	}

	heal(3)
	target := height(0)
	wait("the cut-off validator to catch up", func() bool { return height(3) >= target })
	if blockHash(t, clients[3], target) != blockHash(t, clients[0], target) {
		t.Fatalf("validator 3 disagrees at %d after the partition", target)
	}
}
