package rollup_test

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
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// realProof returns the encoded one-step proof of a block with a transfer,
// and the outputs around it.
func realProof(tb testing.TB) ([]byte, common.Hash, common.Hash, *rolluptest.System) {
	tb.Helper()
	ctx := context.Background()
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	seq, err := ethclientDial(s.Sequencer.RPCURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer seq.Close()
	if _, err := s.SendL2(ctx, seq, chain.DevKey(1), chain.DevAddress(2), rolluptest.Ether(1)); err != nil {
		tb.Fatal(err)
	}
	b, err := s.Sequence(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Batch(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
		tb.Fatal(err)
	}
	p, err := s.Sequencer.StepProof(b.NumberU64())
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := rlp.EncodeToBytes(p)
	pre, _ := rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1)
	post, _ := rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64())
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
	var p rollup.StepProof
	if err := rlp.DecodeBytes(raw, &p); err != nil {
		t.Fatal(err)
	}
	got, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State)
	if err != nil || got != post {
		t.Fatalf("proof gives %s, %v; want %s", got, err, post)
	}
	// Had the batch landed after the block's sequencing window closed,
	// derivation would have dropped it, and so does the contract.
	narrow := s.Config.Proofs
	narrow.SeqWindow = 1
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &narrow, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a batch late for its window: %v", err)
	}
	p.Time++
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a block with another time than its batch: %v", err)
	}
	p.Time--
	if _, err := rollup.VerifyStep(&p, post, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
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
	p.OriginHeader = rolluptest.Must[[]byte](t)(rlp.EncodeToBytes(origin))
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrUnknownL1Block) {
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
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a block without its batched transaction: %v", err)
	}
	d := p.Derivation
	p.Derivation.Records, p.Derivation.ParentChannel = nil, nil
	// Nor can the block be claimed empty, or with its transaction, without
	// the records derivation read: it reads every one.
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a batched block claimed empty without its batch: %v", err)
	}
	p.Txs = [][]byte{rolluptest.Must[[]byte](t)(tx.MarshalBinary())}
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
		t.Fatalf("a block with transactions but no batch: %v", err)
	}
	p.Derivation = d
	records := &p.Derivation.Records
	if len(*records) == 0 {
		records = &p.Derivation.ParentChannel
	}
	(*records)[0].Index++
	if _, err := rollup.VerifyStep(&p, pre, rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrBadProof) {
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
		var p rollup.StepProof
		if rlp.DecodeBytes(data, &p) != nil {
			return
		}
		rollup.VerifyStepRecords(&p, pre, &s.Config.Proofs, rollup.NoRecords) // must not panic
	})
}

func ethclientDial(url string) (*ethclient.Client, error) { return ethclient.Dial(url) }

// A block that reads BLOCKHASH of a block older than its parent needs that
// header in the witness. Left out, BLOCKHASH would answer 0 on L1 where the
// chain has a hash, and the proof would prove another output than the
// chain's: the proof is refused instead.
func TestStepProofNeedsEveryHeaderItReads(t *testing.T) {
	ctx := context.Background()
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	seq := rolluptest.Dial(t, s.Sequencer.RPCURL())
	for range 3 {
		rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	}
	// Runtime code: sstore(0, blockhash(number - 3)).
	runtime := []byte{0x60, 0x03, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, 0x00}
	// Init code: copy the runtime to memory and return it.
	initCode := append([]byte{0x60, byte(len(runtime)), 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, byte(len(runtime)), 0x60, 0x00, 0xf3}, runtime...)
	key := chain.DevKey(1)
	chainID := rolluptest.Must[*big.Int](t)(seq.ChainID(ctx))
	head := rolluptest.Must[*types.Header](t)(seq.HeaderByNumber(ctx, nil))
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(3)), big.NewInt(1e9))
	create := rolluptest.Must[*types.Transaction](t)(types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: 0, Gas: 200_000, GasTipCap: big.NewInt(1e9), GasFeeCap: fee, Data: initCode}))
	if err := seq.SendTransaction(ctx, create); err != nil {
		t.Fatal(err)
	}
	rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	contract := crypto.CreateAddress(chain.DevAddress(1), 0)
	if code := rolluptest.Must[[]byte](t)(seq.CodeAt(ctx, contract, nil)); len(code) == 0 {
		t.Fatal("contract not deployed")
	}
	call := rolluptest.Must[*types.Transaction](t)(ethtx.Send(ctx, seq, key, contract, nil, nil, 100_000))
	b := rolluptest.Must[*types.Block](t)(s.Sequence(ctx))
	if r := rolluptest.Must[*types.Receipt](t)(seq.TransactionReceipt(ctx, call.Hash())); r.BlockNumber.Uint64() != b.NumberU64() || r.Status != 1 {
		t.Fatalf("call receipt %+v", r)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
		t.Fatal(err)
	}
	p := rolluptest.Must[*rollup.StepProof](t)(s.Sequencer.StepProof(b.NumberU64()))
	pre := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()-1))
	post := rolluptest.Must[*rollup.Output](t)(rollup.OutputAt(s.Sequencer.Chain(), b.NumberU64()))
	l1State := rolluptest.Must[*state.StateDB](t)(s.L1.Chain().StateAt(s.L1.Head().Root))
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); err != nil || got != post.Root() {
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
	if got, err := rollup.VerifyStep(p, pre.Root(), rollup.AnyL1Block, &s.Config.Proofs, l1State); !errors.Is(err, rollup.ErrMissingHeader) {
		t.Fatalf("a witness without the headers BLOCKHASH reads proves %s, %v; want %v", got, err, rollup.ErrMissingHeader)
	}
}
