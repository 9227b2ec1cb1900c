package lab

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/rollup/node"
)

// RollupConfig configures the optimistic rollup benchmark.
type RollupConfig struct {
	Senders     int           // default 64
	Transfers   int           // transfers at full speed; default 60,000
	Clients     int           // concurrent RPC connections; default 8
	LatencyRate int           // offered transfers/s of the latency run; default 1,000
	LatencyTxs  int           // transfers of the latency run; default 5,000
	BlockTime   time.Duration // the sequencer's longest gap between blocks; default 250ms
	// MinBlockGap makes the sequencer build blocks on demand, at most one
	// per gap; default rollup.DefaultMinBlockGap, -1 for fixed blocks.
	MinBlockGap time.Duration
	// LoneTxs is how many transfers are sent one at a time to an idle chain
	// (each a pause after the last's receipt), and as many back to back
	// (each at once after the last's receipt, as a test suite sends); default 50.
	LoneTxs     int
	L1Transfers int // transfers of the L1 run measured beside it; default 10,000; -1 skips it
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
	BlockTime  time.Duration // mean interval of the full-speed run
	BlockTime0 time.Duration // the configured longest gap
	LatencyP50 time.Duration // send to durable block, at LatencyRate
	LatencyP99 time.Duration
	LatencyAt  int // offered transfers/s of the latency run
	// LoneP50 and LoneP99 time a lone transfer on an idle chain from
	// eth_sendRawTransaction to its receipt, polled every 2 ms; SeqP50 and
	// SeqP99 the same for transfers sent back to back.
	LoneP50, LoneP99 time.Duration
	SeqP50, SeqP99   time.Duration
	MinBlockGap      time.Duration
	// The same paced and lone runs on a sequencer with fixed blocks of
	// BlockTime, in the same run, and the compressed batch bytes per
	// transfer of each's paced run.
	Fixed             *ConfirmFigures
	PacedL1BytesPerTx float64
	PacedBlocks       int
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
	cfg.Senders = cmp.Or(cfg.Senders, 64)
	cfg.Transfers = cmp.Or(cfg.Transfers, 60_000)
	cfg.Clients = cmp.Or(cfg.Clients, 8)
	cfg.LatencyRate = cmp.Or(cfg.LatencyRate, 1_000)
	cfg.LatencyTxs = cmp.Or(cfg.LatencyTxs, 5_000)
	cfg.BlockTime = cmp.Or(cfg.BlockTime, rollup.DefaultBlockTime)
	cfg.MinBlockGap = cmp.Or(cfg.MinBlockGap, rollup.DefaultMinBlockGap)
	cfg.MinBlockGap = max(cfg.MinBlockGap, 0)
	cfg.LoneTxs = cmp.Or(cfg.LoneTxs, 50)
	cfg.L1Transfers = cmp.Or(cfg.L1Transfers, 10_000)
	cfg.Out, cfg.Log = outputs(cfg.Out, cfg.Log)
	dir, cleanup, err := workDir(cfg.Dir, "cairn-lab-rollup-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	keys, alloc := benchAccounts(cfg.Senders + 1)
	loneKey := keys[cfg.Senders] // the lone transfers' sender, apart from the load
	keys = keys[:cfg.Senders]
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
	cl, err := startCluster(ctx, l1.ClusterConfig{Dir: filepath.Join(dir, "l1"), Validators: 1, Genesis: chain.Genesis{ChainID: benchChainID, Alloc: l1Alloc},
		BlockTime: 200 * time.Millisecond, System: system, Log: cfg.Log}, 1)
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
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
	seq, err := node.Start(ctx, node.Config{Name: "sequencer", Rollup: rcfg, DataDir: filepath.Join(dir, "sequencer"), L1: l1c,
		Sequencer: true, BlockTime: cfg.BlockTime, MinBlockGap: cfg.MinBlockGap, RPCAddr: "127.0.0.1:0", Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer seq.Close()
	batcher, err := batcher.New(batcher.Config{Rollup: rcfg, L1: l1c, L2: seq, Key: batcherKey, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer batcher.Close()

	txs := signTransfers(keys, cfg.Transfers+cfg.LatencyTxs, rcfg.L2ChainID)
	fmt.Fprintf(cfg.Out, "rollup: sequencer (%s) + batcher on a 1-validator L1; %d senders, %d transfers at full speed, %d at %d/s, %d alone\n",
		blockMode(cfg.BlockTime, cfg.MinBlockGap), cfg.Senders, cfg.Transfers, cfg.LatencyTxs, cfg.LatencyRate, cfg.LoneTxs)
	opts := loadOptions{clients: cfg.Clients, settle: time.Minute}
	if cfg.Shuffled {
		shuffleNonces(txs[:cfg.Transfers], cfg.Senders)
		opts.batch = 1
	}
	full, err := runLoad(ctx, seq.Chain(), []string{seq.RPCURL()}, opts, txs[:cfg.Transfers])
	if err != nil {
		return nil, fmt.Errorf("full-speed run: %w", err)
	}
	res := &RollupResult{Transfers: cfg.Transfers, TPS: full.tps(), Elapsed: full.elapsed(), LatencyAt: cfg.LatencyRate, MinBlockGap: cfg.MinBlockGap, BlockTime0: cfg.BlockTime}
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
	figs, err := confirmations(ctx, seq, cfg, txs[cfg.Transfers:], loneKey)
	if err != nil {
		return nil, err
	}
	res.Refused, res.Lost = res.Refused+figs.refused, res.Lost+figs.lost
	if err := res.complete(); err != nil {
		return res, err
	}
	res.LatencyP50, res.LatencyP99, res.LoneP50, res.LoneP99 = figs.PacedP50, figs.PacedP99, figs.LoneP50, figs.LoneP99
	res.SeqP50, res.SeqP99 = figs.SeqP50, figs.SeqP99
	res.PacedL1BytesPerTx, res.PacedBlocks = figs.L1BytesPerTx, figs.Blocks
	// Every transfer is in a block at or below this head; the batcher posts
	// at least up to it, so the verifier must derive it, with this hash.
	head := seq.Chain().Head()

	// Wait for the batcher to post everything, then count its L1 data.
	total := uint64(len(txs) + 2*cfg.LoneTxs)
	if err := waitPosted(ctx, batcher, total); err != nil {
		return nil, err
	}
	// And until L1 holds the head: the sequencer's own derivation has made
	// it safe.
	for seq.SafeHead().Number.Cmp(head.Number) < 0 {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for the sequencer's head to be safe: %w", err)
		}
	}
	st := batcher.Stats()
	res.L1Bytes, res.L1Txs = st.L1Bytes, st.L1Txs
	res.L1BytesPerTx = float64(st.L1Bytes) / float64(st.L2Txs)
	batcher.Close()

	// A verifier derives the chain from L1 alone.
	t0 := time.Now()
	ver, err := node.Start(ctx, node.Config{Name: "verifier", Rollup: rcfg, DataDir: filepath.Join(dir, "verifier"), L1: l1c, Log: cfg.Log})
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

	// The baseline: the same paced and lone runs on a sequencer with fixed
	// blocks, from the same genesis (its blocks are never posted).
	if cfg.MinBlockGap > 0 {
		fmt.Fprintf(cfg.Out, "the same confirmations with fixed %v blocks...\n", cfg.BlockTime)
		// Its own rollup, which no batcher posts and whose window never
		// closes: derivation leaves its unsafe blocks alone.
		alone := *rcfg
		alone.Batcher, alone.SeqWindow, alone.Proofs = common.Address{0xde, 0xad}, 1<<30, rollup.L1Params{}
		fixed, err := node.Start(ctx, node.Config{Name: "sequencer-fixed", Rollup: &alone, DataDir: filepath.Join(dir, "sequencer-fixed"), L1: l1c,
			Sequencer: true, BlockTime: cfg.BlockTime, RPCAddr: "127.0.0.1:0", Log: cfg.Log})
		if err != nil {
			return nil, err
		}
		res.Fixed, err = confirmations(ctx, fixed, cfg, signTransfers(keys, cfg.LatencyTxs, rcfg.L2ChainID), loneKey)
		fixed.Close()
		if err != nil {
			return nil, fmt.Errorf("fixed blocks: %w", err)
		}
		if res.Fixed.refused+res.Fixed.lost > 0 {
			return nil, fmt.Errorf("fixed blocks: %d refused, %d lost", res.Fixed.refused, res.Fixed.lost)
		}
	}
	cl.Stop()

	fmt.Fprintf(cfg.Out, "measuring go-ethereum's block processing of the same transfers...\n")
	if res.BaselineTPS, res.BaselineNoSigs, err = baseline(chain.Genesis{ChainID: benchChainID, GasLimit: 200_000_000, Alloc: alloc}, keys, cfg.Transfers); err != nil {
		return nil, err
	}
	if cfg.L1Transfers > 0 {
		fmt.Fprintf(cfg.Out, "measuring the L1 with the same kind of load...\n")
		if res.L1, err = RunL1(ctx, L1Config{Transfers: cfg.L1Transfers, Senders: cfg.Senders, Clients: cfg.Clients, Batch: rpcBatch, LoneTxs: -1, Anvil: "-", Dir: filepath.Join(dir, "l1-bench"), Log: cfg.Log}); err != nil {
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

// ConfirmFigures are one sequencer's soft confirmations: at a steady rate,
// and for a lone transfer on an idle chain.
type ConfirmFigures struct {
	PacedP50, PacedP99 time.Duration
	LoneP50, LoneP99   time.Duration
	SeqP50, SeqP99     time.Duration
	Blocks             int     // blocks of the paced run
	L1BytesPerTx       float64 // compressed batch bytes per transfer of the paced run
	refused, lost      int
}

// confirmations runs the paced load (txs at cfg.LatencyRate) and then the
// lone transfers from key against a sequencer.
func confirmations(ctx context.Context, seq *node.Node, cfg RollupConfig, txs []*types.Transaction, key *ecdsa.PrivateKey) (*ConfirmFigures, error) {
	from := seq.Chain().Head().Number.Uint64() + 1
	paced, err := runLoad(ctx, seq.Chain(), []string{seq.RPCURL()}, loadOptions{clients: cfg.Clients, rate: cfg.LatencyRate, settle: time.Minute}, txs)
	if err != nil {
		return nil, fmt.Errorf("latency run: %w", err)
	}
	to := seq.Chain().Head().Number.Uint64()
	f := &ConfirmFigures{PacedP50: paced.percentile(50), PacedP99: paced.percentile(99), refused: paced.refused, lost: paced.lost(), Blocks: int(to - from + 1)}
	size, err := batchBytes(seq.Chain(), from, to, seq.Config().L2ChainID)
	if err != nil {
		return nil, err
	}
	f.L1BytesPerTx = float64(size) / float64(len(txs))
	if f.LoneP50, f.LoneP99, err = loneLatency(ctx, seq.RPCURL(), key, seq.Config().L2ChainID, 0, cfg.LoneTxs, 100*time.Millisecond); err != nil {
		return nil, fmt.Errorf("lone transfers: %w", err)
	}
	if f.SeqP50, f.SeqP99, err = loneLatency(ctx, seq.RPCURL(), key, seq.Config().L2ChainID, uint64(cfg.LoneTxs), cfg.LoneTxs, 0); err != nil {
		return nil, fmt.Errorf("back-to-back transfers: %w", err)
	}
	return f, nil
}

// batchBytes is the size of blocks from..to as one compressed span batch:
// the channel data a batcher would post for them.
func batchBytes(store *chain.Store, from, to, chainID uint64) (int, error) {
	b := &batch.Batch{}
	for n := from; n <= to; n++ {
		blk := store.BlockByNumber(n)
		if blk == nil {
			return 0, fmt.Errorf("block %d missing", n)
		}
		if n == from {
			copy(b.ParentCheck[:], blk.ParentHash().Bytes())
		}
		info, err := rollup.Origin(blk.Header())
		if err != nil {
			return 0, err
		}
		txs, err := rollup.SequencerTxs(blk)
		if err != nil {
			return 0, err
		}
		b.Blocks = append(b.Blocks, batch.Block{Number: n, Time: blk.Time(), Origin: info.Number, Txs: txs})
	}
	raw, err := batch.Encode(b, new(big.Int).SetUint64(chainID))
	if err != nil {
		return 0, err
	}
	c, err := batch.Compress(raw)
	return len(c), err
}

// loneLatency sends n transfers from key (nonces from first on) one at a
// time, each pause (and a few ms of jitter) after the last's receipt, and
// times each from eth_sendRawTransaction to its receipt, polled every 2 ms
// as a fast client would. A pause of 0 sends back to back.
func loneLatency(ctx context.Context, url string, key *ecdsa.PrivateKey, chainID, first uint64, n int, pause time.Duration) (p50, p99 time.Duration, err error) {
	c, err := gethrpc.DialContext(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	id := new(big.Int).SetUint64(chainID)
	signer := types.LatestSignerForChainID(id)
	to := common.Address{0x10, 0xe}
	var lat []time.Duration
	for i := range n {
		tx := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: id, Nonce: first + uint64(i), Gas: 21_000, To: &to, Value: big.NewInt(1),
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(1000 * params.GWei)})
		raw, _ := tx.MarshalBinary()
		if pause > 0 {
			// The chain is idle: nothing waits, no block is due.
			if err := sleep(ctx, pause+time.Duration(i%7)*3*time.Millisecond); err != nil {
				return 0, 0, err
			}
		}
		t0 := time.Now()
		var hash common.Hash
		if err := c.CallContext(ctx, &hash, "eth_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
			return 0, 0, err
		}
		for {
			var r map[string]any
			if err := c.CallContext(ctx, &r, "eth_getTransactionReceipt", hash); err != nil {
				return 0, 0, err
			}
			if r != nil {
				break
			}
			if err := sleep(ctx, 2*time.Millisecond); err != nil {
				return 0, 0, err
			}
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pick := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	return pick(50), pick(99), nil
}

func blockMode(blockTime, gap time.Duration) string {
	if gap <= 0 {
		return fmt.Sprintf("fixed %v blocks", blockTime)
	}
	return fmt.Sprintf("blocks on demand, in bursts of %d then one per %v, %v apart at most", node.BlockBurst, gap, blockTime)
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
	ms := msOf
	fmt.Fprintf(w, "  soft confirmation:         p50 %s, p99 %s at %d transfers/s (%s)\n", ms(r.LatencyP50), ms(r.LatencyP99), r.LatencyAt, blockMode(r.BlockTime0, r.MinBlockGap))
	fmt.Fprintf(w, "  lone transfer, idle chain: p50 %s, p99 %s to its receipt (polled every 2 ms)\n", ms(r.LoneP50), ms(r.LoneP99))
	fmt.Fprintf(w, "  transfers back to back:    p50 %s, p99 %s each, sent on the last one's receipt\n", ms(r.SeqP50), ms(r.SeqP99))
	if f := r.Fixed; f != nil {
		fmt.Fprintf(w, "  with fixed %v blocks:    p50 %s, p99 %s at %d transfers/s; lone p50 %s, p99 %s; back to back p50 %s, p99 %s\n",
			r.BlockTime0, ms(f.PacedP50), ms(f.PacedP99), r.LatencyAt, ms(f.LoneP50), ms(f.LoneP99), ms(f.SeqP50), ms(f.SeqP99))
		fmt.Fprintf(w, "  the paced run's batches:   %.1f bytes per transfer in %d blocks on demand, %.1f in %d fixed blocks\n", r.PacedL1BytesPerTx, r.PacedBlocks, f.L1BytesPerTx, f.Blocks)
		fmt.Fprintf(w, "  ratio p99 on demand / fixed: %.2f paced, %.2f lone\n", float64(r.LatencyP99)/float64(f.PacedP99), float64(r.LoneP99)/float64(f.LoneP99))
	}
	fmt.Fprintf(w, "  L1 data:                   %.1f bytes per transfer (%d bytes in %d batcher transactions)\n", r.L1BytesPerTx, r.L1Bytes, r.L1Txs)
	fmt.Fprintf(w, "  verifier from L1 only:     %8.0f transfers/s, agrees with the sequencer: %v\n", r.VerifierTPS, r.VerifierAgrees)
	fmt.Fprintf(w, "  geth block processing:     %8.0f transfers/s (with sender recovery), %.0f/s without\n", r.BaselineTPS, r.BaselineNoSigs)
	fmt.Fprintf(w, "  ratio L2 / geth:           %.2f\n", r.TPS/r.BaselineTPS)
	if r.L1 != nil {
		b := r.L1.Cairn.Burst
		fmt.Fprintf(w, "  L1 (%d validators):        %8.0f transfers/s, inclusion p50 %v p99 %v\n", 4, b.TPS, b.P50.Round(time.Millisecond), b.P99.Round(time.Millisecond))
		fmt.Fprintf(w, "  ratio L2 / L1:             %.2f\n", r.TPS/b.TPS)
	}
}

// waitPosted waits until the batcher has posted n L2 transactions.
func waitPosted(ctx context.Context, b *batcher.Batcher, n uint64) error {
	for b.Stats().L2Txs < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the batcher: %w (%d of %d posted)", ctx.Err(), b.Stats().L2Txs, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
