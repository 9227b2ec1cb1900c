package devnet

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
	"github.com/cairn-dev/cairn/rollup"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func balance(t *testing.T, c *ethclient.Client, a common.Address, at *big.Int) *big.Int {
	t.Helper()
	b, err := c.BalanceAt(context.Background(), a, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A user deposits through the portal with a plain transfer, pays someone on
// L2, deploys and calls a contract there; the verifier, reading L1 only,
// reaches the same blocks, and both report them safe.
func TestRollupEndToEnd(t *testing.T) {
	d := startDevnet(t, Config{Validators: 2})
	ctx := context.Background()
	r := d.Rollup
	l1c := dial(t, d.L1RPC(0))
	seq := dial(t, r.Sequencer.RPCURL())
	ver := dial(t, r.Verifier.RPCURL())

	if id, err := seq.ChainID(ctx); err != nil || id.Uint64() != rollup.DefaultL2ChainID {
		t.Fatalf("L2 chain ID %v, %v", id, err)
	}
	var layers []cairnrpc.Layer
	if err := l1c.Client().CallContext(ctx, &layers, "cairn_layers"); err != nil || len(layers) != 2 {
		t.Fatalf("cairn_layers: %v %v", layers, err)
	}
	if l := layers[1]; l.Kind != "optimistic-rollup" || l.Contracts["portal"] != rollup.PortalAddress || l.Contracts["batchInbox"] != rollup.InboxAddress || l.RPC[0] != r.Sequencer.RPCURL() {
		t.Fatalf("rollup layer %+v", l)
	}

	// Deposit: 3 ETH sent to the portal from an ordinary L1 account.
	user := chain.DevKey(5)
	userAddr := chain.DevAddress(5)
	before := balance(t, seq, userAddr, nil)
	portal := rollup.PortalAddress
	dep := sendTx(t, l1c, user, &portal, new(big.Int).Mul(big.NewInt(3), big.NewInt(params.Ether)), nil, 21_000)
	if rc := waitReceipt(t, l1c, dep.Hash()); rc.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deposit failed on L1")
	}
	want := new(big.Int).Add(before, new(big.Int).Mul(big.NewInt(3), big.NewInt(params.Ether)))
	waitFor(t, "the deposit on L2", 20*time.Second, func() bool { return balance(t, seq, userAddr, nil).Cmp(want) == 0 })

	// A transfer on L2, soft-confirmed by the sequencer's receipt, with the
	// L1 data fee in it.
	to := common.Address{0x42, 0x42}
	tx := sendTx(t, seq, user, &to, big.NewInt(params.Ether), nil, 21_000)
	rc := waitReceipt(t, seq, tx.Hash())
	var raw map[string]any
	if err := seq.Client().CallContext(ctx, &raw, "eth_getTransactionReceipt", tx.Hash()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"l1Fee", "l1GasUsed", "l1GasPrice"} {
		if _, ok := raw[f]; !ok {
			t.Fatalf("receipt lacks %s: %v", f, raw)
		}
	}
	if used := hexutil.MustDecodeUint64(raw["l1GasUsed"].(string)); used < 16*rollup.MinDataSize {
		t.Fatalf("l1GasUsed %d below the minimum", used)
	}

	// A contract on L2.
	greeterABI, bin := contracts.Greeter()
	ctor, _ := greeterABI.Pack("", "hello from L2")
	deploy := sendTx(t, seq, user, nil, nil, append(bin, ctor...), 0)
	drc := waitReceipt(t, seq, deploy.Hash())
	if drc.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deploy failed")
	}
	greet, _ := greeterABI.Pack("greeting")

	// The verifier derives the same blocks from L1 and serves them as safe.
	last := drc.BlockNumber
	waitFor(t, "the verifier to derive the contract's block", 2*time.Minute, func() bool {
		h, err := ver.HeaderByNumber(ctx, big.NewInt(int64(rpc.SafeBlockNumber)))
		return err == nil && h.Number.Cmp(last) >= 0
	})
	for _, n := range []*big.Int{rc.BlockNumber, last} {
		hs, _ := seq.HeaderByNumber(ctx, n)
		hv, _ := ver.HeaderByNumber(ctx, n)
		if hs == nil || hv == nil || hs.Hash() != hv.Hash() || hs.Root != hv.Root {
			t.Fatalf("block %d differs between sequencer and verifier", n)
		}
	}
	out, err := ver.CallContract(ctx, ethereum.CallMsg{To: &drc.ContractAddress, Data: greet}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := greeterABI.Unpack("greeting", out); len(res) != 1 || res[0].(string) != "hello from L2" {
		t.Fatalf("verifier's greeting %v", res)
	}
	if got := balance(t, ver, to, nil); got.Cmp(big.NewInt(params.Ether)) != 0 {
		t.Fatalf("verifier: recipient has %v", got)
	}
	waitFor(t, "the sequencer's safe head", 20*time.Second, func() bool {
		h, err := seq.HeaderByNumber(ctx, big.NewInt(int64(rpc.SafeBlockNumber)))
		return err == nil && h.Number.Cmp(last) >= 0
	})
	// The devnet's batcher posts in blobs, which the verifier read back
	// through the L1's Beacon API.
	if st := r.Batcher.Stats(); st.Blobs == 0 || r.Config.DA != rollup.DABlobs {
		t.Fatalf("the batcher posted %d blobs in mode %s", st.Blobs, r.Config.DA)
	}
	// A verifier forwards transactions to the sequencer.
	fwd := sendTx(t, ver, user, &to, big.NewInt(1), nil, 21_000)
	waitReceipt(t, seq, fwd.Hash())
}

// With --l2-da committee, the rollup's data goes to five committee members
// and the L1 gets certificates; with sampling, to two storage nodes and the
// L1 gets square roots. Either way the verifier derives the sequencer's
// chain.
func TestRollupCommittee(t *testing.T) {
	for _, mode := range []rollup.DA{rollup.DACommittee, rollup.DASampling} {
		t.Run(string(mode), func(t *testing.T) { testRollupDA(t, mode) })
	}
}

func testRollupDA(t *testing.T, mode rollup.DA) {
	d := startDevnet(t, Config{Validators: 1, Rollup: RollupOptions{DA: string(mode)}})
	ctx := context.Background()
	r := d.Rollup
	seq := dial(t, r.Sequencer.RPCURL())
	ver := dial(t, r.Verifier.RPCURL())
	to := common.Address{0x42, 0x43}
	rc := waitReceipt(t, seq, sendTx(t, seq, chain.DevKey(5), &to, big.NewInt(7), nil, 21_000).Hash())
	waitFor(t, "the verifier's safe head", 30*time.Second, func() bool {
		h, err := ver.HeaderByNumber(ctx, big.NewInt(int64(rpc.SafeBlockNumber)))
		return err == nil && h.Number.Cmp(rc.BlockNumber) >= 0
	})
	if got := balance(t, ver, to, nil); got.Cmp(big.NewInt(7)) != 0 {
		t.Fatalf("verifier: recipient has %v", got)
	}
	if st := r.Batcher.Stats(); st.Certified == 0 || len(r.Committee)+len(r.Storage) == 0 {
		t.Fatalf("batcher %+v, %d members, %d storage nodes", st, len(r.Committee), len(r.Storage))
	}
}
