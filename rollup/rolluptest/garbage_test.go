package rolluptest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/derive"
)

// channelOf returns inbox calldata carrying payload as one complete channel.
func channelOf(payload []byte) []byte {
	return batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{7}, Data: payload, IsLast: true})
}

// Anyone may post anything to the inbox, and the batcher itself may post
// garbage: derivation drops it by its rules, counts it, and goes on to
// derive the real batches that follow.
func TestActionGarbageInInbox(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	tx := Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), Ether(1)))
	Must[*types.Block](t)(s.Sequence(ctx))

	stranger, batcher := chain.DevKey(3), rollup.BatcherKey()
	zstdGarbage := Must[[]byte](t)(batch.Compress([]byte("not a batch")))
	validRaw := func() []byte {
		b := s.Sequencer.Chain().BlockByNumber(1)
		bt := &batch.Batch{Blocks: []batch.Block{{Number: 1, Time: b.Time(), Origin: Must[rollup.L1Info](t)(rollup.Origin(b.Header())).Number, Txs: b.Transactions()}}}
		copy(bt.ParentCheck[:], b.ParentHash().Bytes())
		raw := Must[[]byte](t)(batch.Encode(bt, big.NewInt(int64(s.Config.L2ChainID))))
		return Must[[]byte](t)(batch.Compress(raw))
	}()
	cases := []struct {
		key    *ecdsa.PrivateKey
		data   []byte
		reason string
	}{
		{stranger, channelOf(validRaw), rollup.DropForeignSender}, // a real batch, from the wrong sender
		{batcher, []byte{0x01, 0x02, 0x03}, rollup.DropBadFrame},  // unknown version
		{batcher, []byte{0x00}, rollup.DropBadFrame},              // no frames
		{batcher, channelOf(validRaw)[:40], rollup.DropBadFrame},  // truncated frame
		{batcher, channelOf([]byte("not zstd")), rollup.DropBadChannel},
		{batcher, channelOf(zstdGarbage), rollup.DropBadChannel},
		{batcher, batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{9}, Number: 3, Data: []byte{1}}), rollup.DropFrame}, // out of order
	}
	for _, c := range cases {
		PostInbox(t, ctx, s, c.key, c.data)
		before := s.Verifier.Deriver().DropStats()[c.reason]
		if err := Derive(ctx, s.Verifier); err != nil {
			t.Fatalf("derivation halted on %s garbage: %v", c.reason, err)
		}
		if after := s.Verifier.Deriver().DropStats()[c.reason]; after != before+1 {
			t.Fatalf("%s: dropped %d times, want %d", c.reason, after, before+1)
		}
		if s.Verifier.SafeHead().Number.Sign() != 0 {
			t.Fatalf("garbage (%s) moved the safe head", c.reason)
		}
	}

	// The real batch, sent by the batcher with value: the inbox refuses it
	// and records nothing, so derivation drops it as well (no proof could
	// name it).
	PostInboxValue(t, ctx, s, batcher, channelOf(validRaw), big.NewInt(1))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Deriver().DropStats()[rollup.DropInboxValue] != 1 || s.Verifier.SafeHead().Number.Sign() != 0 {
		t.Fatalf("a batch sent with value was derived: %v", s.Verifier.Deriver().DropStats())
	}

	// The real batch from the batcher is derived, and posting it again is
	// dropped as not extending the safe head.
	PostInbox(t, ctx, s, batcher, channelOf(validRaw))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if !included(t, s.Verifier, tx.Hash()) || s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().GetHeaderByNumber(1).Hash() {
		t.Fatal("the real batch was not derived after the garbage")
	}
	PostInbox(t, ctx, s, batcher, channelOf(validRaw))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Deriver().DropStats()[rollup.DropNotNext] != 1 {
		t.Fatalf("duplicate batch not dropped: %v", s.Verifier.Deriver().DropStats())
	}
}

// A batcher transaction with more calldata than the inbox records
// (MaxInboxData, so that a proof can carry any record in one L1
// transaction) is dropped whole, a real batch in it too.
func TestActionInboxDropsOversizedCalldata(t *testing.T) {
	s, ctx := Start(t, Options{})
	seq := Dial(t, s.Sequencer.RPCURL())
	Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), Ether(1)))
	b := Must[*types.Block](t)(s.Sequence(ctx))
	bt := &batch.Batch{Blocks: []batch.Block{{Number: 1, Time: b.Time(), Origin: Must[rollup.L1Info](t)(rollup.Origin(b.Header())).Number, Txs: b.Transactions()}}}
	copy(bt.ParentCheck[:], b.ParentHash().Bytes())
	good := batch.Frame{ID: batch.ChannelID{1}, Data: Must[[]byte](t)(batch.Compress(Must[[]byte](t)(batch.Encode(bt, big.NewInt(int64(s.Config.L2ChainID)))))), IsLast: true}
	padding := batch.Frame{ID: batch.ChannelID{2}, Number: 5, Data: make([]byte, rollup.MaxInboxData)} // a stray frame
	PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(good, padding))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Deriver().DropStats()[rollup.DropInboxSize] != 1 || s.Verifier.SafeHead().Number.Sign() != 0 {
		t.Fatalf("oversized calldata was read: %v, safe head %d", s.Verifier.Deriver().DropStats(), s.Verifier.SafeHead().Number)
	}
	PostInbox(t, ctx, s, rollup.BatcherKey(), batch.MarshalTxData(good))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.SafeHead().Number.Uint64() != 1 {
		t.Fatal("the batch alone was not derived")
	}
}

// FuzzInboxData posts arbitrary bytes to the inbox from the batcher: derivation
// must never fail or halt: it reads every L1 block, and the only blocks it
// makes are the empty ones of the sequencing-window rule (the sequencer in
// this test never posts).
func FuzzInboxData(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add(channelOf([]byte("x")))
	f.Add(channelOf(Must[[]byte](&testing.T{})(batch.Compress([]byte{batch.SpanBatchVersion, 0xc0}))))
	f.Add(batch.MarshalTxData(batch.Frame{Number: 0, Data: []byte{0x28, 0xb5, 0x2f, 0xfd}, IsLast: false}))
	ctx := context.Background()
	s, err := NewSystem(ctx, Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 100_000 {
			return
		}
		PostInbox(t, ctx, s, rollup.BatcherKey(), data)
		if err := Derive(ctx, s.Verifier); err != nil {
			t.Fatalf("derivation failed: %v", err)
		}
		if got, want := s.Verifier.Deriver().L1Position(), s.L1.Head().Number.Uint64(); got != want {
			t.Fatalf("derivation stopped at L1 block %d of %d", got, want)
		}
		if head := s.Verifier.Chain().BlockByHash(s.Verifier.Chain().Head().Hash()); len(head.Transactions()) != 0 {
			t.Fatal("arbitrary bytes put transactions in a block")
		}
	})
}

// flakyL1 fails one read of an L1 block, as a dropped connection would.
type flakyL1 struct {
	derive.L1Source
	fail  uint64
	reads []uint64
}

func (f *flakyL1) Block(ctx context.Context, n uint64) (*types.Block, error) {
	f.reads = append(f.reads, n)
	if n == f.fail {
		f.fail = 0
		return nil, errors.New("connection reset")
	}
	return f.L1Source.Block(ctx, n)
}

// An L1 read that fails changes nothing: derivation tells it from an
// error mid-block (which resets it to what is stored and replays the
// channel window) and reads the same block again.
func TestDerivationRetriesATemporaryError(t *testing.T) {
	s, ctx := Start(t, Options{})
	Must[*types.Block](t)(s.Sequence(ctx))
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.L1.MineN(3); err != nil {
		t.Fatal(err)
	}
	l1 := &flakyL1{L1Source: rollup.NewL1Reader(s.L1.Client(), s.Config.L2ChainID, nil), fail: s.Config.L1Start + 2}
	d := Must[*derive.Deriver](t)(derive.New(s.Config, l1, s.Verifier.Chain(), s.Verifier, nil, nil))
	var failed bool
	for range 20 {
		_, err := d.Step(ctx)
		if err != nil {
			if !errors.Is(err, derive.ErrTemporary) {
				t.Fatalf("a failed read: %v", err)
			}
			failed = true
		}
	}
	if !failed {
		t.Fatal("the read never failed: the test proves nothing")
	}
	if got, want := l1.reads[:4], []uint64{s.Config.L1Start + 1, s.Config.L1Start + 2, s.Config.L1Start + 2, s.Config.L1Start + 3}; !slices.Equal(got, want) {
		t.Fatalf("L1 blocks read %v, want %v (the failed one again, no replay)", got, want)
	}
	if d.SafeHead().Number.Uint64() != 1 {
		t.Fatalf("safe head %d after the retry, want 1", d.SafeHead().Number)
	}
}
