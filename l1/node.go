package l1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/blocksync"
	cmtcfg "github.com/cometbft/cometbft/config"
	cs "github.com/cometbft/cometbft/consensus"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	mempl "github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/statesync"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/viper"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1/staking"
	"github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/wing"
)

// ClientVersion is what web3_clientVersion answers.
const ClientVersion = "cairn/v" + Version

// NodeConfig describes one L1 node (validator or full node).
type NodeConfig struct {
	Name      string         // for logs and metrics labels
	Comet     *cmtcfg.Config // CometBFT configuration; its root is the node's home
	RPCAddr   string         // Ethereum JSON-RPC listen address; "" disables it
	RPCLimits rpc.Limits
	System    *chain.SystemContracts
	Wings     *wing.Registry // the wings this binary runs, for the genesis's wing sections
	App       Config
	Registry  prometheus.Registerer // metrics; nil disables them
	Layers    func() []rpc.Layer    // for cairn_layers; nil lists the L1 only
	PeerGate  *PeerGate             // lets a harness cut the node off; may be nil
	Log       *slog.Logger
}

// Node is a running L1 node: CometBFT, the application, its chain store and
// its JSON-RPC server.
type Node struct {
	cfg   NodeConfig
	comet *node.Node
	app   *App
	store *chain.Store
	rpc   *rpc.Server
	log   *slog.Logger

	genesis  *cmttypes.GenesisDoc
	light    lightStates
	dbs      []dbm.DB // CometBFT's databases, closed by Stop
	stopOnce sync.Once
}

// closeLinger is how long Stop waits after CometBFT has stopped before it
// closes CometBFT's databases. CometBFT's per-peer gossip goroutines may wake
// from a sleep (at most PeerQueryMaj23SleepDuration) and read the block
// store once more after the node's OnStop returned; closing the store under
// them panics, so the close waits for them to notice the stop.
func (n *Node) closeLinger() time.Duration {
	return n.cfg.Comet.Consensus.PeerQueryMaj23SleepDuration + 100*time.Millisecond
}

// lingeringDB defers CometBFT's Close of a database to Node.Stop.
type lingeringDB struct{ dbm.DB }

func (lingeringDB) Close() error { return nil }

// GenesisAppState is the app_state of Cairn's CometBFT genesis file: the
// execution genesis every node builds block 0 from, and proof of stake.
type GenesisAppState struct {
	Chain   chain.Genesis   `json:"chain"`
	Staking *StakingGenesis `json:"staking,omitempty"`
	// Wings holds each Layer-2 wing's L1 rules, by wing name. Every node
	// runs the system contracts they describe (see package wing), so a node
	// started from this genesis executes exactly as the others.
	Wings map[string]json.RawMessage `json:"wings,omitempty"`
	// MaxTxSize is the largest transaction in bytes (DefaultMaxTxSize when
	// 0). It decides which proposals are valid, so it is the genesis's,
	// not a node's, to set.
	MaxTxSize uint64 `json:"maxTxSize,omitempty"`
}

// WingContracts returns the system contracts of the genesis's wings, from
// the wings this binary has (wings). A genesis naming a wing not in it is
// an error (wing.ErrUnknownWing), not a silently different chain.
func (g *GenesisAppState) WingContracts(wings *wing.Registry) ([]chain.SystemContract, error) {
	return wings.Contracts(g.Wings)
}

// StakingGenesis turns on proof of stake: its rules and the validators of the
// first block. Without it the genesis validators stay fixed.
type StakingGenesis struct {
	Params     staking.Params             `json:"params"`
	Validators []staking.GenesisValidator `json:"validators"`
}

// Setup derives what a node runs from the genesis app state: the execution
// genesis (with the staking contract's account when staking is on) and the
// staking module.
func (g *GenesisAppState) Setup() (*chain.Genesis, *staking.Staking, error) {
	cg := g.Chain
	if g.MaxTxSize > DefaultMaxTxSize {
		return nil, nil, fmt.Errorf("genesis transaction limit %d above the mempool's %d", g.MaxTxSize, DefaultMaxTxSize)
	}
	if g.Staking == nil {
		return &cg, nil, nil
	}
	if err := g.Staking.Params.Validate(); err != nil {
		return nil, nil, err
	}
	if len(g.Staking.Validators) > g.Staking.Params.MaxValidators {
		return nil, nil, fmt.Errorf("%w: %d genesis validators, at most %d active", staking.ErrParams, len(g.Staking.Validators), g.Staking.Params.MaxValidators)
	}
	stk := staking.New(cg.ChainID, g.Staking.Params)
	acct, err := stk.GenesisAccount(g.Staking.Validators)
	if err != nil {
		return nil, nil, err
	}
	cg.Alloc = maps.Clone(cg.Alloc)
	if cg.Alloc == nil {
		cg.Alloc = types.GenesisAlloc{}
	}
	cg.Alloc[staking.Address] = acct
	return &cg, stk, nil
}

// ReadGenesis reads a CometBFT genesis file and Cairn's app state in it.
func ReadGenesis(path string) (*cmttypes.GenesisDoc, *GenesisAppState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return readGenesisBytes(data)
}

func readGenesisBytes(data []byte) (*cmttypes.GenesisDoc, *GenesisAppState, error) {
	doc, err := cmttypes.GenesisDocFromJSON(data)
	if err != nil {
		return nil, nil, err
	}
	var st GenesisAppState
	if err := json.Unmarshal(doc.AppState, &st); err != nil {
		return nil, nil, fmt.Errorf("genesis app_state: %w", err)
	}
	return doc, &st, nil
}

// StartNode opens the node's chain, starts CometBFT (which replays any blocks
// the chain lacks) and then the JSON-RPC server.
func StartNode(cfg NodeConfig) (*Node, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("node", cfg.Name)
	doc, st, err := ReadGenesis(cfg.Comet.GenesisFile())
	if err != nil {
		return nil, err
	}
	genesis, stk, err := st.Setup()
	if err == nil && stk != nil {
		ev := doc.ConsensusParams.Evidence
		err = stk.Params().CheckEvidenceAge(ev.MaxAgeNumBlocks, ev.MaxAgeDuration)
	}
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	store, err := chain.Open(filepath.Join(cfg.Comet.DBDir(), "cairn"), genesis, log)
	if err != nil {
		return nil, err
	}
	system := cfg.System
	if wc, err := st.WingContracts(cfg.Wings); err != nil {
		store.Close()
		return nil, err
	} else if len(wc) > 0 {
		if system, err = chain.NewSystemContracts(append(system.List(), wc...)...); err != nil {
			store.Close()
			return nil, err
		}
	}
	appCfg := cfg.App
	if st.MaxTxSize != 0 && appCfg.MaxTxSize != 0 && appCfg.MaxTxSize != st.MaxTxSize {
		store.Close()
		return nil, fmt.Errorf("node config sets a %d-byte transaction limit, the genesis %d: the limit is consensus's", appCfg.MaxTxSize, st.MaxTxSize)
	}
	if st.MaxTxSize != 0 {
		appCfg.MaxTxSize = st.MaxTxSize
	}
	if stk != nil {
		appCfg.Staking = stk
		if system, err = chain.NewSystemContracts(append(system.List(), stk)...); err != nil {
			store.Close()
			return nil, err
		}
	}
	metrics := NewMetrics(cfg.Registry, cfg.Name)
	app, err := NewApp(store, system, appCfg, metrics, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, app: app, store: store, log: log, genesis: doc}
	var abciApp abci.Application = app
	if cfg.PeerGate != nil {
		abciApp = &gatedApp{App: app, gate: cfg.PeerGate}
	}
	pv := privval.LoadOrGenFilePV(cfg.Comet.PrivValidatorKeyFile(), cfg.Comet.PrivValidatorStateFile())
	nodeKey, err := p2p.LoadOrGenNodeKey(cfg.Comet.NodeKeyFile())
	if err != nil {
		store.Close()
		return nil, err
	}
	comet, err := node.NewNode(cfg.Comet, pv, nodeKey,
		proxy.NewConnSyncLocalClientCreator(abciApp),
		func() (*cmttypes.GenesisDoc, error) { return doc, nil },
		func(ctx *cmtcfg.DBContext) (dbm.DB, error) {
			db, err := cmtcfg.DefaultDBProvider(ctx)
			if err != nil {
				return nil, err
			}
			n.dbs = append(n.dbs, db)
			return lingeringDB{db}, nil
		},
		metricsProvider(cfg.Registry != nil, cfg.Name),
		newCometLogger(log.With("module", "cometbft")),
	)
	if err != nil {
		n.closeDBs()
		store.Close()
		return nil, fmt.Errorf("cometbft: %w", err)
	}
	if err := comet.Start(); err != nil {
		n.closeDBs()
		store.Close()
		return nil, fmt.Errorf("start cometbft: %w", err)
	}
	n.comet = comet
	if cfg.RPCAddr != "" {
		srv, err := rpc.NewServer(n, rpc.Options{
			ClientVersion: ClientVersion,
			Limits:        cfg.RPCLimits,
			Registry:      cfg.Registry,
			MetricsLabel:  cfg.Name,
			Log:           log,
		})
		if err == nil {
			err = srv.Start(cfg.RPCAddr)
		}
		if err != nil {
			n.Stop()
			return nil, err
		}
		n.rpc = srv
	}
	return n, nil
}

// Stop stops RPC, CometBFT and the store, in that order. Safe to call twice.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		if n.rpc != nil {
			n.rpc.Close()
		}
		if n.comet != nil && n.comet.IsRunning() {
			if err := n.comet.Stop(); err != nil {
				n.log.Warn("Stopping CometBFT", "err", err)
			}
			n.comet.Wait()
			time.Sleep(n.closeLinger())
		}
		n.closeDBs()
		if err := n.store.Close(); err != nil {
			n.log.Warn("Closing chain store", "err", err)
		}
	})
}

func (n *Node) closeDBs() {
	for _, db := range n.dbs {
		if err := db.Close(); err != nil {
			n.log.Warn("Closing CometBFT database", "err", err)
		}
	}
	n.dbs = nil
}

// App returns the ABCI application.
func (n *Node) App() *App { return n.app }

// Comet returns the CometBFT node.
func (n *Node) Comet() *node.Node { return n.comet }

// RPC returns the JSON-RPC server, or nil.
func (n *Node) RPC() *rpc.Server { return n.rpc }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Chain implements rpc.Backend.
func (n *Node) Chain() *chain.Store { return n.store }

// Executor implements rpc.Backend.
func (n *Node) Executor() *chain.Executor { return n.app.Executor() }

// PendingNonce implements rpc.Backend.
func (n *Node) PendingNonce(addr common.Address) (uint64, error) {
	return n.app.PendingNonce(addr)
}

// TxPoolContent implements rpc.TxPoolReader.
func (n *Node) TxPoolContent() (pending, queued map[common.Address][]*types.Transaction) {
	return n.app.pool.Content()
}

// PendingTransaction implements rpc.Backend.
func (n *Node) PendingTransaction(hash common.Hash) *types.Transaction {
	return n.app.PendingTransaction(hash)
}

// SendTransaction hands a transaction to CometBFT's mempool, which runs
// CheckTx, and reports the verdict.
func (n *Node) SendTransaction(ctx context.Context, raw []byte) error {
	done := make(chan *abci.ResponseCheckTx, 1)
	err := n.comet.Mempool().CheckTx(raw, func(r *abci.ResponseCheckTx) { done <- r }, mempl.TxInfo{})
	switch {
	case errors.Is(err, mempl.ErrTxInCache):
		return txpool.ErrAlreadyKnown
	case err != nil:
		var tooLarge mempl.ErrTxTooLarge
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("%w: %v", txpool.ErrOversizedData, err)
		}
		return err
	}
	select {
	case r := <-done:
		if r.Code != CodeOK {
			return errors.New(r.Log)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Validators implements rpc.ValidatorLister: with staking, every registered
// validator from the staking contract at the head; without, the genesis set,
// which then never changes.
func (n *Node) Validators() ([]rpc.Validator, error) {
	if n.app.cfg.Staking == nil {
		out := make([]rpc.Validator, len(n.genesis.Validators))
		for i, v := range n.genesis.Validators {
			out[i] = rpc.Validator{ConsensusKey: v.PubKey.Bytes(), ConsensusAddress: hexutil.Bytes(v.Address), Power: hexutil.Uint64(v.Power), Stake: (*hexutil.Big)(new(big.Int))}
		}
		return out, nil
	}
	st, err := n.store.StateAt(n.store.Head().Root)
	if err != nil {
		return nil, err
	}
	vals := staking.Validators(st)
	out := make([]rpc.Validator, len(vals))
	for i, v := range vals {
		out[i] = rpc.Validator{
			Operator: v.Operator, ConsensusKey: v.PubKey[:], ConsensusAddress: staking.ConsensusAddress(v.PubKey),
			Power: hexutil.Uint64(v.Power), Stake: (*hexutil.Big)(v.Stake), CommissionBps: hexutil.Uint64(v.Commission),
			Jailed: v.Jailed, JailedUntil: hexutil.Uint64(v.JailedUntil), MissedBlocks: hexutil.Uint64(v.Missed),
		}
	}
	return out, nil
}

// Layers implements rpc.Backend.
func (n *Node) Layers() []rpc.Layer {
	if n.cfg.Layers != nil {
		return n.cfg.Layers()
	}
	l := rpc.Layer{Name: "L1", Kind: "l1", ChainID: n.store.Config().ChainID.Uint64()}
	if n.rpc != nil {
		l.RPC = []string{n.rpc.URL()}
		l.WS = []string{n.rpc.WSURL()}
	}
	return []rpc.Layer{l}
}

// WaitHeight blocks until the node's chain reaches height or ctx ends.
func (n *Node) WaitHeight(ctx context.Context, height uint64) error {
	for n.store.Head().Number.Uint64() < height {
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s at height %d, waiting for %d: %w", n.cfg.Name, n.store.Head().Number, height, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// DefaultBlockGap is the pause after each block before the next may start.
const DefaultBlockGap = 10 * time.Millisecond

// CometConfig returns CometBFT's configuration for a Cairn node at home,
// tuned for blocks on demand: a block starts as soon as a transaction waits
// (but not within gap of the last block: CometBFT's timeout_commit), and an
// idle chain makes one every idle (create_empty_blocks_interval). A block
// with transactions is followed at once by one more (CometBFT's proof block
// for its app hash, apphash.go).
func CometConfig(home, moniker, p2pAddr string, peers []string, idle, gap time.Duration) *cmtcfg.Config {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = moniker
	c.RPC.ListenAddress = "" // Ethereum JSON-RPC is the node's API
	c.P2P.ListenAddress = "tcp://" + p2pAddr
	c.P2P.PersistentPeers = strings.Join(peers, ",")
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	c.P2P.PexReactor = false
	c.P2P.FlushThrottleTimeout = 2 * time.Millisecond
	c.P2P.SendRate = 50 * 1024 * 1024
	c.P2P.RecvRate = 50 * 1024 * 1024
	c.P2P.MaxPacketMsgPayloadSize = 64 * 1024
	c.P2P.HandshakeTimeout = 5 * time.Second
	c.P2P.DialTimeout = 2 * time.Second
	c.Consensus.TimeoutPropose = 600 * time.Millisecond
	c.Consensus.TimeoutProposeDelta = 200 * time.Millisecond
	c.Consensus.TimeoutPrevote = 200 * time.Millisecond
	c.Consensus.TimeoutPrevoteDelta = 100 * time.Millisecond
	c.Consensus.TimeoutPrecommit = 200 * time.Millisecond
	c.Consensus.TimeoutPrecommitDelta = 100 * time.Millisecond
	c.Consensus.TimeoutCommit = gap
	c.Consensus.CreateEmptyBlocks = true
	c.Consensus.CreateEmptyBlocksInterval = idle
	c.Consensus.PeerGossipSleepDuration = 2 * time.Millisecond
	c.Consensus.PeerQueryMaj23SleepDuration = 200 * time.Millisecond
	c.Mempool.Size = 50_000
	c.Mempool.MaxTxsBytes = 256 * 1024 * 1024
	c.Mempool.CacheSize = 200_000
	c.Mempool.MaxTxBytes = MaxBlobTxSize + 1024 // a blob transaction travels with its sidecar
	c.TxIndex.Indexer = "null"
	c.Instrumentation.Prometheus = false
	return c
}

// EnsureDirs creates the directories CometBFT expects under a home.
func EnsureDirs(c *cmtcfg.Config) error {
	for _, d := range []string{filepath.Join(c.RootDir, "config"), c.DBDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// cometMetricsTaken is set once a node in this process exports CometBFT's
// metrics. CometBFT registers them with Prometheus' global registry under
// fixed names, so a second node registering them would panic: only the first
// node of a process exports CometBFT's metrics (the chain's own metrics carry
// a node label and are exported by every node).
var cometMetricsTaken atomic.Bool

// metricsProvider gives CometBFT's Prometheus metrics a "node" label when
// this node is the process's first to ask.
func metricsProvider(enabled bool, name string) node.MetricsProvider {
	if !enabled || !cometMetricsTaken.CompareAndSwap(false, true) {
		return node.DefaultMetricsProvider(&cmtcfg.InstrumentationConfig{})
	}
	return func(chainID string) (*cs.Metrics, *p2p.Metrics, *mempl.Metrics, *sm.Metrics, *proxy.Metrics, *blocksync.Metrics, *statesync.Metrics) {
		l := []string{"chain_id", chainID, "node", name}
		const ns = "cometbft"
		return cs.PrometheusMetrics(ns, l...), p2p.PrometheusMetrics(ns, l...), mempl.PrometheusMetrics(ns, l...),
			sm.PrometheusMetrics(ns, l...), proxy.PrometheusMetrics(ns, l...), blocksync.PrometheusMetrics(ns, l...),
			statesync.PrometheusMetrics(ns, l...)
	}
}

// cometLogger sends CometBFT's logs to slog. CometBFT's info level is chatty
// (every vote), so it maps to debug; its error level reports routine events
// such as peers disconnecting, so it maps to info.
type cometLogger struct{ l *slog.Logger }

func newCometLogger(l *slog.Logger) cmtlog.Logger { return cometLogger{l} }

func (c cometLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cometLogger) Info(msg string, kv ...any)  { c.l.Debug(msg, kv...) }
func (c cometLogger) Error(msg string, kv ...any) { c.l.Info(msg, kv...) }
func (c cometLogger) With(kv ...any) cmtlog.Logger {
	return cometLogger{c.l.With(kv...)}
}

// writeCometConfig writes CometBFT's config.toml of a home.
func writeCometConfig(cc *cmtcfg.Config) {
	cmtcfg.WriteConfigFile(filepath.Join(cc.RootDir, "config", "config.toml"), cc)
}

// LoadCometConfig reads home/config/config.toml as CometBFT's own commands
// do, on top of CometBFT's defaults.
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	v := viper.New()
	v.SetConfigFile(filepath.Join(home, "config", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}
