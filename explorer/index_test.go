package explorer

import (
	"context"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// fakeEth serves eth_blockNumber and eth_getBlockByNumber from a chain a
// test can replace blocks of, as a sequencer replaces unsafe ones.
type fakeEth struct {
	mu     sync.Mutex
	blocks []*rpcBlock
}

func (f *fakeEth) BlockNumber() hexutil.Uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return hexutil.Uint64(len(f.blocks) - 1)
}

func (f *fakeEth) GetBlockByNumber(n hexutil.Uint64, _ bool) *rpcBlock {
	f.mu.Lock()
	defer f.mu.Unlock()
	if int(n) >= len(f.blocks) {
		return nil
	}
	return f.blocks[n]
}

// set makes the chain from height from on: one block each, with one
// transaction from each sender, tagged so the hashes differ per fork.
func (f *fakeEth) set(from int, tag byte, senders ...[]common.Address) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocks = f.blocks[:from]
	for i, ss := range senders {
		n := from + i
		b := &rpcBlock{rpcHeader: rpcHeader{Number: hexutil.Uint64(n), Hash: common.Hash{tag, byte(n)}}}
		if n > 0 {
			b.ParentHash = f.blocks[n-1].Hash
		}
		for k, s := range ss {
			b.Transactions = append(b.Transactions, rpcTransaction{Hash: common.Hash{tag, byte(n), byte(k), 1}, From: s})
		}
		f.blocks = append(f.blocks, b)
	}
}

// The index follows a chain whose top blocks are replaced: the replaced
// blocks' transactions leave the addresses' pages, the new ones come.
func TestIndexUndoesReplacedBlocks(t *testing.T) {
	x, err := openIndex("")
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	f := &fakeEth{}
	srv := gethrpc.NewServer()
	if err := srv.RegisterName("eth", f); err != nil {
		t.Fatal(err)
	}
	l := &layer{Key: "rollup", rpc: gethrpc.DialInProc(srv)}
	defer l.rpc.Close()
	alice, bob := common.Address{0xa}, common.Address{0xb}
	f.set(0, 1, nil, []common.Address{alice}, []common.Address{alice}, []common.Address{alice})
	ctx := context.Background()
	if _, err := x.catchUp(ctx, l); err != nil {
		t.Fatal(err)
	}
	if txs, _ := x.addressTxs("rollup", alice, 10); len(txs) != 3 || txs[0].Height != 3 {
		t.Fatalf("alice: %+v", txs)
	}
	// Blocks 2 and 3 are replaced by 2' and 3' (and a 4'), carrying bob's.
	f.set(2, 2, []common.Address{bob}, []common.Address{bob}, nil)
	if _, err := x.catchUp(ctx, l); err != nil {
		t.Fatal(err)
	}
	if txs, _ := x.addressTxs("rollup", alice, 10); len(txs) != 1 || txs[0].Height != 1 {
		t.Fatalf("alice after the replacement: %+v", txs)
	}
	if txs, _ := x.addressTxs("rollup", bob, 10); len(txs) != 2 || txs[0].Hash != (common.Hash{2, 3, 0, 1}) {
		t.Fatalf("bob after the replacement: %+v", txs)
	}
	if h, ok, _ := x.height("rollup"); !ok || h != 4 {
		t.Fatalf("indexed to %d", h)
	}
}
