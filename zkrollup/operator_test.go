package zkrollup

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// zkSystem is an L1 mined by hand with the ZK rollup's contract, and an
// operator that moves by Step: the test mines and steps each in turn.
type zkSystem struct {
	t      *testing.T
	ctx    context.Context
	l1     *wingtest.L1Miner
	params VerifierParams
	keys   *Keys
	dir    string
	w      *world
	op     *Operator
	stop   func()
}

var operatorKey = chain.DevKey(103)

func newZKSystem(t *testing.T, keys *Keys, users int) *zkSystem {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	w := newWorld(users)
	w.l1[0], w.l2[0] = operatorKey, L2Key(operatorKey) // user 0 runs the operator
	alloc := types.GenesisAlloc{crypto.PubkeyToAddress(operatorKey.PublicKey): {Balance: new(big.Int).Mul(big.NewInt(params.Ether), big.NewInt(100))}}
	for i := range users {
		alloc[w.addr(uint64(i))] = types.Account{Balance: new(big.Int).Mul(big.NewInt(params.Ether), big.NewInt(100))}
	}
	p := VerifierParams{Slots: keys.Slots, Depth: keys.Depth, GenesisRoot: rootBytes(GenesisTree(keys.Depth, crypto.PubkeyToAddress(operatorKey.PublicKey)).Root()),
		Operator: crypto.PubkeyToAddress(operatorKey.PublicKey), PriorityDeadline: 20, GenesisAccounts: []common.Address{crypto.PubkeyToAddress(operatorKey.PublicKey)},
		L1ChainID: wingtest.L1MinerChainID}
	w.tree.SetDomain(p.Domain())
	m, err := wingtest.NewL1Miner(alloc, NewVerifier(p))
	if err != nil {
		t.Fatal(err)
	}
	s := &zkSystem{t: t, ctx: ctx, l1: m, params: p, keys: keys, dir: t.TempDir(), w: w, stop: func() {}}
	t.Cleanup(func() {
		if s.op != nil {
			s.op.Close()
		}
		s.stop()
		m.Close()
		cancel()
	})
	return s
}

func (s *zkSystem) startOperator() {
	s.t.Helper()
	if s.op != nil {
		s.op.Close()
	}
	op, err := StartOperator(s.ctx, OperatorConfig{Params: s.params, L1: s.l1.Client(), Key: operatorKey, Keys: s.keys,
		DataDir: s.dir, RPCAddr: "127.0.0.1:0", Manual: true})
	if err != nil {
		s.t.Fatal(err)
	}
	s.op = op
}

// l1Tx sends an L1 transaction to the contract from user i and mines it.
func (s *zkSystem) l1Tx(i uint64, wei *big.Int, method string, args ...any) *types.Receipt {
	s.t.Helper()
	var in []byte
	if method != "" {
		in, _ = VerifierABI.Pack(method, args...)
	}
	return s.mined(ethtx.Send(s.ctx, s.l1.Client(), s.w.l1[i], VerifierAddress, wei, in, 500_000))
}

// mined mines the block that includes tx and returns its receipt.
func (s *zkSystem) mined(tx *types.Transaction, err error) *types.Receipt {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	if _, _, err := s.l1.Mine(); err != nil {
		s.t.Fatal(err)
	}
	r, err := s.l1.Client().TransactionReceipt(s.ctx, tx.Hash())
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// step moves the operator and L1 in turn until every batch is verified:
// the operator sends what it has proven, L1 mines it, the operator sees it.
func (s *zkSystem) step() {
	s.t.Helper()
	for range 16 {
		if err := s.op.Step(s.ctx, true); err != nil {
			s.t.Fatal(err)
		}
		if s.op.Settled() {
			return
		}
		if _, _, err := s.l1.Mine(); err != nil {
			s.t.Fatal(err)
		}
	}
	s.t.Fatal("the operator did not settle in 16 rounds")
}

// autoMine mines a block every few milliseconds until the test ends, for
// an operator on its own goroutines.
func (s *zkSystem) autoMine() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				s.l1.Mine()
			}
		}
	}()
	s.stop = func() { close(done); wg.Wait() }
}

func (s *zkSystem) client() *Client {
	s.t.Helper()
	c, err := DialOperator(s.ctx, s.op.RPCURL())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(c.Close)
	return c
}

func (s *zkSystem) balance(i uint64) *big.Int {
	b, err := s.l1.Client().BalanceAt(s.ctx, s.w.addr(i), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func testKeys(t *testing.T) *Keys {
	t.Helper()
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	k, err := LoadKeys(t.TempDir(), 2, testDepth, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The operator's story over real sockets and proofs: users deposit on L1,
// register and transfer over JSON-RPC, withdraw to L1; the operator
// restarts with ops accepted but not yet in a batch and loses none; bad ops
// get clear errors; then the operator vanishes, a user's exit request goes
// unanswered, and the user leaves with a Merkle proof rebuilt from L1 alone.
func TestOperatorStory(t *testing.T) {
	s := newZKSystem(t, testKeys(t), 4)
	s.startOperator()
	c := s.client()
	w := s.w

	// Users 1 and 2 deposit 1 ETH each; the operator takes the deposits
	// from L1, opens their accounts and proves the batch.
	for i := uint64(1); i <= 2; i++ {
		if r := s.l1Tx(i, big.NewInt(params.Ether), ""); r.Status != types.ReceiptStatusSuccessful {
			t.Fatal("deposit failed")
		}
	}
	// The operator installs its verifying key, then sends the batch; L1
	// drops that transaction (as a recheck does when the base fee outgrew
	// its fee cap), and the operator, finding it gone, sends it again at
	// once rather than wait out SubmitTimeout.
	if err := s.op.Step(s.ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.l1.Mine(); err != nil {
		t.Fatal(err)
	}
	if err := s.op.Step(s.ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := s.l1.DropPending(); n != 1 {
		t.Fatalf("%d transactions waiting on L1, want the operator's batch", n)
	}
	if err := s.op.Step(s.ctx, true); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("the operator did not notice its batch dropped: %v", err)
	}
	s.step()
	for i := uint64(1); i <= 2; i++ {
		idx, err := c.AccountIndex(s.ctx, w.addr(i))
		if err != nil || idx != i {
			t.Fatalf("user %d has account %d: %v", i, idx, err)
		}
		if a, _ := c.Account(s.ctx, i); a.VerifiedBalance != 1_000_000_000 {
			t.Fatalf("account %d: %+v", i, a)
		}
	}

	// Register over RPC, transfer, withdraw.
	for i := uint64(1); i <= 2; i++ {
		reg := w.register(t, i)
		if _, err := c.Send(s.ctx, &reg); err != nil {
			t.Fatal(err)
		}
	}
	tr := w.transfer(t, 1, 2, 250_000_000, 1_000, 0)
	if _, err := c.Send(s.ctx, &tr); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(s.ctx, &tr); !errors.Is(err, nil) && !strings.Contains(err.Error(), ErrNonce.Error()) {
		t.Fatalf("replayed transfer: %v", err)
	} else if err == nil {
		t.Fatal("a replayed transfer was accepted")
	}
	forged := w.signed(t, Op{Type: OpTransfer, Account: 2, To: 1, Amount: 1, Nonce: 0}, 1)
	if _, err := c.Send(s.ctx, &forged); err == nil || !strings.Contains(err.Error(), ErrBadSignature.Error()) {
		t.Fatalf("transfer signed by another key: %v", err)
	}
	// Amounts and fees travel packed in the public data: ones that do not
	// pack are refused at once, before they could wedge a batch (and the
	// restart below, which replays the journal).
	for _, bad := range []Op{w.transfer(t, 1, 2, 1, 2049, 1), w.transfer(t, 1, 2, 1<<35+1, 0, 1)} {
		if _, err := c.Send(s.ctx, &bad); err == nil || !strings.Contains(err.Error(), ErrAmountNotPacked.Error()) {
			t.Fatalf("unpackable transfer (amount %d, fee %d): %v", bad.Amount, bad.Fee, err)
		}
	}
	wd := w.withdraw(t, 2, 100_000_000, 0, 0)
	if _, err := c.Send(s.ctx, &wd); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Account(s.ctx, 2); a.Balance != 1_150_000_000 || a.VerifiedBalance != 1_000_000_000 {
		t.Fatalf("soft confirmation: %+v", a)
	}
	before := s.balance(2)

	// A restart before the ops are in a batch loses none of them.
	s.startOperator()
	c = s.client()
	if a, _ := c.Account(s.ctx, 2); a.Balance != 1_150_000_000 {
		t.Fatalf("after a restart: %+v", a)
	}
	s.step()
	if got := new(big.Int).Sub(s.balance(2), before); got.Cmp(big.NewInt(100_000_000*params.GWei)) != 0 {
		t.Fatalf("the withdrawal paid %v wei on L1", got)
	}
	st, _ := c.Status(s.ctx)
	if st.Verified != st.Batches || st.Verified < 3 {
		t.Fatalf("status: %+v", st)
	}
	for i := range st.Batches {
		if b, err := c.Batch(s.ctx, uint64(i)); err != nil || b.Status != BatchVerified {
			t.Fatalf("batch %d: %+v %v", i, b, err)
		}
	}

	if a, _ := c.Account(s.ctx, 0); a.VerifiedBalance != 1_000 {
		t.Fatalf("the operator's fee account: %+v", a)
	}

	// The operator is gone. User 1 asks to exit on L1; nobody answers.
	s.op.Close()
	s.op = nil
	s.l1Tx(1, nil, "requestExit", uint32(1))
	if r := s.l1Tx(3, nil, "activateExitMode"); r.Status == types.ReceiptStatusSuccessful {
		t.Fatal("exit mode before the deadline")
	}
	if err := s.l1.MineN(int(s.params.PriorityDeadline) + 1); err != nil {
		t.Fatal(err)
	}
	if r := s.l1Tx(3, nil, "activateExitMode"); r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("exit mode refused after the deadline")
	}
	tree, err := RebuildFromL1(s.ctx, s.l1.Client(), s.params)
	if err != nil {
		t.Fatal(err)
	}
	want := tree.Account(1).Balance
	if want != 1_000_000_000-250_000_000-1_000 {
		t.Fatalf("account 1 rebuilt from L1 holds %d gwei", want)
	}
	data, err := ExitCalldata(tree, 1)
	if err != nil {
		t.Fatal(err)
	}
	before = s.balance(1)
	r := s.mined(ethtx.Send(s.ctx, s.l1.Client(), w.l1[1], VerifierAddress, nil, data, 500_000))
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("exit failed")
	}
	fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
	if got := new(big.Int).Sub(new(big.Int).Add(s.balance(1), fee), before); got.Cmp(new(big.Int).Mul(new(big.Int).SetUint64(want), big.NewInt(params.GWei))) != 0 {
		t.Fatalf("the exit paid %v wei", got)
	}
}

// The pipeline on its own goroutines: while batches are proven and
// submitted, new transfers keep arriving over JSON-RPC; every one ends up
// verified on L1 and L1's root is the operator's.
func TestOperatorPipeline(t *testing.T) {
	s := newZKSystem(t, testKeys(t), 3)
	s.autoMine()
	op, err := StartOperator(s.ctx, OperatorConfig{Params: s.params, L1: s.l1.Client(), Key: operatorKey, Keys: s.keys,
		DataDir: s.dir, RPCAddr: "127.0.0.1:0", BatchTimeout: 50 * time.Millisecond, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.op = op
	c := s.client()
	w := s.w
	for i := uint64(1); i <= 2; i++ {
		s.l1Tx(i, big.NewInt(params.Ether), "")
	}
	for i := uint64(1); i <= 2; i++ {
		reg := w.register(t, i)
		for {
			if _, err := c.Send(s.ctx, &reg); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond) // until the operator has taken the deposit
		}
	}
	for n := range uint64(6) {
		from, to := 1+n%2, 2-n%2
		tr := w.transfer(t, from, to, 1_000+n, 0, n/2)
		if _, err := c.Send(s.ctx, &tr); err != nil {
			t.Fatalf("transfer %d: %v", n, err)
		}
	}
	for {
		st, err := c.Status(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && st.Verified == st.Batches {
			out, err := (&l1Contract{c: s.l1.Client()}).call(s.ctx, "stateRoot")
			if err != nil || common.Hash(out[0].([32]byte)) != st.VerifiedRoot {
				t.Fatalf("L1 root %v, operator's %s: %v", out, st.VerifiedRoot, err)
			}
			if a, _ := c.Account(s.ctx, 1); a.VerifiedNonce != 3 || a.VerifiedBalance != a.Balance {
				t.Fatalf("account 1: %+v", a)
			}
			return
		}
		select {
		case <-s.ctx.Done():
			t.Fatalf("not all verified: %+v", st)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
