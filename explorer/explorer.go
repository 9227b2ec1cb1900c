// Package explorer is Cairn's block explorer (docs/explorer.md): a web UI
// the binary serves, showing every layer of a running network side by side
// — heads, blocks, transactions, addresses — from the nodes' own JSON-RPC,
// with an index it keeps in pebble so that an address's page reads its
// transactions without scanning blocks. Pages are rendered on the server
// (html/template, assets embedded), so they work without JavaScript; each
// has a JSON twin under /api.
//
// Files:
//   - explorer.go: the server, its layers and its routes;
//   - pages.go: the pages' data, read from the nodes and the index;
//   - index.go: the index and its catching up;
//   - web/: the templates and the style sheet.
package explorer

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

//go:embed web
var web embed.FS

// Config configures an explorer.
type Config struct {
	L1      string // an L1 node's JSON-RPC URL; the other layers come from its cairn_layers
	Addr    string // listen address; loopback by default
	DataDir string // where the index is kept; "" in memory
	LabDir  string // where `cairn lab compare --out` wrote its report; "" none
	// Layers, when set, are the kinds of layer to show (l1,
	// optimistic-rollup, zk-rollup, payment-channels, sidechain); the L1
	// is always shown.
	Layers []string
	Log    *slog.Logger
}

// DefaultAddr is where the explorer listens unless told.
const DefaultAddr = "127.0.0.1:8080"

// layer is one browsable chain: the L1, a rollup, the sidechain — any
// layer that answers Ethereum JSON-RPC.
type layer struct {
	cairnrpc.Layer
	Key    string // the layer's path segment
	rpc    *gethrpc.Client
	client *ethclient.Client
}

// Explorer serves the pages and keeps the index caught up.
type Explorer struct {
	cfg    Config
	log    *slog.Logger
	idx    *index
	tmpl   *template.Template
	srv    *http.Server
	ln     net.Listener
	stop   chan struct{}
	done   sync.WaitGroup
	mu     sync.Mutex
	layers []*layer         // browsable layers, the L1 first
	others []cairnrpc.Layer // layers listed but not browsed (ZK rollup, channels)
}

// Start connects to the L1, discovers the layers, opens the index and
// serves.
func Start(ctx context.Context, cfg Config) (*Explorer, error) {
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(web, "web/*.html")
	if err != nil {
		return nil, err
	}
	idx, err := openIndex(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	e := &Explorer{cfg: cfg, log: cfg.Log.With("node", "explorer"), idx: idx, tmpl: tmpl, stop: make(chan struct{})}
	if err := e.discover(ctx); err != nil {
		idx.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		e.closeLayers()
		idx.close()
		return nil, err
	}
	e.ln = ln
	e.srv = &http.Server{Handler: e.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go e.srv.Serve(ln)
	e.done.Add(1)
	go e.indexLoop()
	return e, nil
}

// discover reads the layers from the L1's cairn_layers and dials each
// browsable one.
func (e *Explorer) discover(ctx context.Context) error {
	c, err := gethrpc.DialContext(ctx, e.cfg.L1)
	if err != nil {
		return fmt.Errorf("dial the L1: %w", err)
	}
	var ls []cairnrpc.Layer
	if err := c.CallContext(ctx, &ls, "cairn_layers"); err != nil || len(ls) == 0 {
		// Not a Cairn node: browse it alone, as the L1.
		ls = []cairnrpc.Layer{{Name: "L1", Kind: "l1", RPC: []string{e.cfg.L1}}}
	}
	c.Close()
	for i, l := range ls {
		if i > 0 && len(e.cfg.Layers) > 0 && !slices.Contains(e.cfg.Layers, l.Kind) {
			continue
		}
		if !browsable(l.Kind) || len(l.RPC) == 0 {
			e.others = append(e.others, l)
			continue
		}
		url := l.RPC[len(l.RPC)-1] // a rollup's verifier: what L1 data gives
		if i == 0 {
			url = e.cfg.L1
		}
		rc, err := gethrpc.DialContext(ctx, url)
		if err != nil {
			e.closeLayers()
			return fmt.Errorf("dial %s at %s: %w", l.Name, url, err)
		}
		key := layerKey(l.Kind)
		if i == 0 {
			key = "l1"
		}
		e.layers = append(e.layers, &layer{Layer: l, Key: key, rpc: rc, client: ethclient.NewClient(rc)})
	}
	if len(e.layers) == 0 {
		return errors.New("no layer answers Ethereum JSON-RPC")
	}
	return nil
}

// browsable tells the layers whose nodes answer Ethereum JSON-RPC.
func browsable(kind string) bool {
	switch kind {
	case "l1", "optimistic-rollup", "sidechain":
		return true
	}
	return false
}

func (e *Explorer) closeLayers() {
	for _, l := range e.layers {
		l.rpc.Close()
	}
}

// URL is where the explorer serves.
func (e *Explorer) URL() string { return "http://" + e.ln.Addr().String() }

// Close stops serving and indexing.
func (e *Explorer) Close() {
	close(e.stop)
	e.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.srv.Shutdown(ctx)
	e.closeLayers()
	e.idx.close()
}

// indexLoop keeps the index caught up with every layer, twice a second.
func (e *Explorer) indexLoop() {
	defer e.done.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		for _, l := range e.layers {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := e.idx.catchUp(ctx, l); err != nil {
				e.log.Debug("Indexing failed; trying again", "layer", l.Name, "err", err)
			}
			cancel()
		}
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

// Indexed is the last block of the layer with this path segment indexed.
func (e *Explorer) Indexed(key string) (uint64, bool) {
	h, ok, err := e.idx.height(key)
	return h, ok && err == nil
}
