package node

import (
	"context"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"
)

// The internals this package's external tests reach (they run on a
// rolluptest.System, which imports this package).
var (
	ErrDiverged  = errDiverged
	ErrUnsafeGap = errUnsafeGap
	FollowWait   = followWait
)

// ApplyUnsafe is applyUnsafe.
func (n *Node) ApplyUnsafe(ctx context.Context, b *types.Block) (bool, error) {
	return n.applyUnsafe(ctx, b)
}

// Reorgs counts the node's reorganisations.
func (n *Node) Reorgs() prometheus.Counter { return n.reorgs }

// ResetPool empties the sequencer's pool.
func (n *Node) ResetPool() { n.pool.reset() }

// NewAPIWithSlots is n's rollup_ API with a long poll of this many waiting
// calls, all taken.
func NewAPIWithSlots(n *Node, slots int) *API {
	api := &API{n: n, waiters: make(chan struct{}, slots)}
	for range slots {
		api.waiters <- struct{}{}
	}
	return api
}
