package rolluptest

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/batcher"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// Start makes a System for a test, closed when it ends, and a context
// that times the test out after two minutes.
func Start(t *testing.T, opts Options) (*System, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := NewSystem(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, ctx
}

// Must returns a function that fails t on an error and otherwise returns
// the value: Must[T](t)(f()).
func Must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Dial connects to a JSON-RPC server for a test, closed when it ends.
var Dial = wingtest.Dial

// Ether is n ether in wei.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// SendL1 signs and sends an L1 transaction from dev account i.
func SendL1(t *testing.T, ctx context.Context, s *System, i uint32, to common.Address, value *big.Int, data []byte, gas uint64) *types.Transaction {
	t.Helper()
	c := s.L1.Client()
	nonce := Must[uint64](t)(c.PendingNonceAt(ctx, chain.DevAddress(i)))
	tx, err := types.SignNewTx(chain.DevKey(i), types.LatestSignerForChainID(big.NewInt(L1MinerChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(L1MinerChainID), Nonce: nonce, To: &to, Value: value, Data: data, Gas: gas,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

// Must2 is Must for functions returning two values and an error.
func Must2[A, B any](t *testing.T) func(A, B, error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// SignL2 signs an L2 transfer from dev account i without sending it.
func SignL2(t *testing.T, s *System, i uint32, nonce uint64, to common.Address, value *big.Int) *types.Transaction {
	t.Helper()
	id := new(big.Int).SetUint64(s.Config.L2ChainID)
	tx, err := types.SignNewTx(chain.DevKey(i), types.LatestSignerForChainID(id), &types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, To: &to, Value: value, Gas: 21_000,
		GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: big.NewInt(params.GWei),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Force sends an L2 transaction through the L1 portal.
func Force(t *testing.T, ctx context.Context, s *System, from uint32, tx *types.Transaction) {
	t.Helper()
	raw, _ := tx.MarshalBinary()
	data := Must[[]byte](t)(rollup.PortalABI.Pack("forceTransaction", raw))
	SendL1(t, ctx, s, from, rollup.PortalAddress, new(big.Int), data, 200_000)
}

// PostInbox sends data to the batch inbox from key and mines it.
func PostInbox(t testing.TB, ctx context.Context, s *System, key *ecdsa.PrivateKey, data []byte) {
	t.Helper()
	PostInboxValue(t, ctx, s, key, data, nil)
}

// PostBlobs sends a blob transaction carrying blobs from key to the
// inbox, and mines it.
func PostBlobs(t *testing.T, ctx context.Context, s *System, key *ecdsa.PrivateKey, blobs ...kzg4844.Blob) {
	t.Helper()
	if _, err := SendBlobs(ctx, s.L1.Client(), key, blobs...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.L1.Mine(); err != nil {
		t.Fatal(err)
	}
}

// SendBlobs sends a blob transaction carrying blobs from key to the inbox
// of the hand-mined L1 c serves.
func SendBlobs(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, blobs ...kzg4844.Blob) (*types.Transaction, error) {
	sc, err := batcher.BlobSidecar(blobs)
	if err != nil {
		return nil, err
	}
	nonce, err := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		return nil, err
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(L1MinerChainID)), &types.BlobTx{
		ChainID: uint256.NewInt(L1MinerChainID), Nonce: nonce, GasTipCap: uint256.NewInt(params.GWei), GasFeeCap: uint256.NewInt(100 * params.GWei), Gas: batcher.BlobTxGas,
		To: rollup.InboxAddress, BlobFeeCap: uint256.NewInt(100 * params.GWei), BlobHashes: sc.BlobHashes(), Sidecar: sc,
	})
	if err != nil {
		return nil, err
	}
	return tx, c.SendTransaction(ctx, tx)
}

// PostInboxValue is PostInbox with value sent along.
func PostInboxValue(t testing.TB, ctx context.Context, s *System, key *ecdsa.PrivateKey, data []byte, value *big.Int) {
	t.Helper()
	c := s.L1.Client()
	nonce, err := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(L1MinerChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(L1MinerChainID), Nonce: nonce, To: &rollup.InboxAddress, Data: data, Value: value,
		Gas: 21_000 + 40*uint64(len(data)), GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.L1.Mine(); err != nil {
		t.Fatal(err)
	}
}
