// Package rolluptest runs a whole optimistic rollup in one process for
// tests and the lab: a hand-mined L1 (wingtest.L1Miner), a sequencer, a
// verifier and a batcher, moved only when told (System), and with a
// proposer and a challenger (Story). The scenario tests that read like
// stories — deposit, censor, challenge, win — are this package's tests;
// package rollup's own tests drive its proofs on a System.
//
// Files:
//   - harness.go: System and its Options;
//   - story.go: Story, a System with a proposer and a challenger;
//   - attack.go: forged outputs, for attacks;
//   - testing.go: helpers for tests (Start, Must, SendL1, ...).
package rolluptest
