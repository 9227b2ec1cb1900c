package lab

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// Attacks lists the attacks `cairn lab attack` runs, by name.
var Attacks = map[string]struct {
	Summary string
	Run     func(ctx context.Context, out io.Writer) error
}{
	"invalid-output":        {"a proposer posts a false output to withdraw 1,000 ETH that was never deposited", forging(rolluptest.Options{}, attackInvalidOutput)},
	"false-challenge":       {"a challenger disputes a true output and disagrees with every step", attackFalseChallenge},
	"silent-party":          {"the proposer of a false output stops answering in its dispute game", attackSilentParty},
	"self-challenge":        {"a proposer challenges its own false output at once, to lock honest challengers out", forging(rolluptest.Options{}, attackSelfChallenge)},
	"future-output":         {"a proposer posts an output for an L2 block that L1 data does not give yet", forging(rolluptest.Options{}, attackFutureOutput)},
	"unsettled-base":        {"a proposer posts two false outputs and withdraws against the second while the first is disputed", forging(rolluptest.Options{}, attackUnsettledBase)},
	"reprove-grief":         {"a griefer re-proves a user's withdrawal to restart its challenge window", attackReproveGrief},
	"noncanonical-root":     {"the ZK operator submits its new root plus the field modulus, which the proof cannot tell apart", attackNoncanonicalRoot},
	"exit-spam":             {"a spammer floods the ZK rollup's priority queue to force its exit mode", attackExitSpam},
	"mempool-flood":         {"free and cheapest-price transactions flood the L1's mempool to censor everyone", attackMempoolFlood},
	"unbond-and-equivocate": {"a validator unbonds, equivocates while its vote still counts, and withdraws", attackUnbondAndEquivocate},
	"stale-close":           {"a channel party closes on L1 with a state from before it paid; the victim's node answers", attackStaleClose},
	"offline-victim":        {"the same stale close while the victim is offline and only its watchtower watches", attackOfflineVictim},
	"previous-state":        {"a channel party closes with the state one version behind, as an honest party might", attackPreviousState},
	"bridge-keys":           {"5 of the multisig bridge's 9 attester keys collude and release everything it holds (Ronin, 2022): the attack succeeds", attackBridgeKeys},
	"htlc-griefing":         {"a forwarder takes an HTLC and goes silent; the payer's funds come back on L1 after its expiry", attackHTLCGriefing},
	"sidechain-takeover":    {"3 of 4 sidechain validators sign a forged header crediting themselves: the light-client bridge accepts it; an honest header inside the delay freezes it", attackSidechainTakeover},
	"forged-header":         {"headers signed by under 2/3 of the trusted power (a quarter; a half skipping to a set of its own), with bad signatures, by strangers, or from expired trust: the light client refuses each", attackForgedHeader},
	"withhold-data":         {"a proposer posts a false output stealing the deposits while the data to challenge it is withheld: with blobs the challenger wins; with a colluding committee the theft succeeds (the validium risk); sampling light nodes reject the withholder", attackWithholdData},
	"censoring-sequencer":   {"the optimistic rollup's sequencer ignores a user's transaction forced through L1: it goes in after the sequencing window anyway", attackCensoringSequencer},
	"batcher-junk":          {"the batcher key posts 200 KB of calldata and a full 130 KB blob that derivation drops before a block's batch, and a dishonest challenger drives the game to that block: the proposer scans the junk and proves the block", attackBatcherJunk},
	"rollup-same-keys":      {"the same colluders as the sequencer, batcher and proposer of the optimistic rollup post a false output: the fraud proof defeats them", forging(rolluptest.Options{BatcherKey: attackerKey}, attackRollupSameKeys)},
}

// AttackNames returns the attacks' names in order.
func AttackNames() []string {
	var names []string
	for n := range Attacks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// arena is the shared rollup.Story, telling what happens as it goes.
type arena struct {
	*rolluptest.Story
	ctx    context.Context
	out    io.Writer
	l1, l2 *ethclient.Client
	start  *big.Int // the attacker's L1 balance once set up
	roles  map[common.Address]string
}

// role names the sender of an L1 transaction by its part in the story.
func (a *arena) role(addr common.Address) string {
	if r, ok := a.roles[addr]; ok {
		return r
	}
	return "other"
}

// cost tells what the attack cost the attacker on L1: its balance at the
// start less its balance now (bonds lost and gas paid, less anything won).
func (a *arena) cost(what string) {
	now, err := a.l1.BalanceAt(a.ctx, chain.DevAddress(8), nil)
	if err != nil {
		return
	}
	fmt.Fprintf(a.out, "attacker's cost: %s ETH (%s), its L1 balance before and after\n", ethFloat(new(big.Int).Sub(a.start, now)), what)
}

var (
	attackerKey   = chain.DevKey(8)
	challengerKey = chain.DevKey(9)
	userKey       = chain.DevKey(3)
)

func newArena(ctx context.Context, out io.Writer, proposer, challenger agents.Config) (*arena, error) {
	return newArenaWith(ctx, out, rolluptest.Options{}, proposer, challenger)
}

// newArenaWith is newArena with the rollup system's options.
func newArenaWith(ctx context.Context, out io.Writer, opts rolluptest.Options, proposer, challenger agents.Config) (*arena, error) {
	proposer.Log, challenger.Log = slog.New(slog.DiscardHandler), slog.New(slog.DiscardHandler)
	st, err := rolluptest.NewStory(ctx, opts, proposer, challenger, attackerKey, challengerKey)
	if err != nil {
		return nil, err
	}
	a := &arena{Story: st, ctx: ctx, out: out, l1: st.L1C, l2: st.L2C, roles: map[common.Address]string{
		chain.DevAddress(8): "proposer", chain.DevAddress(9): "challenger",
		chain.DevAddress(3): "user", chain.DevAddress(6): "griefer",
	}}
	a.roles[st.Config.Batcher] = "batcher"
	if proposer.Lie != nil || proposer.Silent {
		a.roles[chain.DevAddress(8)] = "attacker"
	}
	if challenger.Dishonest {
		a.roles[chain.DevAddress(9)] = "attacker"
	}
	if a.start, err = a.l1.BalanceAt(ctx, chain.DevAddress(8), nil); err != nil {
		st.Close()
		return nil, err
	}
	fmt.Fprintf(out, "setup: L1 (mined by hand, %d s blocks), rollup sequencer, batcher, verifier; challenge window %d s, chess clock %d s a party, bonds 1 ETH\n",
		st.L1.BlockTime, rollup.DevFinalizationPeriod, rollup.DevGameClock)
	return a, nil
}

func (a *arena) close() { a.Close() }

// l2Block sequences, posts and derives one L2 block.
func (a *arena) l2Block() error { return a.L2Block() }

// round lets both agents act and mines one L1 block, printing its
// transactions.
func (a *arena) round() error { return a.roundWith(nil) }

// roundWith is round with the attacker's own transactions, sent by extra
// after the agents', in the same L1 block.
func (a *arena) roundWith(extra func() error) error {
	b, err := a.Round(extra)
	if err != nil {
		return err
	}
	for _, tx := range b.Transactions() {
		r, err := a.l1.TransactionReceipt(a.ctx, tx.Hash())
		if err != nil {
			return err
		}
		sender, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
		from := a.role(sender)
		m := method(tx.Data())
		if n := len(tx.BlobHashes()); n > 0 {
			m = fmt.Sprintf("%d blob(s)", n)
		}
		fmt.Fprintf(a.out, "  L1 block %d: %-10s %-20s status %d, gas %d, tx %s\n", b.NumberU64(), from, m, r.Status, r.GasUsed, tx.Hash().TerminalString())
	}
	return nil
}

func method(data []byte) string {
	if len(data) < 4 {
		return "transfer"
	}
	if m, err := rollup.OutputsABI.MethodById(data[:4]); err == nil {
		return m.Name
	}
	if m, err := rollup.PortalABI.MethodById(data[:4]); err == nil {
		return m.Name
	}
	return "call"
}

// play runs rounds until every game over output i is over; it returns the
// output, or nil when the output was deleted.
func (a *arena) play(i uint64) (*rollup.OutputInfo, error) { return a.Play(i, a.round) }

// falls plays out the games over output i with round and fails unless the
// output was removed: a false output that survives is a security failure.
func (a *arena) falls(i uint64, round func() error) error {
	res, err := a.Play(i, round)
	if err != nil {
		return err
	}
	if res != nil {
		return fmt.Errorf("SECURITY FAILURE: the false output %d survived its game: %+v", i, res)
	}
	return nil
}

// rounds runs round n times.
func rounds(n uint64, round func() error) error {
	for range n {
		if err := round(); err != nil {
			return err
		}
	}
	return nil
}

// blocks makes n L2 blocks, each sequenced, posted and derived.
func (a *arena) blocks(n int) error {
	for range n {
		if err := a.l2Block(); err != nil {
			return err
		}
	}
	return nil
}

func (a *arena) balances(label string) {
	get := func(addr common.Address) string {
		b, _ := a.l1.BalanceAt(a.ctx, addr, nil)
		return ethFloat(b)
	}
	fmt.Fprintf(a.out, "%s: %s (key 8) %s ETH, %s (key 9) %s ETH, portal %s ETH, outputs contract (bonds) %s ETH\n", label,
		a.role(chain.DevAddress(8)), get(chain.DevAddress(8)), a.role(chain.DevAddress(9)), get(chain.DevAddress(9)), get(rollup.PortalAddress), get(rollup.OutputsAddress))
}

func ethFloat(wei *big.Int) string {
	if wei == nil {
		return "?"
	}
	return new(big.Float).Quo(new(big.Float).SetInt(wei), big.NewFloat(params.Ether)).Text('f', 4)
}

func (a *arena) deposit(value *big.Int) error {
	if _, err := ethtx.Send(a.ctx, a.l1, userKey, rollup.PortalAddress, value, nil, 21_000); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	return a.l2Block()
}

// userDeposits prints the story's first line and has the user deposit
// 5 ETH, with an L2 block after the one that credits it.
func (a *arena) userDeposits(line string) error {
	fmt.Fprintln(a.out, line)
	if err := a.deposit(ether(5)); err != nil {
		return err
	}
	return a.l2Block()
}

// promised ends a story whose outcome is the one the security model
// promises: the balances, then the outcome.
func (a *arena) promised(outcome string) error {
	a.balances("   balances")
	fmt.Fprintln(a.out, "outcome as promised: "+outcome)
	return nil
}

func attackInvalidOutput(a *arena, f *forger) error {
	if err := a.userDeposits("1. a user deposits 5 ETH: the portal holds all the rollup's ETH"); err != nil {
		return err
	}
	a.balances("   balances")
	fmt.Fprintln(a.out, "2. the attacker proposes an output whose message passer holds a 1,000 ETH withdrawal to itself")
	if err := a.round(); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "3. the attacker proves its withdrawal against the false output (the portal checks the Merkle proof, not the truth)")
	if err := a.proveLoot(f, 1); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "4. the challenger recomputes output 1 from L1 data, disagrees, challenges, and the game is played")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "   the false output was deleted: the attacker could not prove the block where its claim departs from the chain")
	fmt.Fprintln(a.out, "5. after the challenge window, the attacker tries to finalize its withdrawal")
	if err := rounds(rollup.DevFinalizationPeriod, a.round); err != nil {
		return err
	}
	if err := a.finalizeLoot(f); err != nil {
		return err
	}
	a.balances("   balances")
	a.cost("its 1 ETH bond, lost to the challenger, and its gas")
	fmt.Fprintln(a.out, "outcome as promised: theft failed, the false output was removed, the proposer's bond went to the challenger")
	return nil
}

func attackFalseChallenge(ctx context.Context, out io.Writer) error {
	a, err := newArena(ctx, out, agents.Config{}, agents.Config{Dishonest: true})
	if err != nil {
		return err
	}
	defer a.close()
	// Here the attacker is the challenger; the honest proposer uses key 8.
	fmt.Fprintln(out, "1. an honest proposer posts a true output over a few L2 blocks")
	if err := a.blocks(4); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	a.balances("   balances")
	fmt.Fprintln(out, "2. a dishonest challenger disputes it and disagrees with every midpoint the proposer posts")
	res, err := a.play(1)
	if err != nil {
		return err
	}
	if res == nil || res.Status != rollup.OutputDefended {
		return fmt.Errorf("SECURITY FAILURE: a true output was removed")
	}
	if a.Proposer.Moves()["step"] != 1 {
		return fmt.Errorf("the game ended without the one-step proof: %v", a.Proposer.Moves())
	}
	fmt.Fprintf(out, "   the proposer bisected (%d moves) to one block and proved it on L1 by re-executing it from a witness\n", a.Proposer.Moves()["defend"])
	return a.promised("the true output stands, the challenger's bond went to the proposer")
}

func attackSilentParty(ctx context.Context, out io.Writer) error {
	a, err := newArena(ctx, out, agents.Config{Silent: true, Lie: func(*rollup.Output) common.Hash { return common.Hash{0xde, 0xad} }}, agents.Config{})
	if err != nil {
		return err
	}
	defer a.close()
	fmt.Fprintln(out, "1. a proposer posts a false output, then stops answering")
	if err := a.l2Block(); err != nil {
		return err
	}
	if err := a.round(); err != nil {
		return err
	}
	fmt.Fprintln(out, "2. the challenger challenges; the proposer's clock runs out; anyone may resolve")
	if err := a.falls(1, a.round); err != nil {
		return err
	}
	return a.promised("the silent party lost on time, its output was removed and its bond paid to the challenger")
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "portal:"); i >= 0 {
		return s[i:]
	}
	return s
}
