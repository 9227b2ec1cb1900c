package rollup

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
)

// The internals this package's tests reach. They are external tests
// (package rollup_test), since most run on a rolluptest.System, which
// imports this package.
var (
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
func (noQueue) FirstAfter(uint64) uint64                     { return 0 }
func (noQueue) KnowsL1Block(uint64, common.Hash) bool        { return true }

type noLoads struct{}

func (noLoads) Loaded(common.Hash) (uint64, bool) { return 0, true }
func (noLoads) LoadedChannel(uint64) common.Hash  { return common.Hash{} }

// NoRecords answers every question of a fuzzed proof so it reaches
// execution.
var NoRecords = l1Records{queue: noQueue{}, inbox: noQueue{}, seqs: noLoads{}, headers: noQueue{}, before: AnyL1Block}

// Txs are the list's batcher transactions, in order.
func (l batchList) Txs() []BatchTx { return l.txs }

// CheckChannel runs the proof's derivation check of the block after parent
// (with this time, origin and sequencer transactions) over the records of
// list, the parent made at the end of L1 block from: the records are read
// as derivation reads on from there.
func CheckChannel(parent *types.Header, time, origin, originTime uint64, txs []*types.Transaction, list batchList, from uint64, params *L1Params) error {
	pinfo, err := Origin(parent)
	if err != nil {
		return err
	}
	d := &Derivation{ParentPosition: Position{L1: from}, Records: list.txs}
	p := *params
	p.L1Start = 0 // the records are the list's, from L1 block from on
	next, err := deriveNext(parent, pinfo, d, map[uint64]uint64{origin: originTime}, &p, &l1Records{inbox: list, before: AnyL1Block}, nil)
	if err != nil {
		return err
	}
	return next.matches(time, origin, txs, pinfo)
}
