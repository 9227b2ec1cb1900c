package rollup

import (
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/klauspost/compress/zstd"

	"github.com/cairn-dev/cairn/chain"
)

// The L1 data fee follows the OP Stack's model: a transaction pays for the
// bytes it adds to L1, priced at its block's L1 origin base fee.
//
//	l1GasUsed  = 16 × max(MinDataSize, zstd(tx) − DataSizeDiscount)
//	l1GasPrice = base fee of the block's L1 origin
//	l1Fee      = l1GasUsed × l1GasPrice × L1FeeScalar / 1e6
//
// zstd(tx) is the length of the transaction's canonical encoding compressed
// alone with zstd's fastest level. Alone, a transaction compresses worse than
// in a batch, where its chain ID, gas fields and encoding overhead repeat
// across transactions; DataSizeDiscount removes that overhead so a simple
// transfer is charged close to the ~90 bytes it really costs in a batch.
const (
	MinDataSize      = 84 // a 64-byte signature and a 20-byte recipient
	DataSizeDiscount = 28
	l1GasPerByte     = 16
)

var dataFeeEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err)
	}
	return enc
})

// DataSize is the L1 bytes a transaction is charged for.
func DataSize(tx *types.Transaction) uint64 {
	raw, err := tx.MarshalBinary()
	if err != nil {
		return MinDataSize
	}
	n := len(dataFeeEncoder().EncodeAll(raw, make([]byte, 0, len(raw)+16))) - DataSizeDiscount
	return uint64(max(n, MinDataSize))
}

// dataFee implements chain.DataFee for the rollup.
type dataFee struct{ scalar uint64 }

// DataFee returns the rollup's L1 data fee rule.
func (c *Config) DataFee() chain.DataFee { return dataFee{scalar: c.L1FeeScalar} }

func (f dataFee) Vault() common.Address { return L1FeeVault }

func (f dataFee) Cost(header *types.Header, tx *types.Transaction) chain.DataCost {
	info, err := Origin(header)
	price := new(big.Int)
	if err == nil {
		price = info.BaseFee
	}
	gas := l1GasPerByte * DataSize(tx)
	fee := new(big.Int).SetUint64(gas)
	fee.Mul(fee, price)
	fee.Mul(fee, new(big.Int).SetUint64(f.scalar))
	fee.Div(fee, big.NewInt(1_000_000))
	return chain.DataCost{GasUsed: gas, GasPrice: new(big.Int).Set(price), Fee: fee}
}
