package batch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestCompressRoundTrip(t *testing.T) {
	for _, data := range [][]byte{{}, {1}, randomBytes(3, 5000), make([]byte, MaxChannelSize)} {
		ch, err := Compress(data)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Compress(data)
		if !bytes.Equal(ch, again) {
			t.Fatal("compression is not deterministic")
		}
		got, err := Decompress(ch)
		if err != nil {
			t.Fatalf("%d bytes: %v", len(data), err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: round trip differs", len(data))
		}
	}
	if _, err := Compress(make([]byte, MaxChannelSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("compress over limit: %v", err)
	}
}

func TestDecompressBomb(t *testing.T) {
	zeros := make([]byte, 20<<20)
	// With and without the content size in the frame header, and as two
	// frames of 10 MiB (each within the limit, not together).
	full, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	w, _ := zstd.NewWriter(&stream, zstd.WithEncoderLevel(zstd.SpeedFastest))
	w.Write(zeros)
	w.Close()
	half := full.EncodeAll(zeros[:MaxChannelSize], nil)
	bombs := map[string][]byte{
		"content size":  full.EncodeAll(zeros, nil),
		"streamed":      stream.Bytes(),
		"two frames":    append(append([]byte{}, half...), half...),
		"one byte over": full.EncodeAll(zeros[:MaxChannelSize+1], nil),
	}
	for name, bomb := range bombs {
		if len(bomb) > 10_000 {
			t.Fatalf("%s: bomb of %d bytes", name, len(bomb))
		}
		if _, err := Decompress(bomb); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: error %v, want ErrTooLarge", name, err)
		}
	}
	if got, err := Decompress(half); err != nil || len(got) != MaxChannelSize {
		t.Errorf("exactly MaxChannelSize: %v", err)
	}
}

func TestDecompressGarbage(t *testing.T) {
	ch, err := Compress(randomBytes(4, 1000))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not zstd at all"),
		"truncated": ch[:len(ch)-3],
	} {
		if _, err := Decompress(data); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}
}
