// Package batcher posts the optimistic rollup's sequenced blocks to L1:
// span batches, compressed into channels, split into frames, in calldata or
// blobs to the batch inbox, or kept by a data-availability committee or
// storage nodes with only a certificate or commitment on L1
// (rollup.Config.DA). Planning a post (Plan), sending it (Send) and
// confirming it (Confirm) are separate steps, so action tests move them by
// hand; clocks and channel IDs are injected.
//
// Files:
//   - batcher.go: the Batcher, its Config and defaults.
package batcher
