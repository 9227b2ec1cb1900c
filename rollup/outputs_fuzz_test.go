package rollup

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
)

// FuzzOutputsInput feeds arbitrary calldata, from a proposer, a challenger
// and a stranger, with and without value, to the outputs contract holding
// an output with two open games: no input may panic it.
func FuzzOutputsInput(f *testing.F) {
	for _, m := range OutputsABI.Methods {
		f.Add(m.ID)
	}
	f.Add(must[[]byte](&testing.T{})(OutputsABI.Pack("respond", big.NewInt(1), big.NewInt(1), true)))
	f.Add(must[[]byte](&testing.T{})(OutputsABI.Pack("claimGameBond", big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), 70))))
	f.Add(must[[]byte](&testing.T{})(OutputsABI.Pack("getGame", new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(0))))
	p := L1Params{L2ChainID: 901, ProposerBond: big.NewInt(10), ChallengerBond: big.NewInt(5), FinalizationPeriod: 100, GameClock: 50, SeqWindow: 10}
	proposer, challenger, stranger := common.Address{1}, common.Address{2}, common.Address{3}
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
		if err != nil {
			t.Fatal(err)
		}
		o := NewOutputs(p)
		run := func(from common.Address, wei int64, time uint64, input []byte) error {
			v := uint256.NewInt(uint64(wei))
			st.AddBalance(OutputsAddress, v, tracing.BalanceChangeUnspecified)
			snap := st.Snapshot()
			_, err := o.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(int64(time)), Time: time}, Self: OutputsAddress, Caller: from, Value: v, Input: input})
			if err != nil {
				st.RevertToSnapshot(snap)
				st.SubBalance(OutputsAddress, v, tracing.BalanceChangeUnspecified)
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
			data := must[[]byte](t)(OutputsABI.Pack(c[2].(string), c[3:]...))
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
