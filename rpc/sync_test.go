package rpc

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
)

// lateSealer holds each transaction pending until the test seals it, as a
// chain that makes blocks on its own time does.
type lateSealer struct {
	*sealer
	mu      sync.Mutex
	pending map[common.Hash][]byte
}

func (s *lateSealer) SendTransaction(_ context.Context, raw []byte) error {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[tx.Hash()] = raw
	return nil
}

func (s *lateSealer) PendingTransaction(h common.Hash) *types.Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	if raw, ok := s.pending[h]; ok {
		tx := new(types.Transaction)
		tx.UnmarshalBinary(raw)
		return tx
	}
	return nil
}

// sealAfter puts the pending transactions in a block after d; the channel
// is closed once it has.
func (s *lateSealer) sealAfter(t *testing.T, d time.Duration) <-chan struct{} {
	sealed := make(chan struct{})
	time.AfterFunc(d, func() {
		defer close(sealed)
		s.mu.Lock()
		defer s.mu.Unlock()
		for h, raw := range s.pending {
			if err := s.sealer.SendTransaction(context.Background(), raw); err != nil {
				t.Error(err)
			}
			delete(s.pending, h)
		}
	})
	return sealed
}

func signedTransfer(t *testing.T, nonce uint64) (hexutil.Bytes, common.Hash) {
	to := common.Address{0x70}
	tx := types.MustSignNewTx(chain.DevKey(0), types.LatestSignerForChainID(big.NewInt(testChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: nonce, Gas: 21_000, To: &to, Value: big.NewInt(1),
		GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(10 * params.GWei)})
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return raw, tx.Hash()
}

// eth_sendRawTransactionSync (EIP-7966) answers with the receipt once the
// transaction is in a block, or, past its timeout, with error 4 and the
// transaction's hash; and eth_getTransactionReceipt waits a little for a
// transaction the node holds pending, so a client's first receipt call
// after its send finds the receipt.
func TestReceiptsWithoutPolling(t *testing.T) {
	b := &lateSealer{sealer: newSealer(t), pending: map[common.Hash][]byte{}}
	_, c := serve(t, b, Limits{})
	ctx := context.Background()

	raw, hash := signedTransfer(t, 0)
	b.sealAfter(t, 30*time.Millisecond)
	var r map[string]any
	if err := c.CallContext(ctx, &r, "eth_sendRawTransactionSync", raw); err != nil {
		t.Fatal(err)
	}
	if r == nil || r["transactionHash"] != hash.Hex() || r["blockNumber"] != "0x1" {
		t.Fatalf("sync send answered %v", r)
	}

	raw, hash = signedTransfer(t, 1)
	err := c.CallContext(ctx, &r, "eth_sendRawTransactionSync", raw, 50)
	var de gethrpc.DataError
	var ec gethrpc.Error
	if !errors.As(err, &de) || !errors.As(err, &ec) || ec.ErrorCode() != 4 || de.ErrorData() != hash.Hex() {
		t.Fatalf("sync send past its timeout: %v", err)
	}

	b.sealAfter(t, 30*time.Millisecond) // the transaction still pending
	if err := c.CallContext(ctx, &r, "eth_getTransactionReceipt", hash); err != nil {
		t.Fatal(err)
	}
	if r == nil || r["blockNumber"] != "0x2" {
		t.Fatalf("the receipt of a pending transaction included 30 ms later: %v", r)
	}
	if err := c.CallContext(ctx, &r, "eth_getTransactionReceipt", common.Hash{1}); err != nil || r != nil {
		t.Fatalf("unknown transaction: %v %v", r, err)
	}
}

// Waiting calls are bounded (MaxReceiptWaiters of each method):
// past the bound a sync send still submits its transaction and answers at
// once with error 4 and the hash, and a receipt call answers null, so no
// number of callers can pile subscriptions onto the chain's feed.
func TestReceiptWaitersBounded(t *testing.T) {
	b := &lateSealer{sealer: newSealer(t), pending: map[common.Hash][]byte{}}
	api := &EthAPI{b: b, waiters: make(chan struct{}, 1), syncWaiters: make(chan struct{}, 1)}
	api.waiters <- struct{}{} // the one slot of each is taken
	api.syncWaiters <- struct{}{}
	raw, hash := signedTransfer(t, 0)
	_, err := api.SendRawTransactionSync(context.Background(), raw, nil)
	var ec gethrpc.Error
	if !errors.As(err, &ec) || ec.ErrorCode() != 4 {
		t.Fatalf("sync send past the bound: %v", err)
	}
	if b.PendingTransaction(hash) == nil {
		t.Fatal("the transaction was not submitted")
	}
	sealed := b.sealAfter(t, 30*time.Millisecond) // a waiting call would see it
	if r, err := api.GetTransactionReceipt(context.Background(), hash); r != nil || err != nil {
		t.Fatalf("a receipt call past the bound waited: %v %v", r, err)
	}
	<-sealed
}
