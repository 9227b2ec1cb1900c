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
		in, out := b[round*128:(round+1)*128], stream[round*127:(round+1)*127]
		if in[0]|in[32]|in[64]|in[96] >= 0b0100_0000 {
			return nil, fmt.Errorf("%w: a field element of round %d has a top bit set", ErrBadBlob, round)
		}
		copy(out[0:31], in[1:32])
		out[31] = in[0] | ((in[32] & 0b0011_0000) << 2)
		copy(out[32:63], in[33:64])
		out[63] = (in[32] & 0b0000_1111) | ((in[96] & 0b0000_1111) << 4)
		copy(out[64:95], in[65:96])
		out[95] = in[64] | ((in[96] & 0b0011_0000) << 2)
		copy(out[96:127], in[97:128])
	}
	if stream[0] != blobVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadBlob, stream[0])
	}
	n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
	if n > MaxBlobData {
		return nil, fmt.Errorf("%w: length %d, at most %d", ErrBadBlob, n, MaxBlobData)
	}
	for _, c := range stream[4+n:] {
		if c != 0 {
			return nil, fmt.Errorf("%w: bytes past the length %d are not zero", ErrBadBlob, n)
		}
	}
	return stream[4 : 4+n], nil
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
