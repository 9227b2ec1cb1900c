// Package channels is Cairn's payment-channel wing: two parties lock funds
// in the L1 adjudicator once, then pay each other off-chain by signing new
// states of their channel, and the L1 only settles the final balance or a
// dispute. Its rules are in docs/channels.md, numbered as the code cites
// them (C1, C2, ...).
//
// The pieces, by concern:
//   - state.go: a channel's State and HTLCs, their EIP-712 digest bound to
//     the L1 and the adjudicator (Domain), signing and checking signatures;
//   - abi.go: the adjudicator's Solidity ABI and the state's tuple;
//   - adjudicator.go: the L1 contract — open, fund, cooperative close,
//     unilateral close, challenge (with the penalty for a revoked state),
//     conclude, HTLC settlement and the secret registry;
//   - l1.go: the adjudicator's calls and views over JSON-RPC;
//   - wing.go: the wing's L1 genesis section and its contracts.
package channels
