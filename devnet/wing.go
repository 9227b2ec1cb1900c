package devnet

import (
	"encoding/json"
	"io"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/rpc"
)

// Wing is a Layer-2 design the devnet runs beside its L1. The devnet holds
// no code of its own for any wing: it asks each for its L1 genesis section
// and funded accounts before the L1 exists, starts it once the L1 runs,
// and lists it in cairn_layers and the start-up summary. Adding a wing is
// implementing this interface, adding its contracts to Wings(), and adding
// it to the list Start builds.
type Wing interface {
	// Name is the wing's key in the L1 genesis's wings section and in
	// Wings().
	Name() string
	// Genesis returns the wing's L1 genesis section and the L1 accounts
	// it needs at genesis (its operators' keys, its contracts' balances).
	Genesis() (json.RawMessage, types.GenesisAlloc, error)
	// Start starts the wing's nodes against the running L1.
	Start(d *Devnet, reg prometheus.Registerer) error
	// Stop stops what Start started; it is safe after a failed Start.
	Stop()
	// Layer is the wing's cairn_layers entry.
	Layer() rpc.Layer
	// Summary writes the wing's lines of the start-up summary.
	Summary(w io.Writer, d *Devnet)
}
