package rollup

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
)

// An L2 block's L1 origin (its hash, base fee and time) is checked by the
// one-step proof against L1 itself. The proof carries the origin's header,
// and the contract accepts it when its hash is known on L1:
//
//   - it is the agreed parent block's own origin;
//   - it is one of the last 8,191 L1 block hashes, which EIP-2935's history
//     contract keeps in L1 state (a match with the header's own number is
//     the canonical block: the ring buffer slot n mod 8191 can only hold a
//     hash whose header says n, short of a keccak collision);
//   - or proveL1Headers walked back to it from such a hash, parent hash by
//     parent hash, and the outputs contract stored it.

// historyServeWindow is EIP-2935's ring buffer size.
const historyServeWindow = params.HistoryServeWindow

// headerRecord answers whether hash is L1 block number's, as L1 state
// knows it.
type headerRecord interface {
	KnowsL1Block(number uint64, hash common.Hash) bool
}

func l1HashSlot(number uint64) common.Hash { return fieldSlot("l1hash", number, 0) }

// KnowsL1Block implements headerRecord from L1 state: the EIP-2935 history
// or a hash proveL1Headers stored.
func (r outputsRecords) KnowsL1Block(number uint64, hash common.Hash) bool {
	if hash == (common.Hash{}) {
		return false
	}
	if r.st.GetState(params.HistoryStorageAddress, h64(number%historyServeWindow)) == hash {
		return true
	}
	return r.st.GetState(OutputsAddress, l1HashSlot(number)) == hash
}

// decodeL1Header decodes one L1 header and returns it with its hash:
// keccak of the bytes given, so nothing is re-encoded.
func decodeL1Header(raw []byte) (*types.Header, common.Hash, error) {
	h := new(types.Header)
	if err := rlp.DecodeBytes(raw, h); err != nil {
		return nil, common.Hash{}, fmt.Errorf("L1 header: %w", err)
	}
	if h.Number == nil || !h.Number.IsUint64() {
		return nil, common.Hash{}, fmt.Errorf("L1 header: bad number")
	}
	return h, crypto.Keccak256Hash(raw), nil
}

// decodeOrigin decodes a proof's L1 origin header, which must be L1 block
// number, and returns the origin as the L2 header records it and its time.
func decodeOrigin(raw []byte, number uint64) (L1Info, uint64, error) {
	h, hash, err := decodeL1Header(raw)
	if err != nil {
		return L1Info{}, 0, fmt.Errorf("%w: origin: %w", ErrBadProof, err)
	}
	if h.Number.Uint64() != number {
		return L1Info{}, 0, fmt.Errorf("%w: origin header is L1 block %d, not %d", ErrBadProof, h.Number, number)
	}
	info := L1InfoOf(h)
	info.Hash = hash
	return info, h.Time, nil
}

// checkOrigin is decodeOrigin for a header L1 must know: the agreed
// parent's own origin, or one whose hash L1 state holds.
func checkOrigin(raw []byte, number uint64, pinfo L1Info, headers headerRecord) (L1Info, uint64, error) {
	info, time, err := decodeOrigin(raw, number)
	if err != nil {
		return L1Info{}, 0, err
	}
	agreed := number == pinfo.Number && pinfo.Hash != (common.Hash{}) && info.Hash == pinfo.Hash
	if !agreed && !headers.KnowsL1Block(number, info.Hash) {
		return L1Info{}, 0, fmt.Errorf("%w: %w: origin %d (%s)", ErrBadProof, ErrUnknownL1Block, number, info.Hash)
	}
	return info, time, nil
}

// checkTime checks a block's time as derivation does: never before its
// parent's; a batched block's within [origin time, origin time +
// MaxSeqDrift] (the upper bound unchecked when the contract's MaxSeqDrift
// is 0); a forced advance's exactly max(parent time, origin time).
func checkTime(time, parentTime, originTime uint64, batched bool, params *L1Params) error {
	switch {
	case !batched && time != max(parentTime, originTime):
		return fmt.Errorf("%w: forced advance at time %d, derivation gives %d", ErrBadProof, time, max(parentTime, originTime))
	case time < parentTime:
		return fmt.Errorf("%w: time %d before the parent's %d", ErrBadProof, time, parentTime)
	case time < originTime || params.MaxSeqDrift > 0 && time > originTime+params.MaxSeqDrift:
		return fmt.Errorf("%w: time %d outside [%d, %d + %d] of its origin", ErrBadProof, time, originTime, originTime, params.MaxSeqDrift)
	}
	return nil
}

// originHeader returns the RLP of L1 origin's header, as a proof carries
// it, after checking it hashes to the origin derivation used.
func originHeader(ctx context.Context, l1 *L1Reader, origin L1Info) ([]byte, error) {
	h, err := l1.Header(ctx, origin.Number)
	if err != nil {
		return nil, err
	}
	raw, err := rlp.EncodeToBytes(h)
	if err != nil {
		return nil, err
	}
	if got := crypto.Keccak256Hash(raw); got != origin.Hash {
		return nil, fmt.Errorf("L1 header %d encodes to hash %s, the origin is %s", origin.Number, got, origin.Hash)
	}
	return raw, nil
}

// l1Records is what a one-step proof is checked against on L1: the
// portal's queue, the inbox's batcher transactions, the batches loaded
// into the outputs contract, and the L1 block hashes L1 state knows.
type l1Records struct {
	queue   queueRecord
	inbox   batchRecord
	seqs    seqRecords
	headers headerRecord
	scans   scanRecords
	// before caps the L1 data a proof may use: a game over an output
	// proven with L1 blocks before the one that included the output (see
	// checkBefore).
	before uint64
}

// AnyL1Block is the cap of a proof checked against all L1 data, as tools
// and tests check one outside a game.
const AnyL1Block = ^uint64(0)

// recordsOf reads them from an L1 state, for a proof that may use L1
// blocks before before.
func recordsOf(st vm.StateDB, before uint64) l1Records {
	return l1Records{queue: portalRecords{st}, inbox: inboxRecords{st}, seqs: outputsRecords{st}, headers: outputsRecords{st}, scans: outputsRecords{st}, before: before}
}

// ErrAfterOutput is returned for a one-step proof that needs L1 data from
// the L1 block that included the disputed output, or later: an output
// claims what derivation makes of the L1 data before it, so a block
// derivation could not have made by then cannot be proven for it.
var ErrAfterOutput = errors.New("the block needs L1 data from after the output was proposed")

// checkBefore checks that L1 block n is before the cap.
func (r *l1Records) checkBefore(what string, n uint64) error {
	if n >= r.before {
		return fmt.Errorf("%w: %w: %s in L1 block %d, the output in %d", ErrBadProof, ErrAfterOutput, what, n, r.before)
	}
	return nil
}

// ErrUnknownL1Block is returned for an L1 header whose hash L1 state does
// not hold: older than the EIP-2935 window and not proven with
// proveL1Headers.
var ErrUnknownL1Block = errors.New("L1 block hash not known to the contract")

// proveL1Headers checks a chain of L1 headers (RLP list of header RLPs),
// newest first: the first one's hash must be known, and each next one must
// be its predecessor's parent. It stores the last (oldest) one's hash, so
// a later call, or a one-step proof, can start from it.
func proveL1Headers(st vm.StateDB, raw []byte) (uint64, common.Hash, error) {
	var list [][]byte
	if err := rlp.DecodeBytes(raw, &list); err != nil || len(list) == 0 {
		return 0, common.Hash{}, fmt.Errorf("%w: header list: %v", ErrBadProof, err)
	}
	rec := outputsRecords{st}
	var prev *types.Header
	var number uint64
	var hash common.Hash
	for i, r := range list {
		h, hh, err := decodeL1Header(r)
		if err != nil {
			return 0, common.Hash{}, fmt.Errorf("%w: header %d: %w", ErrBadProof, i, err)
		}
		n := h.Number.Uint64()
		switch {
		case prev == nil && !rec.KnowsL1Block(n, hh):
			return 0, common.Hash{}, fmt.Errorf("%w: %w: first header, L1 block %d", ErrBadProof, ErrUnknownL1Block, n)
		case prev != nil && (n+1 != number || hh != prev.ParentHash):
			return 0, common.Hash{}, fmt.Errorf("%w: header %d is not the parent of the one before", ErrBadProof, i)
		}
		prev, number, hash = h, n, hh
	}
	st.SetState(OutputsAddress, l1HashSlot(number), hash)
	return number, hash, nil
}

// headerMargin is how many L1 blocks after head a header proof built at
// head still holds: its first header stays in the EIP-2935 window, and an
// origin left out for being in it stays there, that long.
const headerMargin = 1024

// MakeL1HeaderProof returns the proveL1Headers calls (each at most budget
// bytes) that make the L1 origin of L2 block number known to the outputs
// contract; none when its one-step proof needs none (see headerProof).
func (e *Engine) MakeL1HeaderProof(l1 *L1Reader, number uint64, budget int) ([][]byte, error) {
	ctx := nilContext()
	header, parent := e.store.GetHeaderByNumber(number), e.store.GetHeaderByNumber(number-1)
	if header == nil || parent == nil || number == 0 {
		return nil, fmt.Errorf("no L2 block %d", number)
	}
	origin, err := Origin(header)
	if err != nil {
		return nil, err
	}
	if pinfo, err := Origin(parent); err == nil && pinfo.Hash != (common.Hash{}) && pinfo.Hash == origin.Hash {
		return nil, nil
	}
	head, err := l1.Head(ctx)
	if err != nil {
		return nil, err
	}
	return headerProof(ctx, l1, origin.Number, head.Number.Uint64(), budget)
}

// headerProof returns the proveL1Headers calls that make L1 block origin's
// hash known, walking back from the oldest block the EIP-2935 window will
// still hold for headerMargin blocks after head; none when the window holds
// origin, or the contract stored it already. Calls overlap by one header:
// each starts from the one the call before stored. They must be sent in
// order.
func headerProof(ctx context.Context, l1 *L1Reader, origin, head uint64, budget int) ([][]byte, error) {
	if head+headerMargin < historyServeWindow || origin >= head+headerMargin-historyServeWindow {
		return nil, nil
	}
	start := head + headerMargin - historyServeWindow
	state, ok := l1.client.(storageReader)
	if !ok {
		return nil, fmt.Errorf("the L1 client cannot read storage")
	}
	stored, err := state.StorageAt(ctx, OutputsAddress, l1HashSlot(origin), nil)
	if err != nil {
		return nil, err
	}
	if common.BytesToHash(stored) != (common.Hash{}) {
		return nil, nil
	}
	var calls [][]byte
	var chunk [][]byte
	size := 0
	for n := start; ; n-- {
		h, err := l1.Header(ctx, n)
		if err != nil {
			return nil, err
		}
		raw, err := rlp.EncodeToBytes(h)
		if err != nil {
			return nil, err
		}
		if len(chunk) > 1 && size+len(raw) > budget {
			enc, _ := rlp.EncodeToBytes(chunk)
			calls = append(calls, enc)
			chunk, size = [][]byte{chunk[len(chunk)-1]}, len(chunk[len(chunk)-1])
		}
		chunk, size = append(chunk, raw), size+len(raw)
		if n == origin {
			break
		}
	}
	enc, _ := rlp.EncodeToBytes(chunk)
	return append(calls, enc), nil
}
