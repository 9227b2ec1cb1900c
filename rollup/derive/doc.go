// Package derive rebuilds the optimistic rollup's L2 chain from L1 alone,
// as docs/rollup.md's rules 1–10 say: the batch inbox's transactions from
// the batcher, their frames assembled into channels (rollup/batch), the
// channels' span batches windowed and checked, and the portal's deposits
// and forced transactions, into the attributes of each block, which
// rollup.BuildBlock turns into the block.
//
// The Deriver is the same for a sequencer and a verifier; only its Sink
// differs. It reads the L1 through the narrow L1Source and tells a failed
// read (ErrTemporary: the same L1 block is read again) from a wrong chain
// (a reset).
//
// The one-step proof in package rollup checks a block by the same channel
// rules (batch.ChannelState) and the same block rule (rollup.BuildBlock).
//
// Files:
//   - derive.go: the Deriver, its L1Source and Sink, and the reasons it
//     drops data (counted by rollup.Drop*).
package derive
