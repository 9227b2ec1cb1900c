package lab

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/sidechain"
	"github.com/cairn-dev/cairn/zkrollup"
)

// CompareConfig configures `cairn lab compare`.
type CompareConfig struct {
	Out      string    // where report.md, report.json, report.html and the plots go; "" writes none
	Quick    bool      // smaller workloads, for CI and tests
	Progress io.Writer // each phase as it starts; nil says nothing
	Log      *slog.Logger
}

// ladder is one layer's latencies from send: soft confirmation, inclusion
// on L1, hard finality. A nil rung does not apply (its reason says why).
type ladder struct {
	soft, inclusion, final []time.Duration
	softHow, inclHow, how  string
	noIncl, noFinal        string
	feeWei                 []*big.Int // per transfer, what its sender paid
	feeHow                 string
	l1Txs, l1Bytes         float64 // per 1,000 transfers
	footprintHow           string
	split                  *costSplit // nil: the layer pays L1 nothing for its transfers
}

// costSplit is what a layer's L1 transactions during its ladder cost, by
// what they were for; nil parts were not paid.
type costSplit struct {
	data, proofs, state *big.Int
	n                   int // the transfers they carried
	how                 string
}

// compareRun is one run's stack and what it measured.
type compareRun struct {
	cfg    CompareConfig
	d      *devnet.Devnet
	l1     *ethclient.Client
	n      int // transfers per layer
	report *Report
	began  time.Time
	zkUser *zkUser
	// ladders are each layer's latencies, fees and footprint.
	ladders map[string]*ladder
}

func (r *compareRun) say(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "%4.0fs  "+format+"\n", append([]any{time.Since(r.began).Seconds()}, args...)...)
	}
}

// RunCompare starts one fresh stack (the devnet: an L1 of 4 validators,
// the optimistic rollup, the ZK rollup, the payment-channel network, the
// sidechain with both bridges), runs the same workload on every layer
// (signed ETH transfers), then the attacks, and fills the table.
func RunCompare(ctx context.Context, cfg CompareConfig) (*Report, error) {
	start := time.Now()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	n, delay := 30, 30*time.Second
	if cfg.Quick {
		n, delay = 8, 3*time.Second
	}
	r := &compareRun{cfg: cfg, n: n, began: start, report: &Report{Date: time.Now(), Machine: thisMachine(), Quick: cfg.Quick}}
	for _, l := range CompareLayers {
		r.report.Layers = append(r.report.Layers, l.Key)
	}
	r.say("starting the stack: L1 (4 validators), optimistic rollup, ZK rollup, payment channels, sidechain with its bridges")
	d, err := devnet.Start(devnet.Config{Validators: 4, Log: cfg.Log, ExplorerPort: -1,
		Rollup: devnet.RollupOptions{RPCPort: 0}, ZK: devnet.ZKOptions{RPCPort: 0}, Channels: devnet.ChannelsOptions{RPCPort: 0},
		Sidechain: devnet.SidechainOptions{RPCPort: 0, WithdrawalDelay: delay}})
	if err != nil {
		return nil, fmt.Errorf("start the stack: %w", err)
	}
	defer d.Stop()
	r.d = d
	if r.l1, err = ethclient.DialContext(ctx, d.L1RPC(0)); err != nil {
		return nil, err
	}
	defer r.l1.Close()

	ladders := map[string]*ladder{}
	// The optimistic rollup's finality takes an output and its challenge
	// window: its watch runs while the other layers are measured.
	r.say("optimistic rollup: %d transfers to the sequencer, then watching L1 for their batches and outputs", n)
	opt, wait, err := r.optimistic(ctx)
	if err != nil {
		return nil, fmt.Errorf("optimistic rollup: %w", err)
	}
	steps := []struct {
		key  string
		what string
		run  func(context.Context) (*ladder, error)
	}{
		{LayerL1, "L1: transfers one at a time, each to its receipt", r.layer1},
		{LayerZK, "ZK rollup: deposits, a key registration, transfers, until their batch's proof verifies on L1", r.zk},
		{LayerChannels, "payment channels: payments over channel 4–5, then its cooperative close on L1", r.channels},
		{LayerSidechain, "sidechain: transfers, then a light-client bridge round trip", r.sidechain},
	}
	for _, s := range steps {
		r.say("%s", s.what)
		l, err := s.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.key, err)
		}
		ladders[s.key] = l
	}
	if err := wait(); err != nil {
		return nil, fmt.Errorf("optimistic rollup: %w", err)
	}
	ladders[LayerOptimistic] = opt
	r.ladders = ladders
	r.fillLadders(ladders)
	r.decentralization(ctx)
	// The L1's parameters, for the data ceilings once the L1 is gone.
	head, err := r.l1.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	id, err := r.l1.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	r.say("dependency: halting the L1 (2 of its 4 validators stopped), one transfer on each layer, then restarting it")
	if err := r.dependency(ctx); err != nil {
		return nil, fmt.Errorf("dependency: %w", err)
	}
	r.say("fees with the L1 congested: gas burning over its target drives its base fee up, one transfer on each layer every tick")
	if err := r.congestion(ctx); err != nil {
		return nil, fmt.Errorf("congestion: %w", err)
	}
	r.say("scalability: each layer at rising offered rates until one is not sustained")
	if err := r.throughput(ctx); err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	d.Stop()
	r.say("attacks, each on a fresh world of its own")
	r.attacks(ctx)
	r.say("data availability: the optimistic rollup's data in each mode, idle and with the L1 congested")
	if err := r.dataAvailability(ctx); err != nil {
		return nil, fmt.Errorf("data availability: %w", err)
	}
	r.fillCeilings(head, id)
	r.risks()
	r.declared()
	r.report.References = references
	r.report.Duration = time.Since(start).Round(time.Second).String()
	if cfg.Out != "" {
		if err := r.report.Write(cfg.Out); err != nil {
			return nil, err
		}
	}
	return r.report, nil
}

// sendTimed sends a transfer and polls every 2 ms for its receipt.
func sendTimed(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (time.Duration, *types.Receipt, int, error) {
	start := time.Now()
	tx, err := ethtx.Send(ctx, c, key, to, wei, nil, 21_000)
	if err != nil {
		return 0, nil, 0, err
	}
	raw, _ := tx.MarshalBinary()
	for {
		rc, err := c.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			return time.Since(start), rc, len(raw), nil
		}
		select {
		case <-ctx.Done():
			return 0, nil, 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func feeOf(rc *types.Receipt) *big.Int {
	fee := new(big.Int).Mul(new(big.Int).SetUint64(rc.GasUsed), rc.EffectiveGasPrice)
	if rc.BlobGasPrice != nil {
		fee.Add(fee, new(big.Int).Mul(new(big.Int).SetUint64(rc.BlobGasUsed), rc.BlobGasPrice))
	}
	return fee
}

func (r *compareRun) layer1(ctx context.Context) (*ladder, error) {
	l := &ladder{softHow: "eth_sendRawTransaction to its receipt, polled every 2 ms", how: "the same: a CometBFT block is final once committed",
		inclHow: "the same: the transaction is on L1", feeHow: "gas used × effective gas price", footprintHow: "one L1 transaction each, of its signed size"}
	bytes := 0
	for i := range r.n {
		lat, rc, size, err := sendTimed(ctx, r.l1, chain.DevKey(7), common.Address{0xc0, byte(i)}, big.NewInt(1e12))
		if err != nil {
			return nil, err
		}
		l.soft, l.inclusion, l.final = append(l.soft, lat), append(l.inclusion, lat), append(l.final, lat)
		l.feeWei = append(l.feeWei, feeOf(rc))
		bytes += size
	}
	l.l1Txs, l.l1Bytes = 1000, float64(bytes)*1000/float64(r.n)
	return l, nil
}

// optimistic sends the transfers and returns a wait that ends once every
// one is in a batch on L1 (the verifier's safe head past it) and under a
// final output (its challenge window over).
func (r *compareRun) optimistic(ctx context.Context) (*ladder, func() error, error) {
	seq, err := ethclient.DialContext(ctx, r.d.Rollup.Sequencer.RPCURL())
	if err != nil {
		return nil, nil, err
	}
	ver, err := ethclient.DialContext(ctx, r.d.Rollup.Verifier.RPCURL())
	if err != nil {
		seq.Close()
		return nil, nil, err
	}
	l := &ladder{softHow: "eth_sendRawTransaction to the sequencer's receipt, polled every 2 ms",
		inclHow: "until the verifier's safe head (derived from a batch on L1) covers its block",
		how:     fmt.Sprintf("until an output at or past its block is final on L1 (proposed every %d L2 blocks, then a %d s challenge window)", devnet.DefaultOutputInterval, rollup.DevFinalizationPeriod),
		feeHow:  "L2 gas × price, plus the L1 data fee the receipt charges (l1Fee)", footprintHow: "the batch inbox's and output oracle's L1 transactions from the first send until every transfer was final, their signed sizes and their blobs (131,072 bytes each, the devnet posting in blobs), ÷ the run's transfers: at this light load most batches carry empty blocks (under load a batch carries thousands: cairn lab rollup)"}
	startL1, err := r.l1.BlockNumber(ctx)
	if err != nil {
		return nil, nil, err
	}
	type pending struct {
		sent  time.Time
		block uint64
	}
	var txs []pending
	for i := range r.n {
		sent := time.Now()
		lat, rc, _, err := sendTimed(ctx, seq, chain.DevKey(8), common.Address{0xc1, byte(i)}, big.NewInt(1e12))
		if err != nil {
			seq.Close()
			ver.Close()
			return nil, nil, err
		}
		l.soft = append(l.soft, lat)
		l.feeWei = append(l.feeWei, l2Fee(ctx, seq, rc))
		txs = append(txs, pending{sent, rc.BlockNumber.Uint64()})
	}
	var (
		once sync.Once
		werr error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer seq.Close()
		defer ver.Close()
		view := rollup.L1View{C: r.l1}
		incl, fin := make([]time.Duration, len(txs)), make([]time.Duration, len(txs))
		deadline := time.Now().Add(3 * time.Minute)
		for {
			now := time.Now()
			safe, _ := ver.HeaderByNumber(ctx, big.NewInt(int64(gethrpc.SafeBlockNumber)))
			finalBlock := uint64(0)
			if outs, err := view.Outputs(ctx); err == nil {
				for i := len(outs) - 1; i >= 0; i-- {
					if ok, err := view.Final(ctx, outs[i].Index); err == nil && ok {
						finalBlock = outs[i].L2Block
						break
					}
				}
			}
			left := 0
			for i, p := range txs {
				if incl[i] == 0 && safe != nil && safe.Number.Uint64() >= p.block {
					incl[i] = now.Sub(p.sent)
				}
				if fin[i] == 0 && finalBlock >= p.block {
					fin[i] = now.Sub(p.sent)
				}
				if incl[i] == 0 || fin[i] == 0 {
					left++
				}
			}
			if left == 0 {
				break
			}
			if now.After(deadline) || ctx.Err() != nil {
				once.Do(func() { werr = fmt.Errorf("%d transfers not final after 3 minutes", left) })
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		l.inclusion, l.final = incl, fin
		endL1, err := r.l1.BlockNumber(ctx)
		if err != nil {
			once.Do(func() { werr = err })
			return
		}
		fp, err := l1Footprint(ctx, r.l1, startL1, endL1, true, rollup.InboxAddress, rollup.OutputsAddress)
		if err != nil {
			once.Do(func() { werr = err })
			return
		}
		l.l1Txs, l.l1Bytes = float64(fp.txs)*1000/float64(len(txs)), float64(fp.bytes)*1000/float64(len(txs))
		l.split = &costSplit{data: fp.paid(rollup.InboxAddress), state: fp.paid(rollup.OutputsAddress), n: len(txs),
			how: "the batch inbox's transactions (data: gas and blob gas) and the outputs contract's (state updates: output proposals) from the first send until every transfer was final, ÷ the run's transfers; no output was challenged, so no proof was posted (a game's one-step proof is paid by the loser's bond)"}
	}()
	return l, func() error { <-done; return werr }, nil
}

// footprint is what the L1 transactions to some contracts, in a range of
// blocks, put on L1 and cost their senders.
type footprint struct {
	txs, bytes int
	// data is what the senders paid for their bytes, by contract: each
	// transaction's 21,000 base, its calldata gas and its blob gas; exec
	// is the rest of its gas, the contract's work (proof checks, state).
	data, exec map[common.Address]*big.Int
}

// cost is everything paid.
func (f *footprint) cost() *big.Int {
	sum := new(big.Int)
	for _, m := range []map[common.Address]*big.Int{f.data, f.exec} {
		for _, v := range m {
			sum.Add(sum, v)
		}
	}
	return sum
}

// paid is what the transactions to a paid, data and execution together.
func (f *footprint) paid(a common.Address) *big.Int {
	sum := new(big.Int)
	if v := f.data[a]; v != nil {
		sum.Add(sum, v)
	}
	if v := f.exec[a]; v != nil {
		sum.Add(sum, v)
	}
	return sum
}

// l1Footprint counts the L1 transactions to any of to in blocks [from,
// upto], their signed sizes (blobs included) and, with fees, what their
// senders paid, split into data and execution.
func l1Footprint(ctx context.Context, c *ethclient.Client, from, upto uint64, fees bool, to ...common.Address) (*footprint, error) {
	f := &footprint{data: map[common.Address]*big.Int{}, exec: map[common.Address]*big.Int{}}
	for b := from; b <= upto; b++ {
		blk, err := c.BlockByNumber(ctx, new(big.Int).SetUint64(b))
		if err != nil {
			return nil, err
		}
		for _, tx := range blk.Transactions() {
			if tx.To() == nil || !slices.Contains(to, *tx.To()) {
				continue
			}
			raw, _ := tx.MarshalBinary()
			// A blob transaction's blobs are on L1 too, 131,072 bytes each.
			f.txs, f.bytes = f.txs+1, f.bytes+len(raw)+len(tx.BlobHashes())*params.BlobTxFieldElementsPerBlob*32
			if !fees {
				continue
			}
			rc, err := c.TransactionReceipt(ctx, tx.Hash())
			if err != nil {
				return nil, err
			}
			dataGas := params.TxGas
			for _, x := range tx.Data() {
				if x == 0 {
					dataGas += params.TxDataZeroGas
				} else {
					dataGas += params.TxDataNonZeroGasEIP2028
				}
			}
			dataGas = min(dataGas, rc.GasUsed)
			price := rc.EffectiveGasPrice
			data := new(big.Int).Mul(new(big.Int).SetUint64(dataGas), price)
			if rc.BlobGasPrice != nil {
				data.Add(data, new(big.Int).Mul(new(big.Int).SetUint64(rc.BlobGasUsed), rc.BlobGasPrice))
			}
			exec := new(big.Int).Mul(new(big.Int).SetUint64(rc.GasUsed-dataGas), price)
			to := *tx.To()
			if f.data[to] == nil {
				f.data[to], f.exec[to] = new(big.Int), new(big.Int)
			}
			f.data[to].Add(f.data[to], data)
			f.exec[to].Add(f.exec[to], exec)
		}
	}
	return f, nil
}

// zkUser is the ZK rollup account the comparison transfers from.
type zkUser struct {
	op       *zkrollup.Client
	domain   zkrollup.Domain
	key      *ecdsa.PrivateKey
	from, to uint64 // account indices
	nonce    uint64 // the next transfer's
}

// zkSetup deposits for two accounts and registers the sender's L2 key.
func (r *compareRun) zkSetup(ctx context.Context) (*zkUser, error) {
	op, err := zkrollup.DialOperator(ctx, r.d.ZK.Operator.RPCURL())
	if err != nil {
		return nil, err
	}
	params, err := zkrollup.ReadParams(ctx, r.l1)
	if err != nil {
		op.Close()
		return nil, err
	}
	u := &zkUser{op: op, domain: params.Domain(), key: chain.DevKey(5)}
	to := chain.DevKey(6)
	for _, k := range []*ecdsa.PrivateKey{u.key, to} {
		data, _ := zkrollup.VerifierABI.Pack("deposit", crypto.PubkeyToAddress(k.PublicKey))
		if _, err := ethtx.SendAndWait(ctx, r.l1, k, zkrollup.VerifierAddress, big.NewInt(1e18), data, 0); err != nil {
			op.Close()
			return nil, fmt.Errorf("deposit: %w", err)
		}
	}
	index := func(k *ecdsa.PrivateKey) (uint64, error) {
		for {
			i, err := op.AccountIndex(ctx, crypto.PubkeyToAddress(k.PublicKey))
			if err == nil {
				return i, nil
			}
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("the operator never saw the deposit: %w", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if u.from, err = index(u.key); err == nil {
		u.to, err = index(to)
	}
	if err != nil {
		op.Close()
		return nil, err
	}
	reg := zkrollup.Op{Type: zkrollup.OpRegister, Account: u.from, Address: crypto.PubkeyToAddress(u.key.PublicKey), PubKey: zkrollup.PubKeyBytes(zkrollup.L2Key(u.key))}
	if err := reg.SignRegister(u.key, u.domain); err != nil {
		op.Close()
		return nil, err
	}
	if _, err := op.Send(ctx, &reg); err != nil {
		op.Close()
		return nil, fmt.Errorf("register: %w", err)
	}
	acct, err := op.Account(ctx, u.from)
	if err != nil {
		op.Close()
		return nil, err
	}
	u.nonce = uint64(acct.Nonce)
	return u, nil
}

// transfers sends n transfers and waits until L1 has verified them all.
// It returns when each was answered and verified, from its send, and the
// verifier's L1 transactions meanwhile: count, bytes, cost.
func (u *zkUser) transfers(ctx context.Context, l1 *ethclient.Client, n int) (soft, final []time.Duration, fp *footprint, err error) {
	startL1, err := l1.BlockNumber(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	first := u.nonce
	sent := make([]time.Time, n)
	for i := range n {
		t := zkrollup.Op{Type: zkrollup.OpTransfer, Account: u.from, To: u.to, Amount: 1_000_000, Nonce: first + uint64(i)}
		if err := t.Sign(zkrollup.L2Key(u.key), u.domain); err != nil {
			return nil, nil, nil, err
		}
		sent[i] = time.Now()
		if _, err := u.op.Send(ctx, &t); err != nil {
			return nil, nil, nil, fmt.Errorf("transfer %d: %w", i, err)
		}
		soft = append(soft, time.Since(sent[i]))
		u.nonce++
	}
	final = make([]time.Duration, n)
	for left := n; left > 0; {
		a, err := u.op.Account(ctx, u.from)
		if err != nil {
			return nil, nil, nil, err
		}
		now := time.Now()
		left = 0
		for i := range final {
			if final[i] == 0 && uint64(a.VerifiedNonce) > first+uint64(i) {
				final[i] = now.Sub(sent[i])
			}
			if final[i] == 0 {
				left++
			}
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, nil, fmt.Errorf("%d transfers never verified on L1: %w", left, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	endL1, err := l1.BlockNumber(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	fp, err = l1Footprint(ctx, l1, startL1, endL1, true, zkrollup.VerifierAddress)
	if err != nil {
		return nil, nil, nil, err
	}
	return soft, final, fp, nil
}

// send sends one transfer and returns how long the operator took to
// answer.
func (u *zkUser) send(ctx context.Context) (time.Duration, error) {
	t := zkrollup.Op{Type: zkrollup.OpTransfer, Account: u.from, To: u.to, Amount: 1_000_000, Nonce: u.nonce}
	if err := t.Sign(zkrollup.L2Key(u.key), u.domain); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := u.op.Send(ctx, &t); err != nil {
		return 0, err
	}
	u.nonce++
	return time.Since(start), nil
}

func (r *compareRun) zk(ctx context.Context) (*ladder, error) {
	u, err := r.zkSetup(ctx)
	if err != nil {
		return nil, err
	}
	r.zkUser = u
	l := &ladder{softHow: "the operator's answer to the signed transfer (zk_sendOp)",
		inclHow:      "the same as final: a batch's data and its proof reach L1 in one transaction",
		how:          "until the sender's nonce in L1's verified root passes the transfer (its batch's Groth16 proof verified on L1)",
		feeHow:       "the operator's L1 cost (its batch transactions' gas × price during the run) ÷ the run's transfers; the devnet's transfers offer no fee of their own",
		footprintHow: "the verifier contract's L1 transactions during the run (batches), and their signed sizes, ÷ the run's transfers"}
	soft, final, fp, err := u.transfers(ctx, r.l1, r.n)
	if err != nil {
		return nil, err
	}
	l.soft, l.inclusion, l.final = soft, final, final
	l.l1Txs, l.l1Bytes = float64(fp.txs)*1000/float64(r.n), float64(fp.bytes)*1000/float64(r.n)
	l.feeWei = perTransfer(fp.cost(), r.n)
	l.split = &costSplit{data: fp.data[zkrollup.VerifierAddress], proofs: fp.exec[zkrollup.VerifierAddress], n: r.n,
		how: "the verifier contract's transactions during the run ÷ the run's transfers: data is each one's 21,000 base and calldata gas; proofs is the rest, the Groth16 check and the root it stores, done in the same call (so state updates are inside it)"}
	return l, nil
}

func perTransfer(cost *big.Int, n int) []*big.Int {
	per := new(big.Int).Div(cost, big.NewInt(int64(n)))
	out := make([]*big.Int, n)
	for i := range out {
		out[i] = per
	}
	return out
}

func (r *compareRun) channels(ctx context.Context) (*ladder, error) {
	ch := r.d.Channels
	a, b := ch.Nodes[0], ch.Nodes[1]
	l := &ladder{softHow: "a direct payment, until the new state is signed by both and on the payer's disk",
		noIncl: "payments never reach L1; only opens and closes do",
		how:    "a cooperative close of the channel, until the payer's L1 balance holds its share",
		feeHow: "a direct payment pays no fee (a routed one pays each hop's)", footprintHow: "every adjudicator L1 transaction since genesis (2 channels opened and funded, 1 closed), and their signed sizes, ÷ the run's payments"}
	for range r.n {
		start := time.Now()
		if err := a.Send(ctx, b.Address(), big.NewInt(1e12)); err != nil {
			return nil, err
		}
		l.soft = append(l.soft, time.Since(start))
		l.feeWei = append(l.feeWei, new(big.Int))
	}
	before, err := r.l1.BalanceAt(ctx, a.Address(), nil)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := a.Close(ctx, ch.Channels[0], false); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	for {
		now, err := r.l1.BalanceAt(ctx, a.Address(), nil)
		if err == nil && now.Cmp(before) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("the cooperative close never paid on L1")
		case <-time.After(5 * time.Millisecond):
		}
	}
	l.final = []time.Duration{time.Since(start)}
	head, err := r.l1.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	fp, err := l1Footprint(ctx, r.l1, 0, head, true, channels.AdjudicatorAddress)
	if err != nil {
		return nil, err
	}
	l.l1Txs, l.l1Bytes = float64(fp.txs)*1000/float64(r.n), float64(fp.bytes)*1000/float64(r.n)
	l.split = &costSplit{state: fp.paid(channels.AdjudicatorAddress), n: r.n,
		how: "every adjudicator transaction since genesis (2 channels opened and funded, 1 closed: state updates) ÷ the run's payments; payments post no data, and no dispute needed a proof"}
	return l, nil
}

func (r *compareRun) sidechain(ctx context.Context) (*ladder, error) {
	sc, err := ethclient.DialContext(ctx, r.d.Sidechain.RPC(0))
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	delay := r.d.Sidechain.Params.Light.WithdrawalDelaySeconds
	l := &ladder{softHow: "eth_sendRawTransaction to its receipt on the sidechain, polled every 2 ms (final there at once: its own BFT validators)",
		noIncl: "the sidechain's blocks never reach L1",
		how:    fmt.Sprintf("for ETH back on L1: a light-client bridge withdrawal, from the burn to its payment on L1 (a %d s delay)", delay),
		feeHow: "gas used × effective gas price, on the sidechain", footprintHow: "none: its transactions never touch L1 (bridge crossings do, one L1 transaction each way)"}
	for i := range r.n {
		lat, rc, _, err := sendTimed(ctx, sc, chain.DevKey(9), common.Address{0xc2, byte(i)}, big.NewInt(1e12))
		if err != nil {
			return nil, err
		}
		l.soft = append(l.soft, lat)
		l.feeWei = append(l.feeWei, feeOf(rc))
	}
	// A round trip: what bridges in can go back out.
	key, who := chain.DevKey(9), crypto.PubkeyToAddress(chain.DevKey(9).PublicKey)
	if _, err := sidechain.LightDeposit(ctx, r.l1, key, who, big.NewInt(1e16)); err != nil {
		return nil, err
	}
	for {
		st, err := sidechain.ReadLightTransfer(ctx, sc, sidechain.LightSideAddress, 0)
		if err == nil && st.Carried {
			break
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("the bridge deposit was never minted")
		case <-time.After(10 * time.Millisecond):
		}
	}
	fresh := crypto.PubkeyToAddress(freshKey().PublicKey)
	start := time.Now()
	if _, err := sidechain.LightWithdraw(ctx, sc, key, fresh, big.NewInt(1e15)); err != nil {
		return nil, err
	}
	if err := waitBalance(ctx, r.l1, fresh, big.NewInt(1e15)); err != nil {
		return nil, err
	}
	l.final = []time.Duration{time.Since(start)}
	return l, nil
}

// fillLadders writes the speed, fee and footprint rows.
func (r *compareRun) fillLadders(ls map[string]*ladder) {
	const speed, fees, where = "speed", "fees", "where transactions happen"
	l1fee := meanWei(ls[LayerL1].feeWei)
	for _, layer := range CompareLayers {
		l := ls[layer.Key]
		rung := func(name, how, none string, d []time.Duration) {
			if d == nil {
				r.report.notApply(speed, name+", p50", layer.Key, none)
				r.report.notApply(speed, name+", p99", layer.Key, none)
				return
			}
			p50, samples := percentileMs(d, 50)
			p99, _ := percentileMs(d, 99)
			r.report.set(speed, name+", p50", layer.Key, Cell{Value: p50, Unit: "ms", Kind: Measured, Method: how, Samples: samples})
			r.report.set(speed, name+", p99", layer.Key, Cell{Value: p99, Unit: "ms", Kind: Measured, Method: how, Samples: samples})
		}
		rung("soft confirmation", l.softHow, "", l.soft)
		rung("inclusion on L1", l.inclHow, l.noIncl, l.inclusion)
		rung("hard finality", l.how, l.noFinal, l.final)
		fee := meanWei(l.feeWei)
		gwei, _ := new(big.Float).Quo(new(big.Float).SetInt(fee), big.NewFloat(1e9)).Float64()
		r.report.set(fees, "fee per transfer", layer.Key, Cell{Value: gwei, Unit: "gwei", Kind: Measured, Method: l.feeHow + "; the L1 idle"})
		ratio := 0.0
		if l1fee.Sign() > 0 {
			ratio, _ = new(big.Float).Quo(new(big.Float).SetInt(fee), new(big.Float).SetInt(l1fee)).Float64()
		}
		r.report.set(fees, "fee ÷ the L1's", layer.Key, Cell{Value: ratio, Unit: "×", Kind: Measured, Method: "this layer's mean fee per transfer ÷ the L1's, same run"})
		for _, part := range []struct {
			name string
			get  func(*costSplit) *big.Int
		}{{"data", func(c *costSplit) *big.Int { return c.data }}, {"proofs", func(c *costSplit) *big.Int { return c.proofs }},
			{"state updates", func(c *costSplit) *big.Int { return c.state }}} {
			row := "L1 cost per transfer: " + part.name
			switch {
			case layer.Key == LayerL1:
				r.report.notApply(fees, row, layer.Key, "the L1's transfers are its own transactions: their fee is the fee row")
			case l.split == nil:
				r.report.notApply(fees, row, layer.Key, "its transfers pay L1 nothing")
			case part.get(l.split) == nil:
				r.report.set(fees, row, layer.Key, Cell{Value: 0.0, Unit: "gwei", Kind: Measured, Method: l.split.how})
			default:
				r.report.set(fees, row, layer.Key, Cell{Value: gweiF(part.get(l.split)) / float64(l.split.n), Unit: "gwei", Kind: Measured, Method: l.split.how})
			}
		}
		r.report.set(where, "L1 transactions per 1,000 transfers", layer.Key, Cell{Value: l.l1Txs, Unit: "txs", Kind: Measured, Method: l.footprintHow})
		r.report.set(where, "L1 bytes per 1,000 transfers", layer.Key, Cell{Value: l.l1Bytes, Unit: "B", Kind: Measured, Method: l.footprintHow})
	}
}

func meanWei(ws []*big.Int) *big.Int {
	sum := new(big.Int)
	for _, w := range ws {
		sum.Add(sum, w)
	}
	if len(ws) == 0 {
		return sum
	}
	return sum.Div(sum, big.NewInt(int64(len(ws))))
}

// decentralization counts, from the running stack, who can halt each
// layer, and declares who can censor and who can steal.
func (r *compareRun) decentralization(ctx context.Context) {
	const g = "decentralization"
	halt := func(url string) (int, int, error) {
		c, err := gethrpc.DialContext(ctx, url)
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		var vals []struct {
			Power  hexutil.Uint64 `json:"power"`
			Jailed bool           `json:"jailed"`
		}
		if err := c.CallContext(ctx, &vals, "cairn_validators"); err != nil {
			return 0, 0, err
		}
		var powers []uint64
		total := uint64(0)
		for _, v := range vals {
			if !v.Jailed && v.Power > 0 {
				powers = append(powers, uint64(v.Power))
				total += uint64(v.Power)
			}
		}
		// The fewest validators holding more than 1/3 of the power, the
		// largest first: enough to stop CometBFT from committing.
		slices.Sort(powers)
		slices.Reverse(powers)
		sum, k := uint64(0), 0
		for _, p := range powers {
			sum, k = sum+p, k+1
			if 3*sum > total {
				break
			}
		}
		return k, len(powers), nil
	}
	for _, x := range []struct {
		layer, url string
	}{{LayerL1, r.d.L1RPC(0)}, {LayerSidechain, r.d.Sidechain.RPC(0)}} {
		k, n, err := halt(x.url)
		if err != nil {
			r.report.notApply(g, "validators that can halt it", x.layer, "cairn_validators failed: "+err.Error())
			continue
		}
		r.report.set(g, "validators that can halt it", x.layer, Cell{Value: float64(k), Unit: fmt.Sprintf("of %d", n), Kind: Measured,
			Method: "the fewest validators of cairn_validators holding more than 1/3 of the voting power: CometBFT then cannot commit"})
	}
	for _, layer := range []string{LayerOptimistic, LayerZK, LayerChannels} {
		r.report.set(g, "validators that can halt it", layer, Cell{Value: "the L1's", Kind: Declared, Method: "it runs on the L1: halting the L1 halts its settlement"})
	}
	r.report.declare(g, "who can censor a user", map[string]string{
		LayerL1:         "more than 1/3 of the power, or each proposer in turn for its own blocks",
		LayerOptimistic: fmt.Sprintf("the sequencer, until forced inclusion: %d L1 blocks", r.d.Rollup.Config.SeqWindow),
		LayerZK:         fmt.Sprintf("the operator, until the priority queue's deadline (%d L1 blocks), then exit mode", r.d.ZK.Params.PriorityDeadline),
		LayerChannels:   "the counterparty, for off-chain payments: the user closes on L1",
		LayerSidechain:  "more than 1/3 of its own validators' power",
	})
	r.report.declare(g, "who can steal", map[string]string{
		LayerL1:         "more than 2/3 of the power (by a fork), slashable",
		LayerOptimistic: "nobody while one honest challenger watches within the window",
		LayerZK:         "nobody, with a sound proof system and setup",
		LayerChannels:   "nobody while each party (or its watchtower) watches the L1 within the dispute window",
		LayerSidechain:  "multisig bridge: 5 of its 9 keys; light-client bridge: more than 2/3 of the sidechain's power with nobody relaying within the delay",
	})
}

// attacks runs each design's attack and keeps its outcome.
func (r *compareRun) attacks(ctx context.Context) {
	const g = "security"
	for _, a := range []struct{ layer, name string }{
		{LayerL1, "unbond-and-equivocate"}, {LayerOptimistic, "invalid-output"}, {LayerZK, "noncanonical-root"},
		{LayerChannels, "stale-close"}, {LayerSidechain, "sidechain-takeover"},
	} {
		r.say("  attack %s", a.name)
		outcome, cost := r.attack(ctx, a.name)
		r.report.set(g, "the attack it must survive", a.layer, outcome)
		r.report.set(g, "the attacker's cost", a.layer, cost)
	}
	r.say("  attack censoring-sequencer")
	censored, _ := r.attack(ctx, "censoring-sequencer")
	r.report.set("decentralization", "a censoring sequencer, measured", LayerOptimistic, censored)
	r.report.notApply("decentralization", "a censoring sequencer, measured", LayerL1, "no sequencer: each proposer in turn")
	r.report.notApply("decentralization", "a censoring sequencer, measured", LayerZK, "the operator's censorship ends in exit mode at the priority deadline (shown by cairn lab attack noncanonical-root)")
	r.report.notApply("decentralization", "a censoring sequencer, measured", LayerChannels, "no sequencer: the counterparty, whom the user closes on")
	r.report.notApply("decentralization", "a censoring sequencer, measured", LayerSidechain, "no forced inclusion: more than 1/3 of its power can censor")
	r.say("  attack bridge-keys")
	outcome, cost := r.attack(ctx, "bridge-keys")
	r.report.set(g, "its bridge's keys taken", LayerSidechain, outcome)
	r.report.set(g, "the attacker's cost, its bridge's keys taken", LayerSidechain, cost)
	for _, layer := range []string{LayerL1, LayerOptimistic, LayerZK, LayerChannels} {
		r.report.notApply(g, "its bridge's keys taken", layer, "no bridge keys: the rollups' and channels' L1 contracts pay by proofs or signatures of the users")
		r.report.notApply(g, "the attacker's cost, its bridge's keys taken", layer, "no bridge keys")
	}
}

// attack runs one attack and returns its outcome and what it cost the
// attacker, each as the attack told it.
func (r *compareRun) attack(ctx context.Context, name string) (Cell, Cell) {
	var out strings.Builder
	a := Attacks[name]
	actx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	err := a.Run(actx, &out)
	text := out.String()
	outcome := ""
	if i := strings.LastIndex(text, "outcome as promised:"); i >= 0 {
		outcome = strings.TrimSpace(strings.SplitN(text[i+len("outcome as promised:"):], "\n", 2)[0])
	}
	cost := ""
	if i := strings.LastIndex(text, "attacker's cost:"); i >= 0 {
		cost = strings.TrimSpace(strings.SplitN(text[i+len("attacker's cost:"):], "\n", 2)[0])
	}
	value, ok := verdicts[name]
	if !ok {
		value = outcome
	}
	switch {
	case err != nil:
		value = "UNEXPECTED: " + err.Error()
	case outcome == "":
		value = "UNEXPECTED: no outcome reported"
	}
	cost = cmp.Or(cost, "UNEXPECTED: no cost reported")
	how := fmt.Sprintf("cairn lab attack %s, run in this run (%s)", name, a.Summary)
	return Cell{Value: value, Kind: Outcome, Method: how + "; its outcome: " + outcome},
		Cell{Value: cost, Kind: Outcome, Method: how + "; what the attacker spent or lost, as the attack measured it"}
}

// verdicts are the attacks' outcomes in a few words, shown when the attack
// ended as its trust model promises (it exits 0 only then).
var verdicts = map[string]string{
	"unbond-and-equivocate": "equivocation slashed, even while unbonding",
	"invalid-output":        "false output defeated; theft failed",
	"noncanonical-root":     "non-canonical root refused",
	"stale-close":           "stale close penalised: the cheater lost all",
	"sidechain-takeover":    "forged header accepted; frozen when watched, theft paid when not",
	"bridge-keys":           "drained by 5 of 9 keys",
}

// declared fills the rows that are definitions.
func (r *compareRun) declared() {
	r.report.declare("definition", "what it is", map[string]string{
		LayerL1:         "the base chain: its own consensus and execution",
		LayerOptimistic: "a chain whose blocks are batched to L1 and assumed valid unless a fraud proof shows otherwise",
		LayerZK:         "a chain whose batches reach L1 with a validity proof",
		LayerChannels:   "two parties' off-chain ledger, settled on L1",
		LayerSidechain:  "a separate chain with validators of its own, bridged to L1",
	})
	r.report.declare("main purpose", "main purpose", map[string]string{
		LayerL1: "security and settlement", LayerOptimistic: "cheap general transactions on L1's security",
		LayerZK: "cheap transfers, final once proven", LayerChannels: "instant, free repeated payments",
		LayerSidechain: "fast, cheap blocks of its own",
	})
	r.report.declare("examples", "examples", map[string]string{
		LayerL1: "Ethereum, Cosmos Hub", LayerOptimistic: "OP Mainnet, Arbitrum One", LayerZK: "zkSync Era, Starknet, Polygon zkEVM",
		LayerChannels: "Lightning, Raiden", LayerSidechain: "Polygon PoS, Ronin, Gnosis Chain",
	})
	r.report.declare("best for", "best for", map[string]string{
		LayerL1: "high-value settlement", LayerOptimistic: "general dapps that can wait a week to exit",
		LayerZK: "payments and exits that must be final soon", LayerChannels: "many payments between the same parties",
		LayerSidechain: "apps that accept another validator set for speed",
	})
	r.report.declare("dependency", "depends on the L1 for", map[string]string{
		LayerL1: "nothing", LayerOptimistic: "data, ordering, disputes", LayerZK: "data and proof verification",
		LayerChannels: "disputes and closes", LayerSidechain: "only its bridge",
	})
}

// references are real-world figures, never mixed with the run's.
var references = []Reference{
	{"L1", "hard finality", "about 12.8 minutes (2 epochs of 32 slots of 12 s)", "ethereum.org, proof-of-stake finality"},
	{"optimistic rollup", "hard finality (withdrawals)", "7-day challenge window", "OP Mainnet and Arbitrum One documentation"},
	{"payment channels", "hard finality (unilateral close)", "the channel's to_self_delay, commonly 144 blocks (about a day)", "BOLT #2 (Lightning)"},
	{"ZK rollup", "hard finality", "about 3 hours: a batch's proof is verified, then it is executed after a delay", "zkSync Era documentation, finality"},
	{"sidechain", "hard finality (withdrawal to Ethereum)", "about 45 minutes to 3 hours: a withdrawal waits for a checkpoint", "Polygon PoS bridge documentation"},
	{"optimistic rollup", "sequencer failure", "forced inclusion after 12 hours (OP Mainnet's sequencing window) or 24 hours (Arbitrum's delayed inbox)", "L2BEAT's OP Mainnet and Arbitrum One pages"},
}

// l2Fee is a rollup receipt's fee: L2 gas × price plus its L1 data fee.
func l2Fee(ctx context.Context, c *ethclient.Client, rc *types.Receipt) *big.Int {
	fee := feeOf(rc)
	var raw map[string]any
	if err := c.Client().CallContext(ctx, &raw, "eth_getTransactionReceipt", rc.TxHash); err == nil {
		if s, ok := raw["l1Fee"].(string); ok {
			if v, err := hexutil.DecodeBig(s); err == nil {
				fee.Add(fee, v)
			}
		}
	}
	return fee
}
