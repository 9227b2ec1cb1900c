package staking

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// State is the part of the EVM state the staking module uses.
type State interface {
	chain.SlotState
	GetBalance(common.Address) *uint256.Int
	AddBalance(common.Address, *uint256.Int, tracing.BalanceChangeReason) uint256.Int
	SubBalance(common.Address, *uint256.Int, tracing.BalanceChangeReason) uint256.Int
}

var _ State = (vm.StateDB)(nil)

// db reads and writes the contract's storage slots (chain.Slots: slots are
// keccak256 of a name and keys, so unrelated values never collide) and
// moves the balances the contract holds.
type db struct {
	chain.Slots
	st State
}

func newDB(st State) db { return db{Slots: chain.Slots{State: st, Self: Address}, st: st} }

// key names a slot (chain.Slot).
var key = chain.Slot

func u64b(v uint64) []byte { return chain.U64Bytes(v) }

// Validator fields.
func vkey(op common.Address, field string) common.Hash { return key("val", op.Bytes(), []byte(field)) }

func (d db) count() uint64              { return d.U64(key("vals")) }
func (d db) at(i uint64) common.Address { return d.Addr(key("vals", u64b(i))) }
func (d db) registered(op common.Address) bool {
	return d.Get(vkey(op, "pub")) != (common.Hash{})
}
func (d db) operatorOf(cons []byte) common.Address { return d.Addr(key("cons", cons)) }

// prune removes validators that have left from the registry, keeping the
// others in order, so EndBlock's walk over the registry is bounded by the
// validators that still hold stake, not by every one ever registered.
func (d db) prune(vals, gone []*Validator) {
	drop := map[common.Address]bool{}
	for _, v := range gone {
		drop[v.Operator] = true
		d.Set(key("cons", ConsensusAddress(v.PubKey)), common.Hash{})
		for _, f := range []string{"pub", "stake", "shares", "commission", "jailed", "jailedUntil", "missed", "window", "power", "ubd.stake", "ubd.shares", "tomb", "commissionChanged"} {
			d.Set(vkey(v.Operator, f), common.Hash{})
		}
	}
	n := uint64(0)
	for _, v := range vals {
		if !drop[v.Operator] {
			d.SetAddr(key("vals", u64b(n)), v.Operator)
			n++
		}
	}
	for i := n; i < uint64(len(vals)); i++ {
		d.Set(key("vals", u64b(i)), common.Hash{})
	}
	d.SetU64(key("vals"), n)
}

func (d db) append(op common.Address) {
	n := d.count()
	d.SetAddr(key("vals", u64b(n)), op)
	d.SetU64(key("vals"), n+1)
}

// Validator is one validator's record.
type Validator struct {
	Operator    common.Address
	PubKey      [32]byte // CometBFT ed25519 consensus key
	Stake       *big.Int // wei, including delegations
	Shares      *big.Int
	Commission  uint64 // basis points
	Jailed      bool
	JailedUntil uint64 // block before which unjail is refused
	Missed      uint64 // blocks missed in the current window
	WindowStart uint64
	Power       int64 // voting power last given to CometBFT
	// Unbonding is the stake leaving the validator, still slashable for
	// its infractions until paid out; delegators' entries hold shares of
	// it (UnbondingShares), so a slash reaches them all.
	Unbonding       *big.Int
	UnbondingShares *big.Int
	Tombstoned      bool // double-signed: jailed for good
}

func (d db) load(op common.Address) *Validator {
	v := &Validator{
		Operator:        op,
		Stake:           d.Big(vkey(op, "stake")),
		Shares:          d.Big(vkey(op, "shares")),
		Commission:      d.U64(vkey(op, "commission")),
		Jailed:          d.Flag(vkey(op, "jailed")),
		JailedUntil:     d.U64(vkey(op, "jailedUntil")),
		Missed:          d.U64(vkey(op, "missed")),
		WindowStart:     d.U64(vkey(op, "window")),
		Power:           int64(d.U64(vkey(op, "power"))),
		Unbonding:       d.Big(vkey(op, "ubd.stake")),
		UnbondingShares: d.Big(vkey(op, "ubd.shares")),
		Tombstoned:      d.Flag(vkey(op, "tomb")),
	}
	copy(v.PubKey[:], d.Get(vkey(op, "pub")).Bytes())
	return v
}

func (d db) save(v *Validator) {
	op := v.Operator
	d.Set(vkey(op, "pub"), common.BytesToHash(v.PubKey[:]))
	d.SetBig(vkey(op, "stake"), v.Stake)
	d.SetBig(vkey(op, "shares"), v.Shares)
	d.SetU64(vkey(op, "commission"), v.Commission)
	d.SetBool(vkey(op, "jailed"), v.Jailed)
	d.SetU64(vkey(op, "jailedUntil"), v.JailedUntil)
	d.SetU64(vkey(op, "missed"), v.Missed)
	d.SetU64(vkey(op, "window"), v.WindowStart)
	d.SetU64(vkey(op, "power"), uint64(v.Power))
	if v.Unbonding != nil {
		d.SetBig(vkey(op, "ubd.stake"), v.Unbonding)
		d.SetBig(vkey(op, "ubd.shares"), v.UnbondingShares)
	}
	d.SetBool(vkey(op, "tomb"), v.Tombstoned)
}

// Delegations: shares of a delegator in a validator.
func dkey(val, del common.Address) common.Hash { return key("del", val.Bytes(), del.Bytes()) }

func (d db) shares(val, del common.Address) *big.Int       { return d.Big(dkey(val, del)) }
func (d db) setShares(val, del common.Address, s *big.Int) { d.SetBig(dkey(val, del), s) }

// Unbonding entries of a delegator: amount and the block it is released at.
func (d db) unbondings(del common.Address) uint64 { return d.U64(key("ubn", del.Bytes())) }

// unbondingEntry is one pending unbonding of a delegator: shares of a
// validator's unbonding pool, paid once both the block and the time of its
// release have come.
type unbondingEntry struct {
	val         common.Address
	shares      *big.Int
	release     uint64 // block
	releaseTime uint64 // seconds
}

func (d db) unbonding(del common.Address, i uint64) unbondingEntry {
	return unbondingEntry{
		val:         d.Addr(key("ubn.val", del.Bytes(), u64b(i))),
		shares:      d.Big(key("ubn.amount", del.Bytes(), u64b(i))),
		release:     d.U64(key("ubn.release", del.Bytes(), u64b(i))),
		releaseTime: d.U64(key("ubn.releaseTime", del.Bytes(), u64b(i))),
	}
}
func (d db) setUnbonding(del common.Address, i uint64, e unbondingEntry) {
	d.SetAddr(key("ubn.val", del.Bytes(), u64b(i)), e.val)
	d.SetBig(key("ubn.amount", del.Bytes(), u64b(i)), e.shares)
	d.SetU64(key("ubn.release", del.Bytes(), u64b(i)), e.release)
	d.SetU64(key("ubn.releaseTime", del.Bytes(), u64b(i)), e.releaseTime)
}
func (d db) setUnbondings(del common.Address, n uint64) { d.SetU64(key("ubn", del.Bytes()), n) }

// accounted is the part of the contract's balance that belongs to stakers
// (stake and unbonding amounts); the rest is the current block's reward.
func (d db) accounted() *big.Int     { return d.Big(key("accounted")) }
func (d db) setAccounted(v *big.Int) { d.SetBig(key("accounted"), v) }
func (d db) balance() *big.Int       { return d.st.GetBalance(d.Self).ToBig() }
func (d db) addAccounted(v *big.Int) { d.setAccounted(new(big.Int).Add(d.accounted(), v)) }
func (d db) subAccounted(v *big.Int) { d.setAccounted(new(big.Int).Sub(d.accounted(), v)) }
func (d db) pay(to common.Address, v *big.Int) {
	amount := uint256.MustFromBig(v)
	d.st.SubBalance(d.Self, amount, tracing.BalanceChangeTransfer)
	d.st.AddBalance(to, amount, tracing.BalanceChangeTransfer)
}
func (d db) burn(v *big.Int) {
	d.st.SubBalance(d.Self, uint256.MustFromBig(v), tracing.BalanceChangeUnspecified)
}
func (d db) mint(v *big.Int) {
	d.st.AddBalance(d.Self, uint256.MustFromBig(v), tracing.BalanceChangeUnspecified)
}

// Validator updates of the last block, for the consensus engine.
func (d db) setUpdates(ops []common.Address) {
	for i, op := range ops {
		d.SetAddr(key("updates", u64b(uint64(i))), op)
	}
	d.SetU64(key("updates"), uint64(len(ops)))
}
func (d db) updates() []common.Address {
	n := d.U64(key("updates"))
	out := make([]common.Address, n)
	for i := range out {
		out[i] = d.Addr(key("updates", u64b(uint64(i))))
	}
	return out
}
