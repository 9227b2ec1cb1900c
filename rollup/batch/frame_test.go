package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestFramesRoundTrip(t *testing.T) {
	id := ChannelID{0xc4, 0xa1}
	for _, tc := range []struct {
		size, maxTxData, frames int
	}{
		{0, 25, 1},
		{1, 25, 1},
		{2, 25, 2},
		{1000, 124, 10},
		{1001, 124, 11},
		{5000, 120_000, 1},
		{3 * MaxFrameLen, 10 * MaxFrameLen, 3},
	} {
		data := randomBytes(uint64(tc.size), tc.size)
		frames, err := SplitFrames(id, data, tc.maxTxData)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if len(frames) != tc.frames {
			t.Fatalf("%+v: %d frames", tc, len(frames))
		}
		// One frame per transaction, each fitting maxTxData.
		asm := NewAssembler(10)
		var got []byte
		for i, f := range frames {
			if int(f.Number) != i || f.ID != id || f.IsLast != (i == len(frames)-1) {
				t.Fatalf("%+v: frame %d: %+v", tc, i, f)
			}
			txData := MarshalTxData(f)
			if len(txData) > tc.maxTxData {
				t.Fatalf("%+v: tx data of %d bytes", tc, len(txData))
			}
			parsed, err := ParseTxData(txData)
			if err != nil || len(parsed) != 1 {
				t.Fatalf("%+v: parse: %v", tc, err)
			}
			var dropped error
			got, dropped = asm.Add(parsed[0], 1)
			if dropped != nil {
				t.Fatal(dropped)
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%+v: channel data differs", tc)
		}
	}
}

func TestTxDataManyFrames(t *testing.T) {
	// Frames of two channels across several transactions, several frames a transaction.
	a, b := randomBytes(1, 700), randomBytes(2, 300)
	fa, err := SplitFrames(ChannelID{1}, a, 200)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := SplitFrames(ChannelID{2}, b, 200)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]Frame{}, fa...), fb...)
	txs := [][]byte{MarshalTxData(all[:2]...), MarshalTxData(all[2:5]...), MarshalTxData(all[5:]...)}
	var parsed []Frame
	for _, tx := range txs {
		fs, err := ParseTxData(tx)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, fs...)
	}
	if len(parsed) != len(all) {
		t.Fatalf("%d frames, want %d", len(parsed), len(all))
	}
	for i := range all {
		if parsed[i].ID != all[i].ID || parsed[i].Number != all[i].Number || parsed[i].IsLast != all[i].IsLast || !bytes.Equal(parsed[i].Data, all[i].Data) {
			t.Fatalf("frame %d differs", i)
		}
	}
	// Parsed frames do not alias the transaction data.
	parsed0 := append([]byte{}, parsed[0].Data...)
	clear(txs[0])
	if !bytes.Equal(parsed[0].Data, parsed0) {
		t.Fatal("parsed frame aliases its input")
	}
	asm := NewAssembler(100)
	var channels [][]byte
	for _, f := range parsed {
		data, dropped := asm.Add(f, 5)
		if dropped != nil {
			t.Fatal(dropped)
		}
		if data != nil {
			channels = append(channels, data)
		}
	}
	if len(channels) != 2 || !bytes.Equal(channels[0], a) || !bytes.Equal(channels[1], b) {
		t.Fatal("channels differ")
	}
}

func TestParseTxDataRejects(t *testing.T) {
	good := MarshalTxData(
		Frame{ID: ChannelID{9}, Number: 0, Data: []byte("hello")},
		Frame{ID: ChannelID{9}, Number: 1, Data: []byte("world"), IsLast: true},
	)
	if _, err := ParseTxData(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":       nil,
		"no frames":   {DerivationVersion0},
		"version":     append([]byte{0x01}, good[1:]...),
		"is_last = 2": append(good[:len(good)-1:len(good)-1], 2),
		"trailing":    append(append([]byte{}, good...), 0),
	}
	// Every truncation is refused: the whole tx data is invalid.
	for n := 0; n < len(good); n++ {
		if n == 1+FrameOverhead+5 {
			continue // exactly the first frame: valid
		}
		bad[fmt.Sprintf("truncated to %d bytes", n)] = good[:n]
	}
	tooLong := MarshalTxData(Frame{Data: make([]byte, MaxFrameLen+1)})
	bad["frame over MaxFrameLen"] = tooLong
	huge := append([]byte{}, good...)
	binary.BigEndian.PutUint32(huge[1+18:], 0xffffffff)
	bad["length 2^32-1"] = huge
	for name, data := range bad {
		if fs, err := ParseTxData(data); !errors.Is(err, ErrInvalidFrame) {
			t.Errorf("%s: %d frames, error %v, want ErrInvalidFrame", name, len(fs), err)
		}
	}
	if fs, err := ParseTxData(MarshalTxData(Frame{Data: make([]byte, MaxFrameLen)})); err != nil || len(fs[0].Data) != MaxFrameLen {
		t.Errorf("frame of MaxFrameLen: %v", err)
	}
}

func TestSplitFramesLimits(t *testing.T) {
	if _, err := SplitFrames(ChannelID{}, []byte{1}, 24); err == nil {
		t.Error("maxTxData 24 accepted")
	}
	if _, err := SplitFrames(ChannelID{}, make([]byte, MaxChannelSize+1), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("channel over MaxChannelSize: %v", err)
	}
	// 65535 frames of 1 byte fit, 65536 do not.
	if fs, err := SplitFrames(ChannelID{}, make([]byte, 65535), 25); err != nil || len(fs) != 65535 {
		t.Errorf("65535 frames: %v", err)
	}
	if _, err := SplitFrames(ChannelID{}, make([]byte, 65536), 25); !errors.Is(err, ErrTooLarge) {
		t.Errorf("65536 frames: %v", err)
	}
}
