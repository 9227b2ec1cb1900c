// Package wingtest is what every wing's tests share: an L1 mined by hand,
// running the real execution core and JSON-RPC, so a wing's nodes read it
// through ethclient as they read a real L1, and each block comes only when a
// test says so.
package wingtest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rpc"
)

// L1Miner is a one-node L1 mined by hand, for action tests: transactions wait
// until Mine puts them all in a block. It runs the same execution core and
// portal as the real L1, and serves JSON-RPC so rollup nodes read it through
// ethclient as they read a real one.
type L1Miner struct {
	mu      sync.Mutex
	store   *chain.Store
	exec    *chain.Executor
	pending []*types.Transaction
	server  *rpc.Server
	client  *ethclient.Client
	signer  types.Signer
	// BlockTime is the seconds between mined blocks' timestamps.
	BlockTime uint64
	clock     func() uint64
}

// L1MinerChainID is the chain ID of hand-mined L1s.
const L1MinerChainID = 900

// NewL1Miner starts a hand-mined L1 whose genesis funds alloc, running
// contracts (a wing's L1 contracts) as system contracts.
func NewL1Miner(alloc types.GenesisAlloc, contracts ...chain.SystemContract) (*L1Miner, error) {
	return NewMiner(L1MinerChainID, alloc, contracts...)
}

// NewMiner is NewL1Miner for a chain of another ID: a second hand-mined
// chain beside the L1 (a sidechain).
func NewMiner(chainID uint64, alloc types.GenesisAlloc, contracts ...chain.SystemContract) (*L1Miner, error) {
	return NewClockedMiner(chainID, nil, alloc, contracts...)
}

// NewClockedMiner is NewMiner for a chain whose blocks take their time
// from clock (Unix seconds; raised to the parent's, as the L1's are), its
// genesis included, instead of BlockTime seconds apart: for light clients,
// whose trusting periods compare two chains' times. A nil clock is
// NewMiner.
func NewClockedMiner(chainID uint64, clock func() uint64, alloc types.GenesisAlloc, contracts ...chain.SystemContract) (*L1Miner, error) {
	genesisTime := uint64(1_700_000_000)
	if clock != nil {
		genesisTime = clock()
	}
	store, err := chain.Open("", &chain.Genesis{ChainID: chainID, Alloc: alloc, Timestamp: genesisTime}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	system, err := chain.NewSystemContracts(contracts...)
	if err != nil {
		return nil, err
	}
	m := &L1Miner{
		store:     store,
		exec:      chain.NewExecutor(store.Config(), store, system).WithBlobs(),
		signer:    types.LatestSigner(store.Config()),
		BlockTime: 2,
		clock:     clock,
	}
	srv, err := rpc.NewServer(m, rpc.Options{ClientVersion: "cairn-l1-miner", Log: slog.New(slog.DiscardHandler)})
	if err == nil {
		err = srv.Start("127.0.0.1:0")
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	m.server = srv
	if m.client, err = ethclient.Dial(srv.URL()); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close stops the miner.
func (m *L1Miner) Close() {
	if m.client != nil {
		m.client.Close()
	}
	m.server.Close()
	m.store.Close()
}

// URL is the miner's JSON-RPC URL.
func (m *L1Miner) URL() string { return m.server.URL() }

// Client is an ethclient connected to the miner.
func (m *L1Miner) Client() *ethclient.Client { return m.client }

// Mine puts every waiting transaction in a new block and returns it, with
// the transactions it had to leave out.
func (m *L1Miner) Mine() (*types.Block, []chain.Skip, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	head := m.store.Head()
	st, err := m.store.StateAt(head.Root)
	if err != nil {
		return nil, nil, err
	}
	t := head.Time + m.BlockTime
	if m.clock != nil {
		t = m.clock()
	}
	// Blob transactions go into the block without their sidecars, which
	// the store keeps beside it and the Beacon API endpoint serves.
	txs := make([]*types.Transaction, len(m.pending))
	cars := map[common.Hash]*types.BlobTxSidecar{}
	for i, tx := range m.pending {
		txs[i] = tx
		if sc := tx.BlobTxSidecar(); sc != nil {
			txs[i] = tx.WithoutBlobTxSidecar()
			cars[txs[i].Hash()] = sc
		}
	}
	res, err := m.exec.Build(head, st, chain.Env{Time: t}, txs)
	if err != nil {
		return nil, nil, err
	}
	for _, tx := range res.Block.Transactions() {
		if sc := cars[tx.Hash()]; sc != nil {
			res.Sidecars = append(res.Sidecars, chain.TxSidecar{TxHash: tx.Hash(), Sidecar: sc})
		}
	}
	if err := m.store.Commit(res); err != nil {
		return nil, nil, err
	}
	m.pending = nil
	return res.Block, res.Skipped, nil
}

// MineN mines n blocks.
func (m *L1Miner) MineN(n int) error {
	for range n {
		if _, _, err := m.Mine(); err != nil {
			return err
		}
	}
	return nil
}

// Head returns the newest L1 header.
func (m *L1Miner) Head() *types.Header { return m.store.Head() }

// Chain implements rpc.Backend.
func (m *L1Miner) Chain() *chain.Store { return m.store }

// Executor implements rpc.Backend.
func (m *L1Miner) Executor() *chain.Executor { return m.exec }

// Layers implements rpc.Backend.
func (m *L1Miner) Layers() []rpc.Layer { return nil }

// PendingTransaction implements rpc.Backend.
func (m *L1Miner) PendingTransaction(hash common.Hash) *types.Transaction {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tx := range m.pending {
		if tx.Hash() == hash {
			return tx
		}
	}
	return nil
}

// PendingNonce implements rpc.Backend.
func (m *L1Miner) PendingNonce(addr common.Address) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.store.StateAt(m.store.Head().Root)
	if err != nil {
		return 0, err
	}
	n := st.GetNonce(addr)
	for _, tx := range m.pending {
		if from, _ := types.Sender(m.signer, tx); from == addr && tx.Nonce() >= n {
			n = tx.Nonce() + 1
		}
	}
	return n, nil
}

// SendTransaction implements rpc.Backend: a transaction with a valid
// signature waits for the next Mine.
func (m *L1Miner) SendTransaction(_ context.Context, raw []byte) error {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return err
	}
	if _, err := types.Sender(m.signer, tx); err != nil {
		return err
	}
	if tx.Type() == types.BlobTxType {
		if sc := tx.BlobTxSidecar(); sc == nil || sc.ValidateBlobCommitmentHashes(tx.BlobHashes()) != nil {
			return errors.New("blob transaction without a sidecar matching its versioned hashes")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, tx)
	return nil
}

// Pending counts the transactions waiting for the next Mine.
func (m *L1Miner) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

// DropPending forgets the transactions waiting for the next Mine, as a
// node does with what a recheck finds it cannot include, and returns how
// many there were.
func (m *L1Miner) DropPending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.pending)
	m.pending = nil
	return n
}

// AutoMine mines a block every interval, with or without transactions,
// until the returned stop is called: for tests of nodes that wait on L1
// receipts and heights from their own goroutines.
func (m *L1Miner) AutoMine(every time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_, _, _ = m.Mine()
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}
