// Package sidechain is Cairn's sidechain wing: a second chain with its own
// validators, executing Ethereum transactions with the same execution
// core, and the bridges that move ETH between it and the L1. Its rules
// are in docs/sidechain.md, numbered as the code cites them (S1, ...).
//
// The pieces:
//   - multisig.go: the multisig bridge (Ronin's design), its L1 half and
//     its sidechain half, and the attestations M of its N keys sign;
//   - attester.go: the attesters and relayer that carry transfers across;
//   - wing.go: the wing's L1 genesis section, its contracts on each chain.
package sidechain
