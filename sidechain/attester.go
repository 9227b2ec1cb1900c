package sidechain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// Relayer carries the multisig bridge's transfers across: it reads the
// deposits locked on L1 and the withdrawals burnt on the sidechain, has
// its attester keys sign each, and sends the signatures to the other half.
// A real deployment runs each attester apart, with its own key; the devnet
// runs one relayer holding all of them (rule S2).
type Relayer struct {
	L1, Side  *ethclient.Client
	Attesters []*ecdsa.PrivateKey // the keys this relayer signs with
	Sender    *ecdsa.PrivateKey   // pays the gas on both chains
	Params    MultisigParams
	Log       *slog.Logger

	next [2]uint64 // per direction, the lowest transfer not seen carried
}

// Directions of a transfer.
const (
	toSide = iota // a deposit: locked on L1, minted on the sidechain
	toL1          // a withdrawal: burnt on the sidechain, released on L1
)

// Step carries every transfer out that the other side has not carried yet,
// one after the other, and waits for each to land. It returns how many it
// carried.
func (r *Relayer) Step(ctx context.Context) (int, error) {
	carried := 0
	for dir := range 2 {
		from, to := r.L1, r.Side
		src, dst := MultisigL1Address, MultisigSideAddress
		ev, method, chainID := "Deposited", "mint", r.Params.SideID
		if dir == toL1 {
			from, to, src, dst, ev, method, chainID = r.Side, r.L1, MultisigSideAddress, MultisigL1Address, "Withdrawn", "release", r.Params.L1ChainID
		}
		count, err := viewU64(ctx, from, src, "transfersOut")
		if err != nil {
			return carried, err
		}
		for n := r.next[dir]; n < count; n++ {
			done, err := viewBool(ctx, to, dst, "carriedOut", n)
			if err != nil {
				return carried, err
			}
			if done {
				if n == r.next[dir] {
					r.next[dir]++
				}
				continue
			}
			t, _, err := findTransfer(ctx, from, src, ev, n)
			if err != nil {
				return carried, err
			}
			var sigs [][]byte
			for _, k := range r.Attesters {
				sig, err := Attest(k, chainID, dst, t)
				if err != nil {
					return carried, err
				}
				sigs = append(sigs, sig)
			}
			data, err := MultisigABI.Pack(method, t.Nonce, t.To, t.Amount, sigs)
			if err != nil {
				return carried, err
			}
			gas := 21_000 + 16*uint64(len(data)) + (&half{p: r.Params}).RequiredGas(data) + 20_000
			if _, err := ethtx.SendAndWait(ctx, to, r.Sender, dst, nil, data, gas); err != nil {
				return carried, fmt.Errorf("%s transfer %d: %w", method, n, err)
			}
			if r.Log != nil {
				r.Log.Info("Bridge transfer carried", "bridge", "multisig", "kind", method, "nonce", n, "to", t.To, "wei", t.Amount)
			}
			carried++
			if n == r.next[dir] {
				r.next[dir]++
			}
		}
	}
	return carried, nil
}

// Run steps every poll until ctx ends, logging failures.
func (r *Relayer) Run(ctx context.Context, poll time.Duration) {
	runEvery(ctx, poll, r.Log, "Bridge relayer step failed", func(ctx context.Context) error {
		_, err := r.Step(ctx)
		return err
	})
}

// runEvery runs step every poll until ctx ends, logging its failures.
func runEvery(ctx context.Context, poll time.Duration, log *slog.Logger, msg string, step func(context.Context) error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := step(ctx); err != nil && ctx.Err() == nil && log != nil {
			log.Warn(msg, "err", err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func viewCall(ctx context.Context, c *ethclient.Client, at common.Address, method string, args ...any) ([]any, error) {
	v, err := ethtx.View(ctx, c, &MultisigABI, at, method, args...)
	if err != nil {
		return nil, fmt.Errorf("sidechain bridge: %w", err)
	}
	return v, nil
}

func viewU64(ctx context.Context, c *ethclient.Client, at common.Address, method string, args ...any) (uint64, error) {
	v, err := viewCall(ctx, c, at, method, args...)
	if err != nil {
		return 0, err
	}
	return v[0].(uint64), nil
}

func viewBool(ctx context.Context, c *ethclient.Client, at common.Address, method string, args ...any) (bool, error) {
	v, err := viewCall(ctx, c, at, method, args...)
	if err != nil {
		return false, err
	}
	return v[0].(bool), nil
}

// findTransfer reads the n-th transfer out of the half at src from its
// event (ev: Deposited or Withdrawn, the same in both bridges' ABIs), and
// the block that recorded it.
func findTransfer(ctx context.Context, c *ethclient.Client, src common.Address, ev string, n uint64) (Transfer, uint64, error) {
	e := MultisigABI.Events[ev]
	logs, err := c.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{src},
		Topics: [][]common.Hash{{e.ID}, {common.BigToHash(new(big.Int).SetUint64(n))}}})
	if err != nil {
		return Transfer{}, 0, err
	}
	for _, lg := range logs {
		if len(lg.Topics) != 3 || lg.Removed {
			continue
		}
		v, err := e.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			continue
		}
		return Transfer{Nonce: n, To: common.BytesToAddress(lg.Topics[2].Bytes()), Amount: v[1].(*big.Int)}, lg.BlockNumber, nil
	}
	return Transfer{}, 0, fmt.Errorf("sidechain bridge: no %s event for transfer %d", ev, n)
}

// Deposit locks wei on L1 for to on the sidechain.
func Deposit(ctx context.Context, l1 *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (*types.Receipt, error) {
	data, err := MultisigABI.Pack("deposit", to)
	if err != nil {
		return nil, err
	}
	return ethtx.SendAndWait(ctx, l1, key, MultisigL1Address, wei, data, 80_000)
}

// Withdraw burns wei on the sidechain for to on L1.
func Withdraw(ctx context.Context, side *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (*types.Receipt, error) {
	data, err := MultisigABI.Pack("withdraw", to)
	if err != nil {
		return nil, err
	}
	return ethtx.SendAndWait(ctx, side, key, MultisigSideAddress, wei, data, 80_000)
}
