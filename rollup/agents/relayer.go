package agents

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/rollup"
)

// RelayerConfig configures a withdrawal relayer.
type RelayerConfig struct {
	L1     *ethclient.Client // the L1, for the portal and the outputs contract
	L2     *ethclient.Client // an L2 node, for withdrawals and their proofs
	Key    *ecdsa.PrivateKey // pays the L1 gas of proving and finalizing
	Manual bool              // no loop: the caller calls Step
	Log    *slog.Logger
}

// Relayer proves and finalizes every withdrawal started on L2, as the OP
// Stack's relayer does, so users need not: it proves a withdrawal once an
// output covers it and finalizes it once the output is final. Anyone may
// relay any withdrawal; the portal pays the withdrawal's target, not the
// relayer.
type Relayer struct {
	cfg     RelayerConfig
	view    rollup.L1View
	log     *slog.Logger
	from    uint64 // next L2 block to scan for withdrawals
	pending map[common.Hash]relayed
	stop    chan struct{}
	done    sync.WaitGroup
	once    sync.Once
}

type relayed struct {
	w      *rollup.Withdrawal
	block  uint64
	proven bool
}

// relayScan is how many L2 blocks one step reads logs of.
const relayScan = 2_000

// NewRelayer starts a relayer.
func NewRelayer(cfg RelayerConfig) *Relayer {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	r := &Relayer{cfg: cfg, view: rollup.L1View{C: cfg.L1}, log: cfg.Log.With("node", "relayer"), from: 1, pending: map[common.Hash]relayed{}, stop: make(chan struct{})}
	if !cfg.Manual {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := r.Step(ctx); err != nil {
					r.log.Debug("Relaying step failed", "err", err)
				}
				cancel()
				select {
				case <-r.stop:
					return
				case <-time.After(time.Second):
				}
			}
		}()
	}
	return r
}

// Close stops the loop.
func (r *Relayer) Close() { r.once.Do(func() { close(r.stop); r.done.Wait() }) }

// Step scans new L2 blocks for withdrawals, then proves or finalizes each
// one that is due.
func (r *Relayer) Step(ctx context.Context) error {
	head, err := r.cfg.L2.BlockNumber(ctx)
	if err != nil {
		return err
	}
	if head >= r.from {
		to := min(head, r.from+relayScan-1) // a bounded range per call
		logs, err := r.cfg.L2.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(r.from), ToBlock: new(big.Int).SetUint64(to),
			Addresses: []common.Address{rollup.MessagePasserAddress},
		})
		if err != nil {
			return err
		}
		for i := range logs {
			if w, err := rollup.ParseWithdrawal(&logs[i]); err == nil {
				r.pending[w.Hash()] = relayed{w: w, block: logs[i].BlockNumber}
			}
		}
		r.from = to + 1
	}
	for h, p := range r.pending {
		_, root, _, finalized, err := r.view.Proven(ctx, h)
		if err != nil {
			return err
		}
		switch {
		case finalized:
			delete(r.pending, h)
		case root == (common.Hash{}):
			data, out, err := rollup.ProveCalldata(ctx, r.view, r.cfg.L2, p.w, p.block)
			if err != nil {
				continue // no output covers it yet
			}
			if _, err := ethtx.Send(ctx, r.cfg.L1, r.cfg.Key, rollup.PortalAddress, nil, data, 0); err == nil {
				r.log.Info("Proved a withdrawal", "withdrawal", h, "output", out.Index)
			}
		default:
			fin, _ := rollup.PortalABI.Pack("finalizeWithdrawal", p.w.Encode())
			// Gas 0 estimates, which fails while the output is not final.
			if _, err := ethtx.Send(ctx, r.cfg.L1, r.cfg.Key, rollup.PortalAddress, nil, fin, 0); err == nil {
				r.log.Info("Finalized a withdrawal", "withdrawal", h, "target", p.w.Target, "value", p.w.Value)
			}
		}
	}
	return nil
}
