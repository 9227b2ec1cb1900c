package lab

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/zkrollup"
)

// The comparison's scalability rows: each layer's soft-confirmed
// throughput under rising offered load (a curve), the highest rate it
// sustains with its soft confirmation's p99 under one second, and the data
// ceiling its L1 bytes per transfer imply.

// LoadStep is one layer's run at one offered rate.
type LoadStep struct {
	Offered   int     `json:"offered"`   // transfers/s asked for, one per request
	Sent      int     `json:"sent"`      // transfers sent
	Committed float64 `json:"committed"` // soft-confirmed transfers/s, first send to last confirmation
	Refused   int     `json:"refused"`   // answered with an error
	Lost      int     `json:"lost"`      // accepted, never confirmed within the settle time
	P50       float64 `json:"p50ms"`     // send to soft confirmation
	P99       float64 `json:"p99ms"`
	// BlockGap is the mean interval between the layer's blocks during the
	// step, in ms; 0 where the layer has no blocks of its own to count.
	BlockGap float64 `json:"blockGapMs,omitempty"`
	Error    string  `json:"firstError,omitempty"` // the first refusal's
	// Sustained: nothing refused or lost, p99 under one second, and at
	// least 90% of the offered rate confirmed.
	Sustained bool `json:"sustained"`
}

func (s *LoadStep) judge() {
	s.Sustained = s.Refused == 0 && s.Lost == 0 && s.P99 < 1000 && s.Committed >= 0.9*float64(s.Offered)
}

// LoadCurve is one layer's steps, in rising offered rate.
type LoadCurve struct {
	Layer  string     `json:"layer"`
	Method string     `json:"method"`
	Steps  []LoadStep `json:"steps"`
}

// sustained is the highest offered rate the layer sustained, and whether
// the curve stopped because a step failed (false: the top rate passed, so
// the layer may sustain more).
func (c *LoadCurve) sustained() (rate int, capped bool) {
	for _, s := range c.Steps {
		if !s.Sustained {
			return rate, true
		}
		rate = s.Offered
	}
	return rate, false
}

// confirmedRate is n confirmations over a step whose first send to last
// confirmation took span, less the median latency: a layer that keeps up
// confirms its last send about one latency after it, so this is the rate
// it kept, not the rate diluted by one latency at the end of a short step.
func confirmedRate(n int, span, median time.Duration) float64 {
	return float64(n) / max(span-median, time.Millisecond).Seconds()
}

// loadRates are the offered rates each layer is stepped through, and how
// long each step sends.
func (r *compareRun) loadRates() ([]int, time.Duration) {
	if r.cfg.Quick {
		return []int{50, 200, 800}, time.Second
	}
	return []int{50, 200, 500, 1000, 2000, 4000}, 2 * time.Second
}

// stepper runs one layer at one rate for d.
type stepper func(ctx context.Context, rate int, d time.Duration) (LoadStep, error)

// throughput steps every layer through the rising rates, stopping a
// layer's curve at its first step that is not sustained. The ZK rollup
// goes last: its prover's work after a load would slow what follows.
func (r *compareRun) throughput(ctx context.Context) error {
	rates, d := r.loadRates()
	type layer struct {
		key, how string
		setup    func(context.Context) (stepper, func(), error)
	}
	evm := func(url string, watch chainEvents) func(context.Context) (stepper, func(), error) {
		return func(ctx context.Context) (stepper, func(), error) { return r.evmStepper(ctx, url, watch) }
	}
	layers := []layer{
		{LayerL1, "signed transfers from 64 funded senders over 16 connections, one eth_sendRawTransaction a request, paced to the rate; a transfer is confirmed when a block holding it is committed (watched in process)",
			evm(r.d.L1RPC(0), r.d.L1.Node(0).Chain())},
		{LayerSidechain, "the L1's workload sent to the sidechain; confirmed when a committed sidechain block holds it",
			evm(r.d.Sidechain.RPC(0), r.d.Sidechain.Cluster.Node(0).Chain())},
		{LayerOptimistic, "the same workload sent to the sequencer; confirmed when the sequencer's block holds it (its soft confirmation)",
			evm(r.d.Rollup.Sequencer.RPCURL(), r.d.Rollup.Sequencer.Chain())},
		{LayerChannels, "direct payments over one open channel, each launched at the rate; confirmed when both parties signed the new state",
			r.channelStepper},
		{LayerZK, "signed zk_transfer ops from 8 registered accounts, each its own stream, paced to the rate; confirmed by the operator's answer",
			r.zkStepper},
	}
	for _, l := range layers {
		step, done, err := l.setup(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", l.key, err)
		}
		curve := LoadCurve{Layer: l.key, Method: l.how}
		for _, rate := range rates {
			r.say("  %s at %d transfers/s", l.key, rate)
			s, err := step(ctx, rate, d)
			if err != nil {
				done()
				return fmt.Errorf("%s at %d/s: %w", l.key, rate, err)
			}
			s.Offered = rate
			s.judge()
			curve.Steps = append(curve.Steps, s)
			if !s.Sustained {
				break
			}
			if err := sleep(ctx, 300*time.Millisecond); err != nil { // let the layer drain
				done()
				return err
			}
		}
		done()
		r.report.Throughput = append(r.report.Throughput, curve)
	}
	r.fillThroughput()
	return nil
}

// loadFunder funds the load's senders on every EVM layer: an account no
// wing and no other measurement sends from.
var loadFunder = chain.DevKey(1)

// evmStepper funds 64 fresh senders on the chain behind url and returns a
// stepper that signs each step's transfers on from their last nonces.
func (r *compareRun) evmStepper(ctx context.Context, url string, watch chainEvents) (stepper, func(), error) {
	c, err := ethclient.DialContext(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	id, err := c.ChainID(ctx)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	keys := make([]*ecdsa.PrivateKey, 64)
	for i := range keys {
		keys[i] = freshKey()
	}
	if err := fund(ctx, c, loadFunder, keys, new(big.Int).Mul(big.NewInt(5), big.NewInt(params.Ether))); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("fund the senders: %w", err)
	}
	nonces := make([]uint64, len(keys))
	signer := types.LatestSignerForChainID(id)
	step := func(ctx context.Context, rate int, d time.Duration) (LoadStep, error) {
		total := int(float64(rate) * d.Seconds())
		txs := make([]*types.Transaction, total)
		for i := range txs {
			k := i % len(keys)
			to := common.BytesToAddress(crypto.Keccak256([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(rate)})[:20])
			txs[i] = types.MustSignNewTx(keys[k], signer, &types.DynamicFeeTx{
				ChainID: id, Nonce: nonces[k], Gas: 21000, To: &to, Value: big.NewInt(1),
				GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei),
			})
			nonces[k]++
		}
		res, err := runLoad(ctx, watch, []string{url}, loadOptions{clients: 16, rate: rate, settle: 10 * time.Second}, txs)
		if err != nil {
			return LoadStep{}, err
		}
		_, gap := res.blockInterval()
		s := LoadStep{Sent: res.sent, Committed: confirmedRate(res.committed, res.last.Sub(res.start), res.percentile(50)), Refused: res.refused, Lost: res.lost(),
			P50: ms(res.percentile(50)), P99: ms(res.percentile(99)), BlockGap: ms(gap)}
		if res.firstErr != nil {
			s.Error = res.firstErr.Error()
		}
		return s, nil
	}
	return step, c.Close, nil
}

// fund sends each key wei from funder, in one run of nonces, and waits for
// the last (the same sender's, so every one before it is in too).
func fund(ctx context.Context, c *ethclient.Client, funder *ecdsa.PrivateKey, keys []*ecdsa.PrivateKey, wei *big.Int) error {
	id, err := c.ChainID(ctx)
	if err != nil {
		return err
	}
	from := crypto.PubkeyToAddress(funder.PublicKey)
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		return err
	}
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(4)), big.NewInt(params.GWei))
	signer := types.LatestSignerForChainID(id)
	var last *types.Transaction
	for i, k := range keys {
		to := crypto.PubkeyToAddress(k.PublicKey)
		tx := types.MustSignNewTx(funder, signer, &types.DynamicFeeTx{ChainID: id, Nonce: nonce + uint64(i), Gas: 21000, To: &to, Value: wei,
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: feeCap})
		if err := c.SendTransaction(ctx, tx); err != nil {
			return err
		}
		last = tx
	}
	if last == nil {
		return nil
	}
	// A minute: right after the congestion phase, on a machine running
	// other tests too, the layers may still be catching up.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = ethtx.WaitReceipt(wctx, c, last.Hash())
	return err
}

// pacedStep calls send rate times a second for d on streams goroutines
// (stream i makes the i-th, i+streams-th, ... call, in order) and times each
// from when it was due to its answer.
func pacedStep(ctx context.Context, rate int, d time.Duration, streams int, send func(ctx context.Context, stream int) error) (LoadStep, error) {
	total := int(float64(rate) * d.Seconds())
	interval := time.Second * time.Duration(streams) / time.Duration(rate)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		refused  int
		firstErr error
		last     time.Time
		wg       sync.WaitGroup
	)
	start := time.Now()
	for s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(interval * time.Duration(s) / time.Duration(streams))
			for i := s; i < total; i += streams {
				// Timed from when the call was due, not when it went:
				// a stream that fell behind counts its wait.
				t0 := next
				if w := time.Until(next); w > 0 {
					time.Sleep(w)
				}
				next = next.Add(interval)
				err := send(ctx, s)
				now := time.Now()
				mu.Lock()
				if err != nil {
					refused++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					lat = append(lat, now.Sub(t0))
					last = now
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return LoadStep{}, err
	}
	if len(lat) == 0 {
		return LoadStep{}, fmt.Errorf("every send refused: %w", firstErr)
	}
	slices.Sort(lat)
	pct := func(p int) float64 { return ms(lat[min(len(lat)-1, len(lat)*p/100)]) }
	st := LoadStep{Sent: total, Committed: confirmedRate(len(lat), last.Sub(start), lat[len(lat)/2]), Refused: refused, P50: pct(50), P99: pct(99)}
	if firstErr != nil {
		st.Error = firstErr.Error()
	}
	return st, nil
}

// zkStepper registers 8 fresh accounts with the ZK rollup (a deposit for
// each from L1, then its L2 key) and returns a stepper in which each sends
// its own transfers in nonce order.
func (r *compareRun) zkStepper(ctx context.Context) (stepper, func(), error) {
	u := r.zkUser
	if u == nil {
		return nil, nil, errors.New("the ZK rollup's user was never set up")
	}
	type sender struct {
		key   *ecdsa.PrivateKey
		index uint64
		nonce uint64
	}
	senders := make([]*sender, 8)
	for i := range senders {
		k := freshKey()
		data, _ := zkrollup.VerifierABI.Pack("deposit", crypto.PubkeyToAddress(k.PublicKey))
		if _, err := ethtx.Send(ctx, r.l1, loadFunder, zkrollup.VerifierAddress, big.NewInt(1e18), data, 0); err != nil {
			return nil, nil, fmt.Errorf("deposit: %w", err)
		}
		senders[i] = &sender{key: k}
	}
	for _, s := range senders {
		for {
			i, err := u.op.AccountIndex(ctx, crypto.PubkeyToAddress(s.key.PublicKey))
			if err == nil {
				s.index = i
				break
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return nil, nil, fmt.Errorf("the operator never saw a deposit: %w", err)
			}
		}
		reg := zkrollup.Op{Type: zkrollup.OpRegister, Account: s.index, Address: crypto.PubkeyToAddress(s.key.PublicKey), PubKey: zkrollup.PubKeyBytes(zkrollup.L2Key(s.key))}
		if err := reg.SignRegister(s.key, u.domain); err != nil {
			return nil, nil, err
		}
		if _, err := u.op.Send(ctx, &reg); err != nil {
			return nil, nil, fmt.Errorf("register: %w", err)
		}
		a, err := u.op.Account(ctx, s.index)
		if err != nil {
			return nil, nil, err
		}
		s.nonce = uint64(a.Nonce)
	}
	step := func(ctx context.Context, rate int, d time.Duration) (LoadStep, error) {
		return pacedStep(ctx, rate, d, len(senders), func(ctx context.Context, i int) error {
			s := senders[i]
			t := zkrollup.Op{Type: zkrollup.OpTransfer, Account: s.index, To: u.to, Amount: 1000, Nonce: s.nonce}
			if err := t.Sign(zkrollup.L2Key(s.key), u.domain); err != nil {
				return err
			}
			if _, err := u.op.Send(ctx, &t); err != nil {
				return err
			}
			s.nonce++
			return nil
		})
	}
	return step, func() {}, nil
}

// channelStepper pays over the channel network's second channel (the
// first is closed by the ladder): its first node to its second.
func (r *compareRun) channelStepper(ctx context.Context) (stepper, func(), error) {
	ch := r.d.Channels
	if len(ch.Nodes) < 3 {
		return nil, nil, errors.New("the channel network has fewer than 3 nodes")
	}
	from, to := ch.Nodes[1], ch.Nodes[2].Address()
	step := func(ctx context.Context, rate int, d time.Duration) (LoadStep, error) {
		// Each payment is its own stream: a payment launched while
		// another is in flight queues behind it in the channel.
		return pacedStep(ctx, rate, d, min(rate, 256), func(ctx context.Context, _ int) error {
			return from.Send(ctx, to, big.NewInt(1e9))
		})
	}
	return step, func() {}, nil
}

const scalability = "scalability"

// fillThroughput writes the curve's rows: the highest sustained rate, and
// the most confirmed at any rate offered.
func (r *compareRun) fillThroughput() {
	for _, c := range r.report.Throughput {
		rate, capped := c.sustained()
		top := 0.0
		for _, s := range c.Steps {
			top = max(top, s.Committed)
		}
		how := c.Method
		unit := "transfers/s"
		if !capped {
			unit = "transfers/s or more"
			how += "; every rate offered was sustained, so this is a floor"
		} else {
			last := c.Steps[len(c.Steps)-1]
			how += fmt.Sprintf("; at %d/s offered: %.0f/s confirmed, p99 %.0f ms, %d refused, %d lost", last.Offered, last.Committed, last.P99, last.Refused, last.Lost)
			if last.Error != "" {
				how += " (first refusal: " + last.Error + ")"
			}
		}
		r.report.set(scalability, "highest sustained transfers/s, soft p99 under 1 s", c.Layer, Cell{Value: float64(rate), Unit: unit, Kind: Measured,
			Method: "rising offered rates until one is not sustained (anything refused or lost, p99 ≥ 1 s, or under 90% confirmed): " + how})
		r.report.set(scalability, "most transfers/s confirmed at any rate offered", c.Layer, Cell{Value: top, Unit: "transfers/s", Kind: Measured, Method: c.Method})
	}
}

// fillCeilings writes the data ceiling each layer's L1 bytes per transfer
// imply: the L1's data bandwidth at its gas and blob targets, at the mean
// block interval the L1 kept under its highest sustained load, ÷ the bytes
// a transfer puts on L1.
func (r *compareRun) fillCeilings(head *types.Header, id *big.Int) {
	gap := 200.0 // the idle block interval, if no step counted blocks
	for _, c := range r.report.Throughput {
		if c.Layer != LayerL1 {
			continue
		}
		for _, s := range c.Steps {
			if s.BlockGap > 0 && (s.Sustained || gap == 200) {
				gap = s.BlockGap
			}
		}
	}
	perSec := 1000 / gap
	gasTarget := float64(head.GasLimit / 2)
	blobTarget := float64(eip4844.TargetBlobsPerBlock(chain.ChainConfig(id.Uint64()), head.Time))
	calldata := gasTarget / float64(params.TxDataNonZeroGasEIP2028) * perSec // bytes/s, all nonzero bytes
	blobs := blobTarget * params.BlobTxFieldElementsPerBlob * 32 * perSec
	bw := fmt.Sprintf("the L1's blocks %.0f ms apart (its mean under its highest sustained load), a gas target of %.0f gas and a blob target of %.0f blobs a block: %.2f MB/s of calldata, %.2f MB/s of blobs",
		gap, gasTarget, blobTarget, calldata/1e6, blobs/1e6)
	set := func(layer string, v float64, how string) {
		r.report.set(scalability, "data ceiling: L1 data bandwidth ÷ L1 bytes per transfer", layer, Cell{Value: v, Unit: "transfers/s", Kind: Measured, Method: bw + "; " + how})
	}
	set(LayerL1, gasTarget/float64(params.TxGas)*perSec, "the L1 itself: its gas target ÷ 21,000 gas a transfer, not bytes")
	if blobsMode := r.daBytes(rollup.DABlobs); blobsMode > 0 {
		set(LayerOptimistic, blobs/blobsMode, fmt.Sprintf("blobs (the devnet's mode) ÷ %.1f B a transfer, whole blobs counted, from the data-availability run's full batch", blobsMode))
	}
	if l := r.ladders[LayerZK]; l != nil && l.l1Bytes > 0 {
		set(LayerZK, calldata/(l.l1Bytes/1000), fmt.Sprintf("calldata ÷ %.1f B a transfer, batches and proofs counted, from the ladder's light load (fuller batches put fewer bytes a transfer)", l.l1Bytes/1000))
	}
	if l := r.ladders[LayerChannels]; l != nil && l.l1Bytes > 0 {
		set(LayerChannels, calldata/(l.l1Bytes/1000), fmt.Sprintf("calldata ÷ %.1f B a payment: the opens and closes over this run's payments (more payments a channel, fewer bytes each)", l.l1Bytes/1000))
	}
	r.report.notApply(scalability, "data ceiling: L1 data bandwidth ÷ L1 bytes per transfer", LayerSidechain, "its transfers put no bytes on L1; its own blocks bound it")
}

// throughputPlot draws each layer's confirmed rate against the offered
// rate, log on both axes, with the line where all offered is confirmed.
func (r *Report) throughputPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Throughput under rising offered load"
	p.X.Label.Text = "offered transfers/s (log)"
	p.Y.Label.Text = "soft-confirmed transfers/s (log)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{plot.LogTicks{Prec: -1}}, plainTicks{plot.LogTicks{Prec: -1}}
	lo, hi := math.Inf(1), 0.0
	for i, c := range r.Throughput {
		pts := make(plotter.XYs, 0, len(c.Steps))
		for _, s := range c.Steps {
			if s.Committed <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(s.Offered), Y: s.Committed})
			lo, hi = min(lo, float64(s.Offered), s.Committed), max(hi, float64(s.Offered), s.Committed)
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(layerName(c.Layer), line, points)
	}
	if hi > 0 {
		ideal, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
		if err != nil {
			return nil, err
		}
		ideal.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(ideal)
		p.Legend.Add("all offered confirmed", ideal)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// layerName is a layer key's column name.
func layerName(key string) string {
	for _, l := range CompareLayers {
		if l.Key == key {
			return l.Name
		}
	}
	return key
}

// daBytes is the data-availability run's L1 bytes per transfer in mode,
// or 0 when it did not run.
func (r *compareRun) daBytes(mode rollup.DA) float64 {
	for i := range r.report.DA {
		if c := &r.report.DA[i]; c.Mode == mode {
			return c.PerTransfer(float64(c.Bytes))
		}
	}
	return 0
}
