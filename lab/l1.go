package lab

import (
	"cmp"
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

// L1Config configures the L1 benchmark.
type L1Config struct {
	Validators int           // default 4
	Senders    int           // funded accounts sending in parallel; default 64
	Transfers  int           // transfers of the burst; default 20,000
	BlockTime  time.Duration // longest time between blocks; default 200ms
	BlockGap   time.Duration // pause after each block; l1.DefaultBlockGap when 0
	Clients    int           // concurrent RPC connections; default 8
	// Batch is how many transactions the burst sends per JSON-RPC request
	// (0 or 1: one, the plain request a wallet or test suite sends).
	Batch int
	// Shuffled sends each sender's nonces out of order across connections,
	// as a wallet backend with several connections does: the load the
	// issue measured geth and Anvil with.
	Shuffled bool
	// Rates are fixed offered rates (transfers/s, one per request) run
	// after the burst, RateSeconds (default 5) each.
	Rates       []int
	RateSeconds int
	LoneTxs     int // transfers sent alone to the idle chain, then as many back to back; default 50, -1 none
	// Anvil is the anvil binary to measure the same against ("" looks on
	// the PATH, "-" skips it); AnvilBlockTime its interval mining for the
	// loads (default 250ms; lone transfers use its automine).
	Anvil          string
	AnvilBlockTime time.Duration
	Dir            string // data directory; a temporary one when empty
	Out            io.Writer
	Log            *slog.Logger // node logs; discarded when nil
}

// LoadFigures is what one load run measured.
type LoadFigures struct {
	Rate         int // offered transfers/s; 0 for the burst
	Sent         int
	Committed    int
	Refused      int    // answered with an error by eth_sendRawTransaction
	Lost         int    // accepted but not committed within a minute
	FirstRefusal string // the first refusal's error, if any
	Elapsed      time.Duration
	TPS          float64       // committed transfers per second, first send to last commit
	Intake       float64       // accepted eth_sendRawTransaction per second, first send to last answer
	P50, P99     time.Duration // send to commit
	Blocks       int
	BlockTime    time.Duration // mean interval between blocks during the run
	LongestGap   time.Duration // the longest interval between two blocks
}

// L1Run is what the workload measured on one chain.
type L1Run struct {
	// A lone transfer on the idle chain, eth_sendRawTransaction to its
	// receipt polled every 2 ms, and transfers back to back.
	LoneP50, LoneP99 time.Duration
	SeqP50, SeqP99   time.Duration
	Burst            LoadFigures
	Rates            []LoadFigures
}

// L1Result is what the benchmark measured.
type L1Result struct {
	Cairn          *L1Run
	Anvil          *L1Run // nil without anvil
	AnvilBlockTime time.Duration
	BaselineTPS    float64 // go-ethereum's block processing of the same transfers
	BaselineNoSigs float64 // the same with senders already recovered
}

const benchChainID = 31337

// RunL1 starts a multi-validator L1, sends signed transfers through validator
// RPC endpoints, and measures lone-transfer latency, committed throughput and
// inclusion latency (a burst, then fixed offered rates), then the same
// against Anvil when it is there, then go-ethereum's block processing of the
// same transfers.
func RunL1(ctx context.Context, cfg L1Config) (*L1Result, error) {
	cfg.Validators, cfg.Senders, cfg.Transfers = cmp.Or(cfg.Validators, 4), cmp.Or(cfg.Senders, 64), cmp.Or(cfg.Transfers, 20_000)
	cfg.Clients, cfg.LoneTxs, cfg.Batch = cmp.Or(cfg.Clients, 8), cmp.Or(cfg.LoneTxs, 50), cmp.Or(cfg.Batch, 1)
	cfg.BlockTime, cfg.AnvilBlockTime = cmp.Or(cfg.BlockTime, 200*time.Millisecond), cmp.Or(cfg.AnvilBlockTime, 250*time.Millisecond)
	cfg.RateSeconds = cmp.Or(cfg.RateSeconds, 5)
	cfg.Out, cfg.Log = outputs(cfg.Out, cfg.Log)
	dir, cleanup, err := workDir(cfg.Dir, "cairn-lab-l1-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	// Each run has its own senders, so every run starts at nonce 0: the
	// burst, one set per fixed rate, and the lone transfers' sender.
	w := newWorkload(cfg)
	genesis := chain.Genesis{ChainID: benchChainID, GasLimit: 200_000_000, Alloc: w.alloc}

	cl, err := startCluster(ctx, l1.ClusterConfig{Dir: dir, Validators: cfg.Validators, Genesis: genesis, BlockTime: cfg.BlockTime, BlockGap: cfg.BlockGap, Log: cfg.Log}, 2)
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
	fmt.Fprintf(cfg.Out, "L1: %d validators, %d senders, %d signed transfers, %s\n", cfg.Validators, cfg.Senders, cfg.Transfers, w.driver())

	urls := make([]string, cfg.Validators)
	for i := range urls {
		urls[i] = "http://" + cl.RPCAddr(i)
	}
	res := &L1Result{}
	if res.Cairn, err = w.run(ctx, cl.Node(0).Chain(), urls); err != nil {
		return nil, err
	}
	cl.Stop()

	if bin := findAnvil(cfg.Anvil); bin != "" {
		fmt.Fprintf(cfg.Out, "the same against Anvil (%s)...\n", bin)
		res.AnvilBlockTime = cfg.AnvilBlockTime
		if res.Anvil, err = w.runAnvil(ctx, bin, genesis.GasLimit); err != nil {
			return nil, fmt.Errorf("anvil: %w", err)
		}
	}
	fmt.Fprintf(cfg.Out, "measuring go-ethereum's block processing of the same transfers...\n")
	res.BaselineTPS, res.BaselineNoSigs, err = baseline(genesis, w.burstKeys, cfg.Transfers)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// workload is what RunL1 sends, the same to Cairn and to Anvil.
type workload struct {
	cfg       L1Config
	chainID   uint64 // of the chain its transfers are signed for
	alloc     types.GenesisAlloc
	burstKeys []*ecdsa.PrivateKey
	rateKeys  [][]*ecdsa.PrivateKey // one set per fixed rate
	loneKey   *ecdsa.PrivateKey
}

func newWorkload(cfg L1Config) *workload {
	n := cfg.Senders * (1 + len(cfg.Rates))
	keys, alloc := benchAccounts(n + 1)
	w := &workload{cfg: cfg, chainID: benchChainID, alloc: alloc, burstKeys: keys[:cfg.Senders], loneKey: keys[n]}
	for i := range cfg.Rates {
		w.rateKeys = append(w.rateKeys, keys[cfg.Senders*(i+1):cfg.Senders*(i+2)])
	}
	return w
}

func (w *workload) driver() string {
	per := "one transaction per JSON-RPC request"
	if w.cfg.Batch > 1 {
		per = fmt.Sprintf("%d transactions per JSON-RPC batch", w.cfg.Batch)
	}
	if w.cfg.Shuffled {
		per += ", each sender's nonces out of order across connections"
	}
	return fmt.Sprintf("%d connections, %s", w.cfg.Clients, per)
}

func (w *workload) addresses() []common.Address {
	var out []common.Address
	for _, a := range chain.SortedAddresses(w.alloc) {
		out = append(out, a)
	}
	return out
}

// run sends the whole workload to one chain: lone transfers to the idle
// chain, as many back to back, the burst, then each fixed rate.
func (w *workload) run(ctx context.Context, watch chainEvents, urls []string) (*L1Run, error) {
	cfg, r := w.cfg, &L1Run{}
	var err error
	if cfg.LoneTxs > 0 {
		if r.LoneP50, r.LoneP99, err = loneLatency(ctx, urls[0], w.loneKey, w.chainID, 0, cfg.LoneTxs, 300*time.Millisecond); err != nil {
			return nil, fmt.Errorf("lone transfers: %w", err)
		}
		if r.SeqP50, r.SeqP99, err = loneLatency(ctx, urls[0], w.loneKey, w.chainID, uint64(cfg.LoneTxs), cfg.LoneTxs, 0); err != nil {
			return nil, fmt.Errorf("back-to-back transfers: %w", err)
		}
	}
	opts := loadOptions{clients: cfg.Clients, batch: cfg.Batch, settle: time.Minute}
	txs := signTransfers(w.burstKeys, cfg.Transfers, w.chainID)
	if cfg.Shuffled {
		shuffleNonces(txs, cfg.Senders)
	}
	load, err := runLoad(ctx, watch, urls, opts, txs)
	if err != nil {
		return nil, err
	}
	r.Burst = loadFigures(0, load)
	for i, rate := range cfg.Rates {
		if err := sleep(ctx, time.Second); err != nil { // let the chain go idle
			return nil, err
		}
		opts := loadOptions{clients: cfg.Clients, rate: rate, settle: time.Minute}
		load, err := runLoad(ctx, watch, urls, opts, signTransfers(w.rateKeys[i], rate*cfg.RateSeconds, w.chainID))
		if err != nil {
			return nil, err
		}
		r.Rates = append(r.Rates, loadFigures(rate, load))
	}
	return r, nil
}

// runAnvil runs the workload against Anvil: the lone and back-to-back
// transfers with a block per transaction (automine, Anvil's default, what
// a test suite gets), the loads with blocks every AnvilBlockTime.
func (w *workload) runAnvil(ctx context.Context, bin string, gasLimit uint64) (*L1Run, error) {
	auto, err := startAnvil(ctx, bin, benchChainID, gasLimit, 0, w.addresses())
	if err != nil {
		return nil, err
	}
	r := &L1Run{}
	if w.cfg.LoneTxs > 0 {
		if r.LoneP50, r.LoneP99, err = loneLatency(ctx, auto.url, w.loneKey, benchChainID, 0, w.cfg.LoneTxs, 300*time.Millisecond); err == nil {
			r.SeqP50, r.SeqP99, err = loneLatency(ctx, auto.url, w.loneKey, benchChainID, uint64(w.cfg.LoneTxs), w.cfg.LoneTxs, 0)
		}
	}
	auto.stop()
	if err != nil {
		return nil, err
	}
	timed, err := startAnvil(ctx, bin, benchChainID, gasLimit, w.cfg.AnvilBlockTime, w.addresses())
	if err != nil {
		return nil, err
	}
	defer timed.stop()
	loads := *w
	loads.cfg.LoneTxs = -1
	lr, err := loads.run(ctx, rpcBlocks{timed.url}, []string{timed.url})
	if err != nil {
		return nil, err
	}
	r.Burst, r.Rates = lr.Burst, lr.Rates
	return r, nil
}

func loadFigures(rate int, load *loadResult) LoadFigures {
	f := LoadFigures{Rate: rate, Sent: load.sent, Committed: load.committed, Refused: load.refused, Lost: load.lost(),
		Elapsed: load.elapsed(), TPS: load.tps(), Intake: load.intake(), P50: load.percentile(50), P99: load.percentile(99)}
	if load.firstErr != nil {
		f.FirstRefusal = load.firstErr.Error()
	}
	f.Blocks, f.BlockTime = load.blockInterval()
	f.LongestGap = load.longestGap()
	return f
}

// Print writes the result as a small report.
func (r *L1Result) Print(w io.Writer) {
	c := r.Cairn
	fmt.Fprintln(w, "Cairn L1:")
	r.printRun(w, c)
	if a := r.Anvil; a != nil {
		fmt.Fprintf(w, "Anvil (a block per transaction for the lone transfers, every %v for the loads):\n", r.AnvilBlockTime)
		r.printRun(w, a)
		fmt.Fprintln(w, "Cairn / Anvil:")
		if c.LoneP99 > 0 && a.LoneP99 > 0 {
			fmt.Fprintf(w, "  lone transfer p99:         %.2f× Anvil's latency\n", float64(c.LoneP99)/float64(a.LoneP99))
			fmt.Fprintf(w, "  back to back p50:          %.2f× Anvil's latency\n", float64(c.SeqP50)/float64(a.SeqP50))
		}
		fmt.Fprintf(w, "  sustained:                 %.2f× Anvil's rate\n", c.Burst.TPS/a.Burst.TPS)
		fmt.Fprintf(w, "  intake:                    %.2f× Anvil's rate\n", c.Burst.Intake/a.Burst.Intake)
	}
	fmt.Fprintf(w, "geth block processing:       %8.0f transfers/s (with sender recovery), %.0f/s without\n", r.BaselineTPS, r.BaselineNoSigs)
	fmt.Fprintf(w, "ratio Cairn L1 / geth:       %.2f\n", c.Burst.TPS/r.BaselineTPS)
}

func (r *L1Result) printRun(w io.Writer, run *L1Run) {
	if run.LoneP99 > 0 {
		fmt.Fprintf(w, "  lone transfer, idle chain: p50 %s, p99 %s to its receipt (polled every 2 ms)\n", msOf(run.LoneP50), msOf(run.LoneP99))
		fmt.Fprintf(w, "  transfers back to back:    p50 %s, p99 %s each, sent on the last one's receipt\n", msOf(run.SeqP50), msOf(run.SeqP99))
	}
	for _, f := range append([]LoadFigures{run.Burst}, run.Rates...) {
		what := fmt.Sprintf("burst of %d", f.Sent)
		if f.Rate > 0 {
			what = fmt.Sprintf("%d/s offered", f.Rate)
		}
		fmt.Fprintf(w, "  %-25s  %6.0f/s committed, intake %6.0f/s, inclusion p50 %v p99 %v, %d blocks %v apart (at most %v)%s\n",
			what+":", f.TPS, f.Intake, f.P50.Round(time.Millisecond), f.P99.Round(time.Millisecond), f.Blocks, f.BlockTime.Round(time.Millisecond), f.LongestGap.Round(time.Millisecond), lossNote(f))
	}
}

func lossNote(f LoadFigures) string {
	if f.Refused+f.Lost == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d refused, %d lost%s)", f.Refused, f.Lost, refusalNote(f.FirstRefusal))
}

func msOf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func refusalNote(first string) string {
	if first == "" {
		return ""
	}
	return ": " + first
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

// startCluster starts an L1 of cfg and waits until every node reaches
// height; on an error nothing is left running.
func startCluster(ctx context.Context, cfg l1.ClusterConfig, height uint64) (*l1.Cluster, error) {
	cl, err := l1.NewCluster(cfg)
	if err != nil {
		return nil, err
	}
	if err := cl.Start(); err != nil {
		cl.Stop()
		return nil, err
	}
	if err := cl.WaitHeight(ctx, height); err != nil {
		cl.Stop()
		return nil, err
	}
	return cl, nil
}
