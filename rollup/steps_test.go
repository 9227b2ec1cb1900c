package rollup_test

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
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// partsGame plays a parted proof against L1 state the way the outputs
// contract does, keeping the hashes it would store.
type partsGame struct {
	st                *state.StateDB
	lo                common.Hash
	number            uint64
	params            *rollup.L1Params
	envHash, progHash common.Hash
}

func (g *partsGame) play(p *rollup.StepPart) (*rollup.PartResult, error) {
	res, err := rollup.VerifyStepPart(p, g.lo, g.number, g.envHash, g.progHash, rollup.AnyL1Block, g.params, g.st)
	if err == nil && res.Progress != nil {
		g.envHash, g.progHash = res.EnvHash, res.Progress.Hash()
	}
	return res, err
}

// partedBlock makes an L2 block with two deposits (one creating a
// contract), a forced transaction and twenty sequencer transfers, batches
// it, and returns its parted proof cut to a small budget.
func partedBlock(t *testing.T, budget int) (*rolluptest.System, *types.Block, *rollup.PartedProof) {
	// Small frames, so the channel spans several inbox transactions.
	s, ctx := rolluptest.Start(t, rolluptest.Options{MaxTxData: 1_000})
	greeterABI, bin := contracts.Greeter()
	ctor := rolluptest.Must[[]byte](t)(greeterABI.Pack("", "deposited"))
	rolluptest.SendL1(t, ctx, s, 4, rollup.PortalAddress, nil, rolluptest.Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", common.Address{}, new(big.Int), uint64(2_000_000), append(bin, ctor...))), 1_000_000)
	rolluptest.SendL1(t, ctx, s, 5, rollup.PortalAddress, rolluptest.Ether(3), rolluptest.Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", chain.DevAddress(6), rolluptest.Ether(3), uint64(100_000), []byte{})), 500_000)
	rolluptest.Force(t, ctx, s, 2, rolluptest.SignL2(t, s, 2, 0, common.Address{0xca}, rolluptest.Ether(1)))
	rolluptest.Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	for i := range 20 {
		from := uint32(7 + i%3)
		if _, err := s.SendL2(ctx, seq, chain.DevKey(from), common.Address{byte(i + 1)}, big.NewInt(int64(1000+i))); err != nil {
			t.Fatal(err)
		}
	}
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if len(b.Transactions()) != 21 {
		t.Fatalf("block has %d transactions, want 21", len(b.Transactions()))
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
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
	st := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	g := &partsGame{st: st, lo: pre.Root(), number: b.NumberU64(), params: &s.Config.Proofs}

	// A block with sequencer transactions needs its channel loaded first.
	if _, err := g.play(&proof.Parts[0]); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("first part before the load: %v", err)
	}
	// Load the channel one inbox transaction per call, as a channel too
	// large for one L1 transaction is: the contract keeps the frames
	// between calls and decodes the channel when the last one arrives.
	load := proof.Loads[0]
	if len(load.Txs) < 2 {
		t.Fatalf("the channel is in %d inbox transactions, want several", len(load.Txs))
	}
	if err := rollup.LoadBatch(st, &rollup.BatchLoad{Start: load.Start, Txs: load.Txs[1:2]}, &s.Config.Proofs, rollup.InboxRecordsOf(st)); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("loading a channel from its second frame: %v", err)
	}
	// Another party loads the first record alone: the whole load, cut
	// otherwise, passes over it and completes the same channel.
	griefed := st.Copy()
	if err := rollup.LoadBatch(griefed, &rollup.BatchLoad{Start: load.Start, Txs: load.Txs[:1]}, &s.Config.Proofs, rollup.InboxRecordsOf(griefed)); err != nil {
		t.Fatalf("the first record alone: %v", err)
	}
	if err := rollup.LoadBatch(griefed, &load, &s.Config.Proofs, rollup.InboxRecordsOf(griefed)); err != nil {
		t.Fatalf("the whole load after another party's first record: %v", err)
	}
	progress := func() (p [6]common.Hash) { // the load's state
		for f := range p {
			p[f] = st.GetState(rollup.OutputsAddress, rollup.ChanSlot(load.Start, f))
		}
		return p
	}
	for i, bt := range load.Txs {
		if err := rollup.LoadBatch(st, &rollup.BatchLoad{Start: load.Start, Txs: []rollup.BatchTx{bt}}, &s.Config.Proofs, rollup.InboxRecordsOf(st)); err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if i == 0 {
			// The same record again changes nothing; a record skipped is
			// refused.
			before := progress()
			if err := rollup.LoadBatch(st, &rollup.BatchLoad{Start: load.Start, Txs: []rollup.BatchTx{bt}}, &s.Config.Proofs, rollup.InboxRecordsOf(st)); err != nil || progress() != before {
				t.Fatalf("the same record twice: %v", err)
			}
			if len(load.Txs) > 2 {
				if err := rollup.LoadBatch(st.Copy(), &rollup.BatchLoad{Start: load.Start, Txs: load.Txs[2:3]}, &s.Config.Proofs, rollup.InboxRecordsOf(st)); !errors.Is(err, rollup.ErrBadProof) {
					t.Fatalf("a record skipped: %v", err)
				}
			}
		}
	}
	if h := rollup.OutputsRecordsOf(st).LoadedChannel(load.Start); h == (common.Hash{}) || h != rollup.OutputsRecordsOf(griefed).LoadedChannel(load.Start) {
		t.Fatal("the channel loaded a record a call and loaded after another party's call differ")
	}
	before := progress()
	if err := rollup.LoadBatch(st, &load, &s.Config.Proofs, rollup.InboxRecordsOf(st)); err != nil || progress() != before {
		t.Fatalf("loading a channel twice: %v", err)
	}

	var res *rollup.PartResult
	for i := range proof.Parts {
		p := proof.Parts[i]
		if i == 1 {
			// Skipping a part, or tampering with a transaction, is refused.
			if _, err := g.play(&proof.Parts[2]); !errors.Is(err, rollup.ErrBadProof) {
				t.Fatalf("skipping part 1: %v", err)
			}
			if len(p.Txs) > 0 {
				bad := p
				bad.Txs = append([][]byte{}, p.Txs...)
				bad.Txs[0] = proof.Parts[len(proof.Parts)-1].Txs[0]
				if _, err := g.play(&bad); !errors.Is(err, rollup.ErrBadProof) {
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

// FuzzStepPart feeds arbitrary bytes to a step part's decoder and
// verifier, as anyone may call stepPart with anything.
func FuzzStepPart(f *testing.F) {
	parent := rolluptest.Must[*types.Header](&testing.T{})(&types.Header{Number: big.NewInt(0), Extra: rollup.EncodeL1Info(rollup.L1Info{BaseFee: big.NewInt(1)}), Difficulty: new(big.Int)}, nil)
	praw, _ := rlp.EncodeToBytes(parent)
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(901), Gas: 21_000})
	raw, _ := tx.MarshalBinary()
	seed := rollup.StepPart{
		Env:     rollup.StepEnv{Parent: praw, OriginHeader: praw, SeqRoot: rollup.SeqRoot([][]byte{raw}), SeqCount: 1},
		Count:   1,
		Txs:     [][]byte{raw},
		Witness: rollup.PartWitness{Nodes: [][]byte{{0xc0}}, Headers: [][]byte{praw}},
		// A parent at genesis's position, the block a forced advance.
		Derivation: &rollup.Derivation{},
	}
	enc, _ := rlp.EncodeToBytes(&seed)
	f.Add(enc)
	seed.Prev = &rollup.StepProgress{Position: 1}
	enc, _ = rlp.EncodeToBytes(&seed)
	f.Add(enc)
	lo := rollup.OutputRoot(parent.Root, common.Hash{}, parent.Hash(), rollup.Position{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p rollup.StepPart
		if rlp.DecodeBytes(data, &p) != nil {
			return
		}
		rollup.VerifyStepPartRecords(&p, lo, 1, common.Hash{}, common.Hash{}, &rollup.L1Params{L2ChainID: 901, L1FeeScalar: 1, SeqWindow: 10}, rollup.NoRecords) // must not panic
	})
}

// FuzzBatchLoad feeds arbitrary channel loads to loadBatch, its inbox
// records taken from the load itself so frames reach the decoder.
func FuzzBatchLoad(f *testing.F) {
	f.Add(rolluptest.Must[[]byte](&testing.T{})(rlp.EncodeToBytes(&rollup.BatchLoad{Txs: []rollup.BatchTx{{Index: 0, Data: []byte{0, 1, 2}}}})))
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var l rollup.BatchLoad
		if rlp.DecodeBytes(data, &l) != nil {
			return
		}
		db := rawdb.NewMemoryDatabase()
		st, err := state.New(types.EmptyRootHash, state.NewDatabase(triedb.NewDatabase(db, nil), state.NewCodeDB(db)))
		if err != nil {
			t.Fatal(err)
		}
		var list rollup.BatchList
		for _, bt := range l.Txs {
			// Blob records where a commitment is given: their checks run too.
			list.Add(bt, rollup.InboxEntry{Hash: crypto.Keccak256Hash(bt.Data), Blob: len(bt.Commitment) > 0})
		}
		rollup.LoadBatch(st, &l, &rollup.L1Params{L2ChainID: 901}, list) // must not panic
	})
}

// Anyone may call loadBatch. A load that adds an inbox transaction without
// the channel's next frames is refused: accepted, it would move the load
// past that transaction, and so past the channel's own later ones, which
// could then never be loaded.
func TestLoadBatchRefusesTransactionsWithoutItsFrames(t *testing.T) {
	s, _, proof := partedBlock(t, 8_000)
	ctx := context.Background()
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx)) // a later channel, in later inbox transactions
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	var inbox [][]byte // the batcher's inbox transactions, by inbox index
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(s.Config.L1ChainID))
	for n := uint64(1); n <= s.L1.Head().Number.Uint64(); n++ {
		for _, tx := range s.L1.Chain().BlockByNumber(n).Transactions() {
			if from, _ := types.Sender(signer, tx); tx.To() != nil && *tx.To() == rollup.InboxAddress && from == s.Config.Batcher {
				inbox = append(inbox, tx.Data())
			}
		}
	}
	load := proof.Loads[0]
	last := load.Txs[len(load.Txs)-1].Index
	if uint64(len(inbox)) <= last+1 {
		t.Fatalf("%d inbox transactions, want one after the channel's last (%d)", len(inbox), last)
	}
	st := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	run := func(txs ...rollup.BatchTx) error {
		return rollup.LoadBatch(st, &rollup.BatchLoad{Start: load.Start, Txs: txs}, &s.Config.Proofs, rollup.InboxRecordsOf(st))
	}
	if err := run(load.Txs[0]); err != nil {
		t.Fatal(err)
	}
	if err := run(rollup.BatchTx{Index: last + 1, Data: inbox[last+1]}); !errors.Is(err, rollup.ErrBadProof) {
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
	o := rollup.NewOutputs(rollup.L1Params{L2ChainID: 901})
	tx := func(gas uint64) []byte {
		raw, _ := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(901), Gas: gas}).MarshalBinary()
		return raw
	}
	cost := func(method string, proof any) uint64 {
		raw := rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(proof))
		return o.RequiredGas(rolluptest.Must[[]byte](t)(rollup.OutputsABI.Pack(method, big.NewInt(1), big.NewInt(0), raw)))
	}
	light := cost("step", &rollup.StepProof{Txs: [][]byte{tx(21_000)}})
	heavy := cost("step", &rollup.StepProof{Txs: [][]byte{tx(10_000_000)}})
	if heavy < light+(10_000_000-21_000)/rollup.ExecGasDivisor {
		t.Fatalf("a step with a 10M-gas transaction costs %d, one with a transfer %d", heavy, light)
	}
	lightPart := cost("stepPart", &rollup.StepPart{Txs: [][]byte{tx(21_000)}})
	heavyPart := cost("stepPart", &rollup.StepPart{Txs: [][]byte{tx(21_000), tx(8_000_000)}})
	if heavyPart < lightPart+8_000_000/rollup.ExecGasDivisor {
		t.Fatalf("a part with an 8M-gas transaction costs %d, one with a transfer %d", heavyPart, lightPart)
	}
}
