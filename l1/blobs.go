package l1

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

// Blob transactions (EIP-4844) reach the L1 in their network form, with
// their sidecar: the blobs, their KZG commitments and, since Osaka
// (EIP-7594), 128 cell proofs a blob. CometBFT orders and gossips them in
// that form, so every validator has the blobs of every block it commits;
// the Ethereum block holds the transactions without their sidecars, which
// the chain store keeps beside it (chain.Store.Sidecars) until pruned.

// ErrBadSidecar is returned for a blob transaction whose sidecar does not
// match it: missing, of the old (EIP-4844 proofs) version, with commitments
// that do not hash to its versioned hashes, or proofs that do not verify.
var ErrBadSidecar = errors.New("bad blob sidecar")

// checkSidecar checks a blob transaction's sidecar as go-ethereum's blob
// pool does: present, version 1, commitments matching the versioned hashes,
// at most BlobTxMaxBlobs blobs, 128 cell proofs a blob, and every cell
// proof verified against its commitment (crypto/kzg4844).
func checkSidecar(tx *types.Transaction) error {
	sc := tx.BlobTxSidecar()
	switch {
	case sc == nil:
		return fmt.Errorf("%w: blob transaction without its sidecar", ErrBadSidecar)
	case len(tx.BlobHashes()) == 0:
		return fmt.Errorf("%w: blob transaction without blobs", ErrBadSidecar)
	case len(tx.BlobHashes()) > params.BlobTxMaxBlobs:
		return fmt.Errorf("%w: %d blobs, at most %d", txpool.ErrTxBlobLimitExceeded, len(tx.BlobHashes()), params.BlobTxMaxBlobs)
	case sc.Version != types.BlobSidecarVersion1:
		return fmt.Errorf("%w: sidecar version %d, want %d (cell proofs, EIP-7594)", ErrBadSidecar, sc.Version, types.BlobSidecarVersion1)
	case len(sc.Blobs) != len(sc.Commitments) || len(sc.Proofs) != len(sc.Commitments)*kzg4844.CellProofsPerBlob:
		return fmt.Errorf("%w: %d blobs, %d commitments, %d proofs", ErrBadSidecar, len(sc.Blobs), len(sc.Commitments), len(sc.Proofs))
	}
	if err := sc.ValidateBlobCommitmentHashes(tx.BlobHashes()); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSidecar, err)
	}
	if err := kzg4844.VerifyCellProofs(sc.Blobs, sc.Commitments, sc.Proofs); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSidecar, err)
	}
	return nil
}

// sidecarsOf collects the sidecars of block's blob transactions from the
// raw transactions consensus decided.
func (a *App) sidecarsOf(raws [][]byte, block *types.Block) []chain.TxSidecar {
	if block.BlobGasUsed() == nil || *block.BlobGasUsed() == 0 {
		return nil
	}
	byHash := map[common.Hash]*types.BlobTxSidecar{}
	for _, raw := range raws {
		if len(raw) == 0 || raw[0] != types.BlobTxType {
			continue
		}
		if d, err := a.decode(raw); err == nil {
			byHash[d.tx.Hash()] = d.tx.BlobTxSidecar()
		}
	}
	var out []chain.TxSidecar
	for _, tx := range block.Transactions() {
		if sc := byHash[tx.Hash()]; sc != nil {
			out = append(out, chain.TxSidecar{TxHash: tx.Hash(), Sidecar: sc})
		}
	}
	return out
}
