package da

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

// BlobSidecar is one blob as the Beacon API serves it: the blob, its KZG
// commitment and the blob's KZG proof (EIP-4844's, not a cell proof).
type BlobSidecar struct {
	Blob       kzg4844.Blob
	Commitment kzg4844.Commitment
	Proof      kzg4844.Proof
}

// VersionedHash is the blob's versioned hash (EIP-4844: version 1, then
// SHA-256 of the commitment).
func (s *BlobSidecar) VersionedHash() common.Hash {
	return kzg4844.CalcBlobHashV1(sha256.New(), &s.Commitment)
}

// ErrBlobMismatch is returned for a blob that does not match the
// versioned hash asked for: another commitment, or a proof that does not
// tie the blob to it.
var ErrBlobMismatch = errors.New("blob does not match its versioned hash")

// VerifyBlob checks that sc is the blob of versioned hash vh: its
// commitment hashes to vh and its KZG proof ties the blob to that
// commitment (about 2 ms).
func VerifyBlob(sc *BlobSidecar, vh common.Hash) error {
	if sc.VersionedHash() != vh {
		return fmt.Errorf("%w: commitment hashes to %s, want %s", ErrBlobMismatch, sc.VersionedHash(), vh)
	}
	if err := kzg4844.VerifyBlobProof(&sc.Blob, sc.Commitment, sc.Proof); err != nil {
		return fmt.Errorf("%w: %v", ErrBlobMismatch, err)
	}
	return nil
}

// ErrBlobUnavailable is returned when the source does not have a blob
// asked for (not yet served, or pruned after its retention window).
var ErrBlobUnavailable = errors.New("blob unavailable")

// BeaconClient reads blobs from the Beacon API's blob sidecar endpoint,
// GET /eth/v1/beacon/blob_sidecars/{block_id}, which Cairn's L1 serves on
// each validator's JSON-RPC port (rpc/beacon.go) and Ethereum's consensus
// clients serve on theirs. Every blob is checked against its versioned
// hash, so the endpoint need not be trusted.
type BeaconClient struct {
	URL    string // base URL, e.g. http://127.0.0.1:8545
	Client *http.Client
}

// NewBeaconClient returns a client of the Beacon API at url.
func NewBeaconClient(url string) *BeaconClient {
	return &BeaconClient{URL: strings.TrimSuffix(url, "/"), Client: &http.Client{Timeout: 30 * time.Second}}
}

// maxSidecarsResponse bounds one response: a block's blobs in hex.
const maxSidecarsResponse = 64 << 20

// Blobs returns the blobs of the given versioned hashes that L1 block
// number carries, in the order asked, each verified.
func (c *BeaconClient) Blobs(ctx context.Context, number uint64, hashes []common.Hash) ([]*BlobSidecar, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/eth/v1/beacon/blob_sidecars/%d", c.URL, number), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("blob sidecars of L1 block %d: %w", number, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSidecarsResponse))
	if err != nil {
		return nil, fmt.Errorf("blob sidecars of L1 block %d: %w", number, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: L1 block %d: %s", ErrBlobUnavailable, number, strings.TrimSpace(string(body)))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("blob sidecars of L1 block %d: HTTP %d: %s", number, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var out struct {
		Data []struct {
			Blob          hexutil.Bytes `json:"blob"`
			KZGCommitment hexutil.Bytes `json:"kzg_commitment"`
			KZGProof      hexutil.Bytes `json:"kzg_proof"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("blob sidecars of L1 block %d: %w", number, err)
	}
	byHash := map[common.Hash]*BlobSidecar{}
	for _, d := range out.Data {
		if len(d.Blob) != len(kzg4844.Blob{}) || len(d.KZGCommitment) != 48 || len(d.KZGProof) != 48 {
			continue // not a blob: the checks below would refuse it anyway
		}
		sc := new(BlobSidecar)
		copy(sc.Blob[:], d.Blob)
		copy(sc.Commitment[:], d.KZGCommitment)
		copy(sc.Proof[:], d.KZGProof)
		byHash[sc.VersionedHash()] = sc
	}
	cars := make([]*BlobSidecar, len(hashes))
	for i, h := range hashes {
		sc := byHash[h]
		if sc == nil {
			return nil, fmt.Errorf("%w: L1 block %d has no blob %s", ErrBlobUnavailable, number, h)
		}
		if err := VerifyBlob(sc, h); err != nil {
			return nil, fmt.Errorf("L1 block %d: %w", number, err)
		}
		cars[i] = sc
	}
	return cars, nil
}
