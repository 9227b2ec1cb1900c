package lab

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/rollup"
)

// DAConfig configures the data-availability benchmark.
type DAConfig struct {
	Ks      []int // square widths; default 4, 16, 64
	Samples []int // samples per light node; default 1, 2, 4, 8, 16
	Trials  int   // light nodes per (k, s); default 1,000
	// Modes are the rollup's data-availability modes whose L1 cost is
	// measured; default calldata and blobs. PerBatch transfers a batch
	// (default 1,000), Batches batches a run (default 2).
	Modes             []rollup.DA
	PerBatch, Batches int
	NoModes           bool // sampling only
	NoBlobCongestion  bool // skip the run with blob space congested
	Out               io.Writer
}

// DASampling is one (k, s) cell: measured against the formula.
type DASampling struct {
	K, S             int
	Measured, Theory float64
}

// DASquare is one square width's costs.
type DASquare struct {
	K, Bytes             int
	Extend, Reconstruct  time.Duration
	MinimalWithheld      int
	WithheldShareOfTotal float64
}

// DAResult is what the benchmark measured.
type DAResult struct {
	Trials   int
	Squares  []DASquare
	Sampling []DASampling
	Modes    []DAModeCost
}

// RunDA measures erasure-coded sampling: for each square width, the time
// to extend a full square of random data and to rebuild it from its data
// quadrant alone; then light nodes sampling a publisher that withholds the
// minimal (k+1)² block, the share of them that catch it beside the
// formula; and the L1 cost of the rollup's data in each mode (RunDAModes).
func RunDA(ctx context.Context, cfg DAConfig) (*DAResult, error) {
	if len(cfg.Ks) == 0 {
		cfg.Ks = []int{4, 16, 64}
	}
	if len(cfg.Samples) == 0 {
		cfg.Samples = []int{1, 2, 4, 8, 16}
	}
	cfg.Trials = cmp.Or(cfg.Trials, 1000)
	cfg.Out, _ = outputs(cfg.Out, nil)
	res := &DAResult{Trials: cfg.Trials}
	if !cfg.NoModes {
		if len(cfg.Modes) == 0 {
			cfg.Modes = []rollup.DA{rollup.DACalldata, rollup.DABlobs, rollup.DACommittee, rollup.DASampling}
		}
		var err error
		if res.Modes, err = RunDAModes(ctx, cfg.Modes, cmp.Or(cfg.PerBatch, 1000), cmp.Or(cfg.Batches, 2), !cfg.NoBlobCongestion, cfg.Out); err != nil {
			return nil, err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2)) // seeded: a run can be repeated
	for _, k := range cfg.Ks {
		fmt.Fprintf(cfg.Out, "square k=%d: extending, rebuilding, %d light nodes per sample count...\n", k, cfg.Trials)
		data := make([]byte, k*k*da.ShareSize)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		start := time.Now()
		sq, err := da.Extend(data, k)
		if err != nil {
			return nil, err
		}
		ext := time.Since(start)
		quarter := sq.DataQuadrant()
		start = time.Now()
		if _, err := da.Reconstruct(k, quarter, sq.RowRoots, sq.ColRoots); err != nil {
			return nil, err
		}
		res.Squares = append(res.Squares, DASquare{K: k, Bytes: len(data), Extend: ext, Reconstruct: time.Since(start),
			MinimalWithheld: (k + 1) * (k + 1), WithheldShareOfTotal: float64((k+1)*(k+1)) / float64(4*k*k)})
		srv := da.WithholdMinimal(sq)
		for _, s := range cfg.Samples {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			caught := 0
			for range cfg.Trials {
				if !da.Sample(sq.RowRoots, srv, s, rng) {
					caught++
				}
			}
			res.Sampling = append(res.Sampling, DASampling{K: k, S: s, Measured: float64(caught) / float64(cfg.Trials), Theory: da.DetectionProbability(k, s)})
		}
	}
	return res, nil
}

// Print writes the figures.
func (r *DAResult) Print(w io.Writer) {
	PrintDAModes(w, r.Modes)
	fmt.Fprintln(w, "\nerasure-coded squares (512-byte shares, 2D Reed–Solomon, SHA-256 row and column roots):")
	fmt.Fprintf(w, "  %4s  %10s  %10s  %12s  %s\n", "k", "data", "extend", "rebuild", "minimal withheld block")
	for _, s := range r.Squares {
		fmt.Fprintf(w, "  %4d  %8d B  %10s  %12s  %d shares (%.1f%% of the extended square)\n", s.K, s.Bytes, msOf(s.Extend), msOf(s.Reconstruct),
			s.MinimalWithheld, 100*s.WithheldShareOfTotal)
	}
	fmt.Fprintf(w, "\nlight nodes catching a publisher that withholds the minimal block (%d light nodes each), against 1 − ∏(1 − (k+1)²/(4k² − i)):\n", r.Trials)
	fmt.Fprintf(w, "  %4s  %8s  %9s  %9s\n", "k", "samples", "measured", "formula")
	for _, s := range r.Sampling {
		fmt.Fprintf(w, "  %4d  %8d  %8.1f%%  %8.1f%%\n", s.K, s.S, 100*s.Measured, 100*s.Theory)
	}
}
