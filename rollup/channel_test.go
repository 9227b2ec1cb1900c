package rollup_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// A proof assembles a block's channel by derivation's rules over every
// batcher transaction from the one that opens it: a channel derivation
// dropped (replaced by another's first frame, timed out) or a batch it
// dropped (not extending the parent) cannot be proven, though its frames
// are all on L1; the same channel posted as derivation takes it can.
func TestProofsFollowDerivationsChannelRules(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	if err := seq.SendTransaction(ctx, rolluptest.SignL2(t, s, 5, 0, common.Address{0x55}, big.NewInt(1))); err != nil {
		t.Fatal(err)
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	txs := rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(b))
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	originTime := rolluptest.Must[*types.Header](t)(s.L1.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(info.Number))).Time
	channel := func(check [20]byte) []byte {
		raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: check, Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number, Txs: txs}}}, big.NewInt(int64(s.Config.L2ChainID))))
		return rolluptest.Must[[]byte](t)(batch.Compress(raw))
	}
	data := channel(rollup.ParentCheck(parent))
	half := len(data) / 2
	a0 := batch.Frame{ID: batch.ChannelID{0xa}, Number: 0, Data: data[:half]}
	a1 := batch.Frame{ID: batch.ChannelID{0xa}, Number: 1, Data: data[half:], IsLast: true}
	other := batch.Frame{ID: batch.ChannelID{0xb}, Number: 0, Data: []byte{1, 2, 3}}
	// post lays frames out as consecutive inbox records, each in an L1 block.
	post := func(blocks []uint64, frames ...batch.Frame) (*rollup.StepProof, rollup.BatchList) {
		var l rollup.BatchList
		for i, f := range frames {
			data := batch.MarshalTxData(f)
			l.Add(rollup.BatchTx{Index: uint64(i), Data: data}, rollup.InboxEntry{Hash: crypto.Keccak256Hash(data), Block: blocks[i]})
		}
		return &rollup.StepProof{Time: b.Time(), OriginNumber: info.Number, Derivation: rollup.Derivation{Records: l.Txs()}}, l
	}
	check := func(p *rollup.StepProof, l rollup.BatchList) error {
		return rollup.CheckChannel(p, parent, txs, originTime, l, &s.Config.Proofs)
	}
	at := info.Number + 1 // the L1 block after the origin's
	if err := check(post([]uint64{at, at}, a0, a1)); err != nil {
		t.Fatalf("the channel as derivation takes it: %v", err)
	}
	// Another channel's first frame between the two: derivation drops the
	// first channel. Naming all three transactions, or skipping the middle
	// one, proves nothing.
	p, l := post([]uint64{at, at, at}, a0, other, a1)
	if err := check(p, l); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a replaced channel: %v", err)
	}
	p.Derivation.Records = []rollup.BatchTx{l.Txs()[0], l.Txs()[2]}
	if err := check(p, l); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a replaced channel, its replacement left out: %v", err)
	}
	// A frame of another channel that does not open one is dropped by
	// derivation and by the proof alike.
	stray := batch.Frame{ID: batch.ChannelID{0xb}, Number: 3, Data: []byte{1}}
	if err := check(post([]uint64{at, at, at}, a0, stray, a1)); err != nil {
		t.Fatalf("a stray frame between the channel's: %v", err)
	}
	// The last frame after the channel timed out.
	if err := check(post([]uint64{at, at + s.Config.ChannelTimeout + 1}, a0, a1)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a timed-out channel: %v", err)
	}
	// A batch that does not extend the block's parent: derivation drops it
	// (batch-not-next).
	wrong := channel([20]byte{0xde, 0xad})
	w0 := batch.Frame{ID: batch.ChannelID{0xc}, Data: wrong, IsLast: true}
	if err := check(post([]uint64{at}, w0)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a batch with another parent: %v", err)
	}
}
