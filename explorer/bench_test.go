package explorer_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/explorer"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// BenchmarkLongChain builds a chain of 100,000 transfers (50 blocks of
// 2,000, from 100 senders to 10,000 recipients) on a hand-mined L1, lets a
// fresh explorer index it, and times the pages a user opens: home, a
// block, a transaction, a busy sender's address (1,000 transactions), a
// recipient's. It prints the indexing rate beside fetching the same blocks
// alone, and each page's p50 and p99 beside one eth_getTransactionByHash
// round trip, all measured in the same run.
//
//	go test ./explorer -run '^$' -bench LongChain -benchtime 1x
func BenchmarkLongChain(b *testing.B) {
	const senders, perSender, perBlock, recipients = 100, 1000, 2000, 10_000
	keys := make([]*ecdsa.PrivateKey, senders)
	alloc := types.GenesisAlloc{}
	for i := range keys {
		keys[i], _ = crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("explorer-bench-%d", i))))
		alloc[crypto.PubkeyToAddress(keys[i].PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	}
	m, err := wingtest.NewL1Miner(alloc)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	id := big.NewInt(wingtest.L1MinerChainID)
	signer := types.LatestSignerForChainID(id)
	recipient := func(i int) common.Address { return common.BigToAddress(big.NewInt(int64(0xbe0000 + i%recipients))) }
	var hashes []common.Hash
	start := time.Now()
	for n := range senders * perSender {
		k := n % senders
		to := recipient(n)
		tx := types.MustSignNewTx(keys[k], signer, &types.DynamicFeeTx{ChainID: id, Nonce: uint64(n / senders), To: &to, Value: big.NewInt(1), Gas: 21000,
			GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(100 * params.GWei)})
		raw, _ := tx.MarshalBinary()
		if err := m.SendTransaction(ctx, raw); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, tx.Hash())
		if (n+1)%perBlock == 0 {
			if blk, skipped, err := m.Mine(); err != nil || len(skipped) > 0 || blk.Transactions().Len() != perBlock {
				b.Fatalf("mine: %v, %d left out", err, len(skipped))
			}
		}
	}
	b.Logf("chain: %d transfers in %d blocks, built in %s", len(hashes), m.Head().Number.Uint64(), time.Since(start).Round(time.Millisecond))

	// Baseline: fetching every block with its transactions, alone.
	rc, err := gethrpc.Dial(m.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	start = time.Now()
	for h := uint64(0); h <= m.Head().Number.Uint64(); h++ {
		var blk map[string]any
		if err := rc.CallContext(ctx, &blk, "eth_getBlockByNumber", fmt.Sprintf("0x%x", h), true); err != nil {
			b.Fatal(err)
		}
	}
	fetch := time.Since(start)

	start = time.Now()
	e, err := explorer.Start(ctx, explorer.Config{L1: m.URL(), Addr: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for {
		if h, ok := e.Indexed("l1"); ok && h == m.Head().Number.Uint64() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	index := time.Since(start)
	b.Logf("indexing: %d transfers in %s, %.0f/s; fetching the blocks alone %s, %.0f/s (indexing at %.2fx the fetch rate)",
		len(hashes), index.Round(time.Millisecond), float64(len(hashes))/index.Seconds(), fetch.Round(time.Millisecond),
		float64(len(hashes))/fetch.Seconds(), fetch.Seconds()/index.Seconds())

	r := rand.New(rand.NewPCG(1, 2))
	timeIt := func(n int, do func(i int) error) (p50, p99 time.Duration) {
		var ds []time.Duration
		for i := range n {
			t0 := time.Now()
			if err := do(i); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		return ds[len(ds)/2], ds[len(ds)*99/100]
	}
	base50, base99 := timeIt(200, func(i int) error {
		var tx map[string]any
		return rc.CallContext(ctx, &tx, "eth_getTransactionByHash", hashes[r.IntN(len(hashes))])
	})
	b.Logf("baseline eth_getTransactionByHash: p50 %s, p99 %s", base50, base99)
	client := &http.Client{Timeout: 10 * time.Second}
	pages := []struct {
		name string
		path func() string
	}{
		{"home", func() string { return "/" }},
		{"block", func() string { return fmt.Sprintf("/l1/block/%d", 1+r.IntN(int(m.Head().Number.Uint64()))) }},
		{"transaction", func() string { return "/l1/tx/" + hashes[r.IntN(len(hashes))].Hex() }},
		{"sender (1,000 txs)", func() string { return "/l1/address/" + crypto.PubkeyToAddress(keys[r.IntN(senders)].PublicKey).Hex() }},
		{"recipient", func() string { return "/l1/address/" + recipient(r.IntN(recipients)).Hex() }},
		{"API block", func() string { return fmt.Sprintf("/api/l1/block/%d", 1+r.IntN(int(m.Head().Number.Uint64()))) }},
	}
	worst := time.Duration(0)
	for _, p := range pages {
		p50, p99 := timeIt(200, func(int) error {
			resp, err := client.Get(e.URL() + p.path())
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %d", p.name, resp.StatusCode)
			}
			return nil
		})
		worst = max(worst, p99)
		b.Logf("%-20s p50 %8s  p99 %8s  (%.1fx / %.1fx the baseline)", p.name, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond),
			float64(p50)/float64(base50), float64(p99)/float64(base99))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p99-ms")
	b.ReportMetric(float64(len(hashes))/index.Seconds(), "indexed-tx/s")
}
