// Package lab measures the layers of a Cairn stack with real workloads: it
// starts a network, drives signed transactions through JSON-RPC, and reports
// throughput and latency beside baselines measured in the same run, since the
// machines it runs on are shared and noisy.
package lab
