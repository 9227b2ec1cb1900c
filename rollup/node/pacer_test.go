package node

import (
	"testing"
	"time"
)

// The on-demand pacer lets a burst of blocks through at once, then spaces
// them a gap apart, and refills while the chain is idle.
func TestBlockPacer(t *testing.T) {
	p := blockPacer{gap: 50 * time.Millisecond, burst: 3}
	now := time.Unix(1_000, 0)
	for i := range 4 {
		if w := p.wait(now); w != 0 {
			t.Fatalf("block %d of a burst waits %v", i, w)
		}
		p.built(now)
	}
	if w := p.wait(now); w != 50*time.Millisecond {
		t.Fatalf("after the burst a block waits %v, want a gap", w)
	}
	now = now.Add(time.Second) // idle
	if w := p.wait(now); w != 0 {
		t.Fatalf("after an idle second a block waits %v", w)
	}
}
