package rollup

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
)

// partsGame plays a parted proof against L1 state the way the outputs
// contract does, keeping the hashes it would store.
type partsGame struct {
	st                *state.StateDB
	lo                common.Hash
	number            uint64
	id, scalar        uint64
	envHash, progHash common.Hash
}

func (g *partsGame) play(p *StepPart) (*PartResult, error) {
	res, err := VerifyStepPart(p, g.lo, g.number, g.envHash, g.progHash, g.id, g.scalar, PortalRecords(g.st), outputsRecords{g.st})
	if err == nil && res.Progress != nil {
		g.envHash, g.progHash = res.EnvHash, res.Progress.Hash()
	}
	return res, err
}

// partedBlock makes an L2 block with two deposits (one creating a
// contract), a forced transaction and twenty sequencer transfers, batches
// it, and returns its parted proof cut to a small budget.
func partedBlock(t *testing.T, budget int) (*System, *types.Block, *PartedProof) {
	s, ctx := newSystem(t, SystemOptions{})
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
	g := &partsGame{st: st, lo: pre.Root(), number: b.NumberU64(), id: s.Config.L2ChainID, scalar: s.Config.L1FeeScalar}

	// A block with sequencer transactions needs its channel loaded first.
	if _, err := g.play(&proof.Parts[0]); !errors.Is(err, ErrBadProof) {
		t.Fatalf("first part before the load: %v", err)
	}
	for _, l := range proof.Loads {
		if err := loadBatch(st, &l, s.Config.L2ChainID, InboxRecords(st)); err != nil {
			t.Fatal(err)
		}
	}
	if err := loadBatch(st, &proof.Loads[0], s.Config.L2ChainID, InboxRecords(st)); !errors.Is(err, ErrBadProof) {
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
