package lab

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1"
)

// L1Config configures the L1 throughput benchmark.
type L1Config struct {
	Validators int           // default 4
	Senders    int           // funded accounts sending in parallel; default 64
	Transfers  int           // total transfers; default 20,000
	Rate       int           // offered transfers/s; 0 sends as fast as RPC accepts
	BlockTime  time.Duration // default 200ms
	Clients    int           // concurrent RPC connections; default 8
	// Shuffled sends one transaction per request with each sender's nonces
	// out of order across connections, as a wallet backend with several
	// connections does: the load the issue measured geth and Anvil with.
	Shuffled bool
	LoneTxs  int    // transfers sent alone to the idle chain, then as many back to back; default 50, -1 none
	Dir      string // data directory; a temporary one when empty
	Out      io.Writer
	Log      *slog.Logger // node logs; discarded when nil
}

// L1Result is what the benchmark measured.
type L1Result struct {
	Transfers    int
	Committed    int
	Refused      int    // answered with an error by eth_sendRawTransaction
	Lost         int    // accepted but not committed within a minute
	FirstRefusal string // the first refusal's error, if any
	// A lone transfer on the idle chain, eth_sendRawTransaction to its
	// receipt polled every 2 ms, and transfers back to back.
	LoneP50, LoneP99 time.Duration
	SeqP50, SeqP99   time.Duration
	Elapsed          time.Duration // first send to last commit
	TPS              float64       // committed transfers per second
	LatencyP50       time.Duration // send to commit, as seen by validator 0
	LatencyP99       time.Duration
	BlockTime        time.Duration // mean interval between blocks during the run
	Blocks           int
	BaselineTPS      float64 // go-ethereum's block processing of the same transfers
	BaselineNoSigs   float64 // the same with senders already recovered
}

const benchChainID = 31337

// RunL1 starts a multi-validator L1, sends signed transfers through validator
// RPC endpoints, and measures committed throughput and inclusion latency,
// then go-ethereum's block processing of the same transfers.
func RunL1(ctx context.Context, cfg L1Config) (*L1Result, error) {
	if cfg.Validators == 0 {
		cfg.Validators = 4
	}
	if cfg.Senders == 0 {
		cfg.Senders = 64
	}
	if cfg.Transfers == 0 {
		cfg.Transfers = 20_000
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = 200 * time.Millisecond
	}
	if cfg.Clients == 0 {
		cfg.Clients = 8
	}
	if cfg.LoneTxs == 0 {
		cfg.LoneTxs = 50
	}
	cfg.Out, cfg.Log = outputs(cfg.Out, cfg.Log)
	dir, cleanup, err := workDir(cfg.Dir, "cairn-lab-l1-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	keys, alloc := benchAccounts(cfg.Senders + 1)
	loneKey := keys[cfg.Senders] // the lone transfers' sender, apart from the load
	keys = keys[:cfg.Senders]
	genesis := chain.Genesis{ChainID: benchChainID, GasLimit: 200_000_000, Alloc: alloc}
	txs := signTransfers(keys, cfg.Transfers, benchChainID)

	cl, err := l1.NewCluster(l1.ClusterConfig{Dir: dir, Validators: cfg.Validators, Genesis: genesis, BlockTime: cfg.BlockTime, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
	if err := cl.Start(); err != nil {
		return nil, err
	}
	if err := cl.WaitHeight(ctx, 2); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "L1: %d validators, %d senders, %d signed transfers\n", cfg.Validators, cfg.Senders, len(txs))

	urls := make([]string, cfg.Validators)
	for i := range urls {
		urls[i] = "http://" + cl.RPCAddr(i)
	}
	res := &L1Result{}
	if cfg.LoneTxs > 0 {
		if res.LoneP50, res.LoneP99, err = loneLatency(ctx, urls[0], loneKey, benchChainID, 0, cfg.LoneTxs, 300*time.Millisecond); err != nil {
			return nil, fmt.Errorf("lone transfers: %w", err)
		}
		if res.SeqP50, res.SeqP99, err = loneLatency(ctx, urls[0], loneKey, benchChainID, uint64(cfg.LoneTxs), cfg.LoneTxs, 0); err != nil {
			return nil, fmt.Errorf("back-to-back transfers: %w", err)
		}
	}
	opts := loadOptions{clients: cfg.Clients, rate: cfg.Rate, settle: time.Minute}
	if cfg.Shuffled {
		shuffleNonces(txs, cfg.Senders)
		opts.single = true
	}
	load, err := runLoad(ctx, cl.Node(0).Chain(), urls, opts, txs)
	if err != nil {
		return nil, err
	}
	res.Transfers, res.Committed, res.Refused, res.Lost, res.Elapsed = len(txs), load.committed, load.refused, load.lost(), load.elapsed()
	if load.firstErr != nil {
		res.FirstRefusal = load.firstErr.Error()
	}
	res.TPS = load.tps()
	res.LatencyP50, res.LatencyP99 = load.percentile(50), load.percentile(99)
	res.Blocks, res.BlockTime = load.blockInterval()
	cl.Stop()
	fmt.Fprintf(cfg.Out, "measuring go-ethereum's block processing of the same transfers...\n")
	res.BaselineTPS, res.BaselineNoSigs, err = baseline(genesis, keys, cfg.Transfers)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Print writes the result as a small report.
func (r *L1Result) Print(w io.Writer) {
	fmt.Fprintf(w, "committed %d/%d transfers in %v\n", r.Committed, r.Transfers, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  refused, lost:             %d, %d%s\n", r.Refused, r.Lost, refusalNote(r.FirstRefusal))
	if r.LoneP99 > 0 {
		fmt.Fprintf(w, "  lone transfer, idle chain: p50 %s, p99 %s to its receipt (polled every 2 ms)\n", msOf(r.LoneP50), msOf(r.LoneP99))
		fmt.Fprintf(w, "  transfers back to back:    p50 %s, p99 %s each, sent on the last one's receipt\n", msOf(r.SeqP50), msOf(r.SeqP99))
	}
	fmt.Fprintf(w, "  L1 sustained:              %8.0f transfers/s\n", r.TPS)
	fmt.Fprintf(w, "  inclusion latency:         p50 %v, p99 %v\n", r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond))
	fmt.Fprintf(w, "  block time:                %v over %d blocks\n", r.BlockTime.Round(time.Millisecond), r.Blocks)
	fmt.Fprintf(w, "  geth block processing:     %8.0f transfers/s (with sender recovery), %.0f/s without\n", r.BaselineTPS, r.BaselineNoSigs)
	fmt.Fprintf(w, "  ratio L1 / geth:           %.2f\n", r.TPS/r.BaselineTPS)
}

func msOf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func refusalNote(first string) string {
	if first == "" {
		return ""
	}
	return " (first refusal: " + first + ")"
}

// shuffleNonces shuffles txs (signed round-robin over senders) within
// windows of 32 nonces per sender, so that each sender's consecutive nonces
// reach different connections in no order, yet no gap exceeds the 64 that
// go-ethereum's pool (and Cairn's) hold per sender. The seed is fixed: runs
// are repeatable.
func shuffleNonces(txs []*types.Transaction, senders int) {
	r := rand.New(rand.NewPCG(15, 3))
	window := 32 * senders
	for lo := 0; lo < len(txs); lo += window {
		w := txs[lo:min(lo+window, len(txs))]
		r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	}
}

// benchAccounts derives n funded sender keys.
func benchAccounts(n int) ([]*ecdsa.PrivateKey, types.GenesisAlloc) {
	alloc := types.GenesisAlloc{}
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		k, _ := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("cairn-lab-sender-%d", i))))
		keys[i] = k
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	}
	return keys, alloc
}

// signTransfers signs total transfers round-robin over keys, each to a
// random-looking recipient.
func signTransfers(keys []*ecdsa.PrivateKey, total int, chainID uint64) []*types.Transaction {
	id := new(big.Int).SetUint64(chainID)
	signer := types.LatestSignerForChainID(id)
	nonces := make([]uint64, len(keys))
	txs := make([]*types.Transaction, total)
	for i := range txs {
		k := i % len(keys)
		to := common.BytesToAddress(crypto.Keccak256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})[:20])
		txs[i] = types.MustSignNewTx(keys[k], signer, &types.DynamicFeeTx{
			ChainID: id, Nonce: nonces[k], Gas: 21000, To: &to, Value: big.NewInt(1),
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(1000 * params.GWei),
		})
		nonces[k]++
	}
	return txs
}

// baseline measures go-ethereum's block processing of the same transfers:
// core.ApplyTransaction over a fresh state, in one block, decoded from bytes
// (so senders are recovered), then again with senders already cached.
func baseline(g chain.Genesis, keys []*ecdsa.PrivateKey, n int) (withSigs, noSigs float64, err error) {
	signed := signTransfers(keys, n, g.ChainID)
	raws := make([][]byte, len(signed))
	for i, tx := range signed {
		raws[i], _ = tx.MarshalBinary()
	}
	run := func(recover bool) (float64, error) {
		store, err := chain.Open("", &g, nil)
		if err != nil {
			return 0, err
		}
		defer store.Close()
		txs := signed
		if !recover { // warm the sender cache for the signer the executor uses
			signer := types.MakeSigner(store.Config(), common.Big1, store.Head().Time+1)
			for _, tx := range txs {
				types.Sender(signer, tx)
			}
		} else {
			txs = make([]*types.Transaction, len(raws))
			for i, raw := range raws {
				txs[i] = new(types.Transaction)
				if err := txs[i].UnmarshalBinary(raw); err != nil {
					return 0, err
				}
			}
		}
		exec := chain.NewExecutor(store.Config(), store, nil)
		t0 := time.Now()
		for len(txs) > 0 { // blocks of up to 5,000 transfers
			batch := txs[:min(len(txs), 5000)]
			txs = txs[len(batch):]
			head := store.Head()
			st, err := store.StateAt(head.Root)
			if err != nil {
				return 0, err
			}
			res, err := exec.Build(head, st, chain.Env{Time: head.Time + 1}, batch)
			if err != nil {
				return 0, err
			}
			if len(res.Skipped) > 0 {
				return 0, fmt.Errorf("baseline skipped %d transfers: %v", len(res.Skipped), res.Skipped[0].Err)
			}
			if err := store.Commit(res); err != nil {
				return 0, err
			}
		}
		return float64(n) / time.Since(t0).Seconds(), nil
	}
	if noSigs, err = run(false); err != nil { // senders cached by signing
		return
	}
	withSigs, err = run(true)
	return
}
