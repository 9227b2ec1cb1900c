package batcher

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// fakeL1 answers a batcher's nonce and head questions.
type fakeL1 struct {
	L1
	nonce   uint64
	baseFee int64
}

func (f fakeL1) NonceAt(context.Context, common.Address, *big.Int) (uint64, error) {
	return f.nonce, nil
}

func (f fakeL1) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	return &types.Header{BaseFee: big.NewInt(f.baseFee)}, nil
}

// A frame transaction that can no longer be included (its nonce used by
// another transaction, or the base fee past its cap, so that the L1's pool
// drops it) is given up at once rather than after the receipt timeout, so
// the batcher posts again with higher fees.
func TestBatcherGivesUpOnUnincludableFrames(t *testing.T) {
	for _, c := range []struct {
		name    string
		l1      fakeL1
		stuck   bool
		feeCap  int64
		txNonce uint64
	}{
		{"waiting", fakeL1{nonce: 5, baseFee: 10}, false, 100, 5},
		{"nonce used", fakeL1{nonce: 6, baseFee: 10}, true, 100, 5},
		{"priced out", fakeL1{nonce: 5, baseFee: 101}, true, 100, 5},
	} {
		b := &Batcher{cfg: Config{L1: c.l1}}
		err := b.stillIncludable(context.Background(), c.txNonce, big.NewInt(c.feeCap))
		if got := errors.Is(err, errNotIncludable); got != c.stuck {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
