package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The comparison report (`cairn lab compare`): one column per layer, one
// row per row of the seed's Layer 1 vs Layer 2 table plus the measured
// rows, each cell a figure from this run, an attack's outcome, or a
// declaration (and saying which).

// Layer keys, as cairn_layers names the kinds, in the table's order.
const (
	LayerL1         = "l1"
	LayerOptimistic = "optimistic-rollup"
	LayerZK         = "zk-rollup"
	LayerChannels   = "payment-channels"
	LayerSidechain  = "sidechain"
)

// CompareLayers are the table's columns.
var CompareLayers = []struct{ Key, Name, Short string }{
	{LayerL1, "L1", "L1"}, {LayerOptimistic, "optimistic rollup", "optimistic"}, {LayerZK, "ZK rollup", "ZK rollup"},
	{LayerChannels, "payment channels", "channels"}, {LayerSidechain, "sidechain", "sidechain"},
}

// Kinds of cell.
const (
	Measured = "measured" // a figure from this run
	Outcome  = "attack"   // an attack's outcome, run in this run
	Declared = "declared" // a definition, not measured
	NotApply = "n/a"      // the row does not apply to the layer
)

// Cell is one layer's value in one row.
type Cell struct {
	Value   any       `json:"value"` // a number for Measured, text otherwise
	Unit    string    `json:"unit,omitempty"`
	Kind    string    `json:"kind"`
	Method  string    `json:"method"`
	Samples []float64 `json:"samples,omitempty"` // behind a percentile, in Unit
}

// Row is one row of the table.
type Row struct {
	Name  string          `json:"name"`
	Group string          `json:"group"` // the seed's row it belongs to
	Cells map[string]Cell `json:"cells"`
}

// Machine is where the run ran.
type Machine struct {
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memoryGiB"`
	OS        string  `json:"os"`
	Go        string  `json:"go"`
}

// Reference is a real-world figure, shown apart from Cairn's, with its
// source.
type Reference struct {
	Layer, Row, Value, Source string
}

// Report is the comparison.
type Report struct {
	Date       time.Time   `json:"date"`
	Machine    Machine     `json:"machine"`
	Quick      bool        `json:"quick"`
	Duration   string      `json:"duration"`
	Layers     []string    `json:"layers"`
	Rows       []Row       `json:"rows"`
	References []Reference `json:"references"`
	NotBuilt   []string    `json:"notBuilt"`
	// Congestion is the run behind the congested fee rows.
	Congestion *Congestion `json:"congestion,omitempty"`
	// Throughput is each layer's curve behind the scalability rows.
	Throughput []LoadCurve `json:"throughput,omitempty"`
	// DA is the data-availability run behind the DA rows.
	DA []DAModeCost `json:"dataAvailability,omitempty"`
}

func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(strings.TrimPrefix(string(b), "MemTotal:"), "%f", &kb); err == nil {
			m.MemoryGiB = math.Round(kb/1024/1024*10) / 10
		}
	}
	return m
}

// row adds (or returns) the row name.
func (r *Report) row(group, name string) *Row {
	for i := range r.Rows {
		if r.Rows[i].Name == name {
			return &r.Rows[i]
		}
	}
	r.Rows = append(r.Rows, Row{Name: name, Group: group, Cells: map[string]Cell{}})
	return &r.Rows[len(r.Rows)-1]
}

func (r *Report) set(group, name, layer string, c Cell) { r.row(group, name).Cells[layer] = c }

// grouped is the rows with each group's together, groups in the order
// they first appear.
func (r *Report) grouped() []Row {
	var groups []string
	by := map[string][]Row{}
	for _, row := range r.Rows {
		if by[row.Group] == nil {
			groups = append(groups, row.Group)
		}
		by[row.Group] = append(by[row.Group], row)
	}
	var out []Row
	for _, g := range groups {
		out = append(out, by[g]...)
	}
	return out
}

func (r *Report) declare(group, name string, values map[string]string) {
	for layer, v := range values {
		r.set(group, name, layer, Cell{Value: v, Kind: Declared, Method: "declared by the seed's table and the design, not measured"})
	}
}

func (r *Report) notApply(group, name, layer, why string) {
	r.set(group, name, layer, Cell{Value: "—", Kind: NotApply, Method: why})
}

// percentileMs is the p-th percentile of d, in milliseconds, with the
// samples in milliseconds.
func percentileMs(d []time.Duration, p int) (float64, []float64) {
	ms := make([]float64, len(d))
	for i, x := range d {
		ms[i] = float64(x.Microseconds()) / 1000
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, nil
	}
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))], ms
}

// cellText is a cell as the terminal and markdown tables show it.
func cellText(c Cell) string {
	switch v := c.Value.(type) {
	case float64:
		return formatNumber(v) + unitSuffix(c.Unit)
	case int:
		return formatNumber(float64(v)) + unitSuffix(c.Unit)
	case string:
		return v
	}
	return fmt.Sprint(c.Value)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func formatNumber(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a == 0:
		return "0"
	case a < 0.01:
		return fmt.Sprintf("%.2g", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Print writes the table, aligned: measured figures and outcomes, then
// the declared rows.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nLayer 1 vs Layer 2, measured on one running stack (%s, %d cores, %.0f GiB; %s; %s)\n",
		r.Date.Format("2006-01-02 15:04 MST"), r.Machine.Cores, r.Machine.MemoryGiB, map[bool]string{true: "--quick", false: "full run"}[r.Quick], r.Duration)
	const first, col = 26, 15
	fmt.Fprintf(w, "%-*s", first, "")
	for _, l := range CompareLayers {
		fmt.Fprintf(w, " %-*s", col, l.Short)
	}
	fmt.Fprintln(w)
	group := ""
	for _, row := range r.grouped() {
		if row.Group != group {
			group = row.Group
			fmt.Fprintf(w, "%s\n", strings.ToUpper(group))
		}
		lines := [][]string{}
		for _, l := range CompareLayers {
			cell := wrap(cellText(row.Cells[l.Key]), col)
			if len(cell) > maxCellLines { // the rest is in report.md
				cell = append(cell[:maxCellLines-1], "…")
			}
			lines = append(lines, cell)
		}
		name := wrap(row.Name, first-2)
		height := len(name)
		for _, l := range lines {
			height = max(height, len(l))
		}
		for i := range height {
			n := ""
			if i < len(name) {
				n = name[i]
			}
			fmt.Fprintf(w, "  %-*s", first-2, n)
			for _, l := range lines {
				t := ""
				if i < len(l) {
					t = l[i]
				}
				fmt.Fprintf(w, " %-*s", col, t)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w, "\nDeclared rows are definitions, not measurements. Long cells are cut here: report.md has them whole,\nreport.json each cell's unit, method and samples.")
}

// maxCellLines is how many lines a cell takes on the terminal at most.
const maxCellLines = 4

// wrap breaks s into lines of at most n runes, at spaces where it can.
func wrap(s string, n int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for len([]rune(word)) > n {
				if line != "" {
					out, line = append(out, line), ""
				}
				r := []rune(word)
				out, word = append(out, string(r[:n])), string(r[n:])
			}
			switch {
			case line == "":
				line = word
			case len([]rune(line))+1+len([]rune(word)) <= n:
				line += " " + word
			default:
				out, line = append(out, line), word
			}
		}
		if line != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// Markdown is the report as a markdown document.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Layer 1 vs Layer 2, measured\n\nOne run of `cairn lab compare%s` on %s: %d cores, %.0f GiB, %s, %s. It took %s.\n\n",
		map[bool]string{true: " --quick", false: ""}[r.Quick], r.Date.Format("2006-01-02"), r.Machine.Cores, r.Machine.MemoryGiB, r.Machine.OS, r.Machine.Go, r.Duration)
	b.WriteString("| |")
	for _, l := range CompareLayers {
		fmt.Fprintf(&b, " %s |", l.Name)
	}
	b.WriteString("\n|---|")
	for range CompareLayers {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	group := ""
	for _, row := range r.grouped() {
		if row.Group != group {
			group = row.Group
			fmt.Fprintf(&b, "| **%s** |%s\n", group, strings.Repeat(" |", len(CompareLayers)))
		}
		fmt.Fprintf(&b, "| %s |", row.Name)
		for _, l := range CompareLayers {
			c := row.Cells[l.Key]
			t := strings.ReplaceAll(cellText(c), "|", "/")
			if c.Kind == Declared {
				t = "*" + t + "*"
			}
			fmt.Fprintf(&b, " %s |", t)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nItalic cells are declared (definitions), not measured. Every cell's unit and method, and the samples behind each percentile, are in `report.json`.\n")
	if len(r.References) > 0 {
		b.WriteString("\n## Real-world references (not from this run)\n\n| layer | row | value | source |\n|---|---|---|---|\n")
		for _, ref := range r.References {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", ref.Layer, ref.Row, ref.Value, ref.Source)
		}
	}
	if len(r.NotBuilt) > 0 {
		b.WriteString("\n## Not measured yet\n\n")
		for _, n := range r.NotBuilt {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// Write saves report.md, report.json, report.html and the plots (SVG and
// PNG: latency-ladder, fees, l1-bytes) in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), j, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	svgs, err := r.writePlots(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), []byte(r.HTML(svgs)), 0o644)
}
