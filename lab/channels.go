package lab

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/internal/ethtx"
)

// ChannelsConfig configures RunChannels.
type ChannelsConfig struct {
	Payments  int // direct payments of the one-pair run (default 20,000)
	Routed    int // invoices paid on each routed run (default 2,000)
	Workers   int // concurrent payers (default 64)
	LoneTrips int // sequential payments for the latency of one (default 200)
	// DisputeWindow is the adjudicator's, in L1 blocks of 20 ms (default
	// 500: long enough that no HTLC of the run nears its expiry).
	DisputeWindow uint64
	Out           io.Writer
}

// ChannelFigure is one run's measurements.
type ChannelFigure struct {
	Name             string
	Payments         int
	Elapsed          time.Duration
	PerSecond        float64
	P50, P99         time.Duration // one payment, request to durable answer
	FsyncsPerPayment float64       // over every node of the run
}

// ChannelsResult is what RunChannels measured.
type ChannelsResult struct {
	Figures []ChannelFigure
	// FsyncsPerSecond is this disk's rate of synced pebble commits one at a
	// time, measured in the same run: the bound a store that fsyncs every
	// payment could not pass.
	FsyncsPerSecond float64
	Gas             map[string]uint64
}

// RunChannels measures the channel network on this machine over loopback:
// one pair paying directly (durable, many payments in flight), the latency
// of one payment at a time, invoices paid over 2 and 3 hops, and the L1 gas
// of each adjudicator call.
func RunChannels(ctx context.Context, cfg ChannelsConfig) (*ChannelsResult, error) {
	cfg.Payments = cmp.Or(cfg.Payments, 20_000)
	cfg.Routed = cmp.Or(cfg.Routed, 2_000)
	cfg.Workers = cmp.Or(cfg.Workers, 64)
	cfg.LoneTrips = cmp.Or(cfg.LoneTrips, 200)
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	cfg.DisputeWindow = cmp.Or(cfg.DisputeWindow, 500)
	res := &ChannelsResult{Gas: map[string]uint64{}}
	var err error
	if res.FsyncsPerSecond, err = fsyncRate(500); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "disk: %.0f synced commits/s one at a time\n", res.FsyncsPerSecond)

	net, err := channels.NewNetwork(channels.NetworkOptions{Keys: []uint32{4, 5, 6, 7}, DisputeWindow: cfg.DisputeWindow, FeeBase: big.NewInt(1)})
	if err != nil {
		return nil, err
	}
	defer net.Close()
	deposit := ethWei(100)
	if _, err := net.Line(ctx, deposit, deposit); err != nil {
		return nil, err
	}
	a, b := net.Nodes[0], net.Nodes[1]
	fsyncs := func() (n uint64) {
		for _, nd := range net.Nodes {
			n += nd.Stats().Fsyncs
		}
		return n
	}

	// One pair, many payments in flight.
	f0 := fsyncs()
	fig, err := runPayments(ctx, "one pair, direct (durable)", cfg.Payments, cfg.Workers, func(int) error {
		return a.Send(ctx, b.Address(), big.NewInt(1))
	})
	if err != nil {
		return nil, err
	}
	fig.FsyncsPerPayment = float64(fsyncs()-f0) / float64(fig.Payments)
	res.add(cfg.Out, fig)

	// One payment at a time.
	f0 = fsyncs()
	fig, err = runPayments(ctx, "one pair, one at a time", cfg.LoneTrips, 1, func(int) error {
		return a.Send(ctx, b.Address(), big.NewInt(1))
	})
	if err != nil {
		return nil, err
	}
	fig.FsyncsPerPayment = float64(fsyncs()-f0) / float64(fig.Payments)
	res.add(cfg.Out, fig)

	// Routed: invoices of the node 2 or 3 hops away, made beforehand.
	for hops := 1; hops <= 3; hops++ {
		payee := net.Nodes[hops]
		if err := net.WaitFor(ctx, func() bool { return a.CanRoute(payee.Address(), big.NewInt(1000)) }); err != nil {
			return nil, err
		}
		invs := make([]*channels.Invoice, cfg.Routed)
		for i := range invs {
			if invs[i], err = payee.CreateInvoice(big.NewInt(1000), ""); err != nil {
				return nil, err
			}
		}
		f0 = fsyncs()
		fig, err := runPayments(ctx, fmt.Sprintf("invoices over %d hop(s)", hops), cfg.Routed, cfg.Workers, func(i int) error {
			_, err := a.Pay(ctx, invs[i])
			return err
		})
		if err != nil {
			return nil, err
		}
		fig.FsyncsPerPayment = float64(fsyncs()-f0) / float64(fig.Payments)
		res.add(cfg.Out, fig)
	}
	if err := measureGas(ctx, net, res.Gas); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *ChannelsResult) add(out io.Writer, f ChannelFigure) {
	r.Figures = append(r.Figures, f)
	fmt.Fprintf(out, "%-30s %6d payments in %6.2fs: %7.0f/s, p50 %6.2f ms, p99 %6.2f ms, %.3f fsyncs a payment\n",
		f.Name, f.Payments, f.Elapsed.Seconds(), f.PerSecond, ms(f.P50), ms(f.P99), f.FsyncsPerPayment)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runPayments makes n payments with workers at once and times each.
func runPayments(ctx context.Context, name string, n, workers int, pay func(i int) error) (ChannelFigure, error) {
	lat := make([]time.Duration, n)
	var next int
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := pay(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: payment %d: %w", name, i, err)
					}
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return ChannelFigure{}, firstErr
	}
	el := time.Since(start)
	slices.Sort(lat)
	return ChannelFigure{Name: name, Payments: n, Elapsed: el, PerSecond: float64(n) / el.Seconds(),
		P50: lat[n/2], P99: lat[min(n-1, n*99/100)]}, nil
}

// fsyncRate times n synced pebble commits one after the other in a
// temporary directory.
func fsyncRate(n int) (float64, error) {
	dir, err := os.MkdirTemp("", "cairn-fsync-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	for i := range n {
		if err := db.Set([]byte(fmt.Sprint(i)), make([]byte, 256), pebble.Sync); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// measureGas runs each adjudicator call once from dev accounts 8 and 9 and
// keeps its gas.
func measureGas(ctx context.Context, net *channels.Network, gas map[string]uint64) error {
	c := net.L1.Client()
	x, y := &channels.L1{Client: c, Key: chain.DevKey(8)}, &channels.L1{Client: c, Key: chain.DevKey(9)}
	// The network's L1 funds only its nodes' accounts: fund 8 and 9.
	for _, to := range []common.Address{x.Address(), y.Address()} {
		if _, err := ethtx.SendAndWait(ctx, c, chain.DevKey(7), to, ethWei(50), nil, 21_000); err != nil {
			return err
		}
	}
	wait := func(name string, tx *types.Transaction, err error) (*types.Receipt, error) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r, err := ethtx.WaitReceipt(ctx, c, tx.Hash())
		if err != nil {
			return nil, err
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return nil, fmt.Errorf("%s reverted", name)
		}
		gas[name] = r.GasUsed
		return r, nil
	}
	p := net.Params
	sign := func(s *channels.State) ([]byte, []byte) {
		sa, _ := p.Domain().Sign(s, x.Key)
		sb, _ := p.Domain().Sign(s, y.Key)
		return sa, sb
	}
	open := func(name string) (common.Hash, error) {
		tx, err := x.Open(ctx, y.Address(), ethWei(1))
		r, err := wait(name, tx, err)
		if err != nil {
			return common.Hash{}, err
		}
		id, err := channels.OpenedID(r)
		if err != nil {
			return id, err
		}
		tx, err = y.Fund(ctx, id, ethWei(1))
		_, err = wait("fund", tx, err)
		return id, err
	}
	// Open, fund and close together.
	id, err := open("open")
	if err != nil {
		return err
	}
	fin := &channels.State{Channel: id, Version: 9, BalanceA: ethWei(0.5), BalanceB: ethWei(1.5), Final: true}
	sa, sb := sign(fin)
	tx, err := x.Close(ctx, fin, sa, sb)
	if _, err := wait("cooperative close", tx, err); err != nil {
		return err
	}
	// A unilateral close with an old state, answered with a newer one.
	if id, err = open("open"); err != nil {
		return err
	}
	old := &channels.State{Channel: id, Version: 1, BalanceA: ethWei(1), BalanceB: ethWei(1)}
	newer := &channels.State{Channel: id, Version: 2, BalanceA: ethWei(0.8), BalanceB: ethWei(1.2)}
	sa, sb = sign(old)
	tx, err = x.ForceClose(ctx, old, sa, sb)
	if _, err := wait("unilateral close", tx, err); err != nil {
		return err
	}
	sa, sb = sign(newer)
	tx, err = y.Challenge(ctx, newer, sa, sb)
	if _, err := wait("challenge", tx, err); err != nil {
		return err
	}
	// An HTLC settled on L1: registered, its preimage revealed, concluded,
	// settled.
	if id, err = open("open"); err != nil {
		return err
	}
	pre := common.Hash{42}
	hs := &channels.State{Channel: id, Version: 3, BalanceA: ethWei(0.9), BalanceB: ethWei(1), HTLCs: []channels.HTLC{
		{FromA: true, Amount: ethWei(0.1), PaymentHash: sha256.Sum256(pre[:]), Expiry: net.Height() + 10_000}}}
	sa, sb = sign(hs)
	tx, err = x.ForceClose(ctx, hs, sa, sb)
	if _, err := wait("unilateral close with an HTLC", tx, err); err != nil {
		return err
	}
	tx, err = y.RevealSecret(ctx, pre)
	if _, err := wait("reveal a preimage", tx, err); err != nil {
		return err
	}
	ch, err := channels.Channel(ctx, c, id)
	if err != nil {
		return err
	}
	if err := net.WaitFor(ctx, func() bool { return net.Height() > ch.Deadline+1 }); err != nil {
		return err
	}
	tx, err = y.Conclude(ctx, id)
	if _, err := wait("conclude", tx, err); err != nil {
		return err
	}
	tx, err = y.SettleHTLC(ctx, id, 0)
	_, err = wait("settle an HTLC", tx, err)
	return err
}

// Print writes the report.
func (r *ChannelsResult) Print(w io.Writer) {
	fmt.Fprintf(w, "\nPayment channels on this machine, over loopback (4 nodes in this process, pebble with fsync):\n")
	fmt.Fprintf(w, "  %-30s %10s %10s %10s %14s\n", "run", "payments/s", "p50 ms", "p99 ms", "fsyncs/payment")
	for _, f := range r.Figures {
		fmt.Fprintf(w, "  %-30s %10.0f %10.2f %10.2f %14.3f\n", f.Name, f.PerSecond, ms(f.P50), ms(f.P99), f.FsyncsPerPayment)
	}
	if len(r.Figures) > 0 && r.FsyncsPerSecond > 0 {
		fmt.Fprintf(w, "  baseline: this disk does %.0f synced commits/s one at a time; the pair's rate is %.1f× that\n",
			r.FsyncsPerSecond, r.Figures[0].PerSecond/r.FsyncsPerSecond)
	}
	fmt.Fprintf(w, "  published (bottlepay, 8 cores, 100 workers): eclair 89/s, Core Lightning 61/s, lnd 33/s\n\n")
	fmt.Fprintf(w, "L1 gas of the adjudicator (go-nitro: deposit 46k, cooperative exit 112k, unilateral exit 195k):\n")
	names := make([]string, 0, len(r.Gas))
	for n := range r.Gas {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-32s %8d\n", n, r.Gas[n])
	}
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
