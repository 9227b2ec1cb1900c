package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
)

// TxSidecar is the sidecar of one blob transaction of a block: its blobs,
// their KZG commitments and cell proofs, as the transaction carried them
// in its network form.
type TxSidecar struct {
	TxHash  common.Hash
	Sidecar *types.BlobTxSidecar
}

// Blob sidecars live outside the state, under their block's number, until
// PruneSidecars removes them.
var (
	sidecarPrefix  = []byte("cairn-blobs-")
	sidecarsPruned = []byte("cairn-blobs-pruned") // the lowest block whose sidecars may remain
)

func sidecarKey(number uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, sidecarPrefix...), number)
}

func writeSidecars(w ethdb.KeyValueWriter, number uint64, cars []TxSidecar) error {
	if len(cars) == 0 {
		return nil
	}
	enc, err := rlp.EncodeToBytes(cars)
	if err != nil {
		return fmt.Errorf("encode the sidecars of block %d: %w", number, err)
	}
	return w.Put(sidecarKey(number), enc)
}

// Sidecars returns the blob sidecars of block number, in the order of its
// blob transactions: none for a block without any, or one whose sidecars
// were pruned (pruned tells which).
func (s *Store) Sidecars(number uint64) (cars []TxSidecar, pruned bool, err error) {
	if number < s.sidecarsFloor() {
		return nil, true, nil
	}
	enc, err := s.db.Get(sidecarKey(number))
	if err != nil {
		return nil, false, nil // none
	}
	if err := rlp.DecodeBytes(enc, &cars); err != nil {
		return nil, false, fmt.Errorf("sidecars of block %d: %w", number, err)
	}
	return cars, false, nil
}

func (s *Store) sidecarsFloor() uint64 {
	v, err := s.db.Get(sidecarsPruned)
	if err != nil || len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// PruneSidecars removes the sidecars of every block older than retention
// seconds before the head's time, as Ethereum's consensus clients drop
// blobs after about 18 days. It returns how many blocks it went through.
func (s *Store) PruneSidecars(retention uint64) (int, error) {
	head := s.Head()
	if head.Time < retention {
		return 0, nil
	}
	cutoff := head.Time - retention
	floor := s.sidecarsFloor()
	batch := s.db.NewBatch()
	n := 0
	for number := floor; number < head.Number.Uint64(); number++ {
		h := s.GetHeaderByNumber(number)
		if h == nil || h.Time >= cutoff {
			break
		}
		if h.BlobGasUsed != nil && *h.BlobGasUsed > 0 {
			if err := batch.Delete(sidecarKey(number)); err != nil {
				return n, err
			}
		}
		floor, n = number+1, n+1
		if n == 10_000 { // bounded work per call; the next goes on
			break
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := batch.Put(sidecarsPruned, binary.BigEndian.AppendUint64(nil, floor)); err != nil {
		return n, err
	}
	return n, batch.Write()
}
