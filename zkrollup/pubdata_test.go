package zkrollup

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
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
	if p, err := PackFee(2047_000); err != nil || p >= 1<<16 {
		t.Fatalf("fee packs to %d: %v", p, err)
	}
}

// Anyone can rebuild every account from L1 alone: replaying the public data
// of each batch from the genesis tree gives the operator's roots. A
// transfer costs 16 bytes.
func TestRebuildFromPublicData(t *testing.T) {
	w := newWorld(3)
	replica := NewTree(testDepth)
	batches := [][]Op{
		{w.deposit(0, 1_000_000), w.deposit(1, 500), w.register(t, 0), w.register(t, 1)},
		{w.transfer(t, 0, 1, 30_000, 20, 0), w.transfer(t, 1, 0, 20, 0, 0), w.withdraw(t, 0, 100, 3, 1), w.deposit(2, 9)},
	}
	for i, ops := range batches {
		w.batch(t, 4, 2, ops...)
		data, err := EncodeOps(2, ops)
		if err != nil {
			t.Fatal(err)
		}
		if err := replica.Replay(data); err != nil {
			t.Fatal(err)
		}
		if replica.Root() != w.tree.Root() {
			t.Fatalf("batch %d: the state rebuilt from public data differs", i)
		}
	}
	data, _ := EncodeOps(0, []Op{w.transfer(t, 0, 1, 1, 0, 2)})
	if len(data)-HeaderBytes != TransferBytes || TransferBytes > 16 {
		t.Fatalf("%d bytes of public data for one transfer", len(data)-HeaderBytes)
	}
}

// The proof commits to exactly the public data: another hash fails.
func TestPubDataHashBindsTheBatch(t *testing.T) {
	w := newWorld(2).funded(t, 100, 0)
	a := w.batch(t, 2, 0, w.transfer(t, 0, 1, 30, 0, 0))
	a.PubDataHash = 1
	if solved(2, a) == nil {
		t.Fatal("a batch with another public data hash was accepted")
	}
}

func FuzzDecodeOps(f *testing.F) {
	w := newWorld(2)
	reg := Op{Type: OpRegister, Account: 1, Address: w.addr(1), PubKey: PubKeyBytes(w.l2[1])}
	reg.SignRegister(w.l1[1], w.tree.Domain())
	seed, _ := EncodeOps(3, []Op{{Type: OpTransfer, Account: 1, To: 2, Amount: 5, Fee: 1}, w.deposit(0, 9), reg, {Type: OpWithdraw, Account: 1, Address: w.addr(1), Amount: 4}, {Type: OpFullExit, Address: w.addr(0)}})
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		fee, ops, err := DecodeOps(data)
		if err != nil {
			return
		}
		PubDataHash(w.tree.Domain(), data, len(ops)) // must not panic on any decoded data
		again, err := EncodeOps(fee, ops)
		if err != nil {
			return // a non-canonical packing of the same amount
		}
		fee2, back, err := DecodeOps(again)
		if err != nil || fee2 != fee || !reflect.DeepEqual(back, ops) {
			t.Fatalf("round trip changed the batch: %v", err)
		}
		if bytes.Equal(again, data) {
			return
		}
	})
}
