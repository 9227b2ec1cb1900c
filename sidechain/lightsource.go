package sidechain

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversionpb "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/rpc"
)

// LightBlock is a chain's signed header at one height with the validator
// set that signed it: what a light client update carries.
type LightBlock struct {
	SignedHeader *cmttypes.SignedHeader
	Validators   *cmttypes.ValidatorSet
}

// Height is the block's height.
func (b *LightBlock) Height() uint64 { return uint64(b.SignedHeader.Height) }

// Hash is the block's header hash.
func (b *LightBlock) Hash() common.Hash { return common.BytesToHash(b.SignedHeader.Hash()) }

// LightSource serves a chain's light blocks.
type LightSource interface {
	// LightBlock returns the light block at height, or the newest one
	// (whose commit may be one of several valid ones) for height 0.
	LightBlock(ctx context.Context, height uint64) (*LightBlock, error)
}

// LightBlockJSON is cairn_lightBlock's answer: the protobuf encodings of
// the signed header and of its validator set.
type LightBlockJSON = rpc.LightBlock

// Encode turns b into its JSON-RPC form.
func (b *LightBlock) Encode() (*LightBlockJSON, error) {
	sh, err := EncodeSignedHeader(b.SignedHeader)
	if err != nil {
		return nil, err
	}
	vs, err := EncodeValidatorSet(b.Validators)
	if err != nil {
		return nil, err
	}
	return &LightBlockJSON{Height: hexutil.Uint64(b.Height()), SignedHeader: sh, Validators: vs}, nil
}

// DecodeLightBlock reads a light block from its JSON-RPC form.
func DecodeLightBlock(j *LightBlockJSON) (*LightBlock, error) {
	sh, err := DecodeSignedHeader(j.SignedHeader)
	if err != nil {
		return nil, err
	}
	vs, err := DecodeValidatorSet(j.Validators)
	if err != nil {
		return nil, err
	}
	return &LightBlock{SignedHeader: sh, Validators: vs}, nil
}

// RPCLightSource reads light blocks from a Cairn node's cairn_lightBlock.
type RPCLightSource struct{ Client *gethrpc.Client }

// LightBlock implements LightSource.
func (s RPCLightSource) LightBlock(ctx context.Context, height uint64) (*LightBlock, error) {
	var out *LightBlockJSON
	if err := s.Client.CallContext(ctx, &out, "cairn_lightBlock", hexutil.Uint64(height)); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("no light block at height %d", height)
	}
	return DecodeLightBlock(out)
}

// HandConsensus signs CometBFT headers for a hand-mined chain with keys of
// its own: real headers, real ed25519 votes and real commits, without a
// consensus protocol running. Tests and the lab's attacks use it to feed a
// light client exactly the headers they choose, honest or forged.
type HandConsensus struct {
	ChainID string
	Keys    []cmttypes.PrivValidator
	Set     *cmttypes.ValidatorSet
	Chain   HeaderReader
}

// HeaderReader reads a chain's Ethereum headers (chain.Store does).
type HeaderReader interface {
	Head() *types.Header
	GetHeaderByNumber(number uint64) *types.Header
}

// NewHandConsensus makes n validators of equal power for the chain.
func NewHandConsensus(chainID string, n int, c HeaderReader) *HandConsensus {
	h := &HandConsensus{ChainID: chainID, Chain: c}
	var vals []*cmttypes.Validator
	for range n {
		pv := cmttypes.NewMockPV()
		pub, _ := pv.GetPubKey()
		h.Keys = append(h.Keys, pv)
		vals = append(vals, cmttypes.NewValidator(pub, 10))
	}
	h.Set = cmttypes.NewValidatorSet(vals)
	return h
}

// Trust is the genesis trust of a client following this chain, whose
// genesis block has time genesisTime (Unix seconds).
func (h *HandConsensus) Trust(genesisTime uint64) Trust {
	return Trust{ChainID: h.ChainID, TimeNs: genesisTime*1e9 - 1, NextValidatorsHash: common.BytesToHash(h.Set.Hash())}
}

// AppHashAt is the app hash a header at height carries under Cairn's rule
// (l1/apphash.go): the state root of the newest block with transactions
// below it.
func AppHashAt(header func(uint64) *types.Header, height uint64) (common.Hash, uint64, error) {
	for n := height - 1; ; n-- {
		eh := header(n)
		if eh == nil {
			return common.Hash{}, 0, fmt.Errorf("no block %d", n)
		}
		if n == 0 || eh.TxHash != types.EmptyTxsHash {
			return eh.Root, n, nil
		}
	}
}

// LightBlock implements LightSource: the honest header at height, signed
// by every validator.
func (h *HandConsensus) LightBlock(_ context.Context, height uint64) (*LightBlock, error) {
	if height == 0 {
		if height = h.Chain.Head().Number.Uint64(); height == 0 {
			return nil, errors.New("no block yet")
		}
	}
	eh := h.Chain.GetHeaderByNumber(height)
	if eh == nil {
		return nil, fmt.Errorf("no block %d", height)
	}
	app, _, err := AppHashAt(h.Chain.GetHeaderByNumber, height)
	if err != nil {
		return nil, err
	}
	hdr := h.HeaderAt(height, HandTime(eh.Time, height), app)
	all := make([]int, len(h.Keys))
	for i := range all {
		all[i] = i
	}
	return h.Sign(hdr, all)
}

// HandTime is a hand-signed header's time: its block's time (seconds)
// plus its height in nanoseconds, so headers of blocks mined in one second
// still grow in time, as BFT time does.
func HandTime(blockTime, height uint64) time.Time {
	return time.Unix(int64(blockTime), int64(height%1_000_000_000))
}

// HeaderAt is the CometBFT header this consensus makes at height, at time
// t, committing to app.
func (h *HandConsensus) HeaderAt(height uint64, t time.Time, app common.Hash) cmttypes.Header {
	last := make([]byte, 32)
	if h.Chain != nil && height > 1 {
		if prev := h.Chain.GetHeaderByNumber(height - 1); prev != nil {
			last = prev.Hash().Bytes()
		}
	}
	vh := h.Set.Hash()
	return cmttypes.Header{
		Version: cmtversionpb.Consensus{Block: cmtversion.BlockProtocol}, ChainID: h.ChainID,
		Height: int64(height), Time: t.UTC(),
		LastBlockID:    cmttypes.BlockID{Hash: last, PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: last}},
		ValidatorsHash: vh, NextValidatorsHash: vh, AppHash: app.Bytes(),
		ProposerAddress: h.Set.Validators[0].Address,
	}
}

// Sign has the validators at indices signers (of Set) sign hdr; the
// others are absent from the commit.
func (h *HandConsensus) Sign(hdr cmttypes.Header, signers []int) (*LightBlock, error) {
	hash := hdr.Hash()
	id := cmttypes.BlockID{Hash: hash, PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash}}
	sigs := make([]cmttypes.CommitSig, len(h.Set.Validators))
	for i := range sigs {
		sigs[i] = cmttypes.NewCommitSigAbsent()
	}
	for _, i := range signers {
		v := h.Set.Validators[i]
		pv := h.keyOf(v.Address)
		if pv == nil {
			return nil, fmt.Errorf("no key for validator %d", i)
		}
		vote := &cmttypes.Vote{Type: cmtproto.PrecommitType, Height: hdr.Height, BlockID: id, Timestamp: hdr.Time,
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		pb := vote.ToProto()
		if err := pv.SignVote(h.ChainID, pb); err != nil {
			return nil, err
		}
		sigs[i] = cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: hdr.Time, Signature: pb.Signature}
	}
	sh := &cmttypes.SignedHeader{Header: &hdr, Commit: &cmttypes.Commit{Height: hdr.Height, BlockID: id, Signatures: sigs}}
	return &LightBlock{SignedHeader: sh, Validators: h.Set}, nil
}

func (h *HandConsensus) keyOf(addr []byte) cmttypes.PrivValidator {
	for _, k := range h.Keys {
		if pub, err := k.GetPubKey(); err == nil && string(pub.Address()) == string(addr) {
			return k
		}
	}
	return nil
}
