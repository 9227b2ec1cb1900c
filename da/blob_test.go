package da

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

func TestBlobRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 27, 31, 32, 126, 127, 128, 4000, MaxBlobData - 1, MaxBlobData} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		b, err := EncodeBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b); i += 32 {
			if b[i]&0b1100_0000 != 0 {
				t.Fatalf("%d bytes: field element %d has a top bit set", n, i/32)
			}
		}
		got, err := DecodeBlob(b)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: decoded %d bytes, err %v", n, len(got), err)
		}
	}
	if _, err := EncodeBlob(make([]byte, MaxBlobData+1)); err == nil {
		t.Fatal("data past MaxBlobData was encoded")
	}
}

// The encoding is the OP Stack's: "hello" has this known layout (the
// version at byte 1, the length at bytes 2–4, the data from byte 5).
func TestBlobLayout(t *testing.T) {
	b, _ := EncodeBlob([]byte("hello"))
	if b[0] != 0 || b[1] != 0 || b[2] != 0 || b[3] != 0 || b[4] != 5 || string(b[5:10]) != "hello" {
		t.Fatalf("layout: % x", b[:12])
	}
}

func TestBadBlobsRefused(t *testing.T) {
	good, _ := EncodeBlob([]byte("some rollup data"))
	for name, spoil := range map[string]func(b []byte){
		"top bit":       func(b []byte) { b[64] |= 0x80 },
		"version":       func(b []byte) { b[1] = 1 },
		"length":        func(b []byte) { b[2] = 0xff },
		"trailing data": func(b []byte) { b[1000] = 7 },
	} {
		b := *good
		spoil(b[:])
		if _, err := DecodeBlob(&b); !errors.Is(err, ErrBadBlob) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEncodeBlobsSplits(t *testing.T) {
	data := bytes.Repeat([]byte{9}, 2*MaxBlobData+5)
	blobs, err := EncodeBlobs(data)
	if err != nil || len(blobs) != 3 {
		t.Fatalf("%d blobs, %v", len(blobs), err)
	}
	var all []byte
	for i := range blobs {
		part, err := DecodeBlob(&blobs[i])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, part...)
	}
	if !bytes.Equal(all, data) {
		t.Fatal("blobs do not join back into the data")
	}
}

// FuzzDecodeBlob: any bytes decode or are refused, never panic, and what
// decodes encodes back to the same blob (the encoding is a bijection).
func FuzzDecodeBlob(f *testing.F) {
	good, _ := EncodeBlob([]byte("seed"))
	f.Add(good[:200])
	f.Add([]byte{0, 0, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, head []byte) {
		good, _ := EncodeBlob(nil)
		b := *good
		copy(b[:], head)
		data, err := DecodeBlob(&b)
		if err != nil {
			return
		}
		again, err := EncodeBlob(data)
		if err != nil || *again != b {
			t.Fatalf("decoded blob does not encode back: %v", err)
		}
	})
}

// An invalid blob shows itself in at most two of its cells, and a valid
// one in none.
func TestInvalidCells(t *testing.T) {
	good, _ := EncodeBlob([]byte("valid data"))
	if InvalidCells(good, MaxBlobData) != nil {
		t.Fatal("a valid blob shown invalid")
	}
	cells := func(b []byte, idx []uint64) map[uint64]*kzg4844.Cell {
		out := map[uint64]*kzg4844.Cell{}
		for _, i := range idx {
			out[i] = (*kzg4844.Cell)(b[i*2048 : (i+1)*2048])
		}
		return out
	}
	for name, c := range map[string]struct {
		spoil func(b []byte)
		want  []uint64
	}{
		"top bit in cell 5":  {func(b []byte) { b[5*2048+32] = 0x40 }, []uint64{0, 5}},
		"version":            {func(b []byte) { b[1] = 3 }, []uint64{0}},
		"trailing in cell 9": {func(b []byte) { b[9*2048+70] = 1 }, []uint64{0, 9}},
	} {
		b := *good
		c.spoil(b[:])
		got := InvalidCells(&b, MaxBlobData)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: cells %v, want %v", name, got, c.want)
		}
		if !CellsShowInvalid(cells(b[:], got), MaxBlobData) {
			t.Errorf("%s: its cells do not show it", name)
		}
		// Without cell 0 a trailing byte proves nothing.
		if name == "trailing in cell 9" && CellsShowInvalid(cells(b[:], []uint64{9}), MaxBlobData) {
			t.Error("a trailing byte shown without the length")
		}
	}
	if CellsShowInvalid(cells(good[:], []uint64{0, 1, 63}), MaxBlobData) {
		t.Fatal("a valid blob's cells show it invalid")
	}
	// A valid blob holding more than a reader's limit shows it in cell 0.
	if got := InvalidCells(good, 5); !slices.Equal(got, []uint64{0}) || !CellsShowInvalid(cells(good[:], got), 5) {
		t.Fatalf("a blob over the limit: cells %v", got)
	}
	if InvalidCells(good, len("valid data")) != nil {
		t.Fatal("a blob at the limit shown invalid")
	}
}
