package lab

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The quick comparison fills every layer's column: each measured cell a
// number with its unit, each attack an outcome as promised, the latency
// ladder in order (soft ≤ inclusion ≤ final), and report.md and
// report.json written.
func TestCompareQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	// Eight minutes: alone it takes about two, but in CI beside the other
	// packages' devnets a run passed four.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if _, err := RunCompare(ctx, CompareConfig{Out: dir, Quick: true}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Layers     []string    `json:"layers"`
		Throughput []LoadCurve `json:"throughput"`
		Rows       []struct {
			Name  string `json:"name"`
			Cells map[string]struct {
				Value any    `json:"value"`
				Unit  string `json:"unit"`
				Kind  string `json:"kind"`
			} `json:"cells"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Layers) != len(CompareLayers) {
		t.Fatalf("layers %v", rep.Layers)
	}
	value := map[string]map[string]float64{}
	for _, row := range rep.Rows {
		for _, layer := range rep.Layers {
			c, ok := row.Cells[layer]
			if !ok {
				t.Fatalf("row %q has no %s cell", row.Name, layer)
			}
			switch c.Kind {
			case Measured:
				v, ok := c.Value.(float64)
				if !ok || c.Unit == "" {
					t.Fatalf("%s / %s: measured cell %v %q is not a number with a unit", row.Name, layer, c.Value, c.Unit)
				}
				if value[layer] == nil {
					value[layer] = map[string]float64{}
				}
				value[layer][row.Name] = v
			case Outcome, Observed:
				if s, _ := c.Value.(string); s == "" || strings.HasPrefix(s, "UNEXPECTED") {
					t.Fatalf("%s / %s: attack outcome %v", row.Name, layer, c.Value)
				}
			case Assessed:
				if s, _ := c.Value.(string); !strings.HasSuffix(s, "(good)") && !strings.HasSuffix(s, "(warning)") && !strings.HasSuffix(s, "(bad)") {
					t.Fatalf("%s / %s: risk %v has no L2BEAT sentiment", row.Name, layer, c.Value)
				}
			case Declared, NotApply:
			default:
				t.Fatalf("%s / %s: kind %q", row.Name, layer, c.Kind)
			}
		}
	}
	for _, layer := range rep.Layers {
		v := value[layer]
		soft, incl, fin := v["soft confirmation, p50"], v["inclusion on L1, p50"], v["hard finality, p50"]
		if soft <= 0 {
			t.Fatalf("%s: no soft confirmation", layer)
		}
		if incl != 0 && incl < soft || fin != 0 && fin < max(soft, incl) {
			t.Fatalf("%s: ladder out of order: soft %v, inclusion %v, final %v", layer, soft, incl, fin)
		}
	}
	// The L1 halted, the others went on, and the L1 came back.
	for _, row := range rep.Rows {
		if row.Name == "with the L1 halted" {
			if s, _ := row.Cells[LayerL1].Value.(string); !strings.HasPrefix(s, "halted") {
				t.Fatalf("the L1 with two of four validators stopped: %q", s)
			}
			if s, _ := row.Cells[LayerChannels].Value.(string); !strings.HasPrefix(s, "payments go on") {
				t.Fatalf("channels with the L1 halted: %q", s)
			}
		}
	}
	if value[LayerL1]["recovery after the L1 restarts"] <= 0 {
		t.Fatal("no recovery time for the L1")
	}
	// The data-availability rows: blobs far cheaper than calldata once
	// the L1 is congested, a committee's and sampling's L1 bytes tiny.
	da := func(row string) float64 { return value[LayerOptimistic][row] }
	if cd, bl := da("L1 fee per transfer, data in calldata, L1 congested"), da("L1 fee per transfer, data in blobs, L1 congested"); bl <= 0 || cd < 10*bl {
		t.Fatalf("congested fee per transfer: calldata %v, blobs %v", cd, bl)
	}
	if b := da("L1 bytes per transfer, data in committee"); b <= 0 || b >= 1 {
		t.Fatalf("committee: %v L1 bytes per transfer", b)
	}
	// The congestion run drove the L1's base fee to its plateau and the
	// L1's own transfers paid for it; the sidechain's did not.
	if b := value[LayerL1]["the L1's base fee, congested"]; b < 10 {
		t.Fatalf("congested base fee %v gwei, want the plateau near 20", b)
	}
	idle, busy := value[LayerL1]["fee per transfer"], value[LayerL1]["fee per transfer, L1 congested"]
	if busy < 5*idle {
		t.Fatalf("L1 fee per transfer: idle %v, congested %v gwei", idle, busy)
	}
	if r := value[LayerSidechain]["fee ÷ the L1's, L1 congested"]; r <= 0 || r >= 0.5 {
		t.Fatalf("the sidechain's congested fee is %v× the L1's", r)
	}
	// Each layer was stepped through rising rates; the L1 and the
	// optimistic rollup's sequencer sustained at least the first.
	if len(rep.Throughput) != len(CompareLayers) {
		t.Fatalf("%d throughput curves", len(rep.Throughput))
	}
	for _, c := range rep.Throughput {
		if len(c.Steps) == 0 || c.Steps[0].Sent == 0 {
			t.Fatalf("%s: no throughput step", c.Layer)
		}
	}
	for _, layer := range []string{LayerL1, LayerOptimistic} {
		if v := value[layer]["highest sustained transfers/s, soft p99 under 1 s"]; v < 50 {
			t.Fatalf("%s sustained %v transfers/s", layer, v)
		}
		if v := value[layer]["data ceiling: L1 data bandwidth ÷ L1 bytes per transfer"]; v <= 0 {
			t.Fatalf("%s: data ceiling %v", layer, v)
		}
	}
	// The rollups' L1 costs by purpose: the optimistic one pays for data,
	// the ZK one for proofs.
	if value[LayerOptimistic]["L1 cost per transfer: data"] <= 0 || value[LayerZK]["L1 cost per transfer: proofs"] <= 0 {
		t.Fatalf("cost split: optimistic data %v, ZK proofs %v", value[LayerOptimistic]["L1 cost per transfer: data"], value[LayerZK]["L1 cost per transfer: proofs"])
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "| soft confirmation, p50 |") {
		t.Fatalf("report.md: %v", err)
	}
	for _, name := range plotNames {
		f, err := os.Open(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 100 {
			t.Fatalf("%s.png is no image: %v", name, err)
		}
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil || !strings.Contains(string(svg), "<svg") {
			t.Fatalf("%s.svg: %v", name, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(page), "<svg") || strings.Contains(string(page), "http://") && strings.Contains(string(page), "<script") {
		t.Fatalf("report.html: %v", err)
	}
}
