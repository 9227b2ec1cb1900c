package l1

import (
	"sync/atomic"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cairn-dev/cairn/chain"
)

// The pending nonce never goes back while a block carrying the sender's
// pooled transactions commits: a reader that saw the head before the
// block and the pool after its pruning would answer the nonce of a
// transaction already in the chain.
func TestPendingNonceThroughCommits(t *testing.T) {
	app := newTestApp(t)
	key, addr := chain.DevKey(0), chain.DevAddress(0)
	var taken atomic.Uint64 // transactions the pool has accepted
	stop, low := make(chan struct{}), make(chan uint64, 1)
	go func() {
		defer close(low)
		for {
			select {
			case <-stop:
				return
			default:
			}
			want := taken.Load()
			if n, err := app.PendingNonce(addr); err == nil && n < want {
				low <- n
				return
			}
		}
	}()
	for i := range uint64(40) {
		tx := rawTx(t, key, i, 1, 10)
		wantCheck(t, checkTx(t, app, tx, abci.CheckTxType_New), "")
		taken.Store(i + 1)
		commitBlock(t, app, [][]byte{tx})
	}
	close(stop)
	if n, ok := <-low; ok {
		t.Fatalf("pending nonce %d, below the transactions taken", n)
	}
}
