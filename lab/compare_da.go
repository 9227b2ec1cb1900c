package lab

import (
	"context"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/cairn-dev/cairn/rollup"
)

// The comparison's data-availability rows: the optimistic rollup's data in
// each mode, measured by RunDAModes on a rollup of its own (a hand-mined
// L1, so the congestion is the run's own), idle and with the L1 base fee
// driven up.

var daModes = []rollup.DA{rollup.DACalldata, rollup.DABlobs, rollup.DACommittee, rollup.DASampling}

// daTrust is what each mode trusts for availability.
var daTrust = map[rollup.DA]string{
	rollup.DACalldata:  "the L1, forever",
	rollup.DABlobs:     "the L1's validators, for the ~18-day retention window",
	rollup.DACommittee: "one honest signer among the committee's 4 of 5 (all colluding: cairn lab attack withhold-data steals)",
	rollup.DASampling:  "one honest storage node; light nodes detect withholding by sampling",
}

func (r *compareRun) dataAvailability(ctx context.Context) error {
	perBatch := 1000
	if r.cfg.Quick {
		perBatch = 200
	}
	cs, err := RunDAModes(ctx, daModes, perBatch, 1, false, io.Discard)
	if err != nil {
		return err
	}
	const group = "data availability"
	r.report.DA = cs
	calldata := cs[0]
	for _, c := range cs {
		how := fmt.Sprintf("cairn lab da: %d transfers to random recipients in one batch posted by a rollup of its own on a hand-mined L1, the batcher's receipts read: %d L1 transactions, %d blobs, %.1f L1 gas a transfer; trusts %s",
			c.Transfers, c.L1Txs, c.Blobs, c.PerTransfer(float64(c.Gas)), daTrust[c.Mode])
		r.report.set(group, "L1 bytes per transfer, data in "+string(c.Mode), LayerOptimistic, Cell{Value: c.PerTransfer(float64(c.Bytes)), Unit: "B", Kind: Measured, Method: how + " (whole blobs counted)"})
		r.report.set(group, "L1 fee per transfer, data in "+string(c.Mode)+", L1 congested", LayerOptimistic, Cell{Value: c.PerTransfer(gweiF(c.Congest)), Unit: "gwei", Kind: Measured,
			Method: fmt.Sprintf("the same posts after blocks of gas burning drove the L1 base fee up %.1f×: execution gas plus blob gas at the L1's prices; %.1f× cheaper than calldata", c.Congestx, ratio(calldata.Congest, c.Congest))})
		for _, l := range CompareLayers {
			if l.Key != LayerOptimistic {
				r.report.notApply(group, "L1 bytes per transfer, data in "+string(c.Mode), l.Key, "the modes are the optimistic rollup's (the ZK rollup posts calldata, 16 bytes a transfer)")
				r.report.notApply(group, "L1 fee per transfer, data in "+string(c.Mode)+", L1 congested", l.Key, "the modes are the optimistic rollup's")
			}
		}
	}
	return nil
}

// daPlot draws each mode's L1 bytes and congested fee per transfer.
func (r *Report) daPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "The optimistic rollup's data by mode, per transfer (log)"
	p.Y.Label.Text = "value (log)"
	width := vg.Points(18)
	var names []string
	series := []struct {
		name string
		get  func(c *DAModeCost) float64
	}{
		{"L1 bytes", func(c *DAModeCost) float64 { return c.PerTransfer(float64(c.Bytes)) }},
		{"fee, L1 congested (gwei)", func(c *DAModeCost) float64 { return c.PerTransfer(gweiF(c.Congest)) }},
	}
	for _, c := range r.DA {
		names = append(names, string(c.Mode))
	}
	const floor = 0.01
	top := 1.0
	for s, se := range series {
		vals := make(plotter.Values, len(r.DA))
		for i := range r.DA {
			if v := se.get(&r.DA[i]); v > floor {
				vals[i] = math.Log10(v / floor)
			}
			top = max(top, vals[i])
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(s)
		bars.Offset = width * vg.Length(float64(s)-0.5)
		p.Add(bars)
		p.Legend.Add(se.name, bars)
	}
	p.Y.Min, p.Y.Max = 0, math.Ceil(top)+0.5
	var ticks []plot.Tick
	for k := 0; float64(k) <= p.Y.Max; k++ {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: formatNumber(floor * math.Pow(10, float64(k)))})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top = true
	p.NominalX(names...)
	return p, nil
}
