package chain

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/trie/trienode"
	"github.com/ethereum/go-ethereum/triedb/database"
)

// Partial is a block being executed: Build runs one from start to end, and
// a block too large to re-execute in one go (a rollup's one-step proof on
// L1) runs in parts, each resuming from the Checkpoint the one before left.
// A Partial is not safe for concurrent use.
type Partial struct {
	e       *Executor
	parent  *types.Header
	header  *types.Header
	env     Env
	st      *state.StateDB
	evm     *vm.EVM
	setMsg  func(*core.Message)
	signer  types.Signer
	gp      *core.GasPool
	size    uint64
	blobGas uint64
	base    uint64 // transactions included by earlier parts
	logs    []*types.Log
	reqLogs []*types.Log // logs EIP-6110's request parsing may read

	deposits   []*DepositTx
	depositGas uint64 // of the block's deposits so far, earlier parts too
	included   []*types.Transaction
	receipts   types.Receipts
	skipped    []Skip

	// In parts, the transaction and receipt tries are built as the
	// transactions are included, since no part holds them all.
	txTrie, rcTrie *trie.Trie
	bloom          types.Bloom
}

// Checkpoint is what a block executed in parts carries from one part to
// the next, besides its state: the gas pool, the size so far, and the
// header's accumulators. Its RLP is what a one-step proof commits to.
type Checkpoint struct {
	Root         common.Hash // state root after the parts run so far
	GasRemaining uint64
	GasUsed      uint64 // cumulative gas of the receipts
	Size         uint64
	Included     uint64 // deposits and transactions
	DepositGas   uint64 // gas of the deposits so far
	TxRoot       common.Hash
	ReceiptRoot  common.Hash
	Bloom        types.Bloom
	RequestLogs  []*types.Log
}

// Hash is the checkpoint's commitment.
func (c *Checkpoint) Hash() common.Hash {
	b, _ := rlp.EncodeToBytes(c)
	return crypto.Keccak256Hash(b)
}

// Begin starts a block on parent in env over statedb, the parent's
// post-state: it fills the header and runs the pre-execution system calls
// and the begin-block hooks. Deposits and transactions follow, then Finish.
func (e *Executor) Begin(parent *types.Header, statedb *state.StateDB, env Env) (*Partial, error) {
	p := e.open(parent, statedb, env)
	core.PreExecution(context.Background(), p.header.ParentBeaconRoot, parent, e.config, p.evm, p.header.Number, p.header.Time)
	for _, h := range e.hooks {
		if err := h.BeginBlock(statedb, p.header, env.Consensus); err != nil {
			p.Release()
			return nil, fmt.Errorf("begin-block hook: %w", err)
		}
	}
	p.gp = core.NewGasPool(p.header.GasLimit)
	p.size = uint64(p.header.Size())
	return p, nil
}

// BeginParts is Begin for a block executed in parts: its transaction and
// receipt tries live in tries, where Suspend's caller commits them.
func (e *Executor) BeginParts(parent *types.Header, statedb *state.StateDB, env Env, tries database.NodeDatabase) (*Partial, error) {
	p, err := e.Begin(parent, statedb, env)
	if err != nil {
		return nil, err
	}
	p.txTrie, p.rcTrie = trie.NewEmpty(tries), trie.NewEmpty(tries)
	return p, nil
}

// Resume continues a block executed in parts from cp, over statedb opened
// at cp.Root and tries holding the nodes cp's tries need.
func (e *Executor) Resume(parent *types.Header, statedb *state.StateDB, env Env, cp *Checkpoint, tries database.NodeDatabase) (*Partial, error) {
	p := e.open(parent, statedb, env)
	var err error
	if p.txTrie, err = trie.New(trie.TrieID(cp.TxRoot), tries); err != nil {
		p.Release()
		return nil, fmt.Errorf("transaction trie: %w", err)
	}
	if p.rcTrie, err = trie.New(trie.TrieID(cp.ReceiptRoot), tries); err != nil {
		p.Release()
		return nil, fmt.Errorf("receipt trie: %w", err)
	}
	if cp.GasRemaining > p.header.GasLimit {
		p.Release()
		return nil, fmt.Errorf("checkpoint has %d gas left of %d", cp.GasRemaining, p.header.GasLimit)
	}
	p.gp = core.NewGasPool(p.header.GasLimit)
	p.gp.CheckGasLegacy(p.header.GasLimit - cp.GasRemaining)
	p.gp.ChargeGasLegacy(0, cp.GasUsed)
	p.size, p.base, p.bloom, p.depositGas = cp.Size, cp.Included, cp.Bloom, cp.DepositGas
	p.reqLogs = cp.RequestLogs
	return p, nil
}

func (e *Executor) open(parent *types.Header, statedb *state.StateDB, env Env) *Partial {
	header := e.Header(parent, env)
	evm, setMsg := e.NewEVM(header, statedb, vm.Config{})
	return &Partial{
		e: e, parent: parent, header: header, env: env, st: statedb, evm: evm, setMsg: setMsg,
		signer: types.MakeSigner(e.config, header.Number, header.Time),
	}
}

// Release returns the EVM; the Partial must not be used after.
func (p *Partial) Release() { p.evm.Release() }

// Header is the block's header as built so far.
func (p *Partial) Header() *types.Header { return p.header }

// State is the block's state.
func (p *Partial) State() *state.StateDB { return p.st }

// Deposit runs one deposit with its own gas, outside the block's gas pool,
// and finalises it as a transaction is. Deposits run before the block's
// transactions.
func (p *Partial) Deposit(d *Deposit) {
	dt := runDeposit(p.evm, p.setMsg, p.st, d, p.Included(), p.depositGas)
	p.depositGas = dt.Receipt.CumulativeGasUsed
	p.deposits = append(p.deposits, dt)
	p.st.Finalise(p.evm.GetRules())
}

// Apply includes tx, or leaves it out and returns why: a transaction that
// cannot be included (wrong nonce, insufficient funds, no room left,
// unsupported type...) never fails the block. index is its position in the
// caller's input, for Result.Skipped.
func (p *Partial) Apply(index int, tx *types.Transaction) error {
	skip := func(err error) error {
		p.skipped = append(p.skipped, Skip{index, tx, err})
		return err
	}
	if tx.Type() == types.SetCodeTxType || (tx.Type() == types.BlobTxType && (!p.e.blobs || p.txTrie != nil)) {
		return skip(ErrTxTypeRefused)
	}
	if tx.Type() == types.BlobTxType {
		if tx.BlobTxSidecar() != nil {
			return skip(ErrSidecarInBlock)
		}
		if p.blobGas+tx.BlobGas() > eip4844.MaxBlobGasPerBlock(p.e.config, p.header.Time) {
			return skip(ErrBlobsFull)
		}
	}
	if p.size+tx.Size() > params.MaxBlockSize-maxBlockSizeBuffer {
		return skip(errBlockFull)
	}
	msg, err := core.TransactionToMessage(tx, p.signer, p.header.BaseFee)
	if err != nil {
		return skip(err)
	}
	snap, gpSnap := p.st.Snapshot(), p.gp.Snapshot()
	if err := p.e.chargeDataFee(p.st, p.header, tx, msg); err != nil {
		return skip(err)
	}
	n := p.Included()
	p.st.SetTxContext(tx.Hash(), n, uint32(n+1))
	p.setMsg(msg)
	receipt, _, err := core.ApplyTransactionWithEVM(context.Background(), msg, p.gp, p.st, p.header.Number, common.Hash{}, p.header.Time, tx, p.evm)
	p.setMsg(nil)
	if err != nil {
		p.st.RevertToSnapshot(snap)
		p.gp.Set(gpSnap)
		return skip(err)
	}
	p.included = append(p.included, tx)
	p.receipts = append(p.receipts, receipt)
	for _, l := range receipt.Logs {
		if l.Address == p.e.config.DepositContractAddress {
			p.reqLogs = append(p.reqLogs, l)
		}
	}
	p.size += tx.Size()
	p.blobGas += tx.BlobGas()
	return nil
}

// Skipped lists the transactions left out so far.
func (p *Partial) Skipped() []Skip { return p.skipped }

// Included counts the deposits and transactions included so far, earlier
// parts too.
func (p *Partial) Included() int { return int(p.base) + len(p.deposits) + len(p.included) }

// Suspend ends a part: it adds the part's transactions and receipts to the
// block's tries and returns the checkpoint the next part resumes from,
// with the tries' new nodes for the caller to keep (nil sets when it keeps
// none). The Partial must not be used after.
func (p *Partial) Suspend() (*Checkpoint, []*trienode.NodeSet, error) {
	defer p.Release()
	if err := p.addToTries(); err != nil {
		return nil, nil, err
	}
	root := p.st.IntermediateRoot(p.evm.GetRules())
	if err := p.st.Error(); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	cp := &Checkpoint{
		Root: root, GasRemaining: p.gp.Available(false), GasUsed: p.gp.CumulativeUsed(), Size: p.size,
		Included: uint64(p.Included()), DepositGas: p.depositGas, Bloom: p.bloom, RequestLogs: p.reqLogs,
	}
	txRoot, txSet := p.txTrie.Commit(false)
	rcRoot, rcSet := p.rcTrie.Commit(false)
	cp.TxRoot, cp.ReceiptRoot = txRoot, rcRoot
	var sets []*trienode.NodeSet
	for _, set := range []*trienode.NodeSet{txSet, rcSet} {
		if set != nil {
			sets = append(sets, set)
		}
	}
	return cp, sets, nil
}

func (p *Partial) addToTries() error {
	if p.txTrie == nil {
		return nil
	}
	add := func(i int, tx, receipt []byte, bloom types.Bloom) error {
		key := rlp.AppendUint64(nil, p.base+uint64(i))
		if err := p.txTrie.Update(key, tx); err != nil {
			return err
		}
		if err := p.rcTrie.Update(key, receipt); err != nil {
			return err
		}
		for j := range p.bloom {
			p.bloom[j] |= bloom[j]
		}
		return nil
	}
	for i, d := range p.deposits {
		enc, _ := d.Deposit.MarshalBinary()
		if err := add(i, enc, encodeDepositReceipt(d.Receipt), d.Receipt.Bloom); err != nil {
			return err
		}
	}
	for i, tx := range p.included {
		enc, _ := tx.MarshalBinary()
		var rb bytes.Buffer
		types.Receipts{p.receipts[i]}.EncodeIndex(0, &rb)
		if err := add(len(p.deposits)+i, enc, rb.Bytes(), p.receipts[i].Bloom); err != nil {
			return err
		}
	}
	return nil
}

// blockList is a block's deposits then transactions, as the header's
// transactions root commits to them.
type blockList struct {
	deposits []*DepositTx
	txs      types.Transactions
}

func (l blockList) Len() int { return len(l.deposits) + len(l.txs) }

func (l blockList) EncodeIndex(i int, w *bytes.Buffer) {
	if i < len(l.deposits) {
		enc, _ := l.deposits[i].Deposit.MarshalBinary()
		w.Write(enc)
		return
	}
	l.txs.EncodeIndex(i-len(l.deposits), w)
}

// receiptList is the receipts of a blockList, in the same order.
type receiptList struct {
	deposits []*DepositTx
	receipts types.Receipts
}

func (l receiptList) Len() int { return len(l.deposits) + len(l.receipts) }

func (l receiptList) EncodeIndex(i int, w *bytes.Buffer) {
	if i < len(l.deposits) {
		w.Write(encodeDepositReceipt(l.deposits[i].Receipt))
		return
	}
	l.receipts.EncodeIndex(i-len(l.deposits), w)
}

// Finish runs the end-block hooks and the post-execution system calls,
// and assembles the block. For a block executed in parts, the block has a
// complete header and no body: the transactions are in earlier parts.
func (p *Partial) Finish() (*Result, error) {
	defer p.Release()
	header := p.header
	header.GasUsed = p.gp.Used()
	blobGas := p.blobGas
	header.BlobGasUsed = &blobGas
	for _, h := range p.e.hooks {
		if err := h.EndBlock(p.st, header, p.env.Consensus); err != nil {
			return nil, fmt.Errorf("end-block hook: %w", err)
		}
	}
	requests, _, err := core.PostExecution(context.Background(), p.e.config, header.Number, header.Time, p.reqLogs, types.Withdrawals{}, p.evm, uint32(p.Included()+1))
	if err != nil {
		return nil, fmt.Errorf("post-execution system calls: %w", err)
	}
	if requests != nil {
		h := types.CalcRequestsHash(requests)
		header.RequestsHash = &h
	}
	header.Root = p.st.IntermediateRoot(p.evm.GetRules())
	if err := p.st.Error(); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var block *types.Block
	if p.txTrie != nil {
		if err := p.addToTries(); err != nil {
			return nil, err
		}
		header.TxHash, header.ReceiptHash, header.Bloom = p.txTrie.Hash(), p.rcTrie.Hash(), p.bloom
		header.WithdrawalsHash = &types.EmptyWithdrawalsHash
		block = types.NewBlockWithHeader(header)
	} else {
		body := &types.Body{Transactions: p.included, Withdrawals: types.Withdrawals{}}
		block = types.NewBlock(header, body, p.receipts, trie.NewStackTrie(nil))
		if len(p.deposits) > 0 {
			// The roots and bloom cover the deposits too, first.
			h := block.Header()
			h.TxHash = types.DeriveSha(blockList{p.deposits, p.included}, trie.NewStackTrie(nil))
			h.ReceiptHash = types.DeriveSha(receiptList{p.deposits, p.receipts}, trie.NewStackTrie(nil))
			for _, d := range p.deposits {
				for j := range h.Bloom {
					h.Bloom[j] |= d.Receipt.Bloom[j]
				}
			}
			block = types.NewBlockWithHeader(h).WithBody(*body)
		}
	}
	hash := block.Hash()
	// Number logs across the block, deposits' first, as JSON-RPC serves
	// them.
	var index uint
	for _, d := range p.deposits {
		d.Receipt.BlockHash, d.Receipt.BlockNumber = hash, header.Number
		for _, l := range d.Receipt.Logs {
			l.BlockHash, l.Index, l.TxIndex = hash, index, d.Receipt.TransactionIndex
			index++
		}
	}
	for _, r := range p.receipts {
		r.BlockHash = hash
		for _, l := range r.Logs {
			l.BlockHash = hash
			l.Index = index
			index++
		}
	}
	return &Result{Block: block, Receipts: p.receipts, Deposits: p.deposits, State: p.st, Skipped: p.skipped}, nil
}
