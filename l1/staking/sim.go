package staking

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

// Sim runs the staking module on a chain without consensus: each Block call
// executes the queued transactions with the consensus facts (votes,
// evidence) the caller makes up, one second after the last block. It is
// for tests and the lab's attacks, which need evidence on demand.
type Sim struct {
	ChainID uint64
	stk     *Staking
	store   *chain.Store
	exec    *chain.Executor
	nonces  map[common.Address]uint64
	queued  []*types.Transaction
}

// NewSim starts a chain with the module's contract holding the genesis
// validators and funded accounts.
func NewSim(chainID uint64, p Params, funded types.GenesisAlloc, genesis ...GenesisValidator) (*Sim, error) {
	stk := New(chainID, p)
	acct, err := stk.GenesisAccount(genesis)
	if err != nil {
		return nil, err
	}
	alloc := types.GenesisAlloc{Address: acct}
	for a, acc := range funded {
		alloc[a] = acc
	}
	store, err := chain.Open("", &chain.Genesis{ChainID: chainID, Alloc: alloc}, nil)
	if err != nil {
		return nil, err
	}
	sys, err := chain.NewSystemContracts(stk)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &Sim{ChainID: chainID, stk: stk, store: store, exec: chain.NewExecutor(store.Config(), store, sys, stk), nonces: map[common.Address]uint64{}}, nil
}

// Close closes the chain.
func (s *Sim) Close() { s.store.Close() }

// Head is the last block's header.
func (s *Sim) Head() *types.Header { return s.store.Head() }

// Call queues a call of the staking contract for the next block.
func (s *Sim) Call(key *ecdsa.PrivateKey, value *big.Int, method string, args ...any) (*types.Transaction, error) {
	data, err := ABI.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	to := Address
	tx := types.MustSignNewTx(key, types.LatestSigner(s.store.Config()), &types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(s.ChainID), Nonce: s.nonces[from], Gas: 300_000, To: &to, Value: value, Data: data,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei),
	})
	s.nonces[from]++
	s.queued = append(s.queued, tx)
	return tx, nil
}

// Block runs one block of the queued transactions with consensus facts c.
func (s *Sim) Block(c chain.Consensus) (*chain.Result, error) {
	head := s.store.Head()
	st, err := s.store.StateAt(head.Root)
	if err != nil {
		return nil, err
	}
	txs := s.queued
	s.queued = nil
	res, err := s.exec.Build(head, st, chain.Env{Time: head.Time + 1, Coinbase: Address, Consensus: c}, txs)
	if err != nil {
		return nil, err
	}
	if len(res.Skipped) > 0 {
		return nil, fmt.Errorf("transaction skipped: %w", res.Skipped[0].Err)
	}
	if err := s.store.Commit(res); err != nil {
		return nil, err
	}
	return res, nil
}

// State is the head state.
func (s *Sim) State() (*state.StateDB, error) { return s.store.StateAt(s.store.Head().Root) }

// Validator reads a validator's record at the head.
func (s *Sim) Validator(op common.Address) (*Validator, error) {
	st, err := s.State()
	if err != nil {
		return nil, err
	}
	return newDB(st).load(op), nil
}
