package lab

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
)

// Observed is a cell holding what an experiment of this run saw, in words.
const Observed = "observed"

// haltWait is how long each layer is given to answer with the L1 halted.
const haltWait = 3 * time.Second

// dependency halts the L1 (two of its four validators stopped: half the
// power, more than the third that stops CometBFT), records what still
// works on each layer, restarts them, and times each layer's recovery.
func (r *compareRun) dependency(ctx context.Context) error {
	const g = "dependency"
	before, err := r.l1.BlockNumber(ctx)
	if err != nil {
		return err
	}
	r.d.L1.StopNode(2)
	r.d.L1.StopNode(3)
	// Wait until it really stopped: no new block for a second.
	last := before
	for stillFor := time.Now(); time.Since(stillFor) < time.Second; {
		n, err := r.l1.BlockNumber(ctx)
		if err != nil {
			return err
		}
		if n != last {
			last, stillFor = n, time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	try := func(c *ethclient.Client, key uint32, to byte) (time.Duration, *types.Receipt, error) {
		tctx, cancel := context.WithTimeout(ctx, haltWait)
		defer cancel()
		lat, rc, _, err := sendTimed(tctx, c, chain.DevKey(key), common.Address{0xd0, to}, big.NewInt(1e12))
		return lat, rc, err
	}
	how := fmt.Sprintf("validators 2 and 3 of 4 stopped (half the power), then one transfer on each layer, given %s", haltWait)
	set := func(layer, text string) {
		r.report.set(g, "with the L1 halted", layer, Cell{Value: text, Kind: Observed, Method: how})
	}
	// The L1 itself: the transfer waits in the mempool.
	if _, _, err := try(r.l1, 7, 1); err == nil {
		set(LayerL1, "not halted: a block came")
	} else {
		set(LayerL1, "halted: no block, the transfer waits in the mempool")
	}
	seq, err := ethclient.DialContext(ctx, r.d.Rollup.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	var seqBlock uint64
	if lat, rc, err := try(seq, 8, 2); err == nil {
		seqBlock = rc.BlockNumber.Uint64()
		set(LayerOptimistic, fmt.Sprintf("soft confirmations go on (%s); nothing reaches L1", lat.Round(time.Millisecond)))
	} else {
		set(LayerOptimistic, "stopped: "+shortErr(err))
	}
	zkFrom := uint64(0)
	if u := r.zkUser; u != nil {
		zkFrom = u.nonce
		tctx, cancel := context.WithTimeout(ctx, haltWait)
		lat, err := u.send(tctx)
		cancel()
		if err == nil {
			set(LayerZK, fmt.Sprintf("the operator answers (%s); nothing is verified", lat.Round(time.Millisecond)))
		} else {
			set(LayerZK, "stopped: "+shortErr(err))
		}
	}
	ch := r.d.Channels
	if len(ch.Nodes) > 2 {
		tctx, cancel := context.WithTimeout(ctx, haltWait)
		start := time.Now()
		err := ch.Nodes[1].Send(tctx, ch.Nodes[2].Address(), big.NewInt(1e12)) // channel 5–6: 4–5 was closed
		cancel()
		if err == nil {
			set(LayerChannels, fmt.Sprintf("payments go on (%s); no close or dispute can land", time.Since(start).Round(time.Millisecond)))
		} else {
			set(LayerChannels, "stopped: "+shortErr(err))
		}
	}
	sc, err := ethclient.DialContext(ctx, r.d.Sidechain.RPC(0))
	if err != nil {
		return err
	}
	defer sc.Close()
	if lat, _, err := try(sc, 9, 3); err == nil {
		set(LayerSidechain, fmt.Sprintf("transfers go on (%s); the bridges wait", lat.Round(time.Millisecond)))
	} else {
		set(LayerSidechain, "stopped: "+shortErr(err))
	}

	// Restart, and time each layer back to where it was.
	if err := r.d.L1.StartNode(2); err != nil {
		return err
	}
	if err := r.d.L1.StartNode(3); err != nil {
		return err
	}
	restarted := time.Now()
	recovered := map[string]time.Duration{}
	deadline := restarted.Add(3 * time.Minute)
	for len(recovered) < 3 && time.Now().Before(deadline) {
		now := time.Since(restarted)
		if _, ok := recovered[LayerL1]; !ok {
			if n, err := r.l1.BlockNumber(ctx); err == nil && n > last {
				recovered[LayerL1] = now
			}
		}
		if _, ok := recovered[LayerOptimistic]; !ok && seqBlock > 0 {
			ver, err := ethclient.DialContext(ctx, r.d.Rollup.Verifier.RPCURL())
			if err == nil {
				if h, err := ver.HeaderByNumber(ctx, big.NewInt(int64(gethrpc.SafeBlockNumber))); err == nil && h.Number.Uint64() >= seqBlock {
					recovered[LayerOptimistic] = now
				}
				ver.Close()
			}
		}
		if _, ok := recovered[LayerZK]; !ok && r.zkUser != nil {
			if a, err := r.zkUser.op.Account(ctx, r.zkUser.from); err == nil && uint64(a.VerifiedNonce) > zkFrom {
				recovered[LayerZK] = now
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for layer, what := range map[string]string{LayerL1: "until the L1 makes a block again", LayerOptimistic: "until the transfer made during the halt is safe (its batch on L1)",
		LayerZK: "until the transfer made during the halt is verified on L1"} {
		d, ok := recovered[layer]
		if !ok {
			r.report.set(g, "recovery after the L1 restarts", layer, Cell{Value: "not within 3 minutes", Kind: Observed, Method: what})
			continue
		}
		r.report.set(g, "recovery after the L1 restarts", layer, Cell{Value: float64(d.Milliseconds()) / 1000, Unit: "s", Kind: Measured,
			Method: "from restarting the two validators " + what})
	}
	r.report.notApply(g, "recovery after the L1 restarts", LayerChannels, "payments never stopped; closes and disputes land once the L1 is back")
	r.report.notApply(g, "recovery after the L1 restarts", LayerSidechain, "the sidechain never stopped; its bridges resume with the L1")
	return nil
}
