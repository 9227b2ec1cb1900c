package channels

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// L1 is one account's view of the adjudicator over JSON-RPC: it sends the
// adjudicator's calls signed by Key and reads its views. Sends return as
// soon as the L1 accepted the transaction; a caller waits for the receipt
// (ethtx.WaitReceipt) when it needs the outcome.
type L1 struct {
	Client *ethclient.Client
	Key    *ecdsa.PrivateKey
}

// Address is the account's address.
func (l *L1) Address() common.Address { return crypto.PubkeyToAddress(l.Key.PublicKey) }

// send packs method's call and sends it with value. The gas is the
// adjudicator's price for the input plus the transaction's own costs, so no
// estimate (which would run against a state that may change first) is needed.
func (l *L1) send(ctx context.Context, value *big.Int, method string, args ...any) (*types.Transaction, error) {
	data, err := AdjudicatorABI.Pack(method, args...)
	if err != nil {
		return nil, fmt.Errorf("channels: pack %s: %w", method, err)
	}
	return l.sendData(ctx, value, data)
}

func (l *L1) sendData(ctx context.Context, value *big.Int, data []byte) (*types.Transaction, error) {
	gas := 21_000 + 16*uint64(len(data)) + (&Adjudicator{}).RequiredGas(data) + 10_000
	return ethtx.Send(ctx, l.Client, l.Key, AdjudicatorAddress, value, data, gas)
}

// Open opens a channel to peer funded with wei from this account.
func (l *L1) Open(ctx context.Context, peer common.Address, wei *big.Int) (*types.Transaction, error) {
	return l.send(ctx, wei, "open", peer)
}

// Fund is B's deposit into channel id (wei may be zero), which opens it.
func (l *L1) Fund(ctx context.Context, id common.Hash, wei *big.Int) (*types.Transaction, error) {
	return l.send(ctx, wei, "fund", id)
}

// Cancel returns A's deposit of a channel B never funded.
func (l *L1) Cancel(ctx context.Context, id common.Hash) (*types.Transaction, error) {
	return l.send(ctx, nil, "cancel", id)
}

// Close closes cooperatively with a final state both signed.
func (l *L1) Close(ctx context.Context, s *State, sigA, sigB []byte) (*types.Transaction, error) {
	return l.sendState(ctx, "close", s, sigA, sigB)
}

// ForceClose registers s and starts the dispute window.
func (l *L1) ForceClose(ctx context.Context, s *State, sigA, sigB []byte) (*types.Transaction, error) {
	return l.sendState(ctx, "forceClose", s, sigA, sigB)
}

// Challenge answers a unilateral close with the newer state s.
func (l *L1) Challenge(ctx context.Context, s *State, sigA, sigB []byte) (*types.Transaction, error) {
	return l.sendState(ctx, "challenge", s, sigA, sigB)
}

func (l *L1) sendState(ctx context.Context, method string, s *State, sigA, sigB []byte) (*types.Transaction, error) {
	data, err := PackState(method, s, sigA, sigB)
	if err != nil {
		return nil, fmt.Errorf("channels: pack %s: %w", method, err)
	}
	return l.sendData(ctx, nil, data)
}

// Conclude pays a disputed channel's registered balances after its window.
func (l *L1) Conclude(ctx context.Context, id common.Hash) (*types.Transaction, error) {
	return l.send(ctx, nil, "conclude", id)
}

// SettleHTLC settles HTLC index of a concluded channel.
func (l *L1) SettleHTLC(ctx context.Context, id common.Hash, index int) (*types.Transaction, error) {
	return l.send(ctx, nil, "settleHTLC", id, big.NewInt(int64(index)))
}

// RevealSecret publishes a payment's preimage in the secret registry.
func (l *L1) RevealSecret(ctx context.Context, preimage common.Hash) (*types.Transaction, error) {
	return l.send(ctx, nil, "revealSecret", preimage)
}

// call runs a view of the adjudicator at the newest block.
func call(ctx context.Context, c ethereum.ContractCaller, method string, args ...any) ([]any, error) {
	v, err := ethtx.View(ctx, c, &AdjudicatorABI, AdjudicatorAddress, method, args...)
	if err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	return v, nil
}

// Channel reads what the adjudicator holds of channel id.
func Channel(ctx context.Context, c *ethclient.Client, id common.Hash) (OnChain, error) {
	v, err := call(ctx, c, "channel", id)
	if err != nil {
		return OnChain{}, err
	}
	return OnChain{A: v[0].(common.Address), B: v[1].(common.Address), DepositA: v[2].(*big.Int), DepositB: v[3].(*big.Int),
		Status: Status(v[4].(uint8)), Version: v[5].(uint64), Deadline: v[6].(uint64), Closer: v[7].(common.Address),
		Locked: v[8].(*big.Int)}, nil
}

// SecretRevealedAt is the L1 block in which the preimage of hash was first
// revealed, 0 if never.
func SecretRevealedAt(ctx context.Context, c *ethclient.Client, hash common.Hash) (uint64, error) {
	v, err := call(ctx, c, "secretRevealedAt", hash)
	if err != nil {
		return 0, err
	}
	return v[0].(uint64), nil
}

// OpenedID finds the id of the channel a receipt's open call made.
func OpenedID(r *types.Receipt) (common.Hash, error) {
	ev := AdjudicatorABI.Events["ChannelOpened"]
	for _, lg := range r.Logs {
		if lg.Address == AdjudicatorAddress && len(lg.Topics) == 4 && lg.Topics[0] == ev.ID {
			return lg.Topics[1], nil
		}
	}
	return common.Hash{}, fmt.Errorf("channels: receipt %s opened no channel", r.TxHash)
}
