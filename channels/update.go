package channels

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Role is a party's side of a channel: A opened it, B is its peer.
type Role uint8

// The two roles.
const (
	RoleA Role = iota
	RoleB
)

// Other is the other side.
func (r Role) Other() Role { return 1 - r }

func (r Role) String() string {
	if r == RoleA {
		return "A"
	}
	return "B"
}

// OpKind is what one operation of an update does.
type OpKind uint8

// The operations (rule C3 of docs/channels.md). Each is applied as by the
// update's proposer.
const (
	// OpPay moves Amount from the proposer's balance to the other's.
	OpPay OpKind = iota + 1
	// OpAddHTLC moves Amount from the proposer's balance into an HTLC
	// offered to the other, locked by PaymentHash until Expiry.
	OpAddHTLC
	// OpFulfil removes the HTLC offered to the proposer with
	// PaymentHash = sha256(Preimage), paying its amount to the proposer.
	OpFulfil
	// OpFail removes the HTLC offered to the proposer with PaymentHash,
	// returning its amount to the other (its sender).
	OpFail
	// OpClose makes the state final, for a cooperative close: the only op
	// of its update, with no HTLC in flight.
	OpClose
)

func (k OpKind) String() string {
	switch k {
	case OpPay:
		return "pay"
	case OpAddHTLC:
		return "add-htlc"
	case OpFulfil:
		return "fulfil"
	case OpFail:
		return "fail"
	case OpClose:
		return "close"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one operation of an update.
type Op struct {
	Kind        OpKind
	Amount      *big.Int    // OpPay, OpAddHTLC
	PaymentHash common.Hash // OpAddHTLC, OpFail (OpFulfil: derived)
	Expiry      uint64      // OpAddHTLC
	Preimage    common.Hash // OpFulfil
	// Onward is the route past the receiver of an OpAddHTLC, for it to
	// forward; empty, the receiver is the payee. Not part of the state.
	Onward []Hop
	// Reason says why an OpFail failed. Not part of the state.
	Reason string
}

// Hop is one forwarding instruction of a route: offer an HTLC of Amount
// with Expiry on Channel.
type Hop struct {
	Channel common.Hash
	Amount  *big.Int
	Expiry  uint64
}

// ErrBadUpdate is returned for an update that may not be applied to a
// state: it would overdraw a balance, names an HTLC that is not there,
// or breaks a state's rules.
var ErrBadUpdate = errors.New("channel update refused")

// Limits is what a party requires of the HTLCs offered to it.
type Limits struct {
	// Height is the newest L1 block the party knows.
	Height uint64
	// MinExpiryDelta is the fewest L1 blocks an HTLC offered to the
	// party must leave it, past Height, to claim the HTLC on L1: at least
	// a dispute window.
	MinExpiryDelta uint64
	// MaxExpiryDelta is the most L1 blocks past Height an HTLC offered to
	// the party may lock its peer's funds for; 0 bounds nothing.
	MaxExpiryDelta uint64
}

// Apply returns the state after the proposer's ops, one version past s.
// The receiver checks HTLCs offered to it against lim (lim nil checks
// nothing: the proposer's own view). s is not changed.
func Apply(s *State, proposer Role, ops []Op, lim *Limits) (*State, error) {
	if s.Final {
		return nil, fmt.Errorf("%w: the channel is closing", ErrBadUpdate)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: no operations", ErrBadUpdate)
	}
	n := s.Copy()
	n.Version++
	mine, theirs := n.BalanceA, n.BalanceB
	if proposer == RoleB {
		mine, theirs = theirs, mine
	}
	offeredByMe := proposer == RoleA // HTLC.FromA of an HTLC the proposer offers
	for i, op := range ops {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: op %d (%s): %s", ErrBadUpdate, i, op.Kind, fmt.Sprintf(format, args...))
		}
		switch op.Kind {
		case OpPay, OpAddHTLC:
			if op.Amount == nil || op.Amount.Sign() <= 0 {
				return nil, bad("amount must be positive")
			}
			if mine.Cmp(op.Amount) < 0 {
				return nil, bad("%s wei, the proposer's balance is %s", op.Amount, mine)
			}
			mine.Sub(mine, op.Amount)
			if op.Kind == OpPay {
				theirs.Add(theirs, op.Amount)
				continue
			}
			if findHTLC(n.HTLCs, op.PaymentHash) >= 0 {
				return nil, bad("an HTLC with payment hash %s is in flight", op.PaymentHash)
			}
			if op.Expiry == 0 || op.Expiry > MaxExpiry {
				return nil, bad("expiry %d outside (0, 2^48]", op.Expiry)
			}
			if lim != nil && op.Expiry < lim.Height+lim.MinExpiryDelta {
				return nil, bad("expiry %d leaves fewer than %d blocks past %d", op.Expiry, lim.MinExpiryDelta, lim.Height)
			}
			if lim != nil && lim.MaxExpiryDelta > 0 && op.Expiry > lim.Height+lim.MaxExpiryDelta {
				return nil, bad("expiry %d is more than %d blocks past %d", op.Expiry, lim.MaxExpiryDelta, lim.Height)
			}
			n.HTLCs = append(n.HTLCs, HTLC{FromA: offeredByMe, Amount: new(big.Int).Set(op.Amount), PaymentHash: op.PaymentHash, Expiry: op.Expiry})
		case OpFulfil, OpFail:
			hash := op.PaymentHash
			if op.Kind == OpFulfil {
				hash = sha256.Sum256(op.Preimage[:])
			}
			j := findHTLC(n.HTLCs, hash)
			if j < 0 || n.HTLCs[j].FromA == offeredByMe {
				return nil, bad("no HTLC %s offered to the proposer", hash)
			}
			if op.Kind == OpFulfil {
				mine.Add(mine, n.HTLCs[j].Amount)
			} else {
				theirs.Add(theirs, n.HTLCs[j].Amount)
			}
			n.HTLCs = append(n.HTLCs[:j], n.HTLCs[j+1:]...)
		case OpClose:
			if len(ops) != 1 || len(n.HTLCs) > 0 {
				return nil, bad("a close is the only op, with no HTLC in flight")
			}
			n.Final = true
		default:
			return nil, bad("unknown operation")
		}
	}
	if err := n.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadUpdate, err)
	}
	return n, nil
}

func findHTLC(hs []HTLC, hash common.Hash) int {
	for i, h := range hs {
		if h.PaymentHash == hash {
			return i
		}
	}
	return -1
}
