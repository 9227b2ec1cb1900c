package rollup

import (
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
)

type noQueue struct{}

func (noQueue) QueueItem(uint64) (common.Hash, uint64, bool) { return common.Hash{}, 0, false }
func (noQueue) QueueLength() uint64                          { return 0 }
func (noQueue) Batch(uint64) (common.Hash, bool)             { return common.Hash{}, false }
func (noQueue) RecordAfter(uint64, uint64) bool              { return false }

// realProof returns the encoded one-step proof of a block with a transfer,
// and the outputs around it.
func realProof(tb testing.TB) ([]byte, common.Hash, common.Hash, *System) {
	tb.Helper()
	ctx := context.Background()
	s, err := NewSystem(ctx, SystemOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	seq, err := ethclientDial(s.Sequencer.RPCURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer seq.Close()
	if _, err := s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), ether(1)); err != nil {
		tb.Fatal(err)
	}
	b, err := s.Sequence(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Batch(ctx); err != nil {
		tb.Fatal(err)
	}
	p, err := s.Sequencer.StepProof(b.NumberU64())
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := rlp.EncodeToBytes(p)
	pre, _ := OutputAt(s.Sequencer.Chain(), b.NumberU64()-1)
	post, _ := OutputAt(s.Sequencer.Chain(), b.NumberU64())
	return raw, pre.Root(), post.Root(), s
}

// The proof of a real block gives its output; changing the block's content
// gives another output, and a wrong parent is refused.
func TestStepProof(t *testing.T) {
	raw, pre, post, s := realProof(t)
	l1State, err := s.L1.Chain().StateAt(s.L1.Head().Root)
	if err != nil {
		t.Fatal(err)
	}
	var p StepProof
	if err := rlp.DecodeBytes(raw, &p); err != nil {
		t.Fatal(err)
	}
	got, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State))
	if err != nil || got != post {
		t.Fatalf("proof gives %s, %v; want %s", got, err, post)
	}
	p.Time++
	if _, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block with another time than its batch: %v", err)
	}
	p.Time--
	if _, err := VerifyStep(&p, post, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("wrong agreed output: %v", err)
	}
	var tx types.Transaction
	if err := tx.UnmarshalBinary(p.Txs[0]); err != nil {
		t.Fatal(err)
	}
	// An alternative history that leaves out a batched transaction is
	// refused, with or without the batch.
	p.Txs = nil
	if _, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block without its batched transaction: %v", err)
	}
	batch := p.Batch
	p.Batch = nil
	// Nor can the block be claimed empty without its batch: only a forced
	// advance, with nothing from the batcher in the window, needs none.
	if _, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("a batched block claimed empty without its batch: %v", err)
	}
	p.Txs = [][]byte{must[[]byte](t)(tx.MarshalBinary())}
	if _, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block with transactions but no batch: %v", err)
	}
	p.Batch = batch
	p.Batch[0].Index++
	if _, err := VerifyStep(&p, pre, s.Config.L2ChainID, s.Config.L1FeeScalar, s.Config.SeqWindow, PortalRecords(l1State), InboxRecords(l1State)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a batch the inbox did not record: %v", err)
	}
}

// FuzzStepProof feeds arbitrary bytes to the one-step proof's decoder and
// verifier, as anyone may call step with any proof.
func FuzzStepProof(f *testing.F) {
	raw, pre, _, s := realProof(f)
	f.Add(raw)
	f.Add([]byte{0xc0})
	f.Add(raw[:len(raw)/2])
	id, scalar := s.Config.L2ChainID, s.Config.L1FeeScalar
	f.Fuzz(func(t *testing.T, data []byte) {
		var p StepProof
		if rlp.DecodeBytes(data, &p) != nil {
			return
		}
		VerifyStep(&p, pre, id, scalar, 10, noQueue{}, noQueue{}) // must not panic
	})
}

func ethclientDial(url string) (*ethclient.Client, error) { return ethclient.Dial(url) }
