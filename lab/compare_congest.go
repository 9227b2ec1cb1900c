package lab

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/cairn-dev/cairn/chain"
)

// The comparison's congestion run: background transactions that burn
// more gas than the L1's target drive its base fee up to a plateau, while
// one transfer on each layer every tick records what its user pays.

// FeePoint is one tick of the congestion run.
type FeePoint struct {
	At      float64            `json:"atS"`         // seconds since the run began
	BaseFee float64            `json:"baseFeeGwei"` // the L1's, at the tick
	Fees    map[string]float64 `json:"feesGwei"`    // what one transfer paid, by layer
}

// Congestion is the run behind the congested fee rows and their plot.
type Congestion struct {
	Points []FeePoint `json:"points"`
	// On and Off are when the burning began and stopped, in seconds.
	On  float64 `json:"onS"`
	Off float64 `json:"offS"`
	// Target is the base fee the burning aimed for, in gwei.
	Target float64 `json:"targetGwei"`
	Burned int     `json:"burnerTxs"` // transactions that burned gas
}

// congestTarget is the L1 base fee the burning holds: a busy day's on
// Ethereum.
const congestTarget = 20 * params.GWei

// burnerGas is what each burning transaction is given and burns: an
// INVALID opcode as its init code uses all of it at no cost to execute.
// Under EIP-7825's cap of 2^24 a transaction.
const burnerGas = 15_000_000

// congestion runs idle, burning and relaxing phases and samples fees.
func (r *compareRun) congestion(ctx context.Context) error {
	// From the devnet's idle base fee of a few wei, full blocks take about
	// 200 to reach the target.
	idle, burn, relax, tick := 2*time.Second, 25*time.Second, 5*time.Second, 400*time.Millisecond
	if r.cfg.Quick {
		idle, burn, relax = time.Second, 14*time.Second, 2*time.Second
	}
	seq, err := ethclient.DialContext(ctx, r.d.Rollup.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	sc, err := ethclient.DialContext(ctx, r.d.Sidechain.RPC(0))
	if err != nil {
		return err
	}
	defer sc.Close()
	burners := make([]*ecdsa.PrivateKey, 4)
	for i := range burners {
		burners[i] = freshKey()
	}
	if err := fund(ctx, r.l1, loadFunder, burners, new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))); err != nil {
		return fmt.Errorf("fund the burners: %w", err)
	}
	var zkBatches uint64
	if r.zkUser != nil {
		st, err := r.zkUser.op.Status(ctx)
		if err != nil {
			return err
		}
		zkBatches = uint64(st.Batches)
	}
	c := &Congestion{Target: gweiF(big.NewInt(congestTarget))}
	start := time.Now()
	burnCtx, stopBurning := context.WithCancel(ctx)
	defer stopBurning()
	var (
		wg     sync.WaitGroup
		burnEr error
	)
	// The burning lasts burn, and on until a ZK transfer sent in the
	// plateau is verified on L1: up to 90 s more, for a loaded machine's
	// L1, whose slower blocks take longer to climb to the plateau.
	zkSent, zkDone := r.zkUser == nil, r.zkUser == nil
	for next := start; c.Off == 0 || time.Since(start).Seconds() < c.Off+relax.Seconds(); next = next.Add(tick) {
		if err := sleep(ctx, time.Until(next)); err != nil {
			return err
		}
		at := time.Since(start)
		if at >= idle && c.On == 0 {
			c.On = at.Seconds()
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Burned, burnEr = burnGas(burnCtx, r.l1, burners)
			}()
		}
		if zkSent && !zkDone {
			if st, err := r.zkUser.op.Status(ctx); err == nil && st.Pending == 0 && st.Verified >= st.Batches {
				zkDone = true
			}
		}
		if c.Off == 0 && (at >= idle+burn && zkDone || at >= idle+burn+90*time.Second) {
			c.Off = at.Seconds()
			stopBurning()
			wg.Wait()
			if burnEr != nil {
				return fmt.Errorf("burn gas: %w", burnEr)
			}
		}
		p := FeePoint{At: at.Seconds(), Fees: map[string]float64{}}
		if h, err := r.l1.HeaderByNumber(ctx, nil); err == nil {
			p.BaseFee = gweiF(h.BaseFee)
		}
		if _, rc, _, err := sendTimed(ctx, r.l1, chain.DevKey(7), common.Address{0xe0}, big.NewInt(1e12)); err == nil {
			p.Fees[LayerL1] = gweiF(feeOf(rc))
		}
		if _, rc, _, err := sendTimed(ctx, seq, chain.DevKey(8), common.Address{0xe1}, big.NewInt(1e12)); err == nil {
			p.Fees[LayerOptimistic] = gweiF(l2Fee(ctx, seq, rc))
		}
		if _, rc, _, err := sendTimed(ctx, sc, chain.DevKey(9), common.Address{0xe2}, big.NewInt(1e12)); err == nil {
			p.Fees[LayerSidechain] = gweiF(feeOf(rc))
		}
		if err := r.d.Channels.Nodes[1].Send(ctx, r.d.Channels.Nodes[2].Address(), big.NewInt(1e9)); err == nil {
			p.Fees[LayerChannels] = 0
		}
		// The ZK rollup's fee is its batch's L1 cost when posted, so it
		// sends only in the plateau (every fifth tick): its prover, busy,
		// would slow the L1's rise.
		if r.zkUser != nil && len(c.Points)%5 == 0 && p.BaseFee >= c.Target/2 && c.Off == 0 {
			if _, err := r.zkUser.send(ctx); err != nil {
				return fmt.Errorf("zk transfer: %w", err)
			}
			zkSent, zkDone = true, false
		}
		c.Points = append(c.Points, p)
	}
	if r.zkUser != nil {
		if err := r.zkFees(ctx, c, start, zkBatches); err != nil {
			return fmt.Errorf("zk fees: %w", err)
		}
	}
	r.report.Congestion = c
	r.fillCongestion(c)
	return nil
}

// burnGas keeps the L1's blocks over their gas target until ctx ends:
// whenever the base fee is under congestTarget it keeps each burner two
// transactions ahead of the chain (four fill a block's 60M limit, twice
// its 30M target: the base fee's fastest rise, 12.5% a block), and waits
// for the next block. They tip 1 wei, so the measured transfers, tipping
// 1 gwei, go first and displace one. It returns how many it sent.
func burnGas(ctx context.Context, c *ethclient.Client, keys []*ecdsa.PrivateKey) (int, error) {
	id, err := c.ChainID(ctx)
	if err != nil {
		return 0, err
	}
	signer := types.LatestSignerForChainID(id)
	addrs := make([]common.Address, len(keys))
	next := make([]uint64, len(keys))
	for i, k := range keys {
		addrs[i] = crypto.PubkeyToAddress(k.PublicKey)
		if next[i], err = c.PendingNonceAt(ctx, addrs[i]); err != nil {
			return 0, err
		}
	}
	sent, last := 0, uint64(math.MaxUint64)
	for ctx.Err() == nil {
		h, err := c.HeaderByNumber(ctx, nil)
		if err != nil {
			break
		}
		if h.Number.Uint64() == last {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		last = h.Number.Uint64()
		if h.BaseFee.Cmp(big.NewInt(congestTarget)) >= 0 {
			continue
		}
		for i, k := range keys {
			done, err := c.NonceAt(ctx, addrs[i], nil)
			if err != nil {
				break
			}
			for next[i] < done+2 {
				// Priced to stay includable up to twice the target:
				// sending stops at the target, so none is left waiting.
				tx := types.MustSignNewTx(k, signer, &types.DynamicFeeTx{ChainID: id, Nonce: max(next[i], done), Gas: burnerGas, Data: []byte{0xfe},
					GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(2 * congestTarget)})
				if err := c.SendTransaction(ctx, tx); err != nil {
					// The pool holds what it holds: go on from the next block.
					next[i] = done + 2
					break
				}
				next[i] = max(next[i], done) + 1
				sent++
			}
		}
	}
	return sent, nil
}

// zkFees adds to c what the ZK rollup's batches sealed since batch from
// cost L1 a transfer: each batch's verified transaction's fee ÷ its ops,
// at its block's time. It waits for every batch to be verified.
func (r *compareRun) zkFees(ctx context.Context, c *Congestion, start time.Time, from uint64) error {
	u := r.zkUser
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		st, err := u.op.Status(wctx)
		if err != nil {
			return err
		}
		if st.Pending == 0 && st.Verified >= st.Batches {
			break
		}
		if err := sleep(wctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the ZK rollup's batches never verified: %w", err)
		}
	}
	st, err := u.op.Status(ctx)
	if err != nil {
		return err
	}
	for i := from; i < uint64(st.Batches); i++ {
		b, err := u.op.Batch(ctx, i)
		if err != nil {
			return err
		}
		if b.Ops == 0 || b.Tx == (common.Hash{}) {
			continue
		}
		rc, err := r.l1.TransactionReceipt(ctx, b.Tx)
		if err != nil {
			return err
		}
		h, err := r.l1.HeaderByNumber(ctx, rc.BlockNumber)
		if err != nil {
			return err
		}
		at := time.Unix(int64(h.Time), 0).Sub(start).Seconds()
		fee := gweiF(feeOf(rc)) / float64(b.Ops)
		c.Points = append(c.Points, FeePoint{At: at, BaseFee: gweiF(h.BaseFee), Fees: map[string]float64{LayerZK: fee}})
	}
	return nil
}

// congested reports whether p is in the plateau: burning, and the base fee
// at least half the target.
func (c *Congestion) congested(p FeePoint) bool {
	return p.At >= c.On && p.At <= c.Off && p.BaseFee >= c.Target/2
}

// fillCongestion writes the congested fee rows: each layer's mean fee
// over the plateau's points, and its ratio to the L1's.
func (r *compareRun) fillCongestion(c *Congestion) {
	const g = "fees"
	mean := func(layer string, in func(FeePoint) bool) (float64, int) {
		sum, n := 0.0, 0
		for _, p := range c.Points {
			if v, ok := p.Fees[layer]; ok && in(p) {
				sum, n = sum+v, n+1
			}
		}
		if n == 0 {
			return 0, 0
		}
		return sum / float64(n), n
	}
	baseSum, baseN := 0.0, 0
	for _, p := range c.Points {
		if c.congested(p) {
			baseSum, baseN = baseSum+p.BaseFee, baseN+1
		}
	}
	how := fmt.Sprintf("transactions burning %d gas each (four a block, twice the 30M target) from %.1f s to %.1f s of the run, sent while the L1 base fee was under %.0f gwei (%d sent); ", burnerGas, c.On, c.Off, c.Target, c.Burned)
	if baseN > 0 {
		r.report.set(g, "the L1's base fee, congested", LayerL1, Cell{Value: baseSum / float64(baseN), Unit: "gwei", Kind: Measured,
			Method: how + "the mean base fee over the ticks at half the target or more"})
	} else {
		r.report.notApply(g, "the L1's base fee, congested", LayerL1, how+"the base fee never reached half the target")
	}
	for _, l := range CompareLayers {
		if l.Key != LayerL1 {
			r.report.notApply(g, "the L1's base fee, congested", l.Key, "the L1's figure")
		}
	}
	l1, _ := mean(LayerL1, c.congested)
	for _, l := range CompareLayers {
		in, what := c.congested, "one transfer every tick while the base fee was at half the target or more: the mean of what each paid"
		switch l.Key {
		case LayerZK:
			in = func(p FeePoint) bool { return p.BaseFee >= c.Target/2 }
			what = "each batch verified on L1 while the base fee was at half the target or more (one transfer sent every tick): its transaction's fee ÷ its ops"
		case LayerOptimistic:
			what += " (L2 gas and the L1 data fee, priced at the sequencer's L1 origin's base fee: the OP Stack's Bedrock rule, though the batcher posts blobs)"
		case LayerSidechain:
			what += " (gas on the sidechain, whose own fee market the L1's congestion does not reach)"
		case LayerChannels:
			what = "a direct payment every tick pays no fee; an open or a close pays the L1's price"
		}
		v, n := mean(l.Key, in)
		if n == 0 {
			r.report.notApply(g, "fee per transfer, L1 congested", l.Key, "no transfer was measured in the plateau")
			r.report.notApply(g, "fee ÷ the L1's, L1 congested", l.Key, "no transfer was measured in the plateau")
			continue
		}
		r.report.set(g, "fee per transfer, L1 congested", l.Key, Cell{Value: v, Unit: "gwei", Kind: Measured, Method: how + what})
		if l1 > 0 {
			r.report.set(g, "fee ÷ the L1's, L1 congested", l.Key, Cell{Value: v / l1, Unit: "×", Kind: Measured, Method: "this layer's mean congested fee ÷ the L1's, same run"})
		}
	}
}

// congestionPlot draws the L1 base fee and each layer's fee per transfer
// over the congestion run (log), with the burning shaded by its bounds.
func (r *Report) congestionPlot() (*plot.Plot, error) {
	c := r.Congestion
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Fee per transfer while the L1 is congested (burning from %.0f s to %.0f s)", c.On, c.Off)
	p.X.Label.Text = "seconds into the run"
	p.Y.Label.Text = "gwei (log)"
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plainTicks{plot.LogTicks{Prec: -1}}
	var base plotter.XYs
	for _, pt := range c.Points {
		if pt.BaseFee > 0 && pt.Fees[LayerZK] == 0 {
			base = append(base, plotter.XY{X: pt.At, Y: pt.BaseFee})
		}
	}
	if len(base) > 0 {
		l, err := plotter.NewLine(base)
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
		p.Legend.Add("L1 base fee", l)
	}
	for i, layer := range []string{LayerL1, LayerOptimistic, LayerZK, LayerSidechain} {
		var pts plotter.XYs
		for _, pt := range c.Points {
			if v, ok := pt.Fees[layer]; ok && v > 0 {
				pts = append(pts, plotter.XY{X: pt.At, Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		s.Color, s.Shape = plotutil.Color(i+1), plotutil.Shape(i)
		p.Add(s)
		p.Legend.Add(layerName(layer), s)
	}
	// The devnet's idle base fee is a few wei: the axis starts at a
	// thousandth of a gwei, where the rise begins to matter.
	p.Y.Min = 1e-3
	p.Legend.Left = true
	return p, nil
}

// plainTicks labels a log axis's ticks as the table writes numbers.
type plainTicks struct{ plot.Ticker }

func (t plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := t.Ticker.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = formatNumber(ts[i].Value)
		}
	}
	return ts
}
