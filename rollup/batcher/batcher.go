package batcher

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/da"
	"github.com/cairn-dev/cairn/internal/promutil"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batch"
)

// L2Source is what the batcher reads of the sequencer: blocks and the safe
// head (HeaderByNumber with rpc.SafeBlockNumber). ethclient.Client and Node
// both implement it.
type L2Source interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	BlockByNumber(ctx context.Context, number *big.Int) (*types.Block, error)
}

// L1 is what the batcher needs of the L1 node. ethclient.Client
// implements it.
type L1 interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	NonceAt(ctx context.Context, account common.Address, number *big.Int) (uint64, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	TransactionReceipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
	BlobBaseFee(ctx context.Context) (*big.Int, error)
}

// Config configures a batcher.
type Config struct {
	Rollup *rollup.Config
	L1     L1
	L2     L2Source
	Key    *ecdsa.PrivateKey // the rollup's batcher account on L1
	// MaxChannelDuration is how long blocks gather before they are posted.
	MaxChannelDuration time.Duration
	// DA is where frames go: calldata or blobs; "": the rollup config's
	// DA, calldata if it names none.
	DA rollup.DA
	// MaxTxData is the calldata of one L1 transaction (frames and
	// version); with blobs, the data of one blob (at most
	// DefaultMaxTxData, so a proof can carry a blob's data in one L1
	// transaction).
	MaxTxData int
	// BlobsPerTx is how many blobs one blob transaction carries (at most
	// params.BlobTxMaxBlobs; that by default).
	BlobsPerTx int
	// MaxPendingBytes bounds the transaction bytes of blocks held before
	// posting: the batcher stops reading blocks at this much.
	MaxPendingBytes int
	// ResubmitAfter is how many L1 blocks after posting the batcher waits
	// for the safe head to reach what it posted before posting it again
	// (and ReceiptTimeout at least).
	ResubmitAfter uint64
	// ReceiptTimeout is how long to wait for a posted transaction.
	ReceiptTimeout time.Duration
	Manual         bool // no loop: the caller calls Step, or Plan, Send and Confirm (action tests)
	Clock          func() time.Time
	Rand           io.Reader // channel IDs; crypto/rand when nil
	Registry       prometheus.Registerer
	Log            *slog.Logger
}

// Batcher defaults.
const (
	// DefaultResubmitAfter caps ResubmitAfter (half the sequencing window
	// otherwise), in L1 blocks: posted data is safe within a few blocks.
	DefaultResubmitAfter      = 100
	DefaultMaxChannelDuration = time.Second
	// DefaultBlobChannelDuration is MaxChannelDuration with blobs: a blob
	// costs about 0.2 s of CPU to make and 131,072 bytes of blob space
	// however little it holds, so an idle chain's empty blocks gather
	// longer before one is posted, as OP Stack batchers let blobs fill.
	DefaultBlobChannelDuration = 4 * time.Second
	DefaultMaxTxData           = rollup.MaxInboxData // under the L1's 128 KiB transaction limit
	DefaultMaxPendingBytes     = 8 << 20             // one channel: a batch must stay under batch.MaxChannelSize
)

// Batcher posts the sequencer's blocks to the L1 batch inbox: it gathers
// blocks, encodes them as one span batch, compresses it into a channel,
// splits that into frames and sends them in consecutive L1 transactions.
// After a restart, or when what it posted does not become safe, it starts
// again from the safe head: derivation drops a batch that does not extend
// the safe head, so posting twice is harmless.
type Batcher struct {
	cfg     Config
	from    common.Address
	signer  types.Signer
	log     *slog.Logger
	chainID *big.Int
	dac     *da.CommitteeClient // in committee mode
	das     *da.SamplingClient  // in sampling mode

	next       uint64         // next L2 block to read
	pending    []*types.Block // read, not yet posted
	pendingLen int
	openedAt   time.Time
	posted     uint64    // last L2 block posted
	postedAt   uint64    // L1 block that included it
	postedTime time.Time // when it was included, by Clock
	feeBump    int64

	mu    sync.Mutex
	stats Stats

	postedBytes prometheus.Counter
	postedTxs   prometheus.Counter
	failures    prometheus.Counter
	stop        chan struct{}
	done        sync.WaitGroup
	closeOnce   sync.Once
}

// Stats counts what a batcher has posted.
type Stats struct {
	Channels    uint64 // channels posted
	L1Txs       uint64 // L1 transactions sent and included
	L1Bytes     uint64 // bytes included on L1: frames in calldata or blobs, or certificates
	Blobs       uint64 // blobs included on L1
	Certified   uint64 // frame bytes kept by the committee or storage nodes, committed to on L1
	Fallbacks   uint64 // frames posted in calldata because the committee did not sign
	L2Blocks    uint64 // L2 blocks posted
	L2Txs       uint64 // L2 transactions posted
	Resubmits   uint64 // times it went back to the safe head
	SendFailure uint64 // L1 transactions that failed or timed out
}

// New returns a batcher and, unless Manual, starts its loop.
func New(cfg Config) (*Batcher, error) {
	if cfg.Key == nil {
		return nil, fmt.Errorf("%w: batcher key missing", rollup.ErrConfig)
	}
	from := crypto.PubkeyToAddress(cfg.Key.PublicKey)
	if from != cfg.Rollup.Batcher {
		return nil, fmt.Errorf("%w: key is for %s, the rollup's batcher is %s", rollup.ErrConfig, from, cfg.Rollup.Batcher)
	}
	if cfg.DA == "" {
		cfg.DA = cmp.Or(cfg.Rollup.DA, rollup.DACalldata)
	}
	if cfg.MaxChannelDuration <= 0 {
		cfg.MaxChannelDuration = DefaultMaxChannelDuration
		if cfg.DA == rollup.DABlobs {
			cfg.MaxChannelDuration = DefaultBlobChannelDuration
		}
	}
	if cfg.MaxTxData <= 0 {
		cfg.MaxTxData = DefaultMaxTxData
	}
	cfg.MaxTxData = min(cfg.MaxTxData, rollup.MaxInboxData)
	if _, err := rollup.ParseDA(string(cfg.DA)); err != nil {
		return nil, err
	}
	if cfg.DA == rollup.DABlobs {
		cfg.MaxTxData = min(cfg.MaxTxData, DefaultMaxTxData, da.MaxBlobData)
	}
	var dac *da.CommitteeClient
	if cfg.DA == rollup.DACommittee {
		if dac = cfg.Rollup.CommitteeClient(); dac == nil || len(cfg.Rollup.CommitteeURLs) != len(dac.Committee.Members) {
			return nil, fmt.Errorf("%w: committee mode needs the rollup's committee and each member's URL", rollup.ErrConfig)
		}
	}
	var das *da.SamplingClient
	if cfg.DA == rollup.DASampling {
		if das = cfg.Rollup.SamplingClient(); das == nil || len(cfg.Rollup.StorageURLs) == 0 {
			return nil, fmt.Errorf("%w: sampling mode needs the rollup to take sampled data and a storage node's URL", rollup.ErrConfig)
		}
	}
	if cfg.BlobsPerTx <= 0 || cfg.BlobsPerTx > params.BlobTxMaxBlobs {
		cfg.BlobsPerTx = params.BlobTxMaxBlobs
	}
	if cfg.MaxPendingBytes <= 0 || cfg.MaxPendingBytes > DefaultMaxPendingBytes {
		cfg.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if cfg.ResubmitAfter == 0 {
		cfg.ResubmitAfter = min(max(2, cfg.Rollup.SeqWindow/2), DefaultResubmitAfter)
	}
	if cfg.ReceiptTimeout <= 0 {
		cfg.ReceiptTimeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	b := &Batcher{
		cfg:     cfg,
		from:    from,
		signer:  types.LatestSignerForChainID(new(big.Int).SetUint64(cfg.Rollup.L1ChainID)),
		chainID: new(big.Int).SetUint64(cfg.Rollup.L2ChainID),
		dac:     dac,
		das:     das,
		log:     cfg.Log.With("node", "batcher"),
		stop:    make(chan struct{}),
		postedBytes: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "batcher_l1_bytes_total", Help: "Calldata bytes the batcher got included on L1."}),
		postedTxs: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "batcher_l2_txs_total", Help: "L2 transactions the batcher posted."}),
		failures: promutil.Counter(cfg.Registry, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "rollup",
			Name: "batcher_failures_total", Help: "L1 transactions of the batcher that failed or timed out."}),
	}
	if !cfg.Manual {
		b.done.Add(1)
		go b.loop()
	}
	return b, nil
}

// Close stops the loop.
func (b *Batcher) Close() {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.done.Wait()
	})
}

// Stats returns the batcher's counters.
func (b *Batcher) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

func (b *Batcher) loop() {
	defer b.done.Done()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ReceiptTimeout+10*time.Second)
		_, err := b.Step(ctx, false)
		cancel()
		if err != nil {
			b.log.Warn("Batcher step failed", "err", err)
		}
		select {
		case <-b.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Step reads new blocks and posts a channel when the oldest pending block
// has waited MaxChannelDuration, or at once when flush is set, waiting for
// its transactions to be included. It returns the number of L1
// transactions it sent. It is Plan, Send and Confirm in turn.
func (b *Batcher) Step(ctx context.Context, flush bool) (int, error) {
	p, err := b.Plan(ctx, flush)
	if err != nil || p == nil {
		return 0, err
	}
	if err := b.Send(ctx, p); err != nil {
		return len(p.txs), err
	}
	_, err = b.Confirm(ctx, p, true)
	return len(p.txs), err
}

// Post is a channel planned for posting: its blocks, and the signed L1
// transactions that carry its frames.
type Post struct {
	txs    []*types.Transaction
	nonce  uint64
	feeCap *big.Int
	blocks int
	ntx    int // L2 transactions
	bytes  int // frame data, in calldata or blobs
	blobs  int // blobs carrying it
	// certified is the frame data the committee certified (not on L1);
	// fallbacks the frames posted whole because it did not.
	certified, fallbacks int
	last                 uint64 // last L2 block
}

// Txs are the post's L1 transactions.
func (p *Post) Txs() []*types.Transaction { return p.txs }

// Plan reads new blocks and, when a channel is due (as Step decides),
// builds and signs its transactions without sending them; nil when
// nothing is due.
func (b *Batcher) Plan(ctx context.Context, flush bool) (*Post, error) {
	safe, err := b.cfg.L2.HeaderByNumber(ctx, big.NewInt(int64(gethrpc.SafeBlockNumber)))
	if err != nil {
		return nil, fmt.Errorf("L2 safe head: %w", err)
	}
	if err := b.checkProgress(ctx, safe.Number.Uint64()); err != nil {
		return nil, err
	}
	if err := b.read(ctx, safe.Number.Uint64()); err != nil {
		return nil, err
	}
	if len(b.pending) == 0 {
		return nil, nil
	}
	if !flush && b.cfg.Clock().Sub(b.openedAt) < b.cfg.MaxChannelDuration && b.pendingLen < b.cfg.MaxPendingBytes {
		return nil, nil
	}
	return b.plan(ctx)
}

// checkProgress starts again from the safe head after a restart or when
// posted data has not become safe within ResubmitAfter L1 blocks.
func (b *Batcher) checkProgress(ctx context.Context, safe uint64) error {
	if b.next == 0 { // fresh start
		b.next, b.posted = safe+1, safe
		return nil
	}
	if b.posted > safe {
		head, err := b.cfg.L1.HeaderByNumber(ctx, nil)
		if err != nil {
			return fmt.Errorf("L1 head: %w", err)
		}
		// ResubmitAfter L1 blocks and ReceiptTimeout both: a busy L1
		// makes 100 blocks in about a second, less than derivation may lag.
		if head.Number.Uint64() > b.postedAt+b.cfg.ResubmitAfter && b.cfg.Clock().Sub(b.postedTime) >= b.cfg.ReceiptTimeout {
			b.log.Warn("Posted blocks did not become safe: posting again from the safe head", "safe", safe, "posted", b.posted)
			b.restart(safe)
			b.mu.Lock()
			b.stats.Resubmits++
			b.mu.Unlock()
		}
	}
	if b.next <= safe {
		b.restart(safe)
	}
	return nil
}

func (b *Batcher) restart(safe uint64) {
	b.pending, b.pendingLen = nil, 0
	b.next, b.posted = safe+1, safe
}

// read appends new sequencer blocks to pending, up to MaxPendingBytes.
func (b *Batcher) read(ctx context.Context, safe uint64) error {
	for b.pendingLen < b.cfg.MaxPendingBytes {
		block, err := b.cfg.L2.BlockByNumber(ctx, new(big.Int).SetUint64(b.next))
		if errors.Is(err, ethereum.NotFound) || (err == nil && block == nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("L2 block %d: %w", b.next, err)
		}
		if n := len(b.pending); n > 0 && block.ParentHash() != b.pending[n-1].Hash() {
			// The sequencer reorganised: start again from what is safe.
			b.restart(safe)
			return nil
		}
		if len(b.pending) == 0 {
			b.openedAt = b.cfg.Clock()
		}
		b.pending = append(b.pending, block)
		b.pendingLen += int(block.Size())
		b.next++
	}
	return nil
}

// plan encodes the pending blocks as one channel and signs the
// transactions of its frames, with consecutive nonces so they land in order.
func (b *Batcher) plan(ctx context.Context) (*Post, error) {
	bt := &batch.Batch{Blocks: make([]batch.Block, len(b.pending))}
	copy(bt.ParentCheck[:], b.pending[0].ParentHash().Bytes())
	p := &Post{blocks: len(b.pending), last: b.pending[len(b.pending)-1].NumberU64()}
	for i, blk := range b.pending {
		info, err := rollup.Origin(blk.Header())
		if err != nil {
			return nil, err
		}
		txs, err := rollup.SequencerTxs(blk)
		if err != nil {
			return nil, err
		}
		p.ntx += len(txs)
		bt.Blocks[i] = batch.Block{Number: blk.NumberU64(), Time: blk.Time(), Origin: info.Number, Txs: txs}
	}
	raw, err := batch.Encode(bt, b.chainID)
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	data, err := batch.Compress(raw)
	if err != nil {
		return nil, err
	}
	var id batch.ChannelID
	if _, err := io.ReadFull(b.cfg.Rand, id[:]); err != nil {
		return nil, err
	}
	frames, err := batch.SplitFrames(id, data, b.cfg.MaxTxData)
	if err != nil {
		return nil, err
	}
	if p.nonce, err = b.cfg.L1.NonceAt(ctx, b.from, nil); err != nil {
		return nil, fmt.Errorf("batcher nonce: %w", err)
	}
	head, err := b.cfg.L1.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("L1 head: %w", err)
	}
	tip := big.NewInt(1_000_000_000 << min(b.feeBump, 8))
	p.feeCap = new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2<<min(b.feeBump, 8))), tip)
	if b.cfg.DA == rollup.DABlobs {
		return p, b.planBlobs(ctx, p, frames, tip)
	}
	for i, f := range frames {
		data := batch.MarshalTxData(f)
		switch b.cfg.DA {
		case rollup.DACommittee:
			cert, err := b.dac.Certify(ctx, data)
			if err == nil {
				p.certified += len(data)
				data = cert.Marshal()
			} else {
				// The committee did not sign in time: post the data itself.
				b.log.Warn("Committee did not certify: posting the frame in calldata", "err", err)
				p.fallbacks++
			}
		case rollup.DASampling:
			com, err := b.das.Publish(ctx, data)
			if err == nil {
				p.certified += len(data)
				data = com.Marshal()
			} else {
				b.log.Warn("No storage node kept the data: posting the frame in calldata", "err", err)
				p.fallbacks++
			}
		}
		p.bytes += len(data)
		tx, err := types.SignNewTx(b.cfg.Key, b.signer, &types.DynamicFeeTx{
			ChainID:   new(big.Int).SetUint64(b.cfg.Rollup.L1ChainID),
			Nonce:     p.nonce + uint64(i),
			GasTipCap: tip,
			GasFeeCap: p.feeCap,
			Gas:       rollup.MaxCalldataGas(len(data)),
			To:        &rollup.InboxAddress,
			Data:      data,
		})
		if err != nil {
			return nil, err
		}
		p.txs = append(p.txs, tx)
	}
	return p, nil
}

// planBlobs signs the blob transactions that carry frames, a frame a
// blob, BlobsPerTx blobs a transaction, each with its sidecar in the form
// the L1 takes (EIP-7594 cell proofs).
func (b *Batcher) planBlobs(ctx context.Context, p *Post, frames []batch.Frame, tip *big.Int) error {
	blobFee, err := b.cfg.L1.BlobBaseFee(ctx)
	if err != nil {
		return fmt.Errorf("L1 blob base fee: %w", err)
	}
	if blobFee.Sign() == 0 {
		blobFee = big.NewInt(1)
	}
	blobFeeCap := new(big.Int).Mul(blobFee, big.NewInt(2<<min(b.feeBump, 8)))
	for i := 0; len(frames) > 0; i++ {
		n := min(len(frames), b.cfg.BlobsPerTx)
		var blobs []kzg4844.Blob
		for _, f := range frames[:n] {
			data := batch.MarshalTxData(f)
			p.bytes += len(data)
			blob, err := da.EncodeBlob(data)
			if err != nil {
				return err
			}
			blobs = append(blobs, *blob)
		}
		frames = frames[n:]
		sc, err := BlobSidecar(blobs)
		if err != nil {
			return err
		}
		tx, err := types.SignNewTx(b.cfg.Key, b.signer, &types.BlobTx{
			ChainID:    uint256.NewInt(b.cfg.Rollup.L1ChainID),
			Nonce:      p.nonce + uint64(i),
			GasTipCap:  uint256.MustFromBig(tip),
			GasFeeCap:  uint256.MustFromBig(p.feeCap),
			Gas:        BlobTxGas,
			To:         rollup.InboxAddress,
			BlobFeeCap: uint256.MustFromBig(blobFeeCap),
			BlobHashes: sc.BlobHashes(),
			Sidecar:    sc,
		})
		if err != nil {
			return err
		}
		p.txs = append(p.txs, tx)
		p.blobs += n
	}
	return nil
}

// BlobTxGas is a blob transaction's gas to the inbox: no calldata, and
// the inbox charges nothing.
const BlobTxGas = 50_000

// BlobSidecar makes the sidecar of blobs: their commitments and 128 cell
// proofs each (about 0.2 s of CPU a blob).
func BlobSidecar(blobs []kzg4844.Blob) (*types.BlobTxSidecar, error) {
	commitments := make([]kzg4844.Commitment, len(blobs))
	var proofs []kzg4844.Proof
	for i := range blobs {
		c, err := kzg4844.BlobToCommitment(&blobs[i])
		if err != nil {
			return nil, err
		}
		commitments[i] = c
		ps, err := kzg4844.ComputeCellProofs(&blobs[i])
		if err != nil {
			return nil, err
		}
		proofs = append(proofs, ps...)
	}
	return types.NewBlobTxSidecar(types.BlobSidecarVersion1, blobs, commitments, proofs), nil
}

// Send sends a planned post's transactions, without waiting for them.
func (b *Batcher) Send(ctx context.Context, p *Post) error {
	for i, tx := range p.txs {
		if err := b.cfg.L1.SendTransaction(ctx, tx); err != nil {
			return b.failed(fmt.Errorf("send frame %d: %w", i, err))
		}
	}
	return nil
}

// Confirm checks whether a sent post's transactions are all included and,
// once they are, records the post as done. With wait, it polls until they
// are, the receipt timeout passes, or one can no longer be included; it
// then fails, so that the next Plan posts again with higher fees.
func (b *Batcher) Confirm(ctx context.Context, p *Post, wait bool) (bool, error) {
	var included uint64
	deadline := time.Now().Add(b.cfg.ReceiptTimeout) // waiting on the network: real time
	for i, tx := range p.txs {
		h := tx.Hash()
		for polls := 1; ; polls++ {
			r, err := b.cfg.L1.TransactionReceipt(ctx, h)
			if err == nil && r != nil {
				included = max(included, r.BlockNumber.Uint64())
				break
			}
			if !wait {
				return false, nil
			}
			if time.Now().After(deadline) {
				return false, b.failed(fmt.Errorf("frame transaction %s not included within %v", h, b.cfg.ReceiptTimeout))
			}
			if polls%10 == 0 {
				// Give up early on a transaction that cannot be included
				// any more: its nonce was used by another, or the base fee
				// rose past its fee cap (the pool drops it).
				if err := b.stillIncludable(ctx, p.nonce+uint64(i), p.feeCap); err != nil {
					if r, rerr := b.cfg.L1.TransactionReceipt(ctx, h); rerr == nil && r != nil {
						continue // included meanwhile
					}
					return false, b.failed(fmt.Errorf("frame transaction %s: %w", h, err))
				}
			}
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	b.feeBump = 0
	b.log.Debug("Posted channel", "blocks", p.blocks, "txs", p.ntx, "frames", len(p.txs), "bytes", p.bytes, "l1", included)
	b.mu.Lock()
	b.stats.Channels++
	b.stats.L1Txs += uint64(len(p.txs))
	b.stats.L1Bytes += uint64(p.bytes)
	b.stats.Blobs += uint64(p.blobs)
	b.stats.Certified += uint64(p.certified)
	b.stats.Fallbacks += uint64(p.fallbacks)
	b.stats.L2Blocks += uint64(p.blocks)
	b.stats.L2Txs += uint64(p.ntx)
	b.mu.Unlock()
	b.postedBytes.Add(float64(p.bytes))
	b.postedTxs.Add(float64(p.ntx))
	b.posted, b.postedAt, b.postedTime = p.last, included, b.cfg.Clock()
	if len(b.pending) > 0 && b.pending[len(b.pending)-1].NumberU64() == p.last {
		b.pending, b.pendingLen = nil, 0
	}
	return true, nil
}

// failed counts a failed post and raises the next one's fees.
func (b *Batcher) failed(err error) error {
	b.failures.Inc()
	b.mu.Lock()
	b.stats.SendFailure++
	b.mu.Unlock()
	b.feeBump++
	return err
}

// errNotIncludable is returned for a frame transaction the L1 will not
// include as sent.
var errNotIncludable = errors.New("not includable any more")

// stillIncludable checks that a sent frame transaction of nonce and fee
// cap can still be included.
func (b *Batcher) stillIncludable(ctx context.Context, nonce uint64, feeCap *big.Int) error {
	if used, err := b.cfg.L1.NonceAt(ctx, b.from, nil); err == nil && used > nonce {
		return fmt.Errorf("%w: nonce %d used by another transaction", errNotIncludable, nonce)
	}
	if head, err := b.cfg.L1.HeaderByNumber(ctx, nil); err == nil && head.BaseFee != nil && head.BaseFee.Cmp(feeCap) > 0 {
		return fmt.Errorf("%w: base fee %v above its fee cap %v", errNotIncludable, head.BaseFee, feeCap)
	}
	return nil
}
