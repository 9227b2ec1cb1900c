package channels

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairn-dev/cairn/chain"
)

// WingName is the payment channels' key in the L1 genesis's wings section.
const WingName = "payment-channels"

// ErrParams is returned for adjudicator rules that cannot work.
var ErrParams = errors.New("channels: bad parameters")

// DevDisputeWindow is the devnet's dispute window in L1 blocks: the devnet's
// L1 makes a block at least every 200 ms, so 150 blocks is at most 30 s of
// an idle chain, and less when it is busy.
const DevDisputeWindow = 150

// DevParams are the devnet's rules on the L1 of chain l1ChainID.
func DevParams(l1ChainID uint64) Params {
	return Params{L1ChainID: l1ChainID, DisputeWindow: DevDisputeWindow}
}

// WingContracts turns the wing's section of the L1 genesis into its L1
// contracts: what a wing.Registry runs for WingName.
func WingContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	var p Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParams, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return []chain.SystemContract{NewAdjudicator(p)}, nil
}

// WingGenesis returns the L1 genesis section that installs the adjudicator
// with rules p on every L1 node.
func WingGenesis(p Params) (map[string]json.RawMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{WingName: raw}, nil
}
