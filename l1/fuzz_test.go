package l1

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cairn-dev/cairn/chain"
)

// FuzzCheckTx feeds arbitrary bytes to CheckTx: it must answer with a code,
// never panic or fail as an application.
func FuzzCheckTx(f *testing.F) {
	app := newTestApp(f)
	f.Add([]byte{})
	f.Add([]byte{0xf8, 0xff, 0x00})
	f.Add([]byte{0x02, 0xc0})
	f.Add([]byte{0x03, 0xf8, 0x01})
	f.Add([]byte{0x04, 0xc0})
	f.Add(rawTx(f, chain.DevKey(0), 0, 1, 10))
	blob, err := signBlobTx(f, 1337, 0, blobSidecar(f, "fuzz")).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, kind := range []abci.CheckTxType{abci.CheckTxType_New, abci.CheckTxType_Recheck} {
			res, err := app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: kind})
			if err != nil {
				t.Fatalf("CheckTx failed as an application: %v", err)
			}
			if res.Code != CodeOK && res.Log == "" {
				t.Fatal("refusal without a reason")
			}
		}
	})
}

// FuzzProcessProposal proposes blocks of arbitrary transactions: the app must
// accept or reject without error, and FinalizeBlock of any such block must
// succeed (invalid transactions are left out).
func FuzzProcessProposal(f *testing.F) {
	f.Add([]byte{0x01}, []byte{0xf8, 0x00})
	f.Add(rawTx(f, chain.DevKey(0), 0, 1, 10), []byte{})
	f.Add(rawTx(f, chain.DevKey(0), 0, 1, 10), rawTx(f, chain.DevKey(0), 0, 1, 10))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		app := newTestApp(t)
		ctx := context.Background()
		now := time.Unix(int64(app.Store().Head().Time)+1, 0)
		txs := [][]byte{a, b}
		if _, err := app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 1, Time: now}); err != nil {
			t.Fatalf("ProcessProposal: %v", err)
		}
		fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: txs, Height: 1, Time: now})
		if err != nil {
			t.Fatalf("FinalizeBlock: %v", err)
		}
		if len(fin.TxResults) != len(txs) {
			t.Fatalf("%d results for %d txs", len(fin.TxResults), len(txs))
		}
		if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	})
}
