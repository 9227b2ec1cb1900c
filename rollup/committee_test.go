package rollup_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// transfersAndBatch sends n L2 transfers, seals them and posts the batch.
func transfersAndBatch(t *testing.T, ctx context.Context, s *rolluptest.System, n int) *types.Block {
	t.Helper()
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	for i := range n {
		rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(uint32(1+i%4)), common.Address{byte(i + 1)}, big.NewInt(1)))
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// With a committee, the L1 carries a 73-byte certificate instead of the
// frames; the verifier fetches the data from a member, checks it against
// the certificate and derives the sequencer's chain. With two members
// down, three signatures are not enough, and the batcher posts the frames
// themselves.
func TestActionCommitteeDerives(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{DA: rollup.DACommittee})
	b := transfersAndBatch(t, ctx, s, 20)
	st := s.Batcher.Stats()
	if st.Certified == 0 || st.Fallbacks != 0 || st.L1Bytes != uint64(da.CertSize)*st.L1Txs {
		t.Fatalf("batcher stats %+v", st)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatalf("the verifier derived %v, want %s", got, b.Hash())
	}

	s.Committee[0].Silent.Store(true)
	s.Committee[3].Silent.Store(true)
	b = transfersAndBatch(t, ctx, s, 5)
	if st := s.Batcher.Stats(); st.Fallbacks == 0 {
		t.Fatalf("no fallback to calldata: %+v", st)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatalf("after the fallback the verifier derived %v, want %s", got, b.Hash())
	}
}

// One honest member is enough: the others withhold, the data still comes.
// With all five withholding, derivation stops at the certificate and
// retries; it never derives past data it cannot see.
func TestActionCommitteeWithheld(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{DA: rollup.DACommittee})
	for _, m := range s.Committee[:4] {
		m.Withhold.Store(true)
	}
	b := transfersAndBatch(t, ctx, s, 3)
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("one honest member did not serve the data")
	}
	s.Committee[4].Withhold.Store(true)
	b = transfersAndBatch(t, ctx, s, 3)
	if err := rolluptest.Derive(ctx, s.Verifier); err == nil {
		t.Fatal("derivation went past withheld data")
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got != nil {
		t.Fatal("a block was derived from withheld data")
	}
	s.Committee[4].Withhold.Store(false)
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("derivation did not resume once the data came back")
	}
}

// A proof must carry the certified data itself: other data under the
// certificate is refused, and a certificate that does not verify carries
// nothing, as derivation drops it.
func TestCertifiedDataChecked(t *testing.T) {
	c, keys := rollup.DevCommittee(3, 2)
	data := []byte("frames")
	h := crypto.Keccak256Hash(data)
	var sigs []bn254.G1Affine
	for _, k := range keys[:2] {
		sigs = append(sigs, rolluptest.Must[bn254.G1Affine](t)(k.Sign(da.CertMessage(901, h))))
	}
	cert := (&da.Certificate{DataHash: h, Signers: 0b011, Sig: da.Aggregate(sigs)}).Marshal()
	bt := rollup.BatchTx{Data: cert, Preimage: data}
	if got, err := rollup.CertifiedData(&bt, c, 901); err != nil || string(got) != "frames" {
		t.Fatalf("the certified data: %q, %v", got, err)
	}
	bt.Preimage = []byte("other frames")
	if _, err := rollup.CertifiedData(&bt, c, 901); err == nil {
		t.Fatal("other data passed under the certificate")
	}
	if got, err := rollup.CertifiedData(&bt, c, 902); err != nil || got != nil {
		t.Fatalf("a certificate of another chain: %q, %v", got, err)
	}
}

// The batcher itself posts a forged certificate (signed by too few, then
// by keys not the committee's) and a blob that is not a valid encoding:
// derivation drops each, counts it, and derives the real batch after them.
func TestActionBadCertificatesAndBlobsDropped(t *testing.T) {
	s, ctx := rolluptest.Start(t, rolluptest.Options{DA: rollup.DACommittee})
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	rolluptest.Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), rolluptest.Ether(1)))
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))

	h := crypto.Keccak256Hash([]byte("garbage"))
	_, keys := rollup.DevCommittee(rollup.DevCommitteeSize, rollup.DevCommitteeHonest)
	sig := rolluptest.Must[bn254.G1Affine](t)(keys[0].Sign(da.CertMessage(s.Config.L2ChainID, h)))
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), (&da.Certificate{DataHash: h, Signers: 1, Sig: sig}).Marshal()) // one signer of four
	stranger := da.NewBLSKey([]byte("stranger"))
	var sigs []bn254.G1Affine
	for range 4 {
		sigs = append(sigs, rolluptest.Must[bn254.G1Affine](t)(stranger.Sign(da.CertMessage(s.Config.L2ChainID, h))))
	}
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), (&da.Certificate{DataHash: h, Signers: 0b1111, Sig: da.Aggregate(sigs)}).Marshal())
	rolluptest.PostInbox(t, ctx, s, rollup.BatcherKey(), []byte{da.CertVersion, 1, 2, 3}) // not even a certificate

	// A blob whose first field element has its second bit set.
	var bad kzg4844.Blob
	bad[0] = 0x40 // a field element, but one the encoding never writes
	rolluptest.PostBlobs(t, ctx, s, rollup.BatcherKey(), bad)

	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("the real batch after the garbage was not derived")
	}
	drops := s.Verifier.Deriver().DropStats()
	if drops[rollup.DropBadCertificate] != 3 || drops[rollup.DropBadBlob] != 1 {
		t.Fatalf("drops %v", drops)
	}
}
