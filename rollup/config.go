package rollup

import (
	"cmp"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/da"
)

// Well-known addresses of the rollup.
var (
	// PortalAddress is the L1 portal system contract: deposits and forced
	// transactions enter the rollup here.
	PortalAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0100")
	// InboxAddress is the L1 batch inbox: batches are the calldata of
	// transactions the batcher sends to it (see Inbox).
	InboxAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E01B0")
	// L1FeeVault is the L2 account that collects the L1 data fees, as the OP
	// Stack's L1FeeVault predeploy.
	L1FeeVault = common.HexToAddress("0x420000000000000000000000000000000000001A")
	// SequencerFeeVault receives the L2 priority fees (the blocks' coinbase).
	SequencerFeeVault = common.HexToAddress("0x4200000000000000000000000000000000000011")
)

// Config is the rollup's consensus configuration: the sequencer, batcher and
// every verifier must agree on all of it, since derivation depends on it.
type Config struct {
	L1ChainID uint64 `json:"l1ChainId"`
	L2ChainID uint64 `json:"l2ChainId"`
	// L1Start is the L1 block the L2 genesis is anchored to: derivation
	// reads L1 from the block after it.
	L1Start     uint64      `json:"l1StartBlock"`
	L1StartHash common.Hash `json:"l1StartHash"`
	// SeqWindow is the sequencing window in L1 blocks: an L2 block with L1
	// origin E must be in a batch included by L1 block E+SeqWindow-1, or
	// derivation moves on without it.
	SeqWindow uint64 `json:"sequencingWindow"`
	// MaxSeqDrift is how far (seconds) an L2 block's time may run ahead of
	// its L1 origin's time.
	MaxSeqDrift uint64 `json:"maxSequencerDrift"`
	// ChannelTimeout is how many L1 blocks a channel's frames may span.
	ChannelTimeout uint64 `json:"channelTimeout"`
	// Batcher is the only L1 account whose transactions to the inbox count.
	Batcher common.Address `json:"batcher"`
	// UnsafeBlockSigner is the sequencer's key for the blocks it publishes
	// before L1 has them (see SignedBlock); zero when it publishes none.
	UnsafeBlockSigner common.Address `json:"unsafeBlockSigner"`
	// L1FeeScalar scales the L1 data fee, in millionths (1_000_000 = 1×).
	L1FeeScalar uint64 `json:"l1FeeScalar"`
	// Genesis is the L2 genesis.
	Genesis chain.Genesis `json:"genesis"`
	// Proofs are the rules of the L1 outputs contract and portal.
	Proofs L1Params `json:"proofs"`
	// DA is where the batcher posts: calldata or blobs. Derivation and
	// proofs read both, so it is the batcher's choice, not a rule.
	DA DA `json:"da,omitempty"`
	// CommitteeURLs are where the data-availability committee's members
	// (Proofs.Committee, in its order) serve the data they certified.
	CommitteeURLs []string `json:"committeeUrls,omitempty"`
	// StorageURLs are the storage nodes that serve sampled data
	// (Proofs.Sampling).
	StorageURLs []string `json:"storageUrls,omitempty"`
}

// SamplingClient is a client of the rollup's storage nodes, nil when the
// rollup takes no sampled data.
func (c *Config) SamplingClient() *da.SamplingClient {
	if !c.Proofs.Sampling {
		return nil
	}
	return da.NewSamplingClient(c.StorageURLs)
}

// The devnet's data-availability committee: five members, two of them
// assumed honest, as Arbitrum AnyTrust's committees are sized, so a
// certificate needs four signatures.
const (
	DevCommitteeSize   = 5
	DevCommitteeHonest = 2
)

// DevCommittee returns a committee of n members with fixed keys, h of them
// assumed honest (so n−h+1 must sign), and the members' keys.
func DevCommittee(n, h int) (*da.Committee, []*da.BLSKey) {
	c := &da.Committee{Threshold: n - h + 1}
	var keys []*da.BLSKey
	for i := range n {
		k := da.NewBLSKey([]byte(fmt.Sprintf("cairn-devnet-dac-%d", i)))
		c.Members, keys = append(c.Members, k.PK), append(keys, k)
	}
	return c, keys
}

// CommitteeClient is a client of the rollup's committee, nil without one.
func (c *Config) CommitteeClient() *da.CommitteeClient {
	if c.Proofs.Committee == nil {
		return nil
	}
	return da.NewCommitteeClient(c.Proofs.Committee, c.L2ChainID, c.CommitteeURLs)
}

// Defaults for a devnet.
const (
	DefaultL2ChainID = 901
	// The windows count L1 blocks, and the devnet's L1 makes blocks on
	// demand: about 4.5 a second when idle, up to about 75 a second under
	// transactions sent back to back. 600 blocks are two minutes of an idle
	// L1 and still 8 s at its fastest, several times what a batch takes to
	// land.
	DefaultSeqWindow      = 600
	DefaultMaxSeqDrift    = 30 // seconds
	DefaultChannelTimeout = 300
	DefaultBlockTime      = 250 * time.Millisecond
	// DefaultMinBlockGap is the devnet sequencer's shortest gap between
	// blocks made on demand (see node.Config.MinBlockGap). It bounds the
	// block rate under load to about 20 a second, so the 128 blocks whose
	// state a node serves still span seconds: the proposer builds its
	// one-step proofs from them once blocks are safe.
	DefaultMinBlockGap = 50 * time.Millisecond
	DefaultL1FeeScalar = 1_000_000
	DefaultL2GasLimit  = 60_000_000
)

// ErrConfig is returned for an unusable configuration.
var ErrConfig = errors.New("rollup config")

// Validate checks a configuration.
func (c *Config) Validate() error {
	// The L1 contracts' rules must be the rollup's own: the one-step proof
	// runs derivation by them (a zero Proofs has no L1 contracts to match).
	proofs := c.Proofs.L2ChainID != 0
	switch {
	case c.L2ChainID == 0 || c.L1ChainID == 0:
		return fmt.Errorf("%w: chain IDs must be set", ErrConfig)
	case c.L2ChainID == c.L1ChainID:
		return fmt.Errorf("%w: L2 chain ID must differ from L1's", ErrConfig)
	case c.Genesis.ChainID != c.L2ChainID:
		return fmt.Errorf("%w: genesis chain ID %d, want %d", ErrConfig, c.Genesis.ChainID, c.L2ChainID)
	case c.SeqWindow < 2:
		return fmt.Errorf("%w: sequencing window must be at least 2 L1 blocks", ErrConfig)
	case proofs && c.Proofs.SeqWindow != c.SeqWindow:
		return fmt.Errorf("%w: sequencing window %d differs from the L1 contracts' %d", ErrConfig, c.SeqWindow, c.Proofs.SeqWindow)
	case proofs && c.Proofs.MaxSeqDrift != c.MaxSeqDrift:
		return fmt.Errorf("%w: sequencer drift %d differs from the L1 contracts' %d", ErrConfig, c.MaxSeqDrift, c.Proofs.MaxSeqDrift)
	case c.ChannelTimeout == 0:
		return fmt.Errorf("%w: channel timeout must be positive", ErrConfig)
	case proofs && c.Proofs.ChannelTimeout != c.ChannelTimeout:
		return fmt.Errorf("%w: channel timeout %d differs from the L1 contracts' %d", ErrConfig, c.ChannelTimeout, c.Proofs.ChannelTimeout)
	case proofs && c.Proofs.Batcher != c.Batcher:
		return fmt.Errorf("%w: batcher %s differs from the L1 contracts' %s", ErrConfig, c.Batcher, c.Proofs.Batcher)
	case proofs && c.Proofs.L1FeeScalar != c.L1FeeScalar:
		return fmt.Errorf("%w: L1 fee scalar %d differs from the L1 contracts' %d", ErrConfig, c.L1FeeScalar, c.Proofs.L1FeeScalar)
	case c.Proofs.L1Start != 0 && c.Proofs.L1Start != c.L1Start:
		return fmt.Errorf("%w: L1 anchor %d differs from the L1 contracts' %d", ErrConfig, c.L1Start, c.Proofs.L1Start)
	case c.Proofs.L2ChainID != 0 && c.Proofs.L2ChainID != c.L2ChainID:
		return fmt.Errorf("%w: L2 chain ID %d differs from the L1 contracts' %d", ErrConfig, c.L2ChainID, c.Proofs.L2ChainID)
	case c.Batcher == (common.Address{}):
		return fmt.Errorf("%w: batcher address must be set", ErrConfig)
	}
	return nil
}

// DevGenesis is the devnet's L2 genesis anchored at L1 block l1Start: the
// ten test-mnemonic accounts hold 10,000 ETH each. It does not depend on the
// L1's blocks, so the L1's rollup contracts can be configured with its
// output root before the L1 starts.
func DevGenesis(l1Start uint64) chain.Genesis {
	alloc := types.GenesisAlloc{}
	balance := new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))
	for i := range uint32(10) {
		alloc[chain.DevAddress(i)] = types.Account{Balance: balance}
	}
	return chain.Genesis{
		ChainID:   DefaultL2ChainID,
		GasLimit:  DefaultL2GasLimit,
		BaseFee:   big.NewInt(params.GWei / 1000), // 0.001 gwei, as OP chains run
		Alloc:     alloc,
		ExtraData: EncodeL1Info(L1Info{Number: l1Start}),
	}
}

// PortalBacking is the L1 genesis account of the portal for an L2 genesis:
// it holds the ETH the L2 genesis hands out, so every L2 wei can be
// withdrawn without draining what users deposited. An L1 genesis for the
// rollup must give the portal this account (or an L2 genesis must mint
// nothing).
func PortalBacking(g *chain.Genesis) types.Account {
	total := new(big.Int)
	for _, acc := range g.Alloc {
		if acc.Balance != nil {
			total.Add(total, acc.Balance)
		}
	}
	return types.Account{Balance: total}
}

// GenesisOutput is the output root of an L2 genesis.
func GenesisOutput(g *chain.Genesis) (common.Hash, error) {
	store, err := chain.Open("", g, slog.New(slog.DiscardHandler))
	if err != nil {
		return common.Hash{}, err
	}
	defer store.Close()
	out, err := OutputAt(store, 0)
	if err != nil {
		return common.Hash{}, err
	}
	return out.Root(), nil
}

// DevL1Params are the devnet's L1 contract rules for an L2 genesis: a
// challenge window of seconds, 1 ETH bonds, a few seconds per move.
func DevL1Params(g *chain.Genesis, batcher common.Address) (L1Params, error) {
	root, err := GenesisOutput(g)
	if err != nil {
		return L1Params{}, err
	}
	return L1Params{
		L2ChainID:          g.ChainID,
		Batcher:            batcher,
		L1FeeScalar:        DefaultL1FeeScalar,
		GenesisOutput:      root,
		FinalizationPeriod: DevFinalizationPeriod,
		ProposerBond:       big.NewInt(params.Ether),
		ChallengerBond:     big.NewInt(params.Ether),
		GameClock:          DevGameClock,
		SeqWindow:          DefaultSeqWindow,
		MaxSeqDrift:        DefaultMaxSeqDrift,
		ChannelTimeout:     DefaultChannelTimeout,
	}, nil
}

// NewDevConfig returns a devnet rollup anchored at L1 block start, with
// genesis g and L1 contract rules p.
func NewDevConfig(l1ChainID uint64, start *types.Header, batcher common.Address, g chain.Genesis, p L1Params) *Config {
	p.L1Start = start.Number.Uint64()
	return &Config{
		L1ChainID:         l1ChainID,
		L2ChainID:         g.ChainID,
		L1Start:           start.Number.Uint64(),
		L1StartHash:       start.Hash(),
		SeqWindow:         cmp.Or(p.SeqWindow, DefaultSeqWindow),
		MaxSeqDrift:       DefaultMaxSeqDrift,
		ChannelTimeout:    cmp.Or(p.ChannelTimeout, DefaultChannelTimeout),
		Batcher:           batcher,
		L1FeeScalar:       p.L1FeeScalar,
		UnsafeBlockSigner: crypto.PubkeyToAddress(SequencerKey().PublicKey),
		Genesis:           g,
		Proofs:            p,
	}
}

// DevConfig returns the devnet's rollup anchored at L1 block start.
func DevConfig(l1ChainID uint64, start *types.Header, batcher common.Address) *Config {
	g := DevGenesis(start.Number.Uint64())
	p, err := DevL1Params(&g, batcher)
	if err != nil {
		panic(err) // an in-memory genesis always opens
	}
	return NewDevConfig(l1ChainID, start, batcher, g, p)
}

// SequencerKey is the devnet's unsafe-block signer: the sequencer's key for
// the blocks it publishes before they reach L1, kept apart from the
// batcher's L1 account (OP's "p2p sequencer key").
func SequencerKey() *ecdsa.PrivateKey { return chain.DevKey(105) }

// ProposerKey and ChallengerKey are the devnet's output proposer and
// challenger accounts on L1, kept apart from the users' ten.
func ProposerKey() *ecdsa.PrivateKey { return chain.DevKey(101) }

// ChallengerKey is the devnet's challenger account on L1.
func ChallengerKey() *ecdsa.PrivateKey { return chain.DevKey(102) }

// BatcherKey is the batcher account of test systems and the devnet: an
// account of the test mnemonic kept apart from the ten funded for users.
func BatcherKey() *ecdsa.PrivateKey { return chain.DevKey(100) }

// RelayerKey is the devnet's relayer account on L1.
func RelayerKey() *ecdsa.PrivateKey { return chain.DevKey(104) }
