package rolluptest

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
)

// story is the shared Story with a test's failures.
type story struct {
	*Story
	t          *testing.T
	ctx        context.Context
	proposer   *agents.Agent
	challenger *agents.Agent
	l1         *ethclient.Client
	l2         *ethclient.Client
}

func newStory(t *testing.T, proposer, challenger agents.Config) *story {
	return newStoryWith(t, Options{}, proposer, challenger)
}

func newStoryWith(t *testing.T, opts Options, proposer, challenger agents.Config) *story {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := NewStory(ctx, opts, proposer, challenger, chain.DevKey(8), chain.DevKey(9))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &story{Story: s, t: t, ctx: ctx, proposer: s.Proposer, challenger: s.Challenger, l1: s.L1C, l2: s.L2C}
}

// l2Block sequences a block, posts it and lets the verifier derive it.
func (st *story) l2Block() {
	st.t.Helper()
	if err := st.L2Block(); err != nil {
		st.t.Fatal(err)
	}
}

// round lets both agents act and mines what they sent.
func (st *story) round() {
	st.t.Helper()
	if _, err := st.Round(nil); err != nil {
		st.t.Fatal(err)
	}
}

func (st *story) output(i uint64) *rollup.OutputInfo {
	return Must[*rollup.OutputInfo](st.t)(rollup.L1View{C: st.l1}.Output(st.ctx, i))
}

func (st *story) balance(a common.Address) *big.Int {
	return Must[*big.Int](st.t)(st.l1.BalanceAt(st.ctx, a, nil))
}

// deposit puts value in the portal from dev account i and onto L2.
func (st *story) deposit(i uint32, value *big.Int) {
	SendL1(st.t, st.ctx, st.System, i, rollup.PortalAddress, value, nil, 21_000)
	Must2[*types.Block, []chain.Skip](st.t)(st.L1.Mine())
	st.l2Block()
}

// withdraw starts a withdrawal of value from dev account i on L2.
func (st *story) withdraw(i uint32, value *big.Int) (*rollup.Withdrawal, uint64) {
	seq := Dial(st.t, st.Sequencer.RPCURL())
	tx := Must[*types.Transaction](st.t)(ethtx.Send(st.ctx, seq, chain.DevKey(i), rollup.MessagePasserAddress, value, nil, 100_000))
	st.l2Block()
	w, n, err := rollup.FindWithdrawal(st.ctx, st.l2, tx.Hash())
	if err != nil {
		st.t.Fatal(err)
	}
	return w, n
}

func (st *story) portalCall(i uint32, data []byte) error {
	_, err := ethtx.Send(st.ctx, st.l1, chain.DevKey(i), rollup.PortalAddress, nil, data, 0)
	if err == nil {
		Must2[*types.Block, []chain.Skip](st.t)(st.L1.Mine())
	}
	return err
}

// A withdrawal is started on L2, proven on L1 against a proposed output,
// refused inside the challenge window, paid after it, and only once.
func TestActionWithdrawal(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	alice := chain.DevAddress(3)
	st.deposit(3, Ether(5))
	w, n := st.withdraw(3, Ether(2))
	if w.Sender != alice || w.Target != alice || w.Value.Cmp(Ether(2)) != 0 {
		t.Fatalf("withdrawal %+v", w)
	}
	st.round() // the proposer posts an output covering it
	if out := st.output(1); out.L2Block < n || out.Status != rollup.OutputProposed {
		t.Fatalf("output %+v", out)
	}
	data, _, err := rollup.ProveCalldata(st.ctx, rollup.L1View{C: st.l1}, st.l2, w, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.portalCall(3, data); err != nil {
		t.Fatalf("prove: %v", err)
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode()))
	if err := st.portalCall(3, fin); err == nil || !strings.Contains(err.Error(), "challenge window") {
		t.Fatalf("finalized inside the window: %v", err)
	}
	for range rollup.DevFinalizationPeriod/2 + 1 {
		st.round()
	}
	before := st.balance(alice)
	if err := st.portalCall(3, fin); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if got := new(big.Int).Sub(st.balance(alice), before); got.Cmp(Ether(2)) > 0 || got.Cmp(Ether(1)) < 0 {
		t.Fatalf("alice received %v, want 2 ETH less gas", got)
	}
	if err := st.portalCall(3, fin); err == nil || !strings.Contains(err.Error(), "already finalized") {
		t.Fatalf("finalized twice: %v", err)
	}
}

// receiverCode is L1 runtime code that records what a withdrawal's call
// brings: slot 0 = portal.l2Sender(), slot 1 = msg.value, slot 2 = the
// first calldata word, slot 3 = 1 + the success of calling back into the
// portal with 1 wei (a deposit attempted from inside the call).
func receiverCode() []byte {
	code := []byte{0x63}
	code = append(code, rollup.PortalABI.Methods["l2Sender"].ID...)
	code = append(code, 0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52, // mstore(0, selector << 224)
		0x60, 0x20, 0x60, 0x00, 0x60, 0x04, 0x60, 0x00, 0x73) // staticcall(gas, portal, 0, 4, 0, 32)
	code = append(code, rollup.PortalAddress.Bytes()...)
	code = append(code, 0x5a, 0xfa, 0x50,
		0x60, 0x00, 0x51, 0x60, 0x00, 0x55, // sstore(0, mload(0))
		0x34, 0x60, 0x01, 0x55, // sstore(1, callvalue)
		0x60, 0x00, 0x35, 0x60, 0x02, 0x55, // sstore(2, calldataload(0))
		0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x01, 0x73) // call(gas, portal, 1, 0, 0, 0, 0)
	code = append(code, rollup.PortalAddress.Bytes()...)
	return append(code, 0x5a, 0xf1, 0x60, 0x01, 0x01, 0x60, 0x03, 0x55, 0x00) // sstore(3, success + 1)
}

// A withdrawal carries a call: on finalization the portal calls its target
// on L1 with the value, the data and exactly the gas limit the L2 sender
// chose, and the target can ask the portal who sent it on L2. A target that
// reverts leaves the ETH in the portal and the withdrawal spent, as on the
// OP Stack.
func TestActionWithdrawalCall(t *testing.T) {
	receiver := common.HexToAddress("0x00000000000000000000000000000000000C0FFE")
	reverter := common.HexToAddress("0x0000000000000000000000000000000000000BAD")
	st := newStoryWith(t, Options{L1Alloc: types.GenesisAlloc{
		receiver: {Code: receiverCode(), Balance: new(big.Int)},
		reverter: {Code: []byte{0x60, 0x00, 0x60, 0x00, 0xfd}, Balance: new(big.Int)}, // revert(0, 0)
	}}, agents.Config{}, agents.Config{})
	alice, relayer := chain.DevAddress(3), uint32(4)
	st.deposit(3, Ether(5))

	seq := Dial(t, st.Sequencer.RPCURL())
	word := common.BigToHash(big.NewInt(42))
	send := func(target common.Address, gas int64) (*rollup.Withdrawal, uint64) {
		data := Must[[]byte](t)(rollup.MessagePasserABI.Pack("initiateWithdrawal", target, big.NewInt(gas), word.Bytes()))
		tx := Must[*types.Transaction](t)(ethtx.Send(st.ctx, seq, chain.DevKey(3), rollup.MessagePasserAddress, Ether(1), data, 200_000))
		st.l2Block()
		return Must2[*rollup.Withdrawal, uint64](t)(rollup.FindWithdrawal(st.ctx, st.l2, tx.Hash()))
	}
	// A gas limit no L1 transaction could give is refused on L2.
	tooMuch := Must[[]byte](t)(rollup.MessagePasserABI.Pack("initiateWithdrawal", receiver, big.NewInt(rollup.MaxWithdrawalGas+1), []byte(nil)))
	if _, err := ethtx.Send(st.ctx, seq, chain.DevKey(3), rollup.MessagePasserAddress, nil, tooMuch, 0); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("gas limit over the maximum accepted: %v", err)
	}
	good, _ := send(receiver, 200_000)
	bad, n := send(reverter, 50_000)
	st.round() // an output covering both
	for _, w := range []*rollup.Withdrawal{good, bad} {
		data, _ := Must2[[]byte, *rollup.OutputInfo](t)(rollup.ProveCalldata(st.ctx, rollup.L1View{C: st.l1}, st.l2, w, n))
		if err := st.portalCall(relayer, data); err != nil {
			t.Fatalf("prove: %v", err)
		}
	}
	for range rollup.DevFinalizationPeriod/2 + 1 {
		st.round()
	}
	portalBefore := st.balance(rollup.PortalAddress)
	finalize := func(w *rollup.Withdrawal) bool {
		t.Helper()
		fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode()))
		tx := Must[*types.Transaction](t)(ethtx.Send(st.ctx, st.l1, chain.DevKey(relayer), rollup.PortalAddress, nil, fin, 0))
		Must2[*types.Block, []chain.Skip](t)(st.L1.Mine())
		r := Must[*types.Receipt](t)(st.l1.TransactionReceipt(st.ctx, tx.Hash()))
		ev := rollup.PortalABI.Events["WithdrawalFinalized"]
		for _, l := range r.Logs {
			if l.Topics[0] == ev.ID && l.Topics[1] == w.Hash() {
				return Must[[]any](t)(ev.Inputs.NonIndexed().Unpack(l.Data))[0].(bool)
			}
		}
		t.Fatalf("no WithdrawalFinalized in %+v", r)
		return false
	}
	if !finalize(good) {
		t.Fatal("the call to the receiver failed")
	}
	slot := func(i byte) common.Hash {
		return common.BytesToHash(Must[[]byte](t)(st.l1.StorageAt(st.ctx, receiver, common.Hash{31: i}, nil)))
	}
	if got := common.BytesToAddress(slot(0).Bytes()); got != alice {
		t.Errorf("l2Sender() inside the call = %s, want the L2 sender %s (not the relayer)", got, alice)
	}
	if got := slot(1).Big(); got.Cmp(Ether(1)) != 0 {
		t.Errorf("msg.value = %v, want 1 ETH", got)
	}
	if slot(2) != word {
		t.Errorf("calldata word = %s, want %s", slot(2), word)
	}
	if got := slot(3).Big().Int64(); got != 1 {
		t.Errorf("calling back into the portal: 1+success = %d, want 1 (refused)", got)
	}
	if got := st.balance(receiver); got.Cmp(Ether(1)) != 0 {
		t.Errorf("receiver holds %v, want 1 ETH", got)
	}
	if finalize(bad) {
		t.Fatal("the call to a reverting target succeeded")
	}
	if got := st.balance(reverter); got.Sign() != 0 {
		t.Errorf("reverting target holds %v", got)
	}
	if got := new(big.Int).Sub(portalBefore, st.balance(rollup.PortalAddress)); got.Cmp(Ether(1)) != 0 {
		t.Errorf("portal paid out %v, want only the good withdrawal's 1 ETH", got)
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", bad.Encode()))
	if err := st.portalCall(relayer, fin); err == nil || !strings.Contains(err.Error(), "already finalized") {
		t.Fatalf("a failed withdrawal was replayable: %v", err)
	}
	// Outside a withdrawal's call, l2Sender() is the OP Stack's default.
	q := Must[[]byte](t)(rollup.PortalABI.Pack("l2Sender"))
	out := Must[[]byte](t)(st.l1.CallContract(st.ctx, ethereum.CallMsg{To: &rollup.PortalAddress, Data: q}, nil))
	if common.BytesToAddress(out) != rollup.DefaultL2Sender {
		t.Fatalf("l2Sender() = %x", out)
	}
}

// play runs rounds until every game over output i is over and returns the
// output (nil when it was deleted).
func (st *story) play(i uint64) *rollup.OutputInfo {
	st.t.Helper()
	out, err := st.Play(i, func() error { _, err := st.Round(nil); return err })
	if err != nil {
		st.t.Fatal(err)
	}
	return out
}

func (st *story) count() uint64 {
	return uint64(len(Must[[]rollup.OutputInfo](st.t)(rollup.L1View{C: st.l1}.Outputs(st.ctx))))
}

// A proposer posts a false output whose message passer holds a withdrawal of
// more than was ever deposited, and proves that withdrawal. The challenger
// recomputes the output from L1, challenges, and wins the game on time: the
// proposer cannot prove the block where its claim departs from the chain.
// The output is deleted, the theft cannot finalize, the bond is lost.
func TestActionInvalidOutputIsDefeated(t *testing.T) {
	thief := chain.DevAddress(8)
	loot := &rollup.Withdrawal{Nonce: big.NewInt(1 << 40), Sender: thief, Target: thief, Value: Ether(1_000), GasLimit: new(big.Int), Data: []byte{}}
	var forged *ForgedOutput
	st := newStory(t, agents.Config{Lie: func(o *rollup.Output) common.Hash {
		forged = ForgeOutput(o, loot)
		return forged.Root
	}}, agents.Config{})
	st.deposit(3, Ether(5))
	st.l2Block()
	st.l2Block()
	st.round() // the false output goes up
	out := st.output(1)
	if forged == nil || out.Root != forged.Root {
		t.Fatal("the false output was not proposed")
	}
	prove := Must[[]byte](t)(rollup.PortalABI.Pack("proveWithdrawal", loot.Encode(), big.NewInt(1), forged.StateRoot, forged.MessagePasserRoot, forged.BlockHash, forged.Position.Word(), forged.Proof))
	if err := st.portalCall(8, prove); err != nil {
		t.Fatalf("proving against the false output: %v", err)
	}
	challengerBefore := st.balance(chain.DevAddress(9))
	if st.play(1) != nil {
		t.Fatalf("false output survived: %+v", st.output(1))
	}
	for range rollup.DevFinalizationPeriod {
		st.round()
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", loot.Encode()))
	if err := st.portalCall(8, fin); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("theft finalized or failed for another reason: %v", err)
	}
	// The challenger got its bond back and the proposer's (less gas).
	if gain := new(big.Int).Sub(st.balance(chain.DevAddress(9)), challengerBefore); gain.Cmp(new(big.Int).Div(Ether(1), big.NewInt(2))) < 0 {
		t.Fatalf("challenger gained only %v", gain)
	}
}

// A challenger disputes a true output and disagrees with every midpoint:
// the proposer bisects down to one block, proves it on L1 by re-executing
// it from a witness, and takes the challenger's bond.
func TestActionFalseChallengeLoses(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{Dishonest: true})
	st.deposit(3, Ether(5))
	for range 4 {
		st.withdraw(3, Ether(1))
	}
	st.round()
	proposerBefore := st.balance(chain.DevAddress(8))
	out := st.play(1)
	if out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("true output lost: %+v", out)
	}
	if st.proposer.Moves()["step"] != 1 || st.proposer.Moves()["defend"] == 0 {
		t.Fatalf("the proposer did not bisect and prove: %v", st.proposer.Moves())
	}
	if gain := new(big.Int).Sub(st.balance(chain.DevAddress(8)), proposerBefore); gain.Cmp(new(big.Int).Div(Ether(9), big.NewInt(10))) < 0 {
		t.Fatalf("proposer gained %v, want the challenger's 1 ETH bond less its own gas", gain)
	}
}

// A proposer of a false output that goes silent loses on time.
func TestActionSilentDefenderLoses(t *testing.T) {
	st := newStory(t, agents.Config{Silent: true, Lie: func(o *rollup.Output) common.Hash { return common.Hash{1} }}, agents.Config{})
	st.l2Block()
	st.round()
	if st.play(1) != nil {
		t.Fatal("a silent defender kept its false output")
	}
}

// A challenger that goes silent after challenging a true output loses on time.
func TestActionSilentChallengerLoses(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{Dishonest: true, Silent: true})
	st.l2Block()
	st.l2Block()
	st.l2Block()
	st.round()
	if out := st.play(1); out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("output after a silent challenger: %+v", out)
	}
}

// A true output is disputed long after its blocks were made: the disputed
// block's L1 origin is older than the 8,191 block hashes L1 state keeps
// (EIP-2935). The proposer walks L1 headers back to it, parent hash by
// parent hash, from one the history still holds, then proves the block.
func TestActionFalseChallengeOverAnOldOrigin(t *testing.T) {
	st := newStoryWith(t, Options{SeqWindow: 20_000}, agents.Config{}, agents.Config{Dishonest: true})
	st.deposit(3, Ether(5))
	st.l2Block()
	if err := st.L1.MineN(params.HistoryServeWindow + 100); err != nil {
		t.Fatal(err)
	}
	st.round()
	if out := st.play(1); out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("true output lost: %+v", out)
	}
	moves := st.proposer.Moves()
	if moves["step"] != 1 || moves["proveL1Headers"] < 2 {
		t.Fatalf("the proposer did not prove the old origin's header in several calls: %v", moves)
	}
	origin := Must[rollup.L1Info](t)(rollup.Origin(Must[*types.Header](t)(st.l2.HeaderByNumber(st.ctx, big.NewInt(1)))))
	q := Must[[]byte](t)(rollup.OutputsABI.Pack("l1BlockHash", new(big.Int).SetUint64(origin.Number)))
	got := Must[[]byte](t)(st.l1.CallContract(st.ctx, ethereum.CallMsg{To: &rollup.OutputsAddress, Data: q}, nil))
	if common.BytesToHash(got) != origin.Hash {
		t.Fatalf("stored hash of L1 block %d = %x, want %s", origin.Number, got, origin.Hash)
	}
}

// Once the message passer holds a withdrawal, a disputed block that does
// not touch it still commits to its storage root in the output. The
// one-step proof must carry the message passer's account for such a block,
// or the honest proposer computes a wrong output and loses.
func TestActionHonestStepOverBlockWithoutWithdrawal(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{Dishonest: true})
	st.deposit(3, Ether(5))
	st.withdraw(3, Ether(1))
	st.round() // output 1 covers the withdrawal
	first := st.output(1)
	st.l2Block()
	st.l2Block()
	st.round() // output 2: blocks that leave the message passer alone
	if second := st.output(2); second.L2Block <= first.L2Block {
		t.Fatalf("no second output: %+v", second)
	}
	// The dishonest challenger disagrees with every midpoint, so output
	// 2's game ends at the first block after output 1.
	if out := st.play(2); out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("true output lost over a block without withdrawals: %+v", out)
	}
	if st.proposer.Moves()["step"] < 2 {
		t.Fatalf("the proposer did not prove both games: %v", st.proposer.Moves())
	}
}

// Anyone may prove anyone's withdrawal, but not again while the output it
// was proven against stands: re-proving restarted the wait, so a griefer
// could keep a victim's withdrawal from ever finalizing.
func TestActionReproveGrief(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	st.deposit(3, Ether(5))
	w, n := st.withdraw(3, Ether(2))
	st.round()
	data, _ := Must2[[]byte, *rollup.OutputInfo](t)(rollup.ProveCalldata(st.ctx, rollup.L1View{C: st.l1}, st.l2, w, n))
	if err := st.portalCall(3, data); err != nil {
		t.Fatalf("prove: %v", err)
	}
	_, _, provenAt, _ := must4(t)(rollup.L1View{C: st.l1}.Proven(st.ctx, w.Hash()))
	for range rollup.DevFinalizationPeriod/2 - 1 {
		st.round()
	}
	// Just before the window ends, a griefer (account 6) proves it again.
	if err := st.portalCall(6, data); err == nil || !strings.Contains(err.Error(), "already proven") {
		t.Fatalf("re-proving against the same standing output: %v", err)
	}
	if _, _, at, _ := must4(t)(rollup.L1View{C: st.l1}.Proven(st.ctx, w.Hash())); at != provenAt {
		t.Fatalf("proof time moved from %d to %d", provenAt, at)
	}
	for range 2 {
		st.round()
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode()))
	if err := st.portalCall(3, fin); err != nil {
		t.Fatalf("finalize after the window: %v", err)
	}
}

func must4(t *testing.T) func(uint64, common.Hash, uint64, bool, error) (uint64, common.Hash, uint64, bool) {
	return func(a uint64, b common.Hash, c uint64, d bool, err error) (uint64, common.Hash, uint64, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b, c, d
	}
}

// Each party plays on a chess clock: its moves spend it and never refill
// it, and a move after it ran out is refused, so a late move cannot save a
// lost game.
func TestActionChessClock(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{Dishonest: true, Silent: true})
	for range 4 {
		st.l2Block()
	}
	st.round() // the output
	st.round() // the challenge
	st.round() // the first midpoint
	view := rollup.L1View{C: st.l1}
	g := Must[*rollup.GameInfo](t)(view.Game(st.ctx, 1, 0))
	if g.Turn != rollup.TurnRespond || g.DefenderClock == 0 {
		t.Fatalf("game after the defender's move: %+v", g)
	}
	// The silent challenger lets its clock run out, then tries to move.
	for st.L1.Head().Time <= g.Deadline {
		Must2[*types.Block, []chain.Skip](t)(st.L1.Mine())
	}
	late := Must[[]byte](t)(rollup.OutputsABI.Pack("respond", big.NewInt(1), big.NewInt(0), false))
	if _, err := ethtx.Send(st.ctx, st.l1, chain.DevKey(9), rollup.OutputsAddress, nil, late, 0); err == nil || !strings.Contains(err.Error(), rollup.ErrOutOfTime.Error()) {
		t.Fatalf("a move after the deadline: %v", err)
	}
	if out := st.play(1); out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("output after the challenger ran out of time: %+v", out)
	}
	g = Must[*rollup.GameInfo](t)(view.Game(st.ctx, 1, 0))
	if g.Result != rollup.GameDefenderWon || g.ChallengerClock != 0 {
		t.Fatalf("game %+v", g)
	}
}

// Value sent with a call that takes none is refused, not kept: the
// outputs contract's views and moves, the portal's views and
// withdrawals, and the inbox.
func TestValueToNonPayableMethodsRefused(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	calls := []struct {
		to   common.Address
		data []byte
	}{
		{rollup.OutputsAddress, Must[[]byte](t)(rollup.OutputsABI.Pack("outputCount"))},
		{rollup.OutputsAddress, Must[[]byte](t)(rollup.OutputsABI.Pack("resolve", big.NewInt(1), big.NewInt(0)))},
		{rollup.PortalAddress, Must[[]byte](t)(rollup.PortalABI.Pack("queueLength"))},
		{rollup.PortalAddress, Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", []byte{1}))},
		{rollup.InboxAddress, []byte{0, 1, 2}},
	}
	for _, c := range calls {
		if _, err := ethtx.Send(st.ctx, st.l1, chain.DevKey(3), c.to, Ether(1), c.data, 0); err == nil || !strings.Contains(err.Error(), "value") {
			t.Errorf("1 ETH to %s with %x: %v", c.to, c.data[:min(4, len(c.data))], err)
		}
	}
}

// An L2 node keeps the state of its recent blocks only (128 layers), so
// the output that first covered a withdrawal soon cannot be proven
// against. Every later output holds the withdrawal too, and the prover
// takes the newest one the node can serve: a withdrawal proven long after
// it was first provable still goes through.
func TestActionWithdrawalProvenLongAfter(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	st.deposit(3, Ether(5))
	w, n := st.withdraw(3, Ether(2))
	st.round() // output 1 covers it
	first := st.output(1)
	if first.L2Block < n {
		t.Fatalf("output 1 at L2 block %d, the withdrawal is in %d", first.L2Block, n)
	}
	for range 150 { // more blocks than the node keeps states of
		st.l2Block()
	}
	st.round() // a newer output
	var proof struct{}
	if err := st.l2.Client().CallContext(st.ctx, &proof, "eth_getProof", rollup.MessagePasserAddress, []common.Hash{w.StorageSlot()}, hexutil.Uint64(first.L2Block)); err == nil {
		t.Fatal("the node still serves the state of the first output's block: the test proves nothing")
	}
	data, out, err := rollup.ProveCalldata(st.ctx, rollup.L1View{C: st.l1}, st.l2, w, n)
	if err != nil {
		t.Fatalf("prove long after: %v", err)
	}
	if out.Index == first.Index {
		t.Fatalf("proved against output %d, whose state is gone", out.Index)
	}
	if err := st.portalCall(3, data); err != nil {
		t.Fatalf("prove: %v", err)
	}
	for range rollup.DevFinalizationPeriod/2 + 1 {
		st.round()
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode()))
	if err := st.portalCall(3, fin); err != nil {
		t.Fatalf("finalize: %v", err)
	}
}

// A dishonest challenger plays slowly, so that by the time the game comes
// down to one block the block's parent is far more than the 128 blocks
// behind the head whose states a node serves. The honest proposer built
// the proofs of its output's blocks when it proposed, and still wins.
func TestActionSlowChallengerCannotOutwaitTheState(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{Dishonest: true})
	st.deposit(3, Ether(5))
	for range 3 {
		st.withdraw(3, Ether(1))
	}
	st.round() // the output
	st.round() // the challenge
	// 150 L2 blocks go by in a few seconds of L1 time, well inside the
	// challenger's clock.
	for range 150 {
		Must[*types.Block](t)(st.Sequence(st.ctx))
	}
	if err := st.Batch(st.ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(st.ctx, st.Verifier); err != nil {
		t.Fatal(err)
	}
	if out := st.play(1); out == nil || out.Status != rollup.OutputDefended {
		t.Fatalf("true output lost to a slow challenger: %+v", out)
	}
	if st.proposer.Moves()["step"] == 0 && st.proposer.Moves()["stepPart"] == 0 {
		t.Fatalf("the game ended without a step: %v", st.proposer.Moves())
	}
}

// A relayer proves and finalizes a user's withdrawal on its own: the user
// starts it on L2 and is paid on L1.
func TestActionRelayerCompletesWithdrawals(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	st.deposit(3, Ether(5))
	w, _ := st.withdraw(3, Ether(2))
	relayer := agents.NewRelayer(agents.RelayerConfig{L1: st.l1, L2: st.l2, Key: chain.DevKey(7), Manual: true, Log: st.opts.Log})
	t.Cleanup(relayer.Close)
	before := st.balance(chain.DevAddress(3))
	for range 3 * rollup.DevFinalizationPeriod {
		if err := relayer.Step(st.ctx); err != nil {
			t.Fatal(err)
		}
		st.round()
		if _, _, _, finalized := must4(t)(rollup.L1View{C: st.l1}.Proven(st.ctx, w.Hash())); finalized {
			break
		}
	}
	if got := new(big.Int).Sub(st.balance(chain.DevAddress(3)), before); got.Cmp(Ether(2)) != 0 {
		t.Fatalf("the user received %v on L1, want the 2 ETH it withdrew (the relayer pays the gas)", got)
	}
}

// A withdrawal is proven against the output that first covered it, two
// minutes of L2 blocks later (480 blocks of 250 ms), with no newer output
// to fall back on: the node's state of that block is long gone, but the
// message passer's trie is archived, and the proof is served from it.
func TestActionWithdrawalProvenAgainstAnOldOutput(t *testing.T) {
	st := newStory(t, agents.Config{}, agents.Config{})
	st.deposit(3, Ether(5))
	st.withdraw(3, Ether(1)) // an earlier withdrawal in the archived trie
	w, n := st.withdraw(3, Ether(2))
	st.round() // output 1 covers both
	first := st.output(1)
	for range 480 {
		Must[*types.Block](t)(st.Sequence(st.ctx))
	}
	if err := st.Batch(st.ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(st.ctx, st.Verifier); err != nil {
		t.Fatal(err)
	}
	var proof struct{}
	if err := st.l2.Client().CallContext(st.ctx, &proof, "eth_getProof", rollup.MessagePasserAddress, []common.Hash{w.StorageSlot()}, hexutil.Uint64(first.L2Block)); err == nil {
		t.Fatal("the node still serves the state of the output's block: the test proves nothing")
	}
	if outs := Must[[]rollup.OutputInfo](t)(rollup.L1View{C: st.l1}.Outputs(st.ctx)); len(outs) != 2 {
		t.Fatalf("%d outputs: a newer one would prove nothing", len(outs))
	}
	data, out, err := rollup.ProveCalldata(st.ctx, rollup.L1View{C: st.l1}, st.l2, w, n)
	if err != nil {
		t.Fatalf("prove against an old output: %v", err)
	}
	if out.Index != first.Index {
		t.Fatalf("proved against output %d, want %d", out.Index, first.Index)
	}
	if err := st.portalCall(3, data); err != nil {
		t.Fatalf("prove: %v", err)
	}
	for range rollup.DevFinalizationPeriod/2 + 1 {
		st.round()
	}
	fin := Must[[]byte](t)(rollup.PortalABI.Pack("finalizeWithdrawal", w.Encode()))
	if err := st.portalCall(3, fin); err != nil {
		t.Fatalf("finalize: %v", err)
	}
}
