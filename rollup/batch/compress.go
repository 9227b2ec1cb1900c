package batch

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// The encoder and decoder are shared: EncodeAll and DecodeAll are safe for
// concurrent use.
var (
	encoder = sync.OnceValue(func() *zstd.Encoder {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedBestCompression),
			zstd.WithEncoderCRC(false),
			zstd.WithZeroFrames(true),
		)
		if err != nil {
			panic(fmt.Sprintf("batch: zstd encoder: %v", err)) // static options: cannot happen
		}
		return enc
	})
	decoder = sync.OnceValue(func() *zstd.Decoder {
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderMaxMemory(MaxChannelSize),
			zstd.WithDecoderMaxWindow(MaxChannelSize),
		)
		if err != nil {
			panic(fmt.Sprintf("batch: zstd decoder: %v", err)) // static options: cannot happen
		}
		return dec
	})
)

// Compress returns the channel data for one encoded batch: the batch
// compressed with zstd at level SpeedBestCompression, without checksum. The
// output is deterministic for a given version of the compressor, but derivation
// does not depend on it: any zstd encoding Decompress accepts is valid. A batch
// over MaxChannelSize bytes is refused with ErrTooLarge, since Decompress would
// refuse it.
func Compress(batch []byte) ([]byte, error) {
	if len(batch) > MaxChannelSize {
		return nil, fmt.Errorf("%w: batch of %d bytes, limit %d", ErrTooLarge, len(batch), MaxChannelSize)
	}
	return encoder().EncodeAll(batch, make([]byte, 0, len(batch)/2+64)), nil
}

// Decompress reverses Compress. It refuses, with ErrTooLarge, data that
// decompresses to more than MaxChannelSize bytes, without decompressing much
// more than that (at most one zstd frame past the limit, itself bounded by the
// limit). Data that is not valid zstd is an ErrInvalidBatch. Several
// concatenated zstd frames are accepted, as zstd defines.
func Decompress(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty channel", ErrInvalidBatch)
	}
	out, err := decoder().DecodeAll(data, nil)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, fmt.Errorf("%w: channel decompresses to more than %d bytes", ErrTooLarge, MaxChannelSize)
	case err != nil:
		return nil, fmt.Errorf("%w: zstd: %w", ErrInvalidBatch, err)
	case len(out) > MaxChannelSize:
		return nil, fmt.Errorf("%w: channel decompresses to more than %d bytes", ErrTooLarge, MaxChannelSize)
	}
	return out, nil
}
