package explorer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// The lab's page: the latest `cairn lab compare` report in Config.LabDir
// (its report.json, read per request, and its plots, served by name).

// labPlots are the plots a report may hold, in the order the page shows
// them; only these names are served from the lab directory.
var labPlots = []string{"latency-ladder", "fees", "fees-congested", "l1-bytes", "throughput", "da-cost"}

// labReport is what the page reads of report.json (the lab package's
// Report, which the explorer cannot import: the lab imports the devnet).
type labReport struct {
	Date     time.Time `json:"date"`
	Quick    bool      `json:"quick"`
	Duration string    `json:"duration"`
	Machine  struct {
		Cores     int     `json:"cores"`
		MemoryGiB float64 `json:"memoryGiB"`
		OS        string  `json:"os"`
	} `json:"machine"`
	Layers []string `json:"layers"`
	Rows   []struct {
		Name  string `json:"name"`
		Group string `json:"group"`
		Cells map[string]struct {
			Value  any    `json:"value"`
			Unit   string `json:"unit"`
			Kind   string `json:"kind"`
			Method string `json:"method"`
		} `json:"cells"`
	} `json:"rows"`
	References []struct{ Layer, Row, Value, Source string } `json:"references"`
}

// LabPage is the lab's latest report.
type LabPage struct {
	Dir     string
	Missing string // why there is no report
	Report  *labReport
	Groups  []LabGroup
	Plots   []string
}

// LabGroup is a group of the report's rows, in the report's order.
type LabGroup struct {
	Name string
	Rows []LabRow
}

// LabRow is one row, a cell per layer.
type LabRow struct {
	Name  string
	Cells []LabCell
}

// LabCell is one cell's text, kind and method.
type LabCell struct {
	Text, Kind, Method string
}

func (e *Explorer) lab(r *http.Request) (any, error) {
	p := &LabPage{Dir: e.cfg.LabDir}
	if p.Dir == "" {
		p.Missing = "no lab directory: run `cairn lab compare --out DIR`, then serve the explorer with --lab DIR"
		return p, nil
	}
	b, err := os.ReadFile(filepath.Join(p.Dir, "report.json"))
	if errors.Is(err, fs.ErrNotExist) {
		p.Missing = fmt.Sprintf("no report in %s yet: run `cairn lab compare --out %s`", p.Dir, p.Dir)
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	var rep labReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("the lab's report.json does not read: %w", err)
	}
	p.Report = &rep
	at := map[string]int{} // each group's place, in order of first appearance
	for _, row := range rep.Rows {
		if _, ok := at[row.Group]; !ok {
			at[row.Group] = len(p.Groups)
			p.Groups = append(p.Groups, LabGroup{Name: row.Group})
		}
		lr := LabRow{Name: row.Name}
		for _, layer := range rep.Layers {
			c, ok := row.Cells[layer]
			text := "—"
			switch v := c.Value.(type) {
			case float64:
				text = labNumber(v) + " " + c.Unit
			case string:
				text = v
			}
			if !ok || c.Kind == "n/a" {
				text = "—"
			}
			lr.Cells = append(lr.Cells, LabCell{Text: text, Kind: c.Kind, Method: c.Method})
		}
		g := &p.Groups[at[row.Group]]
		g.Rows = append(g.Rows, lr)
	}
	for _, name := range labPlots {
		if _, err := os.Stat(filepath.Join(p.Dir, name+".svg")); err == nil {
			p.Plots = append(p.Plots, name)
		}
	}
	return p, nil
}

// labPlot serves one of the report's plots by name.
func (e *Explorer) labPlot(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if e.cfg.LabDir == "" || !slices.Contains(labPlots, name) {
		http.NotFound(w, r)
		return
	}
	b, err := os.ReadFile(filepath.Join(e.cfg.LabDir, name+".svg"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	// An SVG is a document: no script may run in it.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(b)
}

// labNumber writes a figure as the lab's report does: three significant
// digits, whole numbers from 100 up.
func labNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
