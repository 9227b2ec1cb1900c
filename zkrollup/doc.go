// Package zkrollup is Cairn's ZK rollup wing (in progress): accounts in a
// sparse Merkle tree hashed with Poseidon2 over BN254's scalar field, L2 keys
// on BabyJubjub (gnark-crypto's twisted Edwards curve on BN254), and a gnark
// circuit that proves a fixed-size batch of signed transfers moves the tree
// from one root to the next.
//
// The native tree (tree.go) and the circuit (circuit.go) use the same
// Poseidon2 parameters (gnark-crypto v0.19.0's defaults for BN254: width 2,
// 6 full and 50 partial rounds) so that roots computed natively and in the
// circuit agree.
package zkrollup
