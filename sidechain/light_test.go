package sidechain

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

func newLightWorld(t *testing.T, o LightWorldOptions) (*LightWorld, context.Context) {
	t.Helper()
	w, err := NewLightWorld(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return w, ctx
}

// relayUntil steps the relayer until cond holds.
func relayUntil(t *testing.T, ctx context.Context, w *LightWorld, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if _, err := w.Relayer.Step(ctx); err != nil && ctx.Err() == nil {
			t.Logf("relayer: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %v", what, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func balanceIs(ctx context.Context, m *wingtest.L1Miner, a common.Address, want *big.Int) func() bool {
	return func() bool {
		b, err := m.Client().BalanceAt(ctx, a, nil)
		return err == nil && b.Cmp(want) == 0
	}
}

func wantRevert(t *testing.T, err error, sentinel error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sentinel.Error()) {
		t.Fatalf("got %v, want a revert with %q", err, sentinel)
	}
}

// A deposit crosses on a Merkle proof against a relayed L1 header; a
// withdrawal waits out the delay on L1 and is paid; neither can be
// proven twice.
func TestLightBridgeDepositAndWithdrawal(t *testing.T) {
	w, ctx := newLightWorld(t, LightWorldOptions{})
	alice, bob := chain.DevAddress(3), chain.DevAddress(8)

	if _, err := LightDeposit(ctx, w.L1.Client(), chain.DevKey(3), alice, eth(5)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "deposit minted", balanceIs(ctx, w.Side, alice, eth(5)))

	bobL1, _ := w.L1.Client().BalanceAt(ctx, bob, nil)
	if _, err := LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), bob, eth(2)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "withdrawal proven", func() bool {
		st, err := ReadLightTransfer(ctx, w.L1.Client(), LightL1Address, 0)
		return err == nil && st.Pending
	})
	// The delay holds it: the relayer steps, nothing is paid.
	for range 3 {
		_, _ = w.Relayer.Step(ctx)
	}
	if _, err := Finalize(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, 0); err == nil {
		t.Fatal("a withdrawal was paid inside its delay")
	} else {
		wantRevert(t, err, ErrTooEarly)
	}
	w.Advance(61 * time.Second)
	relayUntil(t, ctx, w, "withdrawal paid", balanceIs(ctx, w.L1, bob, new(big.Int).Add(bobL1, eth(2))))

	// Replays: the relayer's proofs of both transfers are refused now.
	if _, err := w.Relayer.Step(ctx); err != nil {
		t.Fatal(err)
	}
	for _, half := range []struct {
		m    *wingtest.L1Miner
		at   common.Address
		name string
	}{{w.Side, LightSideAddress, "deposit"}, {w.L1, LightL1Address, "withdrawal"}} {
		st, err := ReadLightTransfer(ctx, half.m.Client(), half.at, 0)
		if err != nil || !st.Carried {
			t.Fatalf("%s: %+v %v", half.name, st, err)
		}
	}
	st, _ := ReadLightStatus(ctx, w.Side.Client(), LightSideAddress)
	rt := w.Relayer.route(toSide)
	tr, block, err := findTransfer(ctx, w.L1.Client(), LightL1Address, "Deposited", 0)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Relayer.prove(ctx, rt, &w.Relayer.dirs[toSide], tr, block)
	wantRevert(t, err, ErrDone)
	if st.Frozen {
		t.Fatal("the client froze on honest headers")
	}
}

// forge has the side validators at signers sign a header at height
// committing to a forged state in which the sidechain half recorded
// transfer t.
func forge(t *testing.T, w *LightWorld, height uint64, tr Transfer, signers []int) (*LightBlock, *ForgedState) {
	t.Helper()
	f, err := ForgeState(LightWorldSideID, LightSideAddress, tr)
	if err != nil {
		t.Fatal(err)
	}
	hdr := w.SideCons.HeaderAt(height, HandTime(w.Now(), height), f.Root)
	lb, err := w.SideCons.Sign(hdr, signers)
	if err != nil {
		t.Fatal(err)
	}
	return lb, f
}

// The light client refuses a header signed by under 1/3 of the power (or
// under 2/3 for the next one), one with a bad signature, one from
// strangers' keys, and any header once its trust has expired.
func TestLightClientRefusesForgedHeaders(t *testing.T) {
	w, ctx := newLightWorld(t, LightWorldOptions{TrustingSeconds: 600})
	relayUntil(t, ctx, w, "client fresh", func() bool {
		st, err := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
		return err == nil && st.Latest > 0
	})
	st, _ := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
	key := chain.DevKey(8)
	theft := Transfer{Nonce: 77, To: chain.DevAddress(66), Amount: eth(1)}
	head := w.Side.Head().Number.Uint64()

	// One signer of four: 25% of the power, under 1/3, skipping heights.
	lb, _ := forge(t, w, head+10, theft, []int{0})
	_, err := SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, w.SideCons.Set)
	wantRevert(t, err, ErrHeader)
	// Two of four, adjacent: half the power, under 2/3.
	lb, _ = forge(t, w, st.Latest+1, theft, []int{0, 1})
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, nil)
	wantRevert(t, err, ErrHeader)
	// All four, but one signature broken: it no longer counts, and three
	// of four are still enough — so break two.
	lb, _ = forge(t, w, head+10, theft, []int{0, 1, 2, 3})
	lb.SignedHeader.Commit.Signatures[0].Signature[3] ^= 1
	lb.SignedHeader.Commit.Signatures[1].Signature[3] ^= 1
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, w.SideCons.Set)
	wantRevert(t, err, ErrHeader)
	// Strangers: a validator set of their own, signed by all of it.
	strangers := NewHandConsensus(w.SideCons.ChainID, 4, w.Side.Chain())
	f, _ := ForgeState(LightWorldSideID, LightSideAddress, theft)
	lb, err = strangers.Sign(strangers.HeaderAt(head+10, HandTime(w.Now(), head+10), f.Root), []int{0, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, w.SideCons.Set)
	wantRevert(t, err, ErrHeader)
	// Trusted validators that are not the ones trusted.
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, strangers.Set)
	wantRevert(t, err, ErrTrustedVals)
	// Two of the four validators (half the power, above IBC's 1/3 trust
	// level) skip to a validator set of just themselves.
	pair := &HandConsensus{ChainID: w.SideCons.ChainID, Keys: w.SideCons.Keys, Chain: w.Side.Chain()}
	pair.Set = cmttypes.NewValidatorSet([]*cmttypes.Validator{w.SideCons.Set.Validators[0].Copy(), w.SideCons.Set.Validators[1].Copy()})
	lb, err = pair.Sign(pair.HeaderAt(head+10, HandTime(w.Now(), head+10), f.Root), []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, lb, w.SideCons.Set)
	wantRevert(t, err, ErrHeader)

	// Expired: past the trusting period, even an honest header is refused.
	w.Advance(601 * time.Second)
	time.Sleep(50 * time.Millisecond) // a block at the new time
	honest, err := w.SideCons.LightBlock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = SubmitHeader(ctx, w.L1.Client(), key, LightL1Address, st.Latest, honest, w.SideCons.Set)
	wantRevert(t, err, ErrExpired)
	if s, _ := ReadLightStatus(ctx, w.L1.Client(), LightL1Address); s.Frozen || !s.Expired || s.Latest != st.Latest {
		t.Fatalf("status %+v", s)
	}
}

// Validators with over 2/3 of the sidechain's power sign a header of a
// state crediting themselves: the L1 half accepts it (that is the trust
// model), and the withdrawal waits out the delay. An honest header for the
// same height, relayed inside the delay, freezes the bridge: the theft
// fails. Left alone past the delay, it succeeds.
func TestSidechainTakeover(t *testing.T) {
	for _, watched := range []bool{true, false} {
		name := map[bool]string{true: "watched", false: "unwatched"}[watched]
		t.Run(name, func(t *testing.T) {
			w, ctx := newLightWorld(t, LightWorldOptions{DelaySeconds: 120})
			// The bridge holds 10 ETH of real deposits.
			if _, err := LightDeposit(ctx, w.L1.Client(), chain.DevKey(3), chain.DevAddress(3), eth(10)); err != nil {
				t.Fatal(err)
			}
			relayUntil(t, ctx, w, "deposit minted", balanceIs(ctx, w.Side, chain.DevAddress(3), eth(10)))
			st, _ := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)

			thief := chain.DevAddress(66)
			theft := Transfer{Nonce: 1_000, To: thief, Amount: eth(10)}
			height := w.Side.Head().Number.Uint64() + 3
			lb, f := forge(t, w, height, theft, []int{0, 1, 2}) // 30 of 40
			if _, err := SubmitHeader(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, st.Latest, lb, w.SideCons.Set); err != nil {
				t.Fatalf("the forged header of a 3/4 majority was refused: %v", err)
			}
			acct, stor := f.Proof(theft.Nonce)
			if _, err := SubmitProof(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, height, theft, acct, stor); err != nil {
				t.Fatalf("proof against the forged header: %v", err)
			}
			if watched {
				relayUntil(t, ctx, w, "bridge frozen", func() bool {
					s, err := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
					return err == nil && s.Frozen
				})
			}
			w.Advance(121 * time.Second)
			time.Sleep(50 * time.Millisecond)
			_, err := Finalize(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, theft.Nonce)
			got, _ := w.L1.Client().BalanceAt(ctx, thief, nil)
			if watched {
				wantRevert(t, err, ErrFrozen)
				if got.Sign() != 0 {
					t.Fatalf("the thief got %s through a frozen bridge", got)
				}
				v, err := ReadMisbehaviour(ctx, w.L1.Client(), LightL1Address)
				if err != nil || v.Kept == v.Conflicting || v.Height == 0 {
					t.Fatalf("evidence %+v %v", v, err)
				}
				return
			}
			if err != nil || got.Cmp(eth(10)) != 0 {
				t.Fatalf("unwatched, the theft should succeed: %v, thief has %s", err, got)
			}
		})
	}
}

// Past the trusting period with no relayer, the client expires: proofs
// wait. The guardian's recovery starts a new epoch, and the waiting
// withdrawal is then proven and paid, once.
func TestLightClientExpiresAndRecovers(t *testing.T) {
	w, ctx := newLightWorld(t, LightWorldOptions{TrustingSeconds: 600, DelaySeconds: 60})
	bob := chain.DevAddress(8)
	if _, err := LightDeposit(ctx, w.L1.Client(), chain.DevKey(3), chain.DevAddress(3), eth(10)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "client fresh", func() bool {
		st, err := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
		return err == nil && st.Latest > 0
	})
	// A withdrawal proven before the relayer stops, and one after.
	if _, err := LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), bob, eth(1)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "first withdrawal proven", func() bool {
		st, err := ReadLightTransfer(ctx, w.L1.Client(), LightL1Address, 0)
		return err == nil && st.Pending
	})
	if _, err := LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), bob, eth(2)); err != nil {
		t.Fatal(err)
	}
	// The relayer is down for longer than the trusting period.
	w.Advance(700 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if _, err := w.Relayer.Step(ctx); !errors.Is(err, ErrExpired) {
		t.Fatalf("step on an expired client: %v", err)
	}
	_, err := Finalize(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, 0)
	wantRevert(t, err, ErrExpired)

	before, _ := w.L1.Client().BalanceAt(ctx, bob, nil)
	for _, half := range []struct {
		c   *wingtest.L1Miner
		at  common.Address
		src LightSource
	}{{w.L1, LightL1Address, w.SideCons}, {w.Side, LightSideAddress, w.L1Cons}} {
		lb, err := half.src.LightBlock(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ReadLightStatus(ctx, half.c.Client(), half.at)
		if err != nil {
			t.Fatal(err)
		}
		set := lb.Validators
		if _, err := Recover(ctx, half.c.Client(), chain.DevKey(3), half.at, st.Latest, lb, set); err == nil {
			t.Fatal("a stranger recovered the client")
		}
		// Not even the guardian can bring in validators the client never
		// verified: its own set, signing a header of its own.
		own := NewHandConsensus(lb.SignedHeader.ChainID, 4, nil)
		fake, err := own.Sign(own.HeaderAt(lb.Height(), lb.SignedHeader.Time, common.Hash{1}), []int{0, 1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Recover(ctx, half.c.Client(), w.Guardian, half.at, st.Latest, fake, own.Set)
		wantRevert(t, err, ErrTrustedVals)
		_, err = Recover(ctx, half.c.Client(), w.Guardian, half.at, st.Latest, fake, set)
		wantRevert(t, err, ErrHeader)
		if _, err := Recover(ctx, half.c.Client(), w.Guardian, half.at, st.Latest, lb, set); err != nil {
			t.Fatalf("guardian recovery: %v", err)
		}
	}
	// Proofs from before the recovery are void: both withdrawals are
	// proven anew, wait the delay and are paid once.
	relayUntil(t, ctx, w, "both proven again", func() bool {
		a, _ := ReadLightTransfer(ctx, w.L1.Client(), LightL1Address, 0)
		b, _ := ReadLightTransfer(ctx, w.L1.Client(), LightL1Address, 1)
		return a.Pending && b.Pending
	})
	w.Advance(61 * time.Second)
	relayUntil(t, ctx, w, "both paid", balanceIs(ctx, w.L1, bob, new(big.Int).Add(before, eth(3))))
	for range 3 {
		if _, err := w.Relayer.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := w.L1.Client().BalanceAt(ctx, bob, nil); got.Cmp(new(big.Int).Add(before, eth(3))) != 0 {
		t.Fatalf("paid twice: %s", got)
	}
}

// The light client's gas depends on its input only and grows with the
// validators it checks: measured at 4, 16, 64 and 128, every size stays far
// below what the same check costs in Solidity.
func TestLightUpdateGasByValidators(t *testing.T) {
	sizes := []int{4, 16, 64, 128}
	if testing.Short() {
		sizes = []int{4, 16}
	}
	var prev UpdateCost
	for _, n := range sizes {
		c, err := MeasureUpdate(n, 1)
		if err != nil {
			t.Fatal(err)
		}
		again, err := MeasureUpdate(n, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Other keys, other bytes: the contract's gas is the same.
		if again.SkippingContractGas != c.SkippingContractGas {
			t.Fatalf("%d validators: contract gas %d then %d", n, c.SkippingContractGas, again.SkippingContractGas)
		}
		if c.AdjacentGas <= prev.AdjacentGas || c.SkippingGas <= prev.SkippingGas || c.SkippingGas <= c.AdjacentGas {
			t.Fatalf("%d validators: gas %+v after %+v", n, c, prev)
		}
		if c.SkippingGas >= SolidityNonAdjacentGas/10 {
			t.Fatalf("%d validators: %d gas, no better than a tenth of Solidity's", n, c.SkippingGas)
		}
		t.Logf("%3d validators: adjacent %8d gas %6s, skipping %8d gas %6s (%d bytes); Solidity: > %d gas, ed25519 alone %d",
			n, c.AdjacentGas, c.Adjacent.Round(10*time.Microsecond), c.SkippingGas, c.Skipping.Round(10*time.Microsecond), c.CalldataBytes,
			SolidityNonAdjacentGas, SolidityEd25519GasEach*n)
		prev = c
	}
}

// The sidechain half burns only what the bridge minted: ETH the sidechain
// has from its genesis (or another bridge) cannot empty the L1 vault.
func TestLightBridgeCarriesBackOnlyWhatItCarriedIn(t *testing.T) {
	w, ctx := newLightWorld(t, LightWorldOptions{})
	if _, err := LightDeposit(ctx, w.L1.Client(), chain.DevKey(3), chain.DevAddress(3), eth(5)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "deposit minted", balanceIs(ctx, w.Side, chain.DevAddress(3), eth(5)))
	_, err := LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), chain.DevAddress(8), eth(6))
	wantRevert(t, err, ErrNotBridged)
	if _, err := LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), chain.DevAddress(8), eth(5)); err != nil {
		t.Fatal(err)
	}
	_, err = LightWithdraw(ctx, w.Side.Client(), chain.DevKey(8), chain.DevAddress(8), big.NewInt(1))
	wantRevert(t, err, ErrNotBridged)
}

// A takeover majority keeps the forged header ahead: every few hundred
// milliseconds it relays another, higher and later, so the newest header
// the client holds is always theirs. The watcher still freezes the
// client, by the first forged header and an honest one no earlier than it,
// inside the delay.
func TestSidechainTakeoverCannotOutrunTheWatcher(t *testing.T) {
	w, ctx := newLightWorld(t, LightWorldOptions{DelaySeconds: 120})
	if _, err := LightDeposit(ctx, w.L1.Client(), chain.DevKey(3), chain.DevAddress(3), eth(10)); err != nil {
		t.Fatal(err)
	}
	relayUntil(t, ctx, w, "deposit minted", balanceIs(ctx, w.Side, chain.DevAddress(3), eth(10)))
	st, _ := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
	theft := Transfer{Nonce: 1_000, To: chain.DevAddress(66), Amount: eth(10)}
	f, err := ForgeState(LightWorldSideID, LightSideAddress, theft)
	if err != nil {
		t.Fatal(err)
	}
	ahead := func(h uint64) *LightBlock {
		lb, err := w.SideCons.Sign(w.SideCons.HeaderAt(h, HandTime(w.Now()+3, h), f.Root), []int{0, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		return lb
	}
	height := w.Side.Head().Number.Uint64() + 1_000_000
	if _, err := SubmitHeader(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, st.Latest, ahead(height), w.SideCons.Set); err != nil {
		t.Fatal(err)
	}
	acct, stor := f.Proof(theft.Nonce)
	if _, err := SubmitProof(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, height, theft, acct, stor); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	var forgedMore atomic.Int32
	go func() { // the forgers outrun
		for h := height + 1; ; h++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := SubmitHeader(ctx, w.L1.Client(), chain.DevKey(3), LightL1Address, h-1, ahead(h), w.SideCons.Set); err != nil {
				return // frozen: they stop
			}
			forgedMore.Add(1)
		}
	}()
	relayUntil(t, ctx, w, "bridge frozen", func() bool {
		s, err := ReadLightStatus(ctx, w.L1.Client(), LightL1Address)
		return err == nil && s.Frozen
	})
	if forgedMore.Load() < 3 {
		t.Fatalf("the forgers relayed only %d more headers", forgedMore.Load())
	}
	if ev, err := ReadMisbehaviour(ctx, w.L1.Client(), LightL1Address); err != nil || (ev.Height != height && ev.ConflictingHeight != height) {
		t.Fatalf("evidence %+v %v: want the first forged header, %d", ev, err, height)
	}
	w.Advance(121 * time.Second)
	time.Sleep(50 * time.Millisecond)
	_, err = Finalize(ctx, w.L1.Client(), chain.DevKey(8), LightL1Address, theft.Nonce)
	wantRevert(t, err, ErrFrozen)
}

// Both bridges log a transfer out with the same event, so one reader
// (findTransfer) serves both.
func TestBridgesShareTheirTransferEvents(t *testing.T) {
	for _, ev := range []string{"Deposited", "Withdrawn", "Carried"} {
		if LightABI.Events[ev].ID != MultisigABI.Events[ev].ID {
			t.Fatalf("%s differs between the bridges' ABIs", ev)
		}
	}
}
