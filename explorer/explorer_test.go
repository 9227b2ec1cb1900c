package explorer_test

import (
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/explorer"
)

// world is a devnet with its explorer, an L1 transfer and an L2 transfer
// made and indexed.
type world struct {
	d        *devnet.Devnet
	url      string
	l1tx     *types.Receipt
	l2tx     *types.Receipt
	to1, to2 common.Address
}

func newWorld(t *testing.T) *world { return newWorldWith(t, devnet.ZKOptions{RPCPort: -1}) }

// newWorldWith is newWorld with the ZK rollup's options (RPCPort 0 runs it).
func newWorldWith(t *testing.T, zk devnet.ZKOptions) *world {
	t.Helper()
	d, err := devnet.Start(devnet.Config{Validators: 1, BlockTime: 100 * time.Millisecond, LabDir: "testdata/lab",
		ZK: zk, Channels: devnet.ChannelsOptions{RPCPort: -1}, Sidechain: devnet.SidechainOptions{RPCPort: -1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	w := &world{d: d, url: d.Explorer.URL(), to1: common.Address{0xe1}, to2: common.Address{0xe2}}
	w.l1tx = transfer(t, d.L1RPC(0), 901, w.to1)
	w.l2tx = transfer(t, d.Rollup.Sequencer.RPCURL(), 0, w.to2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h1, ok1 := d.Explorer.Indexed("l1")
		h2, ok2 := d.Explorer.Indexed("optimistic-rollup")
		if ok1 && ok2 && h1 >= w.l1tx.BlockNumber.Uint64() && h2 >= w.l2tx.BlockNumber.Uint64() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not indexed: L1 to %d, rollup to %d", h1, h2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return w
}

// transfer sends 1 gwei from dev account 3 to to and waits for its receipt.
func transfer(t *testing.T, url string, _ int, to common.Address) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return sendValue(t, ctx, c, chain.DevKey(3), &to, big.NewInt(params.GWei), nil)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

// Every page renders what the nodes hold: the home page both layers, a
// block its transaction, a transaction its status and fees (on the rollup
// the L1 data fee too), an address its transactions from the index; each
// has a JSON twin; bad input gets a 400 page, an unknown layer a 404, and
// nothing a user types reaches the page unescaped.
func TestPages(t *testing.T) {
	w := newWorld(t)
	h1, h2 := w.l1tx.TxHash.Hex(), w.l2tx.TxHash.Hex()
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/", []string{"L1", "optimistic-rollup", "Latest blocks"}},
		{"/l1/block/" + w.l1tx.BlockNumber.String(), []string{h1[:10], "final (committed by BFT consensus)", "Consensus", "proposer", chain.DevAddress(0).Hex()}},
		{"/l1/block/" + w.l1tx.BlockHash.Hex(), []string{h1[:10]}},
		{"/l1/tx/" + h1, []string{"success", w.to1.Hex(), "0.000000 ETH"}},
		{"/optimistic-rollup/tx/" + h2, []string{"success", "fee (L1 data)", w.to2.Hex()}},
		{"/l1/address/" + w.to1.Hex(), []string{h1[:10], "0.000000 ETH"}},
		{"/l1/address/" + chain.DevAddress(3).Hex(), []string{h1[:10], h2[:10]}},
	} {
		code, body := get(t, w.url+c.path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
		for _, s := range c.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", c.path, s)
			}
		}
	}
	// Block time and rate, once the index spans more than a second.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := get(t, w.url+"/")
		if strings.Contains(body, "block time") && strings.Contains(body, "transactions/s") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the home page shows no block time:\n%s", body)
		}
	}
	code, body := get(t, w.url+"/api/l1/tx/"+h1)
	var tx struct {
		Status string
		Tx     struct{ Hash common.Hash }
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &tx) != nil || tx.Status != "success" || tx.Tx.Hash != w.l1tx.TxHash {
		t.Fatalf("JSON twin: %d %s", code, body)
	}
	for path, want := range map[string]int{
		"/l1/block/xyz":                 http.StatusBadRequest,
		"/l1/block/0x":                  http.StatusBadRequest,
		"/l1/tx/0x12":                   http.StatusBadRequest,
		"/l1/address/0xnothex":          http.StatusBadRequest,
		"/nolayer/block/1":              http.StatusNotFound,
		"/l1/block/99999999":            http.StatusNotFound,
		"/api/l1/block/xyz":             http.StatusBadRequest,
		"/search?q=%3Cscript%3Ex":       http.StatusNotFound,
		"/l1/tx/" + common.Hash{}.Hex(): http.StatusNotFound,
	} {
		code, body := get(t, w.url+path)
		if code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("%s: the input reached the page unescaped", path)
		}
	}
	// An explorer told to show the L1 alone lists nothing else.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	only, err := explorer.Start(ctx, explorer.Config{L1: w.d.L1RPC(0), Addr: "127.0.0.1:0", Layers: []string{"l1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	if _, body := get(t, only.URL()+"/"); strings.Contains(body, "optimistic-rollup") || !strings.Contains(body, "Latest blocks") {
		t.Error("--layers l1 still shows the rollup, or not the L1")
	}
	for q, want := range map[string]string{
		h1:                          "/l1/tx/" + h1,
		h2:                          "/optimistic-rollup/tx/" + h2,
		w.to1.Hex():                 "/l1/address/" + w.to1.Hex(),
		w.l1tx.BlockNumber.String(): "/l1/block/" + w.l1tx.BlockNumber.String(),
	} {
		if code, loc := get(t, w.url+"/search?q="+q); code != http.StatusSeeOther || loc != want {
			t.Errorf("search %s: %d %s, want %s", q, code, loc, want)
		}
	}
}
