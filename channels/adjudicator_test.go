package channels

import (
	"context"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// world is a hand-mined L1 with the adjudicator, and three accounts: the
// channel's parties A and B, and Mallory, who has no channel.
type world struct {
	t       *testing.T
	ctx     context.Context
	m       *wingtest.L1Miner
	p       Params
	a, b, x *L1
}

const testWindow = 10

func newWorld(t *testing.T) *world {
	t.Helper()
	alloc := types.GenesisAlloc{}
	for _, i := range []uint32{4, 5, 7} {
		alloc[chain.DevAddress(i)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}
	}
	p := Params{L1ChainID: wingtest.L1MinerChainID, DisputeWindow: testWindow}
	m, err := wingtest.NewL1Miner(alloc, NewAdjudicator(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	l1 := func(i uint32) *L1 { return &L1{Client: m.Client(), Key: chain.DevKey(i)} }
	return &world{t: t, ctx: context.Background(), m: m, p: p, a: l1(4), b: l1(5), x: l1(7)}
}

func eth(milli int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(milli), big.NewInt(params.Ether/1000))
}

// mined mines the transaction and returns its receipt, failing the test if
// it reverted.
func (w *world) mined(tx *types.Transaction, err error) *types.Receipt {
	w.t.Helper()
	r := w.mine(tx, err)
	if r.Status != types.ReceiptStatusSuccessful {
		w.t.Fatalf("transaction %s reverted", tx.Hash())
	}
	return r
}

func (w *world) mine(tx *types.Transaction, err error) *types.Receipt {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := w.m.Mine(); err != nil {
		w.t.Fatal(err)
	}
	r, err := w.m.Client().TransactionReceipt(w.ctx, tx.Hash())
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// refused checks that from's call with data reverts for cause, both as a
// call and as a mined transaction.
func (w *world) refused(from *L1, data []byte, cause error) {
	w.t.Helper()
	_, err := w.m.Client().CallContract(w.ctx, ethereum.CallMsg{From: from.Address(), To: &AdjudicatorAddress, Data: data, Gas: 2_000_000}, nil)
	if err == nil || !strings.Contains(err.Error(), cause.Error()) {
		w.t.Fatalf("call: got %v, want a revert for %q", err, cause)
	}
	if r := w.mine(from.sendData(w.ctx, nil, data)); r.Status != types.ReceiptStatusFailed {
		w.t.Fatalf("transaction succeeded, want a revert for %q", cause)
	}
}

func (w *world) balance(l *L1) *big.Int {
	b, err := w.m.Client().BalanceAt(w.ctx, l.Address(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) channel(id common.Hash) OnChain {
	w.t.Helper()
	ch, err := Channel(w.ctx, w.m.Client(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

// open opens a channel from A to B with each side's deposit.
func (w *world) open(depA, depB *big.Int) common.Hash {
	w.t.Helper()
	r := w.mined(w.a.Open(w.ctx, w.b.Address(), depA))
	id, err := OpenedID(r)
	if err != nil {
		w.t.Fatal(err)
	}
	w.mined(w.b.Fund(w.ctx, id, depB))
	return id
}

// signed is a state of channel id with both parties' signatures.
type signed struct {
	s          *State
	sigA, sigB []byte
}

func (w *world) sign(s *State) signed {
	w.t.Helper()
	d := w.p.Domain()
	sa, err := d.Sign(s, w.a.Key)
	if err != nil {
		w.t.Fatal(err)
	}
	sb, err := d.Sign(s, w.b.Key)
	if err != nil {
		w.t.Fatal(err)
	}
	return signed{s, sa, sb}
}

func st(id common.Hash, version uint64, balA, balB *big.Int, htlcs ...HTLC) *State {
	return &State{Channel: id, Version: version, BalanceA: balA, BalanceB: balB, HTLCs: htlcs}
}

func (w *world) pack(method string, s signed) []byte {
	w.t.Helper()
	data, err := PackState(method, s.s, s.sigA, s.sigB)
	if err != nil {
		w.t.Fatal(err)
	}
	return data
}

// gasPaid is what a receipt cost its sender.
func gasPaid(r *types.Receipt) *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
}

// Open, pay back and forth off-chain, close together: each party gets the
// final state's balance at once.
func TestCooperativeClose(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(500))
	ch := w.channel(id)
	if ch.Status != StatusOpen || ch.A != w.a.Address() || ch.B != w.b.Address() ||
		ch.DepositA.Cmp(eth(1000)) != 0 || ch.DepositB.Cmp(eth(500)) != 0 || ch.Locked.Cmp(eth(1500)) != 0 {
		t.Fatalf("channel after open and fund: %+v", ch)
	}
	final := st(id, 7, eth(700), eth(800))
	final.Final = true
	s := w.sign(final)
	beforeA, beforeB := w.balance(w.a), w.balance(w.b)
	r := w.mined(w.x.Close(w.ctx, s.s, s.sigA, s.sigB)) // anyone may send a state both signed
	if got := new(big.Int).Sub(w.balance(w.a), beforeA); got.Cmp(eth(700)) != 0 {
		t.Errorf("A got %s, want 0.7 ETH", got)
	}
	if got := new(big.Int).Sub(w.balance(w.b), beforeB); got.Cmp(eth(800)) != 0 {
		t.Errorf("B got %s, want 0.8 ETH", got)
	}
	if ch := w.channel(id); ch.Status != StatusClosed || ch.Locked.Sign() != 0 {
		t.Errorf("after close: %+v", ch)
	}
	if r.GasUsed > 112_000 {
		t.Errorf("cooperative close used %d gas, go-nitro's is 112k", r.GasUsed)
	}
	// Closed means closed: the same state again, or a force close, fails.
	w.refused(w.a, w.pack("close", s), ErrStatus)
	notFinal := w.sign(st(id, 8, eth(1500), eth(0)))
	w.refused(w.a, w.pack("forceClose", notFinal), ErrStatus)
}

// A closes alone with the newest state; B does not answer; after the window
// anyone concludes and each gets that state's balance.
func TestUnilateralCloseConcludesAfterTheWindow(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	s := w.sign(st(id, 3, eth(400), eth(1600)))
	w.mined(w.a.ForceClose(w.ctx, s.s, s.sigA, s.sigB))
	ch := w.channel(id)
	if ch.Status != StatusDisputed || ch.Closer != w.a.Address() || ch.Version != 3 {
		t.Fatalf("after force close: %+v", ch)
	}
	conclude, _ := AdjudicatorABI.Pack("conclude", id)
	w.refused(w.x, conclude, ErrWindow)
	for w.m.Head().Number.Uint64() < ch.Deadline {
		if _, _, err := w.m.Mine(); err != nil {
			t.Fatal(err)
		}
	}
	beforeA, beforeB := w.balance(w.a), w.balance(w.b)
	w.mined(w.x.Conclude(w.ctx, id))
	if got := new(big.Int).Sub(w.balance(w.a), beforeA); got.Cmp(eth(400)) != 0 {
		t.Errorf("A got %s, want 0.4 ETH", got)
	}
	if got := new(big.Int).Sub(w.balance(w.b), beforeB); got.Cmp(eth(1600)) != 0 {
		t.Errorf("B got %s, want 1.6 ETH", got)
	}
	// Too late to challenge, and nothing left to conclude.
	newer := w.sign(st(id, 9, eth(0), eth(2000)))
	w.refused(w.b, w.pack("challenge", newer), ErrStatus)
	w.refused(w.x, conclude, ErrStatus)
}

// A, having paid B, closes with the state from before the payment: B
// answers within the window with the newest state, which proves A had
// revoked the one it closed with, and B takes the whole channel.
func TestStaleCloseLosesTheChannel(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	old := w.sign(st(id, 4, eth(1500), eth(500)))
	newest := w.sign(st(id, 6, eth(200), eth(1800)))
	w.mined(w.a.ForceClose(w.ctx, old.s, old.sigA, old.sigB))
	w.refused(w.b, w.pack("challenge", old), ErrOldVersion)
	before := w.balance(w.b)
	r := w.mined(w.b.Challenge(w.ctx, newest.s, newest.sigA, newest.sigB))
	if got := new(big.Int).Sub(w.balance(w.b), before); got.Cmp(new(big.Int).Sub(eth(2000), gasPaid(r))) != 0 {
		t.Errorf("B got %s net of gas, want the channel's 2 ETH", got)
	}
	if ch := w.channel(id); ch.Status != StatusClosed || ch.Locked.Sign() != 0 {
		t.Errorf("after the penalty: %+v", ch)
	}
	if !hasEvent(r, "ChannelChallenged") || !hasEvent(r, "ChannelConcluded") {
		t.Error("the penalty emitted no ChannelChallenged and ChannelConcluded")
	}
}

// A watchtower (here Mallory's account, holding both signatures) answers
// for B, who is offline: the penalty still pays B, not the tower.
func TestAnyoneCanAnswerForTheVictim(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(0))
	old := w.sign(st(id, 1, eth(900), eth(100)))
	newest := w.sign(st(id, 5, eth(100), eth(900)))
	w.mined(w.a.ForceClose(w.ctx, old.s, old.sigA, old.sigB))
	beforeB, beforeX := w.balance(w.b), w.balance(w.x)
	r := w.mined(w.x.Challenge(w.ctx, newest.s, newest.sigA, newest.sigB))
	if got := new(big.Int).Sub(w.balance(w.b), beforeB); got.Cmp(eth(1000)) != 0 {
		t.Errorf("B got %s, want the channel's 1 ETH", got)
	}
	if got := new(big.Int).Sub(beforeX, w.balance(w.x)); got.Cmp(gasPaid(r)) != 0 {
		t.Errorf("the tower's balance moved by %s beyond its gas", got)
	}
}

// A closes with the state just before the newest, which an honest party
// does when it lacks B's signature on the newest (rule C4): B's newest
// replaces it without penalty, and the window runs on.
func TestOneVersionBehindIsReplacedNotPunished(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	prev := w.sign(st(id, 5, eth(1100), eth(900)))
	newest := w.sign(st(id, 6, eth(1000), eth(1000)))
	w.mined(w.a.ForceClose(w.ctx, prev.s, prev.sigA, prev.sigB))
	w.mined(w.b.Challenge(w.ctx, newest.s, newest.sigA, newest.sigB))
	ch := w.channel(id)
	if ch.Status != StatusDisputed || ch.Version != 6 {
		t.Fatalf("after the challenge: %+v", ch)
	}
	// A revoked state after the replacement is still measured against what
	// A registered: v7 is two past A's v5, so A is punished.
	v7 := w.sign(st(id, 7, eth(300), eth(1700)))
	beforeB := w.balance(w.b)
	w.mined(w.x.Challenge(w.ctx, v7.s, v7.sigA, v7.sigB))
	if got := new(big.Int).Sub(w.balance(w.b), beforeB); got.Cmp(eth(2000)) != 0 {
		t.Errorf("B got %s, want the channel's 2 ETH", got)
	}
}

// The HTLCs of a concluded state: one whose preimage B revealed on L1 in
// time pays B; one never revealed waits for its expiry and returns to A.
func TestHTLCsSettleByPreimageOrTimeout(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	paid := common.Hash{1, 2, 3}
	unpaid := common.Hash{4, 5, 6}
	expiry := w.m.Head().Number.Uint64() + 3*testWindow
	s := w.sign(st(id, 2, eth(700), eth(1000),
		HTLC{FromA: true, Amount: eth(200), PaymentHash: sha256.Sum256(paid[:]), Expiry: expiry},
		HTLC{FromA: true, Amount: eth(100), PaymentHash: sha256.Sum256(unpaid[:]), Expiry: expiry}))
	r := w.mined(w.a.ForceClose(w.ctx, s.s, s.sigA, s.sigB))
	if r.GasUsed > 195_000+2*perHTLCGas {
		t.Errorf("force close with 2 HTLCs used %d gas", r.GasUsed)
	}
	w.mined(w.b.RevealSecret(w.ctx, paid))
	if at, err := SecretRevealedAt(w.ctx, w.m.Client(), sha256.Sum256(paid[:])); err != nil || at == 0 {
		t.Fatalf("secret registry: %d, %v", at, err)
	}
	if err := w.m.MineN(testWindow); err != nil {
		t.Fatal(err)
	}
	w.mined(w.x.Conclude(w.ctx, id))
	settle1, _ := AdjudicatorABI.Pack("settleHTLC", id, big.NewInt(1))
	w.refused(w.x, settle1, ErrUndecided)

	beforeB := w.balance(w.b)
	w.mined(w.x.SettleHTLC(w.ctx, id, 0))
	if got := new(big.Int).Sub(w.balance(w.b), beforeB); got.Cmp(eth(200)) != 0 {
		t.Errorf("B got %s for the paid HTLC, want 0.2 ETH", got)
	}
	settle0, _ := AdjudicatorABI.Pack("settleHTLC", id, big.NewInt(0))
	w.refused(w.x, settle0, ErrNoSettle)

	for w.m.Head().Number.Uint64() <= expiry {
		if _, _, err := w.m.Mine(); err != nil {
			t.Fatal(err)
		}
	}
	// Revealing after the expiry is too late to pay B.
	w.mined(w.b.RevealSecret(w.ctx, unpaid))
	beforeA := w.balance(w.a)
	w.mined(w.x.SettleHTLC(w.ctx, id, 1))
	if got := new(big.Int).Sub(w.balance(w.a), beforeA); got.Cmp(eth(100)) != 0 {
		t.Errorf("A got %s back for the expired HTLC, want 0.1 ETH", got)
	}
	if ch := w.channel(id); ch.Locked.Sign() != 0 {
		t.Errorf("the channel still holds %s wei", ch.Locked)
	}
}

// Mallory's attempts on other people's channels and on the adjudicator's
// funds.
func TestAdjudicatorRefusesForgeriesAndTheft(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	// A second channel whose funds the first must never reach.
	r := w.mined(w.x.Open(w.ctx, w.b.Address(), eth(5000)))
	other, err := OpenedID(r)
	if err != nil {
		t.Fatal(err)
	}
	w.mined(w.b.Fund(w.ctx, other, eth(0)))
	d := w.p.Domain()

	// A state paying more than the deposits, even signed by both.
	greedy := w.sign(st(id, 3, eth(3000), eth(0)))
	w.refused(w.a, w.pack("forceClose", greedy), ErrSum)

	// B's signature forged by Mallory.
	s := st(id, 3, eth(2000), eth(0))
	sa, _ := d.Sign(s, w.a.Key)
	sx, _ := d.Sign(s, w.x.Key)
	w.refused(w.a, w.pack("forceClose", signed{s, sa, sx}), ErrBadSignature)

	// Both signatures, but over another L1 or another adjudicator.
	for _, dom := range []Domain{{ChainID: w.p.L1ChainID + 1, Contract: AdjudicatorAddress}, {ChainID: w.p.L1ChainID, Contract: common.Address{1}}} {
		sa, _ := dom.Sign(s, w.a.Key)
		sb, _ := dom.Sign(s, w.b.Key)
		w.refused(w.a, w.pack("forceClose", signed{s, sa, sb}), ErrBadSignature)
	}

	// A state of one channel sent as the other's: the id is signed.
	replay := w.sign(st(id, 3, eth(2500), eth(2500))) // sums to the other channel's deposits
	replay.s.Channel = other
	w.refused(w.b, w.pack("forceClose", replay), ErrBadSignature)

	// Only a party starts a unilateral close; an unsigned state must be the
	// opening one.
	w.refused(w.x, w.pack("forceClose", w.sign(st(id, 3, eth(1000), eth(1000)))), ErrNotParty)
	w.refused(w.a, w.pack("forceClose", signed{s: st(id, 0, eth(2000), eth(0))}), ErrBadSignature)
	// A high-S copy of a valid signature is refused.
	valid := w.sign(st(id, 3, eth(1000), eth(1000)))
	w.refused(w.a, w.pack("forceClose", signed{valid.s, highS(valid.sigA), valid.sigB}), ErrBadSignature)
	// A cooperative close needs a final state; a final state is not forced.
	w.refused(w.a, w.pack("close", valid), ErrNotFinal)
	fin := st(id, 3, eth(1000), eth(1000))
	fin.Final = true
	w.refused(w.a, w.pack("forceClose", w.sign(fin)), ErrFinal)

	// The opening state needs no signature, and the channel still pays
	// each party its deposit; the other channel's 5 ETH stay.
	w.mined(w.a.ForceClose(w.ctx, st(id, 0, eth(1000), eth(1000)), nil, nil))
	if err := w.m.MineN(testWindow + 1); err != nil {
		t.Fatal(err)
	}
	w.mined(w.x.Conclude(w.ctx, id))
	if ch := w.channel(other); ch.Locked.Cmp(eth(5000)) != 0 {
		t.Errorf("the other channel holds %s, want 5 ETH", ch.Locked)
	}
	bal, err := w.m.Client().BalanceAt(w.ctx, AdjudicatorAddress, nil)
	if err != nil || bal.Cmp(eth(5000)) != 0 {
		t.Errorf("the adjudicator holds %s (%v), want the other channel's 5 ETH", bal, err)
	}
}

// B's deposit opens the channel, once; before it, nothing closes and A may
// take its deposit back.
func TestFundingOpensOnce(t *testing.T) {
	w := newWorld(t)
	id, err := OpenedID(w.mined(w.a.Open(w.ctx, w.b.Address(), eth(1000))))
	if err != nil {
		t.Fatal(err)
	}
	if ch := w.channel(id); ch.Status != StatusOpening {
		t.Fatalf("after open: %s", ch.Status)
	}
	fund, _ := AdjudicatorABI.Pack("fund", id)
	cancel, _ := AdjudicatorABI.Pack("cancel", id)
	w.refused(w.x, fund, ErrNotParty)
	w.refused(w.a, fund, ErrNotParty)
	w.refused(w.b, cancel, ErrNotParty)
	w.refused(w.a, w.pack("forceClose", signed{s: st(id, 0, eth(1000), eth(0))}), ErrStatus)
	before := w.balance(w.a)
	r := w.mined(w.a.Cancel(w.ctx, id))
	if got := new(big.Int).Sub(w.balance(w.a), before); got.Cmp(new(big.Int).Sub(eth(1000), gasPaid(r))) != 0 {
		t.Errorf("A got %s back net of gas, want 1 ETH", got)
	}
	w.refused(w.b, fund, ErrStatus)

	id = w.open(eth(1000), eth(300))
	if ch := w.channel(id); ch.Status != StatusOpen || ch.Locked.Cmp(eth(1300)) != 0 {
		t.Fatalf("after fund: %+v", ch)
	}
	w.refused(w.b, fund, ErrStatus) // a second deposit would void signed states
	w.refused(w.a, cancel, ErrStatus)
}

// highS returns the other valid S of a signature (n - s), with V flipped.
func highS(sig []byte) []byte {
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:64]))
	out := append([]byte{}, sig[:32]...)
	out = append(out, common.LeftPadBytes(s.Bytes(), 32)...)
	return append(out, sig[64]^1)
}

func hasEvent(r *types.Receipt, name string) bool {
	id := AdjudicatorABI.Events[name].ID
	for _, lg := range r.Logs {
		if lg.Address == AdjudicatorAddress && len(lg.Topics) > 0 && lg.Topics[0] == id {
			return true
		}
	}
	return false
}

// An HTLC expiry beyond 2^48 is refused by the adjudicator, so it cannot
// be stored differently from what was signed.
func TestHugeExpiryRefused(t *testing.T) {
	w := newWorld(t)
	id := w.open(eth(1000), eth(1000))
	s := w.sign(st(id, 2, eth(500), eth(1000), HTLC{FromA: true, Amount: eth(500), PaymentHash: common.Hash{1}, Expiry: 1<<63 + 5}))
	w.refused(w.a, w.pack("forceClose", s), ErrBadState)
	if _, err := Apply(st(id, 1, eth(1000), eth(1000)), RoleA, []Op{{Kind: OpAddHTLC, Amount: eth(1), PaymentHash: common.Hash{2}, Expiry: MaxExpiry + 1}}, nil); err == nil {
		t.Fatal("Apply took an expiry beyond 2^48")
	}
	lim := &Limits{Height: 100, MinExpiryDelta: 10, MaxExpiryDelta: 1000}
	if _, err := Apply(st(id, 1, eth(1000), eth(1000)), RoleA, []Op{{Kind: OpAddHTLC, Amount: eth(1), PaymentHash: common.Hash{2}, Expiry: 2000}}, lim); err == nil {
		t.Fatal("a receiver took an HTLC locking its peer's funds past its limit")
	}
}
