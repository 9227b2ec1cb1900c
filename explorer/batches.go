package explorer

import (
	"fmt"
	"net/http"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/zkrollup"
)

// The rollups' batches as L1 holds them: the optimistic rollup's batcher
// transactions to its inbox (read from the L1's index: their frames, or
// their blobs, or the certificate or commitment of off-L1 data), and the ZK
// rollup's batches as its operator reports them (ops, proof, verification
// on L1).

// BatchesPage is a rollup's newest batches.
type BatchesPage struct {
	Layer, LayerName, Kind string
	Inbox                  []InboxTx
	ZK                     []ZKBatch
}

// InboxTx is one batcher transaction.
type InboxTx struct {
	L1Block  uint64
	Hash     common.Hash
	From     common.Address
	Bytes    int // calldata
	Blobs    []common.Hash
	Carries  string // what its data is
	Frames   []FrameRow
	Accepted bool // sent by the batcher the L1 rules name
}

// FrameRow is one frame of a channel.
type FrameRow struct {
	Channel string
	Number  uint16
	Bytes   int
	Last    bool
}

// ZKBatch is one ZK rollup batch.
type ZKBatch struct {
	Index       uint64
	Status      string
	Ops         uint64
	Root        common.Hash
	L1Bytes     uint64
	ProveMillis uint64
	Tx          common.Hash
}

// maxBatches is how many batches the page reads.
const maxBatches = 50

func (e *Explorer) batches(r *http.Request) (any, error) {
	key := r.PathValue("layer")
	ctx, cancel := reqCtx(r)
	defer cancel()
	for _, o := range e.others {
		if o.Kind == "zk-rollup" && layerKey(o.Kind) == key && len(o.RPC) > 0 {
			op, err := zkrollup.DialOperator(ctx, o.RPC[0])
			if err != nil {
				return nil, err
			}
			defer op.Close()
			st, err := op.Status(ctx)
			if err != nil {
				return nil, err
			}
			p := &BatchesPage{Layer: key, LayerName: o.Name, Kind: o.Kind}
			for i := uint64(st.Batches); i > 0 && len(p.ZK) < maxBatches; i-- {
				b, err := op.Batch(ctx, i-1)
				if err != nil {
					return nil, err
				}
				p.ZK = append(p.ZK, ZKBatch{Index: uint64(b.Index), Status: string(b.Status), Ops: uint64(b.Ops), Root: b.Root, L1Bytes: uint64(b.L1Bytes), ProveMillis: uint64(b.ProveMillis), Tx: b.Tx})
			}
			return p, nil
		}
	}
	l, err := e.rollupLayer(r)
	if err != nil {
		return nil, err
	}
	p := &BatchesPage{Layer: l.Key, LayerName: l.Name, Kind: l.Kind}
	txs, err := e.idx.addressTxs(e.layers[0].Key, rollup.InboxAddress, maxBatches)
	if err != nil {
		return nil, err
	}
	batcher := l.Contracts["batcher"]
	for _, t := range txs {
		var tx *rpcTransaction
		if err := e.layers[0].rpc.CallContext(ctx, &tx, "eth_getTransactionByHash", t.Hash); err != nil || tx == nil {
			continue
		}
		in := InboxTx{L1Block: t.Height, Hash: t.Hash, From: tx.From, Bytes: len(tx.Input), Blobs: tx.BlobHashes, Accepted: batcher == (common.Address{}) || tx.From == batcher}
		in.Carries, in.Frames = describeInboxData(tx.Input, len(tx.BlobHashes))
		p.Inbox = append(p.Inbox, in)
	}
	return p, nil
}

// describeInboxData says what a batcher transaction's calldata carries.
func describeInboxData(data []byte, blobs int) (string, []FrameRow) {
	switch {
	case len(data) == 0 && blobs > 0:
		return fmt.Sprintf("%d blobs (frames in each, read from the beacon API)", blobs), nil
	case len(data) == 0:
		return "nothing", nil
	case data[0] == batch.DerivationVersion0:
		frames, err := batch.ParseTxData(data)
		if err != nil {
			return "calldata that does not parse as frames (derivation skips it): " + err.Error(), nil
		}
		var rows []FrameRow
		for _, f := range frames {
			rows = append(rows, FrameRow{Channel: hexutil.Encode(f.ID[:]), Number: f.Number, Bytes: len(f.Data), Last: f.IsLast})
		}
		return fmt.Sprintf("%d frames in calldata", len(frames)), rows
	case data[0] == 0x01:
		return "a data-availability committee's certificate (the frames are with the committee)", nil
	case data[0] == 0x02:
		return "a sampling commitment (the frames are with the storage nodes)", nil
	}
	return fmt.Sprintf("unknown data (version byte %#x)", data[0]), nil
}
