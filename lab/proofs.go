package lab

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// ProofsConfig configures RunProofs.
type ProofsConfig struct {
	BlockSizes     []int // transfers per L2 block; default 1, 100, 1,000
	SkipWithdrawal bool
	Out            io.Writer
}

// StepFigure is one block's one-step proof.
type StepFigure struct {
	Transfers    int
	WitnessBytes int
	CalldataLen  int
	L1Gas        uint64
	Fits         bool // within the L1's transaction size and the per-transaction gas cap
	Verify       time.Duration
	// The same block proven in parts (loadBatch, then stepPart), each L1
	// transaction within rollup.DefaultPartBudget bytes.
	Loads, Parts  int
	MaxPartBytes  int    // calldata of the largest load or part
	MaxPartGas    uint64 // L1 gas of the costliest one
	TotalPartsGas uint64
	PartsWitness  int // witness bytes over all parts
	VerifyInParts time.Duration
}

// ProofsResult is what RunProofs measured.
type ProofsResult struct {
	Steps []StepFigure
	// Withdrawal on a devnet, from the L2 transaction to payment on L1.
	ToProvable, ToProven, ToFinalized time.Duration
	Window                            time.Duration
}

// maxTxGas is EIP-7825's cap on one transaction's gas (Osaka).
const maxTxGas = 1 << 24

// RunProofs measures one-step proofs of L2 blocks of several sizes and a
// withdrawal's latency on a devnet.
func RunProofs(ctx context.Context, cfg ProofsConfig) (*ProofsResult, error) {
	if len(cfg.BlockSizes) == 0 {
		cfg.BlockSizes = []int{1, 100, 1_000}
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	res := &ProofsResult{}
	for _, n := range cfg.BlockSizes {
		fmt.Fprintf(out, "one-step proof of an L2 block of %d transfers...\n", n)
		f, err := stepFigure(ctx, n)
		if err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, *f)
	}
	if !cfg.SkipWithdrawal {
		fmt.Fprintf(out, "withdrawal on a devnet (challenge window %d s)...\n", rollup.DevFinalizationPeriod)
		if err := withdrawalLatency(ctx, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func stepFigure(ctx context.Context, n int) (*StepFigure, error) {
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	seq, err := ethclient.Dial(s.Sequencer.RPCURL())
	if err != nil {
		return nil, err
	}
	defer seq.Close()
	// n transfers from the ten funded accounts to random recipients.
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(s.Config.L2ChainID))
	for i := range n {
		k := uint32(i % 10)
		to := common.BytesToAddress(crypto.Keccak256([]byte{byte(i), byte(i >> 8), 0x5e})[:20])
		tx := types.MustSignNewTx(chain.DevKey(k), signer, &types.DynamicFeeTx{
			ChainID: new(big.Int).SetUint64(s.Config.L2ChainID), Nonce: uint64(i / 10), To: &to, Value: big.NewInt(1), Gas: 21_000,
			GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: big.NewInt(params.GWei),
		})
		if err := seq.SendTransaction(ctx, tx); err != nil {
			return nil, err
		}
	}
	b, err := s.Sequence(ctx)
	if err != nil {
		return nil, err
	}
	if len(b.Transactions()) != n {
		return nil, fmt.Errorf("block holds %d transfers, want %d", len(b.Transactions()), n)
	}
	if err := s.Batch(ctx); err != nil {
		return nil, err
	}
	if err := rolluptest.Derive(ctx, s.Verifier); err != nil {
		return nil, err
	}
	proof, err := s.Verifier.StepProof(b.NumberU64())
	if err != nil {
		return nil, err
	}
	raw, err := rlp.EncodeToBytes(proof)
	if err != nil {
		return nil, err
	}
	data, err := rollup.OutputsABI.Pack("step", big.NewInt(1), new(big.Int), raw)
	if err != nil {
		return nil, err
	}
	f := &StepFigure{Transfers: n, WitnessBytes: len(proof.Witness), CalldataLen: len(data)}
	f.L1Gas = params.TxGas + calldataFloor(data) + rollup.NewOutputs(s.Config.Proofs).RequiredGas(data)
	f.Fits = len(data) < l1.DefaultMaxTxSize-1024 && f.L1Gas <= maxTxGas
	// Verify it as the L1 contract does.
	pre, err := rollup.OutputAt(s.Verifier.Chain(), b.NumberU64()-1)
	if err != nil {
		return nil, err
	}
	post, err := rollup.OutputAt(s.Verifier.Chain(), b.NumberU64())
	if err != nil {
		return nil, err
	}
	l1State, err := s.L1.Chain().StateAt(s.L1.Head().Root)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	got, err := rollup.VerifyStep(proof, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State)
	f.Verify = time.Since(t0)
	if err != nil {
		return nil, err
	}
	if got != post.Root() {
		return nil, fmt.Errorf("the proof of block %d gives %s, the chain has %s", b.NumberU64(), got, post.Root())
	}
	if err := partsFigure(f, s, b.NumberU64(), pre.Root(), post.Root()); err != nil {
		return nil, err
	}
	return f, nil
}

// partsFigure measures the block's proof in parts and verifies it on a
// copy of the L1 state as the outputs contract does.
func partsFigure(f *StepFigure, s *rolluptest.System, number uint64, pre, post common.Hash) error {
	proof, err := s.Verifier.StepParts(number, rollup.DefaultPartBudget)
	if err != nil {
		return err
	}
	f.Loads, f.Parts = len(proof.Loads), len(proof.Parts)
	count := func(method string, args ...any) error {
		data, err := rollup.OutputsABI.Pack(method, args...)
		gas := params.TxGas + calldataFloor(data) + rollup.NewOutputs(s.Config.Proofs).RequiredGas(data)
		f.MaxPartBytes, f.MaxPartGas = max(f.MaxPartBytes, len(data)), max(f.MaxPartGas, gas)
		f.TotalPartsGas += gas
		return err
	}
	for _, l := range proof.Loads {
		raw, _ := rlp.EncodeToBytes(&l)
		if err := count("loadBatch", raw); err != nil {
			return err
		}
	}
	for _, p := range proof.Parts {
		raw, _ := rlp.EncodeToBytes(&p)
		if err := count("stepPart", big.NewInt(1), new(big.Int), raw); err != nil {
			return err
		}
		for _, n := range p.Witness.Nodes {
			f.PartsWitness += len(n)
		}
		for _, c := range p.Witness.Codes {
			f.PartsWitness += len(c)
		}
	}
	st, err := s.L1.Chain().StateAt(s.L1.Head().Root)
	if err != nil {
		return err
	}
	t0 := time.Now()
	got, err := rollup.VerifyParted(st, proof, pre, number, rollup.AnyL1Block, &s.Config.Proofs)
	f.VerifyInParts = time.Since(t0)
	if err != nil {
		return err
	}
	if got != post {
		return fmt.Errorf("the parts of block %d prove %s, the chain has %s", number, got, post)
	}
	return nil
}

// calldataFloor is EIP-7623's floor cost of calldata: 10 gas per token, a
// zero byte one token and any other byte four.
func calldataFloor(data []byte) uint64 {
	var tokens uint64
	for _, b := range data {
		if b == 0 {
			tokens++
		} else {
			tokens += 4
		}
	}
	return tokens * params.TxCostFloorPerToken
}

func withdrawalLatency(ctx context.Context, res *ProofsResult) error {
	d, err := devnet.Start(devnet.Config{Sidechain: devnet.SidechainOptions{RPCPort: -1}, ZK: devnet.ZKOptions{RPCPort: -1}, ExplorerPort: -1, Validators: 2, BlockTime: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer d.Stop()
	if err := d.L1.WaitHeight(ctx, 1); err != nil {
		return err
	}
	l1c, err := ethclient.DialContext(ctx, d.L1RPC(0))
	if err != nil {
		return err
	}
	defer l1c.Close()
	l2c, err := ethclient.DialContext(ctx, d.Rollup.Verifier.RPCURL())
	if err != nil {
		return err
	}
	defer l2c.Close()
	seq, err := ethclient.DialContext(ctx, d.Rollup.Sequencer.RPCURL())
	if err != nil {
		return err
	}
	defer seq.Close()
	user := chain.DevKey(5)
	// Fund the portal: withdrawals are paid from deposits.
	dep, err := ethtx.Send(ctx, l1c, user, rollup.PortalAddress, big.NewInt(params.Ether), nil, 21_000)
	if err != nil {
		return err
	}
	if _, err := ethtx.WaitReceipt(ctx, l1c, dep.Hash()); err != nil {
		return err
	}
	t0 := time.Now()
	tx, err := ethtx.Send(ctx, seq, user, rollup.MessagePasserAddress, big.NewInt(params.Ether/2), nil, 100_000)
	if err != nil {
		return err
	}
	if _, err := ethtx.WaitReceipt(ctx, seq, tx.Hash()); err != nil {
		return err
	}
	var (
		w     *rollup.Withdrawal
		block uint64
		data  []byte
		view  = rollup.L1View{C: l1c}
	)
	for {
		if w == nil {
			w, block, _ = rollup.FindWithdrawal(ctx, l2c, tx.Hash())
		}
		if w != nil {
			if data, _, err = rollup.ProveCalldata(ctx, view, l2c, w, block); err == nil {
				break
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for an output: %w", err)
		}
	}
	res.ToProvable = time.Since(t0)
	prove, err := ethtx.Send(ctx, l1c, user, rollup.PortalAddress, nil, data, 0)
	if err != nil {
		return err
	}
	if _, err := ethtx.WaitReceipt(ctx, l1c, prove.Hash()); err != nil {
		return err
	}
	res.ToProven = time.Since(t0)
	fin, _ := rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode())
	for {
		tx, err := ethtx.Send(ctx, l1c, user, rollup.PortalAddress, nil, fin, 0)
		if err == nil {
			r, err := ethtx.WaitReceipt(ctx, l1c, tx.Hash())
			if err != nil {
				return err
			}
			if r.Status == types.ReceiptStatusSuccessful {
				break
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("waiting to finalize: %w", err)
		}
	}
	res.ToFinalized = time.Since(t0)
	res.Window = rollup.DevFinalizationPeriod * time.Second
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Print writes the result.
func (r *ProofsResult) Print(w io.Writer) {
	fmt.Fprintf(w, "one-step proofs (re-executing one L2 block on L1 from a go-ethereum witness):\n")
	fmt.Fprintf(w, "  %10s %14s %14s %14s %10s %s\n", "transfers", "witness bytes", "calldata bytes", "L1 gas", "verify", "fits one L1 tx")
	for _, f := range r.Steps {
		fmt.Fprintf(w, "  %10d %14d %14d %14d %10v %v\n", f.Transfers, f.WitnessBytes, f.CalldataLen, f.L1Gas, f.Verify.Round(time.Millisecond), f.Fits)
	}
	fmt.Fprintf(w, "the same blocks proven in parts (loadBatch, then stepPart), each L1 transaction at most %d bytes:\n", rollup.DefaultPartBudget)
	fmt.Fprintf(w, "  %10s %6s %6s %16s %14s %14s %14s %10s\n", "transfers", "loads", "parts", "largest tx bytes", "largest tx gas", "total L1 gas", "witness bytes", "verify")
	for _, f := range r.Steps {
		fmt.Fprintf(w, "  %10d %6d %6d %16d %14d %14d %14d %10v\n", f.Transfers, f.Loads, f.Parts, f.MaxPartBytes, f.MaxPartGas, f.TotalPartsGas, f.PartsWitness, f.VerifyInParts.Round(time.Millisecond))
	}
	if r.ToFinalized > 0 {
		fmt.Fprintf(w, "withdrawal on a devnet: provable after %v (output posted and derived), proven after %v, finalized after %v (challenge window %v)\n",
			r.ToProvable.Round(time.Millisecond), r.ToProven.Round(time.Millisecond), r.ToFinalized.Round(time.Millisecond), r.Window)
	}
}
