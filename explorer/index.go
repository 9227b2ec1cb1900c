package explorer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// index is what the explorer keeps so that pages need no scan of blocks:
// for each layer, the height indexed so far, and for each address the
// transactions it sent or received, newest first. It is caught up from the
// nodes block by block and resumes where it stopped.
//
// Keys:
//
//	h/<layer>                                    → the last indexed height (8 bytes)
//	b/<layer>/<height 8>                         → the block's hash, then the a/ keys it wrote
//	a/<layer>/<address 20>/<height 8>/<index 4>  → the transaction's hash (32), its
//	                                               recipient (20, zero for a creation)
//	                                               and its input's first 4 bytes
//	s/<layer>/<height 8>                         → the block's summary: time (8), transactions (4)
//	abi/<layer>/<address 20>                     → an ABI a user uploaded (JSON)
//
// A block whose parent is not the indexed block below it (the rollup's
// sequencer replaced unsafe blocks) makes the index undo blocks, with the
// keys they wrote, until it meets the chain again.
type index struct {
	db *pebble.DB
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	slog.Error("pebble: " + fmt.Sprintf(format, args...))
}

// openIndex opens the index in dir ("" in memory).
func openIndex(dir string) (*index, error) {
	opts := &pebble.Options{Logger: quietLogger{}}
	if dir == "" {
		opts.FS = vfs.NewMem()
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("explorer index: %w", err)
	}
	return &index{db: db}, nil
}

func (x *index) close() error { return x.db.Close() }

func heightKey(layer string) []byte { return []byte("h/" + layer) }

func blockKey(layer string, height uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("b/"+layer+"/"), height)
}

func summaryKey(layer string, height uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("s/"+layer+"/"), height)
}

func addrPrefix(layer string, a common.Address) []byte {
	return append([]byte("a/"+layer+"/"), a[:]...)
}

// height is the last block of layer indexed, and whether any is.
func (x *index) height(layer string) (uint64, bool, error) {
	v, closer, err := x.db.Get(heightKey(layer))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer closer.Close()
	return binary.BigEndian.Uint64(v), true, nil
}

// indexedTx is one transaction as the index sees it.
type indexedTx struct {
	Hash     common.Hash
	From, To *common.Address
	Index    uint32
	Selector [4]byte // the input's first 4 bytes, zero-padded
}

// value is what the index keeps under each of the transaction's
// addresses.
func (tx *indexedTx) value() []byte {
	v := append([]byte(nil), tx.Hash[:]...)
	var to common.Address
	if tx.To != nil {
		to = *tx.To
	}
	v = append(v, to[:]...)
	return append(v, tx.Selector[:]...)
}

// addBlock records a block's transactions under their sender and
// recipient, and the block as indexed, in one write.
func (x *index) addBlock(layer string, height uint64, hash common.Hash, time uint64, txs []indexedTx) error {
	b := x.db.NewBatch()
	defer b.Close()
	summary := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, time), uint32(len(txs)))
	if err := b.Set(summaryKey(layer, height), summary, nil); err != nil {
		return err
	}
	record := append([]byte(nil), hash[:]...) // then each a/ key, length-prefixed
	for _, tx := range txs {
		for _, a := range []*common.Address{tx.From, tx.To} {
			if a == nil {
				continue
			}
			k := addrPrefix(layer, *a)
			k = binary.BigEndian.AppendUint64(k, height)
			k = binary.BigEndian.AppendUint32(k, tx.Index)
			if err := b.Set(k, tx.value(), nil); err != nil {
				return err
			}
			record = binary.BigEndian.AppendUint16(record, uint16(len(k)))
			record = append(record, k...)
		}
	}
	if err := b.Set(blockKey(layer, height), record, nil); err != nil {
		return err
	}
	if err := b.Set(heightKey(layer), binary.BigEndian.AppendUint64(nil, height), nil); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync) // rebuilt from the nodes if lost
}

// blockHash is the hash of the block indexed at height.
func (x *index) blockHash(layer string, height uint64) (common.Hash, bool, error) {
	v, closer, err := x.db.Get(blockKey(layer, height))
	if errors.Is(err, pebble.ErrNotFound) {
		return common.Hash{}, false, nil
	}
	if err != nil {
		return common.Hash{}, false, err
	}
	defer closer.Close()
	if len(v) < 32 {
		return common.Hash{}, false, fmt.Errorf("explorer index: malformed block record at %d", height)
	}
	return common.BytesToHash(v[:32]), true, nil
}

// summary is the indexed block at height as a list shows it.
func (x *index) summary(layer string, height uint64) (row BlockRow, ok bool, err error) {
	hash, ok, err := x.blockHash(layer, height)
	if err != nil || !ok {
		return BlockRow{}, false, err
	}
	v, closer, err := x.db.Get(summaryKey(layer, height))
	if errors.Is(err, pebble.ErrNotFound) {
		return BlockRow{}, false, nil
	}
	if err != nil {
		return BlockRow{}, false, err
	}
	defer closer.Close()
	if len(v) != 12 {
		return BlockRow{}, false, fmt.Errorf("explorer index: malformed block summary at %d", height)
	}
	return BlockRow{Layer: layer, Number: height, Hash: hash, Txs: int(binary.BigEndian.Uint32(v[8:])),
		Time: time.Unix(int64(binary.BigEndian.Uint64(v[:8])), 0).UTC()}, true, nil
}

// undo removes the block indexed at height with the keys it wrote, and
// sets the indexed height below it.
func (x *index) undo(layer string, height uint64) error {
	v, closer, err := x.db.Get(blockKey(layer, height))
	if err != nil {
		return err
	}
	record := append([]byte(nil), v...)
	closer.Close()
	b := x.db.NewBatch()
	defer b.Close()
	for rest := record[min(32, len(record)):]; len(rest) >= 2; {
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			break
		}
		if err := b.Delete(rest[2:2+n], nil); err != nil {
			return err
		}
		rest = rest[2+n:]
	}
	if err := b.Delete(blockKey(layer, height), nil); err != nil {
		return err
	}
	if err := b.Delete(summaryKey(layer, height), nil); err != nil {
		return err
	}
	if height == 0 {
		err = b.Delete(heightKey(layer), nil)
	} else {
		err = b.Set(heightKey(layer), binary.BigEndian.AppendUint64(nil, height-1), nil)
	}
	if err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// addressTx is one of an address's transactions.
type addressTx struct {
	Hash     common.Hash
	Height   uint64
	To       common.Address // zero for a creation (or an index written before it kept them)
	Selector [4]byte
	Method   string // the selector's method, where the recipient's ABI is known
}

// addressTxs returns up to limit of a's transactions on layer, newest
// first.
func (x *index) addressTxs(layer string, a common.Address, limit int) ([]addressTx, error) {
	return x.scanAddress(addrPrefix(layer, a), limit, true)
}

// addressTxsAt returns a's transactions on layer in the block at height,
// in block order.
func (x *index) addressTxsAt(layer string, a common.Address, height uint64) ([]addressTx, error) {
	return x.scanAddress(binary.BigEndian.AppendUint64(addrPrefix(layer, a), height), -1, false)
}

// scanAddress reads up to limit (-1: all) of the a/ entries under prefix,
// newest first or in order.
func (x *index) scanAddress(prefix []byte, limit int, newestFirst bool) ([]addressTx, error) {
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	start, step := it.First, it.Next
	if newestFirst {
		start, step = it.Last, it.Prev
	}
	// Keys are a/<layer>/<address>/<height>/<index>: the part after the
	// address (layer keys hold no "/").
	base := len("a/") + strings.Index(string(prefix[len("a/"):]), "/") + 1 + common.AddressLength
	var out []addressTx
	for ok := start(); ok && (limit < 0 || len(out) < limit); ok = step() {
		k, v := it.Key()[base:], it.Value()
		if len(k) != 12 || len(v) != 32 && len(v) != 56 {
			continue
		}
		t := addressTx{Hash: common.BytesToHash(v[:32]), Height: binary.BigEndian.Uint64(k[:8])}
		if len(v) == 56 {
			t.To = common.BytesToAddress(v[32:52])
			copy(t.Selector[:], v[52:])
		}
		out = append(out, t)
	}
	return out, it.Error()
}

func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// rpcHeader is a block's header as eth_getBlockByNumber answers it.
type rpcHeader struct {
	Number     hexutil.Uint64 `json:"number"`
	Hash       common.Hash    `json:"hash"`
	ParentHash common.Hash    `json:"parentHash"`
	Timestamp  hexutil.Uint64 `json:"timestamp"`
	Miner      common.Address `json:"miner"`
	GasUsed    hexutil.Uint64 `json:"gasUsed"`
	GasLimit   hexutil.Uint64 `json:"gasLimit"`
	BaseFee    *hexutil.Big   `json:"baseFeePerGas"`
	StateRoot  common.Hash    `json:"stateRoot"`
	Size       hexutil.Uint64 `json:"size"`
}

// rpcBlock is a block as eth_getBlockByNumber answers with full
// transactions, kept as JSON fields so every transaction type reads.
type rpcBlock struct {
	rpcHeader
	Transactions []rpcTransaction `json:"transactions"`
}

// rpcHead is a block as eth_getBlockByNumber answers without full
// transactions: its header and its transactions' hashes.
type rpcHead struct {
	rpcHeader
	Transactions []common.Hash `json:"transactions"`
}

type rpcTransaction struct {
	Hash        common.Hash     `json:"hash"`
	Type        hexutil.Uint64  `json:"type"`
	From        common.Address  `json:"from"`
	To          *common.Address `json:"to"`
	Value       *hexutil.Big    `json:"value"`
	Nonce       hexutil.Uint64  `json:"nonce"`
	Gas         hexutil.Uint64  `json:"gas"`
	Input       hexutil.Bytes   `json:"input"`
	BlobHashes  []common.Hash   `json:"blobVersionedHashes"`
	BlockNumber *hexutil.Uint64 `json:"blockNumber"`
	BlockHash   *common.Hash    `json:"blockHash"`
	Index       *hexutil.Uint64 `json:"transactionIndex"`
}

// catchUp indexes layer's blocks after the last indexed, up to head.
func (x *index) catchUp(ctx context.Context, l *layer) (int, error) {
	var head hexutil.Uint64
	if err := l.rpc.CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		return 0, err
	}
	last, ok, err := x.height(l.Key)
	if err != nil {
		return 0, err
	}
	next := last + 1
	if !ok {
		next = 0
	}
	n := 0
	for h := next; h <= uint64(head) && n < 1000; h++ {
		var b *rpcBlock
		if err := l.rpc.CallContext(ctx, &b, "eth_getBlockByNumber", hexutil.Uint64(h), true); err != nil {
			return n, err
		}
		if b == nil {
			break
		}
		if h > 0 {
			parent, ok, err := x.blockHash(l.Key, h-1)
			if err != nil {
				return n, err
			}
			if ok && parent != b.ParentHash {
				// The chain below changed: undo the block indexed there and
				// look again from it.
				if err := x.undo(l.Key, h-1); err != nil {
					return n, err
				}
				h -= 2
				continue
			}
		}
		txs := make([]indexedTx, len(b.Transactions))
		for i, tx := range b.Transactions {
			from := tx.From
			txs[i] = indexedTx{Hash: tx.Hash, From: &from, To: tx.To, Index: uint32(i)}
			copy(txs[i].Selector[:], tx.Input)
		}
		if err := x.addBlock(l.Key, h, b.Hash, uint64(b.Timestamp), txs); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// layerKey makes a layer name safe as a key part and a path segment.
func layerKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r - 'A' + 'a'
		}
		return '-'
	}, name)
}
