package zkrollup

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rpc"
)

// OperatorConfig configures an operator.
type OperatorConfig struct {
	Params VerifierParams // the L1 contract's rules
	L1     *ethclient.Client
	Key    *ecdsa.PrivateKey // Params.Operator's key: submits batches
	// Keys are the circuit's keys; nil loads them from KeyDir (or runs the
	// setup there) in the background while the operator already takes ops.
	Keys   *Keys
	KeyDir string
	// DataDir holds the log of accepted ops; "" keeps it in memory.
	DataDir      string
	RPCAddr      string        // "" serves no RPC
	FeeAccount   uint64        // 0: the operator's own account (see GenesisTree)
	BatchTimeout time.Duration // a partial batch is sealed after this (default 2 s)
	Poll         time.Duration // how often L1 is read (default 500 ms)
	MaxPending   int           // ops accepted but not yet sealed (default 16 batches)
	// Manual runs no goroutines: the caller moves the operator with Step.
	Manual bool
	Clock  func() time.Time
	Log    *slog.Logger
}

// BatchStatus is where a batch is in the pipeline.
type BatchStatus string

// The pipeline's stages.
const (
	BatchSealed    BatchStatus = "sealed"
	BatchProven    BatchStatus = "proven"
	BatchSubmitted BatchStatus = "submitted"
	BatchVerified  BatchStatus = "verified"
)

// batch is one sealed batch and its progress.
type batch struct {
	Index      uint64
	Ops        []Op
	Status     BatchStatus
	Root       common.Hash
	Data       []byte
	assignment *BatchCircuit
	Proof      []byte
	ProveTime  time.Duration
	Tx         common.Hash
	Sent       time.Time // when Tx was sent
	Sealed     time.Time
	Verified   time.Time
}

// Operator runs the ZK rollup: it takes ops over JSON-RPC and from the L1
// priority queue, executes them at once on its tree (the soft
// confirmation), seals them into batches, proves the batches in a pipeline
// while new ones fill, and submits each with its proof to L1.
type Operator struct {
	cfg OperatorConfig
	log *slog.Logger
	l1  *l1Contract
	srv *rpc.Server

	mu        sync.Mutex
	soft      *Tree // every accepted op applied
	sealed    *Tree // the ops of sealed batches applied
	verified  *Tree // the state at L1's verified root
	pending   []Op
	oldest    time.Time // when the oldest pending op came
	batches   []*batch
	index     map[common.Address]uint64
	accounts  uint64 // account indexes handed out
	queueNext uint64 // the next L1 priority op to take
	journal   *journal
	keys      *Keys
	keyErr    error
	keyReady  chan struct{}
	installed bool
	installTx common.Hash // the verifying key's installation, sent and not yet seen on L1

	work   chan struct{} // wakes the prover and submitter
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Sentinel errors of the operator.
var (
	ErrBusy    = errors.New("operator busy: too many pending ops")
	ErrUnknown = errors.New("unknown account")
	ErrStalled = errors.New("operator stalled")
)

// StartOperator starts an operator: it replays its log, catches up with L1
// and, unless Manual, runs its loops until Close.
func StartOperator(ctx context.Context, cfg OperatorConfig) (*Operator, error) {
	cfg.BatchTimeout = cmp.Or(cfg.BatchTimeout, 2*time.Second)
	cfg.Poll = cmp.Or(cfg.Poll, 500*time.Millisecond)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, 16*cfg.Params.Slots)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyDir == "" {
		cfg.KeyDir = DefaultKeyDir()
	}
	genesis := GenesisTree(cfg.Params.Depth, cfg.Params.Operator)
	genesis.SetDomain(cfg.Params.Domain())
	if rootBytes(genesis.Root()) != cfg.Params.GenesisRoot {
		return nil, fmt.Errorf("zk operator: genesis root %s is not GenesisTree's", cfg.Params.GenesisRoot)
	}
	if cfg.FeeAccount >= 1<<cfg.Params.Depth || cfg.FeeAccount > 0 && int(cfg.FeeAccount) >= len(cfg.Params.GenesisAccounts) {
		// Only a genesis account is sure to have an owner from the start:
		// fees credited to an empty index would be ETH nobody can withdraw.
		return nil, fmt.Errorf("zk operator: fee account %d is not an owned genesis account", cfg.FeeAccount)
	}
	o := &Operator{
		cfg: cfg, log: cfg.Log, l1: &l1Contract{c: cfg.L1},
		soft: genesis, sealed: genesis.Clone(), verified: genesis.Clone(),
		index: map[common.Address]uint64{cfg.Params.Operator: 0}, accounts: 1, keyReady: make(chan struct{}), work: make(chan struct{}, 1),
	}
	j, records, err := openJournal(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	o.journal = j
	if err := o.replay(records); err != nil {
		j.Close()
		return nil, err
	}
	if err := o.catchUp(ctx); err != nil {
		j.Close()
		return nil, err
	}
	if cfg.RPCAddr != "" {
		srv, err := rpc.NewAPIServer(map[string]any{"zk": &API{o: o}}, rpc.Options{MetricsLabel: "zk-operator", Log: o.log})
		if err == nil {
			err = srv.Start(cfg.RPCAddr)
		}
		if err != nil {
			j.Close()
			return nil, err
		}
		o.srv = srv
	}
	o.setKeys(ctx)
	if !cfg.Manual {
		ctx, o.cancel = context.WithCancel(context.Background())
		o.wg.Add(3)
		go o.loop(ctx, o.pollAndSeal, cfg.Poll/5)
		go o.loop(ctx, o.proveNext, 0)
		go o.loop(ctx, o.submitNext, 20*time.Millisecond)
	}
	o.log.Info("zk operator started", "slots", cfg.Params.Slots, "depth", cfg.Params.Depth, "rpc", o.RPCURL(), "batches", len(o.batches), "accounts", o.accounts)
	return o, nil
}

// setKeys installs the circuit's keys, loading them in the background when
// the config has none.
func (o *Operator) setKeys(ctx context.Context) {
	done := func(k *Keys, err error) {
		o.mu.Lock()
		o.keys, o.keyErr = k, err
		o.mu.Unlock()
		close(o.keyReady)
		if err != nil {
			o.log.Error("zk keys unavailable: batches will not be proven", "err", err)
		}
		o.wake()
	}
	if o.cfg.Keys != nil {
		done(o.cfg.Keys, nil)
		return
	}
	go func() { done(LoadKeys(o.cfg.KeyDir, o.cfg.Params.Slots, o.cfg.Params.Depth, o.log)) }()
}

// KeysReady is closed once the keys are loaded (or failed to load).
func (o *Operator) KeysReady() <-chan struct{} { return o.keyReady }

// RPCURL is the operator's JSON-RPC URL ("" without one).
func (o *Operator) RPCURL() string {
	if o.srv == nil {
		return ""
	}
	return o.srv.URL()
}

// Close stops the operator.
func (o *Operator) Close() {
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
	if o.srv != nil {
		o.srv.Close()
	}
	o.journal.Close()
}

func (o *Operator) wake() {
	select {
	case o.work <- struct{}{}:
	default:
	}
}

// loop runs step until ctx ends, waiting for a wake-up (or every) idle
// when step did nothing.
func (o *Operator) loop(ctx context.Context, step func(context.Context) (bool, error), every time.Duration) {
	defer o.wg.Done()
	for ctx.Err() == nil {
		did, err := step(ctx)
		if err != nil && ctx.Err() == nil {
			o.log.Warn("zk operator step failed", "err", err)
			did = false
		}
		if did {
			continue
		}
		wait := o.cfg.Poll
		if every > 0 {
			wait = every
		}
		select {
		case <-ctx.Done():
		case <-o.work:
		case <-time.After(wait):
		}
	}
}

// Step moves a manual operator one round: it reads L1, seals (a partial
// batch too, when flush), proves every sealed batch, confirms the batch in
// flight once L1 has it and sends the next proven one. It never waits for
// L1: the caller mines and steps again, until Settled.
func (o *Operator) Step(ctx context.Context, flush bool) error {
	if err := o.takePriorityOps(ctx); err != nil {
		return err
	}
	o.mu.Lock()
	for len(o.pending) >= o.cfg.Params.Slots || (flush && len(o.pending) > 0) {
		if err := o.sealLocked(); err != nil {
			o.mu.Unlock()
			return err
		}
	}
	o.mu.Unlock()
	<-o.keyReady
	for {
		did, err := o.proveNext(ctx)
		if err != nil {
			return err
		}
		if !did {
			break
		}
	}
	for {
		did, err := o.submitNext(ctx)
		if err != nil || !did {
			return err
		}
	}
}

// Settled reports whether every sealed batch is verified on L1 and no op
// waits to be sealed: a manual operator has nothing left to step for.
func (o *Operator) Settled() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending) == 0 && o.nextWithLocked(BatchSealed) == nil && o.nextWithLocked(BatchProven) == nil && o.nextWithLocked(BatchSubmitted) == nil
}

// Submit accepts a user op (transfer, withdraw or register): it checks it
// against the state after every accepted op, applies it, and makes it
// durable before it returns.
func (o *Operator) Submit(op Op) error {
	if op.Type != OpTransfer && op.Type != OpWithdraw && op.Type != OpRegister {
		return fmt.Errorf("%w: %s comes from L1", ErrOpType, op.Type)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= o.cfg.MaxPending {
		return ErrBusy
	}
	return o.acceptLocked(op)
}

// acceptLocked applies an op and journals it. Priority ops from L1 are
// taken however many L2 ops wait: L1 bounds their rate (PrioritySpacing),
// and a flood of L2 ops must not hold them past their deadline and force
// exit mode. L2 ops wait behind at most MaxPending others.
func (o *Operator) acceptLocked(op Op) error {
	if o.cfg.MaxPending == 0 {
		return ErrStalled
	}
	if err := o.soft.Apply(&op); err != nil {
		return err
	}
	if err := o.journal.Append(record{Op: &op}); err != nil {
		// The op is applied but not durable: stop taking ops rather than
		// diverge from the log.
		o.cfg.MaxPending = 0
		return fmt.Errorf("%w: journal: %w", ErrStalled, err)
	}
	if len(o.pending) == 0 {
		o.oldest = o.cfg.Clock()
	}
	o.pending = append(o.pending, op)
	return nil
}

// pollAndSeal takes new L1 priority ops and seals a batch when one is full
// or its oldest op has waited BatchTimeout.
func (o *Operator) pollAndSeal(ctx context.Context) (bool, error) {
	if err := o.takePriorityOps(ctx); err != nil {
		return false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= o.cfg.Params.Slots || (len(o.pending) > 0 && o.cfg.Clock().Sub(o.oldest) >= o.cfg.BatchTimeout) {
		return true, o.sealLocked()
	}
	return false, nil
}

// sealLocked cuts the next batch from the pending ops and assigns its
// witness, ready for the prover.
func (o *Operator) sealLocked() error {
	n := min(len(o.pending), o.cfg.Params.Slots)
	if err := o.journal.Append(record{Seal: n}); err != nil {
		return err
	}
	return o.cutLocked(n)
}

func (o *Operator) cutLocked(n int) error {
	ops := append([]Op(nil), o.pending[:n]...)
	// Encoding is checked before anything moves, so a batch that cannot be
	// sealed leaves the pending ops and the sealed tree as they were.
	data, err := EncodeOps(o.cfg.FeeAccount, ops)
	if err != nil {
		return fmt.Errorf("%w: encode batch: %w", ErrStalled, err)
	}
	next := o.sealed.Clone()
	a, err := next.Assign(ops, o.cfg.Params.Slots, o.cfg.FeeAccount)
	if err != nil {
		return fmt.Errorf("%w: assign batch: %w", ErrStalled, err)
	}
	o.sealed = next
	o.pending = o.pending[n:]
	o.oldest = o.cfg.Clock()
	b := &batch{Index: uint64(len(o.batches)), Ops: ops, Status: BatchSealed, Root: rootBytes(o.sealed.Root()), Data: data, assignment: a, Sealed: o.cfg.Clock()}
	// Fees are credited when a batch is sealed.
	if err := o.soft.CreditFees(o.cfg.FeeAccount, fees(ops)); err != nil {
		return err
	}
	o.batches = append(o.batches, b)
	o.log.Debug("zk batch sealed", "batch", b.Index, "ops", len(ops))
	o.wake()
	return nil
}

func fees(ops []Op) uint64 {
	var f uint64
	for _, op := range ops {
		f += op.Fee
	}
	return f
}

// nextWith returns the first batch in status s, if every batch before it
// has moved on.
func (o *Operator) nextWith(s BatchStatus) *batch {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.nextWithLocked(s)
}

func (o *Operator) nextWithLocked(s BatchStatus) *batch {
	for _, b := range o.batches {
		if b.Status == s {
			return b
		}
	}
	return nil
}

// proveNext proves the oldest sealed batch.
func (o *Operator) proveNext(ctx context.Context) (bool, error) {
	select {
	case <-o.keyReady:
	default:
		return false, nil
	}
	if o.keyErr != nil {
		return false, o.keyErr
	}
	b := o.nextWith(BatchSealed)
	if b == nil {
		return false, nil
	}
	start := time.Now()
	proof, err := o.keys.Prove(b.assignment)
	if err != nil {
		return false, fmt.Errorf("%w: proving batch %d: %w", ErrStalled, b.Index, err)
	}
	o.mu.Lock()
	b.Proof, b.ProveTime, b.Status, b.assignment = proof, time.Since(start), BatchProven, nil
	o.mu.Unlock()
	o.log.Info("zk batch proven", "batch", b.Index, "ops", len(b.Ops), "took", b.ProveTime.Round(time.Millisecond))
	o.wake()
	return true, nil
}

// SubmitTimeout is how long a batch sent to L1 may stay out before it is
// sent again.
const SubmitTimeout = 2 * time.Minute

// submitNext is the sender's move, which never waits for L1: it confirms
// the batch in flight once L1 has included it (or takes it back to send
// again when it failed or timed out), else sends the oldest proven batch.
// One batch is in flight at a time: each builds on the root the one before
// leaves.
func (o *Operator) submitNext(ctx context.Context) (bool, error) {
	if b := o.nextWith(BatchSubmitted); b != nil {
		return o.confirm(ctx, b)
	}
	b := o.nextWith(BatchProven)
	if b == nil {
		return false, nil
	}
	if ready, err := o.installKey(ctx); err != nil || !ready {
		return false, err
	}
	input, err := VerifierABI.Pack("submitBatch", b.Root, b.Data, b.Proof)
	if err != nil {
		return false, err
	}
	tx, err := ethtx.Send(ctx, o.cfg.L1, o.cfg.Key, VerifierAddress, nil, input, 0)
	if err != nil {
		// A restarted operator may find its batch already verified.
		if n, cerr := o.l1.batchCount(ctx); cerr == nil && n > b.Index {
			return true, o.markVerified(b, common.Hash{})
		}
		return false, fmt.Errorf("submit batch %d: %w", b.Index, err)
	}
	o.mu.Lock()
	b.Status, b.Tx, b.Sent = BatchSubmitted, tx.Hash(), o.cfg.Clock()
	o.mu.Unlock()
	return true, nil
}

// confirm checks the batch in flight on L1. A transaction L1 no longer
// holds (dropped by a recheck when the base fee outgrew its fee cap, or by
// a restarted node) is sent again at once, with a fresh fee: the priority
// deadlines count L1 blocks, which a busy L1 makes fast.
func (o *Operator) confirm(ctx context.Context, b *batch) (bool, error) {
	r, err := o.cfg.L1.TransactionReceipt(ctx, b.Tx)
	switch {
	case errors.Is(err, ethereum.NotFound):
		if o.cfg.Clock().Sub(b.Sent) >= SubmitTimeout {
			err = fmt.Errorf("not included in %v", SubmitTimeout)
		} else if dropped, derr := o.dropped(ctx, b.Tx); derr != nil || !dropped {
			return false, derr
		} else {
			err = errors.New("dropped by L1")
		}
	case err != nil:
		return false, fmt.Errorf("batch %d's receipt: %w", b.Index, err)
	case r.Status == types.ReceiptStatusSuccessful:
		return true, o.markVerified(b, b.Tx)
	default:
		err = errors.New("reverted")
	}
	// An earlier sending of the same batch (one that timed out here) may
	// have verified it.
	if n, cerr := o.l1.batchCount(ctx); cerr == nil && n > b.Index {
		return true, o.markVerified(b, common.Hash{})
	}
	o.mu.Lock()
	b.Status = BatchProven // send again
	o.mu.Unlock()
	return false, fmt.Errorf("batch %d not verified on L1 (tx %s): %w", b.Index, b.Tx, err)
}

// dropped reports whether L1 knows the transaction neither in a block nor
// waiting.
func (o *Operator) dropped(ctx context.Context, tx common.Hash) (bool, error) {
	_, _, err := o.cfg.L1.TransactionByHash(ctx, tx)
	if errors.Is(err, ethereum.NotFound) {
		return true, nil
	}
	return false, err
}

func (o *Operator) markVerified(b *batch, tx common.Hash) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.verified.Replay(b.Data); err != nil {
		return err
	}
	b.Status, b.Verified, b.Proof = BatchVerified, o.cfg.Clock(), nil
	if tx != (common.Hash{}) {
		b.Tx = tx
	}
	o.log.Info("zk batch verified on L1", "batch", b.Index, "ops", len(b.Ops), "tx", b.Tx, "root", b.Root)
	return nil
}

// installKey installs the verifying key on L1 if the contract has none,
// without waiting: it sends the installation, and reports ready on a later
// call, once L1 holds the key.
func (o *Operator) installKey(ctx context.Context) (bool, error) {
	if o.installed {
		return true, nil
	}
	if o.installTx != (common.Hash{}) {
		r, err := o.cfg.L1.TransactionReceipt(ctx, o.installTx)
		if errors.Is(err, ethereum.NotFound) {
			if dropped, err := o.dropped(ctx, o.installTx); err != nil || !dropped {
				return false, err
			}
			o.log.Warn("zk verifying key installation dropped by L1: sending it again", "tx", o.installTx)
		} else if err != nil {
			return false, err
		} else {
			o.log.Info("zk verifying key installation on L1", "bytes", len(o.keys.VKBytes), "tx", r.TxHash, "status", r.Status)
		}
		o.installTx = common.Hash{}
	}
	have, err := o.l1.verifyingKey(ctx)
	if err != nil {
		return false, err
	}
	if len(have) == 0 {
		input, err := VerifierABI.Pack("installVerifyingKey", o.keys.VKBytes)
		if err != nil {
			return false, err
		}
		tx, err := ethtx.Send(ctx, o.cfg.L1, o.cfg.Key, VerifierAddress, nil, input, 0)
		if err != nil {
			return false, fmt.Errorf("install the verifying key: %w", err)
		}
		o.installTx = tx.Hash()
		return false, nil
	}
	if string(have) != string(o.keys.VKBytes) {
		return false, fmt.Errorf("%w: L1 holds another circuit's verifying key", ErrStalled)
	}
	o.installed = true
	return true, nil
}

// takePriorityOps reads L1's priority queue past what the operator took
// and accepts each op, in order.
func (o *Operator) takePriorityOps(ctx context.Context) error {
	_, tail, err := o.l1.queue(ctx)
	if err != nil {
		return err
	}
	for {
		o.mu.Lock()
		i := o.queueNext
		o.mu.Unlock()
		if i >= tail {
			return nil
		}
		p, err := o.l1.priorityOp(ctx, i)
		if err != nil {
			return err
		}
		o.mu.Lock()
		err = o.takeLocked(p)
		o.mu.Unlock()
		if err != nil {
			return fmt.Errorf("priority op %d: %w", i, err)
		}
	}
}

func (o *Operator) takeLocked(p Op) error {
	if p.Type == OpDeposit {
		idx, ok := o.index[p.Address]
		if !ok {
			if o.accounts >= 1<<o.cfg.Params.Depth {
				return fmt.Errorf("%w: the account tree is full", ErrStalled)
			}
			idx = o.accounts
		}
		p.Account = idx
	}
	if err := o.acceptLocked(p); err != nil {
		return err
	}
	o.noteLocked(&p)
	return nil
}

// noteLocked records what an accepted op changes beyond the tree: account
// indexes and the priority queue cursor.
func (o *Operator) noteLocked(op *Op) {
	switch op.Type {
	case OpDeposit:
		if _, ok := o.index[op.Address]; !ok {
			o.index[op.Address] = op.Account
			o.accounts = max(o.accounts, op.Account+1)
		}
		o.queueNext++
	case OpFullExit:
		o.queueNext++
	}
}

// replay rebuilds the operator's state from its journal.
func (o *Operator) replay(records []record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, r := range records {
		switch {
		case r.Op != nil:
			op := *r.Op
			if err := o.soft.Apply(&op); err != nil {
				return fmt.Errorf("zk operator: journal record %d no longer applies: %w", i, err)
			}
			o.pending = append(o.pending, op)
			o.noteLocked(&op)
		case r.Seal > 0:
			if r.Seal > len(o.pending) {
				return fmt.Errorf("zk operator: journal record %d seals %d of %d ops", i, r.Seal, len(o.pending))
			}
			if err := o.cutLocked(r.Seal); err != nil {
				return err
			}
		}
	}
	if len(o.pending) > 0 {
		o.oldest = o.cfg.Clock()
	}
	return nil
}

// catchUp marks the batches L1 already verified.
func (o *Operator) catchUp(ctx context.Context) error {
	n, err := o.l1.batchCount(ctx)
	if err != nil {
		return fmt.Errorf("zk operator: read L1: %w", err)
	}
	if n > uint64(len(o.batches)) {
		return fmt.Errorf("zk operator: L1 verified %d batches, the journal has %d", n, len(o.batches))
	}
	for _, b := range o.batches[:n] {
		if err := o.markVerified(b, common.Hash{}); err != nil {
			return err
		}
	}
	return nil
}
