package rollup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/cairn-dev/cairn/chain"
)

// StepProof is what the one-step proof re-executes on L1: one L2 block's
// attributes on top of its parent, with a go-ethereum execution witness
// holding every trie node, code and header the block touches. Its
// deposits and forced transactions are the portal's own queue items,
// checked against what the portal recorded when it emitted them.
type StepProof struct {
	ParentMessagePasserRoot common.Hash // opens the agreed output with the witness's parent header
	Time                    uint64
	OriginNumber            uint64
	OriginHeader            []byte      // RLP of the L1 origin's header
	Txs                     [][]byte    // the block's sequencer transactions
	Queue                   []ProofItem // the portal items of the block's new origins
	Witness                 []byte      // RLP of a stateless.Witness; Headers[0] is the parent
	// Derivation shows the block is the one derivation made next after
	// the parent: from its batch, or as a forced advance.
	Derivation Derivation
	// Scans are the scanInbox calls the proof's derivation resumes after
	// (Derivation.Resume), sent before it; they are not part of the step.
	Scans []Scan `rlp:"-"`
}

// BatchTx is one inbox record's data with its number: a batcher
// transaction's calldata, or one blob's data as it decodes (BlobData)
// with the blob's KZG commitment and proof, which tie the data to the
// versioned hash the inbox recorded (see blobData).
type BatchTx struct {
	Index      uint64
	Data       []byte
	Commitment []byte `rlp:"optional"` // a blob's KZG commitment (48 bytes)
	BlobProof  []byte `rlp:"optional"` // the blob's KZG proof (48 bytes)
	// Preimage is the data a committee certificate in Data stands for.
	Preimage []byte `rlp:"optional"`
	// For a blob that is not a valid encoding, which derivation drops:
	// the data cells that show it (da.InvalidCells) with their cell
	// proofs, instead of the data.
	CellIndices []uint64 `rlp:"optional"`
	Cells       [][]byte `rlp:"optional"`
	CellProofs  [][]byte `rlp:"optional"`
}

// ProofItem is a portal log, as emitted.
type ProofItem struct {
	Topics []common.Hash
	Data   []byte
}

// ErrBadProof is returned for a one-step proof that does not prove the
// claimed output.
var ErrBadProof = errors.New("one-step proof does not hold")

// MakeStepProof builds the proof of L2 block number from a node's chain:
// the block is re-executed on its parent's state to record the witness.
func (e *Engine) MakeStepProof(l1 *L1Reader, number uint64) (*StepProof, error) {
	block := e.store.BlockByNumber(number)
	if block == nil || number == 0 {
		return nil, fmt.Errorf("no L2 block %d", number)
	}
	parent := e.store.GetHeaderByNumber(number - 1)
	a, err := AttributesOf(nilContext(), l1, parent, block)
	if err != nil {
		return nil, err
	}
	pre, err := OutputAt(e.store, number-1)
	if err != nil {
		return nil, err
	}
	witness, err := e.witnessBlock(block, parent, a)
	if err != nil {
		return nil, err
	}
	var wbuf bytes.Buffer
	if err := witness.EncodeRLP(&wbuf); err != nil {
		return nil, err
	}
	oraw, err := originHeader(nilContext(), l1, a.Origin)
	if err != nil {
		return nil, err
	}
	p := &StepProof{
		ParentMessagePasserRoot: pre.MessagePasserRoot,
		Time:                    a.Time,
		OriginNumber:            a.Origin.Number,
		OriginHeader:            oraw,
		Witness:                 wbuf.Bytes(),
	}
	for _, tx := range a.Txs {
		raw, _ := tx.MarshalBinary()
		p.Txs = append(p.Txs, raw)
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, err
	}
	logs, err := l1.queueLogs(nilContext(), pinfo.Number, a.Origin.Number)
	if err != nil {
		return nil, err
	}
	for _, l := range logs {
		p.Queue = append(p.Queue, ProofItem{Topics: l.Topics, Data: l.Data})
	}
	d, list, start, err := e.derivationOf(nilContext(), l1, parent, oraw)
	if err != nil {
		return nil, err
	}
	pos, _ := ReadPosition(e.store.Database(), number)
	if p.Scans, _, _, err = scanCut(parent, oraw, d, list, start, pos, loadedRecords{}, nil, &e.cfg.Proofs, DefaultPartBudget); err != nil {
		return nil, err
	}
	p.Derivation = *d
	return p, nil
}

// witnessBlock re-executes a stored block from its attributes on its
// parent's state and returns the go-ethereum witness of every trie node,
// code and header that takes.
func (e *Engine) witnessBlock(block *types.Block, parent *types.Header, a *Attributes) (*stateless.Witness, error) {
	st, err := e.store.StateAt(parent.Root)
	if err != nil {
		return nil, err
	}
	w, err := stateless.NewWitness(block.Header(), e.store, false)
	if err != nil {
		return nil, err
	}
	st.StartPrefetcher("step-proof", w)
	exec := chain.NewExecutor(e.exec.Config(), &witnessChain{Store: e.store, w: w}, L2System()).WithDataFee(e.exec.DataFee())
	res, err := BuildBlock(exec, st, a)
	st.StopPrefetcher()
	if err != nil {
		return nil, err
	}
	if res.Block.Hash() != block.Hash() {
		return nil, fmt.Errorf("%w: block %d re-executed to %s, stored %s", ErrBlockMismatch, block.NumberU64(), res.Block.Hash(), block.Hash())
	}
	// The output root reads the message passer's storage root, which the
	// block need not touch: the path to its account in the parent state
	// goes in too, or the verifier could not read it.
	pre, err := e.store.StateAt(parent.Root)
	if err != nil {
		return nil, err
	}
	tr, err := pre.Database().OpenTrie(parent.Root)
	if err != nil {
		return nil, err
	}
	nodes := memorydb.New()
	if err := tr.Prove(crypto.Keccak256(MessagePasserAddress.Bytes()), nodes); err != nil {
		return nil, err
	}
	it := nodes.NewIterator(nil, nil)
	for it.Next() {
		w.State[string(it.Value())] = struct{}{}
	}
	it.Release()
	return w, nil
}

// witnessChain answers BLOCKHASH from the store and adds the headers it
// reads to the witness.
type witnessChain struct {
	*chain.Store
	w *stateless.Witness
}

func (c *witnessChain) GetHeader(hash common.Hash, number uint64) *types.Header {
	c.w.AddBlockHash(number)
	return c.Store.GetHeader(hash, number)
}

// queueRecord reads what the portal recorded of queue item i.
type queueRecord interface {
	QueueItem(i uint64) (hash common.Hash, l1Block uint64, ok bool)
	QueueLength() uint64
}

// batchRecord reads what the inbox recorded of the batcher's transactions.
type batchRecord interface {
	// Batch is inbox record i: the calldata hash of a batcher transaction
	// or the versioned hash of one of its blobs, and the L1 block that
	// included it.
	Batch(i uint64) (inboxEntry, bool)
	// FirstAfter is the index of the first record of an L1 block after x.
	FirstAfter(x uint64) uint64
}

// ErrNoBatch is returned for a block proven without the batch that
// carried it, when derivation could not have made it without one.
var ErrNoBatch = errors.New("a block without a batch must be derivation's forced advance")

// VerifyStep re-executes a one-step proof statelessly and returns the
// output root it produces. loRoot is the agreed output root of the parent
// block; the portal's and the inbox's records are read from L1 state st,
// and only L1 data from blocks before before may be used (the L1 block
// that included the disputed output; AnyL1Block for none).
func VerifyStep(p *StepProof, loRoot common.Hash, before uint64, params *L1Params, st vm.StateDB) (common.Hash, error) {
	return verifyStep(p, loRoot, params, recordsOf(st, before))
}

func verifyStep(p *StepProof, loRoot common.Hash, params *L1Params, l1 l1Records) (common.Hash, error) {
	l2ChainID := params.L2ChainID
	var w stateless.Witness
	if err := rlp.DecodeBytes(p.Witness, &w); err != nil {
		return common.Hash{}, fmt.Errorf("%w: witness: %w", ErrBadProof, err)
	}
	if len(w.Headers) == 0 {
		return common.Hash{}, fmt.Errorf("%w: witness has no parent header", ErrBadProof)
	}
	parent := w.Headers[0]
	if err := checkParent(parent); err != nil {
		return common.Hash{}, err
	}
	d := &p.Derivation
	if OutputRoot(parent.Root, p.ParentMessagePasserRoot, parent.Hash(), d.ParentPosition) != loRoot {
		return common.Hash{}, fmt.Errorf("%w: parent does not open the agreed output", ErrBadProof)
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return common.Hash{}, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	if p.OriginNumber < pinfo.Number {
		return common.Hash{}, fmt.Errorf("%w: origin %d before the parent's %d", ErrBadProof, p.OriginNumber, pinfo.Number)
	}
	if err := l1.checkBefore("origin", p.OriginNumber); err != nil {
		return common.Hash{}, err
	}
	origin, originTime, err := checkOrigin(p.OriginHeader, p.OriginNumber, pinfo, l1.headers)
	if err != nil {
		return common.Hash{}, err
	}
	items, err := checkQueue(p.Queue, pinfo.Number, p.OriginNumber, l2ChainID, l1.queue)
	if err != nil {
		return common.Hash{}, err
	}
	txs := make([]*types.Transaction, len(p.Txs))
	for i, raw := range p.Txs {
		txs[i] = decodeL2Tx(raw, l2ChainID)
		if txs[i] == nil {
			return common.Hash{}, fmt.Errorf("%w: transaction %d does not decode", ErrBadProof, i)
		}
	}
	origins, err := originTimes(d.Origins, pinfo, l1.headers)
	if err != nil {
		return common.Hash{}, err
	}
	origins[p.OriginNumber] = originTime
	next, err := deriveNext(parent, pinfo, d, origins, params, &l1, nil)
	if err != nil {
		return common.Hash{}, err
	}
	if err := next.matches(p.Time, p.OriginNumber, txs, pinfo); err != nil {
		return common.Hash{}, err
	}
	if err := checkTime(p.Time, parent.Time, originTime, next.batch != nil, params); err != nil {
		return common.Hash{}, err
	}
	memdb := w.MakeHashDB()
	st, err := state.New(parent.Root, state.NewDatabase(triedb.NewDatabase(memdb, triedb.HashDefaults), state.NewCodeDB(memdb)))
	if err != nil {
		return common.Hash{}, fmt.Errorf("%w: pre-state: %w", ErrBadProof, err)
	}
	config := chain.ChainConfig(l2ChainID)
	headers := &memChain{db: memdb, config: config}
	exec := chain.NewExecutor(config, headers, L2System()).WithDataFee(dataFee{scalar: params.L1FeeScalar})
	res, err := BuildBlock(exec, st, &Attributes{
		Parent: parent,
		Time:   p.Time,
		Origin: origin,
		Queue:  items,
		Txs:    txs,
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("%w: execution: %w", ErrBadProof, err)
	}
	mpRoot := st.GetStorageRoot(MessagePasserAddress)
	if err := st.Error(); err != nil {
		return common.Hash{}, fmt.Errorf("%w: state: %w", ErrBadProof, err)
	}
	if err := headers.complete(); err != nil {
		return common.Hash{}, err
	}
	return OutputRoot(res.Block.Root(), mpRoot, res.Block.Hash(), next.pos), nil
}

// checkParent refuses a parent header that no L2 block has: execution
// reads its base fee.
func checkParent(h *types.Header) error {
	if h.BaseFee == nil || h.Number == nil || !h.Number.IsUint64() || h.Number.Uint64() == ^uint64(0) {
		return fmt.Errorf("%w: malformed parent header", ErrBadProof)
	}
	return nil
}

// checkQueue checks the proof's portal items: consecutive queue indexes,
// each as the portal recorded it, covering exactly the L1 blocks
// (from, to].
func checkQueue(proof []ProofItem, from, to, l2ChainID uint64, q queueRecord) ([]QueueItem, error) {
	var items []QueueItem
	first := uint64(0)
	for i, pi := range proof {
		if len(pi.Topics) < 3 {
			return nil, fmt.Errorf("%w: queue item %d", ErrBadProof, i)
		}
		idx := pi.Topics[len(pi.Topics)-1].Big().Uint64()
		if i == 0 {
			first = idx
		} else if idx != first+uint64(i) {
			return nil, fmt.Errorf("%w: queue items not consecutive", ErrBadProof)
		}
		item, err := queueItemAt(pi, idx, from, to, l2ChainID, q)
		if err != nil {
			return nil, err
		}
		items = append(items, *item)
	}
	// Nothing may be left out on either side.
	next := first + uint64(len(proof))
	if len(proof) == 0 {
		// Find where the range would start: no recorded item may fall in it.
		n := q.QueueLength()
		for i := n; i > 0; i-- {
			_, block, _ := q.QueueItem(i - 1)
			if block <= from {
				break
			}
			if block <= to {
				return nil, fmt.Errorf("%w: queue item %d of L1 block %d left out", ErrBadProof, i-1, block)
			}
		}
		return nil, nil
	}
	if first > 0 {
		if _, block, _ := q.QueueItem(first - 1); block > from {
			return nil, fmt.Errorf("%w: queue item %d left out", ErrBadProof, first-1)
		}
	}
	if next < q.QueueLength() {
		if _, block, _ := q.QueueItem(next); block <= to {
			return nil, fmt.Errorf("%w: queue item %d left out", ErrBadProof, next)
		}
	}
	return items, nil
}

// queueItemAt checks a proof's portal log against what the portal recorded
// as queue item idx, in L1 blocks (from, to], and parses it.
func queueItemAt(pi ProofItem, idx, from, to, l2ChainID uint64, q queueRecord) (*QueueItem, error) {
	hash, block, ok := q.QueueItem(idx)
	if len(pi.Topics) < 3 || !ok || hash != queueItemHash(pi.Topics, pi.Data) || block <= from || block > to {
		return nil, fmt.Errorf("%w: queue item %d is not the portal's for L1 blocks (%d, %d]", ErrBadProof, idx, from, to)
	}
	item, err := ParseQueueLog(&types.Log{Address: PortalAddress, Topics: pi.Topics, Data: pi.Data, BlockNumber: block}, l2ChainID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	return item, nil
}

// queueItemHash is what the portal records of each queue log.
func queueItemHash(topics []common.Hash, data []byte) common.Hash {
	h := crypto.NewKeccakState()
	for _, t := range topics {
		h.Write(t[:])
	}
	h.Write(data)
	var out common.Hash
	h.Read(out[:])
	return out
}

// memChain answers BLOCKHASH from the witness's headers. A header the
// execution asks for and the witness lacks would make BLOCKHASH 0 where
// the real chain has a hash, so it makes the proof fail (see complete).
type memChain struct {
	db      ethdb.Database
	config  *params.ChainConfig
	missing *uint64 // the first header asked for and not found
}

// ErrMissingHeader is returned for a proof whose witness leaves out a
// header its block reads with BLOCKHASH.
var ErrMissingHeader = errors.New("witness lacks a header the block reads")

func (c *memChain) Config() *params.ChainConfig  { return c.config }
func (c *memChain) CurrentHeader() *types.Header { return nil }
func (c *memChain) GetHeader(hash common.Hash, number uint64) *types.Header {
	h := rawdb.ReadHeader(c.db, hash, number)
	if h == nil && c.missing == nil {
		c.missing = &number
	}
	return h
}

// complete fails when execution asked for a header the witness lacks.
// Headers are looked up by hash, walking back from the parent, so the ones
// found are linked to the agreed parent.
func (c *memChain) complete() error {
	if c.missing != nil {
		return fmt.Errorf("%w: %w: L2 block %d", ErrBadProof, ErrMissingHeader, *c.missing)
	}
	return nil
}
func (c *memChain) GetHeaderByNumber(uint64) *types.Header { return nil }
func (c *memChain) GetHeaderByHash(hash common.Hash) *types.Header {
	n, ok := rawdb.ReadHeaderNumber(c.db, hash)
	if !ok {
		return nil
	}
	return rawdb.ReadHeader(c.db, hash, n)
}
func (c *memChain) Engine() consensus.Engine { return nil }

// collectRecords reads the inbox records of L1 blocks [from, to] from the
// batcher's transactions, with their inbox indexes, as a proof carries
// them.
func collectRecords(ctx context.Context, l1 *L1Reader, cfg *Config, from, to uint64) (*batchList, error) {
	logs, err := l1.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
		Addresses: []common.Address{InboxAddress}, Topics: [][]common.Hash{{batchRecordedTopic}},
	})
	if err != nil {
		return nil, err
	}
	index := map[common.Hash][]uint64{} // a blob transaction has a record per blob
	blocks := map[uint64]bool{}
	for _, l := range logs {
		index[l.TxHash] = append(index[l.TxHash], l.Topics[1].Big().Uint64())
		blocks[l.BlockNumber] = true
	}
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(cfg.L1ChainID))
	all := &batchList{} // the batcher's inbox transactions, in inbox order
	dac, das := cfg.CommitteeClient(), cfg.SamplingClient()
	for x := from; x <= to; x++ {
		if !blocks[x] {
			continue
		}
		blk, err := l1.Block(ctx, x)
		if err != nil {
			return nil, err
		}
		for _, tx := range blk.Transactions() {
			idx, ok := index[tx.Hash()]
			if tx.To() == nil || *tx.To() != InboxAddress || !ok {
				continue
			}
			if sender, _ := types.Sender(signer, tx); sender != cfg.Batcher {
				continue
			}
			if hashes := tx.BlobHashes(); len(hashes) > 0 {
				if len(idx) != len(hashes) {
					return nil, fmt.Errorf("blob transaction %s has %d blobs and %d inbox records", tx.Hash(), len(hashes), len(idx))
				}
				cars, err := l1.Blobs(ctx, x, hashes)
				if err != nil {
					return nil, err
				}
				for i, sc := range cars {
					bt := BatchTx{Index: idx[i], Commitment: sc.Commitment[:], BlobProof: sc.Proof[:]}
					if bt.Data, err = BlobData(&sc.Blob); err != nil {
						// Derivation drops it: show why, by its cells.
						if bt, err = invalidBlobTx(idx[i], sc); err != nil {
							return nil, err
						}
					}
					all.add(bt, inboxEntry{Hash: hashes[i], Block: x, Blob: true})
				}
				continue
			}
			bt := BatchTx{Index: idx[0], Data: tx.Data()}
			kept, drop, err := OffChainData(ctx, dac, das, cfg.L2ChainID, bt.Data)
			if err != nil && drop == "" {
				return nil, err
			}
			bt.Preimage = kept // nil for a reference derivation drops: it carries nothing
			all.add(bt, inboxEntry{Hash: crypto.Keccak256Hash(tx.Data()), Block: x})
		}
	}
	for k := 1; k < len(all.txs); k++ {
		if all.txs[k].Index != all.txs[k-1].Index+1 {
			return nil, fmt.Errorf("inbox records %d to %d: %d missing", all.txs[0].Index, all.txs[len(all.txs)-1].Index, all.txs[k-1].Index+1)
		}
	}
	return all, nil
}

// parentCheck is what a span batch starting after parent names it by.
func parentCheck(parent *types.Header) (c [20]byte) {
	copy(c[:], parent.Hash().Bytes())
	return c
}

// batchList answers inbox records from the transactions themselves and
// the L1 blocks that included them, for checking a candidate batch before
// sending it.
type batchList struct {
	txs     []BatchTx
	entries []inboxEntry
}

func (l *batchList) add(bt BatchTx, e inboxEntry) {
	l.txs, l.entries = append(l.txs, bt), append(l.entries, e)
}

// FirstAfter answers for the list's L1 blocks: the first listed record of
// a block after x, or the index after the list.
func (l batchList) FirstAfter(x uint64) uint64 {
	for k, e := range l.entries {
		if e.Block > x {
			return l.txs[k].Index
		}
	}
	if len(l.txs) == 0 {
		return 0
	}
	return l.txs[len(l.txs)-1].Index + 1
}

func (l batchList) Batch(i uint64) (inboxEntry, bool) {
	for k, bt := range l.txs {
		if bt.Index == i {
			return l.entries[k], true
		}
	}
	return inboxEntry{}, false
}
