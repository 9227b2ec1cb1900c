package lab

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"runtime"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/wing/wingtest"
	"github.com/cairn-dev/cairn/zkrollup"
)

// ZKConfig configures RunZK.
type ZKConfig struct {
	Slots  []int // batch sizes; default 4, 16, 32
	Depth  int   // account tree depth; default 20
	KeyDir string
	// Proofs per size (default 2); the figure is their mean.
	Proofs int
	// FinalitySlots sizes the end-to-end run: one of Slots (default the
	// first); any other value skips it.
	FinalitySlots int
	L1BlockTime   time.Duration // the end-to-end run's L1 block time (default 1 s)
	Out           io.Writer
	Log           *slog.Logger
}

// ZKFigure is one batch size's measurements.
type ZKFigure struct {
	Slots, Constraints int
	Setup              time.Duration // 0 when the keys came from the cache
	Prove, Verify      time.Duration // per batch
	ProvenTPS          float64       // transfers per second of proving
	NativeTPS          float64       // the same transfers checked and applied natively (the baseline)
	L1BytesPerTransfer float64
	L1Gas              uint64  // the batch submission's gas
	PeakRSSMiB         float64 // the process's peak so far
}

// ZKResult is what RunZK measured.
type ZKResult struct {
	Depth   int
	Figures []ZKFigure
	// Finality is the time from sending a full batch of transfers to the
	// operator to L1 verifying it, on an operator run with L1 blocks every
	// L1BlockTime.
	Finality      time.Duration
	FinalitySlots int
}

// RunZK measures the ZK rollup's batch proofs at several sizes, and the
// time from submission to finality on an operator.
func RunZK(ctx context.Context, cfg ZKConfig) (*ZKResult, error) {
	if len(cfg.Slots) == 0 {
		cfg.Slots = []int{4, 16, 32}
	}
	cfg.Depth = cmp.Or(cfg.Depth, 20)
	cfg.Proofs = cmp.Or(cfg.Proofs, 2)
	cfg.FinalitySlots = cmp.Or(cfg.FinalitySlots, cfg.Slots[0])
	cfg.L1BlockTime = cmp.Or(cfg.L1BlockTime, time.Second)
	if cfg.KeyDir == "" {
		cfg.KeyDir = zkrollup.DefaultKeyDir()
	}
	out, log := outputs(cfg.Out, cfg.Log)
	res := &ZKResult{Depth: cfg.Depth}
	fmt.Fprintf(out, "ZK rollup: Groth16 on BN254, Poseidon2 account tree of depth %d, on %d CPUs\n", cfg.Depth, runtime.NumCPU())
	fmt.Fprintf(out, "%6s %12s %10s %9s %9s %12s %12s %8s %10s %9s %9s\n", "slots", "constraints", "setup", "prove", "verify", "proven tx/s", "native tx/s", "ratio", "L1 B/tx", "L1 gas", "peak MiB")
	for _, n := range cfg.Slots {
		f, keys, err := zkFigure(ctx, cfg, n, log)
		if err != nil {
			return nil, fmt.Errorf("%d slots: %w", n, err)
		}
		res.Figures = append(res.Figures, *f)
		if n == cfg.FinalitySlots { // with these keys, before the next size's keys replace them
			if res.Finality, err = zkFinality(ctx, cfg, keys, log); err != nil {
				return nil, fmt.Errorf("finality: %w", err)
			}
			res.FinalitySlots = n
		}
		setup := "cached"
		if f.Setup > 0 {
			setup = f.Setup.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(out, "%6d %12d %10s %9s %9s %12.2f %12.0f %7.0fx %10.1f %9d %9.0f\n", n, f.Constraints, setup, f.Prove.Round(time.Millisecond),
			f.Verify.Round(10*time.Microsecond), f.ProvenTPS, f.NativeTPS, f.NativeTPS/f.ProvenTPS, f.L1BytesPerTransfer, f.L1Gas, f.PeakRSSMiB)
	}
	fmt.Fprintf(out, "ratio: native tx/s over proven tx/s, measured in this run (the cost of proving)\n")
	if res.FinalitySlots > 0 {
		fmt.Fprintf(out, "submission to finality (a full batch of %d transfers, L1 blocks every %v): %v\n", res.FinalitySlots, cfg.L1BlockTime, res.Finality.Round(10*time.Millisecond))
	}
	return res, nil
}

// zkUsers are funded, registered accounts on a tree: user i owns account
// i+1 (account 0 is the operator's).
type zkUsers struct {
	tree *zkrollup.Tree
	l1   []*ecdsa.PrivateKey
}

func newZKUsers(d zkrollup.Domain, depth, n int, operator common.Address) (*zkUsers, error) {
	u := &zkUsers{tree: zkrollup.GenesisTree(depth, operator)}
	u.tree.SetDomain(d)
	for i := range n {
		k := chain.DevKey(uint32(1000 + i))
		u.l1 = append(u.l1, k)
		addr := crypto.PubkeyToAddress(k.PublicKey)
		reg := zkrollup.Op{Type: zkrollup.OpRegister, Account: uint64(i + 1), Address: addr, PubKey: zkrollup.PubKeyBytes(zkrollup.L2Key(k))}
		if err := reg.SignRegister(k, d); err != nil {
			return nil, err
		}
		for _, op := range []zkrollup.Op{{Type: zkrollup.OpDeposit, Account: uint64(i + 1), Address: addr, Amount: 1_000_000_000}, reg} {
			if err := u.tree.Apply(&op); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// transfers returns n signed transfers, user i paying user i+1.
func (u *zkUsers) transfers(n int) ([]zkrollup.Op, error) {
	ops := make([]zkrollup.Op, n)
	for i := range ops {
		from := uint64(i%len(u.l1) + 1)
		to := from%uint64(len(u.l1)) + 1
		ops[i] = zkrollup.Op{Type: zkrollup.OpTransfer, Account: from, To: to, Amount: 1_000, Fee: 10, Nonce: u.tree.Account(from).Nonce}
		if err := ops[i].Sign(zkrollup.L2Key(u.l1[from-1]), u.tree.Domain()); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// zkFigure measures one batch size and returns the size's keys too.
func zkFigure(ctx context.Context, cfg ZKConfig, n int, log *slog.Logger) (*ZKFigure, *zkrollup.Keys, error) {
	keys, err := zkrollup.LoadKeys(cfg.KeyDir, n, cfg.Depth, log)
	if err != nil {
		return nil, nil, err
	}
	f := &ZKFigure{Slots: n, Constraints: keys.CS.GetNbConstraints(), Setup: keys.SetupTime}
	operator := common.Address{0x0e}
	users, err := newZKUsers(zkrollup.VerifierParams{}.Domain(), cfg.Depth, n+1, operator)
	if err != nil {
		return nil, nil, err
	}
	p := zkrollup.VerifierParams{Slots: n, Depth: cfg.Depth, VerifyingKey: keys.VKBytes, GenesisRoot: users.tree.RootHash(), Operator: operator, PriorityDeadline: 1}
	contract, err := newContractRunner(p)
	if err != nil {
		return nil, nil, err
	}
	// The baseline: the same checks natively (signatures, nonces, balances, tree updates).
	ops, err := users.transfers(n)
	if err != nil {
		return nil, nil, err
	}
	native := users.tree.Clone()
	t0 := time.Now()
	for i := range ops {
		op := ops[i]
		if err := native.Apply(&op); err != nil {
			return nil, nil, err
		}
	}
	f.NativeTPS = float64(n) / time.Since(t0).Seconds()

	for range cfg.Proofs {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		ops, err := users.transfers(n)
		if err != nil {
			return nil, nil, err
		}
		a, err := users.tree.Assign(ops, n, 0)
		if err != nil {
			return nil, nil, err
		}
		t := time.Now()
		proof, err := keys.Prove(a)
		if err != nil {
			return nil, nil, err
		}
		f.Prove += time.Since(t)
		data, err := zkrollup.EncodeOps(0, ops)
		if err != nil {
			return nil, nil, err
		}
		f.L1BytesPerTransfer = float64(len(data)-zkrollup.HeaderBytes) / float64(n)
		t = time.Now()
		gas, err := contract.submit(operator, users.tree.RootHash(), data, proof)
		if err != nil {
			return nil, nil, err
		}
		f.Verify += time.Since(t)
		f.L1Gas = gas
	}
	f.Prove /= time.Duration(cfg.Proofs)
	f.Verify /= time.Duration(cfg.Proofs)
	f.ProvenTPS = float64(n) / f.Prove.Seconds()
	f.PeakRSSMiB = peakRSSMiB()
	return f, keys, nil
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

// zkFinality runs an operator against a hand-mined L1 making a block every
// L1BlockTime, funds n+1 users through it, then times a full batch of
// transfers from the first one's submission to L1 verifying the batch.
func zkFinality(ctx context.Context, cfg ZKConfig, keys *zkrollup.Keys, log *slog.Logger) (time.Duration, error) {
	n := keys.Slots
	opKey := chain.DevKey(103)
	opAddr := crypto.PubkeyToAddress(opKey.PublicKey)
	p := zkrollup.DevParams(wingtest.L1MinerChainID, n, cfg.Depth, opAddr)
	users, err := newZKUsers(p.Domain(), cfg.Depth, n+1, opAddr) // keys only: the operator builds its own tree
	if err != nil {
		return 0, err
	}
	alloc := types.GenesisAlloc{opAddr: {Balance: big.NewInt(params.Ether)}}
	for _, k := range users.l1 {
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: big.NewInt(params.Ether)}
	}
	m, err := wingtest.NewL1Miner(alloc, zkrollup.NewVerifier(p))
	if err != nil {
		return 0, err
	}
	defer m.Close()
	m.BlockTime = uint64(max(1, cfg.L1BlockTime/time.Second))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(cfg.L1BlockTime):
				m.Mine()
			}
		}
	}()
	op, err := zkrollup.StartOperator(ctx, zkrollup.OperatorConfig{Params: p, L1: m.Client(), Key: opKey, Keys: keys, BatchTimeout: time.Second, Poll: 100 * time.Millisecond, Log: log})
	if err != nil {
		return 0, err
	}
	defer op.Close()
	// Fund and register everyone through L1 and the operator.
	for _, k := range users.l1 {
		if _, err := ethtx.Send(ctx, m.Client(), k, zkrollup.VerifierAddress, big.NewInt(params.GWei*1_000_000), nil, 200_000); err != nil {
			return 0, err
		}
	}
	for i, k := range users.l1 {
		reg := zkrollup.Op{Type: zkrollup.OpRegister, Account: uint64(i + 1), Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: zkrollup.PubKeyBytes(zkrollup.L2Key(k))}
		if err := reg.SignRegister(k, p.Domain()); err != nil {
			return 0, err
		}
		for op.Submit(reg) != nil { // until the operator has taken the deposit from L1
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if err := waitVerified(ctx, op); err != nil {
		return 0, err
	}
	ops, err := users.transfers(n)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for _, t := range ops {
		if err := op.Submit(t); err != nil {
			return 0, err
		}
	}
	if err := waitVerified(ctx, op); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// waitVerified waits until every op the operator accepted is verified on L1.
func waitVerified(ctx context.Context, op *zkrollup.Operator) error {
	for {
		s := op.Status()
		if s.Pending == 0 && s.Verified == s.Batches {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// contractRunner runs the ZK rollup's L1 contract on a bare state.
type contractRunner struct {
	v     *zkrollup.Verifier
	st    *state.StateDB
	block int64
}

func newContractRunner(p zkrollup.VerifierParams) (*contractRunner, error) {
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		return nil, err
	}
	return &contractRunner{v: zkrollup.NewVerifier(p), st: st}, nil
}

// submit runs submitBatch and returns the transaction's gas: intrinsic,
// calldata and the contract's.
func (c *contractRunner) submit(from common.Address, root common.Hash, data, proof []byte) (uint64, error) {
	input, err := zkrollup.VerifierABI.Pack("submitBatch", root, data, proof)
	if err != nil {
		return 0, err
	}
	c.block++
	if _, err := c.v.Run(&chain.Call{State: c.st, Block: vm.BlockContext{BlockNumber: big.NewInt(c.block)}, Self: zkrollup.VerifierAddress,
		Caller: from, Value: new(uint256.Int), Input: input}); err != nil {
		return 0, err
	}
	gas := params.TxGas + c.v.RequiredGas(input)
	for _, b := range input {
		if b == 0 {
			gas += params.TxDataZeroGas
		} else {
			gas += params.TxDataNonZeroGasEIP2028
		}
	}
	return gas, nil
}
