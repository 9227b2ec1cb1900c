package channels

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

// AdjudicatorAddress is the adjudicator's L1 address.
var AdjudicatorAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0300")

const stateTuple = `{"name":"s","type":"tuple","components":[
 {"name":"channel","type":"bytes32"},{"name":"version","type":"uint64"},
 {"name":"balanceA","type":"uint256"},{"name":"balanceB","type":"uint256"},
 {"name":"htlcs","type":"tuple[]","components":[{"name":"fromA","type":"bool"},{"name":"amount","type":"uint256"},{"name":"paymentHash","type":"bytes32"},{"name":"expiry","type":"uint64"}]},
 {"name":"final","type":"bool"}]}`

const adjudicatorABIJSON = `[
{"type":"function","name":"open","stateMutability":"payable","inputs":[{"name":"peer","type":"address"}],"outputs":[{"name":"id","type":"bytes32"}]},
{"type":"function","name":"fund","stateMutability":"payable","inputs":[{"name":"id","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"cancel","stateMutability":"nonpayable","inputs":[{"name":"id","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"close","stateMutability":"nonpayable","inputs":[` + stateTuple + `,{"name":"sigA","type":"bytes"},{"name":"sigB","type":"bytes"}],"outputs":[]},
{"type":"function","name":"forceClose","stateMutability":"nonpayable","inputs":[` + stateTuple + `,{"name":"sigA","type":"bytes"},{"name":"sigB","type":"bytes"}],"outputs":[]},
{"type":"function","name":"challenge","stateMutability":"nonpayable","inputs":[` + stateTuple + `,{"name":"sigA","type":"bytes"},{"name":"sigB","type":"bytes"}],"outputs":[]},
{"type":"function","name":"conclude","stateMutability":"nonpayable","inputs":[{"name":"id","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"settleHTLC","stateMutability":"nonpayable","inputs":[{"name":"id","type":"bytes32"},{"name":"index","type":"uint256"}],"outputs":[]},
{"type":"function","name":"revealSecret","stateMutability":"nonpayable","inputs":[{"name":"preimage","type":"bytes32"}],"outputs":[]},
{"type":"function","name":"channel","stateMutability":"view","inputs":[{"name":"id","type":"bytes32"}],"outputs":[{"name":"a","type":"address"},{"name":"b","type":"address"},{"name":"depositA","type":"uint256"},{"name":"depositB","type":"uint256"},{"name":"status","type":"uint8"},{"name":"version","type":"uint64"},{"name":"deadline","type":"uint64"},{"name":"closer","type":"address"},{"name":"locked","type":"uint256"}]},
{"type":"function","name":"registered","stateMutability":"view","inputs":[{"name":"id","type":"bytes32"}],"outputs":[{"name":"balanceA","type":"uint256"},{"name":"balanceB","type":"uint256"},{"name":"htlcCount","type":"uint256"}]},
{"type":"function","name":"htlc","stateMutability":"view","inputs":[{"name":"id","type":"bytes32"},{"name":"index","type":"uint256"}],"outputs":[{"name":"fromA","type":"bool"},{"name":"amount","type":"uint256"},{"name":"paymentHash","type":"bytes32"},{"name":"expiry","type":"uint64"},{"name":"settled","type":"bool"}]},
{"type":"function","name":"secretRevealedAt","stateMutability":"view","inputs":[{"name":"paymentHash","type":"bytes32"}],"outputs":[{"name":"","type":"uint64"}]},
{"type":"function","name":"rules","stateMutability":"view","inputs":[],"outputs":[{"name":"l1ChainId","type":"uint64"},{"name":"disputeWindow","type":"uint64"},{"name":"maxHTLCs","type":"uint32"}]},
{"type":"event","name":"ChannelOpened","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"a","type":"address","indexed":true},{"name":"b","type":"address","indexed":true},{"name":"deposit","type":"uint256","indexed":false}]},
{"type":"event","name":"ChannelFunded","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"party","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false},{"name":"deposit","type":"uint256","indexed":false}]},
{"type":"event","name":"ChannelClosed","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"version","type":"uint64","indexed":false},{"name":"payA","type":"uint256","indexed":false},{"name":"payB","type":"uint256","indexed":false}]},
{"type":"event","name":"ChannelDisputed","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"closer","type":"address","indexed":true},{"name":"version","type":"uint64","indexed":false},{"name":"deadline","type":"uint64","indexed":false}]},
{"type":"event","name":"ChannelChallenged","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"challenger","type":"address","indexed":true},{"name":"version","type":"uint64","indexed":false},{"name":"penalized","type":"bool","indexed":false}]},
{"type":"event","name":"ChannelConcluded","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"payA","type":"uint256","indexed":false},{"name":"payB","type":"uint256","indexed":false}]},
{"type":"event","name":"HTLCSettled","inputs":[{"name":"id","type":"bytes32","indexed":true},{"name":"paymentHash","type":"bytes32","indexed":true},{"name":"index","type":"uint256","indexed":false},{"name":"to","type":"address","indexed":false},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"SecretRevealed","inputs":[{"name":"paymentHash","type":"bytes32","indexed":true},{"name":"preimage","type":"bytes32","indexed":false}]}
]`

// AdjudicatorABI is the adjudicator's Solidity ABI.
var AdjudicatorABI = chain.MustParseABI(adjudicatorABIJSON)

// AdjudicatorABIJSON is the adjudicator's ABI as JSON, for ethers, viem and
// cast.
const AdjudicatorABIJSON = adjudicatorABIJSON

// abiHTLC and abiState are the ABI's tuples as go-ethereum's abi package
// binds them (field names from the ABI's component names).
type abiHTLC struct {
	FromA       bool
	Amount      *big.Int
	PaymentHash [32]byte
	Expiry      uint64
}

type abiState struct {
	Channel  [32]byte
	Version  uint64
	BalanceA *big.Int
	BalanceB *big.Int
	Htlcs    []abiHTLC
	Final    bool
}

func toABI(s *State) abiState {
	w := abiState{Channel: s.Channel, Version: s.Version, BalanceA: s.BalanceA, BalanceB: s.BalanceB, Final: s.Final,
		Htlcs: make([]abiHTLC, len(s.HTLCs))}
	for i, h := range s.HTLCs {
		w.Htlcs[i] = abiHTLC{FromA: h.FromA, Amount: h.Amount, PaymentHash: h.PaymentHash, Expiry: h.Expiry}
	}
	return w
}

func fromABI(v any) (s *State, err error) {
	defer func() {
		if r := recover(); r != nil { // ConvertType panics on a tuple of another shape
			s, err = nil, fmt.Errorf("%w: state tuple does not decode: %v", ErrBadState, r)
		}
	}()
	w, ok := abi.ConvertType(v, new(abiState)).(*abiState)
	if !ok {
		return nil, fmt.Errorf("%w: state tuple does not decode", ErrBadState)
	}
	s = &State{Channel: w.Channel, Version: w.Version, BalanceA: w.BalanceA, BalanceB: w.BalanceB, Final: w.Final}
	if len(w.Htlcs) > MaxHTLCs {
		return nil, fmt.Errorf("%w: %d HTLCs, at most %d", ErrBadState, len(w.Htlcs), MaxHTLCs)
	}
	s.HTLCs = make([]HTLC, len(w.Htlcs))
	for i, h := range w.Htlcs {
		s.HTLCs[i] = HTLC{FromA: h.FromA, Amount: h.Amount, PaymentHash: h.PaymentHash, Expiry: h.Expiry}
	}
	return s, nil
}

// PackState is the calldata of close, forceClose or challenge (method) with
// s and both signatures.
func PackState(method string, s *State, sigA, sigB []byte) ([]byte, error) {
	return AdjudicatorABI.Pack(method, toABI(s), sigA, sigB)
}
