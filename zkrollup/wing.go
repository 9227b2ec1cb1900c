package zkrollup

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing"
)

// WingName is the ZK rollup's key in the L1 genesis's wings section.
const WingName = "zk-rollup"

// ErrParams is returned for contract rules that cannot work.
var ErrParams = errors.New("zk rollup: bad parameters")

// WingContracts turns the wing's section of the L1 genesis into its L1
// contracts: what a wing.Registry runs for WingName.
func WingContracts(raw json.RawMessage) ([]chain.SystemContract, error) {
	p, err := wing.Decode[VerifierParams](raw, ErrParams)
	if err != nil {
		return nil, err
	}
	return []chain.SystemContract{NewVerifier(p)}, nil
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
	case uint64(len(p.GenesisAccounts)) > 1<<p.Depth:
		return fmt.Errorf("%w: %d genesis accounts in a tree of depth %d", ErrParams, len(p.GenesisAccounts), p.Depth)
	case p.PriorityFee != nil && p.PriorityFee.Sign() < 0:
		return fmt.Errorf("%w: negative priority fee", ErrParams)
	}
	return nil
}

// The devnet's bounds on priority ops: every op grants the operator 40 more
// L1 blocks (a batch of 4 proves in well under 2 s, and the devnet's L1 makes
// blocks on demand, up to about 75 a second), an exit request pays 0.0001
// ETH and a deposit is at least 0.001 ETH.
const (
	DevPrioritySpacing = 40
	DevPriorityFee     = 100_000_000_000_000 // wei
	DevMinDeposit      = 1_000_000           // gwei
)

// DevParams are the devnet's rules, on the L1 of chain l1ChainID: slots ops per batch over a tree of
// depth, run by operator, with no verifying key at genesis (the operator
// installs it once its setup is done) and a deadline of 600 L1 blocks.
func DevParams(l1ChainID uint64, slots, depth int, operator common.Address) VerifierParams {
	return VerifierParams{L1ChainID: l1ChainID, Slots: slots, Depth: depth, Operator: operator, PriorityDeadline: 600,
		PrioritySpacing: DevPrioritySpacing, PriorityFee: big.NewInt(DevPriorityFee), MinDeposit: DevMinDeposit,
		GenesisRoot: rootBytes(GenesisTree(depth, operator).Root()), GenesisAccounts: []common.Address{operator}}
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
