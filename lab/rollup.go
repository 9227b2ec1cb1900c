package lab

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rollup"
)

// RollupConfig configures the optimistic rollup benchmark.
type RollupConfig struct {
	Senders     int           // default 64
	Transfers   int           // transfers at full speed; default 60,000
	Clients     int           // concurrent RPC connections; default 8
	LatencyRate int           // offered transfers/s of the latency run; default 1,000
	LatencyTxs  int           // transfers of the latency run; default 5,000
	BlockTime   time.Duration // the sequencer's; default 250ms
	L1Transfers int           // transfers of the L1 run measured beside it; default 10,000; -1 skips it
	// Shuffled sends the full-speed run one transaction per request, each
	// sender's nonces out of order across connections (see L1Config).
	Shuffled bool
	Dir      string
	Out      io.Writer
	Log      *slog.Logger
}

// RollupResult is what the rollup benchmark measured.
type RollupResult struct {
	Transfers  int
	TPS        float64       // soft-confirmed transfers/s at full speed
	Elapsed    time.Duration // first send to last commit
	Blocks     int
	BlockTime  time.Duration
	LatencyP50 time.Duration // send to durable block, at LatencyRate
	LatencyP99 time.Duration
	LatencyAt  int // offered transfers/s of the latency run
	// Refused by eth_sendRawTransaction, and accepted but never committed,
	// over both runs.
	Refused, Lost int
	FirstRefusal  string
	// Batches on L1.
	L1Bytes      uint64  // calldata the batcher got included
	L1BytesPerTx float64 // per transfer
	L1Txs        uint64  // batcher transactions
	// The verifier deriving the same blocks from L1 afterwards.
	VerifierTPS    float64
	VerifierAgrees bool
	// Baselines from the same run.
	BaselineTPS    float64 // go-ethereum's block processing, senders recovered
	BaselineNoSigs float64
	L1             *L1Result // nil when skipped
}

// RunRollup measures the optimistic rollup: transfers through the
// sequencer's JSON-RPC at full speed and at a fixed rate, the L1 data its
// batcher posts, and a verifier deriving the chain from L1; beside it,
// go-ethereum's block processing and the L1 benchmark, in the same run.
func RunRollup(ctx context.Context, cfg RollupConfig) (*RollupResult, error) {
	if cfg.Senders == 0 {
		cfg.Senders = 64
	}
	if cfg.Transfers == 0 {
		cfg.Transfers = 60_000
	}
	if cfg.Clients == 0 {
		cfg.Clients = 8
	}
	if cfg.LatencyRate == 0 {
		cfg.LatencyRate = 1_000
	}
	if cfg.LatencyTxs == 0 {
		cfg.LatencyTxs = 5_000
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = rollup.DefaultBlockTime
	}
	if cfg.L1Transfers == 0 {
		cfg.L1Transfers = 10_000
	}
	cfg.Out, cfg.Log = outputs(cfg.Out, cfg.Log)
	dir, cleanup, err := workDir(cfg.Dir, "cairn-lab-rollup-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	keys, alloc := benchAccounts(cfg.Senders)
	batcherKey := rollup.BatcherKey()
	l1Alloc := types.GenesisAlloc{crypto.PubkeyToAddress(batcherKey.PublicKey): {Balance: new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))}}
	l2Genesis := rollup.DevGenesis(0)
	l2Genesis.GasLimit = 200_000_000
	for a, acc := range alloc {
		l2Genesis.Alloc[a] = acc
	}
	l1Alloc[rollup.PortalAddress] = rollup.PortalBacking(&l2Genesis)
	proofs, err := rollup.DevL1Params(&l2Genesis, crypto.PubkeyToAddress(batcherKey.PublicKey))
	if err != nil {
		return nil, err
	}
	system, err := chain.NewSystemContracts(rollup.L1Contracts(proofs)...)
	if err != nil {
		return nil, err
	}
	cl, err := l1.NewCluster(l1.ClusterConfig{Dir: filepath.Join(dir, "l1"), Validators: 1, Genesis: chain.Genesis{ChainID: benchChainID, Alloc: l1Alloc},
		BlockTime: 200 * time.Millisecond, System: system, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
	if err := cl.Start(); err != nil {
		return nil, err
	}
	if err := cl.WaitHeight(ctx, 1); err != nil {
		return nil, err
	}
	l1c, err := ethclient.DialContext(ctx, "http://"+cl.RPCAddr(0))
	if err != nil {
		return nil, err
	}
	defer l1c.Close()
	genesis, err := l1c.HeaderByNumber(ctx, new(big.Int))
	if err != nil {
		return nil, err
	}
	rcfg := rollup.NewDevConfig(benchChainID, genesis, crypto.PubkeyToAddress(batcherKey.PublicKey), l2Genesis, proofs)
	seq, err := rollup.StartNode(ctx, rollup.NodeConfig{Name: "sequencer", Rollup: rcfg, DataDir: filepath.Join(dir, "sequencer"), L1: l1c,
		Sequencer: true, BlockTime: cfg.BlockTime, RPCAddr: "127.0.0.1:0", Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer seq.Close()
	batcher, err := rollup.NewBatcher(rollup.BatcherConfig{Rollup: rcfg, L1: l1c, L2: seq, Key: batcherKey, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer batcher.Close()

	txs := signTransfers(keys, cfg.Transfers+cfg.LatencyTxs, rcfg.L2ChainID)
	fmt.Fprintf(cfg.Out, "rollup: sequencer (%v blocks) + batcher on a 1-validator L1; %d senders, %d transfers at full speed, %d at %d/s\n",
		cfg.BlockTime, cfg.Senders, cfg.Transfers, cfg.LatencyTxs, cfg.LatencyRate)
	opts := loadOptions{clients: cfg.Clients, settle: time.Minute}
	if cfg.Shuffled {
		shuffleNonces(txs[:cfg.Transfers], cfg.Senders)
		opts.single = true
	}
	full, err := runLoad(ctx, seq.Chain(), []string{seq.RPCURL()}, opts, txs[:cfg.Transfers])
	if err != nil {
		return nil, fmt.Errorf("full-speed run: %w", err)
	}
	res := &RollupResult{Transfers: cfg.Transfers, TPS: full.tps(), Elapsed: full.elapsed(), LatencyAt: cfg.LatencyRate}
	res.count(full)
	if err := res.complete(); err != nil {
		return res, err
	}
	res.Blocks, res.BlockTime = full.blockInterval()
	// Measure latency in steady state, once the batcher has posted the
	// full-speed run.
	if err := waitPosted(ctx, batcher, uint64(cfg.Transfers)); err != nil {
		return nil, err
	}
	paced, err := runLoad(ctx, seq.Chain(), []string{seq.RPCURL()}, loadOptions{clients: cfg.Clients, rate: cfg.LatencyRate, settle: time.Minute}, txs[cfg.Transfers:])
	if err != nil {
		return nil, fmt.Errorf("latency run: %w", err)
	}
	res.count(paced)
	if err := res.complete(); err != nil {
		return res, err
	}
	res.LatencyP50, res.LatencyP99 = paced.percentile(50), paced.percentile(99)
	// Every transfer is in a block at or below this head; the batcher posts
	// at least up to it, so the verifier must derive it, with this hash.
	head := seq.Chain().Head()

	// Wait for the batcher to post everything, then count its L1 data.
	total := uint64(len(txs))
	if err := waitPosted(ctx, batcher, total); err != nil {
		return nil, err
	}
	st := batcher.Stats()
	res.L1Bytes, res.L1Txs = st.L1Bytes, st.L1Txs
	res.L1BytesPerTx = float64(st.L1Bytes) / float64(st.L2Txs)
	batcher.Close()

	// A verifier derives the chain from L1 alone.
	t0 := time.Now()
	ver, err := rollup.StartNode(ctx, rollup.NodeConfig{Name: "verifier", Rollup: rcfg, DataDir: filepath.Join(dir, "verifier"), L1: l1c, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer ver.Close()
	for ver.Chain().Head().Number.Cmp(head.Number) < 0 {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the verifier: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.VerifierTPS = float64(total) / time.Since(t0).Seconds()
	res.VerifierAgrees = ver.Chain().GetHeaderByNumber(head.Number.Uint64()).Hash() == head.Hash()
	ver.Close()
	seq.Close()
	cl.Stop()

	fmt.Fprintf(cfg.Out, "measuring go-ethereum's block processing of the same transfers...\n")
	if res.BaselineTPS, res.BaselineNoSigs, err = baseline(chain.Genesis{ChainID: benchChainID, GasLimit: 200_000_000, Alloc: alloc}, keys, cfg.Transfers); err != nil {
		return nil, err
	}
	if cfg.L1Transfers > 0 {
		fmt.Fprintf(cfg.Out, "measuring the L1 with the same kind of load...\n")
		if res.L1, err = RunL1(ctx, L1Config{Transfers: cfg.L1Transfers, Senders: cfg.Senders, Clients: cfg.Clients, Dir: filepath.Join(dir, "l1-bench"), Log: cfg.Log}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (r *RollupResult) count(l *loadResult) {
	r.Refused += l.refused
	r.Lost += l.lost()
	if l.firstErr != nil && r.FirstRefusal == "" {
		r.FirstRefusal = l.firstErr.Error()
	}
}

// complete fails a run in which a transfer was refused or lost: the
// measurements after it need every transfer in.
func (r *RollupResult) complete() error {
	if r.Refused+r.Lost > 0 {
		return fmt.Errorf("%d transfers refused, %d lost (first refusal: %s)", r.Refused, r.Lost, r.FirstRefusal)
	}
	return nil
}

// Print writes the result as a small report.
func (r *RollupResult) Print(w io.Writer) {
	fmt.Fprintf(w, "optimistic rollup, %d transfers through the sequencer's JSON-RPC in %v\n", r.Transfers, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  L2 sustained:              %8.0f transfers/s (soft-confirmed: in a durable block)\n", r.TPS)
	fmt.Fprintf(w, "  refused, lost:             %d, %d%s\n", r.Refused, r.Lost, refusalNote(r.FirstRefusal))
	fmt.Fprintf(w, "  block time:                %v over %d blocks\n", r.BlockTime.Round(time.Millisecond), r.Blocks)
	fmt.Fprintf(w, "  soft confirmation:         p50 %v, p99 %v at %d transfers/s\n", r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond), r.LatencyAt)
	fmt.Fprintf(w, "  L1 data:                   %.1f bytes per transfer (%d bytes in %d batcher transactions)\n", r.L1BytesPerTx, r.L1Bytes, r.L1Txs)
	fmt.Fprintf(w, "  verifier from L1 only:     %8.0f transfers/s, agrees with the sequencer: %v\n", r.VerifierTPS, r.VerifierAgrees)
	fmt.Fprintf(w, "  geth block processing:     %8.0f transfers/s (with sender recovery), %.0f/s without\n", r.BaselineTPS, r.BaselineNoSigs)
	fmt.Fprintf(w, "  ratio L2 / geth:           %.2f\n", r.TPS/r.BaselineTPS)
	if r.L1 != nil {
		fmt.Fprintf(w, "  L1 (%d validators):        %8.0f transfers/s, inclusion p50 %v p99 %v\n", 4, r.L1.TPS, r.L1.LatencyP50.Round(time.Millisecond), r.L1.LatencyP99.Round(time.Millisecond))
		fmt.Fprintf(w, "  ratio L2 / L1:             %.2f\n", r.TPS/r.L1.TPS)
	}
}

// waitPosted waits until the batcher has posted n L2 transactions.
func waitPosted(ctx context.Context, b *rollup.Batcher, n uint64) error {
	for b.Stats().L2Txs < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the batcher: %w (%d of %d posted)", ctx.Err(), b.Stats().L2Txs, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
