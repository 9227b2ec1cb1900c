// Package node is the optimistic rollup's L2 node: a sequencer, which
// orders transactions into blocks and publishes them signed, or a verifier,
// which follows those signed blocks and derives the chain from L1 (package
// derive) to make them safe. Both serve Ethereum JSON-RPC and the rollup_
// namespace, which hands out one-step proofs, output roots and message
// passer proofs to the agents (package agents).
//
// Files:
//   - node.go: the Node — its chain, its block loop, derivation, RPC;
//   - pool.go: the sequencer's mempool, with go-ethereum's rules;
//   - follow.go: signed unsafe blocks (rollup_unsafeBlocks) and a
//     verifier following them.
package node
