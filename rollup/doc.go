// Package rollup is the root of Cairn's optimistic rollup wing: the spec
// every party must agree on and the wing's L1 contracts, with the one-step
// proof they check disputes by. Its rules are in docs/rollup.md, numbered
// as the code cites them. The parties are in subpackages: derive
// (derivation), node (sequencer and verifier), batcher, agents (proposer,
// challenger, relayer) and rolluptest (a whole rollup on a hand-mined L1,
// for tests and the lab); the wire format of batches is in batch.
//
// The spec:
//   - config.go: the rollup's Config (rollup.json), the devnet's, and its
//     dev keys;
//   - engine.go: Attributes and BuildBlock, the one rule for making an L2
//     block (sequencer, derivation and the one-step proof all use it);
//   - l1info.go: the L1 origin in a block's extra-data;
//   - fees.go: the L1 data fee;
//   - withdraw.go: the L2 message passer, withdrawals and output roots;
//   - position.go: derivation's position, which output roots commit to;
//   - rules.go: derivation's batch rules (7 and 8) as pure functions, for
//     the deriver and the one-step proof alike;
//   - mparchive.go: the message passer's trie, kept for old proofs;
//   - da.go, blobs.go: the data-availability modes, and the checks of
//     blobs, certified and sampled data shared by derivation and proofs;
//   - drops.go: the reasons derivation drops data;
//   - l1reader.go: the L1 over JSON-RPC.
//
// The L1 contracts (system contracts of the L1, installed through wing.go):
//   - portal.go: deposits, forced transactions, proving and finalizing
//     withdrawals;
//   - inbox.go: the batch inbox, which records the batcher's transactions;
//   - outputs.go, games.go: output proposals and their bisection games;
//   - onestep.go, steps.go, batchload.go, channel.go, l1headers.go,
//     metering.go: the one-step proof, whole or in parts, and its L1 data;
//   - next.go: derivation in the proof, from the parent's position to the
//     block derivation makes next, over the inbox records (channel.go
//     reads them);
//   - nextprove.go, stepsprove.go: the prover's side;
//   - withdrawclient.go: the contracts read and called from outside
//     (L1View), as cairn withdraw, the agents and the explorer do.
package rollup
