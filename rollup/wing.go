package rollup

import (
	"encoding/json"
	"fmt"

	"github.com/cairn-dev/cairn/chain"
)

// WingName is the rollup's key in the L1 genesis's wings section.
const WingName = "optimistic-rollup"

// WingContracts turns the wing's section of the L1 genesis into its L1
// contracts: what a wing.Registry runs for WingName.
func WingContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	var p L1Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return L1Contracts(p), nil
}

// WingGenesis returns the L1 genesis section that installs the rollup's L1
// contracts with rules p on every L1 node.
func WingGenesis(p L1Params) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{WingName: raw}, nil
}
