package explorer

import (
	"bytes"
	"context"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	cairnrpc "github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/sidechain"
)

// Signer is one validator of a BFT block: whether it proposed the block
// and whether its vote is in the block's commit.
type Signer struct {
	Operator         common.Address // zero when cairn_validators no longer lists it
	ConsensusAddress string
	Power            int64
	Proposed, Signed bool
}

// signers reads a CometBFT block's proposer and commit signers from
// cairn_lightBlock (its signed header and the validator set that signed),
// naming each by its operator from cairn_validators. It returns nil where
// the layer has no CometBFT consensus or the block is not committed yet.
func signers(ctx context.Context, l *layer, height uint64) (signed []Signer, power, total int64) {
	var lb *cairnrpc.LightBlock
	if height == 0 || l.rpc.CallContext(ctx, &lb, "cairn_lightBlock", hexutil.Uint64(height)) != nil || lb == nil {
		return nil, 0, 0
	}
	sh, err := sidechain.DecodeSignedHeader(lb.SignedHeader)
	if err != nil {
		return nil, 0, 0
	}
	vs, err := sidechain.DecodeValidatorSet(lb.Validators)
	if err != nil {
		return nil, 0, 0
	}
	var vals []cairnrpc.Validator
	_ = l.rpc.CallContext(ctx, &vals, "cairn_validators")
	operator := func(addr []byte) common.Address {
		for _, v := range vals {
			if bytes.Equal(v.ConsensusAddress, addr) {
				return v.Operator
			}
		}
		return common.Address{}
	}
	voted := map[string]bool{}
	for _, s := range sh.Commit.Signatures {
		if s.BlockIDFlag == cmttypes.BlockIDFlagCommit {
			voted[string(s.ValidatorAddress)] = true
		}
	}
	for _, v := range vs.Validators {
		s := Signer{Operator: operator(v.Address), ConsensusAddress: hexutil.Encode(v.Address), Power: v.VotingPower,
			Proposed: bytes.Equal(v.Address, sh.ProposerAddress), Signed: voted[string(v.Address)]}
		total += v.VotingPower
		if s.Signed {
			power += v.VotingPower
		}
		signed = append(signed, s)
	}
	return signed, power, total
}
