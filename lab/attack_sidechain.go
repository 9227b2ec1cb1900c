package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/sidechain"
)

// takeoverDelay is the withdrawal delay of the takeover's worlds.
const takeoverDelay = 120

// attackSidechainTakeover: validators with more than 2/3 of the
// sidechain's power sign a header of a state that records a withdrawal
// to themselves. The light-client bridge accepts it: it trusts exactly
// that majority. What saves the bridge is the delay: an honest header for
// the same height relayed inside it freezes the bridge. Unwatched past
// the delay, the theft succeeds.
func attackSidechainTakeover(ctx context.Context, out io.Writer) error {
	fmt.Fprintf(out, "setup: an L1 and a sidechain of 4 validators (CometBFT headers, ed25519 votes), the light-client bridge between them; withdrawals wait %d s on L1\n", takeoverDelay)
	watchedAt, err := takeover(ctx, out, true)
	if err != nil {
		return err
	}
	if _, err := takeover(ctx, out, false); err != nil {
		return err
	}
	fmt.Fprintln(out, "attacker's cost: the keys of validators with more than 2/3 of the sidechain's power (3 of 4 here) and one header's gas; the light client slashes nobody, so a watched forgery costs nothing but the frozen bridge, an unwatched one pays the thief")
	fmt.Fprintf(out, "outcome as promised: the bridge trusts 2/3 of the sidechain's power and accepted their forged header; watched, the honest header froze it %s after the forgery, inside the %d s delay, and the theft failed; unwatched past the delay, the theft succeeded\n",
		watchedAt.Round(time.Millisecond), takeoverDelay)
	return nil
}

// takeover runs the takeover in one world; watched runs the honest
// relayer, which relays the honest header. It returns how long after the
// forged header's acceptance the bridge froze.
func takeover(ctx context.Context, out io.Writer, watched bool) (time.Duration, error) {
	w, err := sidechain.NewLightWorld(sidechain.LightWorldOptions{DelaySeconds: takeoverDelay})
	if err != nil {
		return 0, err
	}
	defer w.Close()
	name := map[bool]string{true: "watched", false: "unwatched"}[watched]
	user := chain.DevKey(3)
	if _, err := sidechain.LightDeposit(ctx, w.L1.Client(), user, chain.DevAddress(3), ethWei(10)); err != nil {
		return 0, err
	}
	if err := relayWhile(ctx, w, func() bool {
		st, err := sidechain.ReadLightTransfer(ctx, w.Side.Client(), sidechain.LightSideAddress, 0)
		return err == nil && !st.Carried
	}); err != nil {
		return 0, err
	}
	locked, _ := w.Balance(ctx, w.L1, sidechain.LightL1Address)
	fmt.Fprintf(out, "%s: a user bridges 10 ETH (the L1 half holds %s ETH)\n", name, ethFloat(locked))
	st, err := sidechain.ReadLightStatus(ctx, w.L1.Client(), sidechain.LightL1Address)
	if err != nil {
		return 0, err
	}
	thief := chain.DevAddress(66)
	theft := sidechain.Transfer{Nonce: 1 << 30, To: thief, Amount: locked}
	f, err := sidechain.ForgeState(sidechain.LightWorldSideID, sidechain.LightSideAddress, theft)
	if err != nil {
		return 0, err
	}
	height := w.Side.Head().Number.Uint64() + 2
	forged, err := w.SideCons.Sign(w.SideCons.HeaderAt(height, sidechain.HandTime(w.Now(), height), f.Root), []int{0, 1, 2})
	if err != nil {
		return 0, err
	}
	r, err := sidechain.SubmitHeader(ctx, w.L1.Client(), chain.DevKey(8), sidechain.LightL1Address, st.Latest, forged, w.SideCons.Set)
	if err != nil {
		return 0, fmt.Errorf("SECURITY MODEL BROKEN: the forged header of 3 of 4 validators was refused: %w", err)
	}
	forgedAt := time.Now()
	fmt.Fprintf(out, "  3 of 4 validators (75%% of the power) sign a header at height %d of a state recording a withdrawal of %s ETH to themselves: accepted (gas %d)\n",
		height, ethFloat(locked), r.GasUsed)
	acct, stor := f.Proof(theft.Nonce)
	r, err = sidechain.SubmitProof(ctx, w.L1.Client(), chain.DevKey(8), sidechain.LightL1Address, height, theft, acct, stor)
	if err != nil {
		return 0, fmt.Errorf("the proof against the forged header failed: %w", err)
	}
	fmt.Fprintf(out, "  their Merkle proof against it is accepted (gas %d): the withdrawal is payable in %d s\n", r.GasUsed, takeoverDelay)
	var frozeAfter time.Duration
	if watched {
		if err := relayWhile(ctx, w, func() bool {
			s, err := sidechain.ReadLightStatus(ctx, w.L1.Client(), sidechain.LightL1Address)
			return err == nil && !s.Frozen
		}); err != nil {
			return 0, err
		}
		frozeAfter = time.Since(forgedAt)
		ev, err := sidechain.ReadMisbehaviour(ctx, w.L1.Client(), sidechain.LightL1Address)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(out, "  the relayer finds a header the sidechain never made and relays the honest one: the bridge freezes %s later, keeping both as evidence (height %d %s… against height %d %s…)\n",
			frozeAfter.Round(time.Millisecond), ev.Height, ev.Kept.Hex()[:10], ev.ConflictingHeight, ev.Conflicting.Hex()[:10])
	}
	w.Advance(takeoverDelay*time.Second + time.Second)
	time.Sleep(50 * time.Millisecond) // a block at the new time
	_, err = sidechain.Finalize(ctx, w.L1.Client(), chain.DevKey(8), sidechain.LightL1Address, theft.Nonce)
	got, _ := w.Balance(ctx, w.L1, thief)
	switch {
	case watched && err == nil:
		return 0, errors.New("SECURITY FAILURE: a frozen bridge paid the forged withdrawal")
	case watched:
		if !strings.Contains(err.Error(), sidechain.ErrFrozen.Error()) {
			return 0, fmt.Errorf("finalize refused for another reason than the freeze: %w", err)
		}
		fmt.Fprintf(out, "  after the delay the thieves call finalize: refused, the bridge is frozen; they hold %s ETH on L1\n", ethFloat(got))
	case err != nil:
		return 0, fmt.Errorf("unwatched, the forged withdrawal should be paid: %w", err)
	default:
		fmt.Fprintf(out, "  nobody relays a header inside the delay: after %d s the thieves are paid %s ETH, everything the bridge held\n", takeoverDelay, ethFloat(got))
	}
	return frozeAfter, nil
}

// relayWhile steps the world's relayer while cond holds.
func relayWhile(ctx context.Context, w *sidechain.LightWorld, cond func() bool) error {
	for cond() {
		if _, err := w.Relayer.Step(ctx); err != nil && !errors.Is(err, sidechain.ErrFrozenClient) && ctx.Err() == nil {
			_ = err // transient: the next step retries
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// attackForgedHeader: headers the light client must refuse — signed by
// under 1/3 of the trusted power, with bad signatures, by strangers'
// keys, and any header once the client's trust has expired.
func attackForgedHeader(ctx context.Context, out io.Writer) error {
	w, err := sidechain.NewLightWorld(sidechain.LightWorldOptions{TrustingSeconds: 600})
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintln(out, "setup: an L1 and a sidechain of 4 validators of equal power, the light-client bridge between them; trusting period 600 s")
	if err := relayWhile(ctx, w, func() bool {
		st, err := sidechain.ReadLightStatus(ctx, w.L1.Client(), sidechain.LightL1Address)
		return err != nil || st.Latest == 0
	}); err != nil {
		return err
	}
	st, err := sidechain.ReadLightStatus(ctx, w.L1.Client(), sidechain.LightL1Address)
	if err != nil {
		return err
	}
	theft := sidechain.Transfer{Nonce: 1 << 30, To: chain.DevAddress(66), Amount: ethWei(1)}
	f, err := sidechain.ForgeState(sidechain.LightWorldSideID, sidechain.LightSideAddress, theft)
	if err != nil {
		return err
	}
	head := w.Side.Head().Number.Uint64() + 10
	header := w.SideCons.HeaderAt(head, sidechain.HandTime(w.Now(), head), f.Root)
	strangers := sidechain.NewHandConsensus(w.SideCons.ChainID, 4, w.Side.Chain())
	type try struct {
		what  string
		block func() (*sidechain.LightBlock, error)
		want  error
	}
	tries := []try{
		{"1 of 4 validators (25% of the power, under the 2/3 a skip needs)", func() (*sidechain.LightBlock, error) {
			return w.SideCons.Sign(header, []int{0})
		}, sidechain.ErrHeader},
		{"all 4 validators, two signatures broken (2 valid: 50%, under 2/3)", func() (*sidechain.LightBlock, error) {
			lb, err := w.SideCons.Sign(header, []int{0, 1, 2, 3})
			if err == nil {
				lb.SignedHeader.Commit.Signatures[0].Signature[5] ^= 1
				lb.SignedHeader.Commit.Signatures[2].Signature[5] ^= 1
			}
			return lb, err
		}, sidechain.ErrHeader},
		{"2 of 4 validators (50%: above IBC's 1/3 trust level, below the 2/3 this client asks) skipping to a validator set of just themselves", func() (*sidechain.LightBlock, error) {
			pair := &sidechain.HandConsensus{ChainID: w.SideCons.ChainID, Keys: w.SideCons.Keys, Chain: w.Side.Chain(),
				Set: cmttypes.NewValidatorSet([]*cmttypes.Validator{w.SideCons.Set.Validators[0].Copy(), w.SideCons.Set.Validators[1].Copy()})}
			return pair.Sign(pair.HeaderAt(head, header.Time, f.Root), []int{0, 1})
		}, sidechain.ErrHeader},
		{"4 strangers with a validator set of their own", func() (*sidechain.LightBlock, error) {
			return strangers.Sign(strangers.HeaderAt(head, header.Time, f.Root), []int{0, 1, 2, 3})
		}, sidechain.ErrHeader},
	}
	for i, tr := range tries {
		lb, err := tr.block()
		if err != nil {
			return err
		}
		_, err = sidechain.SubmitHeader(ctx, w.L1.Client(), chain.DevKey(8), sidechain.LightL1Address, st.Latest, lb, w.SideCons.Set)
		if err == nil || !strings.Contains(err.Error(), tr.want.Error()) {
			return fmt.Errorf("SECURITY FAILURE: a header of %s was not refused as expected: %v", tr.what, err)
		}
		fmt.Fprintf(out, "%d. a header of %s: refused (%s)\n", i+1, tr.what, shortReason(err))
	}
	fmt.Fprintf(out, "%d. the relayer stops for longer than the trusting period; then even the honest validators' header is refused\n", len(tries)+1)
	w.Advance(601 * time.Second)
	time.Sleep(50 * time.Millisecond)
	honest, err := w.SideCons.LightBlock(ctx, 0)
	if err != nil {
		return err
	}
	_, err = sidechain.SubmitHeader(ctx, w.L1.Client(), chain.DevKey(8), sidechain.LightL1Address, st.Latest, honest, w.SideCons.Set)
	if err == nil || !strings.Contains(err.Error(), sidechain.ErrExpired.Error()) {
		return fmt.Errorf("SECURITY FAILURE: an update from expired trust was not refused: %v", err)
	}
	fmt.Fprintf(out, "   refused (%s): validators who have since unbonded could sign anything; only the guardian's recovery restarts it\n", shortReason(err))
	if s, _ := sidechain.ReadLightStatus(ctx, w.L1.Client(), sidechain.LightL1Address); s.Frozen || s.Latest != st.Latest {
		return fmt.Errorf("the client changed: %+v", s)
	}
	fmt.Fprintln(out, "outcome as promised: every forged, under-signed or expired header was refused, and the client kept only what it had verified")
	return nil
}

func shortReason(err error) string {
	s := err.Error()
	if i := strings.Index(s, "light-bridge: "); i >= 0 {
		s = s[i+len("light-bridge: "):]
	}
	if len(s) > 110 {
		s = s[:110] + "…"
	}
	return s
}

// attackRollupSameKeys: the parties who took over the sidechain also run
// the optimistic rollup — its sequencer, its batcher and its proposer, one
// key. They post a false output to withdraw ETH nobody deposited. The
// rollup does not trust them: an honest challenger's fraud proof removes
// the output, and the portal pays nothing.
func attackRollupSameKeys(a *arena, f *forger) error {
	fmt.Fprintln(a.out, "   the colluders hold the rollup's batcher key and its proposer key: the same parties as a sidechain takeover's majority")
	if err := a.userDeposits("1. a user deposits 5 ETH: the portal holds all the rollup's ETH"); err != nil {
		return err
	}
	before, _ := a.l1.BalanceAt(a.ctx, rollup.PortalAddress, nil)
	fmt.Fprintln(a.out, "2. they batch the L2 blocks themselves, and propose an output whose message passer holds a 1,000 ETH withdrawal to them")
	if err := a.round(); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "3. they prove the withdrawal against their output")
	if err := a.proveLoot(f, 1); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "4. an honest challenger, holding no key the rollup trusts, recomputes the output from their own batches on L1 and disputes it")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	if err := rounds(rollup.DevFinalizationPeriod, a.round); err != nil {
		return err
	}
	if err := a.finalizeLoot(f); err != nil {
		return err
	}
	after, _ := a.l1.BalanceAt(a.ctx, rollup.PortalAddress, nil)
	if after.Cmp(before) < 0 {
		return fmt.Errorf("SECURITY FAILURE: the portal lost %s ETH", ethFloat(new(big.Int).Sub(before, after)))
	}
	fmt.Fprintf(a.out, "outcome as promised: the same keys that can drain a sidechain's bridge cannot drain the rollup's portal (it holds %s ETH as before): the fraud proof needs one honest challenger, not an honest majority\n", ethFloat(after))
	return nil
}
