package chain

import (
	"math/big"

	"github.com/ethereum/go-ethereum/core/types"
)

// PriceBump is the percentage by which a transaction must raise both fee
// caps to replace a pending one of the same sender and nonce: go-ethereum's
// default (--txpool.pricebump).
const PriceBump = 10

// Bumped reports whether next may replace prev in a pool: both its fee cap
// and its tip cap are at least PriceBump percent higher.
func Bumped(prev, next *types.Transaction) bool {
	return BumpedBy(prev.GasFeeCap(), next.GasFeeCap()) && BumpedBy(prev.GasTipCap(), next.GasTipCap())
}

// BumpedBy reports whether next >= prev * (100 + PriceBump) / 100, rounded
// up, and next > prev: below 10 wei a same-price replacement would
// otherwise pass.
func BumpedBy(prev, next *big.Int) bool {
	need := new(big.Int).Mul(prev, big.NewInt(100+PriceBump))
	need.Add(need, big.NewInt(99))
	need.Div(need, big.NewInt(100))
	return next.Cmp(need) >= 0 && next.Cmp(prev) > 0
}
