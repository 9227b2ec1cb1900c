package lab

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/rollup"
)

// A small sampling run: every (k, s) cell measured, close to its formula.
func TestDASmall(t *testing.T) {
	res, err := RunDA(context.Background(), DAConfig{Ks: []int{4, 8}, Samples: []int{1, 8}, Trials: 1000, NoModes: true})
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

// The same transfers cost far less L1 fee in blobs than in calldata once
// the L1's execution gas is congested, and blobs carry no calldata.
func TestDAModesCost(t *testing.T) {
	if testing.Short() {
		t.Skip("posts batches in two modes")
	}
	cs, err := RunDAModes(context.Background(), []rollup.DA{rollup.DACalldata, rollup.DABlobs, rollup.DACommittee}, 300, 1, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	PrintDAModes(&b, cs)
	t.Log(b.String())
	cd, bl := cs[0], cs[1]
	if cd.Transfers != 300 || bl.Transfers != 300 || bl.Blobs == 0 || cd.Blobs != 0 {
		t.Fatalf("calldata %+v, blobs %+v", cd, bl)
	}
	if cd.Congestx < 9 {
		t.Fatalf("the L1 base fee rose only %.1f×", cd.Congestx)
	}
	if x := ratio(cd.Congest, bl.Congest); x < 10 {
		t.Fatalf("blobs only %.1f× cheaper than calldata on a congested L1", x)
	}
	if cm := cs[2]; cm.PerTransfer(float64(cm.Bytes)) >= 1 || cm.Blobs != 0 {
		t.Fatalf("the committee put %.2f bytes a transfer on L1", cm.PerTransfer(float64(cm.Bytes)))
	}
}
