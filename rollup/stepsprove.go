package rollup

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/trie/trienode"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/cairn-dev/cairn/chain"
)

// DefaultPartBudget is the most calldata bytes a prover puts in one part
// or load: under the L1's 128 KiB transaction limit with room for the ABI
// wrapping.
const DefaultPartBudget = 100_000

// PartedProof is everything a defender sends to prove one L2 block in
// bounded L1 transactions: the loads of the block's channel, then the
// parts, in order.
type PartedProof struct {
	Loads []BatchLoad
	Scans []Scan // sent after the loads
	Parts []StepPart
}

// storageReader reads L1 contract storage (ethclient has it).
type storageReader interface {
	StorageAt(ctx context.Context, account common.Address, key common.Hash, blockNumber *big.Int) ([]byte, error)
}

// MakeStepParts builds the parted proof of L2 block number from a node's
// chain, cutting it in parts of at most budget bytes. A single transaction
// whose part exceeds the budget on its own is an error.
func (e *Engine) MakeStepParts(l1 *L1Reader, number uint64, budget int) (*PartedProof, error) {
	ctx := nilContext()
	block := e.store.BlockByNumber(number)
	if block == nil || number == 0 {
		return nil, fmt.Errorf("no L2 block %d", number)
	}
	parent := e.store.GetHeaderByNumber(number - 1)
	a, err := AttributesOf(ctx, l1, parent, block)
	if err != nil {
		return nil, err
	}
	pre, err := OutputAt(e.store, number-1)
	if err != nil {
		return nil, err
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, err
	}
	logs, err := l1.queueLogs(ctx, pinfo.Number, a.Origin.Number)
	if err != nil {
		return nil, err
	}
	first, err := queueStart(ctx, l1, logs, a.Origin.Number)
	if err != nil {
		return nil, err
	}
	var items []QueueItem
	var proofItems []ProofItem
	for i := range logs {
		item, err := ParseQueueLog(&logs[i], e.cfg.L2ChainID)
		if err != nil {
			return nil, err
		}
		items = append(items, *item)
		proofItems = append(proofItems, ProofItem{Topics: logs[i].Topics, Data: logs[i].Data})
	}
	praw, _ := rlp.EncodeToBytes(parent)
	oraw, err := originHeader(ctx, l1, a.Origin)
	if err != nil {
		return nil, err
	}
	raws := sequencerRaws(a.Txs)
	env := StepEnv{
		Parent: praw, ParentMessagePasserRoot: pre.MessagePasserRoot,
		Time: a.Time, OriginNumber: a.Origin.Number, OriginHeader: oraw,
		QueueFirst: first, QueueCount: uint64(len(items)),
		SeqRoot: SeqRoot(raws), SeqCount: uint64(len(raws)),
	}
	proof := &PartedProof{}
	d, list, start, err := e.derivationOf(ctx, l1, parent, oraw)
	if err != nil {
		return nil, err
	}
	pos, _ := ReadPosition(e.store.Database(), number)
	env.ParentPosition, env.Position = d.ParentPosition, pos
	channels, loaded, err := loadDerivation(d, list, start, pos, parent, oraw, &env, &e.cfg.Proofs, e.cfg.ChannelTimeout)
	if err != nil {
		return nil, err
	}
	var passLoads []BatchLoad
	if proof.Scans, passLoads, _, err = scanCut(parent, oraw, d, list, start, pos, loaded, &env, &e.cfg.Proofs, budget); err != nil {
		return nil, err
	}
	for _, channel := range channels {
		proof.Loads = append(proof.Loads, splitLoads(channel, budget)...)
	}
	proof.Loads = append(proof.Loads, passLoads...)
	// The parts read the same accounts and slots as the whole block; a
	// node that only hashing at a part's end needs (a branch collapsing
	// under a deletion) is fetched later, by path.
	w, err := e.witnessBlock(block, parent, a)
	if err != nil {
		return nil, fmt.Errorf("witness of L2 block %d: %w", number, err)
	}
	known := w.MakeHashDB()
	pr := &partsProver{
		env: &env, origin: a.Origin, parent: parent, items: items, proofItems: proofItems, txs: a.Txs, raws: raws,
		known: known, store: e.store, l2ChainID: e.cfg.L2ChainID, feeScalar: e.cfg.L1FeeScalar, number: number,
	}
	pr.seqTrie = trie.NewEmpty(triedb.NewDatabase(rawdb.NewMemoryDatabase(), triedb.HashDefaults))
	for i, raw := range raws {
		pr.seqTrie.Update(seqKey(uint64(i)), raw)
	}
	pr.derivation = d
	if proof.Parts, err = pr.cut(budget); err != nil {
		return nil, err
	}
	out, err := OutputAt(e.store, number)
	if err != nil {
		return nil, err
	}
	if pr.output != out.Root() {
		return nil, fmt.Errorf("%w: block %d proves to output %s in parts, stored %s", ErrBlockMismatch, number, pr.output, out.Root())
	}
	return proof, nil
}

// queueStart finds the index of the first portal item after L1 block
// origin's new origins begin: the first log's, or, with none, where the
// queue stood after L1 block origin, read by binary search on the
// portal's records.
func queueStart(ctx context.Context, l1 *L1Reader, logs []types.Log, origin uint64) (uint64, error) {
	if len(logs) > 0 {
		return logs[0].Topics[len(logs[0].Topics)-1].Big().Uint64(), nil
	}
	sr, ok := l1.client.(storageReader)
	if !ok {
		return 0, fmt.Errorf("the L1 client cannot read storage")
	}
	read := func(slot common.Hash) (uint64, error) {
		b, err := sr.StorageAt(ctx, PortalAddress, slot, nil)
		return new(big.Int).SetBytes(b).Uint64(), err
	}
	n, err := read(queueSlot)
	if err != nil {
		return 0, err
	}
	return firstRecordAfter(n, origin, func(i uint64) (uint64, error) { return read(itemSlot("block", i)) })
}

// partsProver cuts a block's proof into parts.
type partsProver struct {
	env                  *StepEnv
	origin               L1Info
	parent               *types.Header
	items                []QueueItem
	proofItems           []ProofItem
	txs                  []*types.Transaction
	raws                 [][]byte
	seqTrie              *trie.Trie
	known                ethdb.Database // the parent's nodes, then each part's new ones
	store                *chain.Store
	l2ChainID, feeScalar uint64
	number               uint64
	output               common.Hash
	derivation           *Derivation // the first part's
}

// cut runs the parts in order, each as many positions as fit the budget.
func (pr *partsProver) cut(budget int) ([]StepPart, error) {
	var (
		parts []StepPart
		prev  *StepProgress
		pos   uint64
		total = pr.env.total()
	)
	for len(parts) == 0 || pos < total {
		n := total - pos
		for {
			part, run, err := pr.part(prev, pos, n)
			if err != nil {
				return nil, fmt.Errorf("part at position %d of block %d: %w", pos, pr.number, err)
			}
			if prev == nil {
				part.Derivation = pr.derivation
			}
			raw, _ := rlp.EncodeToBytes(part)
			if len(raw) > budget && n > 1 {
				// Sizes grow about linearly with positions; aim under.
				next := n * uint64(budget) * 9 / (10 * uint64(len(raw)))
				n = max(1, min(next, n-1))
				continue
			}
			if gas := ExecGas(part.Txs, part.Queue, pr.l2ChainID); gas > PartExecBudget && n > 1 {
				next := n * PartExecBudget * 9 / (10 * gas)
				n = max(1, min(next, n-1))
				continue
			}
			if len(raw) > budget {
				return nil, fmt.Errorf("position %d of block %d needs a %d-byte part, over the %d budget", pos, pr.number, len(raw), budget)
			}
			if err := pr.keep(run); err != nil {
				return nil, err
			}
			parts = append(parts, *part)
			prev, pos = run.progress, pos+n
			pr.output = run.output
			break
		}
	}
	return parts, nil
}

// part runs positions [pos, pos+n) over what the prover knows, recording
// what they read.
func (pr *partsProver) part(prev *StepProgress, pos, n uint64) (*StepPart, *partRun, error) {
	q := pr.env.QueueCount
	part := &StepPart{Env: *pr.env, Prev: prev, Count: n}
	var items []QueueItem
	for p := pos; p < min(pos+n, 2*q); p++ {
		part.Queue = append(part.Queue, pr.proofItems[p%q])
		items = append(items, pr.items[p%q])
	}
	var txs []*types.Transaction
	if first, end := max(pos, 2*q)-2*q, pos+n; end > 2*q {
		last := end - 2*q - 1
		txs = pr.txs[first : last+1]
		part.Txs = pr.raws[first : last+1]
		if first > 0 || last+1 < uint64(len(pr.raws)) {
			db := memorydb.New()
			if err := pr.seqTrie.Prove(seqKey(first), db); err != nil {
				return nil, nil, err
			}
			if err := pr.seqTrie.Prove(seqKey(last), db); err != nil {
				return nil, nil, err
			}
			it := db.NewIterator(nil, nil)
			for it.Next() {
				part.TxProof = append(part.TxProof, common.CopyBytes(it.Value()))
			}
			it.Release()
		}
	}
	var (
		rec *recorder
		run *partRun
		err error
	)
	for range maxFetches {
		rec = &recorder{Database: pr.known, seen: map[string][]byte{}}
		run, err = runPart(rec, pr.env, pr.origin, pr.parent, prev, items, txs, n, pr.l2ChainID, pr.feeScalar)
		var missing *trie.MissingNodeError
		if !errors.As(err, &missing) {
			break
		}
		// A node of the parent's state the whole-block run did not need.
		blob, ferr := pr.store.TrieNode(pr.parent.Root, missing.Owner, missing.Path, missing.NodeHash)
		if ferr != nil {
			return nil, nil, fmt.Errorf("%w (fetching it: %w)", err, ferr)
		}
		rawdb.WriteLegacyTrieNode(pr.known, missing.NodeHash, blob)
	}
	if err != nil {
		return nil, nil, err
	}
	part.Witness = rec.witness()
	return part, run, nil
}

// maxFetches bounds the missing nodes fetched for one part.
const maxFetches = 64

// keep writes a part's new state and trie nodes where the next part finds
// them.
func (pr *partsProver) keep(run *partRun) error {
	if run.progress == nil {
		return nil
	}
	rules := chain.ChainConfig(pr.l2ChainID).Rules(new(big.Int).SetUint64(pr.number), true, pr.env.Time)
	root, err := run.state.Commit(rules, pr.number)
	if err != nil {
		return err
	}
	if err := run.tries.Commit(root, false); err != nil {
		return err
	}
	for _, set := range run.sets {
		set.ForEachWithOrder(func(_ string, n *trienode.Node) {
			if !n.IsDeleted() {
				rawdb.WriteLegacyTrieNode(pr.known, n.Hash, n.Blob)
			}
		})
	}
	return nil
}
