// Package chain is Cairn's execution core, shared by the L1, the sidechain and
// the optimistic rollup: blocks of Ethereum-format transactions applied to
// go-ethereum's StateDB and EVM, plus system contracts (native Go contracts at
// reserved addresses).
//
// The core is pure. [Build] takes a parent header, a block environment and an
// ordered list of transactions and returns a [Result]: the assembled block, its
// receipts and the post-state, not yet written anywhere. [Store.Commit] is the
// one place that writes a result to disk. Nothing here reads the wall clock,
// iterates a map in an order that matters, or uses floating point, so the same
// inputs give the same state root on every machine.
//
// The fork is Osaka, the newest fork activated on Ethereum mainnet that
// go-ethereum v1.17.10 supports. Fields that presume Ethereum's beacon chain get
// neutral values documented on [Env]: no withdrawals, a zero parent beacon root,
// no blobs, and PREVRANDAO set to the parent block's hash.
package chain
