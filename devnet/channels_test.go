package devnet

import (
	"context"
	"math/big"
	"testing"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/channels"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

// The devnet's channel network as a user meets it: the nodes are listed in
// cairn_layers, channels 4–5 and 5–6 are open, and account 4 pays an
// invoice of account 6 at once, over 5.
func TestChannelNetworkOnTheDevnet(t *testing.T) {
	d := startAny(t, Config{Validators: 2, Rollup: RollupOptions{RPCPort: -1}, Sidechain: SidechainOptions{RPCPort: -1}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l1c, err := gethrpc.DialContext(ctx, d.L1RPC(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l1c.Close()
	var layers []cairnrpc.Layer
	if err := l1c.CallContext(ctx, &layers, "cairn_layers"); err != nil {
		t.Fatal(err)
	}
	var pc *cairnrpc.Layer
	for i := range layers {
		if layers[i].Kind == channels.WingName {
			pc = &layers[i]
		}
	}
	if pc == nil || len(pc.RPC) != 3 || pc.Contracts["adjudicator"] != channels.AdjudicatorAddress {
		t.Fatalf("no payment-channels layer with three nodes: %+v", layers)
	}
	node := func(i int) *gethrpc.Client {
		c, err := gethrpc.DialContext(ctx, pc.RPC[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	var inv channels.InvoiceResult
	if err := node(2).CallContext(ctx, &inv, "ch_invoice", "0x2386f26fc10000", "test"); err != nil { // 0.01 ETH
		t.Fatal(err)
	}
	var res channels.PayResult
	if err := node(0).CallContext(ctx, &res, "ch_pay", inv.Invoice); err != nil {
		t.Fatal(err)
	}
	if res.Status != channels.PaymentSucceeded || res.Hops != 2 {
		t.Fatalf("payment: %+v", res)
	}
	var bal channels.BalanceResult
	if err := node(2).CallContext(ctx, &bal, "ch_balance"); err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Add(ChannelDeposit, big.NewInt(10_000_000_000_000_000))
	waitFor(t, "account 6's balance", 10*time.Second, func() bool {
		_ = node(2).CallContext(ctx, &bal, "ch_balance")
		return (*big.Int)(bal.Local).Cmp(want) == 0
	})
}
