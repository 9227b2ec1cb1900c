package l1

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

const appChainID = 77

func newTestApp(t testing.TB) *App {
	t.Helper()
	alloc := types.GenesisAlloc{}
	for i := range uint32(3) {
		alloc[chain.DevAddress(i)] = types.Account{Balance: big.NewInt(params.Ether)}
	}
	store, err := chain.Open("", &chain.Genesis{ChainID: appChainID, Alloc: alloc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	app, err := NewApp(store, nil, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func rawTx(t testing.TB, key *ecdsa.PrivateKey, nonce uint64, tipGwei, capGwei int64) []byte {
	t.Helper()
	to := common.HexToAddress("0x70")
	tx := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(appChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(appChainID), Nonce: nonce, Gas: 21000, To: &to, Value: big.NewInt(1),
		GasTipCap: big.NewInt(tipGwei * params.GWei), GasFeeCap: big.NewInt(capGwei * params.GWei),
	})
	raw, _ := tx.MarshalBinary()
	return raw
}

func checkTx(t *testing.T, app *App, raw []byte, kind abci.CheckTxType) *abci.ResponseCheckTx {
	t.Helper()
	res, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: kind})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func wantCheck(t *testing.T, res *abci.ResponseCheckTx, substr string) {
	t.Helper()
	if substr == "" {
		if res.Code != CodeOK {
			t.Fatalf("refused: %s", res.Log)
		}
		return
	}
	if res.Code == CodeOK || !strings.Contains(res.Log, substr) {
		t.Fatalf("got code %d %q, want an error containing %q", res.Code, res.Log, substr)
	}
}

// commitBlock runs one height through the ABCI++ calls a proposer makes.
func commitBlock(t *testing.T, app *App, mempool [][]byte) (*abci.ResponseFinalizeBlock, [][]byte) {
	t.Helper()
	ctx := context.Background()
	height := app.Store().Head().Number.Int64() + 1
	now := time.Unix(int64(app.Store().Head().Time)+1, 0)
	proposer := []byte("proposer-address-20b")
	prep, err := app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: mempool, MaxTxBytes: 1 << 20, Height: height, Time: now, ProposerAddress: proposer})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prep.Txs, Height: height, Time: now, ProposerAddress: proposer})
	if err != nil || proc.Status != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("own proposal rejected: %v", err)
	}
	fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: prep.Txs, Height: height, Time: now, ProposerAddress: proposer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return fin, prep.Txs
}

// A sender queues transactions, replaces one by paying 10% more, and the
// block carries the replacement; rechecks then drop what was included or
// replaced.
func TestMempoolQueueAndReplace(t *testing.T) {
	app := newTestApp(t)
	key := chain.DevKey(0)
	tx0, tx1 := rawTx(t, key, 0, 1, 10), rawTx(t, key, 1, 1, 10)
	wantCheck(t, checkTx(t, app, tx0, abci.CheckTxType_New), "")
	wantCheck(t, checkTx(t, app, tx1, abci.CheckTxType_New), "")
	wantCheck(t, checkTx(t, app, tx1, abci.CheckTxType_New), "already known")
	// A future nonce waits behind the gap, as go-ethereum queues it; one
	// further than AccountQueue ahead is refused.
	wantCheck(t, checkTx(t, app, rawTx(t, key, 3, 1, 10), abci.CheckTxType_New), "")
	wantCheck(t, checkTx(t, app, rawTx(t, key, 2+AccountQueue+1, 1, 10), abci.CheckTxType_New), "nonce too high")
	if n, _ := app.PendingNonce(chain.DevAddress(0)); n != 2 {
		t.Fatalf("pending nonce %d, want 2 (nonce 3 waits behind the gap)", n)
	}
	if app.PendingTransaction(crypto.Keccak256Hash(tx0)) == nil {
		t.Fatal("a queued transaction is not found by hash")
	}

	// Same price, or a bump below 10%: refused. 10% on both caps: accepted.
	wantCheck(t, checkTx(t, app, rawTx(t, key, 1, 1, 11), abci.CheckTxType_New), "replacement transaction underpriced")
	repl := rawTx(t, key, 1, 2, 11)
	wantCheck(t, checkTx(t, app, repl, abci.CheckTxType_New), "")

	// The proposal has tx0 and the replacement, in nonce order; the proposer
	// executes it once (PrepareProposal) and reuses that for the rest.
	builds := app.builds.Load()
	_, included := commitBlock(t, app, [][]byte{tx0, tx1, repl})
	if n := app.builds.Load() - builds; n != 1 {
		t.Fatalf("the proposer executed its block %d times", n)
	}
	if len(included) != 2 || string(included[0]) != string(tx0) || string(included[1]) != string(repl) {
		t.Fatalf("proposal carried %d txs, want tx0 then the replacement", len(included))
	}
	// After the block the mempool's leftovers are rechecked and dropped.
	wantCheck(t, checkTx(t, app, tx1, abci.CheckTxType_Recheck), "no longer pending")
	wantCheck(t, checkTx(t, app, tx0, abci.CheckTxType_New), "nonce too low")
	if app.PendingTransaction(crypto.Keccak256Hash(tx0)) != nil {
		t.Fatal("an included transaction is still pending")
	}
	if n, _ := app.PendingNonce(chain.DevAddress(0)); n != 2 {
		t.Fatalf("pending nonce after block %d, want 2", n)
	}
}

// CheckTx refuses each kind of bad transaction with geth's message.
func TestCheckTxRefusals(t *testing.T) {
	app := newTestApp(t)
	key := chain.DevKey(1)
	sign := func(tx types.TxData, chainID int64) []byte {
		raw, _ := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(chainID)), tx).MarshalBinary()
		return raw
	}
	to := common.HexToAddress("0x70")
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"malformed RLP", []byte{0xf8, 0xff, 0x00}, "rlp"},
		{"empty", nil, "typed transaction too short"},
		{"wrong chain ID", sign(&types.DynamicFeeTx{ChainID: big.NewInt(1), Gas: 21000, GasFeeCap: big.NewInt(params.GWei), To: &to}, 1), "invalid chain id"},
		{"insufficient funds", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 21000, GasFeeCap: big.NewInt(params.GWei), GasTipCap: big.NewInt(1), To: &to, Value: big.NewInt(2 * params.Ether)}, appChainID), "insufficient funds for gas * price + value"},
		{"no tip", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 21000, GasFeeCap: big.NewInt(params.GWei), To: &to}, appChainID), "gas tip cap 0, minimum needed 1"},
		{"fee cap below the base fee", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 21000, GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(1), To: &to}, appChainID), "max fee per gas less than block base fee"},
		{"intrinsic gas", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 20000, GasFeeCap: big.NewInt(params.GWei), To: &to}, appChainID), "intrinsic gas too low"},
		{"gas above cap", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 20_000_000, GasFeeCap: big.NewInt(1), To: &to}, appChainID), "gas limit too high"},
		{"tip above cap", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 21000, GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(2), To: &to}, appChainID), "max priority fee per gas higher than max fee per gas"},
		{"oversized", sign(&types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 10_000_000, GasFeeCap: big.NewInt(1), To: &to, Data: make([]byte, DefaultMaxTxSize)}, appChainID), "oversized data"},
		{"unprotected legacy", func() []byte {
			raw, _ := types.MustSignNewTx(key, types.HomesteadSigner{}, &types.LegacyTx{Gas: 21000, GasPrice: big.NewInt(params.GWei), To: &to}).MarshalBinary()
			return raw
		}(), "replay-protected"},
		{"malleable signature", func() []byte {
			tx := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(appChainID)), &types.DynamicFeeTx{ChainID: big.NewInt(appChainID), Gas: 21000, GasFeeCap: big.NewInt(params.GWei), To: &to})
			v, r, s := tx.RawSignatureValues()
			n := new(big.Int).Sub(secp256k1N, s) // the same signature with high s
			sig := make([]byte, 65)
			r.FillBytes(sig[:32])
			n.FillBytes(sig[32:64])
			sig[64] = byte(1 - v.Uint64())
			mal, err := tx.WithSignature(types.LatestSignerForChainID(big.NewInt(appChainID)), sig)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := mal.MarshalBinary()
			return raw
		}(), "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCheck(t, checkTx(t, app, c.raw, abci.CheckTxType_New), c.want)
		})
	}
}

var secp256k1N, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

// A proposal with garbage or an inapplicable transaction is rejected; if such
// a block is decided anyway, the bad transaction is left out and the chain
// goes on.
func TestProposalValidation(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	now := time.Unix(int64(app.Store().Head().Time)+1, 0)
	good := rawTx(t, chain.DevKey(0), 0, 1, 10)
	gapped := rawTx(t, chain.DevKey(1), 4, 1, 10)
	for name, txs := range map[string][][]byte{"garbage": {good, {0x01, 0x02}}, "bad nonce": {good, gapped}} {
		res, err := app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 1, Time: now})
		if err != nil || res.Status != abci.ResponseProcessProposal_REJECT {
			t.Fatalf("%s: proposal accepted (%v)", name, err)
		}
	}
	fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: [][]byte{good, {0x01}, gapped}, Height: 1, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	codes := []uint32{fin.TxResults[0].Code, fin.TxResults[1].Code, fin.TxResults[2].Code}
	if codes[0] != CodeOK || codes[1] == CodeOK || codes[2] == CodeOK {
		t.Fatalf("tx result codes %v", codes)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	head := app.Store().Head()
	if head.Number.Uint64() != 1 || len(app.Store().BlockByNumber(1).Transactions()) != 1 {
		t.Fatal("block 1 should hold only the good transaction")
	}
	if string(fin.AppHash) != string(head.Root.Bytes()) {
		t.Fatal("app hash is not the state root")
	}
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(head.Root.Bytes()) {
		t.Fatalf("info %+v", info)
	}
}

// A transaction that can never be included costs nothing to send, so it
// must not get in: before, a fee cap of 0 from an empty account passed
// (its cost is 0), survived every recheck, and 2,048 of them filled the
// mempool. The fee cap must cover the next block's base fee, with a tip.
func TestMempoolRefusesFreeSpam(t *testing.T) {
	app := newTestApp(t)
	empty, _ := crypto.GenerateKey()
	to := common.HexToAddress("0x70")
	for _, c := range []struct {
		tip, feeCap int64
		want        string
	}{{0, 0, "gas tip cap 0, minimum needed 1"}, {1, 1, "max fee per gas less than block base fee"}} {
		free := types.MustSignNewTx(empty, types.LatestSignerForChainID(big.NewInt(appChainID)), &types.DynamicFeeTx{
			ChainID: big.NewInt(appChainID), Gas: 2_000_000, To: &to, Data: make([]byte, 64*1024),
			GasTipCap: big.NewInt(c.tip), GasFeeCap: big.NewInt(c.feeCap)})
		raw, _ := free.MarshalBinary()
		wantCheck(t, checkTx(t, app, raw, abci.CheckTxType_New), c.want)
	}
	if app.PendingCount() != 0 {
		t.Fatal("a free transaction is pending")
	}
}

// A pending transaction whose fee cap the rising base fee has overtaken is
// dropped at recheck: it cannot be included and would sit there for ever.
func TestRecheckDropsWhatCannotPayTheBaseFee(t *testing.T) {
	app := newTestApp(t)
	key := chain.DevKey(0)
	head := app.Store().Head()
	baseFee := app.Executor().Header(head, chain.Env{}).BaseFee
	capWei := new(big.Int).Set(baseFee)
	to := common.HexToAddress("0x70")
	tx := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(appChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(appChainID), Nonce: 0, Gas: 21000, To: &to, GasTipCap: big.NewInt(1), GasFeeCap: capWei})
	raw, _ := tx.MarshalBinary()
	wantCheck(t, checkTx(t, app, raw, abci.CheckTxType_New), "")
	if err := app.pool.recheck(tx, chain.DevAddress(0), app.checkState, new(big.Int).Add(baseFee, common.Big1)); err == nil {
		t.Fatal("recheck kept a transaction below the base fee")
	}
	if app.PendingCount() != 0 {
		t.Fatal("the transaction is still pending")
	}
}

// When the pool is full, a transaction gets in only by evicting the last
// transaction of a sender paying a lower tip; with nothing cheaper it is
// refused, and evictions never open a nonce gap.
func TestFullPoolEvictsTheCheapest(t *testing.T) {
	app := newTestApp(t)
	app.pool.maxBytes = 3 * 120 // room for three transfers
	send := func(key uint32, nonce uint64, tipGwei int64) *abci.ResponseCheckTx {
		return checkTx(t, app, rawTx(t, chain.DevKey(key), nonce, tipGwei, 100), abci.CheckTxType_New)
	}
	wantCheck(t, send(0, 0, 1), "")
	wantCheck(t, send(0, 1, 1), "")
	wantCheck(t, send(1, 0, 2), "")
	wantCheck(t, send(2, 0, 1), "txpool is full") // pays no more than the cheapest
	wantCheck(t, send(2, 0, 3), "")               // evicts sender 0's nonce 1
	if n, _ := app.PendingNonce(chain.DevAddress(0)); n != 1 {
		t.Fatalf("sender 0's pending nonce %d, want 1 (its last was evicted)", n)
	}
	wantCheck(t, checkTx(t, app, rawTx(t, chain.DevKey(0), 1, 1, 100), abci.CheckTxType_Recheck), "no longer pending")
}

// The decode cache keeps only what passed CheckTx, and within a byte
// budget: garbage and refused transactions take no room, and large ones
// cannot pile up by the gigabyte.
func TestDecodeCacheBounded(t *testing.T) {
	app := newTestApp(t)
	refused := rawTx(t, chain.DevKey(0), 1000, 1, 10) // nonce too high
	wantCheck(t, checkTx(t, app, refused, abci.CheckTxType_New), "nonce too high")
	if app.decoded.len() != 0 {
		t.Fatalf("a refused transaction was cached (%d entries)", app.decoded.len())
	}
	wantCheck(t, checkTx(t, app, rawTx(t, chain.DevKey(0), 0, 1, 10), abci.CheckTxType_New), "")
	if app.decoded.len() != 1 {
		t.Fatalf("%d cached, want the accepted transaction", app.decoded.len())
	}
	c := newDecodeCache(1000)
	for i := range 10 {
		c.add(common.Hash{byte(i)}, &decodedTx{}, 300)
	}
	if c.bytes > 1000 || c.len() != 3 {
		t.Fatalf("cache holds %d entries of %d bytes, budget 1000", c.len(), c.bytes)
	}
}

// Clients that send consecutive nonces over several connections have them
// arrive out of order. As go-ethereum does, a future nonce waits behind
// the gap and is promoted when it fills: with every sender's nonces
// shuffled, none is refused, and the blocks carry all of them in order.
func TestShuffledNoncesQueueAndPromote(t *testing.T) {
	app := newTestApp(t)
	const senders, per = 3, 20
	var all [][]byte
	for s := range uint32(senders) {
		for n := range uint64(per) {
			all = append(all, rawTx(t, chain.DevKey(s), n, 1, 10))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for i, raw := range all {
		if res := checkTx(t, app, raw, abci.CheckTxType_New); res.Code != CodeOK {
			t.Fatalf("transaction %d refused: %s", i, res.Log)
		}
	}
	for s := range uint32(senders) {
		if n, _ := app.PendingNonce(chain.DevAddress(s)); n != per {
			t.Fatalf("sender %d's pending nonce %d, want %d", s, n, per)
		}
	}
	for range 5 {
		commitBlock(t, app, all)
		for _, raw := range all {
			checkTx(t, app, raw, abci.CheckTxType_Recheck)
		}
	}
	st, err := app.Store().StateAt(app.Store().Head().Root)
	if err != nil {
		t.Fatal(err)
	}
	for s := range uint32(senders) {
		if n := st.GetNonce(chain.DevAddress(s)); n != per {
			t.Fatalf("sender %d's nonce on chain %d, want %d: transactions were lost", s, n, per)
		}
	}
}

// The view splits into what can run now and what waits behind a gap, as
// txpool_content reports it.
func TestPoolContentSplitsPendingAndQueued(t *testing.T) {
	app := newTestApp(t)
	for _, n := range []uint64{0, 1, 4} {
		wantCheck(t, checkTx(t, app, rawTx(t, chain.DevKey(0), n, 1, 10), abci.CheckTxType_New), "")
	}
	pending, queued := app.pool.Content()
	if p, q := pending[chain.DevAddress(0)], queued[chain.DevAddress(0)]; len(p) != 2 || len(q) != 1 || q[0].Nonce() != 4 {
		t.Fatalf("pending %d, queued %d", len(p), len(q))
	}
}
