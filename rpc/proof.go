package rpc

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// maxProofKeys bounds the storage keys of one eth_getProof, as geth does.
const maxProofKeys = 1024

// AccountResult is eth_getProof's answer (EIP-1186).
type AccountResult struct {
	Address      common.Address  `json:"address"`
	AccountProof []string        `json:"accountProof"`
	Balance      *hexutil.Big    `json:"balance"`
	CodeHash     common.Hash     `json:"codeHash"`
	Nonce        hexutil.Uint64  `json:"nonce"`
	StorageHash  common.Hash     `json:"storageHash"`
	StorageProof []StorageResult `json:"storageProof"`
}

// StorageResult is one storage slot's proof.
type StorageResult struct {
	Key   string       `json:"key"`
	Value *hexutil.Big `json:"value"`
	Proof []string     `json:"proof"`
}

type proofList []string

func (n *proofList) Put(_ []byte, value []byte) error {
	*n = append(*n, hexutil.Encode(value))
	return nil
}

func (n *proofList) Delete([]byte) error { return fmt.Errorf("proof list is append-only") }

// GetProof returns the Merkle proofs of an account and some of its storage
// slots (EIP-1186), as rollup withdrawals need.
func (api *EthAPI) GetProof(ctx context.Context, address common.Address, keys []common.Hash, at *rpc.BlockNumberOrHash) (*AccountResult, error) {
	if len(keys) > maxProofKeys {
		return nil, invalidParams("too many storage keys requested (max %d, got %d)", maxProofKeys, len(keys))
	}
	where := rpc.BlockNumberOrHashWithNumber(rpc.LatestBlockNumber)
	if at != nil {
		where = *at
	}
	st, header, err := api.stateAt(where)
	if err != nil {
		return nil, err
	}
	storageRoot := st.GetStorageRoot(address)
	res := &AccountResult{
		Address:      address,
		Balance:      (*hexutil.Big)(st.GetBalance(address).ToBig()),
		CodeHash:     st.GetCodeHash(address),
		Nonce:        hexutil.Uint64(st.GetNonce(address)),
		StorageHash:  storageRoot,
		StorageProof: make([]StorageResult, len(keys)),
	}
	if res.StorageHash == (common.Hash{}) {
		res.StorageHash = types.EmptyRootHash
	}
	for i, key := range keys {
		res.StorageProof[i] = StorageResult{Key: hexutil.Encode(key[:]), Value: (*hexutil.Big)(st.GetState(address, key).Big()), Proof: []string{}}
	}
	if len(keys) > 0 && storageRoot != types.EmptyRootHash && storageRoot != (common.Hash{}) {
		tr, err := st.Database().OpenStorageTrie(header.Root, address, storageRoot, nil)
		if err != nil {
			return nil, err
		}
		for i, key := range keys {
			var proof proofList
			if err := tr.Prove(crypto.Keccak256(key.Bytes()), &proof); err != nil {
				return nil, err
			}
			res.StorageProof[i].Proof = proof
		}
	}
	tr, err := st.Database().OpenTrie(header.Root)
	if err != nil {
		return nil, err
	}
	var accountProof proofList
	if err := tr.Prove(crypto.Keccak256(address.Bytes()), &accountProof); err != nil {
		return nil, err
	}
	res.AccountProof = accountProof
	return res, nil
}
