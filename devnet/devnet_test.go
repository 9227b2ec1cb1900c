package devnet

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	cairnrpc "github.com/cairn-dev/cairn/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// startDevnet starts a devnet on free ports for one test (4 validators and
// 100 ms blocks unless cfg says otherwise), stops it at the end, and waits
// for its first block.
func startDevnet(t *testing.T, cfg Config) *Devnet {
	t.Helper()
	if cfg.Channels.RPCPort == 0 {
		cfg.Channels.RPCPort = -1 // the channel network only where a test asks (startAny)
	}
	if cfg.Sidechain.RPCPort == 0 {
		cfg.Sidechain.RPCPort = -1 // the sidechain likewise
	}
	return startAny(t, cfg)
}

func startAny(t *testing.T, cfg Config) *Devnet {
	t.Helper()
	cfg.BlockTime = cmp.Or(cfg.BlockTime, 100*time.Millisecond)
	if cfg.ZK.Slots == 0 {
		cfg.ZK.RPCPort = -1 // the ZK rollup only where a test sizes it small
	}
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.L1.WaitHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

var dial = wingtest.Dial

// sendTx signs a dynamic-fee transaction from key and submits it.
func sendTx(t *testing.T, c *ethclient.Client, key *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64) *types.Transaction {
	t.Helper()
	tx, err := signTx(c, key, to, value, data, gas)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(context.Background(), tx); err != nil {
		t.Fatalf("send: %v", err)
	}
	return tx
}

func signTx(c *ethclient.Client, key *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	ctx := context.Background()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, err
	}
	tip, err := c.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, err
	}
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	if gas == 0 {
		gas, err = c.EstimateGas(ctx, ethereum.CallMsg{From: from, To: to, Value: value, Data: data})
		if err != nil {
			return nil, err
		}
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	return types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data,
	})
}

func waitReceipt(t *testing.T, c *ethclient.Client, hash common.Hash) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		r, err := c.TransactionReceipt(ctx, hash)
		if err == nil {
			return r
		}
		if !errors.Is(err, ethereum.NotFound) {
			t.Fatalf("receipt %s: %v", hash, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no receipt for %s", hash)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A user transfers ETH, deploys a contract compiled from Solidity, calls it,
// reads its events, and every validator agrees.
func TestDevnetEndToEnd(t *testing.T) {
	d := startDevnet(t, Config{})
	ctx := context.Background()
	c0 := dial(t, d.L1RPC(0))
	c2 := dial(t, d.L1RPC(2))

	id, err := c0.ChainID(ctx)
	if err != nil || id.Uint64() != DefaultL1ChainID {
		t.Fatalf("chain ID %v, %v", id, err)
	}

	// Transfer, with the gas the node estimates.
	alice, bob := chain.DevKey(0), common.HexToAddress("0x000000000000000000000000000000000000b0b0")
	oneEth := big.NewInt(params.Ether)
	if gas, err := c0.EstimateGas(ctx, ethereum.CallMsg{From: crypto.PubkeyToAddress(alice.PublicKey), To: &bob, Value: oneEth}); err != nil || gas != 21000 {
		t.Fatalf("estimate of a transfer: %d, %v", gas, err)
	}
	tx := sendTx(t, c0, alice, &bob, oneEth, nil, 0)
	// Found at once, pending or mined.
	if got, _, err := c0.TransactionByHash(ctx, tx.Hash()); err != nil || got.Hash() != tx.Hash() {
		t.Fatalf("transaction by hash right after sending: %v", err)
	}
	rcpt := waitReceipt(t, c0, tx.Hash())
	if rcpt.Status != types.ReceiptStatusSuccessful || rcpt.GasUsed != 21000 {
		t.Fatalf("transfer receipt: status %d gas %d", rcpt.Status, rcpt.GasUsed)
	}
	if err := d.L1.WaitHeight(context.Background(), rcpt.BlockNumber.Uint64()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*ethclient.Client{c0, c2} {
		bal, err := c.BalanceAt(ctx, bob, rcpt.BlockNumber)
		if err != nil || bal.Cmp(oneEth) != 0 {
			t.Fatalf("bob's balance %v, %v", bal, err)
		}
	}
	// The sender paid value + gas at the effective price; the base fee burned.
	block, err := c2.BlockByNumber(ctx, rcpt.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	if block.Hash() != rcpt.BlockHash || block.Transactions()[rcpt.TransactionIndex].Hash() != tx.Hash() {
		t.Fatal("validator 2 disagrees on the block")
	}
	wantPrice := new(big.Int).Add(block.BaseFee(), tx.EffectiveGasTipValue(block.BaseFee()))
	if rcpt.EffectiveGasPrice.Cmp(wantPrice) != 0 {
		t.Fatalf("effective gas price %v, want %v", rcpt.EffectiveGasPrice, wantPrice)
	}

	// Deploy a contract compiled from Solidity with solc's defaults.
	greeterABI, bin := contracts.Greeter()
	ctor, _ := greeterABI.Pack("", "hello")
	deploy := sendTx(t, c0, alice, nil, nil, append(bin, ctor...), 0)
	drc := waitReceipt(t, c0, deploy.Hash())
	if drc.Status != types.ReceiptStatusSuccessful || drc.ContractAddress == (common.Address{}) {
		t.Fatalf("deploy failed: %+v", drc)
	}
	greeter := drc.ContractAddress
	code, err := c0.CodeAt(ctx, greeter, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("no code at %s: %v", greeter, err)
	}
	call := func(method string, args ...any) []any {
		t.Helper()
		in, err := greeterABI.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c0.CallContract(ctx, ethereum.CallMsg{To: &greeter, Data: in}, nil)
		if err != nil {
			t.Fatalf("call %s: %v", method, err)
		}
		res, err := greeterABI.Unpack(method, out)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := call("greeting")[0].(string); got != "hello" {
		t.Fatalf("greeting %q", got)
	}

	// A reverting call is refused by estimateGas with the reason.
	bad, _ := greeterABI.Pack("greet", "")
	_, err = c0.EstimateGas(ctx, ethereum.CallMsg{From: crypto.PubkeyToAddress(alice.PublicKey), To: &greeter, Data: bad})
	if err == nil || !strings.Contains(err.Error(), "execution reverted: empty greeting") {
		t.Fatalf("estimateGas of a revert: %v", err)
	}
	var dataErr rpc.DataError
	if !errors.As(err, &dataErr) || dataErr.ErrorData() == nil {
		t.Fatalf("revert error carries no data: %v", err)
	}

	// Call it and read its event.
	in, _ := greeterABI.Pack("greet", "hi from cairn")
	gtx := sendTx(t, c0, alice, &greeter, nil, in, 0)
	grc := waitReceipt(t, c0, gtx.Hash())
	if grc.Status != types.ReceiptStatusSuccessful || len(grc.Logs) != 1 {
		t.Fatalf("greet receipt: %+v", grc)
	}
	logs, err := c0.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: big.NewInt(0), Addresses: []common.Address{greeter},
		Topics: [][]common.Hash{{greeterABI.Events["Greeted"].ID}},
	})
	if err != nil || len(logs) != 1 {
		t.Fatalf("getLogs: %d logs, %v", len(logs), err)
	}
	ev, err := greeterABI.Unpack("Greeted", logs[0].Data)
	if err != nil || ev[0].(string) != "hi from cairn" || ev[1].(*big.Int).Uint64() != 1 {
		t.Fatalf("event %v, %v", ev, err)
	}
	if logs[0].TxHash != gtx.Hash() || logs[0].BlockHash != grc.BlockHash {
		t.Fatal("log does not point at its transaction")
	}
	if common.BytesToAddress(logs[0].Topics[1].Bytes()) != crypto.PubkeyToAddress(alice.PublicKey) {
		t.Fatal("indexed sender wrong")
	}
	if got := call("count")[0].(*big.Int); got.Uint64() != 1 {
		t.Fatalf("count %v", got)
	}

	// BLOCKHASH agrees with eth_getBlockByNumber.
	n := grc.BlockNumber.Uint64() - 1
	header, err := c0.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatal(err)
	}
	if got := call("hashOf", new(big.Int).SetUint64(n))[0].([32]byte); common.Hash(got) != header.Hash() {
		t.Fatalf("BLOCKHASH(%d) = %x, header hash %s", n, got, header.Hash())
	}
	if header.ParentHash != mustHeader(t, c0, n-1).Hash() {
		t.Fatal("parentHash does not link")
	}

	// Fee history covers recent blocks.
	fh, err := c0.FeeHistory(ctx, 4, nil, []float64{25, 75})
	if err != nil {
		t.Fatal(err)
	}
	if len(fh.BaseFee) != 5 || len(fh.GasUsedRatio) != 4 || len(fh.Reward) != 4 || len(fh.Reward[0]) != 2 {
		t.Fatalf("fee history shape: %d base fees, %d ratios, %d rewards", len(fh.BaseFee), len(fh.GasUsedRatio), len(fh.Reward))
	}

	// Finalized and safe are the head: CometBFT finality is instant.
	for _, tag := range []*big.Int{big.NewInt(int64(rpc.FinalizedBlockNumber)), big.NewInt(int64(rpc.SafeBlockNumber))} {
		if _, err := c0.HeaderByNumber(ctx, tag); err != nil {
			t.Fatalf("tag %v: %v", tag, err)
		}
	}
}

func mustHeader(t *testing.T, c *ethclient.Client, n uint64) *types.Header {
	t.Helper()
	h, err := c.HeaderByNumber(context.Background(), new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// With --metrics the devnet serves CometBFT's and the chain's own metrics,
// labelled per validator, and cairn_layers lists the L1.
func TestMetricsAndLayers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	d := startDevnet(t, Config{Validators: 2, MetricsAddr: addr})
	ctx := context.Background()
	if err := d.L1.WaitHeight(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c := dial(t, d.L1RPC(0))
	if _, err := c.BalanceAt(ctx, common.Address{}, big.NewInt(1_000_000)); err == nil {
		t.Fatal("balance at a future block answered")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`cairn_l1_height{node="validator-0"}`,
		`cairn_l1_blocks_total{node="validator-1"}`,
		`cairn_rpc_errors_total{server="validator-0"} 1`,
		`cometbft_consensus_height{chain_id="cairn-1337",node="validator-0"}`,
		`cairn_rollup_sequenced_blocks_total{node="sequencer"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A validator restarted in the same process reuses its metrics.
	if err := d.L1.RestartNode(1); err != nil {
		t.Fatal(err)
	}
	var layers []cairnrpc.Layer
	if err := c.Client().CallContext(ctx, &layers, "cairn_layers"); err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[1].Kind != "optimistic-rollup" || layers[0].ChainID != DefaultL1ChainID || len(layers[0].RPC) != 2 || layers[0].RPC[0] != d.L1RPC(0) {
		t.Fatalf("cairn_layers: %+v", layers)
	}
	var vals []cairnrpc.Validator
	if err := c.Client().CallContext(ctx, &vals, "cairn_validators"); err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || vals[0].Operator != chain.DevAddress(0) || vals[1].Power != 100 || vals[0].Jailed ||
		(*big.Int)(vals[0].Stake).Cmp(DevValidatorStake) < 0 {
		t.Fatalf("cairn_validators: %+v", vals)
	}
}
