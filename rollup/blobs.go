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

// checkBlobData checks that bt's data is what the blob of versioned hash
// vh decodes to: the data encodes to exactly one blob (the encoding is a
// bijection), whose commitment must hash to vh and whose KZG proof must
// verify against it.
func checkBlobData(bt *BatchTx, vh common.Hash) error {
	if len(bt.Commitment) != len(kzg4844.Commitment{}) || len(bt.BlobProof) != len(kzg4844.Proof{}) {
		return fmt.Errorf("a blob record needs the blob's commitment and proof")
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
	cert, err := da.ParseCertificate(bt.Data)
	if err != nil || dac.Verify(cert, chainID) != nil {
		return nil, nil
	}
	if crypto.Keccak256Hash(bt.Preimage) != cert.DataHash {
		return nil, fmt.Errorf("the data of certificate %s is not in the proof", cert.DataHash)
	}
	return bt.Preimage, nil
}
