package zkrollup

import (
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
)

func TestPackAmount(t *testing.T) {
	for _, a := range []uint64{0, 1, 1<<35 - 1, 1_000_000_000, 34_359_738_367 * 10, 12_345_000_000_000_000_000} {
		p, err := PackAmount(a)
		if err != nil {
			t.Fatalf("%d: %v", a, err)
		}
		if got, _ := UnpackAmount(p); got != a || p >= 1<<40 {
			t.Fatalf("%d packs to %d and back to %d", a, p, got)
		}
	}
	if _, err := PackAmount(1<<35 + 1); !errors.Is(err, ErrAmountNotPacked) {
		t.Fatalf("inexact amount packed: %v", err)
	}
}

// Anyone can rebuild the state from the accounts and the public data on L1:
// the replayed tree has the operator's root. A transfer costs 13 bytes.
func TestRebuildFromPublicData(t *testing.T) {
	w := newWorld(t, 1_000_000, 500, 0)
	replica := NewTree(testDepth)
	for i := range uint64(3) {
		replica.Set(i, w.tree.Account(i))
	}
	txs := []Transfer{w.transfer(t, 0, 1, 30_000, 0), w.transfer(t, 1, 2, 20_000, 0), w.transfer(t, 0, 2, 7, 1)}
	assignment, err := w.tree.Assign(txs, 4, w.pad)
	if err != nil {
		t.Fatal(err)
	}
	if err := test.IsSolved(NewBatchCircuit(4, testDepth), assignment, ecc.BN254.ScalarField()); err != nil {
		t.Fatal(err)
	}
	data, err := EncodeTransfers(txs)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 3*TransferBytes || TransferBytes > 16 {
		t.Fatalf("%d bytes of public data for 3 transfers", len(data))
	}
	if err := replica.Replay(data); err != nil {
		t.Fatal(err)
	}
	if replica.Root() != w.tree.Root() {
		t.Fatal("the state rebuilt from public data differs")
	}
	// The proof commits to exactly this data.
	assignment.PubDataHash = 1
	if test.IsSolved(NewBatchCircuit(4, testDepth), assignment, ecc.BN254.ScalarField()) == nil {
		t.Fatal("a batch with another public data hash was accepted")
	}
}

func FuzzDecodeTransfers(f *testing.F) {
	f.Add(make([]byte, TransferBytes))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := DecodeTransfers(data)
		if err != nil {
			return
		}
		var txs []Transfer
		for _, r := range recs {
			txs = append(txs, Transfer{From: r.From, To: r.To, Amount: r.Amount})
		}
		again, err := EncodeTransfers(txs)
		if err != nil {
			return // a non-canonical packing of the same amount
		}
		back, err := DecodeTransfers(again)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("round trip failed: %v", err)
		}
		for i := range back {
			if back[i] != recs[i] {
				t.Fatalf("record %d changed: %+v -> %+v", i, recs[i], back[i])
			}
		}
	})
}
