package channels

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/rpc"
)

// Config configures a channel node.
type Config struct {
	Key     *ecdsa.PrivateKey
	DataDir string // "" keeps everything in memory (tests)
	Listen  string // peers' address, "127.0.0.1:0" picks a port
	RPC     string // JSON-RPC address; "" serves none
	L1      *ethclient.Client
	// Params are the adjudicator's rules (ReadParams reads them from L1).
	Params Params
	// FeeBase and FeePPM are what this node takes to forward a payment:
	// FeeBase wei plus FeePPM millionths of the amount.
	FeeBase *big.Int
	FeePPM  uint64
	// Deposit is what this node puts in, as B, when a peer opens a
	// channel to it (nil: nothing).
	Deposit *big.Int
	// Poll is how often the node reads L1 (100 ms if zero).
	Poll time.Duration
	// Tower is the JSON-RPC URL of a watchtower (any node) the node hands
	// its newest states to; "" uses none.
	Tower string
	// Rand is the source of invoice preimages (crypto/rand if nil).
	Rand io.Reader
	Log  *slog.Logger
}

// Delta is the expiry delta, in L1 blocks, a node needs between the HTLC it
// receives and the one it offers, and that a payee needs before its
// HTLC's expiry: a dispute window and 20 blocks more (rule C8), so a node
// that learns a preimage late still has a whole window to use it on L1.
func (p Params) Delta() uint64 { return p.DisputeWindow + 20 }

// Errors of the node.
var (
	ErrNoRoute = errors.New("no route to the payee")
	ErrNoLink  = errors.New("no open channel with that peer")
	ErrStopped = errors.New("channel node stopped")
	ErrPayment = errors.New("payment failed")
)

// Node is one user's channel node, as lnd is: it keeps its channels'
// states on disk, talks to its peers over authenticated connections,
// forwards payments, and watches the L1 for closes it must answer.
//
// Everything that touches channel state runs on one goroutine (the loop).
// A round of the loop takes every waiting input (peer messages, L1
// events, user requests), steps the channel machines, commits what they
// must save in one batch with one fsync (group commit), and only then
// sends their messages and answers their requests.
type Node struct {
	cfg  Config
	self common.Address
	st   *store
	ln   net.Listener
	l1   *L1
	in   chan func()
	quit chan struct{}
	wg   sync.WaitGroup
	l1q  chan func(context.Context)
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	rpc  *rpc.Server

	// owned by the loop
	links    map[common.Hash]*link
	peers    map[common.Address]*peerConn
	uris     map[common.Address]string
	graph    *graph
	height   uint64
	batch    *pebble.Batch
	after    []func()
	invoices map[common.Hash]*invoice
	payments map[common.Hash]*payment
	forwards map[common.Hash]*forward
	// preimages are those this node knows (its invoices', those its
	// peers fulfilled with, those revealed on L1), by payment hash.
	preimages map[common.Hash]common.Hash
	revealed  map[common.Hash]bool     // revealed on L1
	towered   map[common.Hash]*Towered // states this node watches as a tower
	disputes  map[common.Hash]*dispute // unilateral closes seen on L1
	l1Next    uint64                   // the first L1 block whose logs the node has not acted on
	withhold  func(*Message) bool      // Withhold
	seq       uint64                   // the newest ChannelUpdate sequence this node signed
	griefing  bool                     // HoldForwards: take HTLCs and do nothing (the lab's attacks)
	stats     Stats
}

// Stats counts what a node did.
type Stats struct {
	Rounds      uint64 `json:"rounds"`
	Fsyncs      uint64 `json:"fsyncs"`
	Updates     uint64 `json:"updates"` // states signed by both
	Payments    uint64 `json:"payments"`
	Forwarded   uint64 `json:"forwarded"`
	BadMessages uint64 `json:"badMessages"`
	Challenges  uint64 `json:"challenges"`
}

// NewNode opens the node's store and resumes its channels. Start runs it.
func NewNode(cfg Config) (*Node, error) {
	if cfg.Key == nil || cfg.L1 == nil {
		return nil, errors.New("channels: a node needs a key and an L1")
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	cfg.Poll = cmp.Or(cfg.Poll, 100*time.Millisecond)
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.FeeBase == nil {
		cfg.FeeBase = new(big.Int)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	n := &Node{
		cfg: cfg, self: crypto.PubkeyToAddress(cfg.Key.PublicKey), st: st,
		l1: &L1{Client: cfg.L1, Key: cfg.Key}, in: make(chan func(), 4096), quit: make(chan struct{}),
		l1q: make(chan func(context.Context), 1024), log: cfg.Log, ctx: ctx, stop: stop,
		links: map[common.Hash]*link{}, peers: map[common.Address]*peerConn{}, uris: map[common.Address]string{},
		graph: newGraph(), invoices: map[common.Hash]*invoice{}, payments: map[common.Hash]*payment{},
		forwards: map[common.Hash]*forward{}, revealed: map[common.Hash]bool{},
		towered: map[common.Hash]*Towered{}, disputes: map[common.Hash]*dispute{},
	}
	if err := n.load(); err != nil {
		st.close()
		return nil, err
	}
	return n, nil
}

// Address is the node's L1 account.
func (n *Node) Address() common.Address { return n.self }

// RPCURL is the node's JSON-RPC URL ("" if it serves none).
func (n *Node) RPCURL() string {
	if n.rpc == nil {
		return ""
	}
	return n.rpc.URL()
}

// URI is the node's peer address.
func (n *Node) URI() string { return NodeURI(&n.cfg.Key.PublicKey, n.ln.Addr().String()) }

// Start listens for peers and runs the loop, the L1 watcher and the L1
// sender.
func (n *Node) Start() error {
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("channels: listen %s: %w", n.cfg.Listen, err)
	}
	n.ln = ln
	if n.cfg.RPC != "" {
		srv, err := rpc.NewAPIServer(map[string]any{"ch": NewAPI(n)}, rpc.Options{Log: n.log})
		if err == nil {
			err = srv.Start(n.cfg.RPC)
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("channels: RPC: %w", err)
		}
		n.rpc = srv
	}
	n.post(func() {
		for _, id := range n.sortedLinks() {
			if l := n.links[id]; l.usable() {
				n.announce(l)
			}
		}
		n.resume()
	})
	if n.cfg.Tower != "" {
		n.wg.Add(1)
		go n.feedTower()
	}
	n.wg.Add(4)
	go n.loop()
	go n.accept()
	go n.watchL1()
	go n.sendL1()
	return nil
}

// Stop closes every connection and the store. What was acknowledged is on
// disk already.
func (n *Node) Stop() {
	select {
	case <-n.quit:
		return
	default:
	}
	close(n.quit)
	n.stop()
	if n.rpc != nil {
		n.rpc.Close()
	}
	if n.ln != nil {
		n.ln.Close()
	}
	n.wg.Wait()
	for _, p := range n.peers {
		p.conn.Close()
		close(p.done)
	}
	n.st.close()
}

// do runs f on the loop and waits for it; f's reply, if it needs the
// round's commit, is sent from a function it appends to n.after.
func (n *Node) do(f func()) error {
	done := make(chan struct{})
	select {
	case n.in <- func() { f(); close(done) }:
	case <-n.quit:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-n.quit:
		return ErrStopped
	}
}

// doCommitted runs f on the loop and waits until what f saved is on disk.
func (n *Node) doCommitted(f func()) error {
	done := make(chan struct{})
	if err := n.do(func() { f(); n.after = append(n.after, func() { close(done) }) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-n.quit:
		return ErrStopped
	}
}

// post hands f to the loop without waiting.
func (n *Node) post(f func()) {
	select {
	case n.in <- f:
	case <-n.quit:
	}
}

// loop is the node's one goroutine for channel state.
func (n *Node) loop() {
	defer n.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond) // redial lost peers this often
	defer tick.Stop()
	for {
		select {
		case f := <-n.in:
			n.round(f)
		case <-tick.C:
			n.round(n.redial)
		case <-n.quit:
			return
		}
	}
}

// maxRound bounds the inputs one round takes, so one fsync covers many
// but replies are not held back long.
const maxRound = 512

func (n *Node) round(first func()) {
	n.batch = n.st.db.NewBatch()
	first()
	for i := 0; i < maxRound; i++ {
		select {
		case f := <-n.in:
			f()
			continue
		default:
		}
		break
	}
	// What the round's replies do (a payment retried, a failure passed
	// upstream) is proposed and committed in turn, until nothing is left.
	for {
		n.proposeAll()
		if !n.batch.Empty() {
			if err := n.batch.Commit(pebble.Sync); err != nil {
				// Nothing of this round may leave the process: its
				// signatures are not durable. Stop rather than risk a
				// stale state.
				n.log.Error("Channel store write failed; stopping", "err", err)
				n.batch.Close()
				n.batch = nil
				go n.Stop()
				return
			}
			n.stats.Fsyncs++
		}
		n.batch.Close()
		n.batch = nil
		after := n.after
		n.after = nil
		if len(after) == 0 {
			break
		}
		n.batch = n.st.db.NewBatch()
		for _, f := range after {
			f()
		}
	}
	n.stats.Rounds++
}

// save adds key's new value to the round's batch.
func (n *Node) save(key string, v any) {
	if err := put(n.batch, key, v); err != nil {
		n.log.Error("Encoding a record failed", "key", key, "err", err)
	}
}

// Stats returns the node's counters.
func (n *Node) Stats() (s Stats) {
	_ = n.do(func() { s = n.stats })
	return s
}
