package lab

import (
	"context"
	"math"
	"testing"
)

// A small sampling run: every (k, s) cell measured, close to its formula.
func TestDASmall(t *testing.T) {
	res, err := RunDA(context.Background(), DAConfig{Ks: []int{4, 8}, Samples: []int{1, 8}, Trials: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Squares) != 2 || len(res.Sampling) != 4 {
		t.Fatalf("result %+v", res)
	}
	for _, s := range res.Sampling {
		if math.Abs(s.Measured-s.Theory) > 0.06 {
			t.Fatalf("k=%d s=%d: measured %.3f, formula %.3f", s.K, s.S, s.Measured, s.Theory)
		}
	}
}
