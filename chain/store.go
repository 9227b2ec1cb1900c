package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/pebble"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/ethereum/go-ethereum/triedb/pathdb"
)

// Sentinel errors of the store.
var (
	// ErrGenesisMismatch is returned when a data directory holds a chain with
	// another genesis than the one given.
	ErrGenesisMismatch = errors.New("stored genesis differs from the configured genesis")
	// ErrNotNext is returned by Commit for a block that does not extend the head.
	ErrNotNext = errors.New("block does not extend the head")
	// ErrRootMismatch is returned by Commit when the committed state root
	// differs from the block's.
	ErrRootMismatch = errors.New("committed state root differs from the block's")
)

// Store keeps a chain on disk: headers, bodies, receipts and transaction
// lookups through go-ethereum's rawdb, and state in a path-scheme trie
// database over pebble. It is safe for concurrent readers; Commit must be
// called by one writer at a time.
//
// State of recent blocks lives in memory layers and reaches disk in batches.
// A clean Close journals them; after a crash, Open rewinds the head to the
// newest block whose state is on disk, and the consensus engine replays the
// blocks after it (CometBFT does this on its handshake).
type Store struct {
	db     ethdb.Database
	triedb *triedb.Database
	state  state.Database
	config *params.ChainConfig

	genesis *types.Block
	head    atomic.Pointer[types.Header]

	writeMu   sync.Mutex
	chainFeed event.Feed // core.ChainEvent
	headFeed  event.Feed // core.ChainHeadEvent
	logsFeed  event.Feed // []*types.Log
	closeOnce sync.Once
	log       *slog.Logger
	rewoundBy uint64
	dropped   []*types.Block
	sync      atomic.Bool
}

// Open opens (or creates) the chain in dir. An empty dir keeps everything in
// memory.
func Open(dir string, g *Genesis, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	cg, err := g.Core()
	if err != nil {
		return nil, err
	}
	var db ethdb.Database
	if dir == "" {
		db = rawdb.NewMemoryDatabase()
	} else {
		kv, err := pebble.New(filepath.Join(dir, "chaindata"), 128, 256, "", false)
		if err != nil {
			return nil, fmt.Errorf("open chain database: %w", err)
		}
		db, err = rawdb.Open(kv, rawdb.OpenOptions{Ancient: filepath.Join(dir, "ancient")})
		if err != nil {
			kv.Close()
			return nil, fmt.Errorf("open chain database: %w", err)
		}
	}
	pcfg := *pathdb.Defaults
	pcfg.WriteBufferSize = 16 * 1024 * 1024
	tdb := triedb.NewDatabase(db, &triedb.Config{PathDB: &pcfg})
	s := &Store{
		db:     db,
		triedb: tdb,
		state:  state.NewDatabase(tdb, state.NewCodeDB(db)),
		config: cg.Config,
		log:    log,
	}
	if err := s.load(cg); err != nil {
		tdb.Close()
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) load(cg *core.Genesis) error {
	want := cg.ToBlock()
	stored := rawdb.ReadCanonicalHash(s.db, 0)
	if stored == (common.Hash{}) {
		block, err := cg.Commit(s.db, s.triedb, nil)
		if err != nil {
			return fmt.Errorf("commit genesis: %w", err)
		}
		s.genesis = block
		s.head.Store(block.Header())
		return nil
	}
	if stored != want.Hash() {
		return fmt.Errorf("%w: stored %s, configured %s", ErrGenesisMismatch, stored, want.Hash())
	}
	s.genesis = rawdb.ReadBlock(s.db, stored, 0)
	head := s.GetHeaderByHash(rawdb.ReadHeadBlockHash(s.db))
	if head == nil {
		head = s.genesis.Header()
	}
	// Rewind to the newest block whose state survived.
	from := head.Number.Uint64()
	for !s.HasState(head.Root) && head.Number.Sign() > 0 {
		head = s.GetHeader(head.ParentHash, head.Number.Uint64()-1)
		if head == nil {
			return fmt.Errorf("chain broken below block %d", from)
		}
	}
	if !s.HasState(head.Root) {
		return fmt.Errorf("no state available for any block up to %d", from)
	}
	if head.Number.Uint64() == from {
		s.dropped = s.readUnreplayed(from)
	}
	if n := head.Number.Uint64(); n < from {
		s.rewoundBy = from - n
		s.log.Info("Rewound chain head to the newest persisted state", "from", from, "to", n)
		batch := s.db.NewBatch()
		var dropped []*types.Block
		for i := n + 1; i <= from; i++ {
			if b := rawdb.ReadBlock(s.db, rawdb.ReadCanonicalHash(s.db, i), i); b != nil {
				dropped = append(dropped, b)
			}
		}
		for i := n + 1; i <= from; i++ {
			rawdb.DeleteCanonicalHash(batch, i)
		}
		// Blocks dropped by an earlier start and not yet replayed follow.
		s.dropped = append(dropped, s.readUnreplayed(from)...)
		writeUnreplayed(batch, s.dropped)
		rawdb.WriteHeadBlockHash(batch, head.Hash())
		rawdb.WriteHeadHeaderHash(batch, head.Hash())
		if err := batch.Write(); err != nil {
			return err
		}
	}
	s.head.Store(head)
	return nil
}

// RewoundBy is how many blocks Open dropped because their state was not on
// disk (after a crash). They are replayed by the consensus engine.
func (s *Store) RewoundBy() uint64 { return s.rewoundBy }

// Dropped returns the blocks Open took off the chain because their state was
// not on disk, oldest first. A chain whose consensus engine does not replay
// blocks (a rollup's sequencer) re-executes them from here and then calls
// Replayed; until it does, every Open returns them again.
func (s *Store) Dropped() []*types.Block { return s.dropped }

// Replayed records that the blocks Dropped returned are back on the chain.
func (s *Store) Replayed() error {
	s.dropped = nil
	return s.db.Delete(unreplayedKey)
}

// unreplayedKey lists the hashes of dropped blocks not yet replayed.
var unreplayedKey = []byte("cairn-unreplayed-blocks")

// readUnreplayed returns the listed blocks above number after.
func (s *Store) readUnreplayed(after uint64) []*types.Block {
	raw, _ := s.db.Get(unreplayedKey)
	var hashes []common.Hash
	if len(raw) == 0 || rlp.DecodeBytes(raw, &hashes) != nil {
		return nil
	}
	var out []*types.Block
	for _, h := range hashes {
		if b := s.BlockByHash(h); b != nil && b.NumberU64() > after {
			out = append(out, b)
		}
	}
	return out
}

func writeUnreplayed(w ethdb.KeyValueWriter, blocks []*types.Block) {
	hashes := make([]common.Hash, len(blocks))
	for i, b := range blocks {
		hashes[i] = b.Hash()
	}
	raw, _ := rlp.EncodeToBytes(hashes)
	w.Put(unreplayedKey, raw)
}

// SyncWrites makes Commit flush every block to stable storage before it
// returns, so a block acknowledged to a user survives a power loss, not only
// a process crash. It costs an fsync per block.
func (s *Store) SyncWrites(on bool) { s.sync.Store(on) }

// HasState reports whether the state with this root can be read.
func (s *Store) HasState(root common.Hash) bool {
	_, err := s.triedb.StateReader(root)
	return err == nil
}

// Close journals in-memory state so a restart does not need to replay, and
// closes the databases. It is safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		if jerr := s.triedb.Journal(s.Head().Root); jerr != nil {
			s.log.Warn("Failed to journal state", "err", jerr)
		}
		err = errors.Join(s.triedb.Close(), s.db.Close())
	})
	return err
}

// Prepare does the heavy half of Commit ahead of it: it commits res's state
// to the trie database and writes the block and its receipts by hash,
// making nothing canonical (no reader sees the block until Commit). The L1
// calls it from FinalizeBlock, so that Commit, which CometBFT runs with its
// mempool locked, only publishes. Doing it again, as Commit does when
// Prepare was not called, is a no-op.
func (s *Store) Prepare(res *Result) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.prepare(res)
}

func (s *Store) prepare(res *Result) error {
	if res.prepared {
		return nil
	}
	block := res.Block
	head := s.Head()
	if block.ParentHash() != head.Hash() || block.NumberU64() != head.Number.Uint64()+1 {
		return fmt.Errorf("%w: block %d parent %s, head %d %s", ErrNotNext, block.NumberU64(), block.ParentHash(), head.Number, head.Hash())
	}
	rules := s.config.Rules(block.Number(), true, block.Time())
	root, err := res.State.Commit(rules, block.NumberU64())
	if err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	if root != block.Root() {
		return fmt.Errorf("%w: %s, block %s", ErrRootMismatch, root, block.Root())
	}
	batch := s.db.NewBatch()
	rawdb.WriteBlock(batch, block)
	rawdb.WriteReceipts(batch, block.Hash(), block.NumberU64(), res.Receipts)
	if err := writeSidecars(batch, block.NumberU64(), res.Sidecars); err != nil {
		return err
	}
	if err := batch.Write(); err != nil {
		return fmt.Errorf("write block %d: %w", block.NumberU64(), err)
	}
	res.prepared = true
	return nil
}

// Commit writes an executed block as the new head: state, block, receipts,
// canonical index and transaction lookups, then tells subscribers.
func (s *Store) Commit(res *Result) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.prepare(res); err != nil {
		return err
	}
	block := res.Block
	if head := s.Head(); block.ParentHash() != head.Hash() {
		return fmt.Errorf("%w: block %d parent %s, head %d %s", ErrNotNext, block.NumberU64(), block.ParentHash(), head.Number, head.Hash())
	}
	batch := s.db.NewBatch()
	rawdb.WriteCanonicalHash(batch, block.Hash(), block.NumberU64())
	rawdb.WriteTxLookupEntriesByBlock(batch, block)
	if err := writeDeposits(batch, block, res.Deposits); err != nil {
		return err
	}
	rawdb.WriteHeadBlockHash(batch, block.Hash())
	rawdb.WriteHeadHeaderHash(batch, block.Hash())
	rawdb.WriteHeadFastBlockHash(batch, block.Hash())
	if err := batch.Write(); err != nil {
		return fmt.Errorf("write block %d: %w", block.NumberU64(), err)
	}
	if s.sync.Load() {
		if err := s.db.SyncKeyValue(); err != nil {
			return fmt.Errorf("sync block %d: %w", block.NumberU64(), err)
		}
	}
	s.head.Store(block.Header())

	logs := res.Logs()
	// The event's receipts match its transactions: the body's.
	s.chainFeed.Send(core.ChainEvent{Header: block.Header(), Receipts: res.Receipts, Transactions: block.Transactions()})
	s.headFeed.Send(core.ChainHeadEvent{Header: block.Header()})
	if len(logs) > 0 {
		s.logsFeed.Send(logs)
	}
	return nil
}

// ErrNoStateToRewind is returned by SetHead when the target block's state can
// no longer be recovered.
var ErrNoStateToRewind = errors.New("state of the rewind target is not available")

// SetHead rewinds the chain to block number, dropping the canonical blocks
// above it (a rollup sequencer does this when L1 data proves its unsafe
// blocks wrong). The target's state must still be held in memory or
// recoverable from the state history on disk. It returns the dropped blocks,
// oldest first.
func (s *Store) SetHead(number uint64) ([]*types.Block, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	head := s.Head()
	if number >= head.Number.Uint64() {
		return nil, nil
	}
	target := s.GetHeaderByNumber(number)
	if target == nil {
		return nil, fmt.Errorf("rewind to %d: no such block", number)
	}
	if !s.HasState(target.Root) {
		if ok, _ := s.triedb.Recoverable(target.Root); !ok {
			return nil, fmt.Errorf("%w: block %d", ErrNoStateToRewind, number)
		}
		if err := s.triedb.Recover(target.Root); err != nil {
			return nil, fmt.Errorf("rewind to %d: %w", number, err)
		}
	}
	var dropped []*types.Block
	batch := s.db.NewBatch()
	for n := number + 1; n <= head.Number.Uint64(); n++ {
		if b := s.BlockByNumber(n); b != nil {
			dropped = append(dropped, b)
		}
		rawdb.DeleteCanonicalHash(batch, n)
	}
	rawdb.WriteHeadBlockHash(batch, target.Hash())
	rawdb.WriteHeadHeaderHash(batch, target.Hash())
	rawdb.WriteHeadFastBlockHash(batch, target.Hash())
	if err := batch.Write(); err != nil {
		return nil, fmt.Errorf("rewind to %d: %w", number, err)
	}
	s.head.Store(target)
	s.headFeed.Send(core.ChainHeadEvent{Header: target})
	return dropped, nil
}

// Config returns the chain configuration.
func (s *Store) Config() *params.ChainConfig { return s.config }

// Database returns the key-value database.
func (s *Store) Database() ethdb.Database { return s.db }

// Genesis returns the genesis block.
func (s *Store) Genesis() *types.Block { return s.genesis }

// Head returns the header of the newest committed block.
func (s *Store) Head() *types.Header { return s.head.Load() }

// CurrentHeader is Head, for go-ethereum's interfaces.
func (s *Store) CurrentHeader() *types.Header { return s.Head() }

// StateAt returns a mutable copy of the state with this root.
func (s *Store) StateAt(root common.Hash) (*state.StateDB, error) {
	return state.New(root, s.state)
}

// TrieNode reads the trie node at path of owner's trie (the account trie
// for the zero owner) in the state with this root, checking its hash.
func (s *Store) TrieNode(root, owner common.Hash, path []byte, hash common.Hash) ([]byte, error) {
	r, err := s.triedb.NodeReader(root)
	if err != nil {
		return nil, err
	}
	return r.Node(owner, path, hash)
}

// GetHeader returns a header by hash and number.
func (s *Store) GetHeader(hash common.Hash, number uint64) *types.Header {
	return rawdb.ReadHeader(s.db, hash, number)
}

// GetHeaderByNumber returns a canonical header.
func (s *Store) GetHeaderByNumber(number uint64) *types.Header {
	if number > s.Head().Number.Uint64() {
		return nil
	}
	hash := rawdb.ReadCanonicalHash(s.db, number)
	if hash == (common.Hash{}) {
		return nil
	}
	return rawdb.ReadHeader(s.db, hash, number)
}

// GetHeaderByHash returns a header by hash.
func (s *Store) GetHeaderByHash(hash common.Hash) *types.Header {
	number, ok := rawdb.ReadHeaderNumber(s.db, hash)
	if !ok {
		return nil
	}
	return rawdb.ReadHeader(s.db, hash, number)
}

// BlockByNumber returns a canonical block.
func (s *Store) BlockByNumber(number uint64) *types.Block {
	h := s.GetHeaderByNumber(number)
	if h == nil {
		return nil
	}
	return rawdb.ReadBlock(s.db, h.Hash(), number)
}

// BlockByHash returns a block by hash.
func (s *Store) BlockByHash(hash common.Hash) *types.Block {
	number, ok := rawdb.ReadHeaderNumber(s.db, hash)
	if !ok {
		return nil
	}
	return rawdb.ReadBlock(s.db, hash, number)
}

// BodyReceipts returns the receipts of a block's body transactions, in
// order, indexed within the body (as go-ethereum's code that pairs them with
// Block.Transactions expects).
func (s *Store) BodyReceipts(hash common.Hash) types.Receipts {
	h := s.GetHeaderByHash(hash)
	if h == nil {
		return nil
	}
	return rawdb.ReadReceipts(s.db, hash, h.Number.Uint64(), h.Time, s.config)
}

// Receipts returns a block's receipts with every derived field filled in:
// its deposits' first, then its transactions', indexed across the block.
func (s *Store) Receipts(hash common.Hash) types.Receipts {
	body := s.BodyReceipts(hash)
	deposits := s.Deposits(hash)
	if len(deposits) == 0 {
		return body
	}
	out := make(types.Receipts, 0, len(deposits)+len(body))
	var logs uint
	for _, d := range deposits {
		out = append(out, d.Receipt)
		logs += uint(len(d.Receipt.Logs))
	}
	for _, r := range body {
		r.TransactionIndex += uint(len(deposits))
		for _, l := range r.Logs {
			l.TxIndex += uint(len(deposits))
			l.Index += logs
		}
		out = append(out, r)
	}
	return out
}

// TxLookup finds a canonical signed transaction: the transaction, its block
// hash, block number and index in the block (after its deposits), or a nil
// transaction. DepositLookup finds deposits.
func (s *Store) TxLookup(hash common.Hash) (*types.Transaction, common.Hash, uint64, uint64) {
	tx, blockHash, number, index := rawdb.ReadCanonicalTransaction(s.db, hash)
	if tx == nil || number > s.Head().Number.Uint64() {
		return nil, common.Hash{}, 0, 0
	}
	return tx, blockHash, number, index + uint64(s.depositCount(blockHash))
}

// Engine satisfies core.ChainContext. Cairn's consensus lives outside the
// execution core, so there is no go-ethereum engine; the executor always
// passes the block's author explicitly, so this is never called.
func (s *Store) Engine() consensus.Engine { return nil }

// SubscribeChainEvent delivers every committed block with its receipts.
func (s *Store) SubscribeChainEvent(ch chan<- core.ChainEvent) event.Subscription {
	return s.chainFeed.Subscribe(ch)
}

// WaitFor calls done now and after each new block until it reports true
// (then WaitFor does too), timeout passes (false, nil) or ctx ends (false
// and ctx's error). It subscribes before its first call, so no block slips
// between the two, and drains the events waiting before each call, so a
// slow waiter never holds up Commit, whose feed blocks on a full
// subscriber.
func (s *Store) WaitFor(ctx context.Context, timeout time.Duration, done func() bool) (bool, error) {
	events := make(chan core.ChainEvent, 128)
	sub := s.SubscribeChainEvent(events)
	defer sub.Unsubscribe()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !done() {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return false, nil
			}
			return false, ctx.Err()
		case err := <-sub.Err():
			return false, err
		case <-events:
			for len(events) > 0 {
				<-events
			}
		}
	}
	return true, nil
}

// SubscribeChainHeadEvent delivers every new head.
func (s *Store) SubscribeChainHeadEvent(ch chan<- core.ChainHeadEvent) event.Subscription {
	return s.headFeed.Subscribe(ch)
}

// SubscribeLogsEvent delivers the logs of every committed block.
func (s *Store) SubscribeLogsEvent(ch chan<- []*types.Log) event.Subscription {
	return s.logsFeed.Subscribe(ch)
}
