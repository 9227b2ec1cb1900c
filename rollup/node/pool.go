package node

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
)

// Pool limits.
const (
	DefaultPoolSize  = 200_000    // transactions waiting at most
	DefaultMaxTxSize = 128 * 1024 // as go-ethereum's pool
)

// AccountQueue is how many transactions of one sender may wait behind a
// nonce gap, go-ethereum's default: a client sending consecutive nonces
// over several connections has them arrive out of order.
const AccountQueue = 64

// ErrNonceGap is returned for a transaction whose nonce is more than
// AccountQueue above the sender's next pending nonce.
var ErrNonceGap = errors.New("nonce too high")

// ErrPoolFull is returned when the mempool holds its limit of transactions.
var ErrPoolFull = errors.New("txpool is full")

// ErrBeingSequenced is returned for a replacement of a transaction the
// sequencer is executing into a block right now: a moment later its nonce
// is used.
var ErrBeingSequenced = errors.New("a transaction with this nonce is being sequenced: it cannot be replaced")

// pool is the sequencer's mempool: first come, first served, gapless per
// sender. A transaction behind a nonce gap waits in future until the gap
// fills, then joins the queue. A transaction paying both fee caps
// chain.PriceBump percent more replaces the one of its nonce, in place, as
// go-ethereum's pool does.
type pool struct {
	mu      sync.Mutex
	signer  types.Signer
	config  *rollup.Config
	fee     chain.DataFee
	limit   int
	queue   []*slot
	inBlock int // the queue's first entries, taken for the block being built
	at      map[senderNonce]*slot
	byHash  map[common.Hash]*types.Transaction
	from    map[common.Hash]common.Address
	next    map[common.Address]uint64 // next nonce of senders with pending transactions
	pending map[common.Address]int
	future  map[common.Address]map[uint64]*types.Transaction
	waiting int // transactions in future
	// What each pending transaction may cost its sender, and the sum per
	// sender: a new one must fit the balance with all of them.
	cost  map[common.Hash]*big.Int
	spent map[common.Address]*big.Int
}

// slot is a place in the queue; a replacement takes its predecessor's.
type slot struct {
	tx    *types.Transaction
	taken bool // in the block being built: not replaceable
}

type senderNonce struct {
	from  common.Address
	nonce uint64
}

func newPool(cfg *rollup.Config, limit int) *pool {
	if limit <= 0 {
		limit = DefaultPoolSize
	}
	return &pool{
		signer:  types.LatestSignerForChainID(new(big.Int).SetUint64(cfg.L2ChainID)),
		config:  cfg,
		fee:     cfg.DataFee(),
		limit:   limit,
		at:      map[senderNonce]*slot{},
		byHash:  map[common.Hash]*types.Transaction{},
		from:    map[common.Hash]common.Address{},
		next:    map[common.Address]uint64{},
		pending: map[common.Address]int{},
		future:  map[common.Address]map[uint64]*types.Transaction{},
		cost:    map[common.Hash]*big.Int{},
		spent:   map[common.Address]*big.Int{},
	}
}

// check validates tx on its own against the head block: type, size,
// signature, gas and fees. It is the costly part of admission (sender
// recovery) and runs without locks, so RPC calls check in parallel.
func (p *pool) check(tx *types.Transaction, head *types.Header) (common.Address, *big.Int, error) {
	opts := &txpool.ValidationOptions{
		Config:  p.config.Genesis.Config(),
		Accept:  1<<types.LegacyTxType | 1<<types.AccessListTxType | 1<<types.DynamicFeeTxType,
		MaxSize: DefaultMaxTxSize,
		MinTip:  new(big.Int),
	}
	if err := txpool.ValidateTransaction(tx, head, p.signer, opts); err != nil {
		return common.Address{}, nil, err
	}
	if tx.GasFeeCap().Cmp(head.BaseFee) < 0 {
		return common.Address{}, nil, fmt.Errorf("%w: max fee per gas %v, base fee %v", core.ErrFeeCapTooLow, tx.GasFeeCap(), head.BaseFee)
	}
	from, err := types.Sender(p.signer, tx)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("%w: %w", txpool.ErrInvalidSender, err)
	}
	return from, new(big.Int).Add(tx.Cost(), p.fee.Cost(head, tx).Fee), nil
}

// add queues a checked transaction if its nonce is the sender's next, or
// within AccountQueue of it (it then waits for the gap to fill), or if it
// replaces a transaction of its nonce with both fee caps chain.PriceBump
// percent higher; and if the sender's balance in st covers need with its
// other pending transactions.
func (p *pool) add(tx *types.Transaction, from common.Address, need *big.Int, st *state.StateDB) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byHash[tx.Hash()] != nil {
		return txpool.ErrAlreadyKnown
	}
	stateNonce := st.GetNonce(from)
	for n, w := range p.future[from] { // overtaken: its nonce was used
		if n < stateNonce {
			p.dropFutureLocked(from, n, w)
		}
	}
	next, ok := p.next[from]
	if !ok || next < stateNonce {
		next = stateNonce
	}
	var (
		old    *types.Transaction // the transaction tx replaces
		oldAt  *slot
		future = tx.Nonce() > next
	)
	switch {
	case tx.Nonce() < stateNonce:
		return fmt.Errorf("%w: next nonce %d, tx nonce %d", core.ErrNonceTooLow, stateNonce, tx.Nonce())
	case tx.Nonce() < next:
		if oldAt = p.at[senderNonce{from, tx.Nonce()}]; oldAt == nil {
			return fmt.Errorf("%w: next nonce %d, tx nonce %d", core.ErrNonceTooLow, next, tx.Nonce())
		}
		if oldAt.taken {
			return ErrBeingSequenced
		}
		old = oldAt.tx
	case tx.Nonce() > next+AccountQueue:
		return fmt.Errorf("%w: next nonce %d, tx nonce %d, at most %d may wait behind a gap", ErrNonceGap, next, tx.Nonce(), AccountQueue)
	case future:
		old = p.future[from][tx.Nonce()]
	}
	if old != nil && !chain.Bumped(old, tx) {
		return fmt.Errorf("%w: need both fee caps %d%% above the pending transaction's", txpool.ErrReplaceUnderpriced, chain.PriceBump)
	}
	total := new(big.Int).Add(need, p.spentOf(from))
	if old != nil {
		total.Sub(total, p.cost[old.Hash()])
	}
	if balance := st.GetBalance(from).ToBig(); balance.Cmp(total) < 0 {
		return fmt.Errorf("%w: balance %v, tx cost %v with the sender's pending ones %v", core.ErrInsufficientFunds, balance, need, total)
	}
	if old == nil && len(p.queue)+p.waiting >= p.limit {
		return ErrPoolFull
	}
	if old != nil {
		p.refund(old, from)
		delete(p.byHash, old.Hash())
		delete(p.from, old.Hash())
	}
	p.charge(tx, from, need)
	p.byHash[tx.Hash()] = tx
	p.from[tx.Hash()] = from
	switch {
	case oldAt != nil:
		oldAt.tx = tx
		return nil
	case future:
		f := p.future[from]
		if f == nil {
			f = map[uint64]*types.Transaction{}
			p.future[from] = f
		}
		if old == nil {
			p.waiting++
		}
		f[tx.Nonce()] = tx
		return nil
	}
	p.enqueueLocked(tx, from)
	// The gap before waiting transactions may have closed.
	for f := p.future[from]; f != nil && f[p.next[from]] != nil; {
		n := p.next[from]
		w := f[n]
		p.unwaitLocked(from, n, w)
		p.enqueueLocked(w, from)
	}
	return nil
}

func (p *pool) spentOf(from common.Address) *big.Int {
	if s := p.spent[from]; s != nil {
		return s
	}
	return new(big.Int)
}

func (p *pool) charge(tx *types.Transaction, from common.Address, need *big.Int) {
	p.cost[tx.Hash()] = need
	p.spent[from] = new(big.Int).Add(p.spentOf(from), need)
}

// refund forgets a transaction's cost once it leaves the pool.
func (p *pool) refund(tx *types.Transaction, from common.Address) {
	c := p.cost[tx.Hash()]
	if c == nil {
		return
	}
	delete(p.cost, tx.Hash())
	if s := new(big.Int).Sub(p.spentOf(from), c); s.Sign() > 0 {
		p.spent[from] = s
	} else {
		delete(p.spent, from)
	}
}

// dropFutureLocked takes a waiting transaction out of future; promote
// keeps its cost charged, as it moves to the queue.
func (p *pool) dropFutureLocked(from common.Address, n uint64, w *types.Transaction) {
	p.unwaitLocked(from, n, w)
	p.refund(w, from)
	delete(p.byHash, w.Hash())
	delete(p.from, w.Hash())
}

func (p *pool) unwaitLocked(from common.Address, n uint64, w *types.Transaction) {
	f := p.future[from]
	delete(f, n)
	p.waiting--
	if len(f) == 0 {
		delete(p.future, from)
	}
}

// enqueueLocked appends a transaction already known by hash (byHash, from)
// to the queue.
func (p *pool) enqueueLocked(tx *types.Transaction, from common.Address) {
	s := &slot{tx: tx}
	p.queue = append(p.queue, s)
	p.at[senderNonce{from, tx.Nonce()}] = s
	p.next[from] = tx.Nonce() + 1
	p.pending[from]++
}

// take returns up to max transactions in arrival order, leaving them queued
// but no longer replaceable until done.
func (p *pool) take(max int, gas uint64) []*types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked() // an earlier attempt that failed
	var (
		used uint64
		txs  []*types.Transaction
	)
	for len(txs) < len(p.queue) && len(txs) < max {
		s := p.queue[len(txs)]
		if used+s.tx.Gas() > gas {
			break
		}
		used += s.tx.Gas()
		s.taken = true
		txs = append(txs, s.tx)
	}
	p.inBlock = len(txs)
	return txs
}

// releaseLocked makes the transactions taken for a block replaceable again.
func (p *pool) releaseLocked() {
	for _, s := range p.queue[:min(p.inBlock, len(p.queue))] {
		s.taken = false
	}
	p.inBlock = 0
}

// done removes the transactions of a block attempt: included ones, and
// skipped ones that cannot run later. A dropped transaction takes the
// sender's later transactions with it, since they now have a nonce gap.
func (p *pool) done(taken []*types.Transaction, skipped []chain.Skip) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked()
	keep := map[common.Hash]bool{}
	dead := map[common.Address]bool{}
	for _, s := range skipped {
		if errors.Is(s.Err, core.ErrFeeCapTooLow) || errors.Is(s.Err, errBlockFullSkip) {
			keep[s.Tx.Hash()] = true
		} else if from, ok := p.from[s.Tx.Hash()]; ok {
			dead[from] = true
		}
	}
	rest := p.queue[len(taken):]
	var front []*slot
	for _, s := range p.queue[:len(taken)] {
		if keep[s.tx.Hash()] && !dead[p.from[s.tx.Hash()]] {
			front = append(front, s)
			continue
		}
		p.removeLocked(s.tx)
	}
	if len(dead) > 0 {
		kept := rest[:0]
		for _, s := range rest {
			if dead[p.from[s.tx.Hash()]] {
				p.removeLocked(s.tx)
				continue
			}
			kept = append(kept, s)
		}
		rest = kept
	}
	p.queue = append(front, rest...)
	for from := range dead {
		delete(p.next, from) // back to the state nonce
	}
}

// errBlockFullSkip matches the executor's skip for a full block; such a
// transaction waits for the next block.
var errBlockFullSkip = core.ErrGasLimitReached

func (p *pool) removeLocked(tx *types.Transaction) {
	h := tx.Hash()
	from, ok := p.from[h]
	if !ok {
		return
	}
	p.refund(tx, from)
	delete(p.byHash, h)
	delete(p.from, h)
	if k := (senderNonce{from, tx.Nonce()}); p.at[k] != nil && p.at[k].tx == tx {
		delete(p.at, k)
	}
	if p.pending[from]--; p.pending[from] <= 0 {
		delete(p.pending, from)
		delete(p.next, from)
	}
}

// reset forgets everything (after a reorganisation).
func (p *pool) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue, p.inBlock = nil, 0
	p.at = map[senderNonce]*slot{}
	p.byHash = map[common.Hash]*types.Transaction{}
	p.from = map[common.Hash]common.Address{}
	p.next = map[common.Address]uint64{}
	p.pending = map[common.Address]int{}
	p.future = map[common.Address]map[uint64]*types.Transaction{}
	p.waiting = 0
	p.cost = map[common.Hash]*big.Int{}
	p.spent = map[common.Address]*big.Int{}
}

// content is the queue (pending, by sender in nonce order) and what waits
// behind a gap (queued).
func (p *pool) content() (pending, queued map[common.Address][]*types.Transaction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending, queued = map[common.Address][]*types.Transaction{}, map[common.Address][]*types.Transaction{}
	for _, s := range p.queue {
		from := p.from[s.tx.Hash()]
		pending[from] = append(pending[from], s.tx)
	}
	for from, f := range p.future {
		nonces := make([]uint64, 0, len(f))
		for n := range f {
			nonces = append(nonces, n)
		}
		slices.Sort(nonces)
		for _, n := range nonces {
			queued[from] = append(queued[from], f[n])
		}
	}
	return pending, queued
}

func (p *pool) get(hash common.Hash) *types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byHash[hash]
}

func (p *pool) nonce(addr common.Address, stateNonce uint64) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.next[addr]; ok && n > stateNonce {
		return n
	}
	return stateNonce
}

func (p *pool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}
