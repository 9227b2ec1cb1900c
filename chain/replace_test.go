package chain

import (
	"math/big"
	"testing"
)

// go-ethereum's replacement rule, rounded up: below 10 wei a replacement at
// the same price is refused too (it rounded down to no bump at all, an
// endless churn of free replacements).
func TestReplacementBumpRoundsUp(t *testing.T) {
	for _, c := range []struct {
		prev, next int64
		ok         bool
	}{{5, 5, false}, {5, 6, true}, {9, 9, false}, {10, 10, false}, {10, 11, true}, {100, 109, false}, {100, 110, true}, {101, 111, false}, {101, 112, true}} {
		if got := BumpedBy(big.NewInt(c.prev), big.NewInt(c.next)); got != c.ok {
			t.Errorf("BumpedBy(%d, %d) = %v, want %v", c.prev, c.next, got, c.ok)
		}
	}
}
