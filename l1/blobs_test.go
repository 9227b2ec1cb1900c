package l1

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// blobOf is a blob holding msg in its first field elements (31 bytes each,
// so every element stays below the field's modulus).
func blobOf(msg string) *kzg4844.Blob {
	var b kzg4844.Blob
	for i := 0; i*31 < len(msg); i++ {
		copy(b[i*32+1:i*32+32], msg[i*31:])
	}
	return &b
}

func blobSidecar(t testing.TB, msgs ...string) *types.BlobTxSidecar {
	t.Helper()
	var blobs []kzg4844.Blob
	var commits []kzg4844.Commitment
	var proofs []kzg4844.Proof
	for _, m := range msgs {
		b := blobOf(m)
		c, err := kzg4844.BlobToCommitment(b)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := kzg4844.ComputeCellProofs(b)
		if err != nil {
			t.Fatal(err)
		}
		blobs, commits, proofs = append(blobs, *b), append(commits, c), append(proofs, ps...)
	}
	return types.NewBlobTxSidecar(types.BlobSidecarVersion1, blobs, commits, proofs)
}

// blobHashStorer stores BLOBHASH(0) at slot 0: PUSH1 0 BLOBHASH PUSH1 0
// SSTORE STOP.
var blobHashStorer = common.HexToAddress("0x00000000000000000000000000000000000b10b5")

func signBlobTx(t testing.TB, chainID uint64, nonce uint64, sc *types.BlobTxSidecar) *types.Transaction {
	t.Helper()
	inner := &types.BlobTx{ChainID: uint256.NewInt(chainID), Nonce: nonce, GasTipCap: uint256.NewInt(params.GWei),
		GasFeeCap: uint256.NewInt(10 * params.GWei), Gas: 100_000, To: blobHashStorer, BlobFeeCap: uint256.NewInt(params.GWei),
		BlobHashes: sc.BlobHashes(), Sidecar: sc}
	return types.MustSignNewTx(chain.DevKey(3), types.LatestSignerForChainID(new(big.Int).SetUint64(chainID)), inner)
}

// A blob transaction, sent in its network form with cell proofs, is
// checked (KZG), included without its sidecar, pays blob gas, lets
// BLOBHASH read its versioned hash, and its blob is served by the Beacon
// API endpoint; bad sidecars are refused with a clear error; the point
// evaluation precompile verifies a proof against the blob.
func TestBlobTransactions(t *testing.T) {
	alloc := types.GenesisAlloc{
		chain.DevAddress(3): {Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))},
		blobHashStorer:      {Code: common.FromHex("0x600049600055" + "00"), Balance: new(big.Int)},
	}
	cl := startCluster(t, ClusterConfig{Validators: 1, Genesis: chain.Genesis{ChainID: 56, Alloc: alloc}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ethclient.Dial("http://" + cl.RPCAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sc := blobSidecar(t, "hello, blobs", "a second blob")
	tx := signBlobTx(t, 56, 0, sc)
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("send the blob transaction: %v", err)
	}
	var rc *types.Receipt
	waitFor(t, "its receipt", func() bool { rc, err = c.TransactionReceipt(ctx, tx.Hash()); return err == nil })
	if rc.Status != 1 || rc.BlobGasUsed != 2*params.BlobTxBlobGasPerBlob || rc.BlobGasPrice == nil || rc.BlobGasPrice.Sign() <= 0 {
		t.Fatalf("receipt: status %d, blob gas %d at %v", rc.Status, rc.BlobGasUsed, rc.BlobGasPrice)
	}
	h, err := c.HeaderByNumber(ctx, rc.BlockNumber)
	if err != nil || h.BlobGasUsed == nil || *h.BlobGasUsed != 2*params.BlobTxBlobGasPerBlob {
		t.Fatalf("header blob gas: %v %v", h, err)
	}
	got, err := c.StorageAt(ctx, blobHashStorer, common.Hash{}, nil)
	if err != nil || common.BytesToHash(got) != sc.BlobHashes()[0] {
		t.Fatalf("BLOBHASH(0) stored %x, want %s", got, sc.BlobHashes()[0])
	}
	mined, _, err := c.TransactionByHash(ctx, tx.Hash())
	if err != nil || len(mined.BlobHashes()) != 2 || mined.BlobGasFeeCap().Cmp(big.NewInt(params.GWei)) != 0 {
		t.Fatalf("the mined transaction: %v %v", mined, err)
	}
	// The blobs, from the Beacon API endpoint.
	resp, err := http.Get("http://" + cl.RPCAddr(0) + "/eth/v1/beacon/blob_sidecars/" + rc.BlockNumber.String())
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data []struct {
			Index         string `json:"index"`
			Blob          string `json:"blob"`
			KZGCommitment string `json:"kzg_commitment"`
			KZGProof      string `json:"kzg_proof"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || len(body.Data) != 2 {
		t.Fatalf("blob sidecars: %d %+v %v", resp.StatusCode, body, err)
	}
	resp.Body.Close()
	for i, d := range body.Data {
		var blob kzg4844.Blob
		var commit kzg4844.Commitment
		var proof kzg4844.Proof
		copy(blob[:], common.FromHex(d.Blob))
		copy(commit[:], common.FromHex(d.KZGCommitment))
		copy(proof[:], common.FromHex(d.KZGProof))
		if blob != sc.Blobs[i] || commit != sc.Commitments[i] || kzg4844.VerifyBlobProof(&blob, commit, proof) != nil {
			t.Fatalf("sidecar %d does not match or verify", i)
		}
	}
	if resp, err := http.Get("http://" + cl.RPCAddr(0) + "/eth/v1/beacon/blob_sidecars/nonsense"); err != nil || resp.StatusCode != 400 {
		t.Fatalf("a bad block id: %v %v", resp, err)
	}

	// Refused: a broken cell proof, the old sidecar version, a sidecar of
	// other blobs, none at all.
	bad := blobSidecar(t, "tampered")
	bad.Proofs[5][7] ^= 1
	old := blobSidecar(t, "old")
	old.Version = types.BlobSidecarVersion0
	other := blobSidecar(t, "one")
	for name, tx := range map[string]*types.Transaction{
		"broken proof": signBlobTx(t, 56, 1, bad),
		"version 0":    signBlobTx(t, 56, 1, old),
		"other blobs":  signBlobTx(t, 56, 1, other).WithBlobTxSidecar(blobSidecar(t, "two")),
		"no sidecar":   signBlobTx(t, 56, 1, bad).WithoutBlobTxSidecar(),
	} {
		err := c.SendTransaction(ctx, tx)
		if err == nil || !(strings.Contains(err.Error(), "blob sidecar") || strings.Contains(err.Error(), "sidecar")) {
			t.Fatalf("%s: %v, want a sidecar error", name, err)
		}
	}

	// The point evaluation precompile (0x0a) checks a KZG proof that the
	// blob's polynomial takes value y at z.
	blob := sc.Blobs[0]
	var z kzg4844.Point
	z[31] = 7
	proof, y, err := kzg4844.ComputeProof(&blob, z)
	if err != nil {
		t.Fatal(err)
	}
	vh := sc.BlobHashes()[0]
	input := append(append(append(append(append([]byte{}, vh[:]...), z[:]...), y[:]...), sc.Commitments[0][:]...), proof[:]...)
	precompile := common.BytesToAddress([]byte{0x0a})
	out, err := c.CallContract(ctx, ethereum.CallMsg{To: &precompile, Data: input}, nil)
	if err != nil || len(out) != 64 || new(big.Int).SetBytes(out[:32]).Uint64() != params.BlobTxFieldElementsPerBlob {
		t.Fatalf("point evaluation: %x %v", out, err)
	}
	y[31] ^= 1
	input = append(append(append(append(append([]byte{}, vh[:]...), z[:]...), y[:]...), sc.Commitments[0][:]...), proof[:]...)
	if _, err := c.CallContract(ctx, ethereum.CallMsg{To: &precompile, Data: input}, nil); err == nil {
		t.Fatal("point evaluation accepted a wrong value")
	}
}

// Sidecars are pruned once their block is older than the retention window:
// the Beacon API endpoint then says so, and the block stays.
func TestBlobSidecarsPruned(t *testing.T) {
	alloc := types.GenesisAlloc{chain.DevAddress(3): {Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}}
	cl := startCluster(t, ClusterConfig{Validators: 1, Genesis: chain.Genesis{ChainID: 56, Alloc: alloc}, App: Config{BlobRetention: time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ethclient.Dial("http://" + cl.RPCAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tx := signBlobTx(t, 56, 0, blobSidecar(t, "short-lived"))
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	var rc *types.Receipt
	waitFor(t, "its receipt", func() bool { rc, err = c.TransactionReceipt(ctx, tx.Hash()); return err == nil })
	store := cl.Node(0).Chain()
	waitFor(t, "the sidecars pruned", func() bool {
		_, pruned, _ := store.Sidecars(rc.BlockNumber.Uint64())
		return pruned
	})
	resp, err := http.Get("http://" + cl.RPCAddr(0) + "/eth/v1/beacon/blob_sidecars/" + rc.BlockNumber.String())
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("pruned sidecars: %v %v", resp, err)
	}
	if b, err := c.BlockByNumber(ctx, rc.BlockNumber); err != nil || len(b.Transactions()) != 1 {
		t.Fatalf("the block after pruning: %v", err)
	}
}

// BenchmarkCheckSidecar is what checking one blob transaction's sidecar
// costs, by its number of blobs: the work CheckTx does before refusing a
// bad one.
func BenchmarkCheckSidecar(b *testing.B) {
	for _, n := range []int{1, 6} {
		msgs := make([]string, n)
		for i := range msgs {
			msgs[i] = strings.Repeat("x", i+1)
		}
		tx := signBlobTx(b, 56, 0, blobSidecar(b, msgs...))
		b.Run(fmt.Sprintf("%d blobs", n), func(b *testing.B) {
			for b.Loop() {
				if err := checkSidecar(tx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
