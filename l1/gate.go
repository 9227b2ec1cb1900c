package l1

import (
	"context"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
)

// PeerGate decides which peers a node accepts. The harness uses it to cut a
// node off from the others: CometBFT asks the application about every new
// peer (config filter_peers), and the gate answers for the node ID.
type PeerGate struct {
	mu      sync.Mutex
	blocked map[string]bool // node IDs
}

// NewPeerGate returns a gate that admits everyone.
func NewPeerGate() *PeerGate { return &PeerGate{blocked: map[string]bool{}} }

// Block refuses a node ID from now on.
func (g *PeerGate) Block(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.blocked[id] = true
}

// Unblock admits a node ID again.
func (g *PeerGate) Unblock(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.blocked, id)
}

// Allowed reports whether a node ID may connect.
func (g *PeerGate) Allowed(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.blocked[id]
}

// gatedApp answers CometBFT's peer filter queries from a PeerGate.
type gatedApp struct {
	*App
	gate *PeerGate
}

func (g *gatedApp) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if id, ok := strings.CutPrefix(req.Path, "/p2p/filter/id/"); ok {
		if !g.gate.Allowed(id) {
			return &abci.ResponseQuery{Code: CodePeerRefused, Log: "peer cut off"}, nil
		}
		return &abci.ResponseQuery{Code: CodeOK}, nil
	}
	if strings.HasPrefix(req.Path, "/p2p/filter/addr/") {
		return &abci.ResponseQuery{Code: CodeOK}, nil
	}
	return g.App.Query(ctx, req)
}
