package devnet

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"path/filepath"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/sidechain"
	"github.com/cairn-dev/cairn/wing"
)

// The devnet sidechain's defaults: its chain ID, its validators' first
// JSON-RPC port, and its block cadence (twice the L1's idle rate).
const (
	DefaultSidechainID      = 1339
	DefaultSidechainRPCPort = 8645
	DefaultSidechainBlock   = 100 * time.Millisecond
)

// The devnet multisig bridge's attesters are test accounts 110–118, 5 of
// them needed; its relayer pays gas from account 119. The light-client
// bridge's guardian is account 120 and its relayer pays from account 121.
const (
	multisigAttesters = 9
	multisigThreshold = 5
	firstAttester     = 110
	bridgeRelayer     = 119
	lightGuardian     = 120
	lightRelayer      = 121
)

// The devnet light-client bridge's defaults: a withdrawal waits 30 s on
// L1; a client trusts a header for 10 minutes (the sidechain's unbonding
// is 20); a header may run 2 s ahead of the verifying chain's clock.
const (
	DefaultWithdrawalDelay = 30 * time.Second
	DefaultTrustingPeriod  = 10 * time.Minute
	sidechainUnbonding     = 20 * 60
	lightMaxClockDrift     = 2
)

// SidechainOptions are the devnet sidechain's options.
type SidechainOptions struct {
	// RPCPort is validator 0's JSON-RPC port (the others follow); 0 picks
	// free ones, -1 runs no sidechain.
	RPCPort    int
	Validators int
	BlockTime  time.Duration
	// WithdrawalDelay is how long a withdrawal proven to the light-client
	// bridge waits on L1; TrustingPeriod how long its clients trust a
	// header.
	WithdrawalDelay time.Duration
	TrustingPeriod  time.Duration
}

// AddFlags registers the sidechain's devnet flags.
func (o *SidechainOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.RPCPort, "sidechain-rpc-port", DefaultSidechainRPCPort, "JSON-RPC port of the sidechain's first validator (the others follow); -1 runs no sidechain")
	f.IntVar(&o.Validators, "sidechain-validators", 4, "validators of the sidechain")
	f.DurationVar(&o.BlockTime, "sidechain-block-time", DefaultSidechainBlock, "longest time between sidechain blocks (they are made on demand)")
	f.DurationVar(&o.WithdrawalDelay, "sidechain-withdrawal-delay", DefaultWithdrawalDelay, "how long a withdrawal proven to the light-client bridge waits on L1, for anyone to show misbehaviour")
	f.DurationVar(&o.TrustingPeriod, "sidechain-trusting-period", DefaultTrustingPeriod, "how long the light-client bridge's clients trust a verified header (below the sidechain's 20-minute unbonding)")
}

// Sidechain is the devnet's sidechain: a second CometBFT chain with its
// own validators, and the multisig bridge between it and the L1 with its
// relayer.
type Sidechain struct {
	Params  sidechain.Params
	Cluster *l1.Cluster
	// Light is the light-client relayer (nil until Start); tests stop it
	// to let a client expire.
	Light *sidechain.LightRelayer
	cfg   Config
	dir   string
	stop  context.CancelFunc
	done  chan struct{}
	// the light relayer's, apart so a test can stop it alone
	lightStop context.CancelFunc
	lightDone chan struct{}
	clients   []*ethclient.Client
}

// AttesterKeys are the devnet multisig bridge's attester keys.
func AttesterKeys() []*ecdsa.PrivateKey {
	var keys []*ecdsa.PrivateKey
	for i := range uint32(multisigAttesters) {
		keys = append(keys, chain.DevKey(firstAttester+i))
	}
	return keys
}

// SidechainParams are the devnet's bridge rules between the L1 of chain
// l1ChainID and the sidechain of chain sideID.
func SidechainParams(l1ChainID, sideID uint64) sidechain.Params {
	var addrs []common.Address
	for i := range uint32(multisigAttesters) {
		addrs = append(addrs, chain.DevAddress(firstAttester+i))
	}
	return sidechain.Params{Multisig: sidechain.MultisigParams{
		Attesters: addrs, Threshold: multisigThreshold, L1ChainID: l1ChainID, SideID: sideID}}
}

// SidechainWings is the registry a sidechain node runs: the sidechain's
// halves of the bridges, under the same section name as the L1's halves.
func SidechainWings() *wing.Registry {
	set := wing.NewRegistry()
	if err := set.Add(sidechain.WingName, sidechain.SideContracts); err != nil {
		panic(err) // one name
	}
	return set
}

// SidechainAlloc is the sidechain's genesis funding: the test accounts and
// the bridge relayer's account.
func SidechainAlloc() types.GenesisAlloc {
	alloc := DevAlloc()
	for _, a := range []uint32{bridgeRelayer, lightRelayer, lightGuardian} {
		alloc[chain.DevAddress(a)] = types.Account{Balance: new(big.Int).Set(DevBalance)}
	}
	return alloc
}

func newSidechain(cfg Config, dir string) *Sidechain {
	o := &cfg.Sidechain
	o.Validators = cmp.Or(o.Validators, 4)
	o.BlockTime = cmp.Or(o.BlockTime, DefaultSidechainBlock)
	o.WithdrawalDelay = cmp.Or(o.WithdrawalDelay, DefaultWithdrawalDelay)
	o.TrustingPeriod = cmp.Or(o.TrustingPeriod, DefaultTrustingPeriod)
	return &Sidechain{cfg: cfg, dir: dir, Params: SidechainParams(cfg.ChainID, DefaultSidechainID)}
}

func (s *Sidechain) alloc() types.GenesisAlloc {
	a := SidechainAlloc()
	maps.Copy(a, s.cfg.Alloc)
	return a
}

// SidechainStaking is the sidechain's proof of stake: the devnet's, with
// an unbonding period of 20 minutes, longer than the light-client bridge's
// trusting period as a light client's safety needs.
func SidechainStaking(validators int) *l1.ClusterStaking {
	st := DevStaking(validators)
	st.Params.UnbondingSeconds = sidechainUnbonding
	return st
}

// Name implements Wing.
func (s *Sidechain) Name() string { return sidechain.WingName }

// Genesis implements Wing: the L1 halves of the bridges, and the
// relayers' L1 accounts. It prepares the sidechain's validators first: the
// L1 half of the light-client bridge starts trusting their genesis set.
func (s *Sidechain) Genesis() (json.RawMessage, types.GenesisAlloc, error) {
	o := s.cfg.Sidechain
	cl, err := l1.PrepareCluster(l1.ClusterConfig{
		WingSet: SidechainWings(), Dir: filepath.Join(s.dir, "sidechain"), Validators: o.Validators,
		Genesis:   chain.Genesis{ChainID: DefaultSidechainID, GasLimit: s.cfg.GasLimit, Alloc: s.alloc()},
		BlockTime: o.BlockTime, BlockGap: s.cfg.BlockGap, Host: s.cfg.Host, BaseRPCPort: o.RPCPort,
		Log: s.cfg.Log.With("chain", "sidechain"), Staking: SidechainStaking(o.Validators),
	})
	if err != nil {
		return nil, nil, err
	}
	s.Cluster = cl
	doc := &cmttypes.GenesisDoc{ChainID: l1.CometChainID(DefaultSidechainID), GenesisTime: time.Now().Truncate(time.Second),
		InitialHeight: 1, Validators: cl.GenesisValidators()}
	if cl.HasGenesis() {
		if doc, err = cl.GenesisDoc(); err != nil {
			return nil, nil, err
		}
	} else {
		cl.SetGenesisTime(doc.GenesisTime)
	}
	trust, err := sidechain.GenesisTrust(doc)
	if err != nil {
		return nil, nil, err
	}
	s.Params.Light = &sidechain.LightParams{L1ChainID: s.cfg.ChainID, SideID: DefaultSidechainID, Side: trust,
		TrustingSeconds: uint64(o.TrustingPeriod / time.Second), MaxClockDriftSeconds: lightMaxClockDrift,
		WithdrawalDelaySeconds: uint64(o.WithdrawalDelay / time.Second), Guardian: chain.DevAddress(lightGuardian)}
	raw, err := json.Marshal(s.Params)
	return raw, types.GenesisAlloc{chain.DevAddress(bridgeRelayer): {Balance: DevBalance},
		chain.DevAddress(lightRelayer): {Balance: DevBalance}, chain.DevAddress(lightGuardian): {Balance: DevBalance}}, err
}

// Start implements Wing: the sidechain's genesis (its half of the
// light-client bridge trusting the L1's genesis validators), its
// validators, then the relayers.
func (s *Sidechain) Start(d *Devnet, _ prometheus.Registerer) error {
	l1doc, err := d.L1.GenesisDoc()
	if err != nil {
		return err
	}
	l1trust, err := sidechain.GenesisTrust(l1doc)
	if err != nil {
		return err
	}
	s.Params.Light.L1 = l1trust
	raw, err := json.Marshal(s.Params)
	if err != nil {
		return err
	}
	cl := s.Cluster
	cl.SetLayers(d.layers)
	if err := cl.WriteGenesis(map[string]json.RawMessage{sidechain.WingName: raw}); err != nil {
		return err
	}
	if err := cl.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.WaitHeight(ctx, 1); err != nil {
		return err
	}
	l1c, err := ethclient.Dial(d.L1RPC(0))
	if err != nil {
		return err
	}
	sc, err := ethclient.Dial("http://" + cl.RPCAddr(0))
	if err != nil {
		l1c.Close()
		return err
	}
	s.clients = []*ethclient.Client{l1c, sc}
	log := s.cfg.Log.With("wing", "sidechain")
	r := &sidechain.Relayer{L1: l1c, Side: sc, Attesters: AttesterKeys()[:multisigThreshold], Sender: chain.DevKey(bridgeRelayer),
		Params: s.Params.Multisig, Log: log}
	s.Light = &sidechain.LightRelayer{L1: l1c, Side: sc, L1Light: sidechain.RPCLightSource{Client: l1c.Client()},
		SideLight: sidechain.RPCLightSource{Client: sc.Client()}, Sender: chain.DevKey(lightRelayer),
		Refresh: min(2*time.Second, s.cfg.Sidechain.TrustingPeriod/4), Log: log}
	rctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go func() { defer close(s.done); r.Run(rctx, 100*time.Millisecond) }()
	s.StartLightRelayer()
	return nil
}

// StartLightRelayer (re)starts the light-client bridge's relayer.
func (s *Sidechain) StartLightRelayer() {
	if s.lightStop != nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	s.lightStop, s.lightDone = stop, make(chan struct{})
	go func() { defer close(s.lightDone); s.Light.Run(ctx, 100*time.Millisecond) }()
}

// StopLightRelayer stops the light-client bridge's relayer: nothing
// refreshes its clients until StartLightRelayer.
func (s *Sidechain) StopLightRelayer() {
	if s.lightStop != nil {
		s.lightStop()
		<-s.lightDone
		s.lightStop = nil
	}
}

// Stop implements Wing.
func (s *Sidechain) Stop() {
	s.StopLightRelayer()
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	for _, c := range s.clients {
		c.Close()
	}
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
}

// RPC is sidechain validator i's JSON-RPC URL.
func (s *Sidechain) RPC(i int) string { return "http://" + s.Cluster.RPCAddr(i) }

// Layer implements Wing.
func (s *Sidechain) Layer() rpc.Layer {
	l := rpc.Layer{Name: "Sidechain", Kind: sidechain.WingName, ChainID: DefaultSidechainID,
		Contracts: map[string]common.Address{"multisigBridgeL1": sidechain.MultisigL1Address, "multisigBridgeSidechain": sidechain.MultisigSideAddress,
			"lightBridgeL1": sidechain.LightL1Address, "lightBridgeSidechain": sidechain.LightSideAddress},
		Params: map[string]any{"multisig": fmt.Sprintf("%d of %d attester keys", multisigThreshold, multisigAttesters),
			"lightClient":     "CometBFT light clients of each chain on the other (trust: more than 2/3 of the other chain's validator power)",
			"withdrawalDelay": s.cfg.Sidechain.WithdrawalDelay.String(),
			"trustingPeriod":  s.cfg.Sidechain.TrustingPeriod.String(),
			"finality":        "instant on the sidechain (its own CometBFT validators); bridged ETH is as safe as the bridge's keys (multisig) or the sidechain's validators (light client)"}}
	if s.Cluster != nil {
		for i := range s.Cluster.Size() {
			l.RPC = append(l.RPC, s.RPC(i))
			l.WS = append(l.WS, "ws://"+s.Cluster.RPCAddr(i))
		}
	}
	return l
}

// Summary implements Wing.
func (s *Sidechain) Summary(w io.Writer, _ *Devnet) {
	if s.Cluster == nil {
		return
	}
	bt := s.cfg.Sidechain.BlockTime
	fmt.Fprintf(w, "\nSC  Sidechain, chain ID %d, %d validators of its own (CometBFT), blocks on demand (%s apart at most)\n",
		DefaultSidechainID, s.Cluster.Size(), bt)
	for i := range s.Cluster.Size() {
		fmt.Fprintf(w, "    validator %d  RPC %s\n", i, s.RPC(i))
	}
	fmt.Fprintf(w, "    light-client bridge: deposit(to) on L1 at %s, withdraw(to) on the sidechain at %s; withdrawals wait %s; the devnet relays both\n",
		sidechain.LightL1Address, sidechain.LightSideAddress, s.cfg.Sidechain.WithdrawalDelay)
	fmt.Fprintf(w, "    multisig bridge (%d of %d keys): deposit(to) on L1 at %s, withdraw(to) on the sidechain at %s; the devnet relays both\n",
		multisigThreshold, multisigAttesters, sidechain.MultisigL1Address, sidechain.MultisigSideAddress)
}
