// Package ethtx sends and waits for L1 transactions from Go: what the
// wings' agents and the CLI share.
package ethtx

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
)

// Send signs a dynamic-fee transaction from key with its pending nonce and
// sends it. gas 0 estimates it.
func Send(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, err
	}
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	if value == nil {
		value = new(big.Int)
	}
	if gas == 0 {
		if gas, err = c.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, Value: value, Data: data}); err != nil {
			return nil, err
		}
	}
	tip := big.NewInt(params.GWei)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, To: &to, Value: value, Data: data, Gas: gas,
		GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(3)), tip),
	})
	if err != nil {
		return nil, err
	}
	return tx, c.SendTransaction(ctx, tx)
}

// WaitReceipt polls for a transaction's receipt.
func WaitReceipt(ctx context.Context, c *ethclient.Client, hash common.Hash) (*types.Receipt, error) {
	for {
		r, err := c.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("receipt of %s: %w", hash, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ErrReverted is returned for a transaction that was included but failed.
var ErrReverted = errors.New("transaction reverted")

// SendAndWait sends a transaction as Send does and waits for its receipt;
// a failed transaction is an error wrapping ErrReverted.
func SendAndWait(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte, gas uint64) (*types.Receipt, error) {
	tx, err := Send(ctx, c, key, to, value, data, gas)
	if err != nil {
		return nil, err
	}
	r, err := WaitReceipt(ctx, c, tx.Hash())
	if err != nil {
		return nil, err
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("%w: %s", ErrReverted, tx.Hash())
	}
	return r, nil
}

// View runs a contract's view method at the newest block with eth_call:
// it packs method's arguments with a, calls at, and unpacks the outputs.
func View(ctx context.Context, c ethereum.ContractCaller, a *abi.ABI, at common.Address, method string, args ...any) ([]any, error) {
	data, err := a.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	out, err := c.CallContract(ctx, ethereum.CallMsg{To: &at, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return a.Unpack(method, out)
}
