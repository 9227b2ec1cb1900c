package rollup

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"

	"github.com/cairn-dev/cairn/da"
)

// Blobs as the rollup's data (docs/da.md): the batcher may post its frames
// in the blobs of EIP-4844 transactions to the inbox instead of in
// calldata. The inbox records each blob by its versioned hash (Inbox);
// derivation reads the blobs from the L1's Beacon API, checks each
// against its versioned hash and decodes it with the OP Stack's blob
// encoding (da.DecodeBlob), dropping a blob that does not decode as it
// drops calldata that does not parse; and a one-step proof carries a
// blob's decoded data with its KZG commitment and proof (BatchTx), which
// checkBlobData ties to the recorded hash.

// BlobSource is where a rollup node reads the L1's blobs: the Beacon API
// of an L1 node (da.BeaconClient).
type BlobSource interface {
	Blobs(ctx context.Context, l1Block uint64, hashes []common.Hash) ([]*da.BlobSidecar, error)
}

// ErrNoBlobSource is returned when derivation meets a batcher's blob
// transaction and the node has no Beacon API to read its blobs from.
var ErrNoBlobSource = errors.New("a batcher blob transaction on L1, and no Beacon API to read blobs from (set the L1's beacon URL)")

// BlobData is the data of a batcher's blob as derivation reads it: the
// blob decoded (da.DecodeBlob), and at most MaxInboxData bytes, so that a
// proof can carry any blob it reads in one L1 transaction. A blob that
// does not decode, or holds more, derivation drops (DropBadBlob).
func BlobData(b *kzg4844.Blob) ([]byte, error) {
	data, err := da.DecodeBlob(b)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInboxData {
		return nil, fmt.Errorf("%w: %d bytes of blob data, over the inbox's %d", ErrBlobTooLarge, len(data), MaxInboxData)
	}
	return data, nil
}

// ErrBlobTooLarge is returned for a batcher blob holding more than
// MaxInboxData bytes, which derivation drops.
var ErrBlobTooLarge = errors.New("blob data too large for the inbox")

// checkBlobData checks that bt's data is what the blob of versioned hash
// vh decodes to: the data encodes to exactly one blob (the encoding is a
// bijection), whose commitment must hash to vh and whose KZG proof must
// verify against it. Data over MaxInboxData derivation drops: a proof
// shows such a blob by its cell 0 (checkInvalidBlob).
func checkBlobData(bt *BatchTx, vh common.Hash) error {
	if len(bt.Commitment) != len(kzg4844.Commitment{}) || len(bt.BlobProof) != len(kzg4844.Proof{}) {
		return fmt.Errorf("a blob record needs the blob's commitment and proof")
	}
	if len(bt.Data) > MaxInboxData {
		return fmt.Errorf("%w: %d bytes, which derivation drops", ErrBlobTooLarge, len(bt.Data))
	}
	blob, err := da.EncodeBlob(bt.Data)
	if err != nil {
		return err
	}
	sc := da.BlobSidecar{Blob: *blob}
	copy(sc.Commitment[:], bt.Commitment)
	copy(sc.Proof[:], bt.BlobProof)
	return da.VerifyBlob(&sc, vh)
}

// certifiedData returns the data a committee certificate (bt.Data) stands
// for: nil, carrying nothing, when the certificate does not verify (as
// derivation drops it); otherwise bt.Preimage, which must hash to the
// certified hash.
func certifiedData(bt *BatchTx, dac *da.Committee, chainID uint64) ([]byte, error) {
	cert, err := dac.Check(bt.Data, chainID)
	if err != nil {
		return nil, nil
	}
	if crypto.Keccak256Hash(bt.Preimage) != cert.DataHash {
		return nil, fmt.Errorf("the data of certificate %s is not in the proof", cert.DataHash)
	}
	return bt.Preimage, nil
}

// checkInvalidBlob checks that bt's cells, proven against the commitment
// whose versioned hash is vh, show that blob is not a valid encoding of at
// most MaxInboxData bytes.
func checkInvalidBlob(bt *BatchTx, vh common.Hash) error {
	n := len(bt.CellIndices)
	if n == 0 || n > kzg4844.DataPerBlob || len(bt.Cells) != n || len(bt.CellProofs) != n || len(bt.Commitment) != len(kzg4844.Commitment{}) {
		return fmt.Errorf("an invalid blob is shown by its commitment and up to %d cells, each with its proof", kzg4844.DataPerBlob)
	}
	var commitment kzg4844.Commitment
	copy(commitment[:], bt.Commitment)
	if got := (&da.BlobSidecar{Commitment: commitment}).VersionedHash(); got != vh {
		return fmt.Errorf("%w: commitment hashes to %s, want %s", da.ErrBlobMismatch, got, vh)
	}
	cells := make([]kzg4844.Cell, n)
	proofs := make([]kzg4844.Proof, n)
	shown := map[uint64]*kzg4844.Cell{}
	for i := range n {
		if len(bt.Cells[i]) != len(kzg4844.Cell{}) || len(bt.CellProofs[i]) != len(kzg4844.Proof{}) || bt.CellIndices[i] >= kzg4844.DataPerBlob {
			return fmt.Errorf("cell %d: a data cell of %d bytes with a proof of %d", i, len(kzg4844.Cell{}), len(kzg4844.Proof{}))
		}
		copy(cells[i][:], bt.Cells[i])
		copy(proofs[i][:], bt.CellProofs[i])
		shown[bt.CellIndices[i]] = &cells[i]
	}
	if err := kzg4844.VerifyCells(cells, []kzg4844.Commitment{commitment}, proofs, bt.CellIndices); err != nil {
		return fmt.Errorf("%w: %v", da.ErrBlobMismatch, err)
	}
	if !da.CellsShowInvalid(shown, MaxInboxData) {
		return fmt.Errorf("the cells do not show the blob invalid")
	}
	return nil
}

// invalidBlobTx is the BatchTx showing that sc's blob is not a valid
// encoding of at most MaxInboxData bytes: the cells that show it, with
// their proofs (about 0.2 s).
func invalidBlobTx(index uint64, sc *da.BlobSidecar) (BatchTx, error) {
	idx := da.InvalidCells(&sc.Blob, MaxInboxData)
	if idx == nil {
		return BatchTx{}, fmt.Errorf("the blob is valid")
	}
	proofs, err := kzg4844.ComputeCellProofs(&sc.Blob)
	if err != nil {
		return BatchTx{}, err
	}
	bt := BatchTx{Index: index, Commitment: sc.Commitment[:], CellIndices: idx}
	for _, i := range idx {
		bt.Cells = append(bt.Cells, sc.Blob[i*uint64(len(kzg4844.Cell{})):(i+1)*uint64(len(kzg4844.Cell{}))])
		bt.CellProofs = append(bt.CellProofs, proofs[i][:])
	}
	return bt, nil
}

// sampledData returns the data a sampling commitment (bt.Data) stands
// for: nil, carrying nothing, for a malformed commitment (as derivation
// drops it); otherwise bt.Preimage, which must extend to the committed
// square.
func sampledData(bt *BatchTx) ([]byte, error) {
	com, err := da.ParseSampled(bt.Data)
	if err != nil {
		return nil, nil
	}
	if err := com.Check(bt.Preimage); err != nil {
		return nil, fmt.Errorf("the data of commitment %x is not in the proof: %w", com.Root, err)
	}
	return bt.Preimage, nil
}

// OffChainData resolves inbox calldata that stands for data kept off L1,
// as derivation reads it and the prover gathers it: a committee
// certificate (with dac) or a sampling commitment (with das) is fetched
// and checked, and its data returned. Other calldata returns nil. A
// reference that does not verify returns the reason derivation drops it;
// data that cannot be fetched, an error (derivation waits).
func OffChainData(ctx context.Context, dac *da.CommitteeClient, das *da.SamplingClient, chainID uint64, data []byte) (kept []byte, drop string, err error) {
	switch {
	case len(data) == 0:
		return nil, "", nil
	case dac != nil && data[0] == da.CertVersion:
		cert, err := dac.Committee.Check(data, chainID)
		if err != nil {
			return nil, DropBadCertificate, err
		}
		kept, err = dac.Fetch(ctx, cert.DataHash)
		return kept, "", err
	case das != nil && data[0] == da.SampledVersion:
		com, err := da.ParseSampled(data)
		if err != nil {
			return nil, DropBadCommitment, err
		}
		// The data, or any quarter of its shares, from a storage node.
		kept, err = das.Fetch(ctx, com)
		return kept, "", err
	}
	return nil, "", nil
}
