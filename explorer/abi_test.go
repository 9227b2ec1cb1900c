package explorer_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
)

// greeterABI is a contract the explorer does not know until a user
// uploads it; its one method takes a string, so a call can carry markup.
const greeterABI = `[{"type":"function","name":"greet","stateMutability":"nonpayable","inputs":[{"name":"who","type":"string"}],"outputs":[]}]`

// Cairn's own contracts are decoded without being told: a portal deposit
// on L1 shows its method, arguments and TransactionDeposited log.
// A contract the explorer does not know is decoded once its ABI is
// uploaded, and what the call carries is escaped. An upload from another
// origin, over one of Cairn's contracts, or not an ABI, is refused.
func TestDecodedCallsAndUploadedABIs(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ethclient.DialContext(ctx, w.d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// A call of one of Cairn's contracts: a deposit through the portal.
	key := chain.DevKey(4)
	data, err := rollup.PortalABI.Pack("depositTransaction", chain.DevAddress(4), big.NewInt(params.GWei), uint64(100_000), []byte{})
	if err != nil {
		t.Fatal(err)
	}
	dep := sendValue(t, ctx, c, key, &rollup.PortalAddress, big.NewInt(params.GWei), data)
	_, body := get(t, w.url+"/l1/tx/"+dep.TxHash.Hex())
	for _, want := range []string{"<b>depositTransaction</b>", "optimistic rollup portal", "gasLimit", "TransactionDeposited", "queueIndex"} {
		if !strings.Contains(body, want) {
			t.Errorf("the deposit's page lacks %q", want)
		}
	}

	// A contract of its own: runtime code STOP, which takes any call.
	deploy := send(t, ctx, c, key, nil, common.FromHex("0x6001600c60003960016000f300"))
	greeter := deploy.ContractAddress
	data, err = mustABI(t).Pack("greet", "<script>alert(1)</script>")
	if err != nil {
		t.Fatal(err)
	}
	call := send(t, ctx, c, key, &greeter, data)
	if _, body := get(t, w.url+"/l1/tx/"+call.TxHash.Hex()); strings.Contains(body, "greet") {
		t.Fatal("an unknown contract's call was decoded before its ABI was uploaded")
	}
	post := func(addr common.Address, origin, abiJSON string) int {
		req, _ := http.NewRequest(http.MethodPost, w.url+"/abi/l1/"+addr.Hex(), strings.NewReader(url.Values{"abi": {abiJSON}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		addr        common.Address
		origin, abi string
		want        int
	}{
		{greeter, "http://evil.example", greeterABI, http.StatusForbidden},
		{rollup.OutputsAddress, "", greeterABI, http.StatusBadRequest},
		{greeter, "", `{"not": "an abi"`, http.StatusBadRequest},
		{greeter, "", strings.Repeat(" ", 70<<10) + greeterABI, http.StatusRequestEntityTooLarge},
		{greeter, w.url, greeterABI, http.StatusSeeOther},
	} {
		if got := post(c.addr, c.origin, c.abi); got != c.want {
			t.Errorf("upload to %s from %q: %d, want %d", c.addr, c.origin, got, c.want)
		}
	}
	_, body = get(t, w.url+"/l1/tx/"+call.TxHash.Hex())
	if !strings.Contains(body, "<b>greet</b>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the uploaded ABI's call is not decoded and escaped:\n%s", body)
	}
	if strings.Contains(body, "<script>alert") {
		t.Fatal("a call's string reached the page unescaped")
	}
	if _, body := get(t, w.url+"/l1/address/"+greeter.Hex()); !strings.Contains(body, "uploaded ABI") || !strings.Contains(body, "greet") {
		t.Fatal("the address page does not show the uploaded ABI")
	}
}

func mustABI(t *testing.T) abi.ABI {
	a, err := abi.JSON(strings.NewReader(greeterABI))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// send sends a transaction (to nil: a creation) and waits for its receipt.
func send(t *testing.T, ctx context.Context, c *ethclient.Client, k *ecdsa.PrivateKey, to *common.Address, data []byte) *types.Receipt {
	t.Helper()
	return sendValue(t, ctx, c, k, to, nil, data)
}

// sendValue is send with value.
func sendValue(t *testing.T, ctx context.Context, c *ethclient.Client, k *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte) *types.Receipt {
	t.Helper()
	id, _ := c.ChainID(ctx)
	nonce, _ := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(k.PublicKey))
	head, _ := c.HeaderByNumber(ctx, nil)
	tx := types.MustSignNewTx(k, types.LatestSignerForChainID(id), &types.DynamicFeeTx{ChainID: id, Nonce: nonce, To: to, Value: value, Data: data, Gas: 200_000,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(params.GWei))})
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	for {
		if r, err := c.TransactionReceipt(ctx, tx.Hash()); err == nil {
			if r.Status != 1 {
				t.Fatalf("transaction failed: %+v", r)
			}
			return r
		}
		if ctx.Err() != nil {
			t.Fatal("no receipt")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
