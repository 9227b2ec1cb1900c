package chain

import (
	"cmp"
	"fmt"
	"math/big"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// DefaultGasLimit is the block gas limit used when a genesis does not set one.
// EIP-1559's target is half of it.
const DefaultGasLimit = 60_000_000

// Genesis describes the first block of a chain built by this package.
type Genesis struct {
	ChainID   uint64             `json:"chainId"`
	GasLimit  uint64             `json:"gasLimit"`
	Timestamp uint64             `json:"timestamp"`
	BaseFee   *big.Int           `json:"baseFeePerGas"` // initial base fee; params.InitialBaseFee when nil
	Alloc     types.GenesisAlloc `json:"alloc"`
	ExtraData []byte             `json:"extraData,omitempty"`
}

// ChainConfig returns the go-ethereum chain configuration Cairn uses for a
// chain ID: every fork up to and including Osaka active from genesis.
func ChainConfig(chainID uint64) *params.ChainConfig {
	zero := uint64(0)
	return &params.ChainConfig{
		ChainID:                 new(big.Int).SetUint64(chainID),
		HomesteadBlock:          common.Big0,
		EIP150Block:             common.Big0,
		EIP155Block:             common.Big0,
		EIP158Block:             common.Big0,
		ByzantiumBlock:          common.Big0,
		ConstantinopleBlock:     common.Big0,
		PetersburgBlock:         common.Big0,
		IstanbulBlock:           common.Big0,
		MuirGlacierBlock:        common.Big0,
		BerlinBlock:             common.Big0,
		LondonBlock:             common.Big0,
		ArrowGlacierBlock:       common.Big0,
		GrayGlacierBlock:        common.Big0,
		TerminalTotalDifficulty: common.Big0,
		ShanghaiTime:            &zero,
		CancunTime:              &zero,
		PragueTime:              &zero,
		OsakaTime:               &zero,
		BlobScheduleConfig: &params.BlobScheduleConfig{
			Cancun: params.DefaultCancunBlobConfig,
			Prague: params.DefaultPragueBlobConfig,
		},
	}
}

// Config returns the go-ethereum chain configuration of this genesis.
func (g *Genesis) Config() *params.ChainConfig { return ChainConfig(g.ChainID) }

// Core converts the genesis to go-ethereum's form, adding the contracts the
// active forks call into (EIP-4788, EIP-2935, EIP-7002, EIP-7251) and the
// precompile addresses.
func (g *Genesis) Core() (*core.Genesis, error) {
	if g.ChainID == 0 {
		return nil, fmt.Errorf("genesis: chain ID must not be zero")
	}
	gasLimit := g.GasLimit
	gasLimit = cmp.Or(gasLimit, DefaultGasLimit)
	baseFee := g.BaseFee
	if baseFee == nil {
		baseFee = big.NewInt(params.InitialBaseFee)
	}
	alloc := types.GenesisAlloc{}
	for addr, acc := range core.SystemContractAllocs() {
		alloc[addr] = acc
	}
	for addr, acc := range g.Alloc {
		alloc[addr] = acc
	}
	return &core.Genesis{
		Config:     g.Config(),
		Timestamp:  g.Timestamp,
		ExtraData:  g.ExtraData,
		GasLimit:   gasLimit,
		Difficulty: common.Big0,
		BaseFee:    new(big.Int).Set(baseFee),
		Alloc:      alloc,
	}, nil
}

// SortedAddresses returns the addresses of an allocation in byte order, for
// output that must not depend on map iteration.
func SortedAddresses(alloc types.GenesisAlloc) []common.Address {
	out := make([]common.Address, 0, len(alloc))
	for a := range alloc {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cmp(out[j]) < 0 })
	return out
}
