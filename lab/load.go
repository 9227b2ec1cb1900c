package lab

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/rpc"
)

// chainEvents is what runLoad watches for commits: a chain.Store in this
// process, or rpcBlocks polling a node's JSON-RPC.
type chainEvents interface {
	SubscribeChainEvent(ch chan<- core.ChainEvent) event.Subscription
}

// loadResult is what one load run saw of a chain committing transactions.
type loadResult struct {
	sent      int // transactions offered
	refused   int // answered with an error by eth_sendRawTransaction
	firstErr  error
	committed int // of those accepted
	start     time.Time
	sendDone  time.Time // the last send's answer
	last      time.Time
	latencies []time.Duration // send to commit, sorted
	blockAt   []time.Time     // commits of blocks during the run
}

// lost counts transactions that were accepted but never committed.
func (r *loadResult) lost() int { return r.sent - r.refused - r.committed }

func (r *loadResult) elapsed() time.Duration { return r.last.Sub(r.start) }

func (r *loadResult) tps() float64 { return float64(r.committed) / r.elapsed().Seconds() }

// intake is accepted sends per second, from the first send to the last
// answer.
func (r *loadResult) intake() float64 {
	return float64(r.sent-r.refused) / r.sendDone.Sub(r.start).Seconds()
}

func (r *loadResult) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)]
}

// longestGap is the longest interval between two blocks during the run.
func (r *loadResult) longestGap() time.Duration {
	var longest time.Duration
	for i := 1; i < len(r.blockAt); i++ {
		longest = max(longest, r.blockAt[i].Sub(r.blockAt[i-1]))
	}
	return longest
}

// blockInterval is the number of blocks during the run and their mean
// interval.
func (r *loadResult) blockInterval() (int, time.Duration) {
	if len(r.blockAt) < 2 {
		return len(r.blockAt), 0
	}
	n := len(r.blockAt)
	return n, r.blockAt[n-1].Sub(r.blockAt[0]) / time.Duration(n-1)
}

// rpcBatch is how many transactions a client sends in one JSON-RPC batch
// when sending as fast as it can, as a wallet backend or a bundler would.
const rpcBatch = 50

// loadOptions shape a load run.
type loadOptions struct {
	clients int // concurrent connections, spread over the URLs
	// rate is the offered transactions/s overall, one per request; 0 sends
	// as fast as accepted, batch per request (rpcBatch when 0).
	rate  int
	batch int
	// settle bounds the wait for commits after the last send; what is not
	// committed by then is counted lost. 0 waits as long as ctx allows and
	// fails if ctx ends first.
	settle time.Duration
}

// runLoad sends signed transactions through JSON-RPC, each connection its
// share (every clients-th transaction) in order, and waits until watch has
// committed every accepted one, timing each from send to commit. Refusals
// are counted, not fatal: a load that bots and wallets send must meet none.
func runLoad(ctx context.Context, watch chainEvents, urls []string, o loadOptions, txs []*types.Transaction) (*loadResult, error) {
	var (
		mu     sync.Mutex
		sentAt = make(map[common.Hash]time.Time, len(txs))
		res    = &loadResult{sent: len(txs)}
		commit = make(chan struct{}, 1)
	)
	events := make(chan core.ChainEvent, 1024)
	sub := watch.SubscribeChainEvent(events)
	defer sub.Unsubscribe()
	go func() {
		for ev := range events {
			now := time.Now()
			mu.Lock()
			if !res.start.IsZero() {
				res.blockAt = append(res.blockAt, now)
			}
			for _, tx := range ev.Transactions {
				if t0, ok := sentAt[tx.Hash()]; ok {
					delete(sentAt, tx.Hash())
					res.latencies = append(res.latencies, now.Sub(t0))
					res.committed++
				}
			}
			res.last = now
			mu.Unlock()
			select {
			case commit <- struct{}{}:
			default:
			}
		}
	}()
	conns := make([]*rpc.Client, o.clients)
	for i := range conns {
		c, err := rpc.Dial(urls[i%len(urls)])
		if err != nil {
			return nil, err
		}
		defer c.Close()
		conns[i] = c
	}
	// Encode every transaction up front, so the sending loop measures the
	// node rather than the load generator.
	encoded := make(map[common.Hash]string, len(txs))
	for _, tx := range txs {
		raw, _ := tx.MarshalBinary()
		encoded[tx.Hash()] = hexutil.Encode(raw)
	}
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Second * time.Duration(o.clients) / time.Duration(o.rate)
	}
	mu.Lock()
	res.start = time.Now()
	mu.Unlock()
	var (
		wg      sync.WaitGroup
		sendErr error
	)
	for ci, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now()
			var mine []*types.Transaction
			for i := ci; i < len(txs); i += len(conns) {
				mine = append(mine, txs[i])
			}
			for len(mine) > 0 {
				n := min(len(mine), cmp.Or(o.batch, rpcBatch))
				if interval > 0 {
					n = 1
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					next = next.Add(interval)
				}
				part := mine[:n]
				mine = mine[n:]
				reqs := make([]rpc.BatchElem, n)
				hashes := make([]common.Hash, n)
				for j, tx := range part {
					reqs[j] = rpc.BatchElem{Method: "eth_sendRawTransaction", Args: []any{encoded[tx.Hash()]}, Result: &hashes[j]}
				}
				now := time.Now()
				mu.Lock()
				for _, tx := range part {
					sentAt[tx.Hash()] = now
				}
				mu.Unlock()
				if err := c.BatchCallContext(ctx, reqs); err != nil {
					mu.Lock()
					sendErr = fmt.Errorf("send: %w", err)
					mu.Unlock()
					return
				}
				mu.Lock()
				for j, r := range reqs {
					if r.Error != nil {
						res.refused++
						if res.firstErr == nil {
							res.firstErr = r.Error
						}
						delete(sentAt, part[j].Hash())
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sendErr != nil {
		return nil, sendErr
	}
	mu.Lock()
	res.sendDone = time.Now()
	mu.Unlock()
	var deadline <-chan time.Time
	if o.settle > 0 {
		deadline = time.After(o.settle)
	}
	for {
		mu.Lock()
		waiting := len(sentAt)
		mu.Unlock()
		if waiting == 0 {
			break
		}
		select {
		case <-commit:
			continue
		case <-deadline:
		case <-ctx.Done():
			if o.settle == 0 {
				return nil, fmt.Errorf("waiting for commits: %w (%d accepted transactions not committed)", ctx.Err(), waiting)
			}
		}
		break
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(res.latencies)
	return res, nil
}

// outputs defaults a run's report writer and node log to discarding.
func outputs(out io.Writer, log *slog.Logger) (io.Writer, *slog.Logger) {
	if out == nil {
		out = io.Discard
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return out, log
}

// workDir returns dir, or a fresh temporary directory that cleanup removes.
func workDir(dir, prefix string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}
