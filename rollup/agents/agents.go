package agents

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/node"
)

// Config configures a proposer or a challenger.
type Config struct {
	Node *node.Node        // the L2 node whose derived chain it trusts (a verifier)
	L1   *ethclient.Client // the L1, for the outputs contract and the portal
	Key  *ecdsa.PrivateKey // its L1 account, which posts bonds
	// Interval is how many L2 blocks a proposer lets pass between outputs.
	Interval uint64
	// Lie makes a dishonest proposer: it posts Lie(output) instead of the
	// output's root. A dishonest challenger challenges every output and
	// disagrees with every midpoint. For the lab's attacks.
	Lie       func(*rollup.Output) common.Hash
	Dishonest bool
	// Silent makes the agent post and challenge but never move in a game.
	Silent bool
	Manual bool // no loop: the caller calls Step
	// PartBudget is the most calldata of one L1 transaction of a proof: a
	// block whose one-step proof is larger is proven in parts (loadBatch,
	// then stepPart). 0 means DefaultPartBudget.
	PartBudget int
	Log        *slog.Logger
}

// Agent is a proposer or a challenger: it watches the L1 outputs contract
// and acts on it with its own L1 account, checking every claim against its
// L2 node's chain derived from L1.
type Agent struct {
	cfg      Config
	view     rollup.L1View
	proposer bool
	log      *slog.Logger
	sent     map[string]bool // moves already sent
	moves    map[string]int  // sent transactions by method
	// proofs holds the one-step proofs of the blocks of this proposer's
	// outputs, built as each block became safe: a step needs the parent's state,
	// which the node serves for its last 128 blocks only, and a game can
	// outlast that.
	proofs   map[uint64]*readyProof
	prepared uint64 // proofs are built for the safe blocks up to here
	stop     chan struct{}
	done     sync.WaitGroup
	once     sync.Once
}

// NewProposer returns a proposer of outputs that defends them.
func NewProposer(cfg Config) *Agent { return newAgent(cfg, true) }

// NewChallenger returns a challenger that disputes outputs its node
// disagrees with.
func NewChallenger(cfg Config) *Agent { return newAgent(cfg, false) }

func newAgent(cfg Config, proposer bool) *Agent {
	cfg.Interval = cmp.Or(cfg.Interval, 20)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	name := "challenger"
	if proposer {
		name = "proposer"
	}
	a := &Agent{
		cfg: cfg, view: rollup.L1View{C: cfg.L1}, proposer: proposer,
		log: cfg.Log.With("node", name), sent: map[string]bool{}, moves: map[string]int{}, stop: make(chan struct{}),
		proofs: map[uint64]*readyProof{},
	}
	if !cfg.Manual {
		a.done.Add(1)
		go a.loop()
	}
	return a
}

// Moves counts the transactions the agent sent, by method. Not safe to
// call while the loop runs.
func (a *Agent) Moves() map[string]int { return a.moves }

// Close stops the loop.
func (a *Agent) Close() {
	a.once.Do(func() { close(a.stop); a.done.Wait() })
}

func (a *Agent) loop() {
	defer a.done.Done()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.Step(ctx); err != nil {
			a.log.Warn("Step failed", "err", err)
		}
		cancel()
		select {
		case <-a.stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Step looks at the outputs contract once and sends what is due.
func (a *Agent) Step(ctx context.Context) error {
	outs, err := a.view.Outputs(ctx)
	if err != nil {
		return err
	}
	head, err := a.cfg.L1.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	if a.proposer {
		if err := a.propose(ctx, outs); err != nil {
			return err
		}
		a.forget(ctx, outs)
	}
	me := crypto.PubkeyToAddress(a.cfg.Key.PublicKey)
	p := &a.cfg.Node.Config().Proofs
	disputed := false // an honest challenger disputes the first false output only
	for _, o := range outs[1:] {
		games, err := a.view.Games(ctx, o)
		if err != nil {
			return err
		}
		mine := false
		for _, g := range games {
			mine = mine || g.Challenger == me
			if g.Result != rollup.GameOpen {
				continue
			}
			if head.Time > g.Deadline {
				// A party ends a game the other has lost on time.
				if a.proposer && o.Proposer == me && g.Turn == rollup.TurnRespond || !a.proposer && g.Challenger == me && g.Turn != rollup.TurnRespond {
					a.send(ctx, fmt.Sprintf("resolve-%d-%d", o.Serial, g.Number), "resolve", nil, big.NewInt(int64(o.Index)), big.NewInt(int64(g.Number)))
				}
				continue
			}
			if a.cfg.Silent {
				continue
			}
			if a.proposer && o.Proposer == me {
				err = a.defend(ctx, o, &g)
			} else if !a.proposer && g.Challenger == me {
				err = a.respond(ctx, o, &g)
			}
			if err != nil {
				return err
			}
		}
		if a.proposer || disputed || head.Time >= o.Timestamp+p.FinalizationPeriod {
			continue
		}
		wrong := a.cfg.Dishonest
		if !wrong {
			known, disagree := a.disputes(o)
			if !known {
				continue
			}
			wrong, disputed = disagree, disagree
		}
		if wrong && !mine {
			a.send(ctx, fmt.Sprintf("challenge-%d", o.Serial), "challenge", p.ChallengerBond, big.NewInt(int64(o.Index)))
		}
	}
	return nil
}

// truth is the agent's node's output at an L2 block, or nil when it has
// not derived that far.
func (a *Agent) truth(n uint64) *rollup.Output {
	if safe := a.cfg.Node.SafeHead(); safe == nil || safe.Number.Uint64() < n {
		return nil
	}
	o, err := rollup.OutputAt(a.cfg.Node.Chain(), n)
	if err != nil {
		return nil
	}
	return o
}

// claimable is the newest L2 block an output proposed in L1 block l1Block
// may claim: what derivation made of the L1 blocks before it. known is
// false until the node has derived that far.
func (a *Agent) claimable(l1Block uint64) (n uint64, known bool) {
	if l1Block == 0 || a.cfg.Node.L1Done() < l1Block-1 {
		return 0, false
	}
	return a.cfg.Node.DerivedBy(l1Block - 1), true
}

// disputes reports whether output o is false: its block is not one L1 data
// before it gave, or its root is not the node's. known is false while the
// node cannot tell yet.
func (a *Agent) disputes(o rollup.OutputInfo) (known, wrong bool) {
	limit, ok := a.claimable(o.L1Block)
	if !ok {
		return false, false
	}
	if o.L2Block > limit {
		a.log.Warn("Output claims an L2 block that L1 data before it does not give: challenging", "index", o.Index, "l2Block", o.L2Block, "derivable", limit)
		return true, true
	}
	t := a.truth(o.L2Block)
	if t == nil {
		return false, false
	}
	if t.Root() != o.Root {
		a.log.Warn("Output disagrees with the chain derived from L1: challenging", "index", o.Index, "l2Block", o.L2Block, "posted", o.Root, "derived", t.Root())
		return true, true
	}
	return true, false
}

func (a *Agent) propose(ctx context.Context, outs []rollup.OutputInfo) error {
	last := outs[len(outs)-1]
	safe := a.cfg.Node.SafeHead()
	if safe == nil {
		return nil
	}
	// Build the proofs a game over the next output could ask for as soon
	// as each block is safe, while the node still has the state they need
	// (its last 128 blocks: with blocks on demand, seconds).
	a.prepare(last.L2Block, min(safe.Number.Uint64(), last.L2Block+rollup.MaxOutputSpan))
	if safe.Number.Uint64() < last.L2Block+a.cfg.Interval {
		return nil
	}
	// An output built on a false one would be bisected from a false base,
	// where the truth cannot be proven: an honest proposer waits for
	// challengers to remove it.
	for _, o := range outs[1:] {
		if t := a.truth(o.L2Block); a.cfg.Lie == nil && (t == nil || t.Root() != o.Root) {
			return nil
		}
	}
	o := a.truth(min(safe.Number.Uint64(), last.L2Block+rollup.MaxOutputSpan))
	if o == nil {
		return nil
	}
	root := o.Root()
	if a.cfg.Lie != nil {
		root = a.cfg.Lie(o)
	}
	if a.sent[fmt.Sprintf("propose-%d", o.Number)] {
		return nil
	}
	a.send(ctx, fmt.Sprintf("propose-%d", o.Number), "proposeOutput", a.cfg.Node.Config().Proofs.ProposerBond, o.Number, root)
	return nil
}

// prepare builds the one-step proofs of blocks (after, upTo] not yet built.
func (a *Agent) prepare(after, upTo uint64) {
	for n := max(after, a.prepared) + 1; n <= upTo; n++ {
		if _, ok := a.proofs[n]; ok {
			continue
		}
		p, err := a.buildProof(n)
		if err != nil {
			a.log.Warn("Cannot prepare the one-step proof of a block of the output", "block", n, "err", err)
			continue
		}
		a.proofs[n] = p
	}
	a.prepared = max(a.prepared, upTo)
}

// readyProof is the one-step proof of a block: a single step, or the loads
// and parts of a parted one.
type readyProof struct {
	single []byte
	scans  []rollup.Scan // sent before single
	parted *rollup.PartedProof
}

func (a *Agent) budget() int {
	if a.cfg.PartBudget > 0 {
		return a.cfg.PartBudget
	}
	return rollup.DefaultPartBudget
}

// buildProof builds block n's one-step proof, in parts when one step would
// be over the part budget or the part gas budget.
func (a *Agent) buildProof(n uint64) (*readyProof, error) {
	proof, err := a.cfg.Node.StepProof(n)
	if err != nil {
		return nil, err
	}
	raw, err := rlp.EncodeToBytes(proof)
	if err != nil {
		return nil, err
	}
	scansFit := true // a scan carries the parent's channel inline here; in parts it is loaded
	for i := range proof.Scans {
		if raw, err := rlp.EncodeToBytes(&proof.Scans[i]); err != nil || len(raw) > rollup.MaxInboxData+8_000 {
			scansFit = false
		}
	}
	if scansFit && len(raw) <= a.budget() && rollup.ExecGas(proof.Txs, proof.Queue, a.cfg.Node.Config().L2ChainID) <= rollup.PartExecBudget {
		return &readyProof{single: raw, scans: proof.Scans}, nil
	}
	parted, err := a.cfg.Node.StepParts(n, a.budget())
	if err != nil {
		return nil, err
	}
	return &readyProof{parted: parted}, nil
}

// forget drops the prepared proofs of blocks no game can reach any more:
// those up to the newest final output. Final outputs are a prefix of the
// list, so a binary search finds it.
func (a *Agent) forget(ctx context.Context, outs []rollup.OutputInfo) {
	if len(a.proofs) == 0 {
		return
	}
	k := sort.Search(len(outs)-1, func(i int) bool {
		final, err := a.view.Final(ctx, outs[i+1].Index)
		return err != nil || !final
	}) // outs[1..k] are final
	if k == 0 {
		return
	}
	for n := range a.proofs {
		if n <= outs[k].L2Block {
			delete(a.proofs, n)
		}
	}
}

func (a *Agent) defend(ctx context.Context, o rollup.OutputInfo, g *rollup.GameInfo) error {
	key := fmt.Sprintf("%d-%d-%d-%d-%d", o.Serial, g.Number, g.Turn, g.Lo, g.Hi)
	index, game := big.NewInt(int64(o.Index)), big.NewInt(int64(g.Number))
	switch g.Turn {
	case rollup.TurnDefend:
		mid := g.Lo + (g.Hi-g.Lo)/2
		root := common.Hash{}
		if t := a.truth(mid); t != nil {
			root = t.Root()
		} else if a.cfg.Lie != nil {
			// A liar defends a block it does not have with a made-up root.
			root = crypto.Keccak256Hash(common.BigToHash(new(big.Int).SetUint64(mid)).Bytes())
		} else {
			return nil
		}
		a.send(ctx, "defend-"+key, "defend", nil, index, game, root)
	case rollup.TurnStep:
		if t := a.truth(g.Hi); t == nil || t.Root() != g.HiRoot {
			a.log.Warn("Cannot prove the disputed output: it is not what L1 data gives", "index", o.Index, "block", g.Hi)
			return nil
		}
		if a.sent["step-"+key] {
			return nil
		}
		// An origin older than L1 state's block hash history is proven
		// first, header by header, from one it still holds.
		headers, err := a.cfg.Node.L1HeaderProof(g.Hi, a.budget())
		if err != nil {
			return err
		}
		for i, h := range headers {
			a.send(ctx, fmt.Sprintf("headers-%s-%d", key, i), "proveL1Headers", nil, h)
		}
		proof := a.proofs[g.Hi]
		if proof == nil {
			if proof, err = a.buildProof(g.Hi); err != nil {
				return err
			}
		}
		if proof.single != nil {
			a.sendScans(ctx, key, proof.scans)
			a.send(ctx, "step-"+key, "step", nil, index, game, proof.single)
			return nil
		}
		a.stepInParts(ctx, key, o, g, proof.parted)
	}
	return nil
}

// stepInParts proves block g.Hi in bounded L1 transactions: the loads of
// its channel, then the parts, sent at once with consecutive nonces so
// they run in order.
func (a *Agent) stepInParts(ctx context.Context, key string, o rollup.OutputInfo, g *rollup.GameInfo, proof *rollup.PartedProof) {
	a.log.Info("Proving the disputed block in parts", "index", o.Index, "block", g.Hi, "loads", len(proof.Loads), "parts", len(proof.Parts))
	for i, l := range proof.Loads {
		raw, _ := rlp.EncodeToBytes(&l)
		a.send(ctx, fmt.Sprintf("load-%s-%d", key, i), "loadBatch", nil, raw)
	}
	a.sendScans(ctx, key, proof.Scans)
	for i, p := range proof.Parts {
		raw, _ := rlp.EncodeToBytes(&p)
		a.send(ctx, fmt.Sprintf("part-%s-%d", key, i), "stepPart", nil, big.NewInt(int64(o.Index)), big.NewInt(int64(g.Number)), raw)
	}
	a.sent["step-"+key] = true
}

// sendScans sends the scanInbox calls a proof's derivation resumes after.
func (a *Agent) sendScans(ctx context.Context, key string, scans []rollup.Scan) {
	for i := range scans {
		raw, _ := rlp.EncodeToBytes(&scans[i])
		a.send(ctx, fmt.Sprintf("scan-%s-%d", key, i), "scanInbox", nil, raw)
	}
}

func (a *Agent) respond(ctx context.Context, o rollup.OutputInfo, g *rollup.GameInfo) error {
	if g.Turn != rollup.TurnRespond {
		return nil
	}
	mid := g.Lo + (g.Hi-g.Lo)/2
	agree := false
	if !a.cfg.Dishonest {
		// A block L1 data before the output did not give is disputed
		// whatever its root: the defender cannot prove it in this game.
		limit, known := a.claimable(o.L1Block)
		if !known {
			return nil
		}
		if mid <= limit {
			t := a.truth(mid)
			if t == nil {
				return nil
			}
			agree = t.Root() == g.MidRoot
		}
	}
	a.send(ctx, fmt.Sprintf("respond-%d-%d-%d-%d", o.Serial, g.Number, g.Lo, g.Hi), "respond", nil, big.NewInt(int64(o.Index)), big.NewInt(int64(g.Number)), agree)
	return nil
}

// send calls the outputs contract once per key.
func (a *Agent) send(ctx context.Context, key, method string, value *big.Int, args ...any) {
	if a.sent[key] {
		return
	}
	data, err := rollup.OutputsABI.Pack(method, args...)
	if err != nil {
		a.log.Error("Pack", "method", method, "err", err)
		return
	}
	gas := uint64(300_000)
	if method == "step" || method == "stepPart" || method == "loadBatch" || method == "proveL1Headers" || method == "scanInbox" {
		gas = rollup.MaxCalldataGas(len(data)) + rollup.NewOutputs(a.cfg.Node.Config().Proofs).RequiredGas(data)
	}
	tx, err := ethtx.Send(ctx, a.cfg.L1, a.cfg.Key, rollup.OutputsAddress, value, data, gas)
	if err != nil {
		a.log.Warn("Sending failed", "method", method, "err", err)
		return
	}
	a.sent[key] = true
	a.moves[method]++
	a.log.Info("Sent", "method", method, "tx", tx.Hash())
}
