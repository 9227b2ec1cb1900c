package sidechain

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

// The light client (rule S3 of docs/sidechain.md) is the half of the
// light-client bridge that follows the other chain's consensus: CometBFT's
// own light verification (light.Verify, as IBC's 07-tendermint client
// calls it) run inside a system contract, over headers and validator sets
// anyone relays. It keeps, per verified height, the header's hash, time,
// app hash and next validators' hash, in the contract's storage slots.

// Trust is where a light client starts: a height of the followed chain
// whose next validators it trusts, as its genesis gives it.
type Trust struct {
	// ChainID is the followed chain's CometBFT chain ID ("cairn-1339").
	ChainID string `json:"chainId"`
	// Height is the trusted height: 0 (before the first block) for a
	// client made at the followed chain's genesis.
	Height uint64 `json:"height"`
	// TimeNs is that height's header time, in Unix nanoseconds (for height
	// 0, just before the followed chain's genesis time).
	TimeNs uint64 `json:"timeNs"`
	// NextValidatorsHash is the hash of the validator set that signs
	// Height+1 (at genesis, the genesis validators).
	NextValidatorsHash common.Hash `json:"nextValidatorsHash"`
}

// GenesisTrust is the trust a client made at the followed chain's genesis
// starts from: the genesis validators, just before the genesis time (a
// chain's first block carries its genesis time, and a verified header must
// be later than the trusted one).
func GenesisTrust(doc *cmttypes.GenesisDoc) (Trust, error) {
	vals := make([]*cmttypes.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
	}
	set := cmttypes.NewValidatorSet(vals)
	if err := set.ValidateBasic(); err != nil {
		return Trust{}, fmt.Errorf("genesis validators of %s: %w", doc.ChainID, err)
	}
	return Trust{ChainID: doc.ChainID, Height: uint64(max(doc.InitialHeight, 1)) - 1,
		TimeNs: uint64(doc.GenesisTime.UnixNano()) - 1, NextValidatorsHash: common.BytesToHash(set.Hash())}, nil
}

// Validate checks that a client can start from t.
func (t Trust) Validate() error {
	if t.ChainID == "" || t.TimeNs == 0 || t.NextValidatorsHash == (common.Hash{}) {
		return fmt.Errorf("%w: trust %+v", ErrParams, t)
	}
	return nil
}

// Errors of the light client, kept by its reverts for errors.Is.
var (
	ErrFrozen         = errors.New("light client frozen (misbehaviour seen): only its guardian can recover it")
	ErrExpired        = errors.New("light client expired: its newest header is older than the trusting period")
	ErrUnknownHeight  = errors.New("no verified header at that height")
	ErrHeader         = errors.New("header refused")
	ErrKnownHeader    = errors.New("header already verified")
	ErrTooManyVals    = errors.New("validator set too large")
	ErrTrustedVals    = errors.New("trusted validators do not hash to the trusted next validators")
	ErrNotGuardian    = errors.New("only the guardian can recover the light client")
	ErrNotRecoverable = errors.New("the light client is neither frozen nor expired")
	ErrNoConflict     = errors.New("the two headers do not conflict")
	ErrPower          = errors.New("validator power out of range")
)

// MaxLightValidators bounds a relayed validator set, so one update's work
// (and gas) stays bounded: CometBFT's own limit is far higher, but no
// chain Cairn follows has more.
const MaxLightValidators = 1024

// trustLevel is what a skipping update needs of the trusted validators'
// power among its signers: more than 2/3, not IBC's and CometBFT's default
// of 1/3. With 1/3, validators holding just over a third of the power
// could sign a header of a validator set of their own making and skip to
// it; a bridge holding funds (and the sidechain half mints at once) must
// not trust less than what it takes to sign an adjacent header. The cost:
// a skip fails once more than a third of the power has changed hands since
// the trusted header, which a relayer refreshing every few seconds never
// lets happen.
var trustLevel = cmtmath.Fraction{Numerator: 2, Denominator: 3}

// ConsensusState is what a light client keeps of one verified height.
type ConsensusState struct {
	Height             uint64      // the height it was kept at (not stored: the key)
	Hash               common.Hash // the header's hash (the block ID)
	TimeNs             uint64      // the header's time
	AppHash            common.Hash // the state root the header commits to
	NextValidatorsHash common.Hash
}

// DecodeSignedHeader reads a protobuf-encoded CometBFT signed header (as
// cairn_lightBlock serves it).
func DecodeSignedHeader(b []byte) (*cmttypes.SignedHeader, error) {
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrHeader, err)
	}
	if pb.Header == nil || pb.Commit == nil {
		return nil, fmt.Errorf("%w: signed header without header or commit", ErrHeader)
	}
	if len(pb.Commit.Signatures) > MaxLightValidators {
		return nil, fmt.Errorf("%w: %d commit signatures", ErrTooManyVals, len(pb.Commit.Signatures))
	}
	sh, err := cmttypes.SignedHeaderFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrHeader, err)
	}
	return sh, nil
}

// DecodeValidatorSet reads a protobuf-encoded CometBFT validator set.
func DecodeValidatorSet(b []byte) (*cmttypes.ValidatorSet, error) {
	var pb cmtproto.ValidatorSet
	if err := pb.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrHeader, err)
	}
	if len(pb.Validators) > MaxLightValidators {
		return nil, fmt.Errorf("%w: %d validators", ErrTooManyVals, len(pb.Validators))
	}
	var total int64
	for _, v := range pb.Validators {
		if v == nil || v.VotingPower <= 0 || v.VotingPower > cmttypes.MaxTotalVotingPower-total {
			return nil, fmt.Errorf("%w: a validator's power, or the total, is out of range", ErrPower)
		}
		total += v.VotingPower
	}
	vs, err := cmttypes.ValidatorSetFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrHeader, err)
	}
	return vs, nil
}

// EncodeSignedHeader is DecodeSignedHeader's inverse.
func EncodeSignedHeader(sh *cmttypes.SignedHeader) ([]byte, error) {
	pb := sh.ToProto()
	return pb.Marshal()
}

// EncodeValidatorSet is DecodeValidatorSet's inverse.
func EncodeValidatorSet(vs *cmttypes.ValidatorSet) ([]byte, error) {
	pb, err := vs.ToProto()
	if err != nil {
		return nil, err
	}
	return pb.Marshal()
}

// lightClient is a light client's state in its contract's slots. States
// are kept per epoch: a guardian's recovery starts a new epoch, so every
// state (and every withdrawal proven against one) from before it is void.
type lightClient struct {
	db    chain.Slots
	trust Trust
	// trustingPeriod and maxDrift are as light.Verify takes them.
	trustingPeriod, maxDrift time.Duration
}

func (l lightClient) epoch() uint64 { return l.db.U64(chain.Slot("lc-epoch")) }
func (l lightClient) frozen() bool  { return l.db.Flag(chain.Slot("lc-frozen")) }
func (l lightClient) latest() uint64 {
	return max(l.db.U64(chain.Slot("lc-latest")), l.genesisHeight())
}
func (l lightClient) genesisHeight() uint64 {
	if l.epoch() == 0 {
		return l.trust.Height
	}
	return 0
}

func csSlot(field string, epoch, height uint64) common.Hash {
	return chain.Slot("lc-"+field, chain.U64Bytes(epoch), chain.U64Bytes(height))
}

// state is the consensus state at height in the current epoch.
func (l lightClient) state(height uint64) (ConsensusState, bool) {
	e := l.epoch()
	if e == 0 && height == l.trust.Height {
		return ConsensusState{Height: height, TimeNs: l.trust.TimeNs, NextValidatorsHash: l.trust.NextValidatorsHash}, true
	}
	cs := ConsensusState{
		Height:             height,
		Hash:               l.db.Get(csSlot("hash", e, height)),
		TimeNs:             l.db.U64(csSlot("time", e, height)),
		AppHash:            l.db.Get(csSlot("app", e, height)),
		NextValidatorsHash: l.db.Get(csSlot("next", e, height)),
	}
	return cs, cs.Hash != (common.Hash{})
}

func (l lightClient) store(height uint64, cs ConsensusState) {
	e := l.epoch()
	l.db.Set(csSlot("hash", e, height), cs.Hash)
	l.db.SetU64(csSlot("time", e, height), cs.TimeNs)
	l.db.Set(csSlot("app", e, height), cs.AppHash)
	l.db.Set(csSlot("next", e, height), cs.NextValidatorsHash)
	if height > l.latest() {
		l.db.SetU64(chain.Slot("lc-latest"), height)
	}
}

// expired tells whether the newest verified header is older than the
// trusting period at now: an expired client takes no header and proves
// nothing until its guardian recovers it.
func (l lightClient) expired(now time.Time) bool {
	cs, ok := l.state(l.latest())
	return !ok || !time.Unix(0, int64(cs.TimeNs)).Add(l.trustingPeriod).After(now)
}

func stateOf(sh *cmttypes.SignedHeader) ConsensusState {
	return ConsensusState{Height: uint64(sh.Height), Hash: common.BytesToHash(sh.Hash()), TimeNs: uint64(sh.Time.UnixNano()),
		AppHash: common.BytesToHash(sh.AppHash), NextValidatorsHash: common.BytesToHash(sh.NextValidatorsHash)}
}

// Outcome is what an update did.
type Outcome int

// What an update can do.
const (
	Accepted Outcome = iota // a new height verified and kept
	Froze                   // a valid header conflicting with a kept one: the client froze
)

// update verifies sh (signed by vals) from the trusted height trusted
// (whose next validators are tvals, needed when sh is not adjacent) at
// now, and keeps it. A valid header that conflicts with what the client
// holds (another hash at a kept height, or a time out of order with the
// newest header) is misbehaviour: the client freezes, and the returned
// state is the conflicting one.
func (l lightClient) update(trusted uint64, sh *cmttypes.SignedHeader, vals, tvals *cmttypes.ValidatorSet, now time.Time) (Outcome, ConsensusState, error) {
	if l.frozen() {
		return 0, ConsensusState{}, ErrFrozen
	}
	ts, ok := l.state(trusted)
	if !ok {
		return 0, ConsensusState{}, fmt.Errorf("%w: trusted height %d", ErrUnknownHeight, trusted)
	}
	if sh.Header == nil || sh.Commit == nil || sh.Height <= 0 {
		return 0, ConsensusState{}, fmt.Errorf("%w: empty", ErrHeader)
	}
	height := uint64(sh.Height)
	if height != trusted+1 {
		if tvals == nil || !bytes.Equal(tvals.Hash(), ts.NextValidatorsHash[:]) {
			return 0, ConsensusState{}, ErrTrustedVals
		}
	}
	trustedHeader := &cmttypes.SignedHeader{Header: &cmttypes.Header{
		ChainID: l.trust.ChainID, Height: int64(trusted), Time: time.Unix(0, int64(ts.TimeNs)).UTC(),
		NextValidatorsHash: ts.NextValidatorsHash[:],
	}}
	if err := light.Verify(trustedHeader, tvals, sh, vals, l.trustingPeriod, now, l.maxDrift, trustLevel); err != nil {
		var expired light.ErrOldHeaderExpired
		if errors.As(err, &expired) {
			return 0, ConsensusState{}, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return 0, ConsensusState{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	cs := stateOf(sh)
	if known, ok := l.state(height); ok && known.Hash != (common.Hash{}) {
		if known.Hash == cs.Hash {
			return 0, ConsensusState{}, fmt.Errorf("%w: height %d", ErrKnownHeader, height)
		}
		l.db.SetFlag(chain.Slot("lc-frozen"))
		return Froze, known, nil
	}
	// BFT time grows with height: a valid header newer in height but not
	// in time than the newest kept one (or older in height but not in
	// time) means one of the two was signed by a faulty majority, as a
	// forged header far ahead of the chain would be.
	if top := l.latest(); top != height {
		if newest, ok := l.state(top); ok && newest.Hash != (common.Hash{}) {
			if (height > top) != (cs.TimeNs > newest.TimeNs) {
				l.db.SetFlag(chain.Slot("lc-frozen"))
				return Froze, newest, nil
			}
		}
	}
	l.store(height, cs)
	return Accepted, cs, nil
}

// conflict freezes the client on two kept headers whose times are out of
// order with their heights (below < above, but the lower one not earlier):
// BFT time grows with height, so one of them was signed by a faulty
// majority. A forged header dated ahead of the chain, and kept above every
// honest one, is caught this way once an honest header later than it is
// kept: however many forged headers follow it.
func (l lightClient) conflict(below, above uint64) (ConsensusState, ConsensusState, error) {
	if l.frozen() {
		return ConsensusState{}, ConsensusState{}, ErrFrozen
	}
	lo, ok1 := l.state(below)
	hi, ok2 := l.state(above)
	if !ok1 || !ok2 || lo.Hash == (common.Hash{}) || hi.Hash == (common.Hash{}) {
		return ConsensusState{}, ConsensusState{}, fmt.Errorf("%w: heights %d and %d", ErrUnknownHeight, below, above)
	}
	if below >= above || lo.TimeNs < hi.TimeNs {
		return ConsensusState{}, ConsensusState{}, fmt.Errorf("%w: %d at %d ns, %d at %d ns", ErrNoConflict, below, lo.TimeNs, above, hi.TimeNs)
	}
	l.db.SetFlag(chain.Slot("lc-frozen"))
	return lo, hi, nil
}

// recover starts a new epoch from sh, which the guardian vouches for: it
// must be signed by more than 2/3 of its own validators and by more than
// 2/3 of the next validators of a height the client kept (trusted, with
// tvals), however old. So a guardian can pick which of the histories the
// client saw to go on from, and bring back a client whose trust expired,
// but cannot bring in validators the client never verified. Recovery
// unfreezes the client and voids every state (and withdrawal proven
// against one) of the epoch before.
func (l lightClient) recover(trusted uint64, sh *cmttypes.SignedHeader, vals, tvals *cmttypes.ValidatorSet, now time.Time) (ConsensusState, error) {
	ts, ok := l.state(trusted)
	if !ok {
		return ConsensusState{}, fmt.Errorf("%w: trusted height %d", ErrUnknownHeight, trusted)
	}
	if tvals == nil || !bytes.Equal(tvals.Hash(), ts.NextValidatorsHash[:]) {
		return ConsensusState{}, ErrTrustedVals
	}
	if err := sh.ValidateBasic(l.trust.ChainID); err != nil {
		return ConsensusState{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if uint64(sh.Height) <= trusted || !sh.Time.After(time.Unix(0, int64(ts.TimeNs))) {
		return ConsensusState{}, fmt.Errorf("%w: not after the trusted header", ErrHeader)
	}
	if !bytes.Equal(sh.ValidatorsHash, vals.Hash()) {
		return ConsensusState{}, fmt.Errorf("%w: validators do not match the header", ErrHeader)
	}
	if !sh.Time.Before(now.Add(l.maxDrift)) {
		return ConsensusState{}, fmt.Errorf("%w: a time from the future", ErrHeader)
	}
	if err := tvals.VerifyCommitLightTrusting(l.trust.ChainID, sh.Commit, trustLevel); err != nil {
		return ConsensusState{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if err := vals.VerifyCommitLight(l.trust.ChainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		return ConsensusState{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	l.db.SetU64(chain.Slot("lc-epoch"), l.epoch()+1)
	l.db.Set(chain.Slot("lc-frozen"), common.Hash{})
	l.db.SetU64(chain.Slot("lc-latest"), 0)
	cs := stateOf(sh)
	l.store(uint64(sh.Height), cs)
	return cs, nil
}

// signatures counts the commit signatures a header carries (absent ones
// are not checked).
func signatures(sh *cmtproto.SignedHeader) int {
	n := 0
	if sh.Commit != nil {
		for _, s := range sh.Commit.Signatures {
			if s.BlockIdFlag != cmtproto.BlockIDFlagAbsent {
				n++
			}
		}
	}
	return n
}
