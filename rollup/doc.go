// Package rollup is Cairn's optimistic rollup wing: its L1 contracts, its L2
// nodes and the dispute game between them. Its rules are in
// docs/rollup.md, numbered as the code cites them.
//
// The pieces, by concern:
//
// The spec, what every party must agree on:
//   - config.go: the rollup's Config (rollup.json) and the devnet's;
//   - engine.go: Attributes and BuildBlock, the one rule for making an L2
//     block (sequencer, derivation and the one-step proof all use it);
//   - l1info.go: the L1 origin in a block's extra-data;
//   - fees.go: the L1 data fee;
//   - withdraw.go: the L2 message passer, withdrawals and output roots.
//
// The L1 contracts (system contracts of the L1, installed through wing.go):
//   - portal.go: deposits, forced transactions, proving and finalizing
//     withdrawals;
//   - inbox.go: the batch inbox, which records the batcher's transactions;
//   - outputs.go, games.go: output proposals and their bisection games;
//   - onestep.go, steps.go, batchload.go, channel.go, l1headers.go,
//     metering.go: the one-step proof, whole or in parts, checking a block's
//     batch by derivation's channel rules (channel.go) and its L1 data.
//
// The nodes:
//   - node.go: a sequencer or verifier — the chain, the block loop, RPC;
//   - pool.go: the sequencer's mempool, with go-ethereum's rules;
//   - follow.go: signed unsafe blocks, and a verifier following them;
//   - derive.go: derivation from L1 (the Deriver, over an L1Source);
//   - l1reader.go: the L1 over JSON-RPC;
//   - batcher.go: posting the sequencer's blocks to the inbox, in calldata,
//     blobs, or through a committee or storage nodes (Config.DA);
//   - blobs.go: the rollup's data-availability checks shared by derivation
//     and proofs: blobs against versioned hashes, certified and sampled
//     data against their commitments;
//   - mparchive.go: the message passer's trie, kept for old proofs;
//   - agents.go, stepsprove.go: the proposer and challenger, and the proofs
//     they build;
//   - relayer.go, withdrawclient.go: proving and finalizing withdrawals from
//     the outside, as cairn withdraw and the devnet's relayer do.
//
// Tests and the lab:
//   - harness.go: System, a whole rollup on a hand-mined L1, moved by hand;
//   - story.go: Story, a System with a proposer and a challenger;
//   - attack.go: forged outputs, for attacks.
//
// The wire format of batches (span batches, channels, frames) is in
// rollup/batch.
package rollup
