package lab

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/sidechain"
)

// SidechainConfig configures the sidechain benchmark.
type SidechainConfig struct {
	Transfers int // of each chain's burst; default 5,000
	Senders   int // default 32
	LoneTxs   int // lone transfers on each idle chain; default 30
	Crossings int // deposits and withdrawals timed per bridge; default 5
	// WithdrawalDelay is the light-client bridge's delay in this run
	// (default 3 s, above the 2 s clock drift; the devnet's is 30 s): a light withdrawal's latency
	// includes it.
	WithdrawalDelay time.Duration
	// Validators are the light-client update sizes measured; default 4,
	// 16, 64, 128.
	Validators []int
	Out        io.Writer
	Log        *slog.Logger
}

// Crossing is one bridge's timed deposits and withdrawals.
type Crossing struct {
	Bridge                   string
	DepositP50, DepositMax   time.Duration // L1 send → spendable on the sidechain
	WithdrawP50, WithdrawMax time.Duration // sidechain send → paid on L1
}

// SidechainResult is what the benchmark measured.
type SidechainResult struct {
	L1, Side        *L1Run
	SideBlockTime   time.Duration
	WithdrawalDelay time.Duration
	Bridges         []Crossing
	Updates         []sidechain.UpdateCost
}

// RunSidechain starts the devnet's L1 and sidechain (4 validators each)
// with both bridges and their relayers, and measures: transfers/s and
// confirmation latency on each chain, one after the other with the same
// workload; deposit and withdrawal latency over each bridge; and the light
// client's update gas and time by validator count.
func RunSidechain(ctx context.Context, cfg SidechainConfig) (*SidechainResult, error) {
	cfg.Transfers, cfg.Senders, cfg.LoneTxs = cmp.Or(cfg.Transfers, 5_000), cmp.Or(cfg.Senders, 32), cmp.Or(cfg.LoneTxs, 30)
	cfg.Crossings, cfg.WithdrawalDelay = cmp.Or(cfg.Crossings, 5), cmp.Or(cfg.WithdrawalDelay, 3*time.Second)
	if len(cfg.Validators) == 0 {
		cfg.Validators = []int{4, 16, 64, 128}
	}
	cfg.Out, cfg.Log = outputs(cfg.Out, cfg.Log)
	l1w := newWorkload(L1Config{Senders: cfg.Senders, Transfers: cfg.Transfers, Clients: 8, LoneTxs: cfg.LoneTxs})
	sidew := newWorkload(L1Config{Senders: cfg.Senders, Transfers: cfg.Transfers, Clients: 8, LoneTxs: cfg.LoneTxs})
	alloc := types.GenesisAlloc{}
	for _, w := range []*workload{l1w, sidew} {
		for a, acct := range w.alloc {
			alloc[a] = acct
		}
	}
	l1w.chainID, sidew.chainID = devnet.DefaultL1ChainID, devnet.DefaultSidechainID
	d, err := devnet.Start(devnet.Config{Validators: 4, GasLimit: 200_000_000, Alloc: alloc, Log: cfg.Log, ExplorerPort: -1,
		Rollup: devnet.RollupOptions{RPCPort: -1}, ZK: devnet.ZKOptions{RPCPort: -1}, Channels: devnet.ChannelsOptions{RPCPort: -1},
		Sidechain: devnet.SidechainOptions{Validators: 4, WithdrawalDelay: cfg.WithdrawalDelay}})
	if err != nil {
		return nil, err
	}
	defer d.Stop()
	res := &SidechainResult{SideBlockTime: devnet.DefaultSidechainBlock, WithdrawalDelay: cfg.WithdrawalDelay}
	fmt.Fprintf(cfg.Out, "sidechain: the devnet's L1 and sidechain, 4 validators each; %d senders, bursts of %d transfers, %s\n",
		cfg.Senders, cfg.Transfers, l1w.driver())
	urls := func(n int, url func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = url(i)
		}
		return out
	}
	fmt.Fprintln(cfg.Out, "the L1...")
	if res.L1, err = l1w.run(ctx, d.L1.Node(0).Chain(), urls(d.L1.Size(), d.L1RPC)); err != nil {
		return nil, fmt.Errorf("L1: %w", err)
	}
	fmt.Fprintln(cfg.Out, "the sidechain...")
	sc := d.Sidechain
	if res.Side, err = sidew.run(ctx, sc.Cluster.Node(0).Chain(), urls(sc.Cluster.Size(), sc.RPC)); err != nil {
		return nil, fmt.Errorf("sidechain: %w", err)
	}
	l1c, err := ethclient.DialContext(ctx, d.L1RPC(0))
	if err != nil {
		return nil, err
	}
	defer l1c.Close()
	sidec, err := ethclient.DialContext(ctx, sc.RPC(0))
	if err != nil {
		return nil, err
	}
	defer sidec.Close()
	for _, bridge := range []string{"light", "multisig"} {
		fmt.Fprintf(cfg.Out, "%d crossings each way over the %s bridge...\n", cfg.Crossings, bridge)
		c, err := timeCrossings(ctx, l1c, sidec, bridge, cfg.Crossings)
		if err != nil {
			return nil, fmt.Errorf("%s bridge: %w", bridge, err)
		}
		res.Bridges = append(res.Bridges, c)
	}
	d.Stop()
	fmt.Fprintln(cfg.Out, "light-client updates by validator count...")
	for _, n := range cfg.Validators {
		u, err := sidechain.MeasureUpdate(n, 5)
		if err != nil {
			return nil, err
		}
		res.Updates = append(res.Updates, u)
	}
	return res, nil
}

// timeCrossings sends n deposits then n withdrawals over a bridge, each to
// a fresh address, one at a time, timing each until the other chain has
// credited it.
func timeCrossings(ctx context.Context, l1c, sidec *ethclient.Client, bridge string, n int) (Crossing, error) {
	key := chain.DevKey(6)
	out := Crossing{Bridge: bridge}
	var deps, wds []time.Duration
	for i := range 2 * n {
		deposit := i < n
		to := crypto.PubkeyToAddress(freshKey().PublicKey)
		// Withdrawals smaller than deposits: the L1 halves pay only from
		// what was locked in them.
		amount := big.NewInt(1e15 + int64(i))
		if !deposit {
			amount = big.NewInt(1e14 + int64(i))
		}
		start := time.Now()
		var err error
		switch {
		case deposit && bridge == "light":
			_, err = sidechain.LightDeposit(ctx, l1c, key, to, amount)
		case deposit:
			_, err = sidechain.Deposit(ctx, l1c, key, to, amount)
		case bridge == "light":
			_, err = sidechain.LightWithdraw(ctx, sidec, key, to, amount)
		default:
			_, err = sidechain.Withdraw(ctx, sidec, key, to, amount)
		}
		if err != nil {
			return out, err
		}
		dst := sidec
		if !deposit {
			dst = l1c
		}
		if err := waitBalance(ctx, dst, to, amount); err != nil {
			return out, err
		}
		if deposit {
			deps = append(deps, time.Since(start))
		} else {
			wds = append(wds, time.Since(start))
		}
	}
	slices.Sort(deps)
	slices.Sort(wds)
	out.DepositP50, out.DepositMax = deps[len(deps)/2], deps[len(deps)-1]
	out.WithdrawP50, out.WithdrawMax = wds[len(wds)/2], wds[len(wds)-1]
	return out, nil
}

func freshKey() *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		panic(err) // the system's randomness failed
	}
	return k
}

// waitBalance polls every 5 ms until a holds want.
func waitBalance(ctx context.Context, c *ethclient.Client, a common.Address, want *big.Int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		b, err := c.BalanceAt(ctx, a, nil)
		if err == nil && b.Cmp(want) >= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never received %s wei: %w", a, want, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Print writes the figures.
func (r *SidechainResult) Print(w io.Writer) {
	fmt.Fprintln(w, "\nL1 (4 validators, blocks on demand, 200 ms apart when idle):")
	(&L1Result{}).printRun(w, r.L1)
	fmt.Fprintf(w, "sidechain (4 validators of its own, blocks on demand, %s apart when idle):\n", r.SideBlockTime)
	(&L1Result{}).printRun(w, r.Side)
	if r.L1.Burst.TPS > 0 {
		fmt.Fprintf(w, "  sidechain/L1 committed transfers/s: %.2fx (same workload, same run)\n", r.Side.Burst.TPS/r.L1.Burst.TPS)
	}
	fmt.Fprintln(w, "\nbridges (one crossing at a time, each to a fresh address, until it is spendable on the other chain):")
	for _, c := range r.Bridges {
		note := ""
		if c.Bridge == "light" {
			note = fmt.Sprintf(" (the %s withdrawal delay included, counted in whole seconds of L1 block time)", r.WithdrawalDelay)
		}
		fmt.Fprintf(w, "  %-8s deposit L1 → sidechain: p50 %s, max %s;  withdrawal sidechain → L1: p50 %s, max %s%s\n",
			c.Bridge, msOf(c.DepositP50), msOf(c.DepositMax), msOf(c.WithdrawP50), msOf(c.WithdrawMax), note)
	}
	fmt.Fprintln(w, "\nlight-client update (every validator signing; transaction gas, calldata included):")
	fmt.Fprintf(w, "  %10s  %14s  %9s  %14s  %9s  %8s  %s\n", "validators", "adjacent gas", "time", "skipping gas", "time", "bytes", "Solidity, skipping (published)")
	for _, u := range r.Updates {
		fmt.Fprintf(w, "  %10d  %14d  %9s  %14d  %9s  %8d  > %d (ed25519 alone: %d)\n", u.Validators, u.AdjacentGas, msOf(u.Adjacent),
			u.SkippingGas, msOf(u.Skipping), u.CalldataBytes, sidechain.SolidityNonAdjacentGas, sidechain.SolidityEd25519GasEach*2*u.Validators/3)
	}
}
