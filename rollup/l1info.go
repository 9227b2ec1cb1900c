package rollup

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// L1Info is an L2 block's L1 origin: the newest L1 block whose deposits and
// forced transactions the L2 chain has taken in at that block. It is kept in
// the L2 header's extra-data, so the block hash commits to it.
type L1Info struct {
	Number  uint64
	Hash    common.Hash
	BaseFee *big.Int // the origin's base fee: the L1 gas price of the data fee
	// Forced is how many of the block's first transactions came from the
	// portal's queue rather than from the sequencer. Batches leave them out.
	Forced uint32
}

const l1InfoVersion = 1

// l1InfoLen is version (1) + number (8) + hash (32) + base fee (32) +
// forced (4).
const l1InfoLen = 1 + 8 + 32 + 32 + 4

// ErrNoL1Info is returned for an L2 header without a valid L1 origin.
var ErrNoL1Info = errors.New("header carries no L1 origin")

// EncodeL1Info returns the extra-data of an L2 block with this origin.
func EncodeL1Info(i L1Info) []byte {
	out := make([]byte, l1InfoLen)
	out[0] = l1InfoVersion
	binary.BigEndian.PutUint64(out[1:9], i.Number)
	copy(out[9:41], i.Hash[:])
	if i.BaseFee != nil {
		i.BaseFee.FillBytes(out[41:73])
	}
	binary.BigEndian.PutUint32(out[73:77], i.Forced)
	return out
}

// DecodeL1Info reads an L2 block's origin from its extra-data.
func DecodeL1Info(extra []byte) (L1Info, error) {
	if len(extra) != l1InfoLen || extra[0] != l1InfoVersion {
		return L1Info{}, fmt.Errorf("%w: extra-data of %d bytes", ErrNoL1Info, len(extra))
	}
	return L1Info{
		Number:  binary.BigEndian.Uint64(extra[1:9]),
		Hash:    common.BytesToHash(extra[9:41]),
		BaseFee: new(big.Int).SetBytes(extra[41:73]),
		Forced:  binary.BigEndian.Uint32(extra[73:77]),
	}, nil
}

// Origin returns an L2 header's L1 origin.
func Origin(h *types.Header) (L1Info, error) { return DecodeL1Info(h.Extra) }

// L1InfoOf returns the L1 info of an L1 header.
func L1InfoOf(h *types.Header) L1Info {
	fee := h.BaseFee
	if fee == nil {
		fee = new(big.Int)
	}
	return L1Info{Number: h.Number.Uint64(), Hash: h.Hash(), BaseFee: fee}
}

func addressOf(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }
