package lab

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/zkrollup"
)

// The ZK lab at toy sizes: every figure is measured, a transfer costs 16
// bytes of L1 data, and a batch reaches finality through a real operator.
func TestZKLab(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunZK(ctx, ZKConfig{Slots: []int{1, 2}, Depth: 4, Proofs: 1, KeyDir: t.TempDir(), L1BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Figures {
		if f.Constraints == 0 || f.Setup == 0 || f.Prove <= 0 || f.Verify <= 0 || f.ProvenTPS <= 0 || f.NativeTPS <= 0 || f.L1Gas <= zkrollup.VerifyGas || f.PeakRSSMiB <= 0 {
			t.Fatalf("figure %+v", f)
		}
		if f.L1BytesPerTransfer != zkrollup.TransferBytes {
			t.Fatalf("%v L1 bytes per transfer", f.L1BytesPerTransfer)
		}
	}
	if res.Finality <= 0 || res.FinalitySlots != 1 {
		t.Fatalf("finality %v for %d slots", res.Finality, res.FinalitySlots)
	}
}
