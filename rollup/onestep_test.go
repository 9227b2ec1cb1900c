package rollup

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
)

type noQueue struct{}

func (noQueue) QueueItem(uint64) (common.Hash, uint64, bool) { return common.Hash{}, 0, false }
func (noQueue) QueueLength() uint64                          { return 0 }
func (noQueue) Batch(uint64) (inboxEntry, bool)              { return inboxEntry{}, false }
func (noQueue) RecordAfter(uint64, uint64) bool              { return false }
func (noQueue) KnowsL1Block(uint64, common.Hash) bool        { return true }

// noRecords answers every question of a fuzzed proof so it reaches
// execution.
var noRecords = l1Records{queue: noQueue{}, inbox: noQueue{}, seqs: noLoads{}, headers: noQueue{}, before: AnyL1Block}

// realProof returns the encoded one-step proof of a block with a transfer,
// and the outputs around it.
func realProof(tb testing.TB) ([]byte, common.Hash, common.Hash, *System) {
	tb.Helper()
	ctx := context.Background()
	s, err := NewSystem(ctx, SystemOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	seq, err := ethclientDial(s.Sequencer.RPCURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer seq.Close()
	if _, err := s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), ether(1)); err != nil {
		tb.Fatal(err)
	}
	b, err := s.Sequence(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Batch(ctx); err != nil {
		tb.Fatal(err)
	}
	p, err := s.Sequencer.StepProof(b.NumberU64())
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := rlp.EncodeToBytes(p)
	pre, _ := OutputAt(s.Sequencer.Chain(), b.NumberU64()-1)
	post, _ := OutputAt(s.Sequencer.Chain(), b.NumberU64())
	return raw, pre.Root(), post.Root(), s
}

// The proof of a real block gives its output; changing the block's content
// gives another output, and a wrong parent is refused.
func TestStepProof(t *testing.T) {
	raw, pre, post, s := realProof(t)
	l1State, err := s.L1.Chain().StateAt(s.L1.Head().Root)
	if err != nil {
		t.Fatal(err)
	}
	var p StepProof
	if err := rlp.DecodeBytes(raw, &p); err != nil {
		t.Fatal(err)
	}
	got, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State)
	if err != nil || got != post {
		t.Fatalf("proof gives %s, %v; want %s", got, err, post)
	}
	// Had the batch landed after the block's sequencing window closed,
	// derivation would have dropped it, and so does the contract.
	narrow := s.Config.Proofs
	narrow.SeqWindow = 1
	if _, err := VerifyStep(&p, pre, AnyL1Block, &narrow, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a batch late for its window: %v", err)
	}
	p.Time++
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block with another time than its batch: %v", err)
	}
	p.Time--
	if _, err := VerifyStep(&p, post, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("wrong agreed output: %v", err)
	}
	// The origin's header is L1's: another base fee (the data fee's
	// price) makes another hash, which L1 state does not know.
	origin := new(types.Header)
	if err := rlp.DecodeBytes(p.OriginHeader, origin); err != nil {
		t.Fatal(err)
	}
	real := p.OriginHeader
	origin.BaseFee = new(big.Int).Mul(origin.BaseFee, big.NewInt(100))
	p.OriginHeader = must[[]byte](t)(rlp.EncodeToBytes(origin))
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrUnknownL1Block) {
		t.Fatalf("a forged origin header: %v", err)
	}
	p.OriginHeader = real
	var tx types.Transaction
	if err := tx.UnmarshalBinary(p.Txs[0]); err != nil {
		t.Fatal(err)
	}
	// An alternative history that leaves out a batched transaction is
	// refused, with or without the batch.
	p.Txs = nil
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block without its batched transaction: %v", err)
	}
	batch := p.Batch
	p.Batch = nil
	// Nor can the block be claimed empty without its batch: only a forced
	// advance, with nothing from the batcher in the window, needs none.
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("a batched block claimed empty without its batch: %v", err)
	}
	p.Txs = [][]byte{must[[]byte](t)(tx.MarshalBinary())}
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a block with transactions but no batch: %v", err)
	}
	p.Batch = batch
	p.Batch[0].Index++
	if _, err := VerifyStep(&p, pre, AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrBadProof) {
		t.Fatalf("a batch the inbox did not record: %v", err)
	}
}

// FuzzStepProof feeds arbitrary bytes to the one-step proof's decoder and
// verifier, as anyone may call step with any proof.
func FuzzStepProof(f *testing.F) {
	raw, pre, _, s := realProof(f)
	f.Add(raw)
	f.Add([]byte{0xc0})
	f.Add(raw[:len(raw)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var p StepProof
		if rlp.DecodeBytes(data, &p) != nil {
			return
		}
		verifyStep(&p, pre, &s.Config.Proofs, noRecords) // must not panic
	})
}

func ethclientDial(url string) (*ethclient.Client, error) { return ethclient.Dial(url) }

// A block that reads BLOCKHASH of a block older than its parent needs that
// header in the witness. Left out, BLOCKHASH would answer 0 on L1 where the
// chain has a hash, and the proof would prove another output than the
// chain's: the proof is refused instead.
func TestStepProofNeedsEveryHeaderItReads(t *testing.T) {
	ctx := context.Background()
	s, err := NewSystem(ctx, SystemOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	seq := dial(t, s.Sequencer.RPCURL())
	for range 3 {
		must[*types.Block](t)(s.Sequence(ctx))
	}
	// Runtime code: sstore(0, blockhash(number - 3)).
	runtime := []byte{0x60, 0x03, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, 0x00}
	// Init code: copy the runtime to memory and return it.
	initCode := append([]byte{0x60, byte(len(runtime)), 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, byte(len(runtime)), 0x60, 0x00, 0xf3}, runtime...)
	key := chain.DevKey(1)
	chainID := must[*big.Int](t)(seq.ChainID(ctx))
	head := must[*types.Header](t)(seq.HeaderByNumber(ctx, nil))
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(3)), big.NewInt(1e9))
	create := must[*types.Transaction](t)(types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: 0, Gas: 200_000, GasTipCap: big.NewInt(1e9), GasFeeCap: fee, Data: initCode}))
	if err := seq.SendTransaction(ctx, create); err != nil {
		t.Fatal(err)
	}
	must[*types.Block](t)(s.Sequence(ctx))
	contract := crypto.CreateAddress(chain.DevAddress(1), 0)
	if code := must[[]byte](t)(seq.CodeAt(ctx, contract, nil)); len(code) == 0 {
		t.Fatal("contract not deployed")
	}
	call := must[*types.Transaction](t)(ethtx.Send(ctx, seq, key, contract, nil, nil, 100_000))
	b := must[*types.Block](t)(s.Sequence(ctx))
	if r := must[*types.Receipt](t)(seq.TransactionReceipt(ctx, call.Hash())); r.BlockNumber.Uint64() != b.NumberU64() || r.Status != 1 {
		t.Fatalf("call receipt %+v", r)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	p := must[*StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
	pre := must[*Output](t)(OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := must[*Output](t)(OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	l1State := must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	if got, err := VerifyStep(p, pre.Root(), AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
		t.Fatalf("honest proof gives %s, %v; want %s", got, err, post.Root())
	}
	var w stateless.Witness
	if err := rlp.DecodeBytes(p.Witness, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Headers) < 3 {
		t.Fatalf("witness holds %d headers, want the 3 the block reads", len(w.Headers))
	}
	w.Headers = w.Headers[:1] // only the parent
	raw := new(bytes.Buffer)
	if err := w.EncodeRLP(raw); err != nil {
		t.Fatal(err)
	}
	p.Witness = raw.Bytes()
	if got, err := VerifyStep(p, pre.Root(), AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, ErrMissingHeader) {
		t.Fatalf("a witness without the headers BLOCKHASH reads proves %s, %v; want %v", got, err, ErrMissingHeader)
	}
}
