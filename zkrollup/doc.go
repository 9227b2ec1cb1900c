// Package zkrollup is Cairn's ZK rollup wing: accounts in a sparse Merkle
// tree hashed with Poseidon2 over BN254's scalar field, owned by L1
// addresses and controlled by L2 keys on BabyJubjub; a gnark circuit that
// proves a fixed-size batch of operations (transfer, deposit, withdraw,
// register, full exit) moves the tree from one root to the next; an L1
// contract that verifies each batch's Groth16 proof, keeps the priority
// queue of deposits and exit requests, pays withdrawals, and falls back to
// exit mode when the operator stops; and the operator that runs it all.
//
// Files:
//
//   - tree.go, ops.go: accounts, the tree, operations and their native checks
//   - circuit.go, witness.go: the batch circuit and its assignment
//   - pubdata.go: what a batch puts on L1 (16 bytes per transfer) and how
//     anyone rebuilds the state from it
//   - verifier.go: the L1 contract (a Cairn system contract)
//   - keys.go: compiling, the setup and its on-disk cache
//   - operator.go, journal.go, api.go: the operator, its durable journal,
//     and its zk_ JSON-RPC with a Go client
//   - exit.go, l1view.go: reading the contract, rebuilding from L1, exits
//   - wing.go: the wing's L1 genesis section
//
// The native tree and the circuit use the same Poseidon2 parameters
// (gnark-crypto v0.19.0's defaults for BN254: width 2, 6 full and 50
// partial rounds), so roots computed natively and in the circuit agree.
// docs/zkrollup.md describes the design as built.
package zkrollup
