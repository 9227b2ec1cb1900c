package devnet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

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
}

func (d *Devnet) zkParams() zkrollup.VerifierParams {
	slots, depth := d.cfg.ZKSlots, d.cfg.ZKDepth
	if slots == 0 {
		slots = DefaultZKSlots
	}
	if depth == 0 {
		depth = DefaultZKDepth
	}
	return zkrollup.DevParams(d.cfg.ChainID, slots, depth, crypto.PubkeyToAddress(ZKOperatorKey().PublicKey))
}

func startZK(d *Devnet) (*ZK, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	z := &ZK{Params: d.zkParams()}
	var err error
	if z.client, err = ethclient.DialContext(ctx, d.L1RPC(0)); err != nil {
		return nil, err
	}
	port := d.cfg.ZKRPCPort
	addr := net.JoinHostPort(d.cfg.Host, strconv.Itoa(port))
	z.Operator, err = zkrollup.StartOperator(ctx, zkrollup.OperatorConfig{
		Params: z.Params, L1: z.client, Key: ZKOperatorKey(), KeyDir: d.cfg.ZKKeyDir,
		DataDir: filepath.Join(d.dir, "zk"), RPCAddr: addr, Log: d.cfg.Log.With("wing", "zk"),
	})
	if err != nil {
		z.client.Close()
		return nil, err
	}
	return z, nil
}

// Stop stops the operator.
func (z *ZK) Stop() {
	z.Operator.Close()
	z.client.Close()
}

func (z *ZK) layer() rpc.Layer {
	return rpc.Layer{Name: "ZK rollup", Kind: zkrollup.WingName, RPC: []string{z.Operator.RPCURL()},
		Contracts: map[string]common.Address{"verifier": zkrollup.VerifierAddress},
		Params: map[string]any{"slots": z.Params.Slots, "depth": z.Params.Depth, "operator": z.Params.Operator,
			"priorityDeadline": z.Params.PriorityDeadline, "finality": "when its batch's proof verifies on L1"}}
}

func (z *ZK) summary() string {
	keys := "proving keys loaded"
	if !z.Operator.Status().KeysReady {
		keys = "proving keys: setting up in the background (first run of this size only; ops are accepted meanwhile)"
	}
	return fmt.Sprintf("\nZK  ZK rollup, %d ops per batch, 2^%d accounts, Groth16 proofs verified by %s\n"+
		"    operator     RPC %s  (zk_ methods; cairn zk register|deposit|transfer|withdraw|balance|exit)\n"+
		"    send ETH to the contract to deposit; exit mode after %d L1 blocks of an unanswered request\n    %s\n",
		z.Params.Slots, z.Params.Depth, zkrollup.VerifierAddress, z.Operator.RPCURL(), z.Params.PriorityDeadline, keys)
}
