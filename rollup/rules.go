package rollup

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/rollup/batch"
)

// Derivation's batch rules (7 and 8) as pure functions: the deriver
// applies them to the safe chain, and the one-step proof to the agreed
// parent, so the two cannot disagree.

// ErrBlockRule marks a batch block that breaks rule 8: derivation drops it
// with the rest of its batch.
var ErrBlockRule = errors.New("batch block breaks a derivation rule")

// Extends says where a batch continues a chain whose head is safe (rule 7):
// either its first block is the next one and its parent check names the
// head, or it overlaps the chain and its block at the head's height is
// the head (same reports that, see SameBlock); then it continues after
// that block. It returns the index of the batch's first block to apply.
func Extends(b *batch.Batch, safe *types.Header, same func(*batch.Block) bool) (int, bool) {
	if len(b.Blocks) == 0 {
		return 0, false
	}
	n := safe.Number.Uint64()
	first, last := b.Blocks[0].Number, b.Blocks[len(b.Blocks)-1].Number
	switch {
	case first == n+1:
		return 0, bytes.Equal(b.ParentCheck[:], safe.Hash().Bytes()[:20])
	case first <= n && last > n:
		k := int(n + 1 - first)
		return k, same(&b.Blocks[k-1])
	}
	return 0, false
}

// SameBlock reports whether a chain block (its header and the hashes of
// its sequencer transactions) is the batch block: same time, L1 origin and
// sequencer transactions.
func SameBlock(h *types.Header, seqTxs []common.Hash, blk *batch.Block) bool {
	info, err := Origin(h)
	if err != nil || h.Time != blk.Time || info.Number != blk.Origin || len(seqTxs) != len(blk.Txs) {
		return false
	}
	for i := range seqTxs {
		if seqTxs[i] != blk.Txs[i].Hash() {
			return false
		}
	}
	return true
}

// CheckBatchBlock checks the rules of rule 8 that need no L1 header: a
// batch block, from a channel completed in L1 block x, on a parent with
// this time and L1 origin. Its origin must not be before the parent's nor
// after x, its sequencing window must still be open at x, and its time not
// before the parent's.
func CheckBatchBlock(blk *batch.Block, parentTime, parentOrigin, x, seqWindow uint64) error {
	switch {
	case blk.Origin < parentOrigin:
		return fmt.Errorf("%w: block %d origin %d before its parent's %d", ErrBlockRule, blk.Number, blk.Origin, parentOrigin)
	case blk.Origin > x:
		return fmt.Errorf("%w: block %d origin %d after its inclusion block %d", ErrBlockRule, blk.Number, blk.Origin, x)
	case x-blk.Origin >= seqWindow:
		return fmt.Errorf("%w: block %d origin %d is outside the sequencing window at L1 block %d", ErrBlockRule, blk.Number, blk.Origin, x)
	case blk.Time < parentTime:
		return fmt.Errorf("%w: block %d time %d before its parent's %d", ErrBlockRule, blk.Number, blk.Time, parentTime)
	}
	return nil
}

// CheckDrift checks rule 8's last rule: a batch block's time lies within
// [origin time, origin time + maxDrift].
func CheckDrift(blk *batch.Block, originTime, maxDrift uint64) error {
	if blk.Time < originTime || blk.Time-originTime > maxDrift {
		return fmt.Errorf("%w: block %d time %d outside [%d, %d + %d] of its origin", ErrBlockRule, blk.Number, blk.Time, originTime, originTime, maxDrift)
	}
	return nil
}
