package l1

import (
	"context"
	"errors"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cairn-dev/cairn/chain"
)

// The app hash CometBFT signs moves only with blocks that carry
// transactions, so an idle chain needs no proof block after each empty
// block (and can wait for work); it is the state root of the newest block
// with transactions, recorded per block and recomputed when a crash lost
// the record.
func TestAppHashMovesOnlyWithTransactions(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	genesis := app.Store().Genesis().Root()
	block := func(txs ...[]byte) []byte {
		t.Helper()
		head := app.Store().Head()
		fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: txs, Height: head.Number.Int64() + 1, Time: time.Unix(int64(head.Time)+1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		return fin.AppHash
	}
	if h := block(); string(h) != string(genesis.Bytes()) {
		t.Fatalf("empty block 1 reports %x, want the genesis root", h)
	}
	if app.Store().Head().Root == genesis {
		t.Fatal("the test wants an empty block that changes state (EIP-2935, EIP-4788)")
	}
	withTx := block(rawTx(t, chain.DevKey(0), 0, 1, 10))
	if string(withTx) != string(app.Store().Head().Root.Bytes()) {
		t.Fatal("a block with a transaction does not report its state root")
	}
	for range 3 {
		if h := block(); string(h) != string(withTx) {
			t.Fatalf("empty block reports %x, want %x", h, withTx)
		}
	}
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 5 || string(info.LastBlockAppHash) != string(withTx) {
		t.Fatalf("info %d %x", info.LastBlockHeight, info.LastBlockAppHash)
	}

	// A restarted node over the same store reports the same, also when
	// the records of the last blocks were lost.
	for _, n := range []uint64{5, 4, 3} {
		if err := app.Store().Database().Delete(appHashKey(n)); err != nil {
			t.Fatal(err)
		}
	}
	again, err := NewApp(app.Store(), nil, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _ = again.Info(ctx, &abci.RequestInfo{})
	if string(info.LastBlockAppHash) != string(withTx) {
		t.Fatalf("restarted: info %x, want %x", info.LastBlockAppHash, withTx)
	}
}

// Nodes in one process share the senders they recovered (decodecache.go),
// keyed by transaction hash and chain ID: a transaction accepted on one
// chain is still refused by a node of another, whose own recovery refuses
// its chain ID.
func TestSharedSendersKeepChainsApart(t *testing.T) {
	a := newTestApp(t)
	raw := rawTx(t, chain.DevKey(0), 0, 1, 10)
	res, err := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil || res.Code != CodeOK {
		t.Fatalf("accepted on its chain: %v %s", err, res.Log)
	}
	store, err := chain.Open("", &chain.Genesis{ChainID: appChainID + 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := NewApp(store, nil, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.decode(raw); err == nil {
		t.Fatal("another chain's node took the sender from the shared cache")
	}
	c := newTestApp(t)
	d, err := c.decode(raw)
	if err != nil || d.from != chain.DevAddress(0) {
		t.Fatalf("a node of the same chain: %v %v", d, err)
	}
}

// A proposer stops executing at its budget and leaves the rest for the next
// block, so a backlog drains in blocks of bounded time; the rest goes in the
// blocks after. The clock here advances a millisecond per reading.
func TestProposalCutAtItsBudget(t *testing.T) {
	app := newTestApp(t)
	var ticks int64
	app.cfg.ProposalBudget = 1500 * time.Microsecond // cut at the second look, after 128
	app.cfg.Clock = func() time.Time { ticks++; return time.Unix(0, ticks*int64(time.Millisecond)) }
	var mempool [][]byte
	for n := range uint64(300) {
		raw := rawTx(t, chain.DevKey(0), n, 1, 10)
		mempool = append(mempool, raw)
		wantCheck(t, checkTx(t, app, raw, abci.CheckTxType_New), "")
	}
	_, first := commitBlock(t, app, mempool)
	if len(first) == 0 || len(first) >= len(mempool) {
		t.Fatalf("the first block took %d of %d transactions", len(first), len(mempool))
	}
	if got := testutil.ToFloat64(app.stats.ProposalsCut); got != 1 {
		t.Fatalf("%v proposals cut, want 1", got)
	}
	included := len(first)
	for included < len(mempool) {
		_, txs := commitBlock(t, app, mempool[included:])
		if len(txs) == 0 {
			t.Fatalf("a block with none of the %d transactions left", len(mempool)-included)
		}
		included += len(txs)
	}
}

// A data directory an earlier Cairn wrote (a chain past its genesis with no
// mark of the app hash rule) is refused with a clear error, not left for
// CometBFT's handshake to stop on a mismatched app hash.
func TestOldDataDirRefused(t *testing.T) {
	store, err := chain.Open("", &chain.Genesis{ChainID: appChainID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	exec := chain.NewExecutor(store.Config(), store, nil)
	head := store.Head()
	st, _ := store.StateAt(head.Root)
	res, err := exec.Build(head, st, chain.Env{Time: head.Time + 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(res); err != nil {
		t.Fatal(err)
	}
	if _, err := NewApp(store, nil, Config{}, nil, nil); !errors.Is(err, ErrOldDataDir) {
		t.Fatalf("an old data directory: %v", err)
	}
}
