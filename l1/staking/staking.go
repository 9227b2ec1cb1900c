package staking

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/cairn-dev/cairn/chain"
)

// Address is where the staking contract lives on the L1.
var Address = common.HexToAddress("0x00000000000000000000000000000000CA1E0001")

// Params are the rules of proof of stake, fixed in the genesis.
type Params struct {
	MinStake           *big.Int `json:"minStake"`           // wei a validator needs to be active
	MaxValidators      int      `json:"maxValidators"`      // size of the active set
	UnbondingBlocks    uint64   `json:"unbondingBlocks"`    // blocks before unbonded stake is paid out
	UnbondingSeconds   uint64   `json:"unbondingSeconds"`   // and seconds: both must pass
	MinSelfBond        *big.Int `json:"minSelfBond"`        // wei an operator keeps in its own validator to be active
	BlockReward        *big.Int `json:"blockReward"`        // wei minted to the proposer's validator each block
	DoubleSignSlashBps uint64   `json:"doubleSignSlashBps"` // share of stake slashed for double-signing
	DowntimeSlashBps   uint64   `json:"downtimeSlashBps"`   // share of stake slashed for downtime
	DowntimeWindow     uint64   `json:"downtimeWindow"`     // blocks over which missed blocks are counted
	MaxMissed          uint64   `json:"maxMissed"`          // missed blocks in a window that jail
	JailBlocks         uint64   `json:"jailBlocks"`         // blocks a jailed validator waits before unjail
}

// DefaultParams suit a devnet: short periods, so tests and demos see them.
func DefaultParams() Params {
	return Params{
		MinStake:           new(big.Int).Mul(big.NewInt(1), big.NewInt(params.Ether)),
		MaxValidators:      100,
		UnbondingBlocks:    20,
		UnbondingSeconds:   4,
		MinSelfBond:        new(big.Int).Mul(big.NewInt(1), big.NewInt(params.Ether)),
		BlockReward:        new(big.Int),
		DoubleSignSlashBps: 500, // 5%
		DowntimeSlashBps:   10,  // 0.1%
		DowntimeWindow:     100,
		MaxMissed:          50,
		JailBlocks:         20,
	}
}

// Sentinel errors.
var (
	ErrUnknownValidator = errors.New("unknown validator")
	ErrBadSignature     = errors.New("consensus key signature does not bind this account")
	ErrParams           = errors.New("invalid staking parameters")
)

// Validate checks the rules for a genesis.
func (p Params) Validate() error {
	switch {
	case p.MinStake == nil || p.MinStake.Sign() <= 0:
		return fmt.Errorf("%w: minimum stake must be positive", ErrParams)
	case p.MinSelfBond != nil && p.MinSelfBond.Sign() < 0:
		return fmt.Errorf("%w: negative minimum self-bond", ErrParams)
	case p.MaxValidators < 1:
		return fmt.Errorf("%w: %d validators", ErrParams, p.MaxValidators)
	case p.DoubleSignSlashBps > 10_000 || p.DowntimeSlashBps > 10_000:
		return fmt.Errorf("%w: a slash above 100%%", ErrParams)
	case p.UnbondingBlocks == 0 || p.UnbondingSeconds == 0:
		return fmt.Errorf("%w: no unbonding period", ErrParams)
	case p.BlockReward != nil && p.BlockReward.Sign() < 0:
		return fmt.Errorf("%w: negative block reward", ErrParams)
	case p.MaxValidators > 1024:
		return fmt.Errorf("%w: %d validators, at most 1024 (CometBFT's total voting power)", ErrParams, p.MaxValidators)
	}
	return nil
}

// CheckEvidenceAge refuses a genesis whose consensus evidence outlives the
// unbonding period: stake could then leave before the evidence against it
// lands, and a validator could equivocate for free. CometBFT accepts
// evidence while it is younger than maxBlocks blocks or maxAge, so both
// must be shorter than the unbonding period's blocks and seconds.
func (p Params) CheckEvidenceAge(maxBlocks int64, maxAge time.Duration) error {
	if maxBlocks < 0 || uint64(maxBlocks) >= p.UnbondingBlocks || maxAge >= time.Duration(p.UnbondingSeconds)*time.Second {
		return fmt.Errorf("%w: evidence is valid for %d blocks or %v, not within the unbonding period of %d blocks and %d s",
			ErrParams, maxBlocks, maxAge, p.UnbondingBlocks, p.UnbondingSeconds)
	}
	return nil
}

// maxUnbondings bounds one delegator's pending unbonding entries, so withdraw
// has a fixed gas cost.
const maxUnbondings = 16

// viewPage is the most registry entries a view reads: validatorsFrom pages
// through the registry, and RequiredGas charges by the page.
const viewPage = 1024

const stakingABI = `[
{"type":"function","name":"registerValidator","stateMutability":"payable","inputs":[{"name":"pubKey","type":"bytes32"},{"name":"signature","type":"bytes"},{"name":"commissionBps","type":"uint16"}],"outputs":[]},
{"type":"function","name":"delegate","stateMutability":"payable","inputs":[{"name":"validator","type":"address"}],"outputs":[]},
{"type":"function","name":"unbond","stateMutability":"nonpayable","inputs":[{"name":"validator","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[]},
{"type":"function","name":"withdraw","stateMutability":"nonpayable","inputs":[],"outputs":[{"name":"paid","type":"uint256"}]},
{"type":"function","name":"unjail","stateMutability":"nonpayable","inputs":[],"outputs":[]},
{"type":"function","name":"setCommission","stateMutability":"nonpayable","inputs":[{"name":"commissionBps","type":"uint16"}],"outputs":[]},
{"type":"function","name":"validators","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"address[]"}]},
{"type":"function","name":"validatorsFrom","stateMutability":"view","inputs":[{"name":"start","type":"uint256"},{"name":"count","type":"uint256"}],"outputs":[{"name":"","type":"address[]"}]},
{"type":"function","name":"validator","stateMutability":"view","inputs":[{"name":"operator","type":"address"}],"outputs":[{"name":"pubKey","type":"bytes32"},{"name":"stake","type":"uint256"},{"name":"commissionBps","type":"uint16"},{"name":"jailed","type":"bool"},{"name":"jailedUntil","type":"uint64"},{"name":"missed","type":"uint64"},{"name":"power","type":"uint64"}]},
{"type":"function","name":"delegation","stateMutability":"view","inputs":[{"name":"validator","type":"address"},{"name":"delegator","type":"address"}],"outputs":[{"name":"amount","type":"uint256"}]},
{"type":"event","name":"ValidatorRegistered","inputs":[{"name":"operator","type":"address","indexed":true},{"name":"pubKey","type":"bytes32","indexed":false}]},
{"type":"event","name":"Delegated","inputs":[{"name":"validator","type":"address","indexed":true},{"name":"delegator","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"Unbonded","inputs":[{"name":"validator","type":"address","indexed":true},{"name":"delegator","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false},{"name":"releaseBlock","type":"uint64","indexed":false}]},
{"type":"event","name":"Withdrawn","inputs":[{"name":"delegator","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"Unjailed","inputs":[{"name":"operator","type":"address","indexed":true}]}
]`

// ABI is the staking contract's Solidity ABI.
var ABI = chain.MustParseABI(stakingABI)

// ABIJSON is the ABI as JSON, for ethers, viem and cast.
const ABIJSON = stakingABI

// Staking is the staking system contract and its block hook.
type Staking struct {
	params  Params
	chainID *big.Int
}

// New returns the staking module of a chain.
func New(chainID uint64, p Params) *Staking {
	return &Staking{params: p, chainID: new(big.Int).SetUint64(chainID)}
}

// Params returns the module's rules.
func (s *Staking) Params() Params { return s.params }

// Address implements chain.SystemContract.
func (s *Staking) Address() common.Address { return Address }

// Name implements chain.SystemContract.
func (s *Staking) Name() string { return "staking" }

// RequiredGas is a fixed price per method (withdraw visits at most
// maxUnbondings entries).
func (s *Staking) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return 1000
	}
	m, err := ABI.MethodById(input[:4])
	if err != nil {
		return 1000
	}
	switch m.Name {
	case "registerValidator":
		return 120_000
	case "delegate", "unbond", "withdraw":
		return 60_000
	case "unjail", "setCommission":
		return 30_000
	case "validators":
		return 5_000 + 2_100*uint64(viewPage) // one page of the registry
	case "validatorsFrom":
		n := uint64(viewPage)
		if args, err := m.Inputs.Unpack(input[4:]); err == nil {
			if c := args[1].(*big.Int); c.IsUint64() {
				n = min(n, c.Uint64())
			}
		}
		return 5_000 + 2_100*n
	}
	return 5_000
}

// RegistrationMessage is what a validator's consensus key signs to bind
// itself to operator on this chain.
func RegistrationMessage(chainID *big.Int, operator common.Address, pubKey [32]byte) []byte {
	return crypto.Keccak256([]byte("cairn:register-validator"), common.BigToHash(chainID).Bytes(), operator.Bytes(), pubKey[:])
}

// Run implements chain.SystemContract.
func (s *Staking) Run(call *chain.Call) ([]byte, error) {
	if len(call.Input) < 4 {
		if call.Value.Sign() > 0 {
			return nil, chain.Revert("send ETH with delegate(validator)")
		}
		return nil, chain.Revert("no method")
	}
	m, err := ABI.MethodById(call.Input[:4])
	if err != nil {
		return nil, chain.Revert("unknown method")
	}
	args, err := m.Inputs.Unpack(call.Input[4:])
	if err != nil {
		return nil, chain.Revert("bad arguments: %v", err)
	}
	if !m.IsPayable() && call.Value.Sign() > 0 {
		return nil, chain.Revert("%s is not payable", m.Name)
	}
	d := newDB(call.State)
	number := call.Block.BlockNumber.Uint64()
	switch m.Name {
	case "registerValidator":
		return nil, s.register(call, d, args[0].([32]byte), args[1].([]byte), uint64(args[2].(uint16)))
	case "delegate":
		val := args[0].(common.Address)
		if !d.registered(val) {
			return nil, chain.Revert("%v %s", ErrUnknownValidator, val)
		}
		if call.Value.Sign() == 0 {
			return nil, chain.Revert("nothing to delegate")
		}
		if err := s.delegate(d, val, call.Caller, call.Value.ToBig()); err != nil {
			return nil, chain.Revert("%v", err)
		}
		d.changed()
		call.Emit([]common.Hash{ABI.Events["Delegated"].ID, common.BytesToHash(val.Bytes()), common.BytesToHash(call.Caller.Bytes())},
			common.BigToHash(call.Value.ToBig()).Bytes())
		return nil, nil
	case "unbond":
		if call.Value.Sign() > 0 {
			return nil, chain.Revert("unbond is not payable")
		}
		val, amount := args[0].(common.Address), args[1].(*big.Int)
		release, err := s.unbond(d, val, call.Caller, amount, number, call.Block.Time)
		if err != nil {
			return nil, chain.Revert("%v", err)
		}
		d.changed()
		data, _ := ABI.Events["Unbonded"].Inputs.NonIndexed().Pack(amount, release)
		call.Emit([]common.Hash{ABI.Events["Unbonded"].ID, common.BytesToHash(val.Bytes()), common.BytesToHash(call.Caller.Bytes())}, data)
		return nil, nil
	case "withdraw":
		if call.Value.Sign() > 0 {
			return nil, chain.Revert("withdraw is not payable")
		}
		paid := s.withdraw(d, call.Caller, number, call.Block.Time)
		if paid.Sign() > 0 {
			d.changed() // a validator may have fully left: prune it
			call.Emit([]common.Hash{ABI.Events["Withdrawn"].ID, common.BytesToHash(call.Caller.Bytes())}, common.BigToHash(paid).Bytes())
		}
		return m.Outputs.Pack(paid)
	case "unjail":
		if !d.registered(call.Caller) {
			return nil, chain.Revert("%v %s", ErrUnknownValidator, call.Caller)
		}
		v := d.load(call.Caller)
		if !v.Jailed {
			return nil, chain.Revert("validator is not jailed")
		}
		if v.Tombstoned {
			return nil, chain.Revert("validator double-signed: it may never return")
		}
		if number < v.JailedUntil {
			return nil, chain.Revert("jailed until block %d", v.JailedUntil)
		}
		v.Jailed, v.Missed, v.WindowStart = false, 0, number
		d.save(v)
		d.changed()
		call.Emit([]common.Hash{ABI.Events["Unjailed"].ID, common.BytesToHash(call.Caller.Bytes())}, nil)
		return nil, nil
	case "setCommission":
		bps := uint64(args[0].(uint16))
		if !d.registered(call.Caller) {
			return nil, chain.Revert("%v %s", ErrUnknownValidator, call.Caller)
		}
		if bps > 10_000 {
			return nil, chain.Revert("commission above 100%%")
		}
		v := d.load(call.Caller)
		// As the Cosmos SDK: a bounded step, and one change per unbonding
		// period, so delegators can leave before the next.
		step := max(bps, v.Commission) - min(bps, v.Commission)
		if step > MaxCommissionChangeBps {
			return nil, chain.Revert("commission may change by at most %d bps at a time", MaxCommissionChangeBps)
		}
		last := d.U64(vkey(call.Caller, "commissionChanged"))
		if last != 0 && number < last+s.params.UnbondingBlocks {
			return nil, chain.Revert("commission changed at block %d: next change from block %d", last, last+s.params.UnbondingBlocks)
		}
		v.Commission = bps
		d.save(v)
		d.SetU64(vkey(call.Caller, "commissionChanged"), number)
		return nil, nil
	case "validators":
		// The registry's first page: a view's work is bounded whatever the
		// registry's size; validatorsFrom reads the rest.
		ops := make([]common.Address, min(d.count(), viewPage))
		for i := range ops {
			ops[i] = d.at(uint64(i))
		}
		return m.Outputs.Pack(ops)
	case "validatorsFrom":
		start, count := args[0].(*big.Int), args[1].(*big.Int)
		var ops []common.Address
		if start.IsUint64() && count.IsUint64() {
			for i := start.Uint64(); i < d.count() && uint64(len(ops)) < min(count.Uint64(), viewPage); i++ {
				ops = append(ops, d.at(i))
			}
		}
		return m.Outputs.Pack(ops)
	case "validator":
		op := args[0].(common.Address)
		if !d.registered(op) {
			return nil, chain.Revert("%v %s", ErrUnknownValidator, op)
		}
		v := d.load(op)
		return m.Outputs.Pack(v.PubKey, v.Stake, uint16(v.Commission), v.Jailed, v.JailedUntil, v.Missed, uint64(v.Power))
	case "delegation":
		val, del := args[0].(common.Address), args[1].(common.Address)
		return m.Outputs.Pack(s.delegationAmount(d, val, del))
	}
	return nil, chain.Revert("unknown method")
}

func (s *Staking) register(call *chain.Call, d db, pub [32]byte, sig []byte, commission uint64) error {
	op := call.Caller
	switch {
	case d.registered(op):
		return chain.Revert("account %s already runs a validator", op)
	case commission > 10_000:
		return chain.Revert("commission above 100%%")
	case call.Value.ToBig().Cmp(s.params.MinStake) < 0:
		return chain.Revert("stake %s below the minimum %s", call.Value, s.params.MinStake)
	case pub == [32]byte{}:
		return chain.Revert("empty consensus key")
	}
	if err := checkConsensusKey(pub); err != nil {
		return chain.Revert("%v", err)
	}
	pk := ed25519.PubKey(pub[:])
	if !pk.VerifySignature(RegistrationMessage(s.chainID, op, pub), sig) {
		return chain.Revert("%v", ErrBadSignature)
	}
	cons := consAddress(pub)
	if d.operatorOf(cons) != (common.Address{}) {
		return chain.Revert("consensus key already registered")
	}
	d.SetAddr(key("cons", cons), op)
	d.append(op)
	d.save(&Validator{Operator: op, PubKey: pub, Stake: new(big.Int), Shares: new(big.Int), Commission: commission, WindowStart: call.Block.BlockNumber.Uint64()})
	if err := s.delegate(d, op, op, call.Value.ToBig()); err != nil {
		return chain.Revert("%v", err)
	}
	d.changed()
	call.Emit([]common.Hash{ABI.Events["ValidatorRegistered"].ID, common.BytesToHash(op.Bytes())}, pub[:])
	return nil
}

// ErrNoShares is returned for a delegation too small to buy one share:
// it would add stake for nothing, raising the share price for the others.
var ErrNoShares = errors.New("delegation buys no share at the current price")

// ErrWeakKey is returned for a consensus key that is not a canonical
// encoding of a point of large order: ZIP-215 verification accepts
// signatures under small-order keys that need no private key at all.
var ErrWeakKey = errors.New("weak consensus key")

func checkConsensusKey(pub [32]byte) error {
	var y curve.CompressedEdwardsY
	if _, err := y.SetBytes(pub[:]); err != nil || !y.IsCanonicalVartime() {
		return fmt.Errorf("%w: not a canonical point encoding", ErrWeakKey)
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&y); err != nil {
		return fmt.Errorf("%w: not on the curve", ErrWeakKey)
	}
	if p.IsSmallOrder() {
		return fmt.Errorf("%w: small order", ErrWeakKey)
	}
	return nil
}

// delegate adds amount (already in the contract's balance) to a validator
// for del, at the current share price. One that buys no share is refused.
func (s *Staking) delegate(d db, val, del common.Address, amount *big.Int) error {
	v := d.load(val)
	shares := toShares(amount, v.Shares, v.Stake)
	if shares.Sign() == 0 {
		return fmt.Errorf("%w: %s wei, %s wei a share", ErrNoShares, amount, new(big.Int).Div(v.Stake, v.Shares))
	}
	v.Stake.Add(v.Stake, amount)
	v.Shares.Add(v.Shares, shares)
	d.save(v)
	d.setShares(val, del, new(big.Int).Add(d.shares(val, del), shares))
	d.addAccounted(amount)
	return nil
}

func (s *Staking) delegationAmount(d db, val, del common.Address) *big.Int {
	v := d.load(val)
	return toAmount(d.shares(val, del), v.Shares, v.Stake)
}

// toShares is what amount buys of a pool holding stake for total shares:
// one share a wei while the pool is empty. Both a validator's stake and
// its unbonding pool are priced so.
func toShares(amount, total, stake *big.Int) *big.Int {
	if total.Sign() == 0 || stake.Sign() == 0 {
		return new(big.Int).Set(amount)
	}
	out := new(big.Int).Mul(amount, total)
	return out.Div(out, stake)
}

// toAmount is what shares of such a pool are worth, rounded down.
func toAmount(shares, total, stake *big.Int) *big.Int {
	if total.Sign() == 0 {
		return new(big.Int)
	}
	out := new(big.Int).Mul(shares, stake)
	return out.Div(out, total)
}

// unbond takes amount of del's stake out of val into its unbonding pool,
// where it stays slashable for the validator's infractions; withdraw pays
// it after the unbonding period. An operator keeps at least MinSelfBond in
// its own validator, or leaves it entirely.
func (s *Staking) unbond(d db, val, del common.Address, amount *big.Int, number, now uint64) (uint64, error) {
	if !d.registered(val) {
		return 0, fmt.Errorf("%w %s", ErrUnknownValidator, val)
	}
	if amount.Sign() <= 0 {
		return 0, errors.New("nothing to unbond")
	}
	have := s.delegationAmount(d, val, del)
	if amount.Cmp(have) > 0 {
		return 0, fmt.Errorf("unbonding %s, delegation is %s", amount, have)
	}
	if del == val && s.params.MinSelfBond != nil {
		if left := new(big.Int).Sub(have, amount); left.Sign() > 0 && left.Cmp(s.params.MinSelfBond) < 0 {
			return 0, fmt.Errorf("the operator's own stake would fall to %s, below the minimum self-bond %s: unbond all of it or less", left, s.params.MinSelfBond)
		}
	}
	n := d.unbondings(del)
	if n >= maxUnbondings {
		return 0, fmt.Errorf("%d unbondings pending: withdraw first", n)
	}
	v := d.load(val)
	// Burn shares rounding up, so rounding never favours the leaver.
	burn := new(big.Int).Mul(amount, v.Shares)
	burn.Add(burn, new(big.Int).Sub(v.Stake, common.Big1)).Div(burn, v.Stake)
	if own := d.shares(val, del); burn.Cmp(own) > 0 {
		burn.Set(own)
	}
	d.setShares(val, del, new(big.Int).Sub(d.shares(val, del), burn))
	v.Shares.Sub(v.Shares, burn)
	v.Stake.Sub(v.Stake, amount)
	pool := toShares(amount, v.UnbondingShares, v.Unbonding)
	v.Unbonding.Add(v.Unbonding, amount)
	v.UnbondingShares.Add(v.UnbondingShares, pool)
	d.save(v)
	release := number + s.params.UnbondingBlocks
	d.setUnbonding(del, n, unbondingEntry{val: val, shares: pool, release: release, releaseTime: now + s.params.UnbondingSeconds})
	d.setUnbondings(del, n+1)
	return release, nil
}

// withdraw pays del every unbonding entry that has matured: its share of
// its validator's unbonding pool, after any slash.
func (s *Staking) withdraw(d db, del common.Address, number, now uint64) *big.Int {
	paid := new(big.Int)
	n, kept := d.unbondings(del), uint64(0)
	for i := uint64(0); i < n; i++ {
		e := d.unbonding(del, i)
		if e.release <= number && e.releaseTime <= now {
			v := d.load(e.val)
			amount := toAmount(e.shares, v.UnbondingShares, v.Unbonding)
			v.Unbonding.Sub(v.Unbonding, amount)
			v.UnbondingShares.Sub(v.UnbondingShares, e.shares)
			d.save(v)
			paid.Add(paid, amount)
			continue
		}
		d.setUnbonding(del, kept, e)
		kept++
	}
	for i := kept; i < n; i++ {
		d.setUnbonding(del, i, unbondingEntry{shares: new(big.Int)})
	}
	d.setUnbondings(del, kept)
	if paid.Sign() > 0 {
		d.subAccounted(paid)
		d.pay(del, paid)
	}
	return paid
}

// MaxCommissionChangeBps is the most a validator's commission moves in one
// change.
const MaxCommissionChangeBps = 100

// maxPower bounds one validator's voting power so that a full active set
// stays under CometBFT's MaxTotalVotingPower.
const maxPower = cmttypes.MaxTotalVotingPower / 1024

// Power is the voting power of a stake: whole ETH, at most maxPower.
func Power(stake *big.Int) int64 {
	p := new(big.Int).Div(stake, big.NewInt(params.Ether))
	if !p.IsInt64() || p.Int64() > maxPower {
		return maxPower
	}
	return p.Int64()
}

// BeginBlock applies consensus evidence: double-signing is slashed and
// jailed; a validator that missed more than MaxMissed of the last
// DowntimeWindow blocks is slashed less and jailed.
func (s *Staking) BeginBlock(st vm.StateDB, header *types.Header, c chain.Consensus) error {
	d := newDB(st)
	number := header.Number.Uint64()
	for _, ev := range c.Evidence {
		op := d.operatorOf(ev.Address)
		if op == (common.Address{}) {
			continue
		}
		s.punishDoubleSign(d, d.load(op), number)
	}
	for _, vote := range c.Votes {
		op := d.operatorOf(vote.Address)
		if op == (common.Address{}) {
			continue
		}
		v := d.load(op)
		if v.Jailed {
			continue
		}
		if number >= v.WindowStart+s.params.DowntimeWindow {
			v.WindowStart, v.Missed = number, 0
		}
		if !vote.Signed {
			v.Missed++
		}
		if v.Missed > s.params.MaxMissed {
			s.punish(d, v, s.params.DowntimeSlashBps, number)
			continue
		}
		d.save(v)
	}
	return nil
}

// punish slashes bps of a validator's stake and of its unbonding pool
// (burnt) and jails it, for downtime.
func (s *Staking) punish(d db, v *Validator, bps uint64, number uint64) {
	if v.Jailed {
		return // already punished for this episode
	}
	s.slash(d, v, bps)
	v.Jailed, v.JailedUntil, v.Missed = true, number+s.params.JailBlocks, 0
	d.save(v)
	d.changed()
}

// punishDoubleSign slashes a double-signer, jailed or not, and tombstones
// it: it may never unjail, so one slash covers the episode. The stake
// unbonding from it is slashed too: it was at stake when the validator
// signed twice, and the unbonding period outlives the evidence's age
// (CheckEvidenceAge), so leaving first does not escape the slash.
func (s *Staking) punishDoubleSign(d db, v *Validator, number uint64) {
	if v.Tombstoned {
		return
	}
	s.slash(d, v, s.params.DoubleSignSlashBps)
	v.Jailed, v.Tombstoned, v.JailedUntil, v.Missed = true, true, ^uint64(0), 0
	d.save(v)
	d.changed()
}

func (s *Staking) slash(d db, v *Validator, bps uint64) {
	cut := func(x *big.Int) *big.Int {
		c := new(big.Int).Mul(x, new(big.Int).SetUint64(bps))
		c.Div(c, big.NewInt(10_000))
		x.Sub(x, c)
		return c
	}
	total := new(big.Int).Add(cut(v.Stake), cut(v.Unbonding))
	if total.Sign() > 0 {
		d.subAccounted(total)
		d.burn(total)
	}
}

// EndBlock pays the block's reward to the proposer's validator and recomputes
// voting power. A reward with no known proposer stays in the contract,
// unaccounted, and goes to the next block's proposer.
func (s *Staking) EndBlock(st vm.StateDB, header *types.Header, c chain.Consensus) error {
	d := newDB(st)
	if s.params.BlockReward != nil && s.params.BlockReward.Sign() > 0 {
		d.mint(s.params.BlockReward)
	}
	reward := new(big.Int).Sub(d.balance(), d.accounted())
	rewarded := common.Address{}
	if op := d.operatorOf(c.Proposer); op != (common.Address{}) && reward.Sign() > 0 {
		rewarded = op
		v := d.load(op)
		if v.Shares.Sign() > 0 {
			commission := new(big.Int).Mul(reward, new(big.Int).SetUint64(v.Commission))
			commission.Div(commission, big.NewInt(10_000))
			v.Stake.Add(v.Stake, new(big.Int).Sub(reward, commission))
			d.save(v)
			d.addAccounted(new(big.Int).Sub(reward, commission))
			if commission.Sign() > 0 {
				if err := s.delegate(d, op, op, commission); err != nil {
					// Too small for a share: it stays in the stake.
					v = d.load(op)
					v.Stake.Add(v.Stake, commission)
					d.save(v)
					d.addAccounted(commission)
				}
			}
		}
	}
	// Only the reward moved stake this block: the proposer's stake grew,
	// which cannot reorder the active set if it is in it. Its power is all
	// that may change, so the registry need not be walked.
	if !d.Flag(key("changed")) {
		if rewarded == (common.Address{}) {
			d.setUpdates(nil)
			return nil
		}
		if v := d.load(rewarded); v.Power > 0 {
			var changed []common.Address
			if p := Power(v.Stake); p != v.Power {
				v.Power = p
				d.save(v)
				changed = append(changed, v.Operator)
			}
			d.setUpdates(changed)
			return nil
		}
	}
	s.updatePower(d)
	return nil
}

// changed marks that a validator's eligibility or standing may have moved
// this block (a registration, delegation, unbonding, slash or unjail), so
// EndBlock recomputes the active set from the whole registry.
func (d db) changed() { d.SetFlag(key("changed")) }

// updatePower gives CometBFT's voting power to the top MaxValidators by
// stake (ties by operator address), and records which changed. It walks
// the registry, which the pruning of validators that have left keeps to
// those holding stake; EndBlock skips it in blocks where only the reward
// moved stake.
func (s *Staking) updatePower(d db) {
	d.Set(key("changed"), common.Hash{})
	n := d.count()
	vals := make([]*Validator, 0, n)
	for i := uint64(0); i < n; i++ {
		vals = append(vals, d.load(d.at(i)))
	}
	want := make(map[common.Address]int64, len(vals))
	var eligible []*Validator
	for _, v := range vals {
		if !v.Jailed && v.Stake.Cmp(s.params.MinStake) >= 0 && Power(v.Stake) > 0 && s.selfBonded(d, v) {
			eligible = append(eligible, v)
		}
	}
	sort.Slice(eligible, func(i, j int) bool {
		if c := eligible[i].Stake.Cmp(eligible[j].Stake); c != 0 {
			return c > 0
		}
		return eligible[i].Operator.Cmp(eligible[j].Operator) < 0
	})
	for i, v := range eligible {
		if i < s.params.MaxValidators {
			want[v.Operator] = Power(v.Stake)
		}
	}
	var changed []common.Address
	var gone []*Validator
	for _, v := range vals { // in registration order: deterministic
		if p := want[v.Operator]; p != v.Power {
			v.Power = p
			d.save(v)
			changed = append(changed, v.Operator)
		} else if v.left() {
			gone = append(gone, v)
		}
	}
	d.setUpdates(changed)
	if len(gone) > 0 {
		d.prune(vals, gone)
	}
}

// left reports whether a validator has fully left: no power (CometBFT
// already told), stake, shares or unbonding stake. A tombstoned one stays,
// so its key stays banned.
func (v *Validator) left() bool {
	return v.Power == 0 && v.Stake.Sign() == 0 && v.Shares.Sign() == 0 && v.Unbonding.Sign() == 0 &&
		v.UnbondingShares.Sign() == 0 && !v.Tombstoned
}

// selfBonded reports whether a validator's operator keeps MinSelfBond in
// it: one that has left its own validator gives it no power.
func (s *Staking) selfBonded(d db, v *Validator) bool {
	if s.params.MinSelfBond == nil || s.params.MinSelfBond.Sign() == 0 {
		return true
	}
	return s.delegationAmount(d, v.Operator, v.Operator).Cmp(s.params.MinSelfBond) >= 0
}

// Update is a change of one validator's voting power.
type Update struct {
	PubKey [32]byte
	Power  int64
}

// Updates reads the voting power changes the last block made, in a
// deterministic order.
func Updates(st State) []Update {
	d := newDB(st)
	var out []Update
	for _, op := range d.updates() {
		v := d.load(op)
		out = append(out, Update{PubKey: v.PubKey, Power: v.Power})
	}
	return out
}

// Validators reads every registered validator, in registration order.
func Validators(st State) []*Validator {
	d := newDB(st)
	out := make([]*Validator, d.count())
	for i := range out {
		out[i] = d.load(d.at(uint64(i)))
	}
	return out
}

// ConsensusAddress is CometBFT's address of an ed25519 consensus key.
func ConsensusAddress(pub [32]byte) []byte { return ed25519.PubKey(pub[:]).Address() }

func consAddress(pub [32]byte) []byte { return ConsensusAddress(pub) }
