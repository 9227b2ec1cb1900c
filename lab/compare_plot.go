package lab

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The report's plots, drawn with gonum/plot, each saved as SVG and PNG,
// and report.html: the table and the plots in one file that needs no
// network.

// plotFloor is where the log-scaled plots start: a cell that does not
// apply is drawn below it, so it does not show.
const plotFloor = 0.1

// measured is a measured row's value for layer, or 0.
func (r *Report) measured(row, layer string) float64 {
	for _, x := range r.Rows {
		if x.Name == row {
			if v, ok := x.Cells[layer].Value.(float64); ok && x.Cells[layer].Kind == Measured {
				return v
			}
		}
	}
	return 0
}

// groupedBars draws one bar per layer for each series, side by side, on a
// log scale: bars stand on plotFloor, so the heights are log10(value /
// plotFloor) on a linear axis whose ticks read the values (a bar chart on
// gonum's log scale would start at zero).
func groupedBars(title, ylabel string, series []string, value func(series, layer int) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	width := vg.Points(14)
	var names []string
	for _, l := range CompareLayers {
		names = append(names, l.Short)
	}
	top := 1.0
	for s := range series {
		vals := make(plotter.Values, len(CompareLayers))
		for l := range CompareLayers {
			if v := value(s, l); v > plotFloor {
				vals[l] = math.Log10(v / plotFloor)
			}
			top = max(top, vals[l])
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(s)
		bars.Offset = width * vg.Length(float64(s)-float64(len(series)-1)/2)
		p.Add(bars)
		if len(series) > 1 {
			p.Legend.Add(series[s], bars)
		}
	}
	p.Y.Min, p.Y.Max = 0, math.Ceil(top)+0.5
	var ticks []plot.Tick
	for k := 0; float64(k) <= p.Y.Max; k++ {
		ticks = append(ticks, plot.Tick{Value: float64(k), Label: formatNumber(plotFloor * math.Pow(10, float64(k)))})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top, p.Legend.Left = true, true
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	return p, nil
}

// plots draws the latency ladder and the fee per transfer.
func (r *Report) plots() (map[string]*plot.Plot, error) {
	rungs := []string{"soft confirmation", "inclusion on L1", "hard finality"}
	ladder, err := groupedBars("Latency ladder, p50 (absent: does not apply)", "ms from send (log)", rungs, func(s, l int) float64 {
		return r.measured(rungs[s]+", p50", CompareLayers[l].Key)
	})
	if err != nil {
		return nil, err
	}
	fees, err := groupedBars("Fee per transfer, L1 idle (absent: none)", "gwei (log)", []string{"fee"}, func(_, l int) float64 {
		return r.measured("fee per transfer", CompareLayers[l].Key)
	})
	if err != nil {
		return nil, err
	}
	bytes, err := groupedBars("L1 bytes per 1,000 transfers (absent: none)", "bytes (log)", []string{"L1 bytes"}, func(_, l int) float64 {
		return r.measured("L1 bytes per 1,000 transfers", CompareLayers[l].Key)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]*plot.Plot{"latency-ladder": ladder, "fees": fees, "l1-bytes": bytes}
	if r.Congestion != nil {
		if out["fees-congested"], err = r.congestionPlot(); err != nil {
			return nil, err
		}
	}
	if len(r.Throughput) > 0 {
		if out["throughput"], err = r.throughputPlot(); err != nil {
			return nil, err
		}
	}
	if len(r.DA) > 0 {
		if out["da-cost"], err = r.daPlot(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// plotNames are the plots in the order report.html shows them.
var plotNames = []string{"latency-ladder", "fees", "fees-congested", "l1-bytes", "throughput", "da-cost"}

// writePlots saves each plot as SVG and PNG in dir, and returns the SVGs.
func (r *Report) writePlots(dir string) (map[string][]byte, error) {
	ps, err := r.plots()
	if err != nil {
		return nil, err
	}
	svgs := map[string][]byte{}
	for _, name := range plotNames {
		if ps[name] == nil {
			continue
		}
		for _, ext := range []string{".svg", ".png"} {
			if err := ps[name].Save(7*vg.Inch, 4*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
				return nil, fmt.Errorf("plot %s: %w", name, err)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			return nil, err
		}
		svgs[name] = b
	}
	return svgs, nil
}

// HTML is the report as one self-contained page: the table and the plots
// (inline SVG), no script, no network.
func (r *Report) HTML(svgs map[string][]byte) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cairn: Layer 1 vs Layer 2, measured</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:14px}th{background:#f4f4f4}
td.declared{font-style:italic;color:#555}td.attack{background:#fbf7ea}td.assessed{color:#335}tr.group td{background:#eef;font-weight:bold}</style></head><body>`)
	fmt.Fprintf(&b, "<h1>Layer 1 vs Layer 2, measured</h1><p>One run of <code>cairn lab compare%s</code> on %s: %d cores, %.0f GiB, %s, %s. It took %s.</p>",
		map[bool]string{true: " --quick", false: ""}[r.Quick], r.Date.Format("2006-01-02 15:04 MST"), r.Machine.Cores, r.Machine.MemoryGiB,
		html.EscapeString(r.Machine.OS), html.EscapeString(r.Machine.Go), r.Duration)
	b.WriteString("<table><tr><th></th>")
	for _, l := range CompareLayers {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(l.Name))
	}
	b.WriteString("</tr>")
	group := ""
	for _, row := range r.grouped() {
		if row.Group != group {
			group = row.Group
			fmt.Fprintf(&b, `<tr class="group"><td colspan="%d">%s</td></tr>`, len(CompareLayers)+1, html.EscapeString(group))
		}
		fmt.Fprintf(&b, "<tr><td>%s</td>", html.EscapeString(row.Name))
		for _, l := range CompareLayers {
			c := row.Cells[l.Key]
			fmt.Fprintf(&b, `<td class="%s" title="%s">%s</td>`, strings.ReplaceAll(c.Kind, "/", ""), html.EscapeString(c.Method), html.EscapeString(cellText(c)))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table><p>Italic cells are declared (definitions), not measured. Hover a cell for how it was measured.</p>")
	for _, name := range plotNames {
		if svg, ok := svgs[name]; ok {
			s := string(svg)
			if i := strings.Index(s, "<svg"); i >= 0 {
				s = s[i:]
			}
			fmt.Fprintf(&b, "<figure>%s</figure>", s)
		}
	}
	if len(r.References) > 0 {
		b.WriteString("<h2>Real-world references (not from this run)</h2><table><tr><th>layer</th><th>row</th><th>value</th><th>source</th></tr>")
		for _, ref := range r.References {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", html.EscapeString(ref.Layer), html.EscapeString(ref.Row),
				html.EscapeString(ref.Value), html.EscapeString(ref.Source))
		}
		b.WriteString("</table>")
	}
	if len(r.NotBuilt) > 0 {
		b.WriteString("<h2>Not measured yet</h2><ul>")
		for _, n := range r.NotBuilt {
			fmt.Fprintf(&b, "<li>%s</li>", html.EscapeString(n))
		}
		b.WriteString("</ul>")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
