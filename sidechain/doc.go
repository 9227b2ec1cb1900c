// Package sidechain is Cairn's sidechain wing: a second chain with its own
// validators, executing Ethereum transactions with the same execution
// core, and the bridges that move ETH between it and the L1. Its rules
// are in docs/sidechain.md, numbered as the code cites them (S1, ...).
//
// The pieces:
//   - light.go: a CometBFT light client kept in a system contract's
//     storage (CometBFT's own light.Verify), with misbehaviour and expiry;
//   - lightbridge.go: the light-client bridge's two halves, each a light
//     client of the other chain and a vault paying on Merkle proofs;
//   - lightrelay.go: its relayer and watcher, and the guardian's recovery;
//   - lightsource.go: light blocks from a node's cairn_lightBlock, and
//     HandConsensus, which signs real CometBFT headers for hand-mined
//     chains; lightworld.go: the two-chain world tests and attacks use;
//   - lightcost.go: the light client's gas and time by validator count;
//   - multisig.go: the multisig bridge (Ronin's design), its L1 half and
//     its sidechain half, and the attestations M of its N keys sign;
//   - attester.go: the attesters and relayer that carry transfers across;
//   - wing.go: the wing's L1 genesis section, its contracts on each chain.
package sidechain
