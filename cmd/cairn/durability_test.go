package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// buildCairn compiles the cairn binary once for the tests that run it as a
// separate process.
var buildCairn = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cairn-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cairn")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func cairnBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the cairn binary")
	}
	bin, err := buildCairn()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// testDevnet is the devnet the CLI tests run against: 2 validators, 100 ms
// L1 blocks, the sidechain and the ZK rollup without JSON-RPC (set what a
// test needs on the returned config).
func testDevnet() devnet.Config {
	return devnet.Config{Sidechain: devnet.SidechainOptions{RPCPort: -1}, ZK: devnet.ZKOptions{RPCPort: -1}, Validators: 2, BlockTime: 100 * time.Millisecond}
}

// startDevnet starts a devnet, stopped at cleanup, and waits under ctx for
// its first L1 block.
func startDevnet(t *testing.T, ctx context.Context, cfg devnet.Config) *devnet.Devnet {
	t.Helper()
	d, err := devnet.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if err := d.L1.WaitHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

// dial connects to a JSON-RPC endpoint, closed at cleanup.
var dial = wingtest.Dial

// start runs the binary; the returned process is killed at cleanup.
func start(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// freeBase finds n consecutive free loopback ports.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	base, err := l1.FreePorts("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func dialWait(t *testing.T, url string) *ethclient.Client {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := ethclient.Dial(url)
		if err == nil {
			if _, err = c.BlockNumber(context.Background()); err == nil {
				t.Cleanup(c.Close)
				return c
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load sends transfers from the dev accounts through c until stop closes, and
// returns the hashes the node accepted.
func load(c *ethclient.Client, keys []*ecdsa.PrivateKey, stop <-chan struct{}) []common.Hash {
	ctx := context.Background()
	chainID, _ := c.ChainID(ctx)
	signer := types.LatestSignerForChainID(chainID)
	var (
		mu       sync.Mutex
		accepted []common.Hash
		wg       sync.WaitGroup
	)
	for _, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := crypto.PubkeyToAddress(key.PublicKey)
			nonce, err := c.PendingNonceAt(ctx, from)
			if err != nil {
				return
			}
			to := common.BytesToAddress(crypto.Keccak256(from.Bytes())[:20])
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, Gas: 21000,
					GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei), To: &to, Value: big.NewInt(1)})
				if err := c.SendTransaction(ctx, tx); err != nil {
					time.Sleep(20 * time.Millisecond)
					if n, err := c.PendingNonceAt(ctx, from); err == nil {
						nonce = n
					}
					continue
				}
				mu.Lock()
				accepted = append(accepted, tx.Hash())
				mu.Unlock()
				nonce++
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return accepted
}

// waitClientHeight waits (a minute at most) until c's node reaches height h.
func waitClientHeight(t *testing.T, c *ethclient.Client, h uint64, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := c.BlockNumber(context.Background())
		if err == nil && got >= h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: at %d, want %d (%v)", what, got, h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func receipt(t *testing.T, c *ethclient.Client, h common.Hash, wait time.Duration) *types.Receipt {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		r, err := c.TransactionReceipt(context.Background(), h)
		if err == nil {
			return r
		}
		if !errors.Is(err, ethereum.NotFound) || time.Now().After(deadline) {
			t.Fatalf("receipt of %s: %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A validator running in its own process is killed with SIGKILL while the
// chain is under load. The other three keep making blocks; restarted from its
// data, it replays and catches up, and agrees with them on every block.
func TestValidatorSurvivesSIGKILL(t *testing.T) {
	bin := cairnBinary(t)
	alloc := types.GenesisAlloc{}
	var keys []*ecdsa.PrivateKey
	for i := range uint32(4) {
		keys = append(keys, chain.DevKey(i))
		alloc[chain.DevAddress(i)] = types.Account{Balance: devnet.DevBalance}
	}
	cl, err := l1.NewCluster(l1.ClusterConfig{Dir: t.TempDir(), Validators: 4, BlockTime: 100 * time.Millisecond,
		Genesis: chain.Genesis{ChainID: 4242, Alloc: alloc}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
	for i := 0; i < 3; i++ {
		if err := cl.StartNode(i); err != nil {
			t.Fatal(err)
		}
	}
	nodeArgs := []string{"node", "--home", cl.Home(3), "--rpc", cl.RPCAddr(3)}
	proc := start(t, bin, nodeArgs...)
	c0 := dialWait(t, "http://"+cl.RPCAddr(0))
	dialWait(t, "http://"+cl.RPCAddr(3))

	stop := make(chan struct{})
	var accepted []common.Hash
	done := make(chan struct{})
	go func() { accepted = load(c0, keys, stop); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	killedAt := cl.Height()
	kill9(t, proc)
	// The three others keep making blocks under load (3 of 4 is over 2/3).
	waitCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err = cl.WaitHeight(waitCtx, killedAt+5)
	cancel()
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("the three remaining validators stalled: %v", err)
	}

	start(t, bin, nodeArgs...)
	c3 := dialWait(t, "http://"+cl.RPCAddr(3))
	target := cl.Height()
	waitClientHeight(t, c3, target, "the restarted validator to catch up")
	if len(accepted) < 50 {
		t.Fatalf("only %d transactions accepted under load", len(accepted))
	}
	for _, h := range accepted {
		r0 := receipt(t, c0, h, 20*time.Second)
		r3 := receipt(t, c3, h, 20*time.Second)
		if r0.BlockHash != r3.BlockHash || r0.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("tx %s: block %s on validator 0, %s on the restarted one", h, r0.BlockHash, r3.BlockHash)
		}
	}
	h0, _ := c0.HeaderByNumber(context.Background(), new(big.Int).SetUint64(target))
	h3, _ := c3.HeaderByNumber(context.Background(), new(big.Int).SetUint64(target))
	if h0.Hash() != h3.Hash() {
		t.Fatalf("block %d differs after restart", target)
	}
	t.Logf("%d transfers accepted; validator killed at height %d, caught up to %d", len(accepted), killedAt, target)
}

// The whole devnet is killed with SIGKILL under load on both layers and
// started again on the same --datadir: every receipt given before the kill,
// by an L1 validator or by the rollup's sequencer, is still there with the
// same block; both chains go on, and the rollup's verifier catches up.
func TestDevnetResumesAfterSIGKILL(t *testing.T) {
	bin := cairnBinary(t)
	dir := t.TempDir()
	// Only the L1's ports are fixed (bound first, as soon as it starts);
	// every wing picks free ones when it starts, found through
	// cairn_layers: ports chosen here would wait seconds for their wing,
	// while another test process could take them.
	rpcBase, p2pBase := freeBase(t, 4), freeBase(t, 4)
	args := []string{"devnet", "--datadir", dir, "--block-time", "100ms",
		"--rpc-port", strconv.Itoa(rpcBase), "--p2p-port", strconv.Itoa(p2pBase), "--l2-rpc-port", "0", "--zk-rpc-port", "-1",
		"--channel-rpc-port", "0", "--sidechain-rpc-port", "0", "--explorer-port", "0"}
	proc := start(t, bin, args...)
	url := "http://127.0.0.1:" + strconv.Itoa(rpcBase)
	c := dialWait(t, url)
	rollupURLs := func() []string { return layerRPC(t, url, "optimistic-rollup", 2) }
	urls := rollupURLs()
	seq := dialWait(t, urls[0])
	// The L1 load comes from accounts no wing uses: the channel nodes open
	// their channels from accounts 4–6 while the devnet starts, and a load
	// from those would race them for nonces.
	l1Keys := []*ecdsa.PrivateKey{chain.DevKey(1), chain.DevKey(2)}
	l2Keys := []*ecdsa.PrivateKey{chain.DevKey(7), chain.DevKey(8)}
	stop := make(chan struct{})
	var accepted, acceptedL2 []common.Hash
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); accepted = load(c, l1Keys, stop) }()
	go func() { defer wg.Done(); acceptedL2 = load(seq, l2Keys, stop) }()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	// Everything acknowledged with a receipt before the kill must survive.
	confirmed := map[common.Hash]common.Hash{}
	for _, h := range accepted {
		confirmed[h] = receipt(t, c, h, 20*time.Second).BlockHash
	}
	confirmedL2 := map[common.Hash]common.Hash{}
	var lastL2 uint64
	for _, h := range acceptedL2 {
		r := receipt(t, seq, h, 20*time.Second)
		confirmedL2[h] = r.BlockHash
		lastL2 = max(lastL2, r.BlockNumber.Uint64())
	}
	// Keep both chains busy while they die.
	stop2 := make(chan struct{})
	go load(c, l1Keys, stop2)
	go load(seq, l2Keys, stop2)
	time.Sleep(300 * time.Millisecond)
	kill9(t, proc)
	close(stop2)

	start(t, bin, args...)
	c2 := dialWait(t, url)
	urls = rollupURLs()
	seq2, ver := dialWait(t, urls[0]), dialWait(t, urls[1])
	for h, block := range confirmed {
		r := receipt(t, c2, h, 30*time.Second)
		if r.BlockHash != block {
			t.Fatalf("tx %s moved from block %s to %s", h, block, r.BlockHash)
		}
	}
	for h, block := range confirmedL2 {
		r := receipt(t, seq2, h, 30*time.Second)
		if r.BlockHash != block {
			t.Fatalf("L2 tx %s moved from block %s to %s", h, block, r.BlockHash)
		}
	}
	before, _ := c2.BlockNumber(context.Background())
	waitClientHeight(t, c2, before+1, "the resumed chain to make blocks")
	beforeL2, _ := seq2.BlockNumber(context.Background())
	waitClientHeight(t, seq2, beforeL2+1, "the resumed rollup to make blocks")
	// The verifier derives past every soft-confirmed block, to the same hashes
	// (two minutes: in a CI run beside other packages' devnets, a minute ran
	// out with the verifier's L1 reads timing out).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		safe, err := ver.HeaderByNumber(context.Background(), big.NewInt(-4))
		if err == nil && safe.Number.Uint64() >= lastL2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("verifier's safe head %v did not reach %d: %v", safe, lastL2, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	hs, _ := seq2.HeaderByNumber(context.Background(), new(big.Int).SetUint64(lastL2))
	hv, _ := ver.HeaderByNumber(context.Background(), new(big.Int).SetUint64(lastL2))
	if hs == nil || hv == nil || hs.Hash() != hv.Hash() {
		t.Fatalf("L2 block %d differs between sequencer and verifier after restart", lastL2)
	}
	t.Logf("%d L1 and %d L2 receipts survived SIGKILL; L1 resumed at %d, L2 at %d", len(confirmed), len(confirmedL2), before, beforeL2)
}

// layerRPC waits until the L1 at url lists a layer of kind with at least
// n JSON-RPC URLs in cairn_layers (a devnet lists its wings once they
// have started), and returns them.
func layerRPC(t *testing.T, url, kind string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := rpc.Dial(url)
		if err == nil {
			var layers []struct {
				Kind string   `json:"kind"`
				RPC  []string `json:"rpc"`
			}
			err = c.CallContext(context.Background(), &layers, "cairn_layers")
			c.Close()
			for _, l := range layers {
				if l.Kind == kind && len(l.RPC) >= n {
					return l.RPC
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s layer with %d RPC URLs in %s's cairn_layers: %v", kind, n, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
