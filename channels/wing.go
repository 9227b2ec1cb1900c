package channels

import (
	"encoding/json"
	"errors"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing"
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
	p, err := wing.Decode[Params](raw, ErrParams)
	if err != nil {
		return nil, err
	}
	return []chain.SystemContract{NewAdjudicator(p)}, nil
}
