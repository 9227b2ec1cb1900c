package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/eth/gasprice"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/internal/promutil"
)

// Limits bound what one request may cost the node.
type Limits struct {
	MaxRequestBytes int64         // HTTP body or WebSocket message
	BatchItems      int           // calls in one batch
	BatchBytes      int           // response bytes of one batch
	GasCap          uint64        // gas of eth_call / eth_estimateGas
	CallTimeout     time.Duration // eth_call / eth_estimateGas
	LogBlockRange   uint64        // blocks one eth_getLogs may scan
	MaxLogs         int           // logs one eth_getLogs may return
}

// DefaultLimits are go-ethereum's defaults where it has one.
var DefaultLimits = Limits{
	MaxRequestBytes: 5 * 1024 * 1024,
	BatchItems:      1000,
	BatchBytes:      25 * 1000 * 1000,
	GasCap:          50_000_000,
	CallTimeout:     5 * time.Second,
	LogBlockRange:   100_000,
	MaxLogs:         20_000,
}

// Server serves one backend's JSON-RPC over HTTP and WebSocket on one port.
type Server struct {
	rpc      *rpc.Server
	http     *http.Server
	ln       net.Listener
	limits   Limits
	log      *slog.Logger
	requests prometheus.Counter
	failures prometheus.Counter
	backend  Backend // a chain's, for the Beacon API's blob sidecars; nil for other APIs
}

// Options configure a server.
type Options struct {
	ClientVersion string
	Limits        Limits
	Registry      prometheus.Registerer // nil: no metrics registered
	MetricsLabel  string                // distinguishes servers in one process
	Log           *slog.Logger
	// APIs are more namespaces served beside the chain's (a node's own,
	// such as the rollup sequencer's rollup_).
	APIs map[string]any
}

// NewServer builds the server for a backend. Call Start to listen.
func NewServer(b Backend, opts Options) (*Server, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	oracle := gasprice.NewOracle(oracleBackend{b.Chain()}, gasprice.Config{
		Blocks:           20,
		Percentile:       60,
		MaxHeaderHistory: 1024,
		MaxBlockHistory:  1024,
		MaxPrice:         big.NewInt(500 * params.GWei),
		IgnorePrice:      big.NewInt(2),
	}, big.NewInt(params.GWei))
	apis := map[string]any{
		"eth":   &EthAPI{b: b, oracle: oracle, limits: opts.Limits, waiters: make(chan struct{}, MaxReceiptWaiters), syncWaiters: make(chan struct{}, MaxReceiptWaiters)},
		"net":   &NetAPI{b: b},
		"web3":  &Web3API{version: opts.ClientVersion},
		"cairn": &CairnAPI{b: b},
	}
	if _, ok := b.(TxPoolReader); ok {
		apis["txpool"] = &TxPoolAPI{b: b}
	}
	for ns, api := range opts.APIs {
		if apis[ns] != nil {
			return nil, fmt.Errorf("namespace %s is served already", ns)
		}
		apis[ns] = api
	}
	srv, err := NewAPIServer(apis, opts)
	if err != nil {
		return nil, err
	}
	srv.backend = b
	return srv, nil
}

// NewAPIServer serves other JSON-RPC namespaces (a wing's own API, such as
// the ZK rollup operator's zk_) with the same limits, CORS and metrics as
// a chain's server.
func NewAPIServer(apis map[string]any, opts Options) (*Server, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	srv := rpc.NewServer()
	srv.SetBatchLimits(opts.Limits.BatchItems, opts.Limits.BatchBytes)
	srv.SetHTTPBodyLimit(int(opts.Limits.MaxRequestBytes))
	for _, ns := range slices.Sorted(maps.Keys(apis)) {
		if err := srv.RegisterName(ns, apis[ns]); err != nil {
			return nil, fmt.Errorf("register %s API: %w", ns, err)
		}
	}
	labels := prometheus.Labels{"server": opts.MetricsLabel}
	return &Server{
		rpc:    srv,
		limits: opts.Limits,
		log:    opts.Log,
		requests: promutil.Counter(opts.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rpc",
			Name: "requests_total", Help: "JSON-RPC HTTP requests and WebSocket connections.", ConstLabels: labels}),
		failures: promutil.Counter(opts.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rpc",
			Name: "errors_total", Help: "JSON-RPC HTTP responses carrying an error.", ConstLabels: labels}),
	}, nil
}

// Start listens on addr ("127.0.0.1:8545"; port 0 picks one).
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rpc listen %s: %w", addr, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("RPC server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the HTTP URL of the server.
func (s *Server) URL() string { return "http://" + s.Addr() }

// WSURL is the WebSocket URL of the server.
func (s *Server) WSURL() string { return "ws://" + s.Addr() }

// Close stops serving and ends subscriptions.
func (s *Server) Close() {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.http.Shutdown(ctx)
	}
	s.rpc.Stop()
}

// ServeHTTP routes WebSocket upgrades and HTTP requests, refusing oversized
// bodies with a JSON-RPC error and answering CORS preflights so browser
// wallets and dapps can connect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Inc()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		s.rpc.WebsocketHandler([]string{"*"}).ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, beaconSidecarsPath) && s.backend != nil {
		serveBlobSidecars(s.backend, w, r)
		return
	}
	if r.Method == http.MethodGet && r.ContentLength <= 0 {
		// A health probe (or a browser): answer plainly.
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("Cairn JSON-RPC: POST JSON-RPC 2.0 requests here\n"))
		return
	}
	if r.ContentLength > s.limits.MaxRequestBytes {
		s.failures.Inc()
		writeJSONError(w, http.StatusRequestEntityTooLarge, -32600,
			fmt.Sprintf("request too large: %d bytes, limit %d", r.ContentLength, s.limits.MaxRequestBytes))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxRequestBytes)
	rec := &errorSniffer{ResponseWriter: w}
	s.rpc.ServeHTTP(rec, r)
	if rec.failed {
		s.failures.Inc()
	}
}

func writeJSONError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`+"\n", code, msg)
}

// errorSniffer notes whether a response carries a JSON-RPC error, for the
// error counter.
type errorSniffer struct {
	http.ResponseWriter
	failed bool
}

func (e *errorSniffer) Write(b []byte) (int, error) {
	if !e.failed && bytes.Contains(b, []byte(`"error":{`)) {
		e.failed = true
	}
	return e.ResponseWriter.Write(b)
}

func (e *errorSniffer) WriteHeader(code int) {
	if code >= 400 {
		e.failed = true
	}
	e.ResponseWriter.WriteHeader(code)
}

// Flush passes streaming through.
func (e *errorSniffer) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// NetAPI is the net_ namespace.
type NetAPI struct{ b Backend }

// Version returns the network ID, which is the chain ID.
func (n *NetAPI) Version() string { return n.b.Chain().Config().ChainID.String() }

// Listening is true: the node takes part in its network.
func (n *NetAPI) Listening() bool { return true }

// PeerCount is not tracked through this API; it reports zero.
func (n *NetAPI) PeerCount() hexutil.Uint { return 0 }

// Web3API is the web3_ namespace.
type Web3API struct{ version string }

// ClientVersion names the node software.
func (w *Web3API) ClientVersion() string { return w.version }

// Sha3 is keccak256 of the input.
func (w *Web3API) Sha3(input hexutil.Bytes) hexutil.Bytes {
	return keccak(input)
}

// CairnAPI is the cairn_ namespace.
type CairnAPI struct{ b Backend }

// Layers lists the layers this node knows, with chain IDs, RPC URLs and L1
// contract addresses.
func (c *CairnAPI) Layers() []Layer { return c.b.Layers() }

// LightBlock returns the CometBFT signed header at height (0: the newest,
// with the commit this node saw) and its validator set, protobuf-encoded:
// what a light client of this chain, such as the sidechain bridge's,
// verifies.
func (c *CairnAPI) LightBlock(height hexutil.Uint64) (*LightBlock, error) {
	l, ok := c.b.(LightBlockServer)
	if !ok {
		return nil, errors.New("this layer has no CometBFT light blocks")
	}
	return l.LightBlock(uint64(height))
}

// Validators lists the layer's validators: operator, consensus key, power,
// stake, commission, jail and missed blocks.
func (c *CairnAPI) Validators() ([]Validator, error) {
	l, ok := c.b.(ValidatorLister)
	if !ok {
		return nil, errors.New("this layer has no validators")
	}
	return l.Validators()
}
