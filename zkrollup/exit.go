package zkrollup

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/ethclient"
)

// RebuildFromL1 rebuilds every account at L1's verified root from L1 alone:
// the public data of each verified batch, replayed from the genesis tree of
// the contract's rules p. It
// is what a user runs to leave in exit mode, when the operator is gone.
func RebuildFromL1(ctx context.Context, c *ethclient.Client, p VerifierParams) (*Tree, error) {
	l := &l1Contract{c: c}
	batches, err := l.verifiedBatches(ctx)
	if err != nil {
		return nil, err
	}
	t := GenesisTree(p.Depth, p.Operator)
	t.SetDomain(p.Domain())
	for i, data := range batches {
		if err := t.Replay(data); err != nil {
			return nil, fmt.Errorf("verified batch %d: %w", i, err)
		}
	}
	out, err := l.call(ctx, "stateRoot")
	if err != nil {
		return nil, err
	}
	if root := out[0].([32]byte); rootBytes(t.Root()) != root {
		return nil, fmt.Errorf("the rebuilt root %x is not L1's %x", rootBytes(t.Root()), root)
	}
	return t, nil
}

// ExitCalldata returns the call of exit for an account of the tree at L1's
// verified root: its leaf and Merkle path.
func ExitCalldata(t *Tree, account uint64) ([]byte, error) {
	if account >= 1<<t.depth {
		return nil, ErrIndex
	}
	a := t.Account(account)
	sib := make([][32]byte, 0, t.depth)
	for _, s := range t.Proof(account) {
		sib = append(sib, s.Bytes())
	}
	return VerifierABI.Pack("exit", uint32(account), a.Address, [32]byte(a.PubX.Bytes()), [32]byte(a.PubY.Bytes()), a.Nonce, a.Balance, sib)
}

// InExitMode reports whether the L1 contract is in exit mode.
func InExitMode(ctx context.Context, c *ethclient.Client) (bool, error) {
	return (&l1Contract{c: c}).exitMode(ctx)
}
