package explorer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/cairn-dev/cairn/rollup"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
)

// The pages of what a layer settles on L1 or runs on: the optimistic
// rollup's outputs and dispute games, an L2 transaction's life up to L1
// finality (and a withdrawal's up to its payment), and the staking set of
// the L1 and the sidechain. Each reads the L1 contracts with eth_call.

// ValidatorsPage is a layer's staking set.
type ValidatorsPage struct {
	Layer, LayerName string
	Validators       []ValidatorRow
	TotalPower       uint64
}

// ValidatorRow is one validator.
type ValidatorRow struct {
	Operator       common.Address
	Power          uint64
	Share          string // of the total power
	StakeEth       string
	CommissionBps  uint64
	Jailed         bool
	JailedUntil    uint64
	MissedBlocks   uint64
	ConsensusAddrs string
}

func (e *Explorer) validators(r *http.Request) (any, error) {
	l, err := e.layerOf(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	var vals []cairnrpc.Validator
	if err := l.rpc.CallContext(ctx, &vals, "cairn_validators"); err != nil {
		return nil, fmt.Errorf("%w: %s has no staking set (%v)", errNotFound, l.Name, err)
	}
	p := &ValidatorsPage{Layer: l.Key, LayerName: l.Name}
	for _, v := range vals {
		p.TotalPower += uint64(v.Power)
	}
	for _, v := range vals {
		row := ValidatorRow{Operator: v.Operator, Power: uint64(v.Power), CommissionBps: uint64(v.CommissionBps), Jailed: v.Jailed,
			JailedUntil: uint64(v.JailedUntil), MissedBlocks: uint64(v.MissedBlocks), ConsensusAddrs: hexutil.Encode(v.ConsensusAddress)}
		if v.Stake != nil {
			row.StakeEth = eth(v.Stake.ToInt())
		}
		if p.TotalPower > 0 {
			row.Share = fmt.Sprintf("%.1f%%", 100*float64(v.Power)/float64(p.TotalPower))
		}
		p.Validators = append(p.Validators, row)
	}
	return p, nil
}

// OutputsPage is the optimistic rollup's outputs on L1, newest first, with
// their dispute games.
type OutputsPage struct {
	Layer, LayerName string
	Count            uint64
	Outputs          []OutputRow
}

// OutputRow is one output.
type OutputRow struct {
	rollup.OutputInfo
	State string
	Final bool
	Games []GameRow
}

// GameRow is one dispute game.
type GameRow struct {
	rollup.GameInfo
	Turn, Result string
	Deadline     time.Time
}

var outputStates = map[uint8]string{rollup.OutputProposed: "proposed", rollup.OutputChallenged: "challenged",
	rollup.OutputDefended: "defended", rollup.OutputDefeated: "defeated"}

var gameTurns = map[uint8]string{rollup.TurnDefend: "the proposer posts the midpoint", rollup.TurnRespond: "the challenger agrees or disagrees",
	rollup.TurnStep: "the proposer proves one block on L1"}

var gameResults = map[uint8]string{rollup.GameOpen: "open", rollup.GameDefenderWon: "the proposer won", rollup.GameChallengerWon: "the challenger won"}

// maxOutputs is how many outputs the page reads.
const maxOutputs = 50

// rollupLayer checks that the request names the optimistic rollup.
func (e *Explorer) rollupLayer(r *http.Request) (*layer, error) {
	l, err := e.layerOf(r)
	if err != nil {
		return nil, err
	}
	if l.Kind != "optimistic-rollup" {
		return nil, fmt.Errorf("%w: %s is not an optimistic rollup", errNotFound, l.Name)
	}
	return l, nil
}

func (e *Explorer) outputs(r *http.Request) (any, error) {
	l, err := e.rollupLayer(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	view := rollup.L1View{C: e.layers[0].client}
	n, err := view.Count(ctx)
	if err != nil {
		return nil, err
	}
	p := &OutputsPage{Layer: l.Key, LayerName: l.Name, Count: n}
	for i := n; i > 0 && len(p.Outputs) < maxOutputs; i-- {
		o, err := view.Output(ctx, i-1)
		if err != nil {
			return nil, err
		}
		row := OutputRow{OutputInfo: *o, State: outputStates[o.Status]}
		if i-1 == 0 {
			row.State = "genesis"
		}
		row.Final, _ = view.Final(ctx, o.Index)
		games, err := view.Games(ctx, *o)
		if err != nil {
			return nil, err
		}
		for _, g := range games {
			row.Games = append(row.Games, GameRow{GameInfo: g, Turn: gameTurns[g.Turn], Result: gameResults[g.Result], Deadline: time.Unix(int64(g.Deadline), 0).UTC()})
		}
		p.Outputs = append(p.Outputs, row)
	}
	return p, nil
}

// Step is one stage of a transaction's life: reached or not, with what
// shows it.
type Step struct {
	Name   string
	Done   bool
	Detail string
	Link   string // a page that shows it, if any
}

// lifecycle is an optimistic-rollup transaction's way to L1 finality: in a
// sequencer block, its batch on L1, an output covering it, that output
// final; for a withdrawal, then proven on L1 and paid, with the command
// that takes it there.
func (e *Explorer) lifecycle(ctx context.Context, l *layer, hash common.Hash, block uint64, rc json.RawMessage) ([]Step, string) {
	steps := []Step{{Name: "sequenced", Done: true, Detail: fmt.Sprintf("in the sequencer's L2 block %d", block)}}
	var safe *rpcHead
	batched := l.rpc.CallContext(ctx, &safe, "eth_getBlockByNumber", "safe", false) == nil && safe != nil && uint64(safe.Number) >= block
	steps = append(steps, Step{Name: "batch on L1", Done: batched, Detail: map[bool]string{true: "the verifier derived its block from L1 data", false: "the batcher has not posted it yet"}[batched]})
	view := rollup.L1View{C: e.layers[0].client}
	cover, err := view.Covering(ctx, block)
	covered := err == nil && cover != nil
	final := false
	detail := "no output reaches its block yet"
	if covered {
		detail = fmt.Sprintf("output %d (L2 block %d), proposed in L1 block %d", cover.Index, cover.L2Block, cover.L1Block)
		final, _ = view.Final(ctx, cover.Index)
	}
	steps = append(steps, Step{Name: "output on L1", Done: covered, Detail: detail})
	finalDetail := fmt.Sprintf("the challenge window (%d s) has not passed with no game lost", rollup.DevFinalizationPeriod)
	if final {
		finalDetail = fmt.Sprintf("output %d is final on L1", cover.Index)
	}
	steps = append(steps, Step{Name: "final on L1", Done: final, Detail: finalDetail})
	// A withdrawal goes on: proven against an output, then paid.
	var receipt struct {
		Logs []rpcLog `json:"logs"`
	}
	if json.Unmarshal(rc, &receipt) != nil {
		return steps, ""
	}
	var w *rollup.Withdrawal
	for _, lg := range receipt.Logs {
		if lg.Address != rollup.MessagePasserAddress || len(lg.Topics) == 0 {
			continue
		}
		if parsed, err := rollup.ParseWithdrawal(lg.toTypes()); err == nil {
			w = parsed
			break
		}
	}
	if w == nil {
		return steps, ""
	}
	_, _, at, paid, err := view.Proven(ctx, w.Hash())
	proven := err == nil && at > 0
	steps = append(steps, Step{Name: "withdrawal proven on L1", Done: proven, Detail: map[bool]string{true: fmt.Sprintf("at L1 time %d", at), false: "not proven yet"}[proven]},
		Step{Name: "withdrawal paid on L1", Done: paid, Detail: fmt.Sprintf("%s ETH to %s", eth(w.Value), w.Target.Hex())})
	next := ""
	switch {
	case paid:
	case !covered:
		next = "wait for an output to cover L2 block " + fmt.Sprint(block) + ", then: cairn withdraw prove " + hash.Hex()
	case !proven:
		next = "cairn withdraw prove " + hash.Hex()
	default:
		next = "cairn withdraw finalize " + hash.Hex() + " (once the challenge window has passed since the proof)"
	}
	return steps, next
}

// depositLife is an L1 transaction's way into the optimistic rollup, when
// it sent a deposit or a forced transaction through the portal: queued on
// L1, in an L2 block (linked), that block safe.
func (e *Explorer) depositLife(ctx context.Context, rc json.RawMessage) []Step {
	var l2 *layer
	for _, l := range e.layers {
		if l.Kind == "optimistic-rollup" {
			l2 = l
			break
		}
	}
	var receipt struct {
		Logs        []rpcLog       `json:"logs"`
		BlockNumber hexutil.Uint64 `json:"blockNumber"`
	}
	if l2 == nil || json.Unmarshal(rc, &receipt) != nil {
		return nil
	}
	for _, lg := range receipt.Logs {
		if lg.Address != rollup.PortalAddress {
			continue
		}
		item, err := rollup.ParseQueueLog(lg.toTypes(), l2.ChainID)
		if err != nil {
			continue
		}
		what, hash := "a deposit", common.Hash{}
		switch {
		case item.Deposit != nil:
			hash = item.Deposit.Hash()
		case item.Forced != nil:
			what, hash = "a forced transaction", item.Forced.Hash()
		default:
			return []Step{{Name: "queued on L1", Done: true, Detail: "a forced transaction that does not decode as an L2 transaction: derivation skips it"}}
		}
		steps := []Step{{Name: "queued on L1", Done: true, Detail: fmt.Sprintf("%s, number %d in the portal's queue", what, item.Index)}}
		var tx *rpcTransaction
		in := l2.rpc.CallContext(ctx, &tx, "eth_getTransactionByHash", hash) == nil && tx != nil && tx.BlockNumber != nil
		detail := "not in an L2 block yet: the sequencer takes it once its L1 origin reaches this block (or derivation, after the sequencing window)"
		if in {
			detail = fmt.Sprintf("L2 transaction %s in L2 block %d", hash.Hex(), uint64(*tx.BlockNumber))
		}
		steps = append(steps, Step{Name: "in the rollup", Done: in, Detail: detail, Link: map[bool]string{true: "/" + l2.Key + "/tx/" + hash.Hex()}[in]})
		safe := false
		if in {
			var s *rpcHead
			safe = l2.rpc.CallContext(ctx, &s, "eth_getBlockByNumber", "safe", false) == nil && s != nil && uint64(s.Number) >= uint64(*tx.BlockNumber)
		}
		steps = append(steps, Step{Name: "safe on the rollup", Done: safe, Detail: "its L2 block derived from L1 data by the verifier"})
		return steps
	}
	return nil
}

// TransfersPage is the rollup's newest deposits and withdrawals, each with
// where it stands and the command that moves it on.
type TransfersPage struct {
	Layer, LayerName string
	Deposits         []Transfer
	Withdrawals      []Transfer
}

// Transfer is one deposit or withdrawal.
type Transfer struct {
	Layer  string // where its transaction is
	Hash   common.Hash
	Height uint64
	Status string // the last step reached
	Steps  []Step
	Next   string
}

// maxTransfers is how many of each the page reads.
const maxTransfers = 10

func (e *Explorer) transfers(r *http.Request) (any, error) {
	l, err := e.rollupLayer(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	p := &TransfersPage{Layer: l.Key, LayerName: l.Name}
	status := func(steps []Step) string {
		s := "—"
		for _, st := range steps {
			if st.Done {
				s = st.Name
			}
		}
		return s
	}
	receipt := func(on *layer, h common.Hash) json.RawMessage {
		var raw json.RawMessage
		if on.rpc.CallContext(ctx, &raw, "eth_getTransactionReceipt", h) != nil || string(raw) == "null" {
			return nil
		}
		return raw
	}
	deps, err := e.idx.addressTxs(e.layers[0].Key, rollup.PortalAddress, maxTransfers)
	if err != nil {
		return nil, err
	}
	for _, t := range deps {
		if rc := receipt(e.layers[0], t.Hash); rc != nil {
			if steps := e.depositLife(ctx, rc); steps != nil {
				p.Deposits = append(p.Deposits, Transfer{Layer: e.layers[0].Key, Hash: t.Hash, Height: t.Height, Status: status(steps), Steps: steps})
			}
		}
	}
	wds, err := e.idx.addressTxs(l.Key, rollup.MessagePasserAddress, maxTransfers)
	if err != nil {
		return nil, err
	}
	for _, t := range wds {
		if rc := receipt(l, t.Hash); rc != nil {
			steps, next := e.lifecycle(ctx, l, t.Hash, t.Height, rc)
			if len(steps) > 4 { // a withdrawal: it passed a message
				p.Withdrawals = append(p.Withdrawals, Transfer{Layer: l.Key, Hash: t.Hash, Height: t.Height, Status: status(steps), Steps: steps, Next: next})
			}
		}
	}
	return p, nil
}
