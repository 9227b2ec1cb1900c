// Package batch is the wire format of Cairn's optimistic rollup: how the
// sequencer's L2 blocks are packed into batches, compressed into channels,
// split into frames and posted as calldata of L1 transactions sent to the
// batch inbox, and how a derivation node reassembles them.
//
// Everything here reads untrusted bytes taken from L1. Every decoder returns an
// error, never panics, and allocates no more than a small multiple of its
// input (or of a fixed limit) on any input.
//
// # Layers
//
//	L2 blocks ──Encode──▶ batch ──Compress──▶ channel ──SplitFrames──▶ frames
//	frames ──MarshalTxData──▶ calldata of L1 transactions to the batch inbox
//
// and back, on the derivation side:
//
//	calldata ──ParseTxData──▶ frames ──Assembler──▶ channel ──Decompress──▶ batch ──Decode──▶ L2 blocks
//
// # Span batch
//
// A batch carries a run of consecutive L2 blocks with only what derivation
// cannot recompute: each block's number, timestamp, L1 origin and the
// sequencer's transactions. It is modeled on the OP Stack's span batches: the
// fields of all transactions are stored column by column, so that values that
// repeat from one transaction to the next (chain ID, which is implied, 21000
// gas, equal fees, small nonces, empty data and access lists) compress to
// almost nothing, and a simple transfer costs little more than its 20-byte
// recipient and 64-byte signature.
//
// An encoded batch is the version byte SpanBatchVersion (0x01) followed by
// one RLP list, and nothing after it:
//
//	span_batch = 0x01 ++ rlp([
//	    parent_check,   // 20-byte string: first 20 bytes of the hash of the parent of the first block
//	    first_number,   // uint: number of the first block; block i is first_number + i
//	    first_time,     // uint: timestamp of the first block
//	    first_origin,   // uint: L1 origin number of the first block
//	    tx_counts,      // [uint; n]: transactions in each of the n blocks, 1 <= n <= MaxBlocksPerBatch
//	    time_deltas,    // [uint; n-1]: time[i+1] - time[i]
//	    origin_deltas,  // [uint; n-1]: origin[i+1] - origin[i]
//	    tx_types,       // string of N bytes, N = sum(tx_counts) <= MaxTxsPerBatch: 0x00 legacy, 0x01 access list, 0x02 dynamic fee
//	    y_parity,       // string of ceil(N/8) bytes: bit i%8 (least significant first) of byte i/8 is tx i's y parity
//	    signatures,     // string of 64*N bytes: r ++ s of each tx, 32 bytes each, big-endian
//	    creations,      // string of ceil(N/8) bytes, same bit order: set for a contract creation (no recipient)
//	    recipients,     // string of 20*(N - creations) bytes: the `to` of each tx that is not a creation
//	    nonces,         // [uint; N]
//	    gas_limits,     // [uint; N]
//	    values,         // [uint256; N]
//	    gas_prices,     // [uint256; N]: gas price (types 0 and 1) or max fee per gas (type 2)
//	    tip_caps,       // [uint256; number of type-2 txs]: max priority fee per gas, in order
//	    data,           // [string; N]: calldata
//	    access_lists,   // [access_list; number of type-1 and type-2 txs]: EIP-2930 access lists, in order
//	])
//
// All integers are canonical RLP integers (no leading zeros), uint256 values
// are at most 32 bytes, and the unused high bits of the last byte of a bit
// field are zero. The encoding is canonical: Encode is deterministic and
// Decode accepts exactly the byte strings Encode can produce, so every valid
// batch has a single encoding.
//
// The chain ID is not stored: type-1 and type-2 transactions carry the
// rollup's chain ID, and a legacy transaction must be EIP-155 protected for it,
// its V being y_parity + 35 + 2*chainID. Other transaction types (blobs, set
// code, deposits) cannot be batched (ErrUnsupportedTx). Decode rebuilds every
// transaction exactly, with the same hash as the one encoded; it does not check
// that signatures are valid, which is left to the execution of the block.
//
// # Channels
//
// A channel is a batch compressed with zstd (Compress, Decompress). A channel
// decompresses to at most MaxChannelSize bytes, and its compressed form is at
// most MaxChannelSize bytes too.
//
// # Frames
//
// A channel is split into frames, exactly as in the OP Stack
// (https://specs.optimism.io/protocol/derivation.html#frame-format):
//
//	frame    = channel_id (16 bytes) ++ frame_number (uint16, big-endian)
//	        ++ frame_data_length (uint32, big-endian) ++ frame_data ++ is_last (1 byte: 0 or 1)
//	calldata = DerivationVersion0 (0x00) ++ frame ++ frame ++ ...
//
// frame_data_length is at most MaxFrameLen. A calldata that is not well formed
// is discarded as a whole (ParseTxData).
//
// # Channel assembly
//
// The Assembler rebuilds channels from frames in L1 order under strict
// (Holocene-style) ordering rules; see Assembler for the rules.
package batch
