package rollup

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup/batch"
)

// Derivation is the part of a one-step proof that shows the proven block is
// the one derivation made next after the agreed parent. The parent's output
// commits to derivation's position there (Position); from it the contract
// runs derivation's own rules over the inbox records that follow, exactly
// as the deriver does (batch.Assembler, Extends, CheckBatchBlock,
// CheckDrift, the forced advance), and stops at the first block derivation
// makes: a later batch for the same block, a batch derivation drops, or a
// channel that timed out proves nothing.
type Derivation struct {
	// ParentPosition opens the agreed output with the parent.
	ParentPosition Position
	// ParentChannel is, for a parent made from a channel, that channel's
	// inbox records, from the one holding its frame 0 (the ParentOpen-th
	// frame of that record) to the one completing it: derivation goes on
	// with the channel's next block.
	ParentChannel []BatchTx
	// Records are the inbox records derivation read after the parent, in
	// order, every one: from the record of the parent's position (a parent
	// made from a channel; from the record after it when the parent's
	// channel completed with that record's last frame), or else from the first record of L1 block
	// max(anchor + 1, parent position − ChannelTimeout), whose frames only
	// rebuild the channel open at the parent, up to the record whose
	// channel makes the block, or all records of the L1 block at whose end
	// derivation forces it.
	Records []BatchTx
	// ParentTxs are the parent block's transactions as its transaction
	// trie holds them (deposits first), for a batch that overlaps the
	// parent: derivation compares the batch's block with the parent.
	ParentTxs [][]byte `rlp:"optional"`
	// Origins are RLP L1 headers of the origins of batch blocks that
	// derivation checked and dropped on the way (their time against their
	// origin's): each must be one L1 knows.
	Origins [][]byte `rlp:"optional"`
	// ParentLoaded, in a parted proof, names the parent's channel loaded
	// with loadBatch, in place of ParentChannel.
	ParentLoaded *LoadedRef `rlp:"nil,optional"`
	// Loaded, in a parted proof, names the channel that makes the block,
	// loaded with loadBatch: derivation reads it after the Records (see
	// loadedNext for when a channel may be open there).
	Loaded *LoadedRef `rlp:"nil,optional"`
	// ParentOpen is the place of the parent channel's frame 0 among its
	// first record's frames.
	ParentOpen uint64 `rlp:"optional"`
	// Resume, when derivation's records after the parent are too many for
	// one L1 transaction, is where earlier scanInbox calls left derivation
	// after this parent: it goes on from there, with Records from
	// Resume.Next, and the parent's channel is not carried.
	Resume *ScanState `rlp:"nil,optional"`
	// OpenFrames are the data of the frames of the channel open at Resume,
	// needed when that channel completes in Records.
	OpenFrames [][]byte `rlp:"optional"`
	// Passed are channels loaded with loadBatch that hold no blocks (they
	// do not decode): where one completes in Records, with its data not in
	// the proof, derivation drops it. So a proof need not carry the
	// frames of a large junk channel open at Resume.
	Passed []LoadedRef `rlp:"optional"`
}

// LoadedRef names a loaded channel by the inbox record its load started
// at, with what loadBatch kept of it (checked against its hash).
type LoadedRef struct {
	Start   uint64
	Channel LoadedChannel
}

// nextBlock is the block derivation makes after the parent.
type nextBlock struct {
	batch  *batch.Block // nil for a forced advance
	pos    Position
	loaded bool // the block is a loaded channel's, its content checked against the env
}

// ErrNotNextBlock is returned for a one-step proof of a block other than
// the one derivation makes next after the parent: the content of a batch
// derivation dropped (a second batch for a block already batched, a batch
// that does not extend the parent, a channel that timed out), or a block
// claimed as a forced advance where a batch applies.
var ErrNotNextBlock = errors.New("not the block derivation makes next")

// Errors a prover answers by adding to the proof.
var (
	// ErrNeedParentTxs: a batch overlaps the parent, and the proof lacks
	// the parent's transactions.
	ErrNeedParentTxs = errors.New("the proof needs the parent's transactions")
	// ErrNeedOrigin: a batch block's time must be checked against an
	// origin whose header the proof lacks (see NeedOriginError).
	ErrNeedOrigin = errors.New("the proof needs an L1 origin header")
	// ErrNeedOpenFrames: the channel open where a scan stopped completes
	// in the proof's records, and the proof lacks its frames
	// (Derivation.OpenFrames).
	ErrNeedOpenFrames = errors.New("the proof needs the frames of the channel open at its scan")
)

// NeedOriginError names the L1 origin a proof lacks.
type NeedOriginError struct{ Number uint64 }

func (e NeedOriginError) Error() string {
	return fmt.Sprintf("%v: %v %d", ErrBadProof, ErrNeedOrigin, e.Number)
}

// Is makes errors.Is see ErrBadProof and ErrNeedOrigin in it.
func (e NeedOriginError) Is(target error) bool {
	return target == ErrBadProof || target == ErrNeedOrigin
}

// recordIndex is the inbox index of a position's record.
func recordIndex(inbox batchRecord, pos Position) (uint64, error) {
	if pos.L1 == 0 {
		return 0, fmt.Errorf("%w: position %v names no L1 block", ErrBadProof, pos)
	}
	i := inbox.FirstAfter(pos.L1-1) + pos.Record
	if e, ok := inbox.Batch(i); !ok || e.Block != pos.L1 {
		return 0, fmt.Errorf("%w: no inbox record %d in L1 block %d", ErrBadProof, pos.Record, pos.L1)
	}
	return i, nil
}

// deriveNext runs derivation from the parent's position over the proof's
// inbox records and returns the block it makes next. origins holds the
// times of the L1 origins the proof showed L1 knows, by number.
//
// In a parted proof (env not nil) a loaded channel may stand for inline
// records (see Derivation.Loaded); its block is the env's, as loadBatch
// recorded it.
func deriveNext(parent *types.Header, pinfo L1Info, d *Derivation, origins map[uint64]uint64, params *L1Params, l1 *l1Records, env *StepEnv) (*nextBlock, error) {
	nb, _, err := runDerivation(parent, pinfo, d, origins, params, l1, env, false)
	return nb, err
}

// runDerivation is deriveNext; in a scan (scan true) it reads every record
// of the proof, and when none makes a block it returns where derivation
// stands after them.
func runDerivation(parent *types.Header, pinfo L1Info, d *Derivation, origins map[uint64]uint64, params *L1Params, l1 *l1Records, env *StepEnv, scan bool) (*nextBlock, *ScanState, error) {
	n := parent.Number.Uint64() + 1
	ppos := d.ParentPosition
	window := cmp.Or(params.SeqWindow, math.MaxUint64) // 0: no window checked, and no forced advance
	drift := cmp.Or(params.MaxSeqDrift, math.MaxUint64)
	rules := recordRulesOf(params)
	chainID := new(big.Int).SetUint64(params.L2ChainID)
	timeout := cmp.Or(params.ChannelTimeout, math.MaxUint64)
	for _, ref := range []*LoadedRef{d.ParentLoaded, d.Loaded} {
		if ref == nil {
			continue
		}
		if env == nil && !(scan && ref == d.ParentLoaded) || l1.seqs == nil || l1.seqs.LoadedChannel(ref.Start) != ref.Channel.hash() {
			return nil, nil, fmt.Errorf("%w: no channel loaded from inbox record %d as named", ErrBadProof, ref.Start)
		}
		if err := l1.checkBefore("the loaded channel", ref.Channel.X); err != nil {
			return nil, nil, err
		}
	}
	for _, ref := range d.Passed {
		switch {
		case l1.seqs == nil || l1.seqs.LoadedChannel(loadID(ref.Start, ref.Channel.Open)) != ref.Channel.hash():
			return nil, nil, fmt.Errorf("%w: no channel loaded from inbox record %d as passed", ErrBadProof, ref.Start)
		case ref.Channel.First <= ref.Channel.Last:
			return nil, nil, fmt.Errorf("%w: the passed channel loaded from inbox record %d holds blocks", ErrBadProof, ref.Start)
		}
	}
	if r := d.Resume; r != nil {
		if len(d.ParentChannel) > 0 || d.ParentLoaded != nil {
			return nil, nil, fmt.Errorf("%w: a resumed derivation carries no parent channel", ErrBadProof)
		}
		if l1.scans == nil || !l1.scans.Scanned(r.key(parent.Hash(), ppos)) {
			return nil, nil, fmt.Errorf("%w: no scan stored derivation at inbox record %d after this parent", ErrBadProof, r.Next)
		}
		if err := l1.checkBefore("the scanned records", r.Block); err != nil {
			return nil, nil, err
		}
	}

	// A batch block derivation applies after the parent, or not (rule 8).
	applies := func(blk *batch.Block, x uint64) (bool, error) {
		if CheckBatchBlock(blk, parent.Time, pinfo.Number, x, window) != nil {
			return false, nil
		}
		t, ok := origins[blk.Origin]
		if !ok {
			return false, NeedOriginError{blk.Origin}
		}
		return CheckDrift(blk, t, drift) == nil, nil
	}

	// The parent's channel goes on, unless its next block breaks a rule.
	// (A resumed derivation's first scan read it.)
	tail := true            // the parent's record may hold frames after the parent's
	var parentRecord uint64 // the inbox index of the parent's record
	if ppos.Batch {
		var err error
		if parentRecord, err = recordIndex(l1.inbox, ppos); err != nil {
			return nil, nil, err
		}
	}
	if end := parentRecord; ppos.Batch && d.Resume == nil {
		if ref := d.ParentLoaded; ref != nil {
			lc := &ref.Channel
			if lc.End != end || lc.Frame != ppos.Frame || lc.X != ppos.L1 {
				return nil, nil, fmt.Errorf("%w: the loaded channel does not complete at the parent's position (%v)", ErrBadProof, ppos)
			}
			if n > lc.First && n <= lc.Last {
				// The channel goes on with the block, unless it breaks a
				// rule; what the block holds, loadBatch recorded.
				if env == nil {
					return nil, nil, fmt.Errorf("%w: the parent's loaded channel holds block %d: no scan goes past it", ErrBadProof, n)
				}
				blk, err := loadedEnvBlock(l1, ref, env, n, ppos.L1, applies)
				if err != nil {
					return nil, nil, err // a dropped block: the prover names the channel inline
				}
				return &nextBlock{batch: blk, pos: ppos, loaded: true}, nil, nil
			}
			tail = lc.Tail
		} else {
			run := &channelRun{records: rules, openAt: d.ParentOpen}
			if err := run.feed(d.ParentChannel, nil, l1.inbox, l1.before, timeout); err != nil {
				return nil, nil, err
			}
			if !run.complete || run.last != end || run.frame != ppos.Frame {
				return nil, nil, fmt.Errorf("%w: the parent's channel does not complete at its position (%v)", ErrBadProof, ppos)
			}
			tail = run.tail
			b, err := decodeChannel(run.data, params.L2ChainID)
			if err != nil {
				return nil, nil, err
			}
			for i := 1; i < len(b.Blocks); i++ {
				if b.Blocks[i].Number != n {
					continue
				}
				ok, err := applies(&b.Blocks[i], ppos.L1)
				if err != nil {
					return nil, nil, err
				}
				if ok {
					return &nextBlock{batch: &b.Blocks[i], pos: ppos}, nil, nil
				}
			}
		}
	}

	// Otherwise derivation reads on: the first channel whose batch extends
	// the parent, or the forced advance once the parent's origin has left
	// the sequencing window, whichever comes first.
	forcedAt := uint64(math.MaxUint64)
	if params.SeqWindow > 0 {
		forcedAt = max(ppos.L1, pinfo.Number+params.SeqWindow)
	}
	forced := func(nextRecordBlock uint64) (*nextBlock, error) {
		if forcedAt >= nextRecordBlock {
			return nil, nil
		}
		if err := l1.checkBefore("the sequencing window's end", forcedAt); err != nil {
			return nil, err
		}
		return &nextBlock{pos: Position{L1: forcedAt}}, nil
	}
	var (
		start     uint64 // inbox index of the first record to read
		skipUntil = -1   // frames of the first record at or before this one were read already
		replayTo  uint64 // records of L1 blocks up to here only rebuild the open channel
	)
	if ppos.Batch {
		start, skipUntil = parentRecord, int(ppos.Frame)
		if !tail { // nothing after the parent's frame: read on from the next record
			start, skipUntil = start+1, -1
		}
	} else {
		from := params.L1Start + 1
		if n > 1 {
			from = max(from, ppos.L1-min(ppos.L1, timeout))
			replayTo = ppos.L1
		}
		start = l1.inbox.FirstAfter(from - 1)
	}
	same := func(blk *batch.Block) (bool, error) {
		seq, err := sequencerLeaves(parent, d.ParentTxs)
		if err != nil {
			return false, err
		}
		hashes := make([]common.Hash, len(seq))
		for i, raw := range seq {
			hashes[i] = crypto.Keccak256Hash(raw)
		}
		return SameBlock(parent, hashes, blk), nil
	}
	asm := &openChannel{timeout: timeout, known: true}
	var block, first uint64 // the L1 block being read, and the index of its first record
	if r := d.Resume; r != nil {
		start, skipUntil, block = r.Next, -1, r.Block
		if block > 0 {
			first = l1.inbox.FirstAfter(block - 1)
		}
		if err := asm.resume(r, d.OpenFrames); err != nil {
			return nil, nil, err
		}
	}
	for k := range d.Records {
		bt := &d.Records[k]
		if bt.Index != start+uint64(k) {
			return nil, nil, fmt.Errorf("%w: inbox record %d out of order: derivation reads every record from %d", ErrBadProof, bt.Index, start)
		}
		data, x, err := rules.data(bt, l1.inbox, l1.before)
		if err != nil {
			return nil, nil, err
		}
		if x != block {
			if next, err := forced(x); next != nil || err != nil {
				return next, nil, err
			}
			if x > 0 {
				asm.expire(x - 1) // the ends of the L1 blocks before
			}
			block, first = x, l1.inbox.FirstAfter(x-1)
		}
		frames, err := batch.ParseTxData(data)
		if err != nil {
			continue // rule 4
		}
		for j, f := range frames {
			if k == 0 && j <= skipUntil {
				continue
			}
			channel, known, complete := asm.add(f, x, bt.Index, uint64(j))
			if !complete || x <= replayTo {
				continue
			}
			if !known {
				if passed(d.Passed, asm.record, asm.place, bt.Index, uint64(j), x) {
					continue // a channel loaded as holding no blocks: dropped
				}
				return nil, nil, fmt.Errorf("%w: %w", ErrBadProof, ErrNeedOpenFrames)
			}
			blk, err := channelBlock(channel, chainID, parent, same)
			if err != nil {
				return nil, nil, err
			}
			if blk == nil {
				continue
			}
			ok, err := applies(blk, x)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				return &nextBlock{batch: blk, pos: Position{L1: x, Record: bt.Index - first, Frame: uint64(j), Batch: true}}, nil, nil
			}
		}
	}
	next := start + uint64(len(d.Records))
	if scan {
		if d.Loaded != nil || len(d.Records) == 0 {
			return nil, nil, fmt.Errorf("%w: a scan reads inline records only, at least one", ErrBadProof)
		}
		return nil, asm.state(next, block), nil
	}
	if d.Loaded != nil {
		// Derivation acts on the loaded channel only past the replay, and
		// after the parent's own record.
		if d.Loaded.Channel.X <= replayTo || ppos.Batch && d.Loaded.Start <= parentRecord {
			return nil, nil, fmt.Errorf("%w: the loaded channel is not one derivation reads after the parent", ErrBadProof)
		}
		nb, err := loadedNext(parent, pinfo, d.Loaded, next, asm, forced, applies, d.ParentTxs, env, l1)
		return nb, nil, err
	}
	nextBlockOf := uint64(math.MaxUint64)
	if e, ok := l1.inbox.Batch(next); ok {
		nextBlockOf = e.Block
	}
	if next, err := forced(nextBlockOf); next != nil || err != nil {
		return next, nil, err
	}
	return nil, nil, fmt.Errorf("%w: the proof's inbox records end before derivation makes block %d", ErrBadProof, n)
}

// passed reports whether refs name the channel whose frame 0 is the
// place-th of inbox record open and which completed at frame frame of
// record end, in L1 block x: loadBatch assembled it from the same frame
// under the same rules, so it is the channel derivation completed there.
func passed(refs []LoadedRef, open, place, end, frame, x uint64) bool {
	for _, ref := range refs {
		lc := &ref.Channel
		if ref.Start == open && lc.Open == place && lc.End == end && lc.Frame == frame && lc.X == x {
			return true
		}
	}
	return false
}

// loadedNext is derivation reading on with a loaded channel, from inbox
// record next, where a channel may be open only if the loaded one's
// frame 0 is that record's first: unless the forced advance comes
// first, the loaded batch must extend the parent (rule 7, from what
// loadBatch recorded) and its block must be the env's.
func loadedNext(parent *types.Header, pinfo L1Info, ref *LoadedRef, next uint64, asm *openChannel,
	forced func(uint64) (*nextBlock, error), applies func(*batch.Block, uint64) (bool, error),
	parentTxs [][]byte, env *StepEnv, l1 *l1Records) (*nextBlock, error) {
	n := parent.Number.Uint64() + 1
	lc := &ref.Channel
	if ref.Start != next {
		return nil, fmt.Errorf("%w: the loaded channel must start at inbox record %d", ErrBadProof, next)
	}
	if e, ok := l1.inbox.Batch(next); ok {
		asm.expire(e.Block) // as the record's first frame would
	}
	if asm.st.Open && lc.Open > 0 {
		// Derivation would read the record's frames before the loaded
		// channel's into the open channel, which they may complete.
		return nil, fmt.Errorf("%w: a channel is still open where the loaded one starts after other frames of its record: name its records inline", ErrBadProof)
	}
	// An open channel is otherwise dropped by the loaded channel's frame 0,
	// the record's first (batch rule 1), as loadBatch's assembly began.
	if nb, err := forced(lc.X); nb != nil || err != nil {
		return nb, err
	}
	switch {
	case lc.First == n:
		if !bytes.Equal(lc.ParentCheck[:], parent.Hash().Bytes()[:20]) {
			return nil, fmt.Errorf("%w: the loaded batch does not extend the parent (derivation drops it)", ErrBadProof)
		}
	case lc.First < n && lc.Last >= n:
		seq, err := sequencerLeaves(parent, parentTxs)
		if err != nil {
			return nil, err
		}
		if _, ok := loadedBlock(l1, ref, n-1, parent.Time, pinfo.Number, SeqRoot(seq), uint64(len(seq))); !ok {
			return nil, fmt.Errorf("%w: the loaded batch's block %d is not the parent (derivation drops it)", ErrBadProof, n-1)
		}
	default:
		return nil, fmt.Errorf("%w: the loaded batch does not hold block %d", ErrBadProof, n)
	}
	blk, err := loadedEnvBlock(l1, ref, env, n, lc.X, applies)
	if err != nil {
		return nil, err
	}
	first := l1.inbox.FirstAfter(lc.X - 1)
	return &nextBlock{batch: blk, loaded: true, pos: Position{L1: lc.X, Record: lc.End - first, Frame: lc.Frame, Batch: true}}, nil
}

// loadedEnvBlock is block n of a loaded channel with the env's content, as
// loadBatch recorded it, which derivation must apply after the parent at
// L1 block x (rule 8).
func loadedEnvBlock(l1 *l1Records, ref *LoadedRef, env *StepEnv, n, x uint64, applies func(*batch.Block, uint64) (bool, error)) (*batch.Block, error) {
	blk, ok := loadedBlock(l1, ref, n, env.Time, env.OriginNumber, env.SeqRoot, env.SeqCount)
	if !ok {
		return nil, fmt.Errorf("%w: the loaded channel holds no block %d with this content", ErrBadProof, n)
	}
	ok, err := applies(blk, x)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: derivation drops the loaded channel's block %d", ErrBadProof, n)
	}
	return blk, nil
}

// loadedBlock is block number of a loaded channel, with this content, if
// loadBatch recorded it so.
func loadedBlock(l1 *l1Records, ref *LoadedRef, number, time, origin uint64, seqRoot common.Hash, count uint64) (*batch.Block, bool) {
	lc := &ref.Channel
	if number < lc.First || number > lc.Last {
		return nil, false
	}
	var pc [20]byte
	if number == lc.First {
		pc = lc.ParentCheck
	}
	_, ok := l1.seqs.Loaded(SeqRecord(ref.Start, number, time, origin, seqRoot, count, pc))
	return &batch.Block{Number: number, Time: time, Origin: origin}, ok
}

// channelBlock decodes a completed channel and returns the block of its
// batch that derivation would apply next on parent (rule 7), or nil when
// derivation drops the channel or the batch does not extend the parent.
func channelBlock(data []byte, chainID *big.Int, parent *types.Header, same func(*batch.Block) (bool, error)) (*batch.Block, error) {
	raw, err := batch.Decompress(data)
	if err != nil {
		return nil, nil
	}
	b, err := batch.Decode(raw, chainID)
	if err != nil {
		return nil, nil
	}
	var serr error
	k, ok := Extends(b, parent, func(blk *batch.Block) bool {
		ok, err := same(blk)
		serr = err
		return ok
	})
	if serr != nil {
		return nil, serr
	}
	if !ok {
		return nil, nil
	}
	return &b.Blocks[k], nil
}

// sequencerLeaves checks a block's transactions as its transaction trie
// holds them against its header and returns its sequencer transactions:
// after the deposits and the block's forced transactions.
func sequencerLeaves(h *types.Header, leaves [][]byte) ([][]byte, error) {
	if leaves == nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, ErrNeedParentTxs)
	}
	if types.DeriveSha(rawList(leaves), trie.NewStackTrie(nil)) != h.TxHash {
		return nil, fmt.Errorf("%w: the parent's transactions do not match its header", ErrBadProof)
	}
	info, err := Origin(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	deposits := 0
	for deposits < len(leaves) && len(leaves[deposits]) > 0 && leaves[deposits][0] == chain.DepositTxType {
		deposits++
	}
	body := leaves[deposits:]
	if int(info.Forced) > len(body) {
		return nil, fmt.Errorf("%w: the parent claims %d forced of %d transactions", ErrBadProof, info.Forced, len(body))
	}
	return body[info.Forced:], nil
}

// rawList is a transaction trie's leaves, for types.DeriveSha.
type rawList [][]byte

func (l rawList) Len() int                           { return len(l) }
func (l rawList) EncodeIndex(i int, w *bytes.Buffer) { w.Write(l[i]) }

// blockLeaves returns a stored block's transactions as its transaction
// trie holds them: its deposits' encodings, then its body's transactions.
func blockLeaves(store *chain.Store, b *types.Block) ([][]byte, error) {
	var out [][]byte
	for _, d := range store.Deposits(b.Hash()) {
		enc, err := d.Deposit.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, enc)
	}
	for _, tx := range b.Transactions() {
		raw, err := tx.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// matches checks the proof's block against the one derivation makes.
func (nb *nextBlock) matches(time, origin uint64, txs []*types.Transaction, pinfo L1Info) error {
	if nb.batch == nil {
		if origin != pinfo.Number+1 || len(txs) > 0 {
			return fmt.Errorf("%w: %w: %w: derivation forces the block at the end of L1 block %d, on origin %d with no transactions", ErrBadProof, ErrNotNextBlock, ErrNoBatch, nb.pos.L1, pinfo.Number+1)
		}
		return nil
	}
	blk := nb.batch
	if blk.Time != time || blk.Origin != origin || len(blk.Txs) != len(txs) {
		return fmt.Errorf("%w: %w: block %d differs from the batch derivation applies (%v)", ErrBadProof, ErrNotNextBlock, blk.Number, nb.pos)
	}
	for i := range txs {
		if blk.Txs[i].Hash() != txs[i].Hash() {
			return fmt.Errorf("%w: %w: transaction %d of block %d differs from the batch derivation applies", ErrBadProof, ErrNotNextBlock, i, blk.Number)
		}
	}
	return nil
}

// originTimes checks the proof's extra origin headers (each one L1 knows)
// and returns their times by number.
func originTimes(raws [][]byte, pinfo L1Info, headers headerRecord) (map[uint64]uint64, error) {
	out := make(map[uint64]uint64, len(raws)+1)
	for i, raw := range raws {
		h := new(types.Header)
		if err := rlp.DecodeBytes(raw, h); err != nil || h.Number == nil || !h.Number.IsUint64() {
			return nil, fmt.Errorf("%w: origin header %d does not decode", ErrBadProof, i)
		}
		_, t, err := checkOrigin(raw, h.Number.Uint64(), pinfo, headers)
		if err != nil {
			return nil, err
		}
		out[h.Number.Uint64()] = t
	}
	return out, nil
}
