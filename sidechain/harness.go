package sidechain

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// World is an L1 and a sidechain, each a hand-mined chain mined every
// 10 ms, with the multisig bridge's halves (5 of 9 attesters: test
// accounts 110–118) and a relayer holding all nine keys (paying from
// account 119). Account 3 is funded on L1, account 8 on both. For tests
// and the lab's attacks.
type World struct {
	chains
	Params    MultisigParams
	Attesters []*ecdsa.PrivateKey
	Relayer   *Relayer
}

// chains are a test world's two hand-mined chains.
type chains struct {
	L1, Side *wingtest.L1Miner
	stops    []func()
}

// mine has both chains mine every 10 ms until Close.
func (c *chains) mine() {
	c.stops = []func(){c.L1.AutoMine(10 * time.Millisecond), c.Side.AutoMine(10 * time.Millisecond)}
}

// Close stops both chains.
func (c *chains) Close() {
	for _, s := range c.stops {
		s()
	}
	c.L1.Close()
	c.Side.Close()
}

// Balance reads a's balance on chain m.
func (c *chains) Balance(ctx context.Context, m *wingtest.L1Miner, a common.Address) (*big.Int, error) {
	return m.Client().BalanceAt(ctx, a, nil)
}

// fund is a genesis giving each of the dev accounts 100 ETH.
func fund(accts ...uint32) types.GenesisAlloc {
	a := types.GenesisAlloc{}
	for _, i := range accts {
		a[chain.DevAddress(i)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}
	}
	return a
}

// WorldSideID is a World's sidechain chain ID.
const WorldSideID = 1339

// NewWorld starts a World.
func NewWorld() (*World, error) {
	var keys []*ecdsa.PrivateKey
	var addrs []common.Address
	for i := range uint32(9) {
		keys = append(keys, chain.DevKey(110+i))
		addrs = append(addrs, chain.DevAddress(110+i))
	}
	p := MultisigParams{Attesters: addrs, Threshold: 5, L1ChainID: wingtest.L1MinerChainID, SideID: WorldSideID}
	w := &World{Params: p, Attesters: keys}
	var err error
	if w.L1, err = wingtest.NewL1Miner(fund(3, 8, 119), NewMultisigL1(p)); err != nil {
		return nil, err
	}
	if w.Side, err = wingtest.NewMiner(WorldSideID, fund(8, 119), NewMultisigSide(p)); err != nil {
		w.L1.Close()
		return nil, err
	}
	w.mine()
	w.Relayer = &Relayer{L1: w.L1.Client(), Side: w.Side.Client(), Attesters: keys, Sender: chain.DevKey(119), Params: p}
	return w, nil
}

// Sign has keys attest t for the half at `at` on chain chainID.
func Sign(keys []*ecdsa.PrivateKey, chainID uint64, at common.Address, t Transfer) ([][]byte, error) {
	var out [][]byte
	for _, k := range keys {
		s, err := Attest(k, chainID, at, t)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
