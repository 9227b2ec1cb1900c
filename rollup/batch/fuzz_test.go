package batch

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, enc := range seedEncodings(f) {
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(data, testChainID)
		if err != nil {
			if !errors.Is(err, ErrInvalidBatch) {
				t.Fatalf("error %v does not wrap ErrInvalidBatch", err)
			}
			return
		}
		// Canonical: what decodes re-encodes to the same bytes.
		enc, err := Encode(b, testChainID)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n%x\n%x", data, enc)
		}
		again, err := Decode(enc, testChainID)
		if err != nil {
			t.Fatal(err)
		}
		for i, blk := range b.Blocks {
			for j, tx := range blk.Txs {
				if again.Blocks[i].Txs[j].Hash() != tx.Hash() {
					t.Fatalf("block %d tx %d: hash differs", i, j)
				}
			}
		}
	})
}

func FuzzParseTxData(f *testing.F) {
	f.Add(MarshalTxData(Frame{ID: ChannelID{1}, Data: []byte("abc"), IsLast: true}))
	f.Add(MarshalTxData(Frame{ID: ChannelID{1}, Data: []byte("abc")}, Frame{ID: ChannelID{1}, Number: 1, IsLast: true}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := ParseTxData(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidFrame) {
				t.Fatalf("error %v does not wrap ErrInvalidFrame", err)
			}
			return
		}
		if len(frames) == 0 {
			t.Fatal("no frames and no error")
		}
		if !bytes.Equal(MarshalTxData(frames...), data) {
			t.Fatal("re-marshalled frames differ")
		}
	})
}

func FuzzDecompress(f *testing.F) {
	for _, enc := range seedEncodings(f) {
		ch, err := Compress(enc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ch)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decompress(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidBatch) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if len(out) > MaxChannelSize {
			t.Fatalf("%d bytes out", len(out))
		}
	})
}
