package rolluptest

import (
	"context"
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/agents"
)

// Story is a System with a proposer and a challenger, all driven by hand:
// the harness that scenario tests and the lab's attacks share. Each round
// lets both agents act and mines what they sent; an L2 block is sequenced,
// batched and derived in one call.
type Story struct {
	*System
	Ctx        context.Context
	L1C, L2C   *ethclient.Client // the L1 miner, and the verifier's RPC
	Proposer   *agents.Agent
	Challenger *agents.Agent
}

// NewStory starts a System and its two agents (Manual, proposing every
// block) with the given configurations and L1 keys.
func NewStory(ctx context.Context, opts Options, proposer, challenger agents.Config, proposerKey, challengerKey *ecdsa.PrivateKey) (*Story, error) {
	s, err := NewSystem(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, c := range []*agents.Config{&proposer, &challenger} {
		c.Node, c.L1, c.Manual, c.Interval, c.Log = s.Verifier, s.L1.Client(), true, 1, s.opts.Log
	}
	proposer.Key, challenger.Key = proposerKey, challengerKey
	l2, err := ethclient.DialContext(ctx, s.Verifier.RPCURL())
	if err != nil {
		s.Close()
		return nil, err
	}
	return &Story{System: s, Ctx: ctx, L1C: s.L1.Client(), L2C: l2, Proposer: agents.NewProposer(proposer), Challenger: agents.NewChallenger(challenger)}, nil
}

// Close stops the agents and the System.
func (st *Story) Close() {
	st.Proposer.Close()
	st.Challenger.Close()
	st.L2C.Close()
	st.System.Close()
}

// L2Block sequences a block, posts it and lets the verifier derive it.
func (st *Story) L2Block() error {
	if _, err := st.Sequence(st.Ctx); err != nil {
		return err
	}
	if err := st.Batch(st.Ctx); err != nil {
		return err
	}
	return Derive(st.Ctx, st.Verifier)
}

// Round lets both agents act, then runs extra (other parties'
// transactions, in the same L1 block) when set, and mines the L1 block.
func (st *Story) Round(extra func() error) (*types.Block, error) {
	for _, a := range []*agents.Agent{st.Proposer, st.Challenger} {
		if err := a.Step(st.Ctx); err != nil {
			return nil, err
		}
	}
	if extra != nil {
		if err := extra(); err != nil {
			return nil, err
		}
	}
	b, _, err := st.L1.Mine()
	return b, err
}

// Play runs rounds (each through round) until every game over output i is
// over, and returns the output, or nil when it was deleted.
func (st *Story) Play(i uint64, round func() error) (*rollup.OutputInfo, error) {
	view := rollup.L1View{C: st.L1C}
	first, err := view.Output(st.Ctx, i)
	if err != nil {
		return nil, err
	}
	for range 90 {
		if err := round(); err != nil {
			return nil, err
		}
		outs, err := view.Outputs(st.Ctx)
		if err != nil {
			return nil, err
		}
		if uint64(len(outs)) <= i || outs[i].Serial != first.Serial {
			return nil, nil // deleted (and maybe another proposal took its index)
		}
		if outs[i].Games > 0 && outs[i].Open == 0 {
			return &outs[i], nil
		}
	}
	return nil, fmt.Errorf("the games over output %d did not end", i)
}
