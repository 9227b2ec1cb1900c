package rollup_test

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// l1Chain mines n L1 blocks and returns their headers by number, with a
// fresh state whose EIP-2935 history knows only the newest.
func l1Chain(tb testing.TB, n int) ([]*types.Header, *state.StateDB) {
	tb.Helper()
	s, err := rolluptest.NewSystem(context.Background(), rolluptest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	// Closed before the test goes on: a fuzz worker shares its two cores
	// with whatever keeps running.
	defer s.Close()
	if err := s.L1.MineN(n); err != nil {
		tb.Fatal(err)
	}
	headers := make([]*types.Header, n+1)
	for i := range headers {
		headers[i] = s.L1.Chain().GetHeaderByNumber(uint64(i))
	}
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		tb.Fatal(err)
	}
	st.SetState(params.HistoryStorageAddress, common.BigToHash(big.NewInt(int64(n%params.HistoryServeWindow))), headers[n].Hash())
	return headers, st
}

// headerList encodes headers[from], headers[from-1], ... headers[to].
func headerList(tb testing.TB, headers []*types.Header, from, to int) []byte {
	var list [][]byte
	for n := from; n >= to; n-- {
		raw, err := rlp.EncodeToBytes(headers[n])
		if err != nil {
			tb.Fatal(err)
		}
		list = append(list, raw)
	}
	out, _ := rlp.EncodeToBytes(list)
	return out
}

// proveL1Headers walks back from a hash L1 state knows, stores the oldest
// header's hash, and goes on from it in a later call; any other chain is
// refused.
func TestProveL1Headers(t *testing.T) {
	h, st := l1Chain(t, 30)
	rec := rollup.OutputsRecordsOf(st)
	if !rec.KnowsL1Block(30, h[30].Hash()) || rec.KnowsL1Block(20, h[20].Hash()) {
		t.Fatal("history set up wrong")
	}
	if _, _, err := rollup.ProveL1Headers(st, headerList(t, h, 25, 20)); !errors.Is(err, rollup.ErrUnknownL1Block) {
		t.Fatalf("a walk from an unknown header: %v", err)
	}
	n, hash, err := rollup.ProveL1Headers(st, headerList(t, h, 30, 20))
	if err != nil || n != 20 || hash != h[20].Hash() {
		t.Fatalf("walk 30..20: %d %s %v", n, hash, err)
	}
	if !rec.KnowsL1Block(20, h[20].Hash()) || rec.KnowsL1Block(21, h[21].Hash()) {
		t.Fatal("only the oldest header of a walk is stored")
	}
	if _, _, err := rollup.ProveL1Headers(st, headerList(t, h, 20, 10)); err != nil {
		t.Fatalf("walk on from the stored 20: %v", err)
	}
	if !rec.KnowsL1Block(10, h[10].Hash()) {
		t.Fatal("10 not stored")
	}
	// A gap, a forged header and garbage are refused.
	var gap [][]byte
	rlp.DecodeBytes(headerList(t, h, 10, 8), &gap)
	skip, _ := rlp.EncodeToBytes([][]byte{gap[0], gap[2]})
	if _, _, err := rollup.ProveL1Headers(st, skip); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a walk with a gap: %v", err)
	}
	forged := types.CopyHeader(h[9])
	forged.BaseFee = new(big.Int).Add(forged.BaseFee, common.Big1)
	fraw, _ := rlp.EncodeToBytes(forged)
	bad, _ := rlp.EncodeToBytes([][]byte{gap[0], fraw})
	if _, _, err := rollup.ProveL1Headers(st, bad); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a forged parent: %v", err)
	}
	for _, garbage := range [][]byte{nil, {0xc0}, {0x01, 0x02}, {0xc1, 0x80}} {
		if _, _, err := rollup.ProveL1Headers(st, garbage); !errors.Is(err, rollup.ErrBadProof) {
			t.Fatalf("garbage %x: %v", garbage, err)
		}
	}
}

// FuzzProveL1Headers feeds arbitrary header lists to proveL1Headers, as
// anyone may call it with anything: it must not panic, and what it stores
// must be the hash of a header it was given.
func FuzzProveL1Headers(f *testing.F) {
	h, st := l1Chain(f, 6)
	f.Add(headerList(f, h, 6, 0))
	f.Add(headerList(f, h, 6, 5))
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, hash, err := rollup.ProveL1Headers(st.Copy(), data)
		if err != nil {
			return
		}
		if n > 6 || hash != h[n].Hash() {
			t.Fatalf("stored %s for L1 block %d", hash, n)
		}
	})
}

// Rule 8's window, as derivation and the proof check it: a batch block from
// a channel completed in L1 block x is dropped when its origin is after x
// or its sequencing window closed at x.
func TestBatchBlockWindow(t *testing.T) {
	for _, c := range []struct {
		origin, x, window uint64
		ok                bool
	}{
		{origin: 10, x: 20, window: 11, ok: true},
		{origin: 10, x: 20, window: 10, ok: false}, // the window (10, 19] is closed at 20
		{origin: 20, x: 19, window: 10, ok: false}, // the origin is after 19
		{origin: 12, x: 21, window: 10, ok: true},
		{origin: 11, x: 21, window: 10, ok: false},
	} {
		blk := &batch.Block{Number: 1, Origin: c.origin}
		if err := rollup.CheckBatchBlock(blk, 0, 0, c.x, c.window); (err == nil) != c.ok || err != nil && !errors.Is(err, rollup.ErrBlockRule) {
			t.Errorf("origin %d at x %d, window %d: %v", c.origin, c.x, c.window, err)
		}
	}
}
