package batch

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DerivationVersion0 is the first byte of the calldata of a batcher
// transaction: the frames follow it.
const DerivationVersion0 = 0x00

// FrameOverhead is the number of bytes of a frame around its data: channel_id
// (16), frame_number (2), frame_data_length (4) and is_last (1).
const FrameOverhead = 23

const frameHeaderLen = FrameOverhead - 1 // everything before frame_data

// ChannelID identifies a channel; the batcher picks it at random.
type ChannelID [16]byte

// Frame is a piece of a channel, in the OP Stack's frame format:
//
//	frame = channel_id (16) ++ frame_number (uint16 BE) ++ frame_data_length (uint32 BE) ++ frame_data ++ is_last (1 byte, 0 or 1)
type Frame struct {
	ID     ChannelID
	Number uint16
	Data   []byte
	IsLast bool
}

// SplitFrames splits channel data into frames numbered from 0, each of which
// fits alone in the calldata of an L1 transaction of maxTxData bytes,
// version byte included; the last one has IsLast set. Empty data gives one
// empty, last frame. The frames' Data alias data.
//
// It fails if maxTxData leaves no room for at least one byte of data
// (maxTxData < 1 + FrameOverhead + 1), and with ErrTooLarge if data is over
// MaxChannelSize or needs more than 65535 frames.
func SplitFrames(id ChannelID, data []byte, maxTxData int) ([]Frame, error) {
	if maxTxData < 1+FrameOverhead+1 {
		return nil, fmt.Errorf("batch: maxTxData %d is less than %d", maxTxData, 1+FrameOverhead+1)
	}
	if len(data) > MaxChannelSize {
		return nil, fmt.Errorf("%w: channel of %d bytes, limit %d", ErrTooLarge, len(data), MaxChannelSize)
	}
	per := min(maxTxData-1-FrameOverhead, MaxFrameLen)
	n := max(1, (len(data)+per-1)/per)
	if n > math.MaxUint16 {
		return nil, fmt.Errorf("%w: channel of %d bytes needs %d frames of %d bytes, limit %d", ErrTooLarge, len(data), n, per, math.MaxUint16)
	}
	frames := make([]Frame, n)
	for i := range frames {
		end := min(len(data), (i+1)*per)
		frames[i] = Frame{ID: id, Number: uint16(i), Data: data[i*per : end : end], IsLast: i == n-1}
	}
	return frames, nil
}

// MarshalTxData returns the calldata of an L1 transaction carrying frames:
// DerivationVersion0 followed by each frame. ParseTxData accepts it if every
// frame's Data is at most MaxFrameLen bytes and there is at least one frame.
func MarshalTxData(frames ...Frame) []byte {
	size := 1
	for _, f := range frames {
		size += FrameOverhead + len(f.Data)
	}
	out := make([]byte, 1, size)
	out[0] = DerivationVersion0
	for _, f := range frames {
		out = append(out, f.ID[:]...)
		out = binary.BigEndian.AppendUint16(out, f.Number)
		out = binary.BigEndian.AppendUint32(out, uint32(len(f.Data)))
		out = append(out, f.Data...)
		if f.IsLast {
			out = append(out, 1)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// ParseTxData parses the calldata of a batcher transaction into its frames.
// It is all-or-nothing, as in the OP Stack: any defect (a version byte other
// than DerivationVersion0, no frames, a truncated frame, a frame_data_length
// over MaxFrameLen, an is_last byte other than 0 or 1) invalidates the whole
// calldata, with an ErrInvalidFrame. The frames' Data do not alias data.
func ParseTxData(data []byte) ([]Frame, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty transaction data", ErrInvalidFrame)
	}
	if data[0] != DerivationVersion0 {
		return nil, fmt.Errorf("%w: derivation version %#x, want %#x", ErrInvalidFrame, data[0], DerivationVersion0)
	}
	if len(data) == 1 {
		return nil, fmt.Errorf("%w: no frames", ErrInvalidFrame)
	}
	buf := append([]byte(nil), data[1:]...) // one copy for all frames' Data
	var frames []Frame
	for off := 0; off < len(buf); {
		rest := buf[off:]
		if len(rest) < frameHeaderLen {
			return nil, fmt.Errorf("%w: frame %d: truncated header (%d bytes)", ErrInvalidFrame, len(frames), len(rest))
		}
		var f Frame
		copy(f.ID[:], rest[:16])
		f.Number = binary.BigEndian.Uint16(rest[16:18])
		size := binary.BigEndian.Uint32(rest[18:22])
		if size > MaxFrameLen {
			return nil, fmt.Errorf("%w: frame %d: data length %d over %d", ErrInvalidFrame, len(frames), size, MaxFrameLen)
		}
		end := frameHeaderLen + int(size)
		if len(rest) <= end {
			return nil, fmt.Errorf("%w: frame %d: truncated (%d bytes, want %d)", ErrInvalidFrame, len(frames), len(rest), end+1)
		}
		f.Data = rest[frameHeaderLen:end:end]
		switch rest[end] {
		case 0:
		case 1:
			f.IsLast = true
		default:
			return nil, fmt.Errorf("%w: frame %d: is_last byte %#x", ErrInvalidFrame, len(frames), rest[end])
		}
		frames = append(frames, f)
		off += end + 1
	}
	return frames, nil
}
