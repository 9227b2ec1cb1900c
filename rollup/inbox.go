package rollup

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
)

// Inbox is the L1 batch inbox. It accepts any transaction, so posting to it
// never fails; for the batcher's, with at most MaxInboxData bytes of
// calldata, it records the calldata's hash and L1 block, numbered in
// order, so the one-step proof can check that a block's transactions are
// the ones the batcher posted. A batcher's blob
// transaction (EIP-4844) is recorded blob by blob instead, each by its
// versioned hash, and its calldata is ignored, as op-node ignores it.
// Derivation reads the transactions and blobs themselves (rules 2–3).
type Inbox struct{ batcher common.Address }

var (
	inboxCountSlot     = common.Hash{31: 1}
	batchRecordedTopic = crypto.Keccak256Hash([]byte("BatchRecorded(uint256,bytes32)"))
)

// Address implements chain.SystemContract.
func (Inbox) Address() common.Address { return InboxAddress }

// Name implements chain.SystemContract.
func (Inbox) Name() string { return "rollup-batch-inbox" }

// RequiredGas is zero: the batcher pays for its calldata (the EIP-7623
// floor makes that 40 gas a byte), and recording two slots per transaction
// must not make posting fail.
func (Inbox) RequiredGas([]byte) uint64 { return 0 }

// Run implements chain.SystemContract.
func (in Inbox) Run(c *chain.Call) ([]byte, error) {
	if !c.Value.IsZero() {
		return nil, chain.Revert("inbox: takes no value")
	}
	if c.Caller != in.batcher {
		return nil, nil
	}
	if len(c.BlobHashes) > 0 {
		for _, vh := range c.BlobHashes {
			in.record(c, vh, true)
		}
		return nil, nil
	}
	if len(c.Input) > MaxInboxData {
		return nil, nil // too large for a proof to carry: not recorded
	}
	in.record(c, crypto.Keccak256Hash(c.Input), false)
	return nil, nil
}

// MaxInboxData is the most calldata the inbox records of one batcher
// transaction. A one-step proof carries a record's data whole, with the
// parent's header and the rest of the call, in one L1 transaction of at
// most 128 KiB: the inbox records nothing of a larger transaction, and
// derivation drops it (DropInboxSize). A blob may encode more (up to
// da.MaxBlobData): derivation drops a blob over MaxInboxData too
// (BlobData), and a proof passes over it by the blob's cell 0.
const MaxInboxData = 120_000

// The data behind a committee certificate or a sampling commitment fits
// one record too: this does not compile if da.MaxStoreSize is larger.
const _ = uint(MaxInboxData - da.MaxStoreSize)

// record appends one record: a calldata hash, or a blob's versioned hash.
func (Inbox) record(c *chain.Call, h common.Hash, blob bool) {
	idx := c.Get(inboxCountSlot).Big().Uint64()
	c.Set(itemSlot("inbox-hash", idx), h)
	c.Set(itemSlot("inbox-block", idx), common.BigToHash(c.Block.BlockNumber))
	if blob {
		c.Set(itemSlot("inbox-blob", idx), common.Hash{31: 1})
	}
	c.Set(inboxCountSlot, common.BigToHash(new(big.Int).SetUint64(idx+1)))
	c.Emit([]common.Hash{batchRecordedTopic, common.BigToHash(new(big.Int).SetUint64(idx)), h}, nil)
}

// inboxEntry is what the inbox recorded of one batcher transaction, or of
// one blob of a batcher's blob transaction.
type inboxEntry struct {
	Hash  common.Hash // keccak of the calldata, or the blob's versioned hash
	Block uint64      // the L1 block that included it
	Blob  bool
}

// inboxRecords reads the inbox's records from L1 state.
type inboxRecords struct{ st vm.StateDB }

func (r inboxRecords) Batch(i uint64) (inboxEntry, bool) {
	if i >= r.st.GetState(InboxAddress, inboxCountSlot).Big().Uint64() {
		return inboxEntry{}, false
	}
	return inboxEntry{
		Hash:  r.st.GetState(InboxAddress, itemSlot("inbox-hash", i)),
		Block: r.st.GetState(InboxAddress, itemSlot("inbox-block", i)).Big().Uint64(),
		Blob:  r.st.GetState(InboxAddress, itemSlot("inbox-blob", i)) != (common.Hash{}),
	}, true
}

// FirstAfter is the index of the first record of an L1 block after x (the
// record count when there is none).
func (r inboxRecords) FirstAfter(x uint64) uint64 {
	n := r.st.GetState(InboxAddress, inboxCountSlot).Big().Uint64()
	i, _ := firstRecordAfter(n, x, func(i uint64) (uint64, error) {
		return r.st.GetState(InboxAddress, itemSlot("inbox-block", i)).Big().Uint64(), nil
	})
	return i
}

// firstRecordAfter finds, among n records kept in L1 block order (the
// portal's queue, the inbox's transactions), the first whose L1 block is
// after block x, or n.
func firstRecordAfter(n, x uint64, blockOf func(uint64) (uint64, error)) (uint64, error) {
	lo, hi := uint64(0), n
	for lo < hi {
		mid := lo + (hi-lo)/2
		b, err := blockOf(mid)
		if err != nil {
			return 0, err
		}
		if b <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}
