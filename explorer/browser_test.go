package explorer_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the system's Chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
	return ""
}

// In a real browser: the home page, a search for the L1 transfer that
// lands on its page, a click through to its sender's address, then the
// block it is in; each page screenshotted and checked not blank.
func TestBrowser(t *testing.T) {
	if raceEnabled {
		// Chromium beside a devnet slowed tenfold outlasts any fair
		// deadline; the race run covers the same handlers in TestPages
		// and the wing tests, and CI runs this one without it.
		t.Skip("the browser test runs without the race detector")
	}
	bin := chromium(t)
	w := newWorld(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	if d := os.Getenv("EXPLORER_SCREENSHOTS"); d != "" {
		dir = d // keep them (docs/explorer-home.png is one)
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text("main"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	do(chromedp.Navigate(w.url + "/"))
	home := text()
	shot("home")
	// The heads move without a reload (live.js reads the JSON twin).
	head := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text("#head-l1"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := head()
	for head() == first {
		if ctx.Err() != nil {
			t.Fatal("the L1's head never moved on the home page")
		}
		time.Sleep(200 * time.Millisecond)
	}
	do(chromedp.SendKeys(`input[name="q"]`, w.l1tx.TxHash.Hex()), chromedp.Submit(`input[name="q"]`), chromedp.WaitVisible(`td.status`))
	txPage := text()
	shot("tx")
	do(chromedp.Click(`a.address`), chromedp.WaitVisible(`section.layer`))
	addrPage := text()
	shot("address")
	do(chromedp.Navigate(w.url+"/l1/block/"+w.l1tx.BlockNumber.String()), chromedp.WaitVisible(`a.tx`))
	blockPage := text()
	shot("block")
	do(chromedp.Navigate(w.url+"/lab/"), chromedp.WaitVisible(`table.lab`))
	labPage := text()
	shot("lab")
	// The wing pages, each loaded and seen.
	for _, pg := range []struct{ name, path, want string }{
		{"validators", "/l1/staking/validators", "validators"}, {"outputs", "/optimistic-rollup/l1/outputs", "genesis"},
		{"batches", "/optimistic-rollup/l1/batches", "inbox"}, {"transfers", "/optimistic-rollup/l1/transfers", "Withdrawals"},
	} {
		do(chromedp.Navigate(w.url+pg.path), chromedp.WaitVisible(`main h1`))
		if s := text(); !strings.Contains(s, pg.want) {
			t.Errorf("the %s page lacks %q: %.300s", pg.name, pg.want, s)
		}
		shot(pg.name)
		if b, err := os.ReadFile(filepath.Join(dir, pg.name+".png")); err != nil || !notBlank(t, b) {
			t.Errorf("the %s screenshot is blank (%v)", pg.name, err)
		}
	}
	// A deposit's page moves from queued to safe on the rollup.
	done := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("ol.stepper li.done").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	dep := deposit(t, ctx, w)
	do(chromedp.Navigate(w.url + "/l1/tx/" + dep.Hex()))
	if n := done(); n >= 3 {
		t.Logf("the deposit was safe before its page first loaded")
	}
	shot("deposit-queued")
	for done() < 3 {
		if ctx.Err() != nil {
			t.Fatal("the deposit never became safe on the rollup")
		}
		time.Sleep(300 * time.Millisecond)
		do(chromedp.Reload())
	}
	shot("deposit-safe")
	// A withdrawal's page, ready to prove; proven, it says how to finalize.
	hash := withdraw(t, ctx, w)
	var ready string
	for !strings.Contains(ready, "cairn withdraw prove") {
		do(chromedp.Navigate(w.url + "/optimistic-rollup/tx/" + hash.Hex()))
		ready = text()
		if ctx.Err() != nil {
			t.Fatal("the withdrawal never became provable")
		}
	}
	for done() < 3 { // sequenced, its batch on L1, an output over it
		time.Sleep(300 * time.Millisecond)
		do(chromedp.Reload())
	}
	shot("withdrawal-ready")
	proveWithdrawal(t, ctx, w, hash)
	do(chromedp.Reload())
	proven := text()
	shot("withdrawal-proven")
	for name, c := range map[string]struct{ text, want string }{
		"home": {home, "optimistic-rollup"}, "tx": {txPage, "success"},
		"address": {addrPage, "Transactions"}, "block": {blockPage, "transactions"},
		"lab": {labPage, "highest sustained"}, "withdrawal-ready": {ready, "cairn withdraw prove"},
		"withdrawal-proven": {proven, "cairn withdraw finalize"},
	} {
		if !strings.Contains(c.text, c.want) {
			t.Errorf("%s page lacks %q: %.300s", name, c.want, c.text)
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if !notBlank(t, b) {
			t.Errorf("the %s screenshot is blank", name)
		}
	}
}

// notBlank tells whether a PNG has more than one colour in it.
func notBlank(t *testing.T, b []byte) bool {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bounds := img.Bounds()
	first := img.At(bounds.Min.X, bounds.Min.Y)
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 7 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 7 {
			if img.At(x, y) != first {
				return true
			}
		}
	}
	return false
}
