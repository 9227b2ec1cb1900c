// Package rpc serves Ethereum JSON-RPC (eth_, net_, web3_ and cairn_) over
// HTTP and WebSocket for any chain built on the chain package: the L1, the
// sidechain and the rollups all use it through the Backend interface.
//
// It is built on go-ethereum's rpc server, so batching, subscriptions and
// error encoding behave as geth's do; errors carry geth's messages ("nonce too
// low", "insufficient funds for gas * price + value", ...) so wallets and
// libraries recognise them.
package rpc

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/chain"
)

// Backend is what a node offers the RPC layer.
type Backend interface {
	// Chain is the node's chain store (blocks, receipts, state).
	Chain() *chain.Store
	// Executor runs calls with the chain's system contracts.
	Executor() *chain.Executor
	// SendTransaction submits a signed, encoded transaction and returns once
	// the node has accepted or refused it.
	SendTransaction(ctx context.Context, raw []byte) error
	// PendingNonce is the next nonce for addr counting queued transactions.
	PendingNonce(addr common.Address) (uint64, error)
	// PendingTransaction returns a transaction waiting in the node's
	// mempool, or nil.
	PendingTransaction(hash common.Hash) *types.Transaction
	// Layers lists the layers this node knows of, for cairn_layers.
	Layers() []Layer
}

// Layer describes one layer of the Cairn stack for cairn_layers.
type Layer struct {
	Name      string                    `json:"name"`
	Kind      string                    `json:"kind"` // "l1", "optimistic-rollup", ...
	ChainID   uint64                    `json:"chainId"`
	RPC       []string                  `json:"rpc"`
	WS        []string                  `json:"ws,omitempty"`
	Contracts map[string]common.Address `json:"contracts,omitempty"`
	Params    map[string]any            `json:"params,omitempty"`
}

// Validator is one L1 validator as cairn_validators reports it.
type Validator struct {
	Operator         common.Address `json:"address"`          // L1 account that runs it
	ConsensusKey     hexutil.Bytes  `json:"consensusKey"`     // CometBFT ed25519 public key
	ConsensusAddress hexutil.Bytes  `json:"consensusAddress"` // CometBFT address of that key
	Power            hexutil.Uint64 `json:"power"`            // voting power now
	Stake            *hexutil.Big   `json:"stake"`            // wei, delegations included
	CommissionBps    hexutil.Uint64 `json:"commissionBps"`
	Jailed           bool           `json:"jailed"`
	JailedUntil      hexutil.Uint64 `json:"jailedUntil"`
	MissedBlocks     hexutil.Uint64 `json:"missedBlocks"` // in the current downtime window
}

// HeadTags is implemented by backends whose safe and finalized blocks trail
// the latest one: a rollup's blocks are safe once derived from L1 data.
type HeadTags interface {
	SafeHead() *types.Header
	FinalizedHead() *types.Header
}

// ValidatorLister is implemented by backends whose layer has validators.
type ValidatorLister interface {
	Validators() ([]Validator, error)
}

// LightBlock is cairn_lightBlock's answer: a CometBFT chain's signed
// header at one height and the validator set that signed it, each in its
// protobuf encoding, as a light client verifies them.
type LightBlock struct {
	Height       hexutil.Uint64 `json:"height"`
	SignedHeader hexutil.Bytes  `json:"signedHeader"`
	Validators   hexutil.Bytes  `json:"validators"`
}

// LightBlockServer is implemented by backends with CometBFT consensus.
type LightBlockServer interface {
	// LightBlock returns the light block at height; 0 is the newest.
	LightBlock(height uint64) (*LightBlock, error)
}
