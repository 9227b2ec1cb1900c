package zkrollup

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1"
)

// WingName is the ZK rollup's key in the L1 genesis's wings section.
const WingName = "zk-rollup"

// ErrParams is returned for contract rules that cannot work.
var ErrParams = errors.New("zk rollup: bad parameters")

func init() {
	l1.RegisterWing(WingName, func(raw json.RawMessage) ([]chain.SystemContract, error) {
		var p VerifierParams
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrParams, err)
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		return []chain.SystemContract{NewVerifier(p)}, nil
	})
}

// Validate checks the rules.
func (p VerifierParams) Validate() error {
	switch {
	case p.Slots < 1 || p.Slots > 1024:
		return fmt.Errorf("%w: %d slots", ErrParams, p.Slots)
	case p.Depth < 1 || p.Depth > 32:
		return fmt.Errorf("%w: depth %d", ErrParams, p.Depth)
	case p.Operator == (common.Address{}):
		return fmt.Errorf("%w: no operator", ErrParams)
	case p.PriorityDeadline == 0:
		return fmt.Errorf("%w: no priority deadline", ErrParams)
	}
	return nil
}

// DevParams are the devnet's rules: slots ops per batch over a tree of
// depth, run by operator, with no verifying key at genesis (the operator
// installs it once its setup is done) and a deadline of 600 L1 blocks.
func DevParams(slots, depth int, operator common.Address) VerifierParams {
	return VerifierParams{Slots: slots, Depth: depth, Operator: operator, PriorityDeadline: 600,
		GenesisRoot: rootBytes(GenesisTree(depth, operator).Root())}
}

// WingGenesis returns the L1 genesis section that installs the ZK rollup's
// contract with rules p on every L1 node.
func WingGenesis(p VerifierParams) (map[string]json.RawMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{WingName: raw}, nil
}
