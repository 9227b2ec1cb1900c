package rollup

import (
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup/batch"
)

// channelRun assembles, for a proof, the channel that carried a block, under
// derivation's rules (rule 5, batch.ChannelState.Step): the proof names
// the batcher's inbox transactions from the one that opens the channel to
// the one that completes it, every one of them (consecutive inbox
// records), so no frame derivation saw is left out. A transaction whose
// data does not parse carries nothing (rule 4); a frame of another channel
// is dropped as derivation drops it; a frame that replaces the channel, or
// a channel that times out or grows too large, makes the channel one
// derivation dropped, and the proof fails. The state carries over between
// the loads of a parted proof.
type channelRun struct {
	state    batch.ChannelState
	opened   bool   // the channel is open in state
	last     uint64 // inbox index of the last transaction read
	data     []byte // data taken by this run
	complete bool
	x        uint64 // L1 block of the transaction that completed the channel
	frame    uint64 // the completing frame's place among its record's frames
	tail     bool   // the completing record has frames after the completing one

	records recordRules
	openAt  uint64 // the place of the channel's frame 0 among its first record's frames
	// openFrame is where the channel opened among its first record's
	// frames: openAt, or for openAt 0 the first frame 0 there.
	openFrame uint64
}

// feed reads txs; the first must be inbox record first when the run has
// not read any yet (any index when first is nil), and each next one the
// record after the last.
func (r *channelRun) feed(txs []BatchTx, first *uint64, inbox batchRecord, before, timeout uint64) error {
	for k, bt := range txs {
		switch {
		case r.complete:
			return fmt.Errorf("%w: inbox transaction %d after the channel completed", ErrBadProof, bt.Index)
		case !r.opened && k == 0 && first != nil && bt.Index != *first,
			(r.opened || k > 0) && bt.Index != r.last+1:
			return fmt.Errorf("%w: inbox transaction %d out of order: the proof must name every batcher transaction of the channel", ErrBadProof, bt.Index)
		}
		r.last = bt.Index
		data, block, err := r.records.data(&bt, inbox, before)
		if err != nil {
			return err
		}
		frames, err := batch.ParseTxData(data)
		if err != nil {
			continue // derivation drops the transaction's data (rule 4)
		}
		for j, f := range frames {
			opening := false
			if !r.opened {
				if uint64(j) < r.openAt {
					continue // before the channel: not this proof's
				}
				if f.Number != 0 {
					if r.openAt > 0 {
						return fmt.Errorf("%w: frame %d of inbox transaction %d is not a channel's first", ErrBadProof, j, bt.Index)
					}
					continue // before the channel: not this proof's
				}
				r.opened, opening, r.openFrame = true, true, uint64(j)
				r.state = batch.ChannelState{}
			}
			res := r.state.Step(f, block, timeout)
			if res.Discard && !opening {
				return fmt.Errorf("%w: derivation drops the channel: %w", ErrBadProof, res.Dropped)
			}
			if res.Take {
				r.data = append(r.data, f.Data...)
			}
			if res.Complete {
				r.complete, r.x, r.frame, r.tail = true, block, uint64(j), j+1 < len(frames)
				break
			}
		}
		if !r.opened {
			return fmt.Errorf("%w: inbox transaction %d does not start a channel", ErrBadProof, bt.Index)
		}
	}
	return nil
}

// recordRules reads the data of inbox records as derivation reads them,
// under the rollup's data-availability settings.
type recordRules struct {
	dac      *da.Committee // the committee whose certificates count; nil: none
	chainID  uint64        // the L2 chain certificates are for
	sampling bool          // sampling commitments count
}

func recordRulesOf(p *L1Params) recordRules {
	return recordRules{dac: p.Committee, chainID: p.L2ChainID, sampling: p.Sampling}
}

// data checks a proof's inbox record against what the inbox recorded and
// returns the data derivation reads from it (nil for a blob derivation
// drops) and the L1 block that included it, which must be before before.
func (r recordRules) data(bt *BatchTx, inbox batchRecord, before uint64) ([]byte, uint64, error) {
	e, ok := inbox.Batch(bt.Index)
	data := bt.Data
	switch {
	case !ok:
		return nil, 0, fmt.Errorf("%w: no inbox record %d", ErrBadProof, bt.Index)
	case e.Blob && len(bt.CellIndices) > 0:
		if err := checkInvalidBlob(bt, e.Hash); err != nil {
			return nil, 0, fmt.Errorf("%w: inbox record %d: %w", ErrBadProof, bt.Index, err)
		}
		data = nil // derivation drops the blob (rule 4)
	case e.Blob:
		if err := checkBlobData(bt, e.Hash); err != nil {
			return nil, 0, fmt.Errorf("%w: inbox record %d: %w", ErrBadProof, bt.Index, err)
		}
	case e.Hash != crypto.Keccak256Hash(bt.Data):
		return nil, 0, fmt.Errorf("%w: inbox transaction %d is not the batcher's", ErrBadProof, bt.Index)
	}
	if !e.Blob && len(data) > 0 {
		var err error
		switch {
		case r.dac != nil && data[0] == da.CertVersion:
			data, err = certifiedData(bt, r.dac, r.chainID)
		case r.sampling && data[0] == da.SampledVersion:
			data, err = sampledData(bt)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: inbox transaction %d: %w", ErrBadProof, bt.Index, err)
		}
	}
	if e.Block >= before {
		return nil, 0, fmt.Errorf("%w: %w: inbox transaction %d in L1 block %d, the output in %d", ErrBadProof, ErrAfterOutput, bt.Index, e.Block, before)
	}
	return data, e.Block, nil
}
