package rolluptest

import (
	"testing"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
)

// Sequencer, batcher and verifier stop and start again from their data
// directories in the middle of the story; nothing confirmed is lost and the
// verifier ends on the sequencer's chain.
func TestActionRestarts(t *testing.T) {
	s, ctx := Start(t, Options{Dir: t.TempDir()})
	seq := Dial(t, s.Sequencer.RPCURL())
	var sent []*types.Transaction
	for i := range 3 {
		sent = append(sent, Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), Ether(1))))
		Must[*types.Block](t)(s.Sequence(ctx))
		if i == 0 {
			if err := s.Batch(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	safeBefore := s.Verifier.SafeHead()

	// Everything restarts.
	s.Batcher.Close()
	s.Sequencer.Close()
	s.Verifier.Close()
	if err := s.StartSequencer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.StartVerifier(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.StartBatcher(); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.SafeHead(); got.Hash() != safeBefore.Hash() {
		t.Fatalf("verifier's safe head %d after restart, was %d", got.Number, safeBefore.Number)
	}
	for _, tx := range sent {
		if !included(t, s.Sequencer, tx.Hash()) {
			t.Fatalf("soft-confirmed %s lost in the restart", tx.Hash())
		}
	}
	seq = Dial(t, s.Sequencer.RPCURL())
	sent = append(sent, Must[*types.Transaction](t)(s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), Ether(1))))
	Must[*types.Block](t)(s.Sequence(ctx))

	// The restarted batcher posts from the safe head; the verifier catches up.
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().Head().Hash() {
		t.Fatalf("verifier at %d, sequencer at %d", s.Verifier.Chain().Head().Number, s.Sequencer.Chain().Head().Number)
	}
	for _, tx := range sent {
		if !included(t, s.Verifier, tx.Hash()) {
			t.Fatalf("verifier lacks %s", tx.Hash())
		}
	}
}
