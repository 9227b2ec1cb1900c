package rollup

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/trie/trienode"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/cairn-dev/cairn/chain"
)

// A parted one-step proof re-executes one L2 block on L1 in as many L1
// transactions as it takes, each bounded in size: the block's deposits,
// forced transactions and sequencer transactions are a list of positions,
// and each part runs the next positions from the checkpoint the last part
// left (its hash stored by the outputs contract), with a witness of only
// the state those positions touch. The part that runs the last position
// assembles the header and compares the output root with the claim. The
// sequencer transactions are proven against a channel loaded beforehand
// with loadBatch, so no part carries a whole channel.
//
// Positions of a block with Q queue items and S sequencer transactions:
// [0, Q) run the queue's deposits in order (its forced transactions are
// passed over), [Q, 2Q) run its forced transactions in order (its
// deposits are passed over), [2Q, 2Q+S) run the sequencer transactions:
// the order BuildBlock runs them in.

// StepEnv is what every part of a parted proof shares. The first part is
// checked against L1 records; later parts must carry the same env.
type StepEnv struct {
	Parent                  []byte // RLP of the parent header, which opens the agreed output
	ParentMessagePasserRoot common.Hash
	Time                    uint64
	OriginNumber            uint64
	OriginHeader            []byte // RLP of the L1 origin's header
	QueueFirst              uint64 // the first portal item of the block's new origins
	QueueCount              uint64
	SeqRoot                 common.Hash // SeqRoot of the sequencer transactions
	SeqCount                uint64
	ParentPosition          Position // opens the agreed output with the parent
	Position                Position // derivation's position at the block, checked by the first part
}

// Hash is the env's commitment.
func (e *StepEnv) Hash() common.Hash {
	b, _ := rlp.EncodeToBytes(e)
	return crypto.Keccak256Hash(b)
}

func (e *StepEnv) total() uint64 { return 2*e.QueueCount + e.SeqCount }

// StepProgress is where a parted proof stands after a part.
type StepProgress struct {
	Position uint64
	Forced   uint64 // forced transactions included so far
	Chain    chain.Checkpoint
}

// Hash is the progress's commitment.
func (p *StepProgress) Hash() common.Hash {
	b, _ := rlp.EncodeToBytes(p)
	return crypto.Keccak256Hash(b)
}

// StepPart is one L1 transaction of a parted proof.
type StepPart struct {
	Env     StepEnv
	Prev    *StepProgress `rlp:"nil"` // nil for the first part
	Count   uint64        // positions this part runs
	Queue   []ProofItem   // the portal items of its queue positions
	Txs     [][]byte      // the sequencer transactions of its positions
	TxProof [][]byte      // range proof of Txs against Env.SeqRoot; empty when Txs are all of them
	Witness PartWitness
	// Derivation, in the first part only, shows the block is the one
	// derivation made next, its channel loaded beforehand or inline.
	Derivation *Derivation `rlp:"nil,optional"`
}

// PartWitness holds the trie nodes, codes and headers one part reads.
type PartWitness struct {
	Nodes   [][]byte
	Codes   [][]byte
	Headers [][]byte // RLP headers, for BLOCKHASH
}

// DB loads the witness into a database for stateless execution.
func (w *PartWitness) DB() (ethdb.Database, error) {
	db := rawdb.NewMemoryDatabase()
	for _, n := range w.Nodes {
		rawdb.WriteLegacyTrieNode(db, crypto.Keccak256Hash(n), n)
	}
	for _, c := range w.Codes {
		rawdb.WriteCode(db, crypto.Keccak256Hash(c), c)
	}
	for i, raw := range w.Headers {
		h := new(types.Header)
		if err := rlp.DecodeBytes(raw, h); err != nil {
			return nil, fmt.Errorf("%w: witness header %d: %w", ErrBadProof, i, err)
		}
		rawdb.WriteHeader(db, h)
	}
	return db, nil
}

// PartResult is what a verified part proves.
type PartResult struct {
	EnvHash  common.Hash
	Progress *StepProgress // nil once the block is complete
	Output   common.Hash   // the block's output root, once complete
}

// VerifyStepPart checks one part of the proof of L2 block number, whose
// parent's output is loRoot. envHash and progHash are what the contract
// stored from the parts before (zero before the first). Only L1 data from
// blocks before before may be used, as in VerifyStep.
func VerifyStepPart(p *StepPart, loRoot common.Hash, number uint64, envHash, progHash common.Hash, before uint64, params *L1Params, st vm.StateDB) (*PartResult, error) {
	return verifyStepPart(p, loRoot, number, envHash, progHash, params, recordsOf(st, before))
}

func verifyStepPart(p *StepPart, loRoot common.Hash, number uint64, envHash, progHash common.Hash, params *L1Params, l1 l1Records) (*PartResult, error) {
	l2ChainID, feeScalar := params.L2ChainID, params.L1FeeScalar
	env := &p.Env
	parent := new(types.Header)
	if err := rlp.DecodeBytes(env.Parent, parent); err != nil {
		return nil, fmt.Errorf("%w: parent header: %w", ErrBadProof, err)
	}
	if err := checkParent(parent); err != nil {
		return nil, err
	}
	if env.QueueCount > 1<<32 || env.SeqCount > 1<<32 {
		return nil, fmt.Errorf("%w: malformed env", ErrBadProof)
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	res := &PartResult{EnvHash: env.Hash()}
	position := uint64(0)
	if p.Prev == nil {
		if envHash != (common.Hash{}) {
			return nil, fmt.Errorf("%w: the proof has begun; continue from its checkpoint", ErrBadProof)
		}
		if err := checkEnv(env, p.Derivation, parent, pinfo, loRoot, number, params, l1); err != nil {
			return nil, err
		}
	} else {
		if res.EnvHash != envHash || p.Prev.Hash() != progHash {
			return nil, fmt.Errorf("%w: part does not continue the stored checkpoint", ErrBadProof)
		}
		position = p.Prev.Position
	}
	total := env.total()
	if p.Count > total-position || p.Count == 0 && total > 0 {
		return nil, fmt.Errorf("%w: part runs %d of the %d positions left", ErrBadProof, p.Count, total-position)
	}
	// The first part checked that L1 knows the origin; later ones carry
	// the same env, its hash stored.
	origin, _, err := decodeOrigin(env.OriginHeader, env.OriginNumber)
	if err != nil {
		return nil, err
	}
	items, err := partQueue(p, position, pinfo.Number, l2ChainID, l1.queue)
	if err != nil {
		return nil, err
	}
	txs, err := partTxs(p, position, l2ChainID)
	if err != nil {
		return nil, err
	}
	db, err := p.Witness.DB()
	if err != nil {
		return nil, err
	}
	run, err := runPart(db, env, origin, parent, p.Prev, items, txs, p.Count, l2ChainID, feeScalar)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	res.Progress, res.Output = run.progress, run.output
	return res, nil
}

// checkEnv checks a parted proof's env against L1 records: the parent
// opens the agreed output, L1 knows the origin header, the queue range
// covers exactly the portal items of the new origins, and the block is the
// one derivation made next (deriveNext): from a loaded channel whose record
// holds this time, origin and transactions, or from inline records, or as
// a forced advance. The time must follow derivation's rules for either.
func checkEnv(env *StepEnv, d *Derivation, parent *types.Header, pinfo L1Info, loRoot common.Hash, number uint64, params *L1Params, l1 l1Records) error {
	q := l1.queue
	if number == 0 || parent.Number.Uint64() != number-1 || OutputRoot(parent.Root, env.ParentMessagePasserRoot, parent.Hash(), env.ParentPosition) != loRoot {
		return fmt.Errorf("%w: parent does not open the agreed output", ErrBadProof)
	}
	if d == nil || d.ParentPosition != env.ParentPosition {
		return fmt.Errorf("%w: the first part must show derivation from the parent's position", ErrBadProof)
	}
	if env.OriginNumber < pinfo.Number {
		return fmt.Errorf("%w: origin %d before the parent's %d", ErrBadProof, env.OriginNumber, pinfo.Number)
	}
	if err := l1.checkBefore("origin", env.OriginNumber); err != nil {
		return err
	}
	_, originTime, err := checkOrigin(env.OriginHeader, env.OriginNumber, pinfo, l1.headers)
	if err != nil {
		return err
	}
	if env.QueueFirst > 0 {
		if _, block, ok := q.QueueItem(env.QueueFirst - 1); !ok || block > pinfo.Number {
			return fmt.Errorf("%w: queue item %d left out", ErrBadProof, env.QueueFirst-1)
		}
	}
	if _, block, ok := q.QueueItem(env.QueueFirst + env.QueueCount); ok && block <= env.OriginNumber {
		return fmt.Errorf("%w: queue item %d left out", ErrBadProof, env.QueueFirst+env.QueueCount)
	}
	origins, err := originTimes(d.Origins, pinfo, l1.headers)
	if err != nil {
		return err
	}
	origins[env.OriginNumber] = originTime
	next, err := deriveNext(parent, pinfo, d, origins, params, &l1, env)
	if err != nil {
		return err
	}
	if next.pos != env.Position {
		return fmt.Errorf("%w: derivation makes the block at %v, the env says %v", ErrBadProof, next.pos, env.Position)
	}
	switch {
	case next.batch == nil:
		if env.OriginNumber != pinfo.Number+1 || env.SeqCount > 0 {
			return fmt.Errorf("%w: %w: %w: derivation forces the block, on origin %d with no transactions", ErrBadProof, ErrNotNextBlock, ErrNoBatch, pinfo.Number+1)
		}
	case !next.loaded:
		raws := sequencerRaws(next.batch.Txs)
		if next.batch.Time != env.Time || next.batch.Origin != env.OriginNumber || SeqRoot(raws) != env.SeqRoot || uint64(len(raws)) != env.SeqCount {
			return fmt.Errorf("%w: %w: block %d differs from the batch derivation applies", ErrBadProof, ErrNotNextBlock, number)
		}
	}
	return checkTime(env.Time, parent.Time, originTime, next.batch != nil, params)
}

// partQueue checks the part's portal items: the ones its queue positions
// name, each as the portal recorded it in the block's new origins.
func partQueue(p *StepPart, position, from, l2ChainID uint64, q queueRecord) ([]QueueItem, error) {
	env := &p.Env
	end := min(position+p.Count, 2*env.QueueCount)
	want := uint64(0)
	if end > position {
		want = end - position
	}
	if uint64(len(p.Queue)) != want {
		return nil, fmt.Errorf("%w: part needs %d queue items, has %d", ErrBadProof, want, len(p.Queue))
	}
	items := make([]QueueItem, len(p.Queue))
	for k, pi := range p.Queue {
		item, err := queueItemAt(pi, env.QueueFirst+(position+uint64(k))%env.QueueCount, from, env.OriginNumber, l2ChainID, q)
		if err != nil {
			return nil, err
		}
		items[k] = *item
	}
	return items, nil
}

// partTxs checks the part's sequencer transactions with their range proof.
func partTxs(p *StepPart, position, l2ChainID uint64) ([]*types.Transaction, error) {
	env := &p.Env
	first := max(position, 2*env.QueueCount)
	end := position + p.Count
	if end <= first {
		if len(p.Txs) > 0 {
			return nil, fmt.Errorf("%w: part has transactions it does not run", ErrBadProof)
		}
		return nil, nil
	}
	if uint64(len(p.Txs)) != end-first {
		return nil, fmt.Errorf("%w: part needs %d transactions, has %d", ErrBadProof, end-first, len(p.Txs))
	}
	keys := make([][]byte, len(p.Txs))
	txs := make([]*types.Transaction, len(p.Txs))
	for k, raw := range p.Txs {
		keys[k] = seqKey(first - 2*env.QueueCount + uint64(k))
		if txs[k] = decodeL2Tx(raw, l2ChainID); txs[k] == nil {
			return nil, fmt.Errorf("%w: transaction %d does not decode", ErrBadProof, k)
		}
	}
	var proof ethdb.KeyValueReader
	if len(p.TxProof) > 0 {
		db := memorydb.New()
		for _, n := range p.TxProof {
			db.Put(crypto.Keccak256(n), n)
		}
		proof = db
	}
	if _, err := trie.VerifyRangeProof(env.SeqRoot, keys[0], keys, p.Txs, proof); err != nil {
		return nil, fmt.Errorf("%w: transactions are not the loaded batch's: %w", ErrBadProof, err)
	}
	return txs, nil
}

// partRun is one part's execution.
type partRun struct {
	progress *StepProgress
	output   common.Hash
	header   *types.Header // once complete
	state    *state.StateDB
	tries    *triedb.Database
	sets     []*trienode.NodeSet
}

// runPart executes count positions from prev (the parent when nil) over
// db, holding at least the nodes they read: the one rule shared by the
// prover and the L1 contract.
func runPart(db ethdb.Database, env *StepEnv, origin L1Info, parent *types.Header, prev *StepProgress, items []QueueItem, txs []*types.Transaction, count, l2ChainID, feeScalar uint64) (*partRun, error) {
	tries := triedb.NewDatabase(db, triedb.HashDefaults)
	root := parent.Root
	if prev != nil {
		root = prev.Chain.Root
	}
	st, err := state.New(root, state.NewDatabase(tries, state.NewCodeDB(db)))
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	config := chain.ChainConfig(l2ChainID)
	headers := &memChain{db: db, config: config}
	exec := chain.NewExecutor(config, headers, L2System()).WithDataFee(dataFee{scalar: feeScalar})
	cenv := stepChainEnv(env, origin)
	var p *chain.Partial
	if prev == nil {
		p, err = exec.BeginParts(parent, st, cenv, tries)
		prev = &StepProgress{}
	} else {
		p, err = exec.Resume(parent, st, cenv, &prev.Chain, tries)
	}
	if err != nil {
		return nil, err
	}
	position, forced := prev.Position, prev.Forced
	runPositions(p, env, position, count, items, txs, &forced)
	run := &partRun{state: st, tries: tries}
	if err := st.Error(); err != nil {
		p.Release()
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := headers.complete(); err != nil {
		p.Release()
		return nil, err
	}
	position += count
	if position < env.total() {
		cp, sets, err := p.Suspend()
		if err != nil {
			return nil, err
		}
		run.progress, run.sets = &StepProgress{Position: position, Forced: forced, Chain: *cp}, sets
		return run, nil
	}
	res, err := p.Finish()
	if err != nil {
		return nil, err
	}
	// The output reads the message passer's storage root whether or not
	// the block touched it; a witness without its account fails here.
	mpRoot := st.GetStorageRoot(MessagePasserAddress)
	if err := st.Error(); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	run.header = sealStep(res.Block.Header(), origin, forced)
	run.output = OutputRoot(run.header.Root, mpRoot, run.header.Hash(), env.Position)
	return run, nil
}

// stepChainEnv is the chain env of the block, as BuildBlock makes it (its
// deposits run position by position).
func stepChainEnv(env *StepEnv, origin L1Info) chain.Env {
	return chain.Env{
		Time:     env.Time,
		Coinbase: SequencerFeeVault,
		Extra:    EncodeL1Info(origin),
	}
}

// sealStep records the forced transactions included in the header's L1
// info, as BuildBlock does.
func sealStep(h *types.Header, origin L1Info, forced uint64) *types.Header {
	origin.Forced = uint32(forced)
	h.Extra = EncodeL1Info(origin)
	return h
}

// runPositions runs positions [position, position+count) of the block on
// p: items are the queue items of its queue positions and txs the
// sequencer transactions of the rest, in order.
func runPositions(p *chain.Partial, env *StepEnv, position, count uint64, items []QueueItem, txs []*types.Transaction, forced *uint64) {
	q := env.QueueCount
	for k := uint64(0); k < count; k++ {
		switch pos := position + k; {
		case pos < q:
			if d := items[0].Deposit; d != nil {
				p.Deposit(d)
			}
			items = items[1:]
		case pos < 2*q:
			if tx := items[0].Forced; tx != nil && p.Apply(int(pos), tx) == nil {
				*forced++
			}
			items = items[1:]
		default:
			p.Apply(int(pos), txs[0])
			txs = txs[1:]
		}
	}
}

// recorder remembers every value read from a database: the witness of a
// part, as the prover runs it over everything it knows.
// State hashing reads storage tries concurrently, hence the lock.
type recorder struct {
	ethdb.Database
	mu   sync.Mutex
	seen map[string][]byte
}

func (r *recorder) Get(key []byte) ([]byte, error) {
	v, err := r.Database.Get(key)
	if err == nil {
		r.mu.Lock()
		r.seen[string(key)] = v
		r.mu.Unlock()
	}
	return v, err
}

// witness sorts what was read into a PartWitness.
func (r *recorder) witness() PartWitness {
	var w PartWitness
	keys := make([]string, 0, len(r.seen))
	for k := range r.seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := r.seen[k]
		switch key := []byte(k); {
		case len(key) == common.HashLength:
			w.Nodes = append(w.Nodes, v)
		case len(key) == 1+common.HashLength && bytes.HasPrefix(key, []byte("c")):
			w.Codes = append(w.Codes, v)
		case len(key) == 1+8+common.HashLength && key[0] == 'h':
			w.Headers = append(w.Headers, v)
		}
	}
	return w
}

// VerifyParted runs a whole parted proof on an L1 state as the outputs
// contract would, call after call: the loads, then the parts. It returns
// the output root the parts prove.
func VerifyParted(st vm.StateDB, proof *PartedProof, loRoot common.Hash, number, before uint64, params *L1Params) (common.Hash, error) {
	for i := range proof.Loads {
		if err := loadBatch(st, &proof.Loads[i], params, inboxRecords{st}); err != nil {
			return common.Hash{}, fmt.Errorf("load %d: %w", i, err)
		}
	}
	for i := range proof.Scans {
		if err := StoreScan(st, &proof.Scans[i], params); err != nil {
			return common.Hash{}, fmt.Errorf("scan %d: %w", i, err)
		}
	}
	var envHash, progHash common.Hash
	for i := range proof.Parts {
		res, err := VerifyStepPart(&proof.Parts[i], loRoot, number, envHash, progHash, before, params, st)
		if err != nil {
			return common.Hash{}, fmt.Errorf("part %d: %w", i, err)
		}
		if res.Progress == nil {
			if i != len(proof.Parts)-1 {
				return common.Hash{}, fmt.Errorf("%w: part %d completes the block before the last", ErrBadProof, i)
			}
			return res.Output, nil
		}
		envHash, progHash = res.EnvHash, res.Progress.Hash()
	}
	return common.Hash{}, fmt.Errorf("%w: the parts do not complete the block", ErrBadProof)
}
