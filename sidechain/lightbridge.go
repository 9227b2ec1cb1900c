package sidechain

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// The light-client bridge (rules S3–S5 of docs/sidechain.md) has a half on
// each chain. Each half is a light client of the other chain (light.go)
// and a vault: a transfer out is recorded in the half's storage, and the
// other half pays it on a Merkle proof of that record against an app hash
// its light client verified. It trusts the other chain's validators
// (more than 2/3 of their power), nothing else: no key can release funds.

// Addresses of the light-client bridge's two halves.
var (
	// LightL1Address is the L1 half: it locks deposits, follows the
	// sidechain's consensus and pays proven withdrawals after the delay.
	LightL1Address = common.HexToAddress("0x00000000000000000000000000000000CA1E0410")
	// LightSideAddress is the sidechain half: it burns withdrawals,
	// follows the L1's consensus and mints proven deposits.
	LightSideAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0411")
)

// LightParams are the light-client bridge's rules, the same on both chains.
type LightParams struct {
	L1ChainID uint64 `json:"l1ChainId"`
	SideID    uint64 `json:"sidechainId"`
	// L1 is where the sidechain's half starts trusting the L1; Side where
	// the L1's half starts trusting the sidechain.
	L1   Trust `json:"l1"`
	Side Trust `json:"sidechain"`
	// TrustingSeconds is how long a verified header can vouch for the next
	// one: below the followed chain's unbonding period, so validators who
	// sign a fork after it are still slashable.
	TrustingSeconds uint64 `json:"trustingSeconds"`
	// MaxClockDriftSeconds is how far a header's time may run ahead of the
	// verifying chain's block time.
	MaxClockDriftSeconds uint64 `json:"maxClockDriftSeconds"`
	// WithdrawalDelaySeconds is how long a proven withdrawal waits on L1
	// before it is paid: the time anyone has to show misbehaviour and
	// freeze the bridge. Deposits are minted at once.
	WithdrawalDelaySeconds uint64 `json:"withdrawalDelaySeconds"`
	// Guardian may recover a frozen or expired client (IBC's governance
	// client recovery); zero means nobody can.
	Guardian common.Address `json:"guardian"`
}

// Bounds of the rules, so their seconds stay far from overflowing.
const (
	maxTrustingSeconds = 10 * 365 * 24 * 3600
	maxDriftSeconds    = 3600
)

// Validate checks the rules.
func (p LightParams) Validate() error {
	switch {
	case p.L1ChainID == 0 || p.SideID == 0 || p.L1ChainID == p.SideID:
		return fmt.Errorf("%w: chain IDs %d and %d", ErrParams, p.L1ChainID, p.SideID)
	case p.TrustingSeconds == 0 || p.TrustingSeconds > maxTrustingSeconds:
		return fmt.Errorf("%w: trusting period %d s", ErrParams, p.TrustingSeconds)
	case p.MaxClockDriftSeconds > maxDriftSeconds:
		return fmt.Errorf("%w: clock drift %d s", ErrParams, p.MaxClockDriftSeconds)
	case p.WithdrawalDelaySeconds <= p.MaxClockDriftSeconds || p.WithdrawalDelaySeconds > maxTrustingSeconds:
		// A forged header may be dated up to the drift ahead of the chain;
		// the honest header that shows the conflict exists only after that.
		return fmt.Errorf("%w: withdrawal delay %d s must exceed the clock drift (%d s)", ErrParams, p.WithdrawalDelaySeconds, p.MaxClockDriftSeconds)
	case p.L1.ChainID != "" && p.L1.ChainID == p.Side.ChainID:
		return fmt.Errorf("%w: both chains are %q", ErrParams, p.L1.ChainID)
	}
	return nil
}

// Gas of the light-client bridge: it depends on the input only. A
// signature is priced as an ecrecover (an ed25519 check costs about as
// much), a validator decoded and hashed at 400, a proof byte hashed at 8;
// each new word stored at 20,000.
const (
	updateBaseGas    = 40_000
	updateStoreGas   = 4 * 20_000
	perSignatureGas  = 3_000
	perValidatorGas  = 400
	proveBaseGas     = 45_000
	provePendingGas  = 5 * 20_000
	perProofByteGas  = 8
	finalizeGas      = 30_000
	recoverBaseGas   = 60_000
	lightSendGas     = 45_000
	lightDefaultView = 2_600
)

// LightBridge is one half of the light-client bridge.
type LightBridge struct {
	p    LightParams
	self common.Address
	// other is the other half's address, whose storage proofs are about.
	other common.Address
	name  string
	// follows is the chain this half's light client follows.
	follows Trust
	// delay before a proven transfer in is paid (0: paid at once), and
	// whether it is minted (the sidechain) or paid from what the half holds
	// (the L1).
	delay uint64
	mints bool
}

// NewLightL1 returns the L1 half with rules p.
func NewLightL1(p LightParams) *LightBridge {
	return &LightBridge{p: p, self: LightL1Address, other: LightSideAddress, name: "light-bridge",
		follows: p.Side, delay: p.WithdrawalDelaySeconds}
}

// NewLightSide returns the sidechain half with rules p.
func NewLightSide(p LightParams) *LightBridge {
	return &LightBridge{p: p, self: LightSideAddress, other: LightL1Address, name: "light-minter",
		follows: p.L1, mints: true}
}

// Address implements chain.SystemContract.
func (b *LightBridge) Address() common.Address { return b.self }

// Name implements chain.SystemContract.
func (b *LightBridge) Name() string { return b.name }

// RequiredGas implements chain.SystemContract: an update pays for every
// signature its commit carries (twice when it skips heights: the trusted
// and the new validators both check them) and every validator it decodes;
// a proof pays by its bytes.
func (b *LightBridge) RequiredGas(input []byte) uint64 {
	m, args, err := chain.ParseCall(&LightABI, b.name, input)
	if err != nil {
		return lightDefaultView
	}
	switch m.Name {
	case "update", "recover":
		var sh cmtproto.SignedHeader
		if sh.Unmarshal(args[1].([]byte)) != nil {
			return updateBaseGas
		}
		sigs := uint64(signatures(&sh))
		if m.Name == "recover" || sh.Header == nil || uint64(sh.Header.Height) != args[0].(uint64)+1 {
			sigs *= 2 // a skipping update checks them against both sets
		}
		vals := uint64(countValidators(args[2].([]byte)) + countValidators(args[3].([]byte)))
		base := uint64(updateBaseGas + updateStoreGas)
		if m.Name == "recover" {
			base = recoverBaseGas + updateStoreGas
		}
		return base + perSignatureGas*sigs + perValidatorGas*vals
	case "prove":
		return proveBaseGas + provePendingGas + perProofByteGas*uint64(len(input))
	case "finalize", "submitMisbehaviour":
		return finalizeGas
	case "deposit", "withdraw":
		return lightSendGas
	}
	return lightDefaultView
}

func countValidators(b []byte) int {
	var vs cmtproto.ValidatorSet
	if len(b) == 0 || vs.Unmarshal(b) != nil {
		return 0
	}
	return len(vs.Validators)
}

func (b *LightBridge) client(db chain.Slots) lightClient {
	return lightClient{db: db, trust: b.follows,
		trustingPeriod: time.Duration(b.p.TrustingSeconds) * time.Second,
		maxDrift:       time.Duration(b.p.MaxClockDriftSeconds) * time.Second}
}

func blockTime(c *chain.Call) time.Time { return time.Unix(int64(c.Block.Time), 0) }

// Run implements chain.SystemContract.
func (b *LightBridge) Run(c *chain.Call) ([]byte, error) {
	m, args, err := chain.ParseCall(&LightABI, b.name, c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && !c.Value.IsZero() {
		return nil, chain.Revert("%s: %s takes no value", b.name, m.Name)
	}
	db := chain.Slots{State: c.State, Self: c.Self}
	lc := b.client(db)
	switch m.Name {
	case "deposit", "withdraw":
		if (m.Name == "deposit") == b.mints {
			return nil, chain.Revert("%s: %s is the other half's", b.name, m.Name)
		}
		return nil, b.send(c, db, args[0].(common.Address), m.Name)
	case "update":
		return nil, b.update(c, lc, args)
	case "recover":
		return nil, b.recover(c, lc, args)
	case "prove":
		return nil, b.prove(c, db, lc, args)
	case "finalize":
		return nil, b.finalize(c, db, lc, args[0].(uint64))
	case "submitMisbehaviour":
		lo, hi, err := lc.conflict(args[0].(uint64), args[1].(uint64))
		if err != nil {
			return nil, chain.RevertWith(err, "%s", b.name)
		}
		b.evidence(c, db, lo, hi)
		return nil, nil
	}
	return b.view(m.Name, c, db, lc, args)
}

// SentSlot is the slot where a half records its nonce-th transfer out; its
// value is TransferCommitment.
func SentSlot(nonce uint64) common.Hash { return chain.Slot("lb-sent", chain.U64Bytes(nonce)) }

// TransferCommitment is what a half on chain chainID records of a
// transfer out, and what a proof of it must show.
func TransferCommitment(chainID uint64, t Transfer) common.Hash {
	return crypto.Keccak256Hash([]byte("cairn light bridge transfer"), chain.U64Bytes(chainID), chain.U64Bytes(t.Nonce),
		t.To.Bytes(), common.LeftPadBytes(t.Amount.Bytes(), 32))
}

// chainID is the chain this half is on; otherChainID the one it follows.
func (b *LightBridge) chainID() uint64 {
	if b.mints {
		return b.p.SideID
	}
	return b.p.L1ChainID
}

func (b *LightBridge) otherChainID() uint64 {
	if b.mints {
		return b.p.L1ChainID
	}
	return b.p.SideID
}

// send takes the caller's value for the other chain (locked on L1, burnt
// on the sidechain) and records the transfer.
func (b *LightBridge) send(c *chain.Call, db chain.Slots, to common.Address, method string) error {
	if c.Value.IsZero() {
		return chain.RevertWith(ErrAmount, "%s", b.name)
	}
	n := db.U64(chain.Slot("lb-out"))
	db.SetU64(chain.Slot("lb-out"), n+1)
	if b.mints {
		// The sidechain half burns only what it minted: ETH the sidechain
		// has from anywhere else (its genesis, the other bridge) is backed
		// by nothing in this bridge's L1 vault.
		out := db.Big(chain.Slot("lb-outstanding"))
		if out.Cmp(c.Value.ToBig()) < 0 {
			return chain.RevertWith(ErrNotBridged, "%s: %s wei bridged in, not yet out", b.name, out)
		}
		db.SetBig(chain.Slot("lb-outstanding"), out.Sub(out, c.Value.ToBig()))
		c.State.SubBalance(c.Self, c.Value, tracing.BalanceChangeUnspecified) // burnt
	}
	db.Set(SentSlot(n), TransferCommitment(b.chainID(), Transfer{Nonce: n, To: to, Amount: c.Value.ToBig()}))
	ev := "Deposited"
	if method == "withdraw" {
		ev = "Withdrawn"
	}
	e := LightABI.Events[ev]
	data, _ := e.Inputs.NonIndexed().Pack(c.Caller, c.Value.ToBig())
	c.Emit([]common.Hash{e.ID, u64Topic(n), common.BytesToHash(to.Bytes())}, data)
	return nil
}

func u64Topic(v uint64) common.Hash { return common.BigToHash(new(big.Int).SetUint64(v)) }

func (b *LightBridge) update(c *chain.Call, lc lightClient, args []any) error {
	sh, vals, tvals, err := b.decodeUpdate(args)
	if err != nil {
		return err
	}
	out, cs, err := lc.update(args[0].(uint64), sh, vals, tvals, blockTime(c))
	if err != nil {
		return chain.RevertWith(err, "%s", b.name)
	}
	if out == Froze {
		b.evidence(c, lc.db, cs, stateOf(sh))
		return nil
	}
	e := LightABI.Events["HeaderVerified"]
	data, _ := e.Inputs.NonIndexed().Pack(cs.Hash, cs.AppHash, cs.TimeNs, lc.epoch())
	c.Emit([]common.Hash{e.ID, u64Topic(uint64(sh.Height))}, data)
	return nil
}

// decodeUpdate decodes an update's or a recovery's header, validators and
// trusted validators (nil when not given).
func (b *LightBridge) decodeUpdate(args []any) (*cmttypes.SignedHeader, *cmttypes.ValidatorSet, *cmttypes.ValidatorSet, error) {
	sh, err := DecodeSignedHeader(args[1].([]byte))
	if err != nil {
		return nil, nil, nil, chain.RevertWith(err, "%s", b.name)
	}
	vals, err := DecodeValidatorSet(args[2].([]byte))
	if err != nil {
		return nil, nil, nil, chain.RevertWith(err, "%s", b.name)
	}
	var tvals *cmttypes.ValidatorSet
	if raw := args[3].([]byte); len(raw) > 0 {
		if tvals, err = DecodeValidatorSet(raw); err != nil {
			return nil, nil, nil, chain.RevertWith(err, "%s: trusted validators", b.name)
		}
	}
	return sh, vals, tvals, nil
}

// evidence keeps, and logs, the two conflicting headers a freeze rests on.
func (b *LightBridge) evidence(c *chain.Call, db chain.Slots, kept, conflicting ConsensusState) {
	db.SetU64(chain.Slot("lb-evidence-height"), kept.Height)
	db.Set(chain.Slot("lb-evidence-kept"), kept.Hash)
	db.SetU64(chain.Slot("lb-evidence-new-height"), conflicting.Height)
	db.Set(chain.Slot("lb-evidence-new"), conflicting.Hash)
	e := LightABI.Events["Misbehaviour"]
	data, _ := e.Inputs.NonIndexed().Pack(kept.Hash, conflicting.Height, conflicting.Hash)
	c.Emit([]common.Hash{e.ID, u64Topic(kept.Height)}, data)
}

func (b *LightBridge) recover(c *chain.Call, lc lightClient, args []any) error {
	if b.p.Guardian == (common.Address{}) || c.Caller != b.p.Guardian {
		return chain.RevertWith(ErrNotGuardian, "%s", b.name)
	}
	now := blockTime(c)
	if !lc.frozen() && !lc.expired(now) {
		return chain.RevertWith(ErrNotRecoverable, "%s", b.name)
	}
	sh, vals, tvals, err := b.decodeUpdate(args)
	if err != nil {
		return err
	}
	cs, err := lc.recover(args[0].(uint64), sh, vals, tvals, now)
	if err != nil {
		return chain.RevertWith(err, "%s", b.name)
	}
	e := LightABI.Events["Recovered"]
	data, _ := e.Inputs.NonIndexed().Pack(uint64(sh.Height), cs.Hash)
	c.Emit([]common.Hash{e.ID, u64Topic(lc.epoch())}, data)
	return nil
}

// pending is a proven transfer in waiting for its delay, kept per nonce.
type pending struct {
	To        common.Address
	Amount    *big.Int
	Epoch     uint64 // the light client's epoch it was proven in
	Height    uint64 // the height it was proven against
	PayableAt uint64 // block time from which it is paid
}

func pendingSlot(field string, nonce uint64) common.Hash {
	return chain.Slot("lb-pending-"+field, chain.U64Bytes(nonce))
}

func readPending(db chain.Slots, nonce uint64) (pending, bool) {
	mark := db.U64(pendingSlot("epoch", nonce)) // epoch+1; 0 when none
	if mark == 0 {
		return pending{}, false
	}
	return pending{To: db.Addr(pendingSlot("to", nonce)), Amount: db.Big(pendingSlot("amount", nonce)), Epoch: mark - 1,
		Height: db.U64(pendingSlot("height", nonce)), PayableAt: db.U64(pendingSlot("at", nonce))}, true
}

func writePending(db chain.Slots, nonce uint64, p pending) {
	db.SetAddr(pendingSlot("to", nonce), p.To)
	db.SetBig(pendingSlot("amount", nonce), p.Amount)
	db.SetU64(pendingSlot("epoch", nonce), p.Epoch+1)
	db.SetU64(pendingSlot("height", nonce), p.Height)
	db.SetU64(pendingSlot("at", nonce), p.PayableAt)
}

func receivedSlot(nonce uint64) common.Hash { return chain.Slot("lb-received", chain.U64Bytes(nonce)) }

// prove checks a Merkle proof that the other half recorded a transfer out,
// against the app hash of a header the light client verified, and pays it
// (at once, or records it to be paid after the delay).
func (b *LightBridge) prove(c *chain.Call, db chain.Slots, lc lightClient, args []any) error {
	height := args[0].(uint64)
	t := Transfer{Nonce: args[1].(uint64), To: args[2].(common.Address), Amount: args[3].(*big.Int)}
	accountProof, storageProof := args[4].([][]byte), args[5].([][]byte)
	now := blockTime(c)
	switch {
	case t.Amount.Sign() <= 0 || t.Amount.BitLen() > 256:
		return chain.RevertWith(ErrAmount, "%s", b.name)
	case lc.frozen():
		return chain.RevertWith(ErrFrozen, "%s", b.name)
	case lc.expired(now):
		return chain.RevertWith(ErrExpired, "%s", b.name)
	case db.Flag(receivedSlot(t.Nonce)):
		return chain.RevertWith(ErrDone, "%s: transfer %d", b.name, t.Nonce)
	}
	if p, ok := readPending(db, t.Nonce); ok && p.Epoch == lc.epoch() {
		return chain.RevertWith(ErrDone, "%s: transfer %d already proven", b.name, t.Nonce)
	}
	cs, ok := lc.state(height)
	if !ok || cs.Hash == (common.Hash{}) {
		return chain.RevertWith(ErrUnknownHeight, "%s: height %d", b.name, height)
	}
	if err := VerifyTransferProof(cs.AppHash, b.otherChainID(), b.other, t, accountProof, storageProof); err != nil {
		return chain.RevertWith(err, "%s", b.name)
	}
	if b.delay == 0 {
		return b.pay(c, db, t)
	}
	p := pending{To: t.To, Amount: t.Amount, Epoch: lc.epoch(), Height: height, PayableAt: c.Block.Time + b.delay}
	writePending(db, t.Nonce, p)
	e := LightABI.Events["Proven"]
	data, _ := e.Inputs.NonIndexed().Pack(t.Amount, height, p.PayableAt)
	c.Emit([]common.Hash{e.ID, u64Topic(t.Nonce), common.BytesToHash(t.To.Bytes())}, data)
	return nil
}

// finalize pays a proven transfer whose delay has passed, unless the
// client froze (or a recovery voided the proof) meanwhile.
func (b *LightBridge) finalize(c *chain.Call, db chain.Slots, lc lightClient, nonce uint64) error {
	p, ok := readPending(db, nonce)
	switch {
	case db.Flag(receivedSlot(nonce)):
		return chain.RevertWith(ErrDone, "%s: transfer %d", b.name, nonce)
	case !ok || p.Epoch != lc.epoch():
		return chain.RevertWith(ErrNotProven, "%s: transfer %d", b.name, nonce)
	case lc.frozen():
		return chain.RevertWith(ErrFrozen, "%s", b.name)
	case lc.expired(blockTime(c)):
		return chain.RevertWith(ErrExpired, "%s", b.name)
	case c.Block.Time < p.PayableAt:
		return chain.RevertWith(ErrTooEarly, "%s: transfer %d is payable at %d, now %d", b.name, nonce, p.PayableAt, c.Block.Time)
	}
	return b.pay(c, db, Transfer{Nonce: nonce, To: p.To, Amount: p.Amount})
}

// Errors of the light-client bridge's vault, kept by its reverts.
var (
	ErrNotProven = errors.New("transfer not proven (or proven before a recovery)")
	ErrTooEarly  = errors.New("withdrawal delay not over")
	ErrProof     = errors.New("bad Merkle proof of the transfer")
	// ErrNotBridged refuses a withdrawal of more than the bridge carried
	// to the sidechain and has not carried back.
	ErrNotBridged = errors.New("more than this bridge carried in")
)

func (b *LightBridge) pay(c *chain.Call, db chain.Slots, t Transfer) error {
	amt, _ := uint256.FromBig(t.Amount)
	if !b.mints {
		if c.State.GetBalance(c.Self).Cmp(amt) < 0 {
			return chain.RevertWith(ErrNoFunds, "%s", b.name)
		}
		c.State.SubBalance(c.Self, amt, tracing.BalanceChangeUnspecified)
	} else {
		out := db.Big(chain.Slot("lb-outstanding"))
		db.SetBig(chain.Slot("lb-outstanding"), out.Add(out, t.Amount))
	}
	c.State.AddBalance(t.To, amt, tracing.BalanceChangeUnspecified)
	db.SetFlag(receivedSlot(t.Nonce))
	e := LightABI.Events["Carried"]
	data, _ := e.Inputs.NonIndexed().Pack(t.Amount)
	c.Emit([]common.Hash{e.ID, u64Topic(t.Nonce), common.BytesToHash(t.To.Bytes())}, data)
	return nil
}

// VerifyTransferProof checks that the state of root, of chain chainID,
// holds in the storage of the half at contract the record of transfer t:
// an account proof of contract, then a storage proof of SentSlot(t.Nonce)
// under its storage root, as eth_getProof gives them.
func VerifyTransferProof(root common.Hash, chainID uint64, contract common.Address, t Transfer, accountProof, storageProof [][]byte) error {
	acct, err := verifyProof(root, crypto.Keccak256(contract.Bytes()), accountProof)
	if err != nil || acct == nil {
		return fmt.Errorf("%w: account %s: %v", ErrProof, contract, err)
	}
	var sa types.StateAccount
	if err := rlp.DecodeBytes(acct, &sa); err != nil {
		return fmt.Errorf("%w: account: %v", ErrProof, err)
	}
	slot := SentSlot(t.Nonce)
	val, err := verifyProof(sa.Root, crypto.Keccak256(slot[:]), storageProof)
	if err != nil || val == nil {
		return fmt.Errorf("%w: transfer %d not recorded: %v", ErrProof, t.Nonce, err)
	}
	var word []byte
	if err := rlp.DecodeBytes(val, &word); err != nil || len(word) > 32 {
		return fmt.Errorf("%w: slot value", ErrProof)
	}
	if common.BytesToHash(word) != TransferCommitment(chainID, t) {
		return fmt.Errorf("%w: transfer %d recorded with another recipient or amount", ErrProof, t.Nonce)
	}
	return nil
}

func verifyProof(root common.Hash, key []byte, nodes [][]byte) ([]byte, error) {
	db := memorydb.New()
	for _, n := range nodes {
		if err := db.Put(crypto.Keccak256(n), n); err != nil {
			return nil, err
		}
	}
	return trie.VerifyProof(root, key, db)
}

func (b *LightBridge) view(m string, c *chain.Call, db chain.Slots, lc lightClient, args []any) ([]byte, error) {
	out := LightABI.Methods[m].Outputs
	switch m {
	case "status":
		return out.Pack(lc.epoch(), lc.latest(), lc.frozen(), lc.expired(blockTime(c)))
	case "consensusState":
		cs, ok := lc.state(args[0].(uint64))
		return out.Pack(ok, cs.Hash, cs.AppHash, cs.TimeNs, cs.NextValidatorsHash)
	case "transfersOut":
		return out.Pack(db.U64(chain.Slot("lb-out")))
	case "carriedOut":
		return out.Pack(db.Flag(receivedSlot(args[0].(uint64))))
	case "bridgedIn":
		return out.Pack(db.Big(chain.Slot("lb-outstanding")))
	case "pendingTransfer":
		p, ok := readPending(db, args[0].(uint64))
		if !ok {
			p.Amount = new(big.Int)
		}
		return out.Pack(ok && p.Epoch == lc.epoch(), p.To, p.Amount, p.Height, p.PayableAt)
	case "evidence":
		return out.Pack(db.U64(chain.Slot("lb-evidence-height")), db.Get(chain.Slot("lb-evidence-kept")),
			db.U64(chain.Slot("lb-evidence-new-height")), db.Get(chain.Slot("lb-evidence-new")))
	case "rules":
		return out.Pack(b.follows.ChainID, b.p.TrustingSeconds, b.p.MaxClockDriftSeconds, b.delay, b.p.Guardian, b.follows.Height)
	}
	return nil, chain.Revert("%s: unknown method", b.name)
}

const lightABIJSON = `[
{"type":"function","name":"deposit","stateMutability":"payable","inputs":[{"name":"to","type":"address"}],"outputs":[]},
{"type":"function","name":"withdraw","stateMutability":"payable","inputs":[{"name":"to","type":"address"}],"outputs":[]},
{"type":"function","name":"update","stateMutability":"nonpayable","inputs":[{"name":"trustedHeight","type":"uint64"},{"name":"signedHeader","type":"bytes"},{"name":"validators","type":"bytes"},{"name":"trustedValidators","type":"bytes"}],"outputs":[]},
{"type":"function","name":"recover","stateMutability":"nonpayable","inputs":[{"name":"trustedHeight","type":"uint64"},{"name":"signedHeader","type":"bytes"},{"name":"validators","type":"bytes"},{"name":"trustedValidators","type":"bytes"}],"outputs":[]},
{"type":"function","name":"submitMisbehaviour","stateMutability":"nonpayable","inputs":[{"name":"lowerHeight","type":"uint64"},{"name":"higherHeight","type":"uint64"}],"outputs":[]},
{"type":"function","name":"prove","stateMutability":"nonpayable","inputs":[{"name":"height","type":"uint64"},{"name":"nonce","type":"uint64"},{"name":"to","type":"address"},{"name":"amount","type":"uint256"},{"name":"accountProof","type":"bytes[]"},{"name":"storageProof","type":"bytes[]"}],"outputs":[]},
{"type":"function","name":"finalize","stateMutability":"nonpayable","inputs":[{"name":"nonce","type":"uint64"}],"outputs":[]},
{"type":"function","name":"status","stateMutability":"view","inputs":[],"outputs":[{"name":"epoch","type":"uint64"},{"name":"latestHeight","type":"uint64"},{"name":"frozen","type":"bool"},{"name":"expired","type":"bool"}]},
{"type":"function","name":"consensusState","stateMutability":"view","inputs":[{"name":"height","type":"uint64"}],"outputs":[{"name":"known","type":"bool"},{"name":"hash","type":"bytes32"},{"name":"appHash","type":"bytes32"},{"name":"timeNs","type":"uint64"},{"name":"nextValidatorsHash","type":"bytes32"}]},
{"type":"function","name":"transfersOut","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint64"}]},
{"type":"function","name":"bridgedIn","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"carriedOut","stateMutability":"view","inputs":[{"name":"nonce","type":"uint64"}],"outputs":[{"name":"","type":"bool"}]},
{"type":"function","name":"pendingTransfer","stateMutability":"view","inputs":[{"name":"nonce","type":"uint64"}],"outputs":[{"name":"live","type":"bool"},{"name":"to","type":"address"},{"name":"amount","type":"uint256"},{"name":"height","type":"uint64"},{"name":"payableAt","type":"uint64"}]},
{"type":"function","name":"evidence","stateMutability":"view","inputs":[],"outputs":[{"name":"keptHeight","type":"uint64"},{"name":"kept","type":"bytes32"},{"name":"conflictingHeight","type":"uint64"},{"name":"conflicting","type":"bytes32"}]},
{"type":"function","name":"rules","stateMutability":"view","inputs":[],"outputs":[{"name":"follows","type":"string"},{"name":"trustingSeconds","type":"uint64"},{"name":"maxClockDriftSeconds","type":"uint64"},{"name":"delaySeconds","type":"uint64"},{"name":"guardian","type":"address"},{"name":"trustHeight","type":"uint64"}]},
{"type":"event","name":"Deposited","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"from","type":"address","indexed":false},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"Withdrawn","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"from","type":"address","indexed":false},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"HeaderVerified","inputs":[{"name":"height","type":"uint64","indexed":true},{"name":"hash","type":"bytes32","indexed":false},{"name":"appHash","type":"bytes32","indexed":false},{"name":"timeNs","type":"uint64","indexed":false},{"name":"epoch","type":"uint64","indexed":false}]},
{"type":"event","name":"Misbehaviour","inputs":[{"name":"keptHeight","type":"uint64","indexed":true},{"name":"kept","type":"bytes32","indexed":false},{"name":"conflictingHeight","type":"uint64","indexed":false},{"name":"conflicting","type":"bytes32","indexed":false}]},
{"type":"event","name":"Recovered","inputs":[{"name":"epoch","type":"uint64","indexed":true},{"name":"height","type":"uint64","indexed":false},{"name":"hash","type":"bytes32","indexed":false}]},
{"type":"event","name":"Proven","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false},{"name":"height","type":"uint64","indexed":false},{"name":"payableAt","type":"uint64","indexed":false}]},
{"type":"event","name":"Carried","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]}
]`

// LightABI is both light-bridge halves' ABI (each answers its own methods).
var LightABI = chain.MustParseABI(lightABIJSON)

// LightABIJSON is the ABI as JSON, for ethers, viem and cast.
const LightABIJSON = lightABIJSON
