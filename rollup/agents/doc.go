// Package agents holds the optimistic rollup's L1-facing actors, each a
// loop over one trusted L2 node (a verifier) and an L1 account:
//   - agents.go: the proposer, which posts output roots with a bond and
//     defends them, and the challenger, which disputes false ones; both
//     play the bisection game and submit one-step proofs, whole or in
//     parts;
//   - relayer.go: the relayer, which proves and finalizes withdrawals for
//     their owners, as the devnet runs it.
package agents
