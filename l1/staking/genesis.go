package staking

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// GenesisValidator is a validator present from the first block.
type GenesisValidator struct {
	Operator   common.Address `json:"operator"`
	PubKey     [32]byte       `json:"pubKey"`
	Stake      *big.Int       `json:"stake"`
	Commission uint64         `json:"commissionBps"`
}

// GenesisAccount returns the staking contract's genesis account: its
// storage with the genesis validators registered and staked, and a balance
// holding their stake. Genesis validators need no registration signature:
// whoever writes the genesis vouches for them.
func (s *Staking) GenesisAccount(vals []GenesisValidator) (types.Account, error) {
	rec := &recorder{storage: map[common.Hash]common.Hash{}, balance: new(uint256.Int)}
	d := newDB(rec)
	for _, gv := range vals {
		if gv.Stake == nil || gv.Stake.Cmp(s.params.MinStake) < 0 {
			return types.Account{}, fmt.Errorf("genesis validator %s: stake below the minimum %s", gv.Operator, s.params.MinStake)
		}
		if d.registered(gv.Operator) {
			return types.Account{}, fmt.Errorf("genesis validator %s listed twice", gv.Operator)
		}
		cons := consAddress(gv.PubKey)
		if d.operatorOf(cons) != (common.Address{}) {
			return types.Account{}, errors.New("two genesis validators share a consensus key")
		}
		d.SetAddr(key("cons", cons), gv.Operator)
		d.append(gv.Operator)
		d.save(&Validator{Operator: gv.Operator, PubKey: gv.PubKey, Stake: new(big.Int), Shares: new(big.Int), Commission: gv.Commission})
		rec.balance.Add(rec.balance, uint256.MustFromBig(gv.Stake))
		s.delegate(d, gv.Operator, gv.Operator, gv.Stake)
	}
	s.updatePower(d)
	d.setUpdates(nil) // CometBFT takes the genesis set from its own genesis file
	return types.Account{Balance: rec.balance.ToBig(), Storage: rec.storage, Nonce: 1}, nil
}

// recorder is a State over maps, for building the genesis account.
type recorder struct {
	storage map[common.Hash]common.Hash
	balance *uint256.Int
}

func (r *recorder) GetState(_ common.Address, k common.Hash) common.Hash { return r.storage[k] }
func (r *recorder) SetState(_ common.Address, k, v common.Hash) common.Hash {
	prev := r.storage[k]
	if v == (common.Hash{}) {
		delete(r.storage, k)
	} else {
		r.storage[k] = v
	}
	return prev
}
func (r *recorder) GetBalance(common.Address) *uint256.Int { return new(uint256.Int).Set(r.balance) }
func (r *recorder) AddBalance(_ common.Address, v *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	prev := *r.balance
	r.balance.Add(r.balance, v)
	return prev
}
func (r *recorder) SubBalance(_ common.Address, v *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	prev := *r.balance
	r.balance.Sub(r.balance, v)
	return prev
}
