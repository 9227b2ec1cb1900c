package rollup

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/cairn-dev/cairn/rollup/batch"
)

// BatchLoad is the input of the outputs contract's loadBatch: inbox
// transactions carrying frames of the channel whose first frame is in
// inbox transaction Start, in order. A channel too large for one L1
// transaction is loaded in several calls; the call that completes it
// decodes it and records each L2 block it carries (see SeqRecord), which a
// parted one-step proof then refers to instead of carrying the channel.
//
// A channel that does not decode (derivation drops it, rule 6) is kept
// too, as holding no blocks: a proof then passes over it where it
// completes without carrying its frames (Derivation.Passed).
type BatchLoad struct {
	Start uint64
	Txs   []BatchTx
	// Open, for a channel to pass over, is the place of its frame 0 among
	// record Start's frames, in every call of its load; such a load is kept
	// apart (loadID) and may not hold blocks. 0 takes the record's first
	// frame 0, as for every channel whose blocks a proof reads loaded.
	Open uint64 `rlp:"optional"`
}

// loadID is the key of the load of the channel from inbox record start
// opening at frame place open (0: the record's first frame 0). A load at a
// given place has its own key, so nobody can take another's: each key
// assembles one channel only.
func loadID(start, open uint64) uint64 {
	if open == 0 {
		return start
	}
	return start | open<<48 // inbox indexes and frame places stay far below
}

// SeqRecord is the slot the outputs contract sets when the channel loaded
// from inbox record start carries L2 block number with this time, origin
// and sequencer transactions, the latter committed to by SeqRoot; parent
// is the batch's parent check for its first block, else zero.
func SeqRecord(start, number, time, origin uint64, seqRoot common.Hash, count uint64, parent [20]byte) common.Hash {
	var b [40]byte
	binary.BigEndian.PutUint64(b[0:], start)
	binary.BigEndian.PutUint64(b[8:], number)
	binary.BigEndian.PutUint64(b[16:], time)
	binary.BigEndian.PutUint64(b[24:], origin)
	binary.BigEndian.PutUint64(b[32:], count)
	return crypto.Keccak256Hash([]byte("cairn-seq"), b[:], seqRoot[:], parent[:])
}

// LoadedChannel is what loadBatch keeps of a complete loaded channel
// besides its blocks' records: where derivation completed it and the span
// of its batch, for the derivation check of a parted proof.
type LoadedChannel struct {
	X           uint64   // the L1 block of the completing record
	End         uint64   // the inbox index of the completing record
	Frame       uint64   // the completing frame's place in that record
	First, Last uint64   // the batch's first and last block numbers (First > Last: none)
	ParentCheck [20]byte // the batch's parent check
	Tail        bool     // the completing record has frames after the completing one
	// Open is the place of the channel's frame 0 among its first record's
	// frames: only at 0 does derivation read none of that record's frames
	// before the channel, so that it may start while another is open. (Not
	// optional: a channel loaded before the field was kept hashes apart.)
	Open uint64
}

func loadedSlot(start uint64) common.Hash { return chanSlot(start, 5) }

func newLoadedChannel(run *channelRun, b *batch.Batch) LoadedChannel {
	lc := LoadedChannel{X: run.x, End: run.last, Frame: run.frame, ParentCheck: b.ParentCheck, Tail: run.tail, Open: run.openFrame}
	if len(b.Blocks) > 0 {
		lc.First, lc.Last = b.Blocks[0].Number, b.Blocks[len(b.Blocks)-1].Number
	} else {
		lc.First = 1 // no block: First > Last
	}
	return lc
}

func (lc *LoadedChannel) hash() common.Hash {
	raw, _ := rlp.EncodeToBytes(lc)
	return crypto.Keccak256Hash(raw)
}

// SeqRoot is the root of the trie of a block's sequencer transactions,
// keyed by their 8-byte big-endian position: sorted keys, so that a run of
// them is proven with go-ethereum's range proofs.
func SeqRoot(txs [][]byte) common.Hash {
	st := trie.NewStackTrie(nil)
	for i, raw := range txs {
		st.Update(seqKey(uint64(i)), raw)
	}
	return st.Hash()
}

func seqKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// channel load progress, per Start.
func chanSlot(start uint64, field int) common.Hash { return fieldSlot("chan", start, field) }

func chanWord(start, word uint64) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn-chan-data"), h64(start).Bytes(), h64(word).Bytes())
}

// loadBatch runs a BatchLoad on the outputs contract's storage: it
// assembles the channel the load's inbox transactions carry under
// derivation's rules (channelRun), keeping the assembly's state and data
// between loads, and records the blocks of its batch once complete.
func loadBatch(st vm.StateDB, l *BatchLoad, params *L1Params, inbox batchRecord) error {
	l2ChainID, channelTimeout := params.L2ChainID, params.ChannelTimeout
	s := outputsOf(st)
	if len(l.Txs) == 0 {
		return fmt.Errorf("%w: no inbox transactions", ErrBadProof)
	}
	if l.Start >= 1<<48 || l.Open >= 1<<16 {
		return fmt.Errorf("%w: load at inbox transaction %d, frame %d", ErrBadProof, l.Start, l.Open)
	}
	id := loadID(l.Start, l.Open)
	idSlot, nextSlot, lenSlot, lastSlot, openedSlot := chanSlot(id, 0), chanSlot(id, 1), chanSlot(id, 2), chanSlot(id, 3), chanSlot(id, 4)
	openFrameSlot := chanSlot(id, 6)
	stored := s.Get(idSlot)
	started := stored != (common.Hash{})
	if stored[0] == 2 {
		return nil // loaded already, perhaps by another party: nothing to do
	}
	run := &channelRun{records: recordRulesOf(params), openAt: l.Open}
	size := u64(s.Get(lenSlot))
	if started {
		run.opened = true
		run.state = batch.ChannelState{Open: true, OpenedAt: u64(s.Get(openedSlot)), Next: int(u64(s.Get(nextSlot))), Size: int(size)}
		copy(run.state.ID[:], stored[16:])
		run.last = u64(s.Get(lastSlot))
		// The slot holds the place plus one: a load begun before it was
		// kept cannot go on, as where its channel opened is unknown.
		at := u64(s.Get(openFrameSlot))
		if at == 0 {
			return fmt.Errorf("%w: the load at inbox transaction %d was begun without its frame 0's place", ErrBadProof, l.Start)
		}
		run.openFrame = at - 1
	}
	txs := l.Txs
	if started {
		// Records an earlier call read (perhaps another party's, cut
		// differently) are passed over, so nobody can make a prover's
		// loads fail by loading part of its channel first.
		for len(txs) > 0 && txs[0].Index <= run.last {
			txs = txs[1:]
		}
		if len(txs) == 0 {
			return nil
		}
	}
	if err := run.feed(txs, &l.Start, inbox, AnyL1Block, channelTimeout); err != nil {
		return err
	}
	data, x := run.data, run.x
	if !run.complete {
		var idw common.Hash
		idw[0] = 1
		copy(idw[16:], run.state.ID[:])
		s.Set(idSlot, idw)
		s.Set(nextSlot, h64(uint64(run.state.Next)))
		s.Set(lastSlot, h64(run.last))
		s.Set(openedSlot, h64(run.state.OpenedAt))
		s.Set(openFrameSlot, h64(run.openFrame+1))
		s.Set(lenSlot, h64(size+uint64(len(data))))
		appendWords(s, id, size, data)
		return nil
	}
	b, err := decodeChannel(append(readWords(s, id, size), data...), l2ChainID)
	switch {
	case err != nil:
		b = &batch.Batch{} // derivation drops it: kept as holding no blocks
	case l.Open > 0:
		// Derivation may read frames before it in its record that the
		// proof would not see: a batch is loaded from the first frame 0.
		return fmt.Errorf("%w: the channel loaded from frame %d of inbox transaction %d holds blocks: load it from the record's first frame 0", ErrBadProof, l.Open, l.Start)
	}
	// Each record holds 1 + the L1 block that completed the channel: a
	// game may use it only if that is before its output (checkBefore).
	// The batch's first block is recorded with the batch's parent check:
	// a proof of it must show its parent is the one the batch extends, as
	// derivation drops a batch that does not extend the safe head.
	// Every block is recorded: which of them derivation applies, the proof
	// decides by rule 8 from the parent (Extends, CheckBatchBlock).
	for _, rec := range seqRecordsOf(l.Start, b) {
		s.Set(rec, h64(x+1))
	}
	lc := newLoadedChannel(run, b)
	s.Set(loadedSlot(id), lc.hash())
	s.Set(idSlot, common.Hash{0: 2})
	return nil
}

// seqRecordsOf is the SeqRecord of each block of batch b, loaded from
// inbox record start.
func seqRecordsOf(start uint64, b *batch.Batch) []common.Hash {
	out := make([]common.Hash, len(b.Blocks))
	for i, blk := range b.Blocks {
		raws := sequencerRaws(blk.Txs)
		var parent [20]byte
		if i == 0 {
			parent = b.ParentCheck
		}
		out[i] = SeqRecord(start, blk.Number, blk.Time, blk.Origin, SeqRoot(raws), uint64(len(raws)), parent)
	}
	return out
}

// decodeChannel decompresses and decodes a complete channel's data.
func decodeChannel(data []byte, l2ChainID uint64) (*batch.Batch, error) {
	raw, err := batch.Decompress(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	b, err := batch.Decode(raw, new(big.Int).SetUint64(l2ChainID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	return b, nil
}

// appendWords stores data after the channel's first size bytes.
func appendWords(s outputsState, start, size uint64, data []byte) {
	for len(data) > 0 {
		word, off := size/32, size%32
		w := s.Get(chanWord(start, word))
		n := copy(w[off:], data)
		s.Set(chanWord(start, word), w)
		data, size = data[n:], size+uint64(n)
	}
}

func readWords(s outputsState, start, size uint64) []byte {
	out := make([]byte, 0, size)
	for word := uint64(0); uint64(len(out)) < size; word++ {
		w := s.Get(chanWord(start, word))
		out = append(out, w[:min(32, size-uint64(len(out)))]...)
	}
	return out
}

// seqRecords reads the recorded blocks of loaded channels.
type seqRecords interface {
	// Loaded reports whether a loaded channel recorded this block, and the
	// L1 block that completed that channel.
	Loaded(record common.Hash) (l1Block uint64, ok bool)
	// LoadedChannel is the hash of what loadBatch kept of the channel
	// loaded from inbox record start (zero: none complete).
	LoadedChannel(start uint64) common.Hash
}

type outputsRecords struct{ st vm.StateDB }

func (r outputsRecords) LoadedChannel(start uint64) common.Hash {
	return r.st.GetState(OutputsAddress, loadedSlot(start))
}

func (r outputsRecords) Loaded(record common.Hash) (uint64, bool) {
	v := u64(r.st.GetState(OutputsAddress, record))
	return v - min(v, 1), v != 0
}

// splitLoads cuts a channel's inbox transactions into loads of at most
// budget bytes of calldata each (one transaction per load at least).
func splitLoads(txs []BatchTx, budget int) []BatchLoad {
	var (
		loads []BatchLoad
		size  int
	)
	for _, bt := range txs {
		if len(loads) == 0 || size+len(bt.Data) > budget {
			loads = append(loads, BatchLoad{Start: txs[0].Index})
			size = 0
		}
		loads[len(loads)-1].Txs = append(loads[len(loads)-1].Txs, bt)
		size += len(bt.Data)
	}
	return loads
}

// sequencerRaws returns the encoded transactions.
func sequencerRaws(txs []*types.Transaction) [][]byte {
	out := make([][]byte, len(txs))
	for i, tx := range txs {
		out[i], _ = tx.MarshalBinary()
	}
	return out
}
