package rollup

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
)

// The internals this package's tests reach. They are external tests
// (package rollup_test), since most run on a rolluptest.System, which
// imports this package.
var (
	CheckBatch            = checkBatch
	CheckBlobData         = checkBlobData
	InvalidBlobTx         = invalidBlobTx
	ParentCheck           = parentCheck
	CertifiedData         = certifiedData
	SampledData           = sampledData
	ProveL1Headers        = proveL1Headers
	Windowed              = windowed
	LoadBatch             = loadBatch
	VerifyStepRecords     = verifyStep
	VerifyStepPartRecords = verifyStepPart
)

type (
	InboxEntry = inboxEntry
	BatchList  = batchList
)

// Add appends an inbox record carrying bt.
func (l *batchList) Add(bt BatchTx, e inboxEntry) { l.add(bt, e) }

// InboxRecordsOf is the inbox's records in L1 state st.
func InboxRecordsOf(st vm.StateDB) batchRecord { return inboxRecords{st} }

// OutputsRecordsOf is the outputs contract's records in L1 state st.
func OutputsRecordsOf(st vm.StateDB) outputsRecords { return outputsRecords{st} }

// FinalOutputIn is o.finalOutput over the outputs contract in st.
func (o *Outputs) FinalOutputIn(st vm.StateDB, i, now uint64, write bool) bool {
	return o.finalOutput(outputsOf(st), i, now, write)
}

type noQueue struct{}

func (noQueue) QueueItem(uint64) (common.Hash, uint64, bool) { return common.Hash{}, 0, false }
func (noQueue) QueueLength() uint64                          { return 0 }
func (noQueue) Batch(uint64) (inboxEntry, bool)              { return inboxEntry{}, false }
func (noQueue) RecordAfter(uint64, uint64) bool              { return false }
func (noQueue) KnowsL1Block(uint64, common.Hash) bool        { return true }

type noLoads struct{}

func (noLoads) Loaded(common.Hash) (uint64, bool) { return 0, true }

// NoRecords answers every question of a fuzzed proof so it reaches
// execution.
var NoRecords = l1Records{queue: noQueue{}, inbox: noQueue{}, seqs: noLoads{}, headers: noQueue{}, before: AnyL1Block}

// Txs are the list's batcher transactions, in order.
func (l batchList) Txs() []BatchTx { return l.txs }
