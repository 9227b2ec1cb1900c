package devnet

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"time"

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
// them needed; its relayer pays gas from account 119.
const (
	multisigAttesters = 9
	multisigThreshold = 5
	firstAttester     = 110
	bridgeRelayer     = 119
)

// SidechainOptions are the devnet sidechain's options.
type SidechainOptions struct {
	// RPCPort is validator 0's JSON-RPC port (the others follow); 0 picks
	// free ones, -1 runs no sidechain.
	RPCPort    int
	Validators int
	BlockTime  time.Duration
}

// AddFlags registers the sidechain's devnet flags.
func (o *SidechainOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.RPCPort, "sidechain-rpc-port", DefaultSidechainRPCPort, "JSON-RPC port of the sidechain's first validator (the others follow); -1 runs no sidechain")
	f.IntVar(&o.Validators, "sidechain-validators", 4, "validators of the sidechain")
	f.DurationVar(&o.BlockTime, "sidechain-block-time", DefaultSidechainBlock, "longest time between sidechain blocks (they are made on demand)")
}

// Sidechain is the devnet's sidechain: a second CometBFT chain with its
// own validators, and the multisig bridge between it and the L1 with its
// relayer.
type Sidechain struct {
	Params  sidechain.Params
	Cluster *l1.Cluster
	cfg     Config
	section json.RawMessage
	stop    context.CancelFunc
	done    chan struct{}
	clients []*ethclient.Client
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
	alloc[chain.DevAddress(bridgeRelayer)] = types.Account{Balance: new(big.Int).Set(DevBalance)}
	return alloc
}

func newSidechain(cfg Config) *Sidechain {
	return &Sidechain{cfg: cfg, Params: SidechainParams(cfg.ChainID, DefaultSidechainID)}
}

// Name implements Wing.
func (s *Sidechain) Name() string { return sidechain.WingName }

// Genesis implements Wing: the L1 half of the bridge, and the relayer's
// L1 account.
func (s *Sidechain) Genesis() (json.RawMessage, types.GenesisAlloc, error) {
	raw, err := json.Marshal(s.Params)
	s.section = raw
	return raw, types.GenesisAlloc{chain.DevAddress(bridgeRelayer): {Balance: DevBalance}}, err
}

// Start implements Wing: the sidechain's validators, then the relayer.
func (s *Sidechain) Start(d *Devnet, _ prometheus.Registerer) error {
	o := s.cfg.Sidechain
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.BlockTime == 0 {
		o.BlockTime = DefaultSidechainBlock
	}
	var ops []common.Address
	for i := range o.Validators {
		ops = append(ops, chain.DevAddress(uint32(i)))
	}
	cl, err := l1.NewCluster(l1.ClusterConfig{
		Wings: map[string]json.RawMessage{sidechain.WingName: s.section}, WingSet: SidechainWings(),
		Dir: filepath.Join(d.dir, "sidechain"), Validators: o.Validators,
		Genesis:   chain.Genesis{ChainID: DefaultSidechainID, GasLimit: s.cfg.GasLimit, Alloc: SidechainAlloc()},
		BlockTime: o.BlockTime, BlockGap: s.cfg.BlockGap, Host: s.cfg.Host, BaseRPCPort: o.RPCPort,
		Layers: d.layers, Log: s.cfg.Log.With("chain", "sidechain"),
		Staking: &l1.ClusterStaking{Params: DevStaking(o.Validators).Params, Operators: ops, Stake: DevValidatorStake},
	})
	if err != nil {
		return err
	}
	s.Cluster = cl
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
	r := &sidechain.Relayer{L1: l1c, Side: sc, Attesters: AttesterKeys()[:multisigThreshold], Sender: chain.DevKey(bridgeRelayer),
		Params: s.Params.Multisig, Log: s.cfg.Log.With("wing", "sidechain")}
	rctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go func() { defer close(s.done); r.Run(rctx, 100*time.Millisecond) }()
	return nil
}

// Stop implements Wing.
func (s *Sidechain) Stop() {
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
		Contracts: map[string]common.Address{"multisigBridgeL1": sidechain.MultisigL1Address, "multisigBridgeSidechain": sidechain.MultisigSideAddress},
		Params: map[string]any{"multisig": fmt.Sprintf("%d of %d attester keys", multisigThreshold, multisigAttesters),
			"finality": "instant on the sidechain (its own CometBFT validators); bridged ETH is as safe as the bridge's keys"}}
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
	if bt == 0 {
		bt = DefaultSidechainBlock
	}
	fmt.Fprintf(w, "\nSC  Sidechain, chain ID %d, %d validators of its own (CometBFT), blocks on demand (%s apart at most)\n",
		DefaultSidechainID, s.Cluster.Size(), bt)
	for i := range s.Cluster.Size() {
		fmt.Fprintf(w, "    validator %d  RPC %s\n", i, s.RPC(i))
	}
	fmt.Fprintf(w, "    multisig bridge (%d of %d keys): deposit(to) on L1 at %s, withdraw(to) on the sidechain at %s; the devnet relays both\n",
		multisigThreshold, multisigAttesters, sidechain.MultisigL1Address, sidechain.MultisigSideAddress)
}
