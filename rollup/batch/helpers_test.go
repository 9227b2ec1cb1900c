package batch

import (
	"crypto/ecdsa"
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

var testChainID = big.NewInt(4242)

// testKey returns a fixed private key for index i.
func testKey(tb testing.TB, i int) *ecdsa.PrivateKey {
	tb.Helper()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	key, err := crypto.ToECDSA(crypto.Keccak256(seed[:]))
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func sign(tb testing.TB, key *ecdsa.PrivateKey, inner types.TxData) *types.Transaction {
	tb.Helper()
	tx, err := types.SignTx(types.NewTx(inner), types.LatestSignerForChainID(testChainID), key)
	if err != nil {
		tb.Fatal(err)
	}
	return tx
}

func gwei(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e9)) }

// transferBatch builds the reference workload: n EIP-1559 transfers from
// `senders` senders with sequential nonces, to random recipients, of 1e15 wei
// with a 1 gwei tip and a 2 gwei fee cap and 21000 gas, spread over `blocks`
// blocks of 2 seconds.
func transferBatch(tb testing.TB, n, senders, blocks int) *Batch {
	tb.Helper()
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	keys := make([]*ecdsa.PrivateKey, senders)
	for i := range keys {
		keys[i] = testKey(tb, i)
	}
	nonces := make([]uint64, senders)
	b := &Batch{ParentCheck: [20]byte{0xca, 0x1e}}
	for i := range blocks {
		b.Blocks = append(b.Blocks, Block{Number: 1000 + uint64(i), Time: 1_700_000_000 + 2*uint64(i), Origin: 500 + uint64(i)/6})
	}
	for i := range n {
		s := rng.IntN(senders)
		var to common.Address
		for j := range to {
			to[j] = byte(rng.Uint32())
		}
		tx := sign(tb, keys[s], &types.DynamicFeeTx{
			ChainID:   testChainID,
			Nonce:     nonces[s],
			GasTipCap: gwei(1),
			GasFeeCap: gwei(2),
			Gas:       21000,
			To:        &to,
			Value:     big.NewInt(1e15),
		})
		nonces[s]++
		blk := &b.Blocks[i*blocks/n]
		blk.Txs = append(blk.Txs, tx)
	}
	return b
}

// mixedBatch has every kind of transaction a batch carries, and empty blocks.
func mixedBatch(tb testing.TB) *Batch {
	tb.Helper()
	k0, k1 := testKey(tb, 100), testKey(tb, 101)
	to := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	to2 := common.HexToAddress("0x1111111111111111111111111111111111111111")
	al := types.AccessList{
		{Address: to, StorageKeys: []common.Hash{{1}, {2}}},
		{Address: to2},
	}
	initCode := common.FromHex("0x6080604052348015600f57600080fd5b50603f80601d6000396000f3fe6080604052600080fdfea164736f6c6343000814000a")
	legacy := func(nonce uint64, to *common.Address, data []byte) *types.Transaction {
		return sign(tb, k0, &types.LegacyTx{Nonce: nonce, GasPrice: gwei(3), Gas: 100_000, To: to, Value: big.NewInt(7), Data: data})
	}
	return &Batch{
		ParentCheck: [20]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		Blocks: []Block{
			{Number: 7, Time: 100, Origin: 3, Txs: []*types.Transaction{
				legacy(0, &to, nil),
				legacy(1, nil, initCode), // legacy creation
				sign(tb, k1, &types.AccessListTx{ChainID: testChainID, Nonce: 0, GasPrice: gwei(1), Gas: 60_000, To: &to2, Value: big.NewInt(0), Data: []byte{0xde, 0xad}, AccessList: al}),
			}},
			{Number: 8, Time: 102, Origin: 3}, // empty
			{Number: 9, Time: 102, Origin: 4, Txs: []*types.Transaction{
				sign(tb, k1, &types.DynamicFeeTx{ChainID: testChainID, Nonce: 1, GasTipCap: big.NewInt(0), GasFeeCap: gwei(5), Gas: 1_000_000, To: nil, Value: big.NewInt(1), Data: initCode, AccessList: al}),
				sign(tb, k1, &types.DynamicFeeTx{ChainID: testChainID, Nonce: 2, GasTipCap: gwei(2), GasFeeCap: gwei(2), Gas: 21000, To: &to, Value: new(big.Int).Lsh(big.NewInt(1), 255), Data: make([]byte, 300)}),
				sign(tb, k0, &types.AccessListTx{ChainID: testChainID, Nonce: 2, GasPrice: gwei(1), Gas: 53_000, To: nil, Data: initCode}),
				legacy(3, &to, []byte{1}),
			}},
			{Number: 10, Time: 110, Origin: 9}, // empty
			{Number: 11, Time: 111, Origin: 9, Txs: []*types.Transaction{
				sign(tb, k0, &types.DynamicFeeTx{ChainID: testChainID, Nonce: 4, GasTipCap: gwei(1), GasFeeCap: gwei(2), Gas: 21000, To: &to2, Value: big.NewInt(1e15)}),
			}},
		},
	}
}

// seedEncodings returns a few valid encodings, for fuzz seeds.
func seedEncodings(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, b := range []*Batch{
		mixedBatch(tb),
		transferBatch(tb, 20, 3, 4),
		{Blocks: []Block{{Number: 1, Time: 2, Origin: 3}}},
	} {
		enc, err := Encode(b, testChainID)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, enc)
	}
	return out
}
