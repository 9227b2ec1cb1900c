package lab

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/event"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// Foundry's Anvil is the baseline a dApp developer knows: a single-node dev
// chain. The lab runs it as a child process (Foundry's npm package
// @foundry-rs/anvil-linux-amd64 puts it on the PATH) and drives it with the
// same load as Cairn's L1, in the same run.

// findAnvil returns the anvil binary to compare with: path when set, else
// anvil on the PATH; "" when there is none or path is "-".
func findAnvil(path string) string {
	if path == "-" {
		return ""
	}
	if path != "" {
		return path
	}
	p, err := exec.LookPath("anvil")
	if err != nil {
		return ""
	}
	return p
}

// anvil is a running Anvil.
type anvil struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startAnvil runs Anvil on a free port with chainID and gasLimit, mining a
// block per transaction (blockTime 0) or every blockTime, and funds the
// given accounts with 1,000 ether each.
func startAnvil(ctx context.Context, bin string, chainID, gasLimit uint64, blockTime time.Duration, fund []common.Address) (*anvil, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"--port", strconv.Itoa(port), "--chain-id", strconv.FormatUint(chainID, 10), "--gas-limit", strconv.FormatUint(gasLimit, 10), "--accounts", "1", "--silent"}
	if blockTime > 0 {
		args = append(args, "--block-time", strconv.FormatFloat(blockTime.Seconds(), 'f', -1, 64))
	}
	a := &anvil{cmd: exec.Command(bin, args...), url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start anvil: %w", err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	c, err := a.dial(ctx)
	if err != nil {
		a.stop()
		return nil, err
	}
	defer c.Close()
	balance := hexutil.EncodeBig(new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18)))
	for _, addr := range fund {
		if err := c.CallContext(ctx, nil, "anvil_setBalance", addr, balance); err != nil {
			a.stop()
			return nil, fmt.Errorf("fund %s on anvil: %w", addr, err)
		}
	}
	return a, nil
}

// dial waits for Anvil to answer.
func (a *anvil) dial(ctx context.Context) (*gethrpc.Client, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := gethrpc.DialContext(ctx, a.url)
		if err == nil {
			var id hexutil.Uint64
			if err = c.CallContext(ctx, &id, "eth_chainId"); err == nil {
				return c, nil
			}
			c.Close()
		}
		select {
		case <-a.done:
			return nil, errors.New("anvil exited at start")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("anvil at %s does not answer: %w", a.url, err)
		}
	}
}

func (a *anvil) stop() {
	a.cmd.Process.Kill()
	<-a.done
}

// rpcBlocks turns a node's JSON-RPC into the chain events runLoad watches,
// polling for new blocks every 2 ms: how a chain that is not in this process
// is watched.
type rpcBlocks struct {
	url string
}

func (r rpcBlocks) SubscribeChainEvent(ch chan<- core.ChainEvent) event.Subscription {
	return event.NewSubscription(func(quit <-chan struct{}) error {
		c, err := ethclient.Dial(r.url)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		go func() { <-quit; once.Do(cancel) }()
		next, err := c.BlockNumber(ctx)
		if err != nil {
			return err
		}
		next++
		for {
			b, err := c.BlockByNumber(ctx, new(big.Int).SetUint64(next))
			switch {
			case err == nil:
				select {
				case ch <- core.ChainEvent{Header: b.Header(), Transactions: b.Transactions()}:
				case <-quit:
					return nil
				}
				next++
				continue
			case ctx.Err() != nil:
				return nil
			}
			select {
			case <-quit:
				return nil
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
}
