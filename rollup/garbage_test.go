package rollup

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup/batch"
)

// postInbox sends data to the batch inbox from key and mines it.
func postInbox(t testing.TB, ctx context.Context, s *System, key *ecdsa.PrivateKey, data []byte) {
	t.Helper()
	postInboxValue(t, ctx, s, key, data, nil)
}

// postInboxValue is postInbox with value sent along.
func postInboxValue(t testing.TB, ctx context.Context, s *System, key *ecdsa.PrivateKey, data []byte, value *big.Int) {
	t.Helper()
	c := s.L1.Client()
	nonce, err := c.PendingNonceAt(ctx, addressOf(key))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(L1MinerChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(L1MinerChainID), Nonce: nonce, To: &InboxAddress, Data: data, Value: value,
		Gas: 21_000 + 40*uint64(len(data)), GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.L1.Mine(); err != nil {
		t.Fatal(err)
	}
}

// channelOf returns inbox calldata carrying payload as one complete channel.
func channelOf(payload []byte) []byte {
	return batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{7}, Data: payload, IsLast: true})
}

// Anyone may post anything to the inbox, and the batcher itself may post
// garbage: derivation drops it by its rules, counts it, and goes on to
// derive the real batches that follow.
func TestActionGarbageInInbox(t *testing.T) {
	s, ctx := newSystem(t, SystemOptions{})
	seq := dial(t, s.Sequencer.RPCURL())
	tx := must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), ether(1)))
	must[*types.Block](t)(s.Sequence(ctx))

	stranger, batcher := chain.DevKey(3), BatcherKey()
	zstdGarbage := must[[]byte](t)(batch.Compress([]byte("not a batch")))
	validRaw := func() []byte {
		b := s.Sequencer.Chain().BlockByNumber(1)
		bt := &batch.Batch{Blocks: []batch.Block{{Number: 1, Time: b.Time(), Origin: must[L1Info](t)(Origin(b.Header())).Number, Txs: b.Transactions()}}}
		copy(bt.ParentCheck[:], b.ParentHash().Bytes())
		raw := must[[]byte](t)(batch.Encode(bt, big.NewInt(int64(s.Config.L2ChainID))))
		return must[[]byte](t)(batch.Compress(raw))
	}()
	cases := []struct {
		key    *ecdsa.PrivateKey
		data   []byte
		reason string
	}{
		{stranger, channelOf(validRaw), DropForeignSender}, // a real batch, from the wrong sender
		{batcher, []byte{0x01, 0x02, 0x03}, DropBadFrame},  // unknown version
		{batcher, []byte{0x00}, DropBadFrame},              // no frames
		{batcher, channelOf(validRaw)[:40], DropBadFrame},  // truncated frame
		{batcher, channelOf([]byte("not zstd")), DropBadChannel},
		{batcher, channelOf(zstdGarbage), DropBadChannel},
		{batcher, batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{9}, Number: 3, Data: []byte{1}}), DropFrame}, // out of order
	}
	for _, c := range cases {
		postInbox(t, ctx, s, c.key, c.data)
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
	postInboxValue(t, ctx, s, batcher, channelOf(validRaw), big.NewInt(1))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Deriver().DropStats()[DropInboxValue] != 1 || s.Verifier.SafeHead().Number.Sign() != 0 {
		t.Fatalf("a batch sent with value was derived: %v", s.Verifier.Deriver().DropStats())
	}

	// The real batch from the batcher is derived, and posting it again is
	// dropped as not extending the safe head.
	postInbox(t, ctx, s, batcher, channelOf(validRaw))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if !included(t, s.Verifier, tx.Hash()) || s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().GetHeaderByNumber(1).Hash() {
		t.Fatal("the real batch was not derived after the garbage")
	}
	postInbox(t, ctx, s, batcher, channelOf(validRaw))
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Deriver().DropStats()[DropNotNext] != 1 {
		t.Fatalf("duplicate batch not dropped: %v", s.Verifier.Deriver().DropStats())
	}
}

// FuzzInboxData posts arbitrary bytes to the inbox from the batcher: derivation
// must never fail or halt: it reads every L1 block, and the only blocks it
// makes are the empty ones of the sequencing-window rule (the sequencer in
// this test never posts).
func FuzzInboxData(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add(channelOf([]byte("x")))
	f.Add(channelOf(must[[]byte](&testing.T{})(batch.Compress([]byte{batch.SpanBatchVersion, 0xc0}))))
	f.Add(batch.MarshalTxData(batch.Frame{Number: 0, Data: []byte{0x28, 0xb5, 0x2f, 0xfd}, IsLast: false}))
	ctx := context.Background()
	s, err := NewSystem(ctx, SystemOptions{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 100_000 {
			return
		}
		postInbox(t, ctx, s, BatcherKey(), data)
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
