package sidechain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// world is a World in a test, with its context and the user's key.
type world struct {
	*World
	t         *testing.T
	ctx       context.Context
	user      *ecdsa.PrivateKey
	l1        *wingtest.L1Miner
	side      *wingtest.L1Miner
	p         MultisigParams
	r         *Relayer
	attesters []*ecdsa.PrivateKey
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w, err := NewWorld()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &world{World: w, t: t, ctx: ctx, user: chain.DevKey(3), l1: w.L1, side: w.Side, p: w.Params, r: w.Relayer, attesters: w.Attesters}
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

func (w *world) balance(m *wingtest.L1Miner, a common.Address) *big.Int {
	b, err := w.Balance(w.ctx, m, a)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) step(want int) {
	w.t.Helper()
	n, err := w.r.Step(w.ctx)
	if err != nil || n != want {
		w.t.Fatalf("relayer carried %d transfers (%v), want %d", n, err, want)
	}
}

// A deposit locked on L1 is minted on the sidechain; a withdrawal burnt
// there is released on L1; each exactly once.
func TestMultisigBridgeBothWays(t *testing.T) {
	w := newWorld(t)
	user := chain.DevAddress(3)
	if _, err := Deposit(w.ctx, w.l1.Client(), w.user, user, ether(3)); err != nil {
		t.Fatal(err)
	}
	w.step(1)
	if got := w.balance(w.side, user); got.Cmp(ether(3)) != 0 {
		t.Fatalf("minted %s on the sidechain, want 3 ETH", got)
	}
	w.step(0) // nothing twice
	before := w.balance(w.l1, user)
	if _, err := Withdraw(w.ctx, w.side.Client(), w.user, user, ether(1)); err != nil {
		t.Fatal(err)
	}
	if got := w.balance(w.side, MultisigSideAddress); got.Sign() != 0 {
		t.Fatalf("the sidechain half keeps %s: a withdrawal must be burnt", got)
	}
	w.step(1)
	if got := new(big.Int).Sub(w.balance(w.l1, user), before); got.Cmp(ether(1)) != 0 {
		t.Fatalf("released %s on L1, want 1 ETH", got)
	}
	if got := w.balance(w.l1, MultisigL1Address); got.Cmp(ether(2)) != 0 {
		t.Fatalf("the L1 half holds %s, want the 2 ETH still on the sidechain", got)
	}
}

// call runs a bridge half's method with data, from account 8, and
// returns its revert (nil if it would succeed).
func (w *world) call(m *wingtest.L1Miner, at common.Address, data []byte) error {
	_, err := m.Client().CallContract(w.ctx, ethereum.CallMsg{From: chain.DevAddress(8), To: &at, Data: data, Gas: 1_000_000}, nil)
	return err
}

func (w *world) sigs(keys []*ecdsa.PrivateKey, chainID uint64, at common.Address, tr Transfer) [][]byte {
	out, err := Sign(keys, chainID, at, tr)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// What the bridge refuses: fewer than 5 distinct attesters (a signature
// repeated counts once, a stranger's not at all), a deposit's attestation
// used as a withdrawal's or on another chain, and a transfer carried twice.
func TestMultisigBridgeRefusesShortOrReplayedAttestations(t *testing.T) {
	w := newWorld(t)
	if _, err := Deposit(w.ctx, w.l1.Client(), w.user, chain.DevAddress(3), ether(3)); err != nil {
		t.Fatal(err)
	}
	tr := Transfer{Nonce: 0, To: chain.DevAddress(8), Amount: ether(3)}
	four := w.sigs(w.attesters[:4], w.p.L1ChainID, MultisigL1Address, tr)
	repeated := append(append([][]byte{}, four...), four[0])
	strangers := w.sigs([]*ecdsa.PrivateKey{chain.DevKey(1), chain.DevKey(2)}, w.p.L1ChainID, MultisigL1Address, tr)
	for name, sigs := range map[string][][]byte{"four": four, "repeated": repeated, "strangers": append(append([][]byte{}, four...), strangers...)} {
		data, _ := MultisigABI.Pack("release", tr.Nonce, tr.To, tr.Amount, sigs)
		if err := w.call(w.l1, MultisigL1Address, data); err == nil || !strings.Contains(err.Error(), ErrSignatures.Error()) {
			t.Errorf("%s: release went through (%v)", name, err)
		}
	}
	// Five attesters' signatures for the sidechain half, or for another
	// chain, do not release on L1.
	for _, sigs := range [][][]byte{
		w.sigs(w.attesters[:5], w.p.SideID, MultisigSideAddress, tr),
		w.sigs(w.attesters[:5], w.p.L1ChainID+7, MultisigL1Address, tr),
	} {
		data, _ := MultisigABI.Pack("release", tr.Nonce, tr.To, tr.Amount, sigs)
		if err := w.call(w.l1, MultisigL1Address, data); err == nil {
			t.Error("an attestation for another half or chain released funds")
		}
	}
	// The relayer mints the deposit once; minting it again is refused.
	w.step(1)
	dep := Transfer{Nonce: 0, To: chain.DevAddress(3), Amount: ether(3)}
	data, _ := MultisigABI.Pack("mint", dep.Nonce, dep.To, dep.Amount, w.sigs(w.attesters, w.p.SideID, MultisigSideAddress, dep))
	if err := w.call(w.side, MultisigSideAddress, data); err == nil || !strings.Contains(err.Error(), ErrDone.Error()) {
		t.Fatalf("a deposit minted twice (%v)", err)
	}
}

// Ronin: five of the nine attester keys collude and release everything
// the bridge holds to themselves, for a withdrawal nobody made. The
// multisig bridge pays: that is what it trusts its keys with.
func TestFiveKeysDrainTheMultisigBridge(t *testing.T) {
	w := newWorld(t)
	if _, err := Deposit(w.ctx, w.l1.Client(), w.user, chain.DevAddress(3), ether(7)); err != nil {
		t.Fatal(err)
	}
	thief := chain.DevAddress(8)
	forged := Transfer{Nonce: 1_000, To: thief, Amount: ether(7)}
	data, _ := MultisigABI.Pack("release", forged.Nonce, forged.To, forged.Amount, w.sigs(w.attesters[:5], w.p.L1ChainID, MultisigL1Address, forged))
	before := w.balance(w.l1, thief)
	r, err := ethtx.SendAndWait(w.ctx, w.l1.Client(), chain.DevKey(8), MultisigL1Address, nil, data, 200_000)
	if err != nil {
		t.Fatal(err)
	}
	gas := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
	if got := new(big.Int).Sub(w.balance(w.l1, thief), before); got.Cmp(new(big.Int).Sub(ether(7), gas)) != 0 {
		t.Fatalf("the colluders got %s", got)
	}
	if w.balance(w.l1, MultisigL1Address).Sign() != 0 {
		t.Fatal("the bridge kept something")
	}
	// The user's sidechain ETH, once minted, is now backed by nothing.
	w.step(1)
	if _, err := Withdraw(w.ctx, w.side.Client(), w.user, chain.DevAddress(3), ether(6)); err != nil { // the rest pays its gas
		t.Fatal(err)
	}
	if _, err := w.r.Step(w.ctx); err == nil || !errors.Is(err, ethtx.ErrReverted) {
		t.Fatalf("the honest withdrawal after the theft: %v", err)
	}
}
