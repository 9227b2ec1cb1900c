package batch

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// checkSame fails unless got carries the same blocks and transactions as want.
func checkSame(t *testing.T, want, got *Batch) {
	t.Helper()
	if got.ParentCheck != want.ParentCheck {
		t.Fatalf("parent check %x, want %x", got.ParentCheck, want.ParentCheck)
	}
	if len(got.Blocks) != len(want.Blocks) {
		t.Fatalf("%d blocks, want %d", len(got.Blocks), len(want.Blocks))
	}
	for i, w := range want.Blocks {
		g := got.Blocks[i]
		if g.Number != w.Number || g.Time != w.Time || g.Origin != w.Origin {
			t.Fatalf("block %d: (number %d, time %d, origin %d), want (%d, %d, %d)", i, g.Number, g.Time, g.Origin, w.Number, w.Time, w.Origin)
		}
		if len(g.Txs) != len(w.Txs) {
			t.Fatalf("block %d: %d txs, want %d", i, len(g.Txs), len(w.Txs))
		}
		for j, wtx := range w.Txs {
			if g.Txs[j].Hash() != wtx.Hash() {
				t.Fatalf("block %d tx %d: hash %v, want %v", i, j, g.Txs[j].Hash(), wtx.Hash())
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, b := range map[string]*Batch{
		"mixed":     mixedBatch(t),
		"transfers": transferBatch(t, 100, 5, 7),
		"one empty": {Blocks: []Block{{Number: 0, Time: 0, Origin: 0}}},
		"max values": {Blocks: []Block{
			{Number: math.MaxUint64 - 1, Time: math.MaxUint64 - 1, Origin: math.MaxUint64 - 1},
			{Number: math.MaxUint64, Time: math.MaxUint64, Origin: math.MaxUint64},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			enc, err := Encode(b, testChainID)
			if err != nil {
				t.Fatal(err)
			}
			if enc[0] != SpanBatchVersion {
				t.Fatalf("version byte %#x", enc[0])
			}
			got, err := Decode(enc, testChainID)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, b, got)
			// Decoded transactions are fully valid: same sender.
			signer := types.LatestSignerForChainID(testChainID)
			for i, blk := range got.Blocks {
				for j, tx := range blk.Txs {
					want, _ := types.Sender(signer, b.Blocks[i].Txs[j])
					from, err := types.Sender(signer, tx)
					if err != nil || from != want {
						t.Fatalf("block %d tx %d: sender %v (%v), want %v", i, j, from, err, want)
					}
				}
			}
			// Deterministic and canonical.
			again, err := Encode(got, testChainID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, enc) {
				t.Fatal("re-encoding differs")
			}
			// Through a channel too.
			ch, err := Compress(enc)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := Decompress(ch)
			if err != nil || !bytes.Equal(dec, enc) {
				t.Fatalf("decompress: %v", err)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	key := testKey(t, 1)
	to := common.Address{1}
	blobTx := sign(t, key, &types.BlobTx{
		ChainID:    uint256.MustFromBig(testChainID),
		GasTipCap:  uint256.NewInt(1),
		GasFeeCap:  uint256.NewInt(1),
		Gas:        21000,
		To:         to,
		Value:      uint256.NewInt(0),
		BlobFeeCap: uint256.NewInt(1),
		BlobHashes: []common.Hash{{0x01}},
	})
	setCodeTx := sign(t, key, &types.SetCodeTx{
		ChainID:   uint256.MustFromBig(testChainID),
		GasTipCap: uint256.NewInt(1),
		GasFeeCap: uint256.NewInt(1),
		Gas:       50000,
		To:        to,
		Value:     uint256.NewInt(0),
		AuthList:  []types.SetCodeAuthorization{{}},
	})
	otherChain, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(1), GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(1), Gas: 21000, To: &to}), types.LatestSignerForChainID(big.NewInt(1)), key)
	if err != nil {
		t.Fatal(err)
	}
	otherLegacy, err := types.SignTx(types.NewTx(&types.LegacyTx{GasPrice: big.NewInt(1), Gas: 21000, To: &to}), types.NewEIP155Signer(big.NewInt(1)), key)
	if err != nil {
		t.Fatal(err)
	}
	unprotected, err := types.SignTx(types.NewTx(&types.LegacyTx{GasPrice: big.NewInt(1), Gas: 21000, To: &to}), types.HomesteadSigner{}, key)
	if err != nil {
		t.Fatal(err)
	}
	hugeValue := types.NewTx(&types.DynamicFeeTx{ChainID: testChainID, GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(1), Value: new(big.Int).Lsh(big.NewInt(1), 256), To: &to})
	for name, tx := range map[string]*types.Transaction{
		"blob":                 blobTx,
		"set code":             setCodeTx,
		"wrong chain":          otherChain,
		"legacy wrong chain":   otherLegacy,
		"legacy not protected": unprotected,
		"value over 256 bits":  hugeValue,
		"nil":                  nil,
	} {
		b := &Batch{Blocks: []Block{{Number: 1, Txs: []*types.Transaction{sign(t, key, &types.DynamicFeeTx{ChainID: testChainID, To: &to}), tx}}}}
		if _, err := Encode(b, testChainID); !errors.Is(err, ErrUnsupportedTx) {
			t.Errorf("%s: error %v, want ErrUnsupportedTx", name, err)
		}
	}

	for name, b := range map[string]*Batch{
		"nil":              nil,
		"no blocks":        {},
		"gap":              {Blocks: []Block{{Number: 1}, {Number: 3}}},
		"same number":      {Blocks: []Block{{Number: 1}, {Number: 1}}},
		"number overflow":  {Blocks: []Block{{Number: math.MaxUint64}, {Number: 0}}},
		"time decreases":   {Blocks: []Block{{Number: 1, Time: 5}, {Number: 2, Time: 4}}},
		"origin decreases": {Blocks: []Block{{Number: 1, Origin: 5}, {Number: 2, Origin: 4}}},
		"too many blocks":  {Blocks: make([]Block, MaxBlocksPerBatch+1)},
	} {
		if _, err := Encode(b, testChainID); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}
	if _, err := Encode(mixedBatch(t), nil); err == nil {
		t.Error("nil chain ID accepted")
	}
}

func TestDecodeRejects(t *testing.T) {
	enc, err := Encode(mixedBatch(t), testChainID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(enc, big.NewInt(1)); err != nil {
		// Another chain ID decodes to other transactions (other hashes),
		// which is not an encoding error.
		t.Fatalf("other chain: %v", err)
	}
	for name, data := range map[string][]byte{
		"empty":        nil,
		"version":      append([]byte{0x02}, enc[1:]...),
		"trailing":     append(append([]byte{}, enc...), 0x80),
		"truncated":    enc[:len(enc)-1],
		"only version": {SpanBatchVersion},
	} {
		if _, err := Decode(data, testChainID); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}
	// Every single-byte corruption is either rejected or decodes to a batch
	// whose encoding is the corrupted input (canonical encoding).
	for i := range enc {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			data := append([]byte{}, enc...)
			data[i] ^= x
			b, err := Decode(data, testChainID)
			if err != nil {
				if !errors.Is(err, ErrInvalidBatch) {
					t.Fatalf("byte %d ^ %#x: error %v does not wrap ErrInvalidBatch", i, x, err)
				}
				continue
			}
			again, err := Encode(b, testChainID)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("byte %d ^ %#x: decoded but re-encodes differently (%v)", i, x, err)
			}
		}
	}
}

// TestDecodeLimits checks that counts are checked before allocating.
func TestDecodeLimits(t *testing.T) {
	mk := func(sb *spanBatch) []byte {
		enc, err := encodeRaw(sb)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	base := func() *spanBatch {
		return &spanBatch{TxCounts: []uint64{0}, TxTypes: []byte{}}
	}
	if _, err := Decode(mk(base()), testChainID); err != nil {
		t.Fatalf("base: %v", err)
	}
	cases := map[string]func(sb *spanBatch){
		"no blocks":    func(sb *spanBatch) { sb.TxCounts = nil },
		"too many txs": func(sb *spanBatch) { sb.TxCounts = []uint64{MaxTxsPerBatch + 1} },
		"tx count overflow": func(sb *spanBatch) {
			sb.TxCounts = []uint64{math.MaxUint64, 2}
			sb.TimeDeltas = []uint64{0}
			sb.OriginDeltas = []uint64{0}
		},
		"too many blocks": func(sb *spanBatch) {
			sb.TxCounts = make([]uint64, MaxBlocksPerBatch+1)
			sb.TimeDeltas = make([]uint64, MaxBlocksPerBatch)
			sb.OriginDeltas = make([]uint64, MaxBlocksPerBatch)
		},
		"missing deltas": func(sb *spanBatch) { sb.TxCounts = []uint64{0, 0} },
		"number overflow": func(sb *spanBatch) {
			sb.FirstNumber = math.MaxUint64
			sb.TxCounts = []uint64{0, 0}
			sb.TimeDeltas = []uint64{0}
			sb.OriginDeltas = []uint64{0}
		},
		"time overflow": func(sb *spanBatch) {
			sb.FirstTime = math.MaxUint64
			sb.TxCounts = []uint64{0, 0}
			sb.TimeDeltas = []uint64{1}
			sb.OriginDeltas = []uint64{0}
		},
		"origin overflow": func(sb *spanBatch) {
			sb.FirstOrigin = 1
			sb.TxCounts = []uint64{0, 0}
			sb.TimeDeltas = []uint64{0}
			sb.OriginDeltas = []uint64{math.MaxUint64}
		},
		"txs without data": func(sb *spanBatch) { sb.TxCounts = []uint64{MaxTxsPerBatch} },
		"bad type":         func(sb *spanBatch) { sb.TxCounts = []uint64{1}; sb.TxTypes = []byte{3} },
		"short signatures": func(sb *spanBatch) {
			sb.TxCounts = []uint64{1}
			sb.TxTypes = []byte{2}
			sb.YParity = []byte{0}
			sb.Signatures = make([]byte, 63)
		},
		"parity padding": func(sb *spanBatch) {
			sb.TxCounts = []uint64{1}
			sb.TxTypes = []byte{2}
			sb.YParity = []byte{2}
		},
		"extra field": func(sb *spanBatch) { sb.AccessLists = []types.AccessList{{}} },
	}
	for name, edit := range cases {
		sb := base()
		edit(sb)
		if _, err := Decode(mk(sb), testChainID); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}

	// A valid one-tx batch with fields over their limits.
	one := func() *spanBatch {
		sb := base()
		sb.TxCounts = []uint64{1}
		sb.TxTypes = []byte{types.DynamicFeeTxType}
		sb.YParity = []byte{1}
		sb.Signatures = bytes.Repeat([]byte{0x11}, 64)
		sb.Creations = []byte{0}
		sb.Recipients = make([]byte, 20)
		sb.Nonces = []uint64{1}
		sb.GasLimits = []uint64{21000}
		sb.Values = []*big.Int{big.NewInt(0)}
		sb.GasPrices = []*big.Int{big.NewInt(1)}
		sb.TipCaps = []*big.Int{big.NewInt(1)}
		sb.Data = [][]byte{nil}
		sb.AccessLists = []types.AccessList{nil}
		return sb
	}
	if _, err := Decode(mk(one()), testChainID); err != nil {
		t.Fatalf("one: %v", err)
	}
	for name, edit := range map[string]func(sb *spanBatch){
		"value over 256 bits": func(sb *spanBatch) { sb.Values = []*big.Int{new(big.Int).Lsh(big.NewInt(1), 256)} },
		"missing tip":         func(sb *spanBatch) { sb.TipCaps = nil },
		"missing access list": func(sb *spanBatch) { sb.AccessLists = nil },
		"creation and to":     func(sb *spanBatch) { sb.Creations = []byte{1} },
		"short recipients":    func(sb *spanBatch) { sb.Recipients = make([]byte, 19) },
		"two nonces":          func(sb *spanBatch) { sb.Nonces = []uint64{1, 2} },
	} {
		sb := one()
		edit(sb)
		if _, err := Decode(mk(sb), testChainID); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}
}

// TestTransferSize measures what a simple transfer costs on L1.
func TestTransferSize(t *testing.T) {
	const n = 1000
	b := transferBatch(t, n, 50, 40)
	enc, err := Encode(b, testChainID)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := Compress(enc)
	if err != nil {
		t.Fatal(err)
	}
	var raw int
	for _, blk := range b.Blocks {
		for _, tx := range blk.Txs {
			bin, _ := tx.MarshalBinary()
			raw += len(bin)
		}
	}
	perTx := float64(len(ch)) / n
	t.Logf("%d transfers: %d bytes as transactions, %d encoded (%.1f/tx), %d compressed: %.2f bytes/tx",
		n, raw, len(enc), float64(len(enc))/n, len(ch), perTx)
	if perTx > 95 {
		t.Fatalf("%.2f compressed bytes per transfer, want <= 95", perTx)
	}
	got, err := Decode(enc, testChainID)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, b, got)
}

func BenchmarkEncodeCompress(b *testing.B) {
	const n = 1000
	bt := transferBatch(b, n, 50, 40)
	var size int
	for b.Loop() {
		enc, err := Encode(bt, testChainID)
		if err != nil {
			b.Fatal(err)
		}
		ch, err := Compress(enc)
		if err != nil {
			b.Fatal(err)
		}
		size = len(ch)
	}
	b.ReportMetric(float64(size)/n, "bytes/tx")
}
