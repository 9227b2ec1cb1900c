package devnet

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/zkrollup"
)

// The devnet ZK rollup's size: 4 ops per batch over 2^16 accounts.
const (
	DefaultZKSlots = 4
	DefaultZKDepth = 16
)

// ZKOperatorKey is the devnet ZK rollup operator's L1 key (funded at genesis).
func ZKOperatorKey() *ecdsa.PrivateKey { return chain.DevKey(103) }

// ZK is the devnet's ZK rollup: its operator, reading L1 over JSON-RPC.
type ZK struct {
	Params   zkrollup.VerifierParams
	Operator *zkrollup.Operator
	client   *ethclient.Client
	cfg      Config
}

// ZKOptions are the devnet's ZK rollup's options.
type ZKOptions struct {
	// RPCPort is the operator's JSON-RPC port; 0 picks a free one, -1
	// runs no ZK rollup.
	RPCPort int
	Slots   int    // ops per batch; 0: DefaultZKSlots
	Depth   int    // account tree depth; 0: DefaultZKDepth
	KeyDir  string // where proving keys are cached; "": zkrollup.DefaultKeyDir
}

// AddFlags registers the ZK rollup's devnet flags.
func (o *ZKOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.RPCPort, "zk-rpc-port", DefaultZKRPCPort, "JSON-RPC port of the ZK rollup's operator; -1 runs no ZK rollup")
	f.IntVar(&o.Slots, "zk-slots", DefaultZKSlots, "ops per ZK rollup batch")
	f.IntVar(&o.Depth, "zk-depth", DefaultZKDepth, "depth of the ZK rollup's account tree (2^depth accounts)")
	f.StringVar(&o.KeyDir, "zk-keys", "", "cache of the ZK rollup's proving keys (default: the user cache directory)")
}

func newZK(cfg Config) *ZK {
	slots, depth := cfg.ZK.Slots, cfg.ZK.Depth
	slots = cmp.Or(slots, DefaultZKSlots)
	depth = cmp.Or(depth, DefaultZKDepth)
	return &ZK{cfg: cfg, Params: zkrollup.DevParams(cfg.ChainID, slots, depth, crypto.PubkeyToAddress(ZKOperatorKey().PublicKey))}
}

// Name implements Wing.
func (z *ZK) Name() string { return zkrollup.WingName }

// Genesis implements Wing: the verifier contract's rules and the
// operator's L1 account.
func (z *ZK) Genesis() (json.RawMessage, types.GenesisAlloc, error) {
	section, err := json.Marshal(z.Params)
	if err != nil {
		return nil, nil, err
	}
	return section, types.GenesisAlloc{crypto.PubkeyToAddress(ZKOperatorKey().PublicKey): {Balance: new(big.Int).Set(DevBalance)}}, nil
}

// Start implements Wing: the operator.
func (z *ZK) Start(d *Devnet, _ prometheus.Registerer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if z.client, err = ethclient.DialContext(ctx, d.L1RPC(0)); err != nil {
		return err
	}
	addr := net.JoinHostPort(z.cfg.Host, strconv.Itoa(z.cfg.ZK.RPCPort))
	z.Operator, err = zkrollup.StartOperator(ctx, zkrollup.OperatorConfig{
		Params: z.Params, L1: z.client, Key: ZKOperatorKey(), KeyDir: z.cfg.ZK.KeyDir,
		DataDir: filepath.Join(d.dir, "zk"), RPCAddr: addr, Log: z.cfg.Log.With("wing", "zk"),
	})
	return err
}

// Stop implements Wing: it stops the operator.
func (z *ZK) Stop() {
	if z.Operator != nil {
		z.Operator.Close()
	}
	if z.client != nil {
		z.client.Close()
	}
}

// Layer implements Wing.
func (z *ZK) Layer() rpc.Layer {
	var urls []string
	if z.Operator != nil {
		urls = []string{z.Operator.RPCURL()}
	}
	return rpc.Layer{Name: "ZK rollup", Kind: zkrollup.WingName, RPC: urls,
		Contracts: map[string]common.Address{"verifier": zkrollup.VerifierAddress},
		Params: map[string]any{"slots": z.Params.Slots, "depth": z.Params.Depth, "operator": z.Params.Operator,
			"priorityDeadline": z.Params.PriorityDeadline, "finality": "when its batch's proof verifies on L1"}}
}

// Summary implements Wing.
func (z *ZK) Summary(w io.Writer, _ *Devnet) {
	if z.Operator == nil {
		return
	}
	keys := "proving keys loaded"
	if !z.Operator.Status().KeysReady {
		keys = "proving keys: setting up in the background (first run of this size only; ops are accepted meanwhile)"
	}
	fmt.Fprintf(w, "\nZK  ZK rollup, %d ops per batch, 2^%d accounts, Groth16 proofs verified by %s\n"+
		"    operator     RPC %s  (zk_ methods; cairn zk register|deposit|transfer|withdraw|balance|exit)\n"+
		"    send ETH to the contract to deposit; exit mode after %d L1 blocks of an unanswered request\n    %s\n",
		z.Params.Slots, z.Params.Depth, zkrollup.VerifierAddress, z.Operator.RPCURL(), z.Params.PriorityDeadline, keys)
}
