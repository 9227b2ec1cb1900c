package l1

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/chain"
)

// startCluster makes a cluster in a temporary directory, with 50 ms blocks
// and quiet logs, starts it and stops it when the test ends.
func startCluster(t *testing.T, cfg ClusterConfig) *Cluster {
	t.Helper()
	cfg.Dir, cfg.BlockTime, cfg.Log = t.TempDir(), 50*time.Millisecond, quietLog()
	c, err := NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestCluster(t *testing.T, n int) *Cluster {
	return startCluster(t, ClusterConfig{Validators: n, Genesis: chain.Genesis{ChainID: 55}, BaseRPCPort: -1})
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // generous: CI runs other packages' clusters beside
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func height(c *Cluster, i int) uint64 { return c.Node(i).Chain().Head().Number.Uint64() }

// The story of a cluster: a validator stops and the rest go on; it comes
// back and catches up; one is cut off and the rest go on while it stalls;
// healed, it catches up; every node agrees on every block.
func TestClusterStopRestartIsolate(t *testing.T) {
	c := newTestCluster(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitHeight(ctx, 3); err != nil {
		t.Fatal(err)
	}

	c.StopNode(3)
	stoppedAt := c.Height()
	t0 := time.Now()
	waitFor(t, "three validators to make blocks", func() bool { return c.Height() >= stoppedAt+5 })
	t.Logf("3 of 4 validators: 5 blocks in %v", time.Since(t0))
	if err := c.StartNode(3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted validator to catch up", func() bool { return height(c, 3) >= c.Height()-1 && height(c, 3) > stoppedAt+5 })

	c.Isolate(0)
	cutAt := height(c, 0)
	t0 = time.Now()
	waitFor(t, "the others to go on without validator 0", func() bool { return height(c, 1) >= cutAt+5 })
	t.Logf("validator 0 cut off: 5 blocks in %v", time.Since(t0))
	if h := height(c, 0); h > cutAt+1 {
		t.Fatalf("an isolated validator made progress: %d -> %d", cutAt, h)
	}
	c.Heal(0)
	waitFor(t, "validator 0 to catch up after healing", func() bool { return height(c, 0) >= height(c, 1) })

	// Everyone agrees on the whole chain.
	top := height(c, 0)
	for n := uint64(1); n <= top; n++ {
		want := c.Node(0).Chain().GetHeaderByNumber(n).Hash()
		for i := 1; i < 4; i++ {
			if h := c.Node(i).Chain().GetHeaderByNumber(n); h == nil || h.Hash() != want {
				t.Fatalf("validator %d disagrees at height %d", i, n)
			}
		}
	}
}
