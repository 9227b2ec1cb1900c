package rollup_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"

	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// FuzzProofAgreesWithDerivation lays out the batcher's inbox records in the
// order its input says, from a palette around one sequenced block holding a
// transfer: the block's batch whole, in two frames, or after another
// channel's frame in one record; another channel's first frame; a stray
// frame; a batch with another parent; a second, empty batch for the block;
// garbage, a little or 40 KB; a junk channel of two 40 KB frames; a full blob of junk, or a blob holding the
// block's batch past the inbox's 120,000 bytes; empty L1 blocks (enough of
// them force the block empty). A
// verifier derives the chain, and for every block it made the proof agrees
// with it: the verifier's one-step proof, and its proof in parts, verify
// to the block's output, and the same one-step proof with the other content (the transfer where derivation
// made the block empty, none where it took the transfer) does not.
func FuzzProofAgreesWithDerivation(f *testing.F) {
	f.Add([]byte{opWhole})
	f.Add([]byte{opFirstHalf, opSecondHalf})
	f.Add([]byte{opFirstHalf, opOther, opSecondHalf, opWhole})
	f.Add([]byte{opFirstHalf, opStray, opSecondHalf})
	f.Add([]byte{opOther, opFirstHalf, opSecondHalf})
	f.Add([]byte{opOther, opWait, opWhole})
	f.Add([]byte{opWrongParent, opGarbage, opMidRecord})
	f.Add([]byte{opEmptySecond, opWhole})
	f.Add([]byte{opWait, opWait, opWait, opWait, opWhole})
	f.Add([]byte{opFirstHalf, opWait, opWait, opWait, opWait, opSecondHalf})
	f.Add([]byte{opJunk, opJunk, opWhole})
	f.Add([]byte{opFirstHalf, opJunk, opJunk, opSecondHalf})
	f.Add([]byte{opOther, opJunk, opJunk, opFirstHalf, opJunk, opSecondHalf})
	f.Add([]byte{opJunk, opJunk, opWait, opWait, opWait, opWait})
	f.Add([]byte{opJunkBlob, opWhole})
	f.Add([]byte{opJunkOpen, opJunkClose, opWhole})
	f.Add([]byte{opJunkOpen, opJunk, opJunkClose, opFirstHalf, opSecondHalf})
	f.Add([]byte{opFirstHalf, opJunkOpen, opJunkClose, opSecondHalf, opWhole})
	f.Add([]byte{opBigBlob, opWait, opWait, opWait, opWait, opWhole})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 12 {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := rolluptest.NewSystem(ctx, rolluptest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		b := transferBlock(t, s, 0)
		frames := palette(t, s, b)
		budget := 6_000 // parts, for a block this small
		for _, op := range ops {
			switch op %= opCount; op {
			case opWait:
				if err := s.L1.MineN(3); err != nil {
					t.Fatal(err)
				}
			case opJunkBlob, opBigBlob:
				budget = 10_000 // a part that passes over a blob carries its cell 0 (2 KB)
				rolluptest.PostBlobs(t, ctx, s, rollup.BatcherKey(), *rolluptest.Must[*kzg4844.Blob](t)(da.EncodeBlob(frames[op])))
			default:
				rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), frames[op])
			}
		}
		if err := s.L1.MineN(1); err != nil {
			t.Fatal(err)
		}
		if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
			t.Fatal(err)
		}
		l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
		transfer := rolluptest.Must[[]byte](t)(b.Transactions()[len(b.Transactions())-1].MarshalBinary())
		for n := uint64(1); n <= s.Verifier.SafeHead().Number.Uint64(); n++ {
			p := rolluptest.Must[*rollup.StepProof](t)(s.Verifier.StepProof(n))
			scanned := l1State.Copy()
			for i := range p.Scans {
				if err := rollup.StoreScan(scanned, &p.Scans[i], &s.Config.Proofs); err != nil {
					t.Fatalf("ops %v: scan %d before block %d: %v", ops, i, n, err)
				}
			}
			pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), n-1))
			post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), n))
			if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, scanned); err != nil || got != post.Root() {
				t.Fatalf("ops %v: the proof of block %d that derivation made: %v", ops, n, err)
			}
			parts := rolluptest.Must[*rollup.PartedProof](t)(s.Verifier.StepParts(n, budget))
			if got, err := rollup.VerifyParted(l1State.Copy(), parts, pre.Root(), n, rollup.AnyL1Block, &s.Config.Proofs); err != nil || got != post.Root() {
				t.Fatalf("ops %v: the proof of block %d in parts: %v", ops, n, err)
			}
			other := rolluptest.Must[*rollup.StepProof](t)(decodeProof(p))
			if len(other.Txs) > 0 {
				other.Txs = nil
			} else {
				other.Txs = [][]byte{transfer}
			}
			if _, err := rollup.VerifyStep(other, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, scanned); !errors.Is(err, rollup.ErrBadProof) {
				t.Fatalf("ops %v: block %d with other content than derivation's: %v", ops, n, err)
			}
		}
	})
}

// The palette of FuzzProofAgreesWithDerivation.
const (
	opWhole       = iota // the block's batch, one frame
	opFirstHalf          // its channel's first frame of two
	opSecondHalf         // and the second
	opMidRecord          // the batch after another channel's complete frame, in one record
	opOther              // another channel's first frame, replacing an open one
	opStray              // a frame of another channel that opens none
	opWrongParent        // a batch of the block on another parent
	opEmptySecond        // a batch of the block without its transfer
	opGarbage            // bytes that are no frames
	opJunk               // 40 KB that are no frames: proofs over two of them scan them first
	opWait               // three empty L1 blocks
	opJunkBlob           // a full blob of junk, over the inbox's limit: derivation drops it
	opBigBlob            // the block's batch in a blob padded past the inbox's limit: dropped too
	opJunkOpen           // a junk channel's first frame, 40 KB
	opJunkClose          // its last, 40 KB: the proof in parts loads it and passes over it
	opCount
)

// palette returns the inbox data of each posting op around block b.
func palette(t *testing.T, s *rolluptest.System, b *types.Block) map[byte][]byte {
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	channel := func(check [20]byte, txs []*types.Transaction) []byte {
		raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: check, Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number, Txs: txs}}}, big.NewInt(int64(s.Config.L2ChainID))))
		return rolluptest.Must[[]byte](t)(batch.Compress(raw))
	}
	txs := rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(b))
	good := channel(rollup.ParentCheck(parent), txs)
	half := len(good) / 2
	return map[byte][]byte{
		opWhole:       batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x01}, Data: good, IsLast: true}),
		opFirstHalf:   batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0a}, Data: good[:half]}),
		opSecondHalf:  batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0a}, Number: 1, Data: good[half:], IsLast: true}),
		opMidRecord:   batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0c}, Data: []byte("not a channel"), IsLast: true}, batch.Frame{ID: batch.ChannelID{0x0d}, Data: good, IsLast: true}),
		opOther:       batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0b}, Data: []byte{1, 2, 3}}),
		opStray:       batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0b}, Number: 3, Data: []byte{1}}),
		opWrongParent: batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0e}, Data: channel([20]byte{0xde, 0xad}, txs), IsLast: true}),
		opEmptySecond: batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x0f}, Data: channel(rollup.ParentCheck(parent), nil), IsLast: true}),
		opGarbage:     {0x01, 0x02, 0x03},
		opJunk:        bytes.Repeat([]byte{0xff}, 40_000),
		opJunkBlob:    bytes.Repeat([]byte{0xff}, da.MaxBlobData),
		opJunkOpen:    batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x12}, Data: bytes.Repeat([]byte{0x22}, 40_000)}),
		opJunkClose:   batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x12}, Number: 1, Data: bytes.Repeat([]byte{0x33}, 40_000), IsLast: true}),
		opBigBlob: batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0x10}, Data: good, IsLast: true},
			batch.Frame{ID: batch.ChannelID{0x11}, Data: make([]byte, rollup.MaxInboxData-len(good))}),
	}
}
