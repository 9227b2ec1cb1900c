package l1

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1/staking"
	"github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/wing"
)

// ClusterConfig describes validators run together in one process.
type ClusterConfig struct {
	Dir         string        // node homes go to Dir/node0 ... Dir/node{N-1}
	Validators  int           // number of validators
	Genesis     chain.Genesis // execution genesis (used when Dir has none yet)
	BlockTime   time.Duration // longest time between blocks, when idle (default 200ms)
	BlockGap    time.Duration // pause after each block (default DefaultBlockGap)
	Host        string        // listen host; 127.0.0.1 when empty
	Hosts       []string      // if set, node i is reached at Hosts[i] and listens for peers on all interfaces
	BaseP2PPort int           // node i uses BaseP2PPort+i; 0 picks free ports
	BaseRPCPort int           // node i serves JSON-RPC at BaseRPCPort+i; 0 picks free ports; -1 disables RPC
	RPCLimits   rpc.Limits
	System      *chain.SystemContracts
	Wings       map[string]json.RawMessage // written to the genesis: L2 wings' L1 rules
	WingSet     *wing.Registry             // the wings whose contracts those sections install
	App         Config
	Registry    prometheus.Registerer
	Layers      func() []rpc.Layer
	Log         *slog.Logger
	Staking     *ClusterStaking // proof of stake; nil keeps the genesis validators fixed at power 10
	// GenesisTime is a fresh genesis's time (zero: now, to the second),
	// for a chain whose genesis another chain's genesis must know.
	GenesisTime time.Time
}

// ClusterStaking turns on proof of stake in a cluster's genesis.
type ClusterStaking struct {
	Params    staking.Params
	Operators []common.Address // operator account of genesis validator i
	Stake     *big.Int         // stake of each genesis validator
}

// Cluster is the multi-validator harness: it creates the validators' homes
// and a shared genesis, and starts, stops, restarts and cuts off nodes. It
// lives outside test files so every wing's tests, and `cairn devnet`, use it.
type Cluster struct {
	cfg   ClusterConfig
	mu    sync.Mutex
	nodes []*Node
	comet []*cmtcfg.Config
	gates []*PeerGate
	vals  []cmttypes.GenesisValidator
	ids   []string
	p2p   []string
	rpc   []string
}

// CometChainID is the CometBFT chain ID of the chain with Ethereum chain
// ID id, as a cluster's genesis names it.
func CometChainID(id uint64) string { return fmt.Sprintf("cairn-%d", id) }

// GenesisFile is where a cluster keeps its shared genesis.
func GenesisFile(dir string) string { return filepath.Join(dir, "genesis.json") }

// NewCluster prepares the homes, keys and genesis of a cluster in cfg.Dir,
// reusing what is there, so a cluster restarted on the same directory
// resumes its chain. It starts nothing.
func NewCluster(cfg ClusterConfig) (*Cluster, error) {
	c, err := PrepareCluster(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.WriteGenesis(c.cfg.Wings); err != nil {
		return nil, err
	}
	return c, nil
}

// PrepareCluster is NewCluster without the genesis: the homes and keys,
// so the genesis validators are known (GenesisValidators) before
// WriteGenesis writes it. Two chains that each follow the other's
// consensus from genesis (the sidechain's light-client bridge) need that.
func PrepareCluster(cfg ClusterConfig) (*Cluster, error) {
	if cfg.Validators < 1 {
		return nil, errors.New("cluster needs at least one validator")
	}
	if len(cfg.Hosts) > 0 && len(cfg.Hosts) != cfg.Validators {
		return nil, fmt.Errorf("%d hosts for %d validators", len(cfg.Hosts), cfg.Validators)
	}
	cfg.Host = cmp.Or(cfg.Host, "127.0.0.1")
	cfg.BlockTime = cmp.Or(cfg.BlockTime, 200*time.Millisecond)
	cfg.BlockGap = cmp.Or(cfg.BlockGap, DefaultBlockGap)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Cluster{cfg: cfg}
	var err error
	if cfg.BaseP2PPort == 0 {
		if cfg.BaseP2PPort, err = FreePorts(cfg.Host, cfg.Validators); err != nil {
			return nil, err
		}
	}
	if cfg.BaseRPCPort == 0 {
		if cfg.BaseRPCPort, err = FreePorts(cfg.Host, cfg.Validators); err != nil {
			return nil, err
		}
	}
	if cfg.Staking != nil && len(cfg.Staking.Operators) != cfg.Validators {
		return nil, fmt.Errorf("%d staking operators for %d validators", len(cfg.Staking.Operators), cfg.Validators)
	}
	for i := 0; i < cfg.Validators; i++ {
		pub, err := c.prepareHome(i, cfg.BaseP2PPort+i, cfg.BaseRPCPort+i)
		if err != nil {
			return nil, err
		}
		power := int64(10)
		if cfg.Staking != nil {
			power = staking.Power(cfg.Staking.Stake)
		}
		c.vals = append(c.vals, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: power, Name: c.comet[i].Moniker})
	}
	for i, cc := range c.comet {
		cc.P2P.PersistentPeers = strings.Join(c.peersOf(i), ",")
		// Written so `cairn node --home` can run this node in its own process.
		writeCometConfig(cc)
		if err := WriteSettings(cc.RootDir, Settings{RPC: c.rpc[i]}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// SetGenesisTime sets a fresh genesis's time, before WriteGenesis.
func (c *Cluster) SetGenesisTime(t time.Time) { c.cfg.GenesisTime = t }

// SetLayers sets what the nodes' cairn_layers lists, before Start.
func (c *Cluster) SetLayers(f func() []rpc.Layer) { c.cfg.Layers = f }

// GenesisValidators are the validators a fresh genesis would hold (a
// genesis already written keeps its own: see GenesisDoc).
func (c *Cluster) GenesisValidators() []cmttypes.GenesisValidator { return c.vals }

// GenesisDoc reads the cluster's genesis, once written.
func (c *Cluster) GenesisDoc() (*cmttypes.GenesisDoc, error) {
	return cmttypes.GenesisDocFromFile(GenesisFile(c.cfg.Dir))
}

// HasGenesis tells whether the cluster's directory holds a genesis.
func (c *Cluster) HasGenesis() bool {
	_, err := os.Stat(GenesisFile(c.cfg.Dir))
	return err == nil
}

// WriteGenesis writes the shared genesis with the wings' sections, unless
// one is there already, and gives it to every node's home.
func (c *Cluster) WriteGenesis(wings map[string]json.RawMessage) error {
	vals := c.vals
	path := GenesisFile(c.cfg.Dir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		now := cmttime.Now().Truncate(time.Second)
		if !c.cfg.GenesisTime.IsZero() {
			now = c.cfg.GenesisTime.UTC().Truncate(time.Second)
		}
		g := c.cfg.Genesis
		g.Timestamp = uint64(now.Unix())
		state := GenesisAppState{Chain: g, Wings: wings}
		if sc := c.cfg.Staking; sc != nil {
			state.Staking = &StakingGenesis{Params: sc.Params}
			for i, v := range vals {
				var pub [32]byte
				copy(pub[:], v.PubKey.Bytes())
				state.Staking.Validators = append(state.Staking.Validators, staking.GenesisValidator{
					Operator: sc.Operators[i], PubKey: pub, Stake: new(big.Int).Set(sc.Stake)})
			}
		}
		app, err := json.Marshal(state)
		if err != nil {
			return err
		}
		params := cmttypes.DefaultConsensusParams()
		params.Block.MaxBytes = 8 * 1024 * 1024
		if sc := c.cfg.Staking; sc != nil {
			// Evidence must expire before unbonded stake is paid out, or a
			// validator could leave and then equivocate for free.
			params.Evidence.MaxAgeNumBlocks = int64(max(1, sc.Params.UnbondingBlocks/2))
			params.Evidence.MaxAgeDuration = time.Duration(max(1, sc.Params.UnbondingSeconds/2)) * time.Second
		}
		doc := &cmttypes.GenesisDoc{
			ChainID:         CometChainID(g.ChainID),
			GenesisTime:     now,
			InitialHeight:   1,
			ConsensusParams: params,
			Validators:      vals,
			AppState:        app,
		}
		if err := doc.ValidateAndComplete(); err != nil {
			return err
		}
		if err := doc.SaveAs(path); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, cc := range c.comet {
		if err := os.WriteFile(cc.GenesisFile(), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// prepareHome creates (or reuses) the home, keys and listen addresses of
// node i and returns its consensus key.
func (c *Cluster) prepareHome(i, p2pPort, rpcPort int) (crypto.PubKey, error) {
	cfg := c.cfg
	listen, advertise := cfg.Host, cfg.Host
	if len(cfg.Hosts) > i {
		listen, advertise = "0.0.0.0", cfg.Hosts[i]
	}
	c.p2p = append(c.p2p, net.JoinHostPort(advertise, strconv.Itoa(p2pPort)))
	if cfg.BaseRPCPort >= 0 {
		c.rpc = append(c.rpc, net.JoinHostPort(cfg.Host, strconv.Itoa(rpcPort)))
	} else {
		c.rpc = append(c.rpc, "")
	}
	home := filepath.Join(cfg.Dir, fmt.Sprintf("node%d", i))
	cc := CometConfig(home, fmt.Sprintf("validator-%d", i), net.JoinHostPort(listen, strconv.Itoa(p2pPort)), nil, cfg.BlockTime, cfg.BlockGap)
	cc.FilterPeers = true
	if len(cfg.Hosts) > i {
		cc.P2P.ExternalAddress = "tcp://" + c.p2p[i]
	}
	pv, key, err := loadOrGenKeys(cc)
	if err != nil {
		return nil, err
	}
	c.comet = append(c.comet, cc)
	c.ids = append(c.ids, string(key.ID()))
	c.gates = append(c.gates, NewPeerGate())
	c.nodes = append(c.nodes, nil)
	return pv.GetPubKey()
}

// AddNode creates a node that is not in the genesis (a full node, until it
// stakes), gives it the cluster's genesis and every other node as a peer,
// and starts it. It returns the node's index.
func (c *Cluster) AddNode() (int, error) { return c.addNode(nil) }

func (c *Cluster) addNode(prepare func(*cmtcfg.Config) error) (int, error) {
	p2pPort, err := FreePorts(c.cfg.Host, 1)
	if err != nil {
		return 0, err
	}
	rpcPort, err := FreePorts(c.cfg.Host, 1)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	i := len(c.comet)
	_, err = c.prepareHome(i, p2pPort, rpcPort)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	cc := c.comet[i]
	cc.Moniker = fmt.Sprintf("node-%d", i)
	cc.P2P.PersistentPeers = strings.Join(c.peersOf(i), ",")
	data, err := os.ReadFile(GenesisFile(c.cfg.Dir))
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(cc.GenesisFile(), data, 0o600); err != nil {
		return 0, err
	}
	if prepare != nil {
		if err := prepare(cc); err != nil {
			return 0, err
		}
	}
	return i, c.StartNode(i)
}

// AddTwin starts a new node holding a copy of node i's validator key with a
// fresh signing state, so the key signs on two nodes at once: a double-signing
// validator, for slashing tests. Never do this outside a test.
func (c *Cluster) AddTwin(i int) (int, error) {
	key, err := os.ReadFile(c.comet[i].PrivValidatorKeyFile())
	if err != nil {
		return 0, err
	}
	return c.addNode(func(cc *cmtcfg.Config) error {
		return os.WriteFile(cc.PrivValidatorKeyFile(), key, 0o600)
	})
}

// PrivValidator is node i's consensus signing key, for tests that register
// it as a validator.
func (c *Cluster) PrivValidator(i int) *privval.FilePV {
	return privval.LoadFilePV(c.comet[i].PrivValidatorKeyFile(), c.comet[i].PrivValidatorStateFile())
}

// Size is the number of validators.
func (c *Cluster) Size() int { return len(c.comet) }

// Start starts every node that is not running.
func (c *Cluster) Start() error {
	for i := range c.comet {
		if c.Node(i) == nil {
			if err := c.StartNode(i); err != nil {
				c.Stop()
				return err
			}
		}
	}
	return nil
}

// StartNode starts node i from its home.
func (c *Cluster) StartNode(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes[i] != nil {
		return fmt.Errorf("node %d already running", i)
	}
	n, err := StartNode(NodeConfig{
		Name:      fmt.Sprintf("validator-%d", i),
		Comet:     c.comet[i],
		RPCAddr:   c.rpc[i],
		RPCLimits: c.cfg.RPCLimits,
		System:    c.cfg.System,
		Wings:     c.cfg.WingSet,
		App:       c.cfg.App,
		Registry:  c.cfg.Registry,
		Layers:    c.cfg.Layers,
		PeerGate:  c.gates[i],
		Log:       c.cfg.Log,
	})
	if err != nil {
		return fmt.Errorf("start node %d: %w", i, err)
	}
	c.nodes[i] = n
	return nil
}

// StopNode stops node i cleanly; its data stays.
func (c *Cluster) StopNode(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		n.Stop()
	}
}

// RestartNode stops and starts node i.
func (c *Cluster) RestartNode(i int) error {
	c.StopNode(i)
	return c.StartNode(i)
}

// Stop stops every node.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for i := range c.comet {
		wg.Add(1)
		go func() { defer wg.Done(); c.StopNode(i) }()
	}
	wg.Wait()
}

// Node returns node i, or nil when it is stopped.
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// RPCAddr is node i's JSON-RPC address.
func (c *Cluster) RPCAddr(i int) string { return c.rpc[i] }

// PeerAddress is node i's address for other nodes' peer lists (id@host:port).
func (c *Cluster) PeerAddress(i int) string { return c.ids[i] + "@" + c.p2p[i] }

// Home is node i's home directory.
func (c *Cluster) Home(i int) string { return c.comet[i].RootDir }

// peersOf lists every other node as CometBFT peer addresses (id@host:port).
func (c *Cluster) peersOf(i int) []string {
	var peers []string
	for j := range c.comet {
		if j != i {
			peers = append(peers, c.PeerAddress(j))
		}
	}
	return peers
}

// Isolate cuts node i off from every other node, both ways, until Heal.
func (c *Cluster) Isolate(i int) {
	for j := range c.comet {
		if j == i {
			continue
		}
		c.gates[j].Block(c.ids[i])
		c.gates[i].Block(c.ids[j])
	}
	for j := range c.comet {
		n := c.Node(j)
		if n == nil {
			continue
		}
		sw := n.Comet().Switch()
		for _, p := range sw.Peers().List() {
			if !c.gates[j].Allowed(string(p.ID())) {
				sw.StopPeerForError(p, errors.New("cut off by harness"))
			}
		}
	}
}

// Heal reconnects node i after Isolate.
func (c *Cluster) Heal(i int) {
	for j := range c.comet {
		if j == i {
			continue
		}
		c.gates[j].Unblock(c.ids[i])
		c.gates[i].Unblock(c.ids[j])
	}
	if n := c.Node(i); n != nil {
		_ = n.Comet().Switch().DialPeersAsync(c.peersOf(i))
	}
}

// WaitHeight waits until every running node reaches height.
func (c *Cluster) WaitHeight(ctx context.Context, height uint64) error {
	for i := range c.comet {
		if n := c.Node(i); n != nil {
			if err := n.WaitHeight(ctx, height); err != nil {
				return err
			}
		}
	}
	return nil
}

// Height is the highest head among running nodes.
func (c *Cluster) Height() uint64 {
	var h uint64
	for i := range c.comet {
		if n := c.Node(i); n != nil {
			h = max(h, n.Chain().Head().Number.Uint64())
		}
	}
	return h
}

// FreePorts returns the first of n consecutive ports that are free on host.
// It draws them at random below Linux's ephemeral range (32768+), where the
// kernel never hands out ports on its own, so outgoing connections do not
// take them between this check and their use. Ports it handed out in this
// process in the last minute are not handed out again (a devnet picks
// several ranges before it binds any), and each process draws from its own
// half of the range, by process ID, so parallel test processes seldom meet.
func FreePorts(host string, n int) (int, error) {
	const lo, span, shares = 20000, 12000, 2
	share := span / shares
	first := lo + os.Getpid()%shares*share
	portsMu.Lock()
	defer portsMu.Unlock()
	for try := 0; try < 100; try++ {
		base := first + rand.IntN(share-n)
		ok := true
		for i := 0; ok && i < n; i++ {
			if at, given := portsGiven[base+i]; given && time.Since(at) < time.Minute {
				ok = false
				continue
			}
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(base+i)))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			for i := range n {
				portsGiven[base+i] = time.Now()
			}
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports on %s", n, host)
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]time.Time{} // handed out by FreePorts in this process, and when
)
