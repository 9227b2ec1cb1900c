package rollup_test

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// The batcher posts in blobs: the L1 block holds a blob transaction to the
// inbox, the inbox records its blobs by versioned hash, and the verifier
// derives the sequencer's chain from the blobs it reads over the L1's
// Beacon API, block for block.
func TestActionBlobsDerive(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{DA: rollup.DABlobs})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	rolluptest.SendL1(t, ctx, s, 1, rollup.PortalAddress, rolluptest.Ether(5), nil, 21_000)
	rolluptest.Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	for i := range 5 {
		rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), common.Address{byte(i + 1)}, big.NewInt(1)))
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	var blobTxs int
	for n := uint64(1); n <= s.L1.Head().Number.Uint64(); n++ {
		for _, tx := range s.L1.Chain().BlockByNumber(n).Transactions() {
			if tx.Type() == types.BlobTxType && *tx.To() == rollup.InboxAddress {
				blobTxs++
			}
		}
	}
	if blobTxs == 0 || s.Batcher.Stats().Blobs == 0 {
		t.Fatalf("the batcher posted %d blob transactions, %d blobs", blobTxs, s.Batcher.Stats().Blobs)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64())
	if got == nil || got.Hash() != b.Hash() {
		t.Fatalf("the verifier derived %v, want block %d %s", got, b.NumberU64(), b.Hash())
	}
}

// A proof of a blob record carries the blob's data with its commitment and
// proof; data that is not the blob's, or a commitment of another blob, is
// refused.
func TestBlobDataChecked(t *testing.T) {
	data := []byte("frames of the channel")
	blob := rolluptest.Must[*kzg4844.Blob](t)(da.EncodeBlob(data))
	sc := rolluptest.Must[*types.BlobTxSidecar](t)(batcher.BlobSidecar([]kzg4844.Blob{*blob}))
	proof := rolluptest.Must[kzg4844.Proof](t)(kzg4844.ComputeBlobProof(blob, sc.Commitments[0]))
	vh := sc.BlobHashes()[0]
	bt := rollup.BatchTx{Data: data, Commitment: sc.Commitments[0][:], BlobProof: proof[:]}
	if err := rollup.CheckBlobData(&bt, vh); err != nil {
		t.Fatalf("the blob's own data: %v", err)
	}
	other := bt
	other.Data = []byte("frames of another channel")
	if err := rollup.CheckBlobData(&other, vh); err == nil {
		t.Fatal("other data passed for the blob")
	}
	other = bt
	other.Commitment = nil
	if err := rollup.CheckBlobData(&other, vh); err == nil {
		t.Fatal("a blob record without its commitment passed")
	}
	if err := rollup.CheckBlobData(&bt, common.Hash{1}); err == nil {
		t.Fatal("the data passed for another versioned hash")
	}
}

// A blob that is not a valid encoding, posted by the batcher between a
// channel's frames, is dropped by derivation; a proof passes over it by
// showing the cells that make it invalid, proven against its commitment,
// and cannot pass over a valid blob that way.
func TestProofPassesOverAnInvalidBlob(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(5), common.Address{0x55}, big.NewInt(1)))
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	parent := s.Sequencer.Chain().GetHeaderByNumber(b.NumberU64() - 1)
	txs := rolluptest.Must[[]*types.Transaction](t)(rollup.SequencerTxs(b))
	info := rolluptest.Must[rollup.L1Info](t)(rollup.Origin(b.Header()))
	originTime := rolluptest.Must[*types.Header](t)(s.L1.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(info.Number))).Time
	raw := rolluptest.Must[[]byte](t)(batch.Encode(&batch.Batch{ParentCheck: rollup.ParentCheck(parent), Blocks: []batch.Block{{Number: b.NumberU64(), Time: b.Time(), Origin: info.Number, Txs: txs}}}, big.NewInt(int64(s.Config.L2ChainID))))
	data := rolluptest.Must[[]byte](t)(batch.Compress(raw))
	f0 := batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0xa}, Number: 0, Data: data[:len(data)/2]})
	f1 := batch.MarshalTxData(batch.Frame{ID: batch.ChannelID{0xa}, Number: 1, Data: data[len(data)/2:], IsLast: true})

	blobRecord := func(blob kzg4844.Blob) (*da.BlobSidecar, common.Hash) {
		sc := rolluptest.Must[*types.BlobTxSidecar](t)(batcher.BlobSidecar([]kzg4844.Blob{blob}))
		return &da.BlobSidecar{Blob: blob, Commitment: sc.Commitments[0]}, sc.BlobHashes()[0]
	}
	var bad kzg4844.Blob
	copy(bad[:], rolluptest.Must[*kzg4844.Blob](t)(da.EncodeBlob([]byte("x")))[:])
	bad[40*2048+100] = 7 // a byte past the length
	badCar, badHash := blobRecord(bad)
	shown := rolluptest.Must[rollup.BatchTx](t)(rollup.InvalidBlobTx(1, badCar))
	if len(shown.CellIndices) != 2 || shown.CellIndices[1] != 40 {
		t.Fatalf("cells %v", shown.CellIndices)
	}
	list := func(middle rollup.BatchTx, vh common.Hash) (*rollup.StepProof, rollup.BatchList) {
		var l rollup.BatchList
		l.Add(rollup.BatchTx{Index: 0, Data: f0}, rollup.InboxEntry{Hash: crypto.Keccak256Hash(f0), Block: info.Number + 1})
		l.Add(middle, rollup.InboxEntry{Hash: vh, Block: info.Number + 1, Blob: true})
		l.Add(rollup.BatchTx{Index: 2, Data: f1}, rollup.InboxEntry{Hash: crypto.Keccak256Hash(f1), Block: info.Number + 1})
		return &rollup.StepProof{Time: b.Time(), OriginNumber: info.Number, Derivation: rollup.Derivation{Records: l.Txs()}}, l
	}
	check := func(p *rollup.StepProof, l rollup.BatchList) error {
		return rollup.CheckChannel(p, parent, txs, originTime, l, &s.Config.Proofs)
	}
	if err := check(list(shown, badHash)); err != nil {
		t.Fatalf("passing over the invalid blob: %v", err)
	}
	// Cells of another blob, or a cell altered, prove nothing.
	good, goodHash := blobRecord(*rolluptest.Must[*kzg4844.Blob](t)(da.EncodeBlob([]byte("valid"))))
	if err := check(list(shown, goodHash)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("another blob's commitment: %v", err)
	}
	forged := shown
	forged.Cells = [][]byte{shown.Cells[0], make([]byte, 2048)}
	if err := check(list(forged, badHash)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("an altered cell: %v", err)
	}
	// A valid blob cannot be passed over: its cells show nothing.
	goodShown := rollup.BatchTx{Index: 1, Commitment: good.Commitment[:], CellIndices: []uint64{0}, Cells: [][]byte{good.Blob[:2048]}}
	proofs := rolluptest.Must[[]kzg4844.Proof](t)(kzg4844.ComputeCellProofs(&good.Blob))
	goodShown.CellProofs = [][]byte{proofs[0][:]}
	if err := check(list(goodShown, goodHash)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a valid blob passed over: %v", err)
	}
}

// The batcher key posts a full blob of junk, 130,044 bytes that are no
// frames, before a block's batch. Derivation drops a blob over the inbox's
// 120,000 bytes, as it drops such calldata, and the block's proof passes
// over it by the blob's cell 0, which shows its length: every call stays
// within a part's budget. Before, the proof carried the blob's data, which
// with the headers beside it fit no L1 transaction, so the honest proposer
// could not prove the block. A proof that carries the data as the blob's
// is refused.
func TestProofPassesOverAFullJunkBlob(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{})
	b := transferBlock(t, s, 0)
	junk := bytes.Repeat([]byte{0xff}, da.MaxBlobData)
	blob := rolluptest.Must[*kzg4844.Blob](t)(da.EncodeBlob(junk))
	rolluptest.PostBlobs(t, ctx, s, rollup.BatcherKey(), *blob)
	batchAndDerive(t, s, b)
	if drops := s.Verifier.Deriver().DropStats(); drops[rollup.DropBadBlob] != 1 {
		t.Fatalf("drops %v, want the blob dropped", drops)
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Verifier.StepProof(b.NumberU64()))
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	for i := range p.Scans {
		if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(&p.Scans[i])); len(raw) > rollup.DefaultPartBudget {
			t.Fatalf("scan %d is %d bytes", i, len(raw))
		}
		if err := rollup.StoreScan(l1State, &p.Scans[i], &s.Config.Proofs); err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
	}
	if raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(p)); len(raw) > rollup.DefaultPartBudget {
		t.Fatalf("the proof is %d bytes", len(raw))
	}
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("the proof over the blob: %v", err)
	}
	sc := rolluptest.Must[*types.BlobTxSidecar](t)(batcher.BlobSidecar([]kzg4844.Blob{*blob}))
	proof := rolluptest.Must[kzg4844.Proof](t)(kzg4844.ComputeBlobProof(blob, sc.Commitments[0]))
	whole := rollup.BatchTx{Data: junk, Commitment: sc.Commitments[0][:], BlobProof: proof[:]}
	if err := rollup.CheckBlobData(&whole, sc.BlobHashes()[0]); !errors.Is(err, rollup.ErrBlobTooLarge) {
		t.Fatalf("the blob's data, over the inbox's limit, as a record: %v", err)
	}
}
