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
	LoadBatch             = loadBatch
	VerifyStepRecords     = verifyStep
	VerifyStepPartRecords = verifyStepPart
	ChanSlot              = chanSlot
	LoadID                = loadID
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

// CheckChannel runs the proof's derivation check of p's block (after
// parent, with sequencer transactions txs) over the records p names, the
// inbox's being l's, the parent made at the end of the L1 block before its
// origin's: the records are read as derivation reads on from there.
func CheckChannel(p *StepProof, parent *types.Header, txs []*types.Transaction, originTime uint64, l batchList, params *L1Params) error {
	pinfo, err := Origin(parent)
	if err != nil {
		return err
	}
	var records batchList
	for _, bt := range p.Derivation.Records {
		e, _ := l.Batch(bt.Index)
		records.add(bt, e)
	}
	d := &Derivation{ParentPosition: Position{L1: p.OriginNumber}, Records: records.txs}
	q := *params
	q.L1Start = 0 // the records are the list's, from the origin's L1 block on
	next, err := deriveNext(parent, pinfo, d, map[uint64]uint64{p.OriginNumber: originTime}, &q, &l1Records{inbox: records, before: AnyL1Block}, nil)
	if err != nil {
		return err
	}
	return next.matches(p.Time, p.OriginNumber, txs, pinfo)
}
