package explorer_test

import (
	"context"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
)

// The staking set and the rollup's outputs have pages; a deposit's page
// shows it queued on L1, then in an L2 block, then safe; a withdrawal's
// shows its way to L1 and moves as it does: waiting for an output, ready to
// prove (with the command), proven (and the command to finalize).
func TestValidatorsOutputsAndAWithdrawalsLife(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The batcher posts blobs.
	for path, want := range map[string]string{"/optimistic-rollup/l1/batches": "blobs (frames in each"} {
		for {
			_, body := get(t, w.url+path)
			if strings.Contains(body, want) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s never showed %q:\n%s", path, want, body)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	for path, wants := range map[string][]string{
		"/l1/staking/validators":                       {"L1 validators", chain.DevAddress(0).Hex(), "100.0%"},
		"/optimistic-rollup/l1/outputs":                {"outputs on L1", "genesis"},
		"/optimistic-rollup/tx/" + w.l2tx.TxHash.Hex(): {"on its way to L1", "sequenced", "batch on L1", "final on L1"},
	} {
		code, body := get(t, w.url+path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	if code, _ := get(t, w.url+"/l1/l1/outputs"); code != http.StatusNotFound {
		t.Errorf("the L1's outputs: %d, want 404", code)
	}

	l1, err := ethclient.DialContext(ctx, w.d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	l2, err := ethclient.DialContext(ctx, w.d.Rollup.Sequencer.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	// A safe L2 block names the L1 block and batcher transaction that
	// carried it.
	for {
		_, body := get(t, w.url+"/optimistic-rollup/block/"+w.l2tx.BlockNumber.String())
		if strings.Contains(body, "derived from") && strings.Contains(body, `class="carrier" href="/l1/tx/`) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the L2 block never named its batch:\n%s", body)
		}
		time.Sleep(250 * time.Millisecond)
	}

	if raceEnabled {
		// A deposit's way to safe and an output over the withdrawal take
		// minutes with every node slowed by the detector (a CI run missed
		// the deposit's deadline); the run without it follows both.
		return
	}

	// A deposit: sent to the portal on L1, then in an L2 block, then safe.
	depHash := deposit(t, ctx, w)
	for page, want := "/l1/tx/"+depHash.Hex(), `class="done"><b>safe on the rollup`; ; time.Sleep(250 * time.Millisecond) {
		_, body := get(t, w.url+page)
		if strings.Contains(body, want) {
			if !strings.Contains(body, "on its way into the rollup") || !strings.Contains(body, `href="/optimistic-rollup/tx/`) {
				t.Errorf("the deposit's page does not link its L2 transaction:\n%s", body)
			}
			break
		}
		if !strings.Contains(body, `class="done"><b>queued on L1`) {
			t.Fatalf("the deposit is not shown queued on L1:\n%s", body)
		}
		if ctx.Err() != nil {
			t.Fatalf("the deposit never became safe on the rollup:\n%s", body)
		}
	}

	hash := withdraw(t, ctx, w)
	page := "/optimistic-rollup/tx/" + hash.Hex()
	until := func(want string) string {
		t.Helper()
		for {
			_, body := get(t, w.url+page)
			if strings.Contains(body, want) {
				return body
			}
			if ctx.Err() != nil {
				t.Fatalf("the withdrawal's page never showed %q:\n%s", want, body)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	body := until("withdrawal paid on L1")
	if !strings.Contains(body, "MessagePassed") || !strings.Contains(body, "initiateWithdrawal") {
		t.Error("the withdrawal's call and log are not decoded")
	}
	until("cairn withdraw prove " + hash.Hex())
	// Once an output covers it, prove it as `cairn withdraw prove` does.
	until("output on L1</b>")
	for !strings.Contains(body, `class="done"><b>output on L1`) {
		body = until("output on L1")
		time.Sleep(250 * time.Millisecond)
		if ctx.Err() != nil {
			t.Fatal("no output covered the withdrawal")
		}
	}
	proveWithdrawal(t, ctx, w, hash)
	body = until(`class="done"><b>withdrawal proven on L1`)
	// The list of both shows each where it stands.
	if _, list := get(t, w.url+"/optimistic-rollup/l1/transfers"); !strings.Contains(list, depHash.Hex()) || !strings.Contains(list, hash.Hex()) ||
		!strings.Contains(list, "safe on the rollup") || !strings.Contains(list, "withdrawal proven on L1") || !strings.Contains(list, "cairn withdraw finalize") {
		t.Errorf("the deposits and withdrawals page:\n%s", list)
	}
	if !strings.Contains(body, "cairn withdraw finalize "+hash.Hex()) {
		t.Error("a proven withdrawal's page does not say how to finalize it")
	}
}

// The lab page shows the report in the lab directory, every row and its
// plots, escaped; only the report's own plot names are served from it.
func TestLabPage(t *testing.T) {
	d, err := devnet.Start(devnet.Config{Validators: 1, BlockTime: 100 * time.Millisecond, LabDir: "testdata/lab",
		Rollup: devnet.RollupOptions{RPCPort: -1}, ZK: devnet.ZKOptions{RPCPort: -1}, Channels: devnet.ChannelsOptions{RPCPort: -1}, Sidechain: devnet.SidechainOptions{RPCPort: -1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	url := d.Explorer.URL()
	code, body := get(t, url+"/lab/")
	if code != http.StatusOK {
		t.Fatalf("lab: %d %s", code, body)
	}
	for _, want := range []string{"Layer 1 vs Layer 2, measured", "soft confirmation, p50", "highest sustained transfers/s", "state validation", `src="/lab/plots/throughput.svg"`, "&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("the lab page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a report's text reached the page unescaped")
	}
	if code, svg := get(t, url+"/lab/plots/throughput.svg"); code != http.StatusOK || !strings.Contains(svg, "<svg") {
		t.Errorf("the throughput plot: %d", code)
	}
	for _, path := range []string{"/lab/plots/report.json", "/lab/plots/..%2Freport.json", "/lab/plots/fees.svg"} {
		if code, _ := get(t, url+path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
}

// withdraw starts a withdrawal of 0.1 ETH on the rollup from dev account 5.
func withdraw(t *testing.T, ctx context.Context, w *world) common.Hash {
	t.Helper()
	l2, err := ethclient.DialContext(ctx, w.d.Rollup.Sequencer.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	data, _ := rollup.MessagePasserABI.Pack("initiateWithdrawal", chain.DevAddress(5), big.NewInt(100_000), []byte{})
	rc, err := ethtx.SendAndWait(ctx, l2, chain.DevKey(5), rollup.MessagePasserAddress, big.NewInt(params.Ether/10), data, 200_000)
	if err != nil {
		t.Fatal(err)
	}
	return rc.TxHash
}

// proveWithdrawal proves an L2 transaction's withdrawal on L1, as `cairn
// withdraw prove` does, against an output that covers it.
func proveWithdrawal(t *testing.T, ctx context.Context, w *world, tx common.Hash) {
	t.Helper()
	l1, err := ethclient.DialContext(ctx, w.d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	ver, err := ethclient.DialContext(ctx, w.d.Rollup.Verifier.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ver.Close()
	wd, block, err := rollup.FindWithdrawal(ctx, ver, tx)
	if err != nil {
		t.Fatal(err)
	}
	call, _, err := rollup.ProveCalldata(ctx, rollup.L1View{C: l1}, ver, wd, block)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ethtx.SendAndWait(ctx, l1, chain.DevKey(5), rollup.PortalAddress, nil, call, 0); err != nil || r.Status != 1 {
		t.Fatalf("prove: %v", err)
	}
}

// The ZK operator's batches page shows them as it reports them, up to
// verified on L1.
func TestZKBatchesPage(t *testing.T) {
	if raceEnabled {
		t.Skip("the ZK prover under the race detector takes minutes a proof")
	}
	w := newWorldWith(t, devnet.ZKOptions{RPCPort: 0})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		_, body := get(t, w.url+"/zk-rollup/l1/batches")
		if strings.Contains(body, "verified") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no verified ZK batch shown:\n%s", body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// deposit sends 1 ETH to the portal on L1 from dev account 6.
func deposit(t *testing.T, ctx context.Context, w *world) common.Hash {
	t.Helper()
	l1, err := ethclient.DialContext(ctx, w.d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	rc, err := ethtx.SendAndWait(ctx, l1, chain.DevKey(6), rollup.PortalAddress, big.NewInt(params.Ether), nil, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	return rc.TxHash
}
