package batch

import "errors"

// Limits on what a batch, a channel and a frame may hold. They bound the
// memory a derivation node spends on untrusted input.
const (
	// MaxBlocksPerBatch is the most L2 blocks one batch may carry.
	MaxBlocksPerBatch = 100_000
	// MaxTxsPerBatch is the most transactions one batch may carry.
	MaxTxsPerBatch = 1_000_000
	// MaxChannelSize is the most bytes a channel may hold, both compressed
	// (the frames' data put together) and decompressed (the encoded batch).
	MaxChannelSize = 10 << 20
	// MaxFrameLen is the largest frame_data_length a frame may declare.
	MaxFrameLen = 1_000_000
)

// Sentinel errors. The errors returned by this package wrap one of them (test
// with errors.Is) and add the detail.
var (
	// ErrInvalidBatch: an encoded batch, or the Batch given to Encode, is
	// malformed (bad version, bad RLP, trailing bytes, counts over the limits
	// or not matching, non-consecutive blocks, decreasing time or origin, bad
	// transaction fields, ...). Decompress also returns it for channel data
	// that is not valid zstd.
	ErrInvalidBatch = errors.New("invalid batch")
	// ErrUnsupportedTx: Encode was given a transaction that a batch cannot
	// carry: a type other than 0, 1 and 2, a chain ID other than the
	// rollup's, a legacy transaction that is not EIP-155 protected, or a
	// field out of range (over 256 bits).
	ErrUnsupportedTx = errors.New("unsupported transaction")
	// ErrInvalidFrame: L1 transaction data is not a well-formed list of
	// frames (ParseTxData).
	ErrInvalidFrame = errors.New("invalid frame")
	// ErrTooLarge: data over MaxChannelSize (a channel being assembled, a
	// decompressed channel, data given to Compress or SplitFrames), or a
	// channel that needs more than 65535 frames.
	ErrTooLarge = errors.New("too large")
	// ErrChannelReplaced: the Assembler dropped its open, incomplete channel
	// because a frame number 0 opened a new one.
	ErrChannelReplaced = errors.New("channel replaced")
	// ErrFrameOutOfOrder: the Assembler dropped a frame that is not the next
	// frame of its open channel.
	ErrFrameOutOfOrder = errors.New("frame out of order")
	// ErrChannelTimeout: the Assembler dropped its open channel because it
	// was not completed within the channel timeout.
	ErrChannelTimeout = errors.New("channel timed out")
)
