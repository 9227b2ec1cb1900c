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
	// Light is the light-client bridge's rules; nil runs none. The L1's
	// genesis needs only the sidechain's trust in it, the sidechain's only
	// the L1's.
	Light *LightParams `json:"light,omitempty"`
}

// Validate checks the rules.
func (p Params) Validate() error {
	if err := p.Multisig.Validate(); err != nil {
		return err
	}
	if p.Light != nil {
		return p.Light.Validate()
	}
	return nil
}

func parse(raw json.RawMessage) (Params, error) { return wing.Decode[Params](raw, ErrParams) }

// WingContracts turns the wing's L1 genesis section into its L1 contracts.
func WingContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	p, err := parse(raw)
	if err != nil {
		return nil, err
	}
	out := []chain.SystemContract{NewMultisigL1(p.Multisig)}
	if p.Light != nil {
		if err := p.Light.Side.Validate(); err != nil {
			return nil, err
		}
		out = append(out, NewLightL1(*p.Light))
	}
	return out, nil
}

// SideContracts turns the same section, in the sidechain's genesis, into
// the sidechain's halves of the bridges.
func SideContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	p, err := parse(raw)
	if err != nil {
		return nil, err
	}
	out := []chain.SystemContract{NewMultisigSide(p.Multisig)}
	if p.Light != nil {
		if err := p.Light.L1.Validate(); err != nil {
			return nil, err
		}
		out = append(out, NewLightSide(*p.Light))
	}
	return out, nil
}
