// Package lab measures the layers of a Cairn stack with real workloads: it
// starts a network, drives signed transactions through JSON-RPC, and reports
// throughput and latency beside baselines measured in the same run, since the
// machines it runs on are shared and noisy. It also runs the attacks each
// design must survive (attack*.go), and fills the Layer 1 vs Layer 2
// comparison table from one running stack (compare*.go, docs/lab.md).
package lab
