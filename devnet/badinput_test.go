package devnet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
)

// Every kind of bad input gets a clear JSON-RPC error and blocks keep coming.
func TestBadInputOverRPC(t *testing.T) {
	d := startDevnet(t, Config{Validators: 2, GasLimit: 10_000_000})
	ctx := context.Background()
	c := dial(t, d.L1RPC(0))
	raw := c.Client()

	key := chain.DevKey(3)
	to := common.HexToAddress("0x70")
	signer := types.LatestSignerForChainID(big.NewInt(DefaultL1ChainID))
	fee := big.NewInt(10 * params.GWei)
	sign := func(data types.TxData) []byte {
		b, _ := types.MustSignNewTx(key, signer, data).MarshalBinary()
		return b
	}
	send := func(b []byte) error {
		var h common.Hash
		return raw.CallContext(ctx, &h, "eth_sendRawTransaction", hexutil.Bytes(b))
	}
	// One good transaction first, so "nonce too low" has something to be low against.
	tx := sendTx(t, c, key, &to, big.NewInt(1), nil, 21000)
	waitReceipt(t, c, tx.Hash())
	startHeight, _ := c.BlockNumber(ctx)

	wrongChain, _ := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(1)), &types.DynamicFeeTx{ChainID: big.NewInt(1), Nonce: 1, Gas: 21000, GasFeeCap: fee, To: &to}).MarshalBinary()
	poorTx, _ := types.MustSignNewTx(mustKey(t), signer, &types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Gas: 21000, GasFeeCap: fee, GasTipCap: big.NewInt(1), To: &to, Value: big.NewInt(1)}).MarshalBinary()
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"malformed RLP", []byte{0xf8, 0x10, 0x01}, "rlp"},
		{"wrong chain ID", wrongChain, "invalid chain id"},
		{"bad signature", func() []byte {
			// r = 0 is no signature at all; any other corruption of (r, s)
			// recovers some other sender, refused by its nonce or funds.
			unsigned := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Nonce: 1, Gas: 21000, GasFeeCap: fee, To: &to})
			sig := make([]byte, 65)
			sig[63] = 1
			bad, err := unsigned.WithSignature(signer, sig)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := bad.MarshalBinary()
			return b
		}(), "invalid"},
		{"nonce too low", sign(&types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Nonce: 0, Gas: 21000, GasFeeCap: fee, GasTipCap: big.NewInt(1), To: &to}), "nonce too low"},
		{"nonce too far ahead", sign(&types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Nonce: 1000, Gas: 21000, GasFeeCap: fee, GasTipCap: big.NewInt(1), To: &to}), "nonce too high"},
		{"insufficient funds", poorTx, "insufficient funds for gas * price + value"},
		{"gas above the block limit", sign(&types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Nonce: 1, Gas: 12_000_000, GasFeeCap: big.NewInt(1), To: &to}), "exceeds block gas limit"},
		{"oversized transaction", sign(&types.DynamicFeeTx{ChainID: big.NewInt(DefaultL1ChainID), Nonce: 1, Gas: 9_000_000, GasFeeCap: big.NewInt(1), To: &to, Data: make([]byte, 200_000)}), "oversized data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := send(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if ec, ok := err.(rpc.Error); !ok || ec.ErrorCode() >= 0 {
				t.Fatalf("not a JSON-RPC error: %#v", err)
			}
		})
	}

	// Oversized and malformed JSON-RPC requests.
	post := func(body []byte) (int, map[string]any) {
		resp, err := http.Post(d.L1RPC(0), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("status %d, body is not JSON: %q", resp.StatusCode, data)
		}
		return resp.StatusCode, out
	}
	status, out := post(bytes.Repeat([]byte("x"), 6*1024*1024))
	if status != http.StatusRequestEntityTooLarge || out["error"] == nil {
		t.Fatalf("oversized request: %d %v", status, out)
	}
	_, out = post([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"`))
	if e, ok := out["error"].(map[string]any); !ok || e["code"].(float64) != -32700 {
		t.Fatalf("malformed request: %v", out)
	}
	_, out = post([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_noSuchMethod","params":[]}`))
	if e, ok := out["error"].(map[string]any); !ok || e["code"].(float64) != -32601 {
		t.Fatalf("unknown method: %v", out)
	}
	_, out = post([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xzz","latest"]}`))
	if e, ok := out["error"].(map[string]any); !ok || e["code"].(float64) != -32602 {
		t.Fatalf("bad params: %v", out)
	}

	// Blocks keep coming and the good transaction's effects stand.
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := c.BlockNumber(ctx)
		if err == nil && h >= startHeight+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chain stalled at %d", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, _ := c.NonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey), nil); n != 1 {
		t.Fatalf("nonce %d, want 1", n)
	}
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Subscriptions over WebSocket deliver new heads and matching logs.
func TestSubscriptions(t *testing.T) {
	d := startDevnet(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := dial(t, d.L1WS(1))
	heads := make(chan *types.Header, 16)
	sub, err := ws.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var last uint64
	for range 3 {
		select {
		case h := <-heads:
			if last != 0 && h.Number.Uint64() != last+1 {
				t.Fatalf("head %d after %d", h.Number, last)
			}
			last = h.Number.Uint64()
		case err := <-sub.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal("no heads")
		}
	}
}

// Polling filters report new blocks and new matching logs once each.
func TestPollingFilters(t *testing.T) {
	d := startDevnet(t, Config{})
	ctx := context.Background()
	c := dial(t, d.L1RPC(0))
	raw := c.Client()
	var blockFilter, logFilter string
	if err := raw.CallContext(ctx, &blockFilter, "eth_newBlockFilter"); err != nil {
		t.Fatal(err)
	}
	greeterABI, bin := contracts.Greeter()
	ctor, _ := greeterABI.Pack("", "hello")
	key := chain.DevKey(4)
	rc := waitReceipt(t, c, sendTx(t, c, key, nil, nil, append(bin, ctor...), 0).Hash())
	addr := rc.ContractAddress
	if err := raw.CallContext(ctx, &logFilter, "eth_newFilter", map[string]any{"address": addr}); err != nil {
		t.Fatal(err)
	}
	in, _ := greeterABI.Pack("greet", "polled")
	grc := waitReceipt(t, c, sendTx(t, c, key, &addr, nil, in, 0).Hash())

	var hashes []common.Hash
	if err := raw.CallContext(ctx, &hashes, "eth_getFilterChanges", blockFilter); err != nil {
		t.Fatal(err)
	}
	if len(hashes) == 0 || !slices.Contains(hashes, grc.BlockHash) {
		t.Fatalf("block filter did not report block %s", grc.BlockHash)
	}
	var logs []types.Log
	if err := raw.CallContext(ctx, &logs, "eth_getFilterChanges", logFilter); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].TxHash != grc.TxHash {
		t.Fatalf("log filter reported %d logs", len(logs))
	}
	if err := raw.CallContext(ctx, &logs, "eth_getFilterChanges", logFilter); err != nil || len(logs) != 0 {
		t.Fatalf("log reported twice: %d, %v", len(logs), err)
	}
	var removed bool
	if err := raw.CallContext(ctx, &removed, "eth_uninstallFilter", logFilter); err != nil || !removed {
		t.Fatalf("uninstall: %v %v", removed, err)
	}
	if err := raw.CallContext(ctx, &logs, "eth_getFilterChanges", logFilter); err == nil || !strings.Contains(err.Error(), "filter not found") {
		t.Fatalf("removed filter answered: %v", err)
	}
}
