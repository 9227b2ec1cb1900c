package sidechain

import (
	"encoding/json"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing"
)

// WingName is the sidechain's key in the L1 genesis's wings section, and
// in the sidechain's own genesis for its half of the bridges.
const WingName = "sidechain"

// Params are the sidechain wing's rules, on both chains.
type Params struct {
	Multisig MultisigParams `json:"multisig"`
}

// Validate checks the rules.
func (p Params) Validate() error { return p.Multisig.Validate() }

func parse(raw json.RawMessage) (Params, error) { return wing.Decode[Params](raw, ErrParams) }

// WingContracts turns the wing's L1 genesis section into its L1 contracts.
func WingContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	p, err := parse(raw)
	if err != nil {
		return nil, err
	}
	return []chain.SystemContract{NewMultisigL1(p.Multisig)}, nil
}

// SideContracts turns the same section, in the sidechain's genesis, into
// the sidechain's halves of the bridges.
func SideContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	p, err := parse(raw)
	if err != nil {
		return nil, err
	}
	return []chain.SystemContract{NewMultisigSide(p.Multisig)}, nil
}
