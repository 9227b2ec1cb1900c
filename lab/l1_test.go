package lab

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkL1 runs the full-size L1 benchmark and prints its report:
//
//	go test ./lab -run '^$' -bench L1 -benchtime 1x
func BenchmarkL1(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err := RunL1(ctx, L1Config{Out: os.Stdout})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		res.Print(os.Stdout)
		b.ReportMetric(res.Cairn.Burst.TPS, "transfers/s")
		b.ReportMetric(res.Cairn.Burst.TPS/res.BaselineTPS, "ratio-vs-geth")
	}
}

// A small run checks the benchmark itself, under the load wallets and bots
// send: one transaction per request over many connections, each sender's
// nonces arriving out of order. As with geth and Anvil, none is refused and
// none is lost, and the figures are consistent.
func TestL1BenchmarkSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunL1(ctx, L1Config{Validators: 4, Senders: 32, Transfers: 1024, Clients: 16, Shuffled: true, LoneTxs: 3,
		Rates: []int{200}, RateSeconds: 1, BlockTime: 100 * time.Millisecond, Anvil: "-"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cairn
	for _, f := range append([]LoadFigures{c.Burst}, c.Rates...) {
		if f.Refused != 0 || f.Lost != 0 {
			t.Fatalf("%d/s: %d refused, %d lost; first refusal: %s", f.Rate, f.Refused, f.Lost, f.FirstRefusal)
		}
		if f.Committed != f.Sent || f.TPS <= 0 || f.Intake <= 0 || f.P99 < f.P50 {
			t.Fatalf("inconsistent figures: %+v", f)
		}
	}
	if len(c.Rates) != 1 || c.Rates[0].Sent != 200 || c.LoneP99 < c.LoneP50 || c.SeqP99 < c.SeqP50 || res.BaselineTPS <= 0 {
		t.Fatalf("inconsistent result: %+v", c)
	}
}

// BenchmarkRollup runs the full-size rollup benchmark and prints its report:
//
//	go test ./lab -run '^$' -bench Rollup -benchtime 1x
func BenchmarkRollup(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		res, err := RunRollup(ctx, RollupConfig{Out: os.Stdout})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		res.Print(os.Stdout)
		b.ReportMetric(res.TPS, "transfers/s")
		b.ReportMetric(res.TPS/res.BaselineTPS, "ratio-vs-geth")
		b.ReportMetric(res.L1BytesPerTx, "L1-bytes/transfer")
	}
}

// A small run checks the rollup benchmark: under shuffled nonces over many
// connections nothing is refused or lost, and everything commits, is posted
// and derived identically.
func TestRollupBenchmarkSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunRollup(ctx, RollupConfig{Senders: 32, Transfers: 1024, Clients: 16, Shuffled: true, LatencyTxs: 100, LatencyRate: 200, LoneTxs: 5, L1Transfers: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.TPS <= 0 || res.LatencyP99 < res.LatencyP50 || res.LoneP99 < res.LoneP50 || res.SeqP99 < res.SeqP50 || res.L1BytesPerTx <= 0 || !res.VerifierAgrees || res.BaselineTPS <= 0 ||
		res.Fixed == nil || res.Fixed.PacedP99 < res.Fixed.PacedP50 || res.Fixed.L1BytesPerTx <= 0 || res.PacedBlocks <= 0 {
		t.Fatalf("inconsistent result: %+v", res)
	}
}

// Every attack ends as the security model promises.
func TestAttacks(t *testing.T) {
	for _, name := range AttackNames() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out strings.Builder
			if err := Attacks[name].Run(ctx, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "outcome as promised") {
				t.Fatalf("no outcome line:\n%s", out.String())
			}
		})
	}
}
