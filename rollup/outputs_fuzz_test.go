package rollup_test

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// FuzzOutputsInput feeds arbitrary calldata, from a proposer, a challenger
// and a stranger, with and without value, to the outputs contract holding
// an output with two open games: no input may panic it.
func FuzzOutputsInput(f *testing.F) {
	for _, m := range rollup.OutputsABI.Methods {
		f.Add(m.ID)
	}
	f.Add(rolluptest.Must[[]byte](&testing.T{})(rollup.OutputsABI.Pack("respond", big.NewInt(1), big.NewInt(1), true)))
	f.Add(rolluptest.Must[[]byte](&testing.T{})(rollup.OutputsABI.Pack("claimGameBond", big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), 70))))
	f.Add(rolluptest.Must[[]byte](&testing.T{})(rollup.OutputsABI.Pack("getGame", new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(0))))
	p := rollup.L1Params{L2ChainID: 901, ProposerBond: big.NewInt(10), ChallengerBond: big.NewInt(5), FinalizationPeriod: 100, GameClock: 50, SeqWindow: 10}
	proposer, challenger, stranger := common.Address{1}, common.Address{2}, common.Address{3}
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
		if err != nil {
			t.Fatal(err)
		}
		o := rollup.NewOutputs(p)
		run := func(from common.Address, wei int64, time uint64, input []byte) error {
			v := uint256.NewInt(uint64(wei))
			st.AddBalance(rollup.OutputsAddress, v, tracing.BalanceChangeUnspecified)
			snap := st.Snapshot()
			_, err := o.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(int64(time)), Time: time}, Self: rollup.OutputsAddress, Caller: from, Value: v, Input: input})
			if err != nil {
				st.RevertToSnapshot(snap)
				st.SubBalance(rollup.OutputsAddress, v, tracing.BalanceChangeUnspecified)
			}
			return err
		}
		setup := [][]any{
			{proposer, int64(10), "proposeOutput", uint64(4), [32]byte{9}},
			{proposer, int64(5), "challenge", big.NewInt(1)},
			{challenger, int64(5), "challenge", big.NewInt(1)},
			{proposer, int64(0), "defend", big.NewInt(1), big.NewInt(1), [32]byte{8}},
		}
		for i, c := range setup {
			data := rolluptest.Must[[]byte](t)(rollup.OutputsABI.Pack(c[2].(string), c[3:]...))
			if err := run(c[0].(common.Address), c[1].(int64), uint64(10+i), data); err != nil {
				t.Fatalf("setup %d: %v", i, err)
			}
		}
		for _, from := range []common.Address{proposer, challenger, stranger} {
			run(from, 0, 20, in)
			run(from, 5, 200, in) // after every clock and window
		}
	})
}

// Finality is found at most 256 outputs a call; with more outputs waiting,
// anyone calls settle until the one wanted is reached, so no withdrawal is
// stuck behind a long row of final outputs.
func TestSettleAdvancesPastTheStepBound(t *testing.T) {
	p := rollup.L1Params{L2ChainID: 901, ProposerBond: big.NewInt(1), ChallengerBond: big.NewInt(1), FinalizationPeriod: 10, GameClock: 10}
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	o := rollup.NewOutputs(p)
	run := func(time uint64, wei uint64, input []byte) []byte {
		t.Helper()
		v := uint256.NewInt(wei)
		st.AddBalance(rollup.OutputsAddress, v, tracing.BalanceChangeUnspecified)
		out, err := o.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(int64(time)), Time: time}, Self: rollup.OutputsAddress, Caller: common.Address{1}, Value: v, Input: input})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	const n = 600
	for i := range uint64(n) {
		run(1, 1, rolluptest.Must[[]byte](t)(rollup.OutputsABI.Pack("proposeOutput", i+1, [32]byte{byte(i)})))
	}
	if o.FinalOutputIn(st, n, 100, false) {
		t.Fatal("output 600 found final in one look past 256 outputs")
	}
	calls := 0
	for !o.FinalOutputIn(st, n, 100, false) {
		run(100, 0, rolluptest.Must[[]byte](t)(rollup.OutputsABI.Pack("settle")))
		if calls++; calls > 3 {
			t.Fatal("settle does not advance")
		}
	}
	if calls != 2 { // 256, then 512: the last 88 are found in the look itself
		t.Fatalf("%d settle calls for 600 outputs, want 2", calls)
	}
}
