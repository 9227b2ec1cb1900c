// Package l1 is Cairn's Layer 1 node: a CometBFT ABCI++ application that
// executes Ethereum-format transactions with the chain package, one Ethereum
// block per CometBFT height, the app hash being the state root of the newest
// block with transactions (apphash.go).
//
// The pieces, one file each:
//
//   - app.go: the ABCI++ application (CheckTx, PrepareProposal,
//     ProcessProposal, FinalizeBlock, Commit), with a cache so each node
//     executes each block once;
//   - apphash.go: the app hash CometBFT signs, which moves only with blocks
//     that carry transactions, so the chain can wait for work;
//   - decodecache.go: decoded transactions, and the senders the validators
//     of one process share;
//   - pool.go: the application's view of CometBFT's mempool — gapless
//     per-sender nonce queues, go-ethereum's validation and replacement rule;
//   - node.go: one node — CometBFT in-process (blocks on demand), the chain
//     store, JSON-RPC;
//   - cluster.go: the multi-validator harness (start, stop, restart, isolate,
//     heal, add a node, add a double-signing twin), used by tests and devnet;
//   - init.go, settings.go: node homes for separate processes and machines;
//   - gate.go: the peer filter the harness uses to cut nodes off;
//   - staking/: proof of stake.
//
// Usage, in a test or a program:
//
//	c, err := l1.NewCluster(l1.ClusterConfig{Dir: dir, Validators: 4, Genesis: g})
//	err = c.Start()
//	defer c.Stop()
//	err = c.WaitHeight(ctx, 10)
//	url := "http://" + c.RPCAddr(0)
package l1
