package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/zkrollup"
)

// The attacks on the ZK rollup's L1 contract. They run the contract on a
// bare L1 state, one call at a time at a block number the attack sets,
// with real Groth16 proofs of a small circuit (2 slots, depth 4).

// zkArena is the contract, the operator's tree and the circuit's keys.
type zkArena struct {
	out      io.Writer
	v        *zkrollup.Verifier
	p        zkrollup.VerifierParams
	st       *state.StateDB
	block    uint64
	keys     *zkrollup.Keys
	tree     *zkrollup.Tree
	operator common.Address
	dir      string
}

const zkAttackSlots, zkAttackDepth = 2, 4

func newZKArena(out io.Writer, p zkrollup.VerifierParams) (*zkArena, error) {
	dir, err := os.MkdirTemp("", "cairn-zk-attack-")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "setup: the ZK rollup's L1 contract on a bare L1 state; Groth16 keys for %d slots at depth %d (setup takes seconds)\n", zkAttackSlots, zkAttackDepth)
	keys, err := zkrollup.LoadKeys(dir, zkAttackSlots, zkAttackDepth, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	operator := chain.DevAddress(7)
	tree := zkrollup.GenesisTree(zkAttackDepth, operator)
	tree.SetDomain(p.Domain())
	p.Slots, p.Depth, p.Operator, p.GenesisRoot, p.VerifyingKey = zkAttackSlots, zkAttackDepth, operator, tree.RootHash(), keys.VKBytes
	p.GenesisAccounts = []common.Address{operator}
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &zkArena{out: out, v: zkrollup.NewVerifier(p), p: p, st: st, block: 1, keys: keys, tree: tree, operator: operator, dir: dir}, nil
}

func (a *zkArena) close() { os.RemoveAll(a.dir) }

// call runs one contract call in the current block, as a transaction
// would: the value is credited first and everything reverts on error.
func (a *zkArena) call(from common.Address, wei *big.Int, method string, args ...any) ([]byte, error) {
	var in []byte
	if method != "" {
		var err error
		if in, err = zkrollup.VerifierABI.Pack(method, args...); err != nil {
			return nil, err
		}
	}
	if wei == nil {
		wei = new(big.Int)
	}
	value := uint256.MustFromBig(wei)
	snap := a.st.Snapshot()
	a.st.AddBalance(zkrollup.VerifierAddress, value, tracing.BalanceChangeUnspecified)
	out, err := a.v.Run(&chain.Call{State: a.st, Block: vm.BlockContext{BlockNumber: new(big.Int).SetUint64(a.block)}, Self: zkrollup.VerifierAddress, Caller: from, Value: value, Input: in})
	if err != nil {
		a.st.RevertToSnapshot(snap)
	}
	return out, err
}

// batch proves ops on the operator's tree and submits them.
func (a *zkArena) batch(root func(common.Hash) common.Hash, ops ...zkrollup.Op) error {
	// Applying the ops in turn fills what the tree decides (a full exit's
	// amount), as the operator's soft state does.
	scratch := a.tree.Clone()
	for i := range ops {
		if err := scratch.Apply(&ops[i]); err != nil {
			return err
		}
	}
	next := a.tree.Clone()
	assignment, err := next.Assign(ops, a.keys.Slots, 0)
	if err != nil {
		return err
	}
	proof, err := a.keys.Prove(assignment)
	if err != nil {
		return err
	}
	data, err := zkrollup.EncodeOps(0, ops)
	if err != nil {
		return err
	}
	r := next.RootHash()
	if root != nil {
		r = root(r)
	}
	if _, err := a.call(a.operator, nil, "submitBatch", r, data, proof); err != nil {
		return err
	}
	a.tree = next
	return nil
}

func attackNoncanonicalRoot(ctx context.Context, out io.Writer) error {
	a, err := newZKArena(out, zkrollup.VerifierParams{PriorityDeadline: 10})
	if err != nil {
		return err
	}
	defer a.close()
	user := chain.DevAddress(3)
	fmt.Fprintln(out, "1. a user deposits 1 ETH on L1")
	if _, err := a.call(user, big.NewInt(1e18), ""); err != nil {
		return err
	}
	dep := zkrollup.Op{Type: zkrollup.OpDeposit, Account: 1, Address: user, Amount: 1_000_000_000}
	fmt.Fprintln(out, "2. the operator proves the batch, but submits its new root plus the field's modulus r: the proof checks the root mod r, so it verifies")
	err = a.batch(func(r common.Hash) common.Hash { return common.BigToHash(new(big.Int).Add(r.Big(), fr.Modulus())) }, dep)
	if err == nil {
		return fmt.Errorf("SECURITY FAILURE: the contract stored a root no tree has; exits against it would fail")
	}
	fmt.Fprintf(out, "   refused: %v\n", err)
	fmt.Fprintln(out, "3. the same batch with the canonical root is accepted; later the operator vanishes and the user exits with a Merkle proof")
	if err := a.batch(nil, dep); err != nil {
		return err
	}
	if _, err := a.call(user, nil, "requestExit", uint32(1)); err != nil {
		return err
	}
	a.block += a.p.PriorityDeadline + 1
	if _, err := a.call(user, nil, "activateExitMode"); err != nil {
		return err
	}
	exit, err := zkrollup.ExitCalldata(a.tree, 1)
	if err != nil {
		return err
	}
	before := a.st.GetBalance(user)
	if _, err := a.v.Run(&chain.Call{State: a.st, Block: vm.BlockContext{BlockNumber: new(big.Int).SetUint64(a.block)}, Self: zkrollup.VerifierAddress, Caller: user, Value: new(uint256.Int), Input: exit}); err != nil {
		return fmt.Errorf("SECURITY FAILURE: the exit failed: %w", err)
	}
	fmt.Fprintf(out, "   the exit paid %s ETH\n", ethFloat(new(big.Int).Sub(a.st.GetBalance(user).ToBig(), before.ToBig())))
	fmt.Fprintln(out, "attacker's cost: one batch's Groth16 proof and a reverted L1 call; the operator stakes no bond, so a refused root costs it nothing more (and the exit hatch stays open to every user)")
	fmt.Fprintln(out, "outcome as promised: only canonical roots are stored, so the exit hatch opens against the real tree")
	return nil
}

func attackExitSpam(ctx context.Context, out io.Writer) error {
	const deadline, spacing, requests = 6, 2, 12
	fee := big.NewInt(zkrollup.DevPriorityFee)
	a, err := newZKArena(out, zkrollup.VerifierParams{PriorityDeadline: deadline, PrioritySpacing: spacing, PriorityFee: fee, MinDeposit: zkrollup.DevMinDeposit})
	if err != nil {
		return err
	}
	defer a.close()
	spammer, victim := chain.DevAddress(8), chain.DevAddress(3)
	fmt.Fprintf(out, "rules: a priority op is due %d L1 blocks after its request and at least %d blocks after the op before it; an exit request pays %s ETH; deposits are at least %s ETH\n",
		deadline, spacing, ethFloat(fee), ethFloat(new(big.Int).Mul(big.NewInt(zkrollup.DevMinDeposit), big.NewInt(1e9))))
	fmt.Fprintln(out, "1. the spammer tries to fill the tree with 1-gwei deposits, and to request exits of accounts it does not own, or for free")
	refused := func(what string, err error) error {
		var revert *chain.RevertError
		if !errors.As(err, &revert) {
			return fmt.Errorf("SECURITY FAILURE: %s was accepted (%v)", what, err)
		}
		fmt.Fprintf(out, "   %s refused: %s\n", what, revert.Reason)
		return nil
	}
	_, err = a.call(spammer, big.NewInt(1e9), "")
	if err := refused("a 1-gwei deposit", err); err != nil {
		return err
	}
	if _, err := a.call(victim, big.NewInt(1e18), ""); err != nil {
		return err
	}
	if _, err := a.call(spammer, big.NewInt(1e16), ""); err != nil {
		return err
	}
	_, err = a.call(spammer, fee, "requestExit", uint32(1))
	if err := refused("an exit request for the victim's account", err); err != nil {
		return err
	}
	_, err = a.call(spammer, nil, "requestExit", uint32(2))
	if err := refused("an exit request without the fee", err); err != nil {
		return err
	}
	fmt.Fprintf(out, "2. in one L1 block the spammer sends %d paid exit requests for its own account; the operator clears one batch of %d every %d blocks\n", requests, zkAttackSlots, zkAttackSlots)
	for range requests {
		if _, err := a.call(spammer, fee, "requestExit", uint32(2)); err != nil {
			return err
		}
	}
	queue := []zkrollup.Op{
		{Type: zkrollup.OpDeposit, Account: 1, Address: victim, Amount: 1_000_000_000},
		{Type: zkrollup.OpDeposit, Account: 2, Address: spammer, Amount: 10_000_000},
	}
	for range requests {
		queue = append(queue, zkrollup.Op{Type: zkrollup.OpFullExit, Account: 2, Address: spammer})
	}
	for len(queue) > 0 {
		a.block += zkAttackSlots
		if _, err := a.call(victim, nil, "activateExitMode"); err == nil {
			return fmt.Errorf("SECURITY FAILURE: the spam forced exit mode at L1 block %d", a.block)
		}
		n := min(zkAttackSlots, len(queue))
		if err := a.batch(nil, queue[:n]...); err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		queue = queue[n:]
	}
	fmt.Fprintf(out, "   the operator kept every deadline; exit mode could not be forced (L1 block %d)\n", a.block)
	paid := new(big.Int).Mul(fee, big.NewInt(requests))
	if got := a.st.GetBalance(a.operator).ToBig(); got.Cmp(paid) != 0 {
		return fmt.Errorf("the operator received %v wei in fees, want %v", got, paid)
	}
	fmt.Fprintf(out, "   the spam cost the spammer %s ETH in fees, paid to the operator\n", ethFloat(paid))
	fmt.Fprintln(out, "outcome as promised: priority ops are throttled by their deadlines and priced, so spam delays requests but cannot force exit mode")
	return nil
}
