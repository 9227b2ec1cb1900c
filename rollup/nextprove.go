package rollup

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup/batch"
)

// derivationOf builds the Derivation of a one-step proof of the block
// after parent, from the positions derivation recorded for both and the
// inbox records between, then runs the contract's own check on it and adds
// what that asks for (the parent's transactions, origin headers). It also
// returns the inbox records it read and the list index of the first of
// d.Records.
func (e *Engine) derivationOf(ctx context.Context, l1 *L1Reader, parent *types.Header, originRaw []byte) (*Derivation, *batchList, int, error) {
	n := parent.Number.Uint64() + 1
	db := e.store.Database()
	ppos, ok := ReadPosition(db, n-1)
	pos, ok2 := ReadPosition(db, n)
	if !ok || !ok2 {
		return nil, nil, 0, fmt.Errorf("%w: block %d or its parent", ErrNotDerived, n)
	}
	params := &e.cfg.Proofs
	timeout := e.cfg.ChannelTimeout
	to := max(pos.L1, ppos.L1)
	// After a forced advance the proof replays ChannelTimeout L1 blocks. The
	// parent's channel opened at most that far back too, but seldom more
	// than a few blocks: the records are read from a few blocks back first,
	// and from further back only when its opening is not among them.
	backs := []uint64{timeout}
	if ppos.Batch {
		backs = []uint64{2, 16, 128, timeout}
	}
	var (
		list      *batchList
		open, end int
		frame     uint64
		err       error
		d         = &Derivation{ParentPosition: ppos}
		start     = 0 // the list index of the first record derivation reads on from
	)
	for _, back := range backs {
		from := params.L1Start + 1
		if n > 1 {
			from = max(from, ppos.L1-min(ppos.L1, back))
		}
		if list, err = collectRecords(ctx, l1, e.cfg, from, to); err != nil {
			return nil, nil, 0, err
		}
		if !ppos.Batch {
			break
		}
		if open, frame, end, err = channelOpening(list, ppos, timeout, recordRulesOf(params)); err == nil {
			break
		}
	}
	if ppos.Batch {
		if err != nil {
			return nil, nil, 0, err
		}
		d.ParentChannel, d.ParentOpen, start = list.txs[open:end+1], frame, end
		run := &channelRun{records: recordRulesOf(params), openAt: frame}
		if err := run.feed(d.ParentChannel, nil, list, AnyL1Block, params.ChannelTimeout); err != nil {
			return nil, nil, 0, err
		}
		if !run.tail {
			start++ // the parent's record holds nothing after its channel
		}
	}
	if !pos.Batch || pos != ppos {
		stop := len(list.txs) // a forced advance: every record to its L1 block's end
		if pos.Batch {
			abs, err := recordIndex(list, pos)
			if err != nil {
				return nil, nil, 0, err
			}
			stop = int(abs-list.txs[0].Index) + 1
		}
		d.Records = list.txs[start:stop]
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, nil, 0, err
	}
	origins, err := headerTimes([][]byte{originRaw})
	if err != nil {
		return nil, nil, 0, err
	}
	local := l1Records{inbox: list, before: AnyL1Block}
	for range 64 {
		_, err := deriveNext(parent, pinfo, d, origins, params, &local, nil)
		var need NeedOriginError
		switch {
		case err == nil:
			return d, list, start, nil
		case errors.Is(err, ErrNeedParentTxs) && d.ParentTxs == nil:
			b := e.store.BlockByHash(parent.Hash())
			if b == nil {
				return nil, nil, 0, fmt.Errorf("no L2 block %d", n-1)
			}
			if d.ParentTxs, err = blockLeaves(e.store, b); err != nil {
				return nil, nil, 0, err
			}
		case errors.As(err, &need):
			h, err := l1.Header(ctx, need.Number)
			if err != nil {
				return nil, nil, 0, err
			}
			raw, err := rlp.EncodeToBytes(h)
			if err != nil {
				return nil, nil, 0, err
			}
			d.Origins = append(d.Origins, raw)
			origins[need.Number] = h.Time
		default:
			return nil, nil, 0, fmt.Errorf("derivation of L2 block %d from %v does not prove: %w", n, ppos, err)
		}
	}
	return nil, nil, 0, fmt.Errorf("derivation of L2 block %d: too many origins", n)
}

// channelOpening finds, in list, the records of the channel completed at
// position pos: the list index of the record holding its frame 0 and that
// frame's place in it, and the list index of the record completing it.
func channelOpening(list *batchList, pos Position, timeout uint64, rules recordRules) (int, uint64, int, error) {
	abs, err := recordIndex(list, pos)
	if err != nil {
		return 0, 0, 0, err
	}
	asm := batch.NewAssembler(timeout)
	open, openFrame := -1, uint64(0)
	for k := range list.txs {
		bt := &list.txs[k]
		data, x, err := rules.data(bt, list, AnyL1Block)
		if err != nil {
			return 0, 0, 0, err
		}
		frames, err := batch.ParseTxData(data)
		if err != nil {
			continue
		}
		for j, f := range frames {
			if f.Number == 0 {
				open, openFrame = k, uint64(j)
			}
			channel, _ := asm.Add(f, x)
			if bt.Index == abs && uint64(j) == pos.Frame {
				if channel == nil || open < 0 {
					return 0, 0, 0, fmt.Errorf("no channel completes at %v", pos)
				}
				return open, openFrame, k, nil
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("no inbox record at %v", pos)
}

// loadDerivation turns a parted proof's derivation to use loaded
// channels where the contract's check accepts them: the parent's, and the
// block's own unless its channel opens in the parent's record. A channel
// loads from the first frame 0 of its first record; one that opens later
// in its record stays inline, and so does one the check refuses loaded (a
// loaded channel that starts after other frames of its record while
// another is open, a loaded parent channel whose next block derivation
// drops): the records then go inline as in a one-step proof. It returns
// the inbox records to load, a channel at a time, and what loadBatch
// records of them.
func loadDerivation(d *Derivation, list *batchList, start int, pos Position, parent *types.Header, originRaw []byte, env *StepEnv, params *L1Params, timeout uint64) ([][]BatchTx, loadedRecords, error) {
	local := loadedRecords{records: map[common.Hash]uint64{}, channels: map[uint64]common.Hash{}}
	// load returns the channel loaded from channel's first record, if it is
	// the one completed at at, and records it as loadBatch would.
	load := func(channel []BatchTx, at Position) (*LoadedRef, error) {
		end, err := recordIndex(list, at)
		if err != nil {
			return nil, err
		}
		run := &channelRun{records: recordRulesOf(params)}
		if err := run.feed(channel, nil, list, AnyL1Block, params.ChannelTimeout); err != nil || !run.complete || run.last != end || run.frame != at.Frame {
			return nil, nil
		}
		b, err := decodeChannel(run.data, params.L2ChainID)
		if err != nil {
			return nil, err
		}
		local.add(channel[0].Index, run, b)
		return &LoadedRef{Start: channel[0].Index, Channel: newLoadedChannel(run, b)}, nil
	}
	var (
		parentRef, ownRef *LoadedRef
		ownAt             int // the index in d.Records of the own channel's first record
		err               error
	)
	if len(d.ParentChannel) > 0 {
		if parentRef, err = load(d.ParentChannel, d.ParentPosition); err != nil {
			return nil, local, err
		}
	}
	if pos.Batch && pos != d.ParentPosition {
		open, _, _, err := channelOpening(list, pos, timeout, recordRulesOf(params))
		if err != nil {
			return nil, local, err
		}
		k := open - start
		parentRecord := false // Records begin with the parent's record, read after its frame
		if abs, err := recordIndex(list, d.ParentPosition); err == nil && d.ParentPosition.Batch && len(d.Records) > 0 {
			parentRecord = d.Records[0].Index == abs
		}
		if k >= 0 && k < len(d.Records) && (k > 0 || !parentRecord) {
			if ownRef, err = load(d.Records[k:], pos); err != nil {
				return nil, local, err
			}
			ownAt = k
		}
	}
	check, err := derivationCheck(parent, originRaw, d, list, local, nil, params, env)
	if err != nil {
		return nil, local, err
	}
	for _, try := range [][2]*LoadedRef{{parentRef, ownRef}, {parentRef, nil}, {nil, ownRef}} {
		if try[0] == nil && try[1] == nil {
			continue
		}
		c := *d
		var loads [][]BatchTx
		if try[0] != nil {
			loads = append(loads, c.ParentChannel)
			c.ParentChannel, c.ParentOpen, c.ParentLoaded = nil, 0, try[0]
		}
		if try[1] != nil {
			loads = append(loads, c.Records[ownAt:])
			c.Records, c.Loaded = c.Records[:ownAt], try[1]
		}
		if check(&c) == nil {
			*d = c
			return loads, local, nil
		}
	}
	return nil, local, nil
}

// derivationCheck returns the contract's derivation check of a parted
// proof's first part after parent, over the records in list and the
// channels in loaded.
func derivationCheck(parent *types.Header, originRaw []byte, d *Derivation, list *batchList, loaded loadedRecords, scans scanned, params *L1Params, env *StepEnv) (func(*Derivation) error, error) {
	pinfo, err := Origin(parent)
	if err != nil {
		return nil, err
	}
	origins, err := headerTimes(append([][]byte{originRaw}, d.Origins...))
	if err != nil {
		return nil, err
	}
	l1 := &l1Records{inbox: list, seqs: loaded, scans: scans, before: AnyL1Block}
	return func(d *Derivation) error {
		_, err := deriveNext(parent, pinfo, d, origins, params, l1, env)
		return err
	}, nil
}

// loadedRecords are the records loadBatch would set for channels loaded
// from the prover's inbox records.
type loadedRecords struct {
	records  map[common.Hash]uint64 // SeqRecord → the completing L1 block
	channels map[uint64]common.Hash // start → LoadedChannel hash
}

func (l loadedRecords) add(start uint64, run *channelRun, b *batch.Batch) {
	for _, rec := range seqRecordsOf(start, b) {
		l.records[rec] = run.x
	}
	lc := newLoadedChannel(run, b)
	l.channels[start] = lc.hash()
}

func (l loadedRecords) Loaded(record common.Hash) (uint64, bool) {
	x, ok := l.records[record]
	return x, ok
}

func (l loadedRecords) LoadedChannel(start uint64) common.Hash { return l.channels[start] }

// ScanThreshold is how many bytes of inbox records a proof's derivation
// carries before the prover moves the leading ones into scans (see Scan).
const ScanThreshold = 32 << 10

// scanCut moves d's leading records into scans, each at most about budget
// bytes, when they take more than ScanThreshold: up to the record where the
// block's channel opens, or every record for a forced advance. d then
// resumes from the last scan. It returns the scans, to send before the
// proof (after the loads of loaded, the channels a parted proof loads),
// and the list index of d.Records' first record, which list holds from
// list index start. With loaded (a parted proof), a junk channel whose
// frames would take a scan or the proof over budget is loaded instead and
// passed over (Derivation.Passed): the loads to send first come back too.
func scanCut(parent *types.Header, originRaw []byte, d *Derivation, list *batchList, start int, pos Position, loaded loadedRecords, env *StepEnv, params *L1Params, budget int) ([]Scan, []BatchLoad, int, error) {
	set := scanned{}
	sizes := make([]int, len(d.Records))
	total := 0
	for i := range d.Records {
		raw, _ := rlp.EncodeToBytes(&d.Records[i])
		sizes[i] = len(raw)
		total += len(raw)
	}
	if total <= ScanThreshold {
		return nil, nil, start, nil
	}
	cut := len(d.Records) // a forced advance, or a loaded channel after them: every record
	if pos.Batch && pos != d.ParentPosition && d.Loaded == nil {
		// The record that completes the block's channel stays, and the
		// records from the one that opens it when they are few: the proof
		// needs no open channel's frames then.
		cut = len(d.Records) - 1
		if open, _, _, err := channelOpening(list, pos, params.ChannelTimeout, recordRulesOf(params)); err == nil && open-start > 0 && open-start < cut {
			tail := 0
			for _, n := range sizes[open-start:] {
				tail += n
			}
			if tail <= budget/2 {
				cut = open - start
			}
		}
	}
	if cut <= 0 {
		return nil, nil, start, nil
	}
	parentRaw, err := rlp.EncodeToBytes(parent)
	if err != nil {
		return nil, nil, 0, err
	}
	check, err := derivationCheck(parent, originRaw, d, list, loaded, set, params, env)
	if err != nil {
		return nil, nil, 0, err
	}
	pinfo, _ := Origin(parent)
	scanOrigins := append([][]byte{originRaw}, d.Origins...) // a block dropped on the way may need the block's own origin
	origins, err := headerTimes(scanOrigins)
	if err != nil {
		return nil, nil, 0, err
	}
	local := &l1Records{inbox: list, seqs: loaded, scans: set, before: AnyL1Block}
	overhead := len(parentRaw) + 2_000
	for _, o := range scanOrigins {
		overhead += len(o)
	}
	var (
		scans  []Scan
		resume *ScanState
	)
	// build is the scan of records i to j after resume, carrying the
	// parent's transactions or the open channel's frames only if it needs
	// them, and where derivation stands after it.
	build := func(i, j int) (*Scan, *ScanState, error) {
		sc := Scan{Parent: parentRaw, Derivation: Derivation{ParentPosition: d.ParentPosition, Records: d.Records[i:j], Origins: scanOrigins, Resume: resume}}
		if resume == nil {
			sc.Derivation.ParentChannel, sc.Derivation.ParentOpen, sc.Derivation.ParentLoaded = d.ParentChannel, d.ParentOpen, d.ParentLoaded
		}
		// Where derivation stands after the scan, with every frame known.
		full := sc.Derivation
		full.ParentTxs = d.ParentTxs
		if resume != nil {
			full.OpenFrames = resume.frames
		}
		nb, st, err := runDerivation(parent, pinfo, &full, origins, params, local, nil, true)
		if err != nil || nb != nil {
			return nil, nil, fmt.Errorf("scan of inbox records %d to %d after L2 block %d: %v %w", d.Records[i].Index, d.Records[j-1].Index, parent.Number, nb, err)
		}
		// The least it needs: nothing, the parent's transactions, the open
		// channel's frames, or both.
		for _, need := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			sc.Derivation.ParentTxs, sc.Derivation.OpenFrames = nil, nil
			if need[0] {
				sc.Derivation.ParentTxs = full.ParentTxs
			}
			if need[1] {
				sc.Derivation.OpenFrames = full.OpenFrames
			}
			if _, _, err = runDerivation(parent, pinfo, &sc.Derivation, origins, params, local, nil, true); err == nil {
				return &sc, st, nil
			}
		}
		return nil, nil, err
	}
	// pass plans the load of the junk channel open at resume, so that
	// where it completes derivation passes over it without its frames
	// (its loads go out once used); nil if it is no junk (its batch
	// decodes) or cannot be loaded from the records at hand.
	var loads []BatchLoad
	type passPlan struct {
		ref   LoadedRef
		loads []BatchLoad
		used  bool
	}
	passes := map[uint64]*passPlan{}
	pass := func() *passPlan {
		if loaded.channels == nil || resume == nil || !resume.Open || len(list.txs) == 0 || resume.OpenRecord < list.txs[0].Index {
			return nil
		}
		id := loadID(resume.OpenRecord, resume.OpenFrame)
		if plan, ok := passes[id]; ok {
			return plan
		}
		passes[id] = nil
		k := int(resume.OpenRecord - list.txs[0].Index)
		run := &channelRun{records: recordRulesOf(params), openAt: resume.OpenFrame}
		e := k
		for ; e < len(list.txs) && !run.complete; e++ {
			if run.feed(list.txs[e:e+1], nil, list, AnyL1Block, params.ChannelTimeout) != nil {
				return nil
			}
		}
		if _, ok := loaded.channels[id]; !run.complete || ok || run.openFrame != resume.OpenFrame {
			return nil
		}
		if _, err := decodeChannel(run.data, params.L2ChainID); err == nil {
			return nil // a batch: derivation reads it
		}
		none := &batch.Batch{}
		loaded.add(id, run, none)
		plan := &passPlan{ref: LoadedRef{Start: resume.OpenRecord, Channel: newLoadedChannel(run, none)}, loads: splitLoads(list.txs[k:e], budget)}
		for i := range plan.loads {
			plan.loads[i].Open = resume.OpenFrame
		}
		passes[id] = plan
		return plan
	}
	use := func(plan *passPlan) { // its loads go out once
		if !plan.used {
			plan.used, loads = true, append(loads, plan.loads...)
		}
	}
	framesSize := func(frames [][]byte) (n int) {
		for _, f := range frames {
			n += len(f)
		}
		return n
	}
	for i := 0; i < cut; {
		size := overhead
		if resume == nil {
			for _, bt := range d.ParentChannel {
				raw, _ := rlp.EncodeToBytes(&bt)
				size += len(raw)
			}
		}
		j := i
		for j < cut && (j == i || size+sizes[j] <= budget) {
			size += sizes[j]
			j++
		}
		for {
			sc, st, err := build(i, j)
			if err != nil {
				return nil, nil, 0, err
			}
			raw, _ := rlp.EncodeToBytes(sc)
			if len(raw) > budget && len(sc.Derivation.OpenFrames) > 0 {
				// A junk channel's frames: load it and pass over it.
				if plan := pass(); plan != nil {
					try := *sc
					try.Derivation.OpenFrames, try.Derivation.Passed = nil, []LoadedRef{plan.ref}
					if _, _, err := runDerivation(parent, pinfo, &try.Derivation, origins, params, local, nil, true); err == nil {
						*sc = try
						raw, _ = rlp.EncodeToBytes(sc)
					}
				}
			}
			// The parent's transactions or the open channel's frames,
			// when the scan needs them, count too: fewer records then.
			if len(raw) > budget && j > i+1 {
				j--
				continue
			}
			for _, ref := range sc.Derivation.Passed {
				use(passes[loadID(ref.Start, ref.Channel.Open)])
			}
			set[st.key(parent.Hash(), d.ParentPosition)] = true
			scans, resume, i = append(scans, *sc), st, j
			break
		}
	}
	c := *d
	c.ParentChannel, c.ParentOpen, c.ParentLoaded = nil, 0, nil
	c.Records, c.Resume = d.Records[cut:], resume
	err = check(&c)
	if errors.Is(err, ErrNeedOpenFrames) {
		c.OpenFrames = resume.frames
		if framesSize(resume.frames) > budget/2 {
			if plan := pass(); plan != nil {
				try := c
				try.OpenFrames, try.Passed = nil, []LoadedRef{plan.ref}
				if check(&try) == nil {
					use(plan)
					c = try
				}
			}
		}
		err = check(&c)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("derivation of L2 block %d after its scans: %w", parent.Number.Uint64()+1, err)
	}
	*d = c
	return scans, loads, start + cut, nil
}

// headerTimes is the prover's map of L1 header times by number, from the
// RLP headers it gathered itself (the contract checks a proof's with
// originTimes).
func headerTimes(raws [][]byte) (map[uint64]uint64, error) {
	out := make(map[uint64]uint64, len(raws))
	for _, raw := range raws {
		h := new(types.Header)
		if err := rlp.DecodeBytes(raw, h); err != nil {
			return nil, err
		}
		out[h.Number.Uint64()] = h.Time
	}
	return out, nil
}
