package rpc

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
)

const testChainID = 4321

// sealer is a Backend that puts every transaction in a block of its own at
// once: the smallest chain the RPC layer can serve.
type sealer struct {
	mu    sync.Mutex
	store *chain.Store
	exec  *chain.Executor
}

func newSealer(t *testing.T) *sealer {
	t.Helper()
	store, err := chain.Open("", &chain.Genesis{ChainID: testChainID, Alloc: types.GenesisAlloc{
		chain.DevAddress(0): {Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &sealer{store: store, exec: chain.NewExecutor(store.Config(), store, nil)}
}

func (s *sealer) Chain() *chain.Store       { return s.store }
func (s *sealer) Executor() *chain.Executor { return s.exec }
func (s *sealer) Layers() []Layer           { return nil }
func (s *sealer) PendingTransaction(common.Hash) *types.Transaction {
	return nil
}
func (s *sealer) PendingNonce(a common.Address) (uint64, error) {
	st, err := s.store.StateAt(s.store.Head().Root)
	if err != nil {
		return 0, err
	}
	return st.GetNonce(a), nil
}

func (s *sealer) SendTransaction(_ context.Context, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return err
	}
	head := s.store.Head()
	st, err := s.store.StateAt(head.Root)
	if err != nil {
		return err
	}
	res, err := s.exec.Build(head, st, chain.Env{Time: head.Time + 1}, []*types.Transaction{tx})
	if err != nil {
		return err
	}
	if len(res.Skipped) > 0 {
		return res.Skipped[0].Err
	}
	return s.store.Commit(res)
}

// seal mines n empty blocks.
func (s *sealer) seal(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		head := s.store.Head()
		st, _ := s.store.StateAt(head.Root)
		res, err := s.exec.Build(head, st, chain.Env{Time: head.Time + 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.Commit(res); err != nil {
			t.Fatal(err)
		}
	}
}

func serve(t *testing.T, b Backend, limits Limits) (*ethclient.Client, *gethrpc.Client) {
	t.Helper()
	srv, err := NewServer(b, Options{ClientVersion: "test", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	raw, err := gethrpc.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	return ethclient.NewClient(raw), raw
}

func send(t *testing.T, c *ethclient.Client, to *common.Address, data []byte, gas uint64) *types.Receipt {
	t.Helper()
	ctx := context.Background()
	key := chain.DevKey(0)
	nonce, _ := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	tx := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(testChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: nonce, Gas: gas, To: to, Data: data,
		GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(10 * params.GWei)})
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	r, err := c.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// deployGreeter deploys the Greeter contract and returns its ABI, address
// and deployment receipt.
func deployGreeter(t *testing.T, c *ethclient.Client) (abi.ABI, common.Address, *types.Receipt) {
	t.Helper()
	greeterABI, bin := contracts.Greeter()
	ctor, _ := greeterABI.Pack("", "hi")
	r := send(t, c, nil, append(bin, ctor...), 2_000_000)
	return greeterABI, r.ContractAddress, r
}

// Storage slots, block tags and historical state.
func TestStateQueries(t *testing.T) {
	b := newSealer(t)
	c, raw := serve(t, b, DefaultLimits)
	ctx := context.Background()
	_, addr, r := deployGreeter(t, c)
	b.seal(t, 2)

	// Slot 1 is `count`: zero; slot 0 holds the short string "hi".
	for _, slot := range []string{"0x0", "0x00", "0x1", "0x0000000000000000000000000000000000000000000000000000000000000000"} {
		var v hexutil.Bytes
		if err := raw.CallContext(ctx, &v, "eth_getStorageAt", addr, slot, "latest"); err != nil {
			t.Fatalf("slot %s: %v", slot, err)
		}
		if len(v) != 32 {
			t.Fatalf("slot %s: %d bytes", slot, len(v))
		}
	}
	var v hexutil.Bytes
	if err := raw.CallContext(ctx, &v, "eth_getStorageAt", addr, "0x"+strings.Repeat("ab", 33), "latest"); err == nil {
		t.Fatal("a 33-byte slot was accepted")
	}
	// Tags: latest, safe and finalized are the head; earliest is genesis.
	head, _ := c.HeaderByNumber(ctx, nil)
	for _, tag := range []string{"latest", "safe", "finalized", "pending"} {
		var h map[string]any
		if err := raw.CallContext(ctx, &h, "eth_getBlockByNumber", tag, false); err != nil || h["hash"] != head.Hash().Hex() {
			t.Fatalf("tag %s: %v %v", tag, h["hash"], err)
		}
	}
	if g, err := c.HeaderByNumber(ctx, big.NewInt(0)); err != nil || g.Hash() != b.store.Genesis().Hash() {
		t.Fatal("block 0 is not the genesis")
	}
	// State at an older block: no code before the deployment.
	if code, err := c.CodeAt(ctx, addr, new(big.Int).Sub(r.BlockNumber, common.Big1)); err != nil || len(code) != 0 {
		t.Fatalf("code before deployment: %d bytes, %v", len(code), err)
	}
	if _, err := c.BalanceAt(ctx, addr, big.NewInt(1000)); err == nil {
		t.Fatal("state of a future block answered")
	}
}

// eth_call and eth_estimateGas: plain transfers, contract calls, reverts.
func TestCallAndEstimate(t *testing.T) {
	b := newSealer(t)
	c, _ := serve(t, b, DefaultLimits)
	ctx := context.Background()
	greeterABI, addr, _ := deployGreeter(t, c)
	from := chain.DevAddress(0)

	to := common.HexToAddress("0x1234")
	if gas, err := c.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, Value: big.NewInt(1)}); err != nil || gas != params.TxGas {
		t.Fatalf("transfer estimate %d, %v", gas, err)
	}
	in, _ := greeterABI.Pack("greet", "a longer greeting than before")
	gas, err := c.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &addr, Data: in})
	if err != nil {
		t.Fatal(err)
	}
	// The estimate is enough, and within go-ethereum's 1.5% of what was used.
	r := send(t, c, &addr, in, gas)
	if r.Status != types.ReceiptStatusSuccessful || gas > r.GasUsed*1015/1000+1 {
		t.Fatalf("estimate %d, used %d, status %d", gas, r.GasUsed, r.Status)
	}
	// A call at a price the sender cannot pay for is refused.
	broke := common.HexToAddress("0xdead")
	if _, err := c.EstimateGas(ctx, ethereum.CallMsg{From: broke, To: &to, Value: big.NewInt(1), GasPrice: big.NewInt(1)}); err == nil {
		t.Fatal("estimate for a sender without funds succeeded")
	}
	countIn, _ := greeterABI.Pack("count")
	out, err := c.CallContract(ctx, ethereum.CallMsg{To: &addr, Data: countIn}, nil)
	if err != nil || new(big.Int).SetBytes(out).Uint64() != 1 {
		t.Fatalf("count %x, %v", out, err)
	}
	bad, _ := greeterABI.Pack("greet", "")
	_, err = c.CallContract(ctx, ethereum.CallMsg{To: &addr, Data: bad}, nil)
	if err == nil || !strings.Contains(err.Error(), "execution reverted: empty greeting") || !hasData(err) {
		t.Fatalf("revert: %v", err)
	}
}

// eth_getLogs refuses ranges and results over the limits, with an error.
func TestLogLimits(t *testing.T) {
	b := newSealer(t)
	limits := DefaultLimits
	limits.LogBlockRange, limits.MaxLogs = 5, 1
	c, _ := serve(t, b, limits)
	ctx := context.Background()
	greeterABI, addr, _ := deployGreeter(t, c)
	for _, g := range []string{"one", "two"} {
		in, _ := greeterABI.Pack("greet", g)
		send(t, c, &addr, in, 200_000)
	}
	b.seal(t, 6)
	if _, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(0)}); err == nil || !strings.Contains(err.Error(), "block range too large") {
		t.Fatalf("wide range: %v", err)
	}
	head, _ := c.BlockNumber(ctx)
	if _, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(int64(head - 4))}); err != nil {
		t.Fatalf("narrow range: %v", err)
	}
	if _, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(1), ToBlock: big.NewInt(4)}); err == nil || !strings.Contains(err.Error(), "too many logs") {
		t.Fatalf("too many logs: %v", err)
	}
	if _, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(4), ToBlock: big.NewInt(2)}); err == nil {
		t.Fatal("reversed range accepted")
	}
}

// hasData reports whether a JSON-RPC error carries data (revert data).
func hasData(err error) bool {
	de, ok := err.(gethrpc.DataError)
	return ok && de.ErrorData() != nil
}
