package da

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

// Blob encoding: the OP Stack's (specs/protocol/ecotone/derivation.md,
// "Blob Encoding"), so a rollup's blobs read the same in Cairn and in
// op-node. A blob is 4,096 field elements of 32 bytes; each element keeps
// its top two bits zero (so it stays below the BLS12-381 modulus) and
// carries 254 bits of data, four elements 127 bytes. The first data byte
// is the version (0), the next three the data's length (big-endian); bytes
// past the length must be zero, so that every data has exactly one blob
// and every valid blob exactly one data.

// MaxBlobData is the most data one blob carries.
const MaxBlobData = (4*31+3)*1024 - 4

const (
	blobRounds       = 1024
	blobVersion      = 0
	blobVersionIndex = 1 // the version byte's place in the blob
)

// ErrBadBlob is returned for a blob that is not a valid encoding: a field
// element with either of its top bits set, another version, a length past
// MaxBlobData, or bytes past the length that are not zero.
var ErrBadBlob = errors.New("not a valid blob encoding")

// blobStream is the bytes the rounds carry: the version, the length and
// the data, zero past it.
const blobStream = (4*31 + 3) * blobRounds

// EncodeBlob encodes data (at most MaxBlobData bytes) into a blob.
func EncodeBlob(data []byte) (*kzg4844.Blob, error) {
	if len(data) > MaxBlobData {
		return nil, fmt.Errorf("blob data of %d bytes, at most %d", len(data), MaxBlobData)
	}
	stream := make([]byte, blobStream)
	stream[0] = blobVersion
	stream[1], stream[2], stream[3] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(stream[4:], data)
	var b kzg4844.Blob
	for round := 0; round < blobRounds; round++ {
		in, out := stream[round*127:(round+1)*127], b[round*128:(round+1)*128]
		x, y, z := in[31], in[63], in[95]
		out[0] = x & 0b0011_1111
		copy(out[1:32], in[0:31])
		out[32] = (y & 0b0000_1111) | ((x & 0b1100_0000) >> 2)
		copy(out[33:64], in[32:63])
		out[64] = z & 0b0011_1111
		copy(out[65:96], in[64:95])
		out[96] = ((z & 0b1100_0000) >> 2) | ((y & 0b1111_0000) >> 4)
		copy(out[97:128], in[96:127])
	}
	return &b, nil
}

// DecodeBlob returns the data blob b encodes, or ErrBadBlob.
func DecodeBlob(b *kzg4844.Blob) ([]byte, error) {
	stream := make([]byte, blobStream)
	for round := 0; round < blobRounds; round++ {
		if err := decodeRound(b[round*128:(round+1)*128], stream[round*127:(round+1)*127], round); err != nil {
			return nil, err
		}
	}
	n, err := streamLength(stream)
	if err != nil {
		return nil, err
	}
	for _, c := range stream[4+n:] {
		if c != 0 {
			return nil, fmt.Errorf("%w: bytes past the length %d are not zero", ErrBadBlob, n)
		}
	}
	return stream[4 : 4+n], nil
}

// decodeRound decodes one round: 128 blob bytes into 127 stream bytes.
func decodeRound(in, out []byte, round int) error {
	if in[0]|in[32]|in[64]|in[96] >= 0b0100_0000 {
		return fmt.Errorf("%w: a field element of round %d has a top bit set", ErrBadBlob, round)
	}
	copy(out[0:31], in[1:32])
	out[31] = in[0] | ((in[32] & 0b0011_0000) << 2)
	copy(out[32:63], in[33:64])
	out[63] = (in[32] & 0b0000_1111) | ((in[96] & 0b0000_1111) << 4)
	copy(out[64:95], in[65:96])
	out[95] = in[64] | ((in[96] & 0b0011_0000) << 2)
	copy(out[96:127], in[97:128])
	return nil
}

// streamLength reads the version and length at the stream's start.
func streamLength(stream []byte) (int, error) {
	if stream[0] != blobVersion {
		return 0, fmt.Errorf("%w: version %d", ErrBadBlob, stream[0])
	}
	n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
	if n > MaxBlobData {
		return 0, fmt.Errorf("%w: length %d, at most %d", ErrBadBlob, n, MaxBlobData)
	}
	return n, nil
}

// A blob's data cells (EIP-7594) are its 64 slices of 2,048 bytes, each
// with a KZG proof against the blob's commitment; a cell holds 16 whole
// rounds. That a blob is not a valid encoding shows in at most two of
// them, so a proof can show it without carrying the blob.
const roundsPerCell = len(kzg4844.Cell{}) / 128

// InvalidCells returns the indices of the data cells that show blob b is
// not a valid encoding of at most maxData bytes (see CellsShowInvalid), or
// nil when it is one.
func InvalidCells(b *kzg4844.Blob, maxData int) []uint64 {
	if data, err := DecodeBlob(b); err == nil && len(data) <= maxData {
		return nil
	}
	cell := func(i int) *kzg4844.Cell {
		return (*kzg4844.Cell)(b[i*len(kzg4844.Cell{}) : (i+1)*len(kzg4844.Cell{})])
	}
	if CellsShowInvalid(map[uint64]*kzg4844.Cell{0: cell(0)}, maxData) {
		return []uint64{0}
	}
	for i := 1; i < kzg4844.DataPerBlob; i++ {
		if CellsShowInvalid(map[uint64]*kzg4844.Cell{0: cell(0), uint64(i): cell(i)}, maxData) {
			return []uint64{0, uint64(i)}
		}
	}
	return nil // unreachable for a blob that does not decode
}

// CellsShowInvalid reports whether the given data cells of a blob show it
// is not a valid encoding of at most maxData bytes: a field element of any
// of them with a top bit set, or, with cell 0 among them, another version,
// a length past MaxBlobData or maxData, or a byte past the length that is
// not zero in any of them. A length past maxData shows in cell 0 alone.
func CellsShowInvalid(cells map[uint64]*kzg4844.Cell, maxData int) bool {
	streams := map[uint64][]byte{}
	for i, c := range cells {
		if i >= kzg4844.DataPerBlob {
			continue
		}
		st := make([]byte, roundsPerCell*127)
		for r := 0; r < roundsPerCell; r++ {
			if decodeRound(c[r*128:(r+1)*128], st[r*127:(r+1)*127], int(i)*roundsPerCell+r) != nil {
				return true
			}
		}
		streams[i] = st
	}
	first, ok := streams[0]
	if !ok {
		return false
	}
	n, err := streamLength(first)
	if err != nil || n > maxData {
		return true
	}
	for i, st := range streams {
		base := int(i) * roundsPerCell * 127
		for k, c := range st {
			if base+k >= 4+n && c != 0 {
				return true
			}
		}
	}
	return false
}

// EncodeBlobs cuts data into as many blobs as it needs (at least one).
func EncodeBlobs(data []byte) ([]kzg4844.Blob, error) {
	var out []kzg4844.Blob
	for len(out) == 0 || len(data) > 0 {
		n := min(len(data), MaxBlobData)
		b, err := EncodeBlob(data[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
		data = data[n:]
	}
	return out, nil
}
