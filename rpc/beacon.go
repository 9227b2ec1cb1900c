package rpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

// The Beacon API's blob sidecar endpoint, which op-node and blob tools
// read an L1's blobs from: GET /eth/v1/beacon/blob_sidecars/{block_id}
// on the same port as JSON-RPC. The block id is a Cairn block number,
// its hash, "head", "finalized" (the same: CometBFT blocks are final) or
// "genesis"; ?indices=0,2 picks blobs by their index in the block.
//
// Cairn has no beacon chain: the signed block header is the Cairn block's
// number and roots with an empty signature, and the commitment inclusion
// proof is empty. Clients that check blobs against their versioned hashes
// (op-node does) are served in full; the proof is the blob's KZG proof,
// computed from the cell proofs' blob as EIP-4844 defines it.
const beaconSidecarsPath = "/eth/v1/beacon/blob_sidecars/"

type beaconSidecar struct {
	Index          string           `json:"index"`
	Blob           hexutil.Bytes    `json:"blob"`
	KZGCommitment  hexutil.Bytes    `json:"kzg_commitment"`
	KZGProof       hexutil.Bytes    `json:"kzg_proof"`
	Header         beaconSignedHead `json:"signed_block_header"`
	InclusionProof []hexutil.Bytes  `json:"kzg_commitment_inclusion_proof"`
}

type beaconSignedHead struct {
	Message   beaconHead    `json:"message"`
	Signature hexutil.Bytes `json:"signature"`
}

type beaconHead struct {
	Slot          string      `json:"slot"`
	ProposerIndex string      `json:"proposer_index"`
	ParentRoot    common.Hash `json:"parent_root"`
	StateRoot     common.Hash `json:"state_root"`
	BodyRoot      common.Hash `json:"body_root"`
}

func beaconError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

// serveBlobSidecars answers the blob sidecar endpoint from b's chain.
func serveBlobSidecars(b Backend, w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, beaconSidecarsPath)
	chain := b.Chain()
	var number uint64
	switch {
	case id == "head" || id == "finalized":
		number = chain.Head().Number.Uint64()
	case id == "genesis":
		number = 0
	case strings.HasPrefix(id, "0x") && len(id) == 66:
		h := chain.GetHeaderByHash(common.HexToHash(id))
		if h == nil {
			beaconError(w, http.StatusNotFound, "Block not found")
			return
		}
		number = h.Number.Uint64()
	default:
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			beaconError(w, http.StatusBadRequest, fmt.Sprintf("Invalid block ID: %q (a block number, a block hash, head, finalized or genesis)", id))
			return
		}
		number = n
	}
	header := chain.GetHeaderByNumber(number)
	if header == nil {
		beaconError(w, http.StatusNotFound, "Block not found")
		return
	}
	cars, pruned, err := chain.Sidecars(number)
	if err != nil {
		beaconError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if pruned {
		beaconError(w, http.StatusNotFound, fmt.Sprintf("blob sidecars of block %d were pruned after the retention window", number))
		return
	}
	var want map[int]bool
	if q := r.URL.Query().Get("indices"); q != "" {
		want = map[int]bool{}
		for _, part := range strings.Split(q, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || i < 0 {
				beaconError(w, http.StatusBadRequest, fmt.Sprintf("Invalid indices: %q", q))
				return
			}
			want[i] = true
		}
	}
	head := beaconSignedHead{Message: beaconHead{Slot: strconv.FormatUint(number, 10), ProposerIndex: "0",
		ParentRoot: header.ParentHash, StateRoot: header.Root, BodyRoot: header.TxHash}, Signature: make([]byte, 96)}
	out := []beaconSidecar{}
	index := 0
	for _, c := range cars {
		for j := range c.Sidecar.Blobs {
			i := index
			index++
			if want != nil && !want[i] {
				continue
			}
			proof, err := kzg4844.ComputeBlobProof(&c.Sidecar.Blobs[j], c.Sidecar.Commitments[j])
			if err != nil {
				beaconError(w, http.StatusInternalServerError, err.Error())
				return
			}
			out = append(out, beaconSidecar{Index: strconv.Itoa(i), Blob: c.Sidecar.Blobs[j][:], KZGCommitment: c.Sidecar.Commitments[j][:],
				KZGProof: proof[:], Header: head, InclusionProof: []hexutil.Bytes{}})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": out})
}
