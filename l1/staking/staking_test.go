package staking

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

const chainID = 4141

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// harness is a Sim that fails the test on errors.
type harness struct {
	t *testing.T
	*Sim
	stk   *Staking
	store *chain.Store
	last  *chain.Result
}

type valKey struct {
	priv ed25519.PrivKey
	pub  [32]byte
}

func newValKey() valKey {
	k := ed25519.GenPrivKey()
	var pub [32]byte
	copy(pub[:], k.PubKey().Bytes())
	return valKey{k, pub}
}

func (v valKey) cons() []byte { return consAddress(v.pub) }

func newHarness(t *testing.T, p Params, genesis ...GenesisValidator) *harness {
	t.Helper()
	funded := types.GenesisAlloc{}
	for i := range uint32(4) {
		funded[chain.DevAddress(i)] = types.Account{Balance: eth(1000)}
	}
	sim, err := NewSim(chainID, p, funded, genesis...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return &harness{t: t, Sim: sim, stk: sim.stk, store: sim.store}
}

func (h *harness) tx(key *ecdsa.PrivateKey, value *big.Int, method string, args ...any) *types.Transaction {
	tx, err := h.Call(key, value, method, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.queued = h.queued[:len(h.queued)-1] // block takes its transactions explicitly
	return tx
}

// block runs one block proposed by proposer with consensus info c.
func (h *harness) block(c chain.Consensus, txs ...*types.Transaction) *chain.Result {
	h.t.Helper()
	h.queued = txs
	res, err := h.Block(c)
	if err != nil {
		h.t.Fatal(err)
	}
	h.last = res
	return res
}

func (h *harness) state() *state.StateDB {
	st, err := h.store.StateAt(h.store.Head().Root)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) validator(op common.Address) *Validator {
	d := newDB(h.state())
	return d.load(op)
}

func (h *harness) updates() map[[32]byte]int64 {
	out := map[[32]byte]int64{}
	for _, u := range Updates(h.state()) {
		out[u.PubKey] = u.Power
	}
	return out
}

func (h *harness) balance(a common.Address) *big.Int { return h.state().GetBalance(a).ToBig() }

func register(h *harness, key *ecdsa.PrivateKey, vk valKey, stake *big.Int, commission uint16) *types.Transaction {
	op := crypto.PubkeyToAddress(key.PublicKey)
	sig, _ := vk.priv.Sign(RegistrationMessage(big.NewInt(chainID), op, vk.pub))
	return h.tx(key, stake, "registerValidator", vk.pub, sig, commission)
}

// A validator registers with its consensus key, gets delegations, earns the
// block's fees and reward, unbonds, and is paid after the unbonding period.
func TestStakeDelegateRewardUnbond(t *testing.T) {
	p := DefaultParams()
	p.BlockReward = eth(1)
	a := newValKey()
	h := newHarness(t, p, GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(10)})
	if v := h.validator(chain.DevAddress(0)); v.Power != 10 {
		t.Fatalf("genesis power %d", v.Power)
	}
	b := newValKey()
	opB, alice := chain.DevAddress(1), chain.DevAddress(2)

	// B registers with 5 ETH; a bad binding signature is refused.
	wrong := newValKey()
	sig, _ := wrong.priv.Sign(RegistrationMessage(big.NewInt(chainID), opB, wrong.pub))
	bad := h.tx(chain.DevKey(3), eth(5), "registerValidator", wrong.pub, sig, uint16(0)) // signed for another account
	res := h.block(chain.Consensus{Proposer: a.cons()}, register(h, chain.DevKey(1), b, eth(5), 1000), bad)
	if res.Receipts[0].Status != 1 || res.Receipts[1].Status != 0 {
		t.Fatalf("register statuses %d %d", res.Receipts[0].Status, res.Receipts[1].Status)
	}
	// B enters with 5; A, proposer of the block, earned over 1 ETH: 11.
	if got := h.updates(); len(got) != 2 || got[b.pub] != 5 || got[a.pub] != 11 {
		t.Fatalf("updates after registering: %v", got)
	}
	// The proposer's validator got the block reward and the tips.
	tips := new(big.Int)
	for i, r := range res.Receipts {
		tip := res.Block.Transactions()[i].EffectiveGasTipValue(res.Block.BaseFee())
		tips.Add(tips, tip.Mul(tip, new(big.Int).SetUint64(r.GasUsed)))
	}
	wantA := new(big.Int).Add(eth(11), tips)
	if got := h.validator(chain.DevAddress(0)).Stake; got.Cmp(wantA) != 0 {
		t.Fatalf("A's stake %v, want %v (10 ETH + reward + tips)", got, wantA)
	}

	// Alice delegates 3 ETH to B: power 8.
	h.block(chain.Consensus{Proposer: a.cons()}, h.tx(chain.DevKey(2), eth(3), "delegate", opB))
	if got := h.updates(); got[b.pub] != 8 {
		t.Fatalf("updates after delegating: %v", got)
	}
	// B proposes: the 1 ETH reward less 10% commission raises every share;
	// the commission goes to B's operator as new shares.
	h.block(chain.Consensus{Proposer: b.cons()})
	vb := h.validator(opB)
	if want := eth(9); vb.Stake.Cmp(want) != 0 {
		t.Fatalf("B's stake %v, want %v", vb.Stake, want)
	}
	d := newDB(h.state())
	aliceAmt := h.stk.delegationAmount(d, opB, alice)
	// Alice held 3/8 of B before the 0.9 ETH of reward shared out.
	wantAlice := new(big.Int).Add(eth(3), new(big.Int).Div(new(big.Int).Mul(eth(9), big.NewInt(3)), big.NewInt(80)))
	if diff := new(big.Int).Sub(aliceAmt, wantAlice); diff.CmpAbs(big.NewInt(10)) > 0 {
		t.Fatalf("alice's delegation %v, want %v", aliceAmt, wantAlice)
	}

	// Alice unbonds 3 ETH: power drops, and the money comes after the period.
	res = h.block(chain.Consensus{}, h.tx(chain.DevKey(2), nil, "unbond", opB, eth(3)))
	if res.Receipts[0].Status != 1 {
		t.Fatal("unbond failed")
	}
	if got := h.updates(); got[b.pub] != 6 {
		t.Fatalf("updates after unbonding: %v", got)
	}
	before := h.balance(alice)
	res = h.block(chain.Consensus{}, h.tx(chain.DevKey(2), nil, "withdraw"))
	early := new(big.Int).Sub(h.balance(alice), before)
	if early.Sign() >= 0 { // only gas was spent
		t.Fatalf("withdraw before the period paid %v", early)
	}
	for range p.UnbondingBlocks {
		h.block(chain.Consensus{})
	}
	before = h.balance(alice)
	res = h.block(chain.Consensus{}, h.tx(chain.DevKey(2), nil, "withdraw"))
	baseFee := res.Block.BaseFee()
	price := new(big.Int).Add(baseFee, res.Block.Transactions()[0].EffectiveGasTipValue(baseFee))
	gas := new(big.Int).Mul(new(big.Int).SetUint64(res.Receipts[0].GasUsed), price)
	if got := new(big.Int).Sub(h.balance(alice), before); got.Cmp(new(big.Int).Sub(eth(3), gas)) != 0 {
		t.Fatalf("withdraw paid %v, want 3 ETH less gas", got)
	}
	// What the contract owes is exactly the validators' stakes (no unbonding
	// is pending now), and it holds at least that.
	st := h.state()
	owed := new(big.Int)
	for _, v := range Validators(st) {
		owed.Add(owed, v.Stake)
	}
	if acc := (newDB(st)).accounted(); acc.Cmp(owed) != 0 || h.balance(Address).Cmp(owed) < 0 {
		t.Fatalf("accounted %v, stakes %v, balance %v", acc, owed, h.balance(Address))
	}
}

// Double-signing slashes and jails at once; downtime jails with a smaller
// slash; unjail works only after the waiting period.
func TestSlashingAndJail(t *testing.T) {
	p := DefaultParams()
	p.DowntimeWindow, p.MaxMissed, p.JailBlocks = 10, 3, 5
	a, b, c := newValKey(), newValKey(), newValKey()
	opA, opB, opC := chain.DevAddress(0), chain.DevAddress(1), chain.DevAddress(2)
	h := newHarness(t, p,
		GenesisValidator{Operator: opA, PubKey: a.pub, Stake: eth(100)},
		GenesisValidator{Operator: opB, PubKey: b.pub, Stake: eth(100)},
		GenesisValidator{Operator: opC, PubKey: c.pub, Stake: eth(100)})

	// B double-signs: 5% slashed and burnt, jailed, power 0.
	supplyBefore := h.balance(Address)
	h.block(chain.Consensus{Evidence: []chain.Misbehaviour{{Address: b.cons(), Height: 1}}})
	vb := h.validator(opB)
	if !vb.Jailed || vb.Stake.Cmp(eth(95)) != 0 || vb.Power != 0 {
		t.Fatalf("after double-sign: jailed %v stake %v power %d", vb.Jailed, vb.Stake, vb.Power)
	}
	if burnt := new(big.Int).Sub(supplyBefore, h.balance(Address)); burnt.Cmp(eth(5)) != 0 {
		t.Fatalf("burnt %v, want 5 ETH", burnt)
	}
	if got := h.updates(); len(got) != 1 || got[b.pub] != 0 {
		t.Fatalf("updates %v", got)
	}
	// A double-signer is tombstoned: it may never unjail, and more
	// evidence of the same episode slashes nothing more.
	for range p.JailBlocks + 1 {
		h.block(chain.Consensus{Evidence: []chain.Misbehaviour{{Address: b.cons(), Height: 1}}})
	}
	if res := h.block(chain.Consensus{}, h.tx(chain.DevKey(1), nil, "unjail")); res.Receipts[0].Status != 0 {
		t.Fatal("a double-signer unjailed")
	}
	if vb := h.validator(opB); !vb.Jailed || !vb.Tombstoned || vb.Stake.Cmp(eth(95)) != 0 {
		t.Fatalf("after more evidence: jailed %v tombstoned %v stake %v", vb.Jailed, vb.Tombstoned, vb.Stake)
	}

	// A stops signing. Within one window at most it misses more than 3
	// blocks: jailed, 0.1% slashed.
	offline := chain.Consensus{Votes: []chain.Vote{{Address: a.cons(), Signed: false}, {Address: c.cons(), Signed: true}}}
	missed := 0
	for !h.validator(opA).Jailed && missed < int(p.DowntimeWindow+p.MaxMissed+1) {
		h.block(offline)
		missed++
	}
	if missed <= int(p.MaxMissed) {
		t.Fatalf("jailed after only %d missed blocks", missed)
	}
	va := h.validator(opA)
	if !va.Jailed || va.Stake.Cmp(new(big.Int).Sub(eth(100), new(big.Int).Div(eth(100), big.NewInt(1000)))) != 0 {
		t.Fatalf("after downtime: jailed %v stake %v", va.Jailed, va.Stake)
	}
	if h.validator(opC).Jailed {
		t.Fatal("a validator that signed was jailed")
	}
	// Unjail too early is refused; after the wait it works and power returns.
	if res := h.block(chain.Consensus{}, h.tx(chain.DevKey(0), nil, "unjail")); res.Receipts[0].Status != 0 {
		t.Fatal("unjail before the waiting period succeeded")
	}
	for range p.JailBlocks {
		h.block(chain.Consensus{})
	}
	h.block(chain.Consensus{}, h.tx(chain.DevKey(0), nil, "unjail"))
	if va := h.validator(opA); va.Jailed || va.Power != 99 {
		t.Fatalf("after unjail: jailed %v power %d", va.Jailed, va.Power)
	}
	// Evidence against a jailed validator still slashes it.
	for !h.validator(opA).Jailed {
		h.block(offline)
	}
	before := h.validator(opA).Stake
	h.block(chain.Consensus{Evidence: []chain.Misbehaviour{{Address: a.cons(), Height: h.store.Head().Number.Int64()}}})
	if va := h.validator(opA); !va.Tombstoned || va.Stake.Cmp(before) >= 0 {
		t.Fatalf("double-signing while jailed: tombstoned %v, stake %v from %v", va.Tombstoned, va.Stake, before)
	}
}

// The active set is the top MaxValidators by stake; the rest have no power.
func TestActiveSetCap(t *testing.T) {
	p := DefaultParams()
	p.MaxValidators = 1
	a, b := newValKey(), newValKey()
	h := newHarness(t, p, GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(10)})
	h.block(chain.Consensus{}, register(h, chain.DevKey(1), b, eth(20), 0))
	if got := h.updates(); len(got) != 2 || got[a.pub] != 0 || got[b.pub] != 20 {
		t.Fatalf("updates %v: want A out and B in", got)
	}
}

// A validator unbonds all its stake, still votes (CometBFT applies the
// change two blocks later), equivocates, and tries to walk away with its
// stake. Its unbonding stake stays in its pool and is slashed with it; the
// evidence's age is bounded by the unbonding period (CheckEvidenceAge), so
// the evidence always lands first. Before, unbonding removed the stake
// from reach at once and the slash found nothing.
func TestUnbondAndEquivocate(t *testing.T) {
	p := DefaultParams()
	a, b := newValKey(), newValKey()
	opA, opB := chain.DevAddress(0), chain.DevAddress(1)
	h := newHarness(t, p,
		GenesisValidator{Operator: opA, PubKey: a.pub, Stake: eth(100)},
		GenesisValidator{Operator: opB, PubKey: b.pub, Stake: eth(100)})
	h.block(chain.Consensus{}, h.tx(chain.DevKey(1), nil, "unbond", opB, eth(100)))
	infraction := h.store.Head().Number.Int64() + 1
	h.block(chain.Consensus{})
	h.block(chain.Consensus{Evidence: []chain.Misbehaviour{{Address: b.cons(), Height: infraction}}})
	for range p.UnbondingBlocks {
		h.block(chain.Consensus{})
	}
	res := h.block(chain.Consensus{}, h.tx(chain.DevKey(1), nil, "withdraw"))
	if len(res.Receipts[0].Logs) != 1 {
		t.Fatalf("withdraw paid nothing: %+v", res.Receipts[0])
	}
	paid := new(big.Int).SetBytes(res.Receipts[0].Logs[0].Data)
	if paid.Cmp(eth(95)) != 0 {
		t.Fatalf("the equivocator withdrew %v, want 95 ETH (5%% slashed)", paid)
	}
	if err := p.CheckEvidenceAge(int64(p.UnbondingBlocks), time.Second); err == nil {
		t.Fatal("evidence as old as the unbonding period was accepted")
	}
	if err := p.CheckEvidenceAge(int64(p.UnbondingBlocks/2), time.Duration(p.UnbondingSeconds)*time.Second); err == nil {
		t.Fatal("evidence valid for the unbonding period's seconds was accepted")
	}
	if err := p.CheckEvidenceAge(int64(p.UnbondingBlocks/2), time.Second); err != nil {
		t.Fatal(err)
	}
}

// Share-price inflation: a validator reduced to a sliver of shares, whose
// stake then grows, would make later delegations round to zero shares and
// keep the delegators' ETH. A delegation that buys no share is refused, and
// an operator cannot unbond its own stake below MinSelfBond (so its
// validator keeps enough shares for the price to stay small).
func TestShareInflationRefused(t *testing.T) {
	p := DefaultParams()
	a := newValKey()
	opA := chain.DevAddress(0)
	h := newHarness(t, p, GenesisValidator{Operator: opA, PubKey: a.pub, Stake: eth(100)})
	res := h.block(chain.Consensus{}, h.tx(chain.DevKey(0), nil, "unbond", opA, new(big.Int).Sub(eth(100), big.NewInt(1))))
	if res.Receipts[0].Status != 0 {
		t.Fatal("the operator unbonded down to 1 wei of self-bond")
	}
	// A validator whose share price has risen: force one by hand.
	st := h.state()
	d := newDB(st)
	v := d.load(opA)
	v.Stake.Mul(v.Stake, big.NewInt(1_000))
	d.save(v)
	if err := h.stk.delegate(d, opA, chain.DevAddress(1), big.NewInt(999)); !errors.Is(err, ErrNoShares) {
		t.Fatalf("a delegation buying no share: %v", err)
	}
}

// A consensus key that no private key needs (small order, or a
// non-canonical encoding: ZIP-215 accepts signatures under them) is
// refused at registration.
func TestWeakConsensusKeysRefused(t *testing.T) {
	for name, pub := range map[string][32]byte{
		"identity":      {1},                                                                                                                                                                                              // y = 1: the neutral point
		"order 2":       {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // y = -1
		"non-canonical": {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // y = p + 1
	} {
		if err := checkConsensusKey(pub); !errors.Is(err, ErrWeakKey) {
			t.Errorf("%s key: %v", name, err)
		}
	}
	if err := checkConsensusKey(newValKey().pub); err != nil {
		t.Fatal(err)
	}
}

// Commission moves by at most MaxCommissionChangeBps at a time and once
// per unbonding period: no jump from 0 to 100% under the delegators.
func TestCommissionRateLimited(t *testing.T) {
	p := DefaultParams()
	a := newValKey()
	h := newHarness(t, p, GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
	set := func(bps uint16) uint64 {
		return h.block(chain.Consensus{}, h.tx(chain.DevKey(0), nil, "setCommission", bps)).Receipts[0].Status
	}
	if set(10_000) != 0 {
		t.Fatal("commission jumped from 0 to 100%")
	}
	if set(MaxCommissionChangeBps) != 1 {
		t.Fatal("a step of the maximum was refused")
	}
	if set(2*MaxCommissionChangeBps) != 0 {
		t.Fatal("a second change within the unbonding period was accepted")
	}
	for range p.UnbondingBlocks {
		h.block(chain.Consensus{})
	}
	if set(2*MaxCommissionChangeBps) != 1 {
		t.Fatal("a change after the period was refused")
	}
}

// FuzzStakingInput sends arbitrary calldata, with and without value, to
// the staking contract holding validators with delegations and
// unbondings: no input may panic it or break its accounting.
func FuzzStakingInput(f *testing.F) {
	for _, m := range ABI.Methods {
		f.Add(m.ID, uint8(0))
	}
	f.Add(must(ABI.Pack("unbond", chain.DevAddress(0), big.NewInt(1))), uint8(1))
	f.Add(must(ABI.Pack("setCommission", uint16(100))), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, value uint8) {
		a := newValKey()
		h := newHarness(t, DefaultParams(), GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
		h.block(chain.Consensus{}, h.tx(chain.DevKey(1), eth(5), "delegate", chain.DevAddress(0)), h.tx(chain.DevKey(1), nil, "unbond", chain.DevAddress(0), eth(1)))
		to := Address
		for _, k := range []uint32{0, 1, 2} {
			key := chain.DevKey(k)
			from := crypto.PubkeyToAddress(key.PublicKey)
			tx := types.MustSignNewTx(key, types.LatestSigner(h.store.Config()), &types.DynamicFeeTx{
				ChainID: big.NewInt(chainID), Nonce: h.nonces[from], Gas: 300_000, To: &to, Value: big.NewInt(int64(value)), Data: in,
				GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei)})
			h.nonces[from]++
			h.block(chain.Consensus{Evidence: []chain.Misbehaviour{{Address: a.cons(), Height: 1}}}, tx)
		}
		d := newDB(h.state())
		if d.accounted().Cmp(d.balance()) > 0 {
			t.Fatalf("accounted %v above the balance %v", d.accounted(), d.balance())
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A validator that has fully left (no stake, shares, unbonding stake or
// power) is removed from the registry, so register, unbond and withdraw
// cycles do not grow the walk EndBlock makes every block.
func TestLeftValidatorsPruned(t *testing.T) {
	p := DefaultParams()
	a := newValKey()
	h := newHarness(t, p, GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
	for range 3 {
		b := newValKey()
		h.block(chain.Consensus{}, register(h, chain.DevKey(1), b, eth(10), 0))
		h.block(chain.Consensus{}, h.tx(chain.DevKey(1), nil, "unbond", chain.DevAddress(1), eth(10)))
		for range p.UnbondingBlocks + 4 {
			h.block(chain.Consensus{})
		}
		h.block(chain.Consensus{}, h.tx(chain.DevKey(1), nil, "withdraw"))
		h.block(chain.Consensus{})
		if n := len(Validators(h.state())); n != 1 {
			t.Fatalf("%d validators in the registry after one left, want 1", n)
		}
	}
}

// Value sent with a method that takes none is refused, not kept.
func TestValueToNonPayableRefused(t *testing.T) {
	a := newValKey()
	h := newHarness(t, DefaultParams(), GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
	for _, c := range []struct {
		method string
		args   []any
	}{{"validators", nil}, {"unjail", nil}, {"setCommission", []any{uint16(0)}}, {"unbond", []any{chain.DevAddress(0), eth(1)}}} {
		if res := h.block(chain.Consensus{}, h.tx(chain.DevKey(0), eth(1), c.method, c.args...)); res.Receipts[0].Status != 0 {
			t.Errorf("1 ETH with %s was kept", c.method)
		}
	}
}

// In a block where only the reward moved stake, EndBlock does not walk
// the registry: it reads a bounded number of slots however many
// validators are registered. A staking transaction makes it walk again.
func TestEndBlockBoundedWhenOnlyTheRewardMoves(t *testing.T) {
	p := DefaultParams()
	a := newValKey()
	h := newHarness(t, p, GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
	for k := uint32(1); k <= 3; k++ { // one validator per funded account
		h.block(chain.Consensus{}, register(h, chain.DevKey(k), newValKey(), eth(1), 0))
	}
	proposer := chain.Consensus{Proposer: a.cons()}
	counter := &countingState{StateDB: h.state()}
	if err := h.stk.EndBlock(counter, h.store.Head(), proposer); err != nil {
		t.Fatal(err)
	}
	quiet := counter.reads
	st := h.state()
	newDB(st).changed()
	counter = &countingState{StateDB: st}
	if err := h.stk.EndBlock(counter, h.store.Head(), proposer); err != nil {
		t.Fatal(err)
	}
	if walk := counter.reads; quiet >= walk || quiet > 40 {
		t.Fatalf("a reward-only EndBlock read %d slots, a full one %d", quiet, walk)
	}
}

type countingState struct {
	*state.StateDB
	reads int
}

func (c *countingState) GetState(a common.Address, k common.Hash) common.Hash {
	c.reads++
	return c.StateDB.GetState(a, k)
}

// Views read a bounded page of the registry and are charged by it.
func TestRegistryViewsPaged(t *testing.T) {
	a := newValKey()
	h := newHarness(t, DefaultParams(), GenesisValidator{Operator: chain.DevAddress(0), PubKey: a.pub, Stake: eth(100)})
	h.block(chain.Consensus{}, register(h, chain.DevKey(1), newValKey(), eth(1), 0))
	in := must(ABI.Pack("validatorsFrom", big.NewInt(1), big.NewInt(5)))
	out, err := h.stk.Run(&chain.Call{State: h.state(), Block: vm.BlockContext{BlockNumber: big.NewInt(9)}, Self: Address, Value: new(uint256.Int), Input: in})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ABI.Unpack("validatorsFrom", out)
	if ops := got[0].([]common.Address); len(ops) != 1 || ops[0] != chain.DevAddress(1) {
		t.Fatalf("page from 1: %v", ops)
	}
	if small, wide := h.stk.RequiredGas(in), h.stk.RequiredGas(must(ABI.Pack("validatorsFrom", big.NewInt(0), big.NewInt(1000)))); small >= wide {
		t.Fatalf("a 5-entry page costs %d, a 1000-entry one %d", small, wide)
	}
}
