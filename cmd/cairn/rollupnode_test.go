package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
)

// Anyone can verify: a verifier started in its own process from the
// rollup.json the devnet wrote, reading only the L1's JSON-RPC, derives the
// same L2 chain as the devnet's sequencer, and its challenger defeats a
// false output that a lying proposer posts and defends.
func TestRollupNodeInItsOwnProcess(t *testing.T) {
	bin := cairnBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testDevnet()
	cfg.Rollup = devnet.RollupOptions{NoProposer: true, NoChallenger: true, GameClock: 15}
	d := startDevnet(t, ctx, cfg)

	// The outside verifier and challenger (account 9 of the test mnemonic).
	cmd := exec.Command(bin, "rollup", "node", "--l1", d.L1RPC(1), "--rollup", d.Rollup.ConfigPath,
		"--datadir", t.TempDir(), "--rpc", "127.0.0.1:0", "--challenge", "--dev", "9", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "node.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	defer func() {
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("the rollup node's log:\n%s", data)
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 1 && f[0] == "RPC" {
				url <- f[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	var outside *ethclient.Client
	select {
	case u := <-url:
		if outside, err = ethclient.Dial(u); err != nil {
			t.Fatal(err)
		}
		defer outside.Close()
	case <-time.After(time.Minute):
		t.Fatal("the rollup node printed no RPC URL")
	}

	// It derives the devnet's chain from L1 alone.
	var safe uint64
	for safe < 10 {
		h, err := outside.HeaderByNumber(ctx, big.NewInt(int64(gethrpc.SafeBlockNumber)))
		if err == nil {
			safe = h.Number.Uint64()
			if want := d.Rollup.Sequencer.Chain().GetHeaderByNumber(safe); want == nil || want.Hash() != h.Hash() {
				t.Fatalf("the outside verifier's safe block %d is %s; the sequencer's is %v", safe, h.Hash(), want)
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the outside verifier derived up to %d only", safe)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A lying proposer posts false outputs and defends them.
	l1c, err := ethclient.Dial(d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1c.Close()
	liar := agents.NewProposer(agents.Config{Node: d.Rollup.Verifier, L1: l1c, Key: rollup.ProposerKey(), Interval: 8,
		Lie: func(o *rollup.Output) common.Hash { return common.Hash{0xba, 0xd} }, Log: slog.New(slog.DiscardHandler)})
	defer liar.Close()
	view := rollup.L1View{C: l1c}
	var (
		serial   uint64
		disputed bool
	)
	for {
		if ctx.Err() != nil {
			t.Fatalf("the false output was not defeated (disputed by the outside challenger: %v)", disputed)
		}
		outs, err := view.Outputs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		live := false
		for _, o := range outs {
			if serial == 0 && o.Index > 0 {
				serial = o.Serial
			}
			if o.Serial != serial || serial == 0 {
				continue
			}
			live = true
			games, err := view.Games(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range games {
				disputed = disputed || g.Challenger == chain.DevAddress(9)
			}
		}
		if serial != 0 && !live {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !disputed {
		t.Fatal("the false output went away, but no game of the outside challenger was seen")
	}
}
