package rollup

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/triedb"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
)

// partsGame plays a parted proof against L1 state the way the outputs
// contract does, keeping the hashes it would store.
type partsGame struct {
	st                *state.StateDB
	lo                common.Hash
	number            uint64
	params            *L1Params
	envHash, progHash common.Hash
}

func (g *partsGame) play(p *StepPart) (*PartResult, error) {
	res, err := VerifyStepPart(p, g.lo, g.number, g.envHash, g.progHash, AnyL1Block, g.params, g.st)
	if err == nil && res.Progress != nil {
		g.envHash, g.progHash = res.EnvHash, res.Progress.Hash()
	}
	return res, err
}

// partedBlock makes an L2 block with two deposits (one creating a
// contract), a forced transaction and twenty sequencer transfers, batches
// it, and returns its parted proof cut to a small budget.
func partedBlock(t *testing.T, budget int) (*System, *types.Block, *PartedProof) {
	// Small frames, so the channel spans several inbox transactions.
	s, ctx := newSystem(t, SystemOptions{MaxTxData: 1_000})
	greeterABI, bin := contracts.Greeter()
	ctor := must[[]byte](t)(greeterABI.Pack("", "deposited"))
	sendL1(t, ctx, s, 4, PortalAddress, nil, must[[]byte](t)(PortalABI.Pack("depositTransaction", common.Address{}, new(big.Int), uint64(2_000_000), append(bin, ctor...))), 1_000_000)
	sendL1(t, ctx, s, 5, PortalAddress, ether(3), must[[]byte](t)(PortalABI.Pack("depositTransaction", chain.DevAddress(6), ether(3), uint64(100_000), []byte{})), 500_000)
	force(t, ctx, s, 2, signL2(t, s, 2, 0, common.Address{0xca}, ether(1)))
	must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	seq := dial(t, s.Sequencer.RPCURL())
	for i := range 20 {
		from := uint32(7 + i%3)
		if _, err := s.SendL2(ctx, seq, chain.DevKey(from), common.Address{byte(i + 1)}, big.NewInt(int64(1000+i))); err != nil {
			t.Fatal(err)
		}
	}
	b := must[*types.Block](t)(s.Sequence(ctx))
	if len(b.Transactions()) != 21 {
		t.Fatalf("block has %d transactions, want 21", len(b.Transactions()))
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	proof, err := s.Sequencer.StepParts(b.NumberU64(), budget)
	if err != nil {
		t.Fatal(err)
	}
	return s, b, proof
}

// A block proven in parts, each under a small budget, gives its output;
// parts out of order, tampered or skipped are refused.
func TestStepParts(t *testing.T) {
	s, b, proof := partedBlock(t, 8_000)
	if len(proof.Parts) < 3 || len(proof.Loads) != 1 {
		t.Fatalf("%d parts and %d loads; want several parts and one load", len(proof.Parts), len(proof.Loads))
	}
	for i, p := range proof.Parts {
		raw, _ := rlp.EncodeToBytes(p)
		t.Logf("part %d: %d positions, %d bytes (%d nodes)", i, p.Count, len(raw), len(p.Witness.Nodes))
		if len(raw) > 8_000 {
			t.Fatalf("part %d is %d bytes", i, len(raw))
		}
	}
	st := must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := must[*Output](t)(OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := must[*Output](t)(OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	g := &partsGame{st: st, lo: pre.Root(), number: b.NumberU64(), params: &s.Config.Proofs}

	// A block with sequencer transactions needs its channel loaded first.
	if _, err := g.play(&proof.Parts[0]); !errors.Is(err, ErrBadProof) {
		t.Fatalf("first part before the load: %v", err)
	}
	// Load the channel one inbox transaction per call, as a channel too
	// large for one L1 transaction is: the contract keeps the frames
	// between calls and decodes the channel when the last one arrives.
	load := proof.Loads[0]
	if len(load.Txs) < 2 {
		t.Fatalf("the channel is in %d inbox transactions, want several", len(load.Txs))
	}
	if err := loadBatch(st, &BatchLoad{Start: load.Start, Txs: load.Txs[1:2]}, &s.Config.Proofs, inboxRecords{st}); !errors.Is(err, ErrBadProof) {
		t.Fatalf("loading a channel from its second frame: %v", err)
	}
	for i, bt := range load.Txs {
		if err := loadBatch(st, &BatchLoad{Start: load.Start, Txs: []BatchTx{bt}}, &s.Config.Proofs, inboxRecords{st}); err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if i == 0 {
			if err := loadBatch(st, &BatchLoad{Start: load.Start, Txs: []BatchTx{bt}}, &s.Config.Proofs, inboxRecords{st}); !errors.Is(err, ErrBadProof) {
				t.Fatalf("the same frame twice: %v", err)
			}
		}
	}
	if err := loadBatch(st, &load, &s.Config.Proofs, inboxRecords{st}); !errors.Is(err, ErrBadProof) {
		t.Fatalf("loading a channel twice: %v", err)
	}

	var res *PartResult
	for i := range proof.Parts {
		p := proof.Parts[i]
		if i == 1 {
			// Skipping a part, or tampering with a transaction, is refused.
			if _, err := g.play(&proof.Parts[2]); !errors.Is(err, ErrBadProof) {
				t.Fatalf("skipping part 1: %v", err)
			}
			if len(p.Txs) > 0 {
				bad := p
				bad.Txs = append([][]byte{}, p.Txs...)
				bad.Txs[0] = proof.Parts[len(proof.Parts)-1].Txs[0]
				if _, err := g.play(&bad); !errors.Is(err, ErrBadProof) {
					t.Fatalf("a swapped transaction: %v", err)
				}
			}
		}
		var err error
		if res, err = g.play(&p); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	if res.Progress != nil || res.Output != post.Root() {
		t.Fatalf("parts prove %s, want %s", res.Output, post.Root())
	}
}

// A challenger disputes a true output down to a block too large for one
// L1 transaction; the proposer proves it in parts and wins.
func TestActionFalseChallengeLosesToPartedProof(t *testing.T) {
	st := newStory(t, AgentConfig{PartBudget: 6_000}, AgentConfig{Dishonest: true})
	seq := dial(t, st.Sequencer.RPCURL())
	for i := range 24 {
		if _, err := st.SendL2(st.ctx, seq, chain.DevKey(uint32(3+i%4)), common.Address{byte(i + 1)}, big.NewInt(1)); err != nil {
			t.Fatal(err)
		}
	}
	st.l2Block()
	st.l2Block()
	st.round()
	out := st.play(1)
	if out == nil || out.Status != OutputDefended {
		t.Fatalf("true output lost: %+v", out)
	}
	moves := st.proposer.Moves()
	if moves["loadBatch"] != 1 || moves["stepPart"] < 2 || moves["step"] != 0 {
		t.Fatalf("the proposer did not prove in parts: %v", moves)
	}
}

type noLoads struct{}

func (noLoads) Loaded(common.Hash) (uint64, bool) { return 0, true }

// FuzzStepPart feeds arbitrary bytes to a step part's decoder and
// verifier, as anyone may call stepPart with anything.
func FuzzStepPart(f *testing.F) {
	parent := must[*types.Header](&testing.T{})(&types.Header{Number: big.NewInt(0), Extra: EncodeL1Info(L1Info{BaseFee: big.NewInt(1)}), Difficulty: new(big.Int)}, nil)
	praw, _ := rlp.EncodeToBytes(parent)
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(901), Gas: 21_000})
	raw, _ := tx.MarshalBinary()
	seed := StepPart{
		Env:     StepEnv{Parent: praw, OriginHeader: praw, SeqRoot: SeqRoot([][]byte{raw}), SeqCount: 1},
		Count:   1,
		Txs:     [][]byte{raw},
		Witness: PartWitness{Nodes: [][]byte{{0xc0}}, Headers: [][]byte{praw}},
	}
	enc, _ := rlp.EncodeToBytes(&seed)
	f.Add(enc)
	seed.Prev = &StepProgress{Position: 1}
	enc, _ = rlp.EncodeToBytes(&seed)
	f.Add(enc)
	lo := OutputRoot(parent.Root, common.Hash{}, parent.Hash())
	f.Fuzz(func(t *testing.T, data []byte) {
		var p StepPart
		if rlp.DecodeBytes(data, &p) != nil {
			return
		}
		verifyStepPart(&p, lo, 1, common.Hash{}, common.Hash{}, &L1Params{L2ChainID: 901, L1FeeScalar: 1, SeqWindow: 10}, noRecords) // must not panic
	})
}

// FuzzBatchLoad feeds arbitrary channel loads to loadBatch, its inbox
// records taken from the load itself so frames reach the decoder.
func FuzzBatchLoad(f *testing.F) {
	f.Add(must[[]byte](&testing.T{})(rlp.EncodeToBytes(&BatchLoad{Txs: []BatchTx{{Index: 0, Data: []byte{0, 1, 2}}}})))
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var l BatchLoad
		if rlp.DecodeBytes(data, &l) != nil {
			return
		}
		db := rawdb.NewMemoryDatabase()
		st, err := state.New(types.EmptyRootHash, state.NewDatabase(triedb.NewDatabase(db, nil), state.NewCodeDB(db)))
		if err != nil {
			t.Fatal(err)
		}
		var list batchList
		for _, bt := range l.Txs {
			// Blob records where a commitment is given: their checks run too.
			list.add(bt, inboxEntry{Hash: crypto.Keccak256Hash(bt.Data), Blob: len(bt.Commitment) > 0})
		}
		loadBatch(st, &l, &L1Params{L2ChainID: 901}, list) // must not panic
	})
}

// Anyone may call loadBatch. A load that adds an inbox transaction without
// the channel's next frames is refused: accepted, it would move the load
// past that transaction, and so past the channel's own later ones, which
// could then never be loaded.
func TestLoadBatchRefusesTransactionsWithoutItsFrames(t *testing.T) {
	s, _, proof := partedBlock(t, 8_000)
	ctx := context.Background()
	must[*types.Block](t)(s.Sequence(ctx)) // a later channel, in later inbox transactions
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	var inbox [][]byte // the batcher's inbox transactions, by inbox index
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(s.Config.L1ChainID))
	for n := uint64(1); n <= s.L1.Head().Number.Uint64(); n++ {
		for _, tx := range s.L1.Chain().BlockByNumber(n).Transactions() {
			if from, _ := types.Sender(signer, tx); tx.To() != nil && *tx.To() == InboxAddress && from == s.Config.Batcher {
				inbox = append(inbox, tx.Data())
			}
		}
	}
	load := proof.Loads[0]
	last := load.Txs[len(load.Txs)-1].Index
	if uint64(len(inbox)) <= last+1 {
		t.Fatalf("%d inbox transactions, want one after the channel's last (%d)", len(inbox), last)
	}
	st := must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	run := func(txs ...BatchTx) error {
		return loadBatch(st, &BatchLoad{Start: load.Start, Txs: txs}, &s.Config.Proofs, inboxRecords{st})
	}
	if err := run(load.Txs[0]); err != nil {
		t.Fatal(err)
	}
	if err := run(BatchTx{Index: last + 1, Data: inbox[last+1]}); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a load of another channel's inbox transaction: %v", err)
	}
	if err := run(load.Txs[1:]...); err != nil {
		t.Fatalf("the channel's own transactions after the refused load: %v", err)
	}
}

// A step pays for the L2 gas it may re-execute, read from its input, not
// for its bytes alone: otherwise a proof of a block stuffed with heavy
// transactions makes every L1 node run them for the price of a transfer.
func TestStepPaysForTheL2GasItRuns(t *testing.T) {
	o := NewOutputs(L1Params{L2ChainID: 901})
	tx := func(gas uint64) []byte {
		raw, _ := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(901), Gas: gas}).MarshalBinary()
		return raw
	}
	cost := func(method string, proof any) uint64 {
		raw := must[[]byte](t)(rlp.EncodeToBytes(proof))
		return o.RequiredGas(must[[]byte](t)(OutputsABI.Pack(method, big.NewInt(1), big.NewInt(0), raw)))
	}
	light := cost("step", &StepProof{Txs: [][]byte{tx(21_000)}})
	heavy := cost("step", &StepProof{Txs: [][]byte{tx(10_000_000)}})
	if heavy < light+(10_000_000-21_000)/ExecGasDivisor {
		t.Fatalf("a step with a 10M-gas transaction costs %d, one with a transfer %d", heavy, light)
	}
	lightPart := cost("stepPart", &StepPart{Txs: [][]byte{tx(21_000)}})
	heavyPart := cost("stepPart", &StepPart{Txs: [][]byte{tx(21_000), tx(8_000_000)}})
	if heavyPart < lightPart+8_000_000/ExecGasDivisor {
		t.Fatalf("a part with an 8M-gas transaction costs %d, one with a transfer %d", heavyPart, lightPart)
	}
}
