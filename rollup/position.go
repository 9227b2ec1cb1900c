package rollup

import (
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethdb"
)

// Position is where derivation stood when it made a safe L2 block. Output
// roots commit to it, so the one-step proof knows, from the agreed parent
// output, where derivation goes on from: it can then show that the block it
// proves is the one derivation made next (the first batch wins; a batch
// derivation dropped proves nothing).
//
// A block made from a channel names the frame that completed the channel:
// the Record-th inbox record of L1 block L1 (counting from 0 among that
// block's records) and the Frame-th frame of that record's data. Every
// block of one channel has the channel's position. A block made without a
// batch (a forced advance) names the L1 block at whose end derivation made
// it. The genesis has the zero position: derivation starts after the
// rollup's L1 anchor with no channel open.
type Position struct {
	L1     uint64
	Record uint64
	Frame  uint64
	Batch  bool // made from a channel; false for a forced advance and the genesis
}

// Word is the position as the output root hashes it: L1 block, record and
// frame as 8-byte big-endian numbers, then 7 zero bytes and 1 for a batch.
func (p Position) Word() common.Hash {
	var w common.Hash
	binary.BigEndian.PutUint64(w[0:], p.L1)
	binary.BigEndian.PutUint64(w[8:], p.Record)
	binary.BigEndian.PutUint64(w[16:], p.Frame)
	if p.Batch {
		w[31] = 1
	}
	return w
}

// PositionOfWord decodes Word; ok is false for a word no position has.
func PositionOfWord(w common.Hash) (Position, bool) {
	p := Position{
		L1:     binary.BigEndian.Uint64(w[0:]),
		Record: binary.BigEndian.Uint64(w[8:]),
		Frame:  binary.BigEndian.Uint64(w[16:]),
		Batch:  w[31] == 1,
	}
	return p, p.Word() == w
}

func (p Position) String() string {
	if !p.Batch {
		return fmt.Sprintf("end of L1 block %d", p.L1)
	}
	return fmt.Sprintf("L1 block %d record %d frame %d", p.L1, p.Record, p.Frame)
}

// positionKey is where a node keeps the position of safe block n (written
// by derivation; rewritten when derivation makes block n again).
func positionKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("cairn-rollup-derived-from-"), n)
}

// WritePosition records the position of safe block n.
func WritePosition(db ethdb.KeyValueWriter, n uint64, p Position) error {
	w := p.Word()
	return db.Put(positionKey(n), w[:])
}

// ReadPosition returns the position of safe block n: the genesis has the
// zero position; ok is false for a block derivation has not made (or made
// before positions were kept).
func ReadPosition(db ethdb.KeyValueReader, n uint64) (Position, bool) {
	if n == 0 {
		return Position{}, true
	}
	raw, err := db.Get(positionKey(n))
	if err != nil || len(raw) != common.HashLength {
		return Position{}, false
	}
	return PositionOfWord(common.BytesToHash(raw))
}
