package rollup

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup/batch"
)

// Scan is the input of the outputs contract's scanInbox: derivation after
// an L2 parent block, over inbox records that make no block. A batcher
// that posts data derivation drops between two batches (garbage, frames of
// channels that never complete, a second batch for a block) would
// otherwise make the next block's proof carry all of it, past what one L1
// transaction holds, and an honest proposer could not defend a true
// output over that block. scanInbox runs the proof's own derivation over
// the scan's records (from the parent's position, or from where an
// earlier scan stopped: Derivation.Resume), fails if derivation makes a
// block in them, and stores where derivation stands after them (a
// ScanState, keyed by the parent and its position). A proof's Derivation
// then resumes from it with the records that follow.
type Scan struct {
	Parent     []byte // RLP of the L2 parent block's header
	Derivation Derivation
}

// ScanState is where derivation stands between two inbox records after a
// parent: the next record, the L1 block of the last one read, and the
// channel open there (batch.ChannelState), whose data stands as the chain
// hash of its frames' data (frameChain).
type ScanState struct {
	Next     uint64
	Block    uint64
	Open     bool
	ID       batch.ChannelID
	OpenedAt uint64
	Frames   uint64
	Size     uint64
	Chain    common.Hash
	// OpenRecord and OpenFrame are where the open channel's frame 0 is: its
	// inbox record and its place among that record's frames.
	OpenRecord, OpenFrame uint64

	frames [][]byte // the open channel's frames' data, where known (a prover's)
}

// key is the outputs contract's slot that marks s as stored for the
// parent with this hash and position.
func (s *ScanState) key(parent common.Hash, ppos Position) common.Hash {
	raw, _ := rlp.EncodeToBytes(s)
	word := ppos.Word()
	return crypto.Keccak256Hash([]byte("cairn-scan"), parent[:], word[:], raw)
}

// frameChain extends the chain hash of a channel's frames' data by one
// frame's.
func frameChain(h common.Hash, data []byte) common.Hash { return crypto.Keccak256Hash(h[:], data) }

// openChannel is derivation's channel assembly in a proof: the
// Assembler's rules (batch.ChannelState) with the open channel's data, as
// far as the proof holds it, and the chain hash of its frames' data.
type openChannel struct {
	st      batch.ChannelState
	timeout uint64
	frames  [][]byte    // the open channel's frames' data, as far as the proof holds them
	known   bool        // frames are all of the open channel's
	chain   common.Hash // frameChain of the open channel's frames
	// record and place are where the last channel opened: the inbox
	// record of its frame 0 and the frame's place there.
	record, place uint64
}

// add takes frame f, the place-th of inbox record index, found in L1
// block at; complete reports that it completed a channel, whose data is
// data when known.
func (o *openChannel) add(f batch.Frame, at, index, place uint64) (data []byte, known, complete bool) {
	r := o.st.Step(f, at, o.timeout)
	if r.Discard {
		o.reset()
	}
	if f.Number == 0 { // Step opened a channel with it
		o.record, o.place = index, place
	}
	if r.Take {
		o.chain = frameChain(o.chain, f.Data)
		o.frames = append(o.frames, f.Data)
	}
	if !r.Complete {
		return nil, false, false
	}
	data, known = []byte{}, o.known
	for _, fd := range o.frames {
		data = append(data, fd...)
	}
	o.reset()
	return data, known, true
}

// expire drops the open channel if it has timed out by L1 block at.
func (o *openChannel) expire(at uint64) {
	if o.st.Expire(at, o.timeout) != nil {
		o.reset()
	}
}

func (o *openChannel) reset() { o.frames, o.known, o.chain = nil, true, common.Hash{} }

// resume sets the channel open at a scan's state; frames, when they match
// its chain hash, are its data.
func (o *openChannel) resume(r *ScanState, frames [][]byte) error {
	if !r.Open {
		return nil
	}
	o.st = batch.ChannelState{Open: true, ID: r.ID, OpenedAt: r.OpenedAt, Next: int(r.Frames), Size: int(r.Size)}
	o.chain, o.known = r.Chain, false
	o.record, o.place = r.OpenRecord, r.OpenFrame
	if len(frames) == 0 {
		return nil
	}
	var (
		h    common.Hash
		size int
	)
	for _, f := range frames {
		h, size = frameChain(h, f), size+len(f)
	}
	if h != r.Chain || uint64(len(frames)) != r.Frames || uint64(size) != r.Size {
		return fmt.Errorf("%w: the open channel's frames are not the scan's", ErrBadProof)
	}
	o.frames, o.known = frames, true
	return nil
}

// state is where derivation stands before inbox record next, the last
// one read in L1 block block.
func (o *openChannel) state(next, block uint64) *ScanState {
	st := &ScanState{Next: next, Block: block, Open: o.st.Open, ID: o.st.ID, OpenedAt: o.st.OpenedAt,
		Frames: uint64(o.st.Next), Size: uint64(o.st.Size), Chain: o.chain}
	if o.st.Open {
		st.OpenRecord, st.OpenFrame = o.record, o.place
	}
	if o.known {
		st.frames = o.frames
	}
	return st
}

// scanInbox runs a Scan over L1 records l1 and returns the state to store
// and its key.
func scanInbox(sc *Scan, params *L1Params, l1 *l1Records) (common.Hash, error) {
	parent := new(types.Header)
	if err := rlp.DecodeBytes(sc.Parent, parent); err != nil {
		return common.Hash{}, fmt.Errorf("%w: parent header: %w", ErrBadProof, err)
	}
	if err := checkParent(parent); err != nil {
		return common.Hash{}, err
	}
	pinfo, err := Origin(parent)
	if err != nil {
		return common.Hash{}, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	d := &sc.Derivation
	origins, err := originTimes(d.Origins, pinfo, l1.headers)
	if err != nil {
		return common.Hash{}, err
	}
	nb, st, err := runDerivation(parent, pinfo, d, origins, params, l1, nil, true)
	switch {
	case err != nil:
		return common.Hash{}, err
	case nb != nil:
		return common.Hash{}, fmt.Errorf("%w: derivation makes block %d in the scan's records (%v): prove it", ErrBadProof, parent.Number.Uint64()+1, nb.pos)
	}
	return st.key(parent.Hash(), d.ParentPosition), nil
}

// scanRecords tells the scans the outputs contract stored.
type scanRecords interface {
	Scanned(key common.Hash) bool
}

// scanned is a prover's set of scans, as the contract would store them.
type scanned map[common.Hash]bool

func (s scanned) Scanned(key common.Hash) bool { return s[key] }

func (r outputsRecords) Scanned(key common.Hash) bool {
	return r.st.GetState(OutputsAddress, key) != (common.Hash{})
}

// StoreScan runs scanInbox on the outputs contract's storage in st, as the
// contract's call does.
func StoreScan(st vm.StateDB, sc *Scan, params *L1Params) error {
	l1 := recordsOf(st, AnyL1Block)
	key, err := scanInbox(sc, params, &l1)
	if err != nil {
		return err
	}
	st.SetState(OutputsAddress, key, common.Hash{31: 1})
	return nil
}
