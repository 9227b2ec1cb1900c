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
//
// The off-chain protocol, pure:
//   - update.go: the operations of an update and Apply, the one rule for
//     the next state;
//   - machine.go: Machine, one party's side of one channel — propose,
//     accept, confirm, resynchronise — returning what to save and send.
//
// The node, the shell around the machines:
//   - node.go: Node, its config and its loop (one round: step, one fsync,
//     then send and answer);
//   - links.go: the node's channels, its peers, and the L1 watcher;
//   - peer.go: node URIs and RLPx connections;
//   - wire.go: peer messages and channel updates on the wire;
//   - pay.go: invoices, payments, forwarding, and going to L1 when a peer
//     will not settle;
//   - graph.go: the channel graph and route finding;
//   - tower.go: the watchtower;
//   - store.go: the node's pebble store;
//   - api.go: the node's actions and its ch_ JSON-RPC;
//   - harness.go: Network, nodes on a hand-mined L1 for tests and the lab.
package channels
