package lab

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/rollup/rolluptest"
)

// DAModeCost is what posting the same L2 transfers cost on L1 in one
// data-availability mode, with the L1 idle and with its execution gas
// congested (its base fee driven up by blocks over their gas target).
type DAModeCost struct {
	Mode      rollup.DA
	Transfers int
	L1Txs     int
	Blobs     int
	// Bytes is what the L1 carries for the posts: calldata, or whole blobs
	// (131,072 bytes each, however full).
	Bytes   int
	Frames  int    // frame bytes within them
	Gas     uint64 // execution gas of the posts
	BlobGas uint64
	Fee     *big.Int // wei, idle L1
	Congest *big.Int // wei, congested L1
	// BlobCongest is the fee with blob space congested instead (blocks of
	// 9 blobs, over the target of 6, until the blob base fee reached 1
	// gwei), the execution base fee having fallen back; nil when not run.
	BlobCongest *big.Int
	BaseFee     [3]*big.Int
	BlobFee     [3]*big.Int // blob base fee, idle, congested, blobs congested
	Congestx    float64     // the congested base fee over the idle one
}

// PerTransfer divides a figure by the transfers posted.
func (c *DAModeCost) PerTransfer(v float64) float64 { return v / float64(c.Transfers) }

// burner is L1 code that burns all the gas it is given (an endless loop):
// blocks of calls to it are over their gas target and raise the base fee.
var burner = common.HexToAddress("0x00000000000000000000000000000000B0B0B0B0")

// RunDAModes posts the same transfers (perBatch a batch, batches of them,
// to random recipients) through a rollup on a hand-mined L1 in each mode,
// idle, then again after the L1's base fee has been driven up about ten
// times, and reads what the batcher's L1 transactions cost from their
// receipts.
func RunDAModes(ctx context.Context, modes []rollup.DA, perBatch, batches int, blobCongest bool, out io.Writer) ([]DAModeCost, error) {
	var res []DAModeCost
	for _, mode := range modes {
		fmt.Fprintf(out, "data availability %s: %d batches of %d transfers, idle L1 then congested...\n", mode, batches, perBatch)
		c, err := runDAMode(ctx, mode, perBatch, batches, blobCongest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mode, err)
		}
		res = append(res, *c)
	}
	return res, nil
}

func runDAMode(ctx context.Context, mode rollup.DA, perBatch, batches int, blobCongest bool) (*DAModeCost, error) {
	s, err := rolluptest.NewSystem(ctx, rolluptest.Options{DA: mode, Log: slog.New(slog.DiscardHandler),
		L1Alloc: types.GenesisAlloc{burner: {Code: []byte{0x5b, 0x60, 0x00, 0x56}, Balance: new(big.Int)}}})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	seq, err := ethclient.DialContext(ctx, s.Sequencer.RPCURL())
	if err != nil {
		return nil, err
	}
	defer seq.Close()
	c := &DAModeCost{Mode: mode, Fee: new(big.Int), Congest: new(big.Int)}
	post := func(fee *big.Int) error {
		for range batches {
			if err := sendTransfers(ctx, s, seq, perBatch); err != nil {
				return err
			}
			from := s.L1.Head().Number.Uint64()
			if err := s.Batch(ctx); err != nil {
				return err
			}
			if err := c.add(ctx, s, from, fee); err != nil {
				return err
			}
			// The sequencer derives what was posted, so its safe head
			// moves and the batcher never posts the same blocks again.
			if err := rolluptest.Derive(ctx, s.Sequencer); err != nil {
				return err
			}
		}
		return nil
	}
	c.BaseFee[0], c.BlobFee[0] = s.L1.Head().BaseFee, blobBaseFee(s)
	if err := post(c.Fee); err != nil {
		return nil, err
	}
	if err := congest(ctx, s, 10); err != nil {
		return nil, err
	}
	c.BaseFee[1], c.BlobFee[1] = s.L1.Head().BaseFee, blobBaseFee(s)
	c.Congestx = ratio(c.BaseFee[1], c.BaseFee[0])
	if err := post(c.Congest); err != nil {
		return nil, err
	}
	runs := 2
	if blobCongest {
		if err := congestBlobs(ctx, s, big.NewInt(params.GWei)); err != nil {
			return nil, err
		}
		c.BaseFee[2], c.BlobFee[2] = s.L1.Head().BaseFee, blobBaseFee(s)
		c.BlobCongest = new(big.Int)
		if err := post(c.BlobCongest); err != nil {
			return nil, err
		}
		runs++
	}
	// Every run posted the same amounts; report one.
	c.Transfers /= runs
	c.L1Txs /= runs
	c.Blobs /= runs
	c.Bytes /= runs
	c.Frames /= runs
	c.Gas /= uint64(runs)
	c.BlobGas /= uint64(runs)
	return c, nil
}

// congestBlobs mines blocks of 9 blobs (the most a block takes, 3 over
// the target) until the blob base fee reaches target: the same blob each
// time, so its proofs are made once.
func congestBlobs(ctx context.Context, s *rolluptest.System, target *big.Int) error {
	var blob kzg4844.Blob
	blob[33] = 1
	commitment, err := kzg4844.BlobToCommitment(&blob)
	if err != nil {
		return err
	}
	proofs, err := kzg4844.ComputeCellProofs(&blob)
	if err != nil {
		return err
	}
	sidecar := func(n int) *types.BlobTxSidecar {
		blobs, coms, ps := make([]kzg4844.Blob, n), make([]kzg4844.Commitment, n), []kzg4844.Proof{}
		for i := range n {
			blobs[i], coms[i] = blob, commitment
			ps = append(ps, proofs...)
		}
		return types.NewBlobTxSidecar(types.BlobSidecarVersion1, blobs, coms, ps)
	}
	cars := []*types.BlobTxSidecar{sidecar(6), sidecar(3)}
	l1 := s.L1.Client()
	key := chain.DevKey(6)
	signer := types.LatestSignerForChainID(big.NewInt(rolluptest.L1MinerChainID))
	to := common.Address{0xb1, 0x0b}
	for range 1000 {
		fee := blobBaseFee(s)
		if fee.Cmp(target) >= 0 {
			return nil
		}
		nonce, err := l1.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
		if err != nil {
			return err
		}
		feeCap := new(big.Int).Add(new(big.Int).Mul(s.L1.Head().BaseFee, big.NewInt(3)), big.NewInt(params.GWei))
		for i, sc := range cars {
			tx, err := types.SignNewTx(key, signer, &types.BlobTx{ChainID: uint256.NewInt(rolluptest.L1MinerChainID), Nonce: nonce + uint64(i),
				GasTipCap: uint256.NewInt(1), GasFeeCap: uint256.MustFromBig(feeCap), Gas: 21_000, To: to,
				BlobFeeCap: uint256.MustFromBig(new(big.Int).Mul(fee, big.NewInt(4))), BlobHashes: sc.BlobHashes(), Sidecar: sc})
			if err != nil {
				return err
			}
			if err := l1.SendTransaction(ctx, tx); err != nil {
				return err
			}
		}
		b, _, err := s.L1.Mine()
		if err != nil {
			return err
		}
		if used := b.BlobGasUsed(); used == nil || *used < 9*params.BlobTxBlobGasPerBlob {
			return fmt.Errorf("a block of blob filler took %v blob gas, want 9 blobs' worth", used)
		}
	}
	return fmt.Errorf("the blob base fee did not reach %v wei", target)
}

// sendTransfers sends n transfers to random recipients from the ten dev
// accounts and seals them into L2 blocks.
func sendTransfers(ctx context.Context, s *rolluptest.System, seq *ethclient.Client, n int) error {
	chainID := new(big.Int).SetUint64(s.Config.L2ChainID)
	head, err := seq.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	signer := types.LatestSignerForChainID(chainID)
	nonces := map[uint32]uint64{}
	for i := range n {
		k := uint32(i % 10)
		if _, ok := nonces[k]; !ok {
			if nonces[k], err = seq.PendingNonceAt(ctx, chain.DevAddress(k)); err != nil {
				return err
			}
		}
		var to common.Address
		copy(to[:], crypto.Keccak256([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(head.Number.Uint64())}))
		tx, err := types.SignNewTx(chain.DevKey(k), signer, &types.DynamicFeeTx{
			ChainID: chainID, Nonce: nonces[k], To: &to, Value: big.NewInt(1), Gas: 21_000,
			GasTipCap: big.NewInt(params.GWei / 1000), GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(params.GWei/1000)),
		})
		if err != nil {
			return err
		}
		if err := seq.SendTransaction(ctx, tx); err != nil {
			return err
		}
		nonces[k]++
	}
	for s.Sequencer.PoolLen() > 0 {
		if _, err := s.Sequence(ctx); err != nil {
			return err
		}
	}
	return nil
}

// add reads the batcher's transactions in L1 blocks after from.
func (c *DAModeCost) add(ctx context.Context, s *rolluptest.System, from uint64, fee *big.Int) error {
	l1 := s.L1.Client()
	for n := from + 1; n <= s.L1.Head().Number.Uint64(); n++ {
		for _, tx := range s.L1.Chain().BlockByNumber(n).Transactions() {
			if tx.To() == nil || *tx.To() != rollup.InboxAddress {
				continue
			}
			r, err := l1.TransactionReceipt(ctx, tx.Hash())
			if err != nil {
				return err
			}
			c.L1Txs++
			c.Gas += r.GasUsed
			c.BlobGas += r.BlobGasUsed
			fee.Add(fee, new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice))
			if r.BlobGasPrice != nil {
				fee.Add(fee, new(big.Int).Mul(new(big.Int).SetUint64(r.BlobGasUsed), r.BlobGasPrice))
			}
			if nb := len(tx.BlobHashes()); nb > 0 {
				c.Blobs += nb
				c.Bytes += nb * params.BlobTxFieldElementsPerBlob * 32
			} else {
				c.Bytes += len(tx.Data())
			}
		}
	}
	st := s.Batcher.Stats()
	c.Transfers, c.Frames = int(st.L2Txs), int(st.L1Bytes)
	if c.Mode == rollup.DACommittee || c.Mode == rollup.DASampling {
		c.Frames = int(st.Certified) // kept off L1; the L1 has certificates or roots
	}
	return nil
}

// congest mines blocks full of gas burning until the L1 base fee is x
// times what it was.
func congest(ctx context.Context, s *rolluptest.System, x int64) error {
	target := new(big.Int).Mul(s.L1.Head().BaseFee, big.NewInt(x))
	l1 := s.L1.Client()
	signer := types.LatestSignerForChainID(big.NewInt(rolluptest.L1MinerChainID))
	key := chain.DevKey(7)
	for s.L1.Head().BaseFee.Cmp(target) < 0 {
		head := s.L1.Head()
		nonce, err := l1.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
		if err != nil {
			return err
		}
		feeCap := new(big.Int).Mul(head.BaseFee, big.NewInt(3))
		// Transactions of 10M gas: under EIP-7825's cap of 2^24 a transaction.
		for i := range head.GasLimit / 10_000_000 {
			tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{ChainID: big.NewInt(rolluptest.L1MinerChainID), Nonce: nonce + i,
				To: &burner, Gas: 10_000_000, GasTipCap: big.NewInt(1), GasFeeCap: feeCap})
			if err != nil {
				return err
			}
			if err := l1.SendTransaction(ctx, tx); err != nil {
				return err
			}
		}
		b, skipped, err := s.L1.Mine()
		if err != nil {
			return err
		}
		if b.GasUsed() <= b.GasLimit()/2 {
			return fmt.Errorf("a block of gas burning used %d gas of %d (%d transactions left out)", b.GasUsed(), b.GasLimit(), len(skipped))
		}
	}
	return nil
}

func blobBaseFee(s *rolluptest.System) *big.Int {
	fee, err := s.L1.Client().BlobBaseFee(context.Background())
	if err != nil {
		return new(big.Int)
	}
	return fee
}

func ratio(a, b *big.Int) float64 {
	if b == nil || b.Sign() == 0 {
		return 0
	}
	f, _ := new(big.Rat).SetFrac(a, b).Float64()
	return f
}

// PrintDAModes writes the modes' costs side by side, with each mode's
// fee beside the first mode's (calldata).
func PrintDAModes(w io.Writer, cs []DAModeCost) {
	if len(cs) == 0 {
		return
	}
	c0 := cs[0]
	fmt.Fprintf(w, "\nL1 cost of the rollup's data per L2 transfer (%d transfers to random recipients a run; congested: L1 base fee %.1f× idle):\n", c0.Transfers, c0.Congestx)
	fmt.Fprintf(w, "  %-9s  %6s  %5s  %9s  %9s  %9s  %14s  %14s  %9s  %16s\n", "mode", "L1 txs", "blobs", "L1 bytes", "frame B", "L1 gas", "fee idle", "fee congested", "cheaper", "blobs congested")
	for _, c := range cs {
		blobs := "—"
		if c.BlobCongest != nil {
			blobs = fmt.Sprintf("%.4g gwei", c.PerTransfer(gweiF(c.BlobCongest)))
		}
		fmt.Fprintf(w, "  %-9s  %6d  %5d  %9.1f  %9.1f  %9.1f  %9.4g gwei  %9.4g gwei  %8.1f×  %16s\n", c.Mode, c.L1Txs, c.Blobs,
			c.PerTransfer(float64(c.Bytes)), c.PerTransfer(float64(c.Frames)), c.PerTransfer(float64(c.Gas)),
			c.PerTransfer(gweiF(c.Fee)), c.PerTransfer(gweiF(c.Congest)), ratio(c0.Congest, c.Congest), blobs)
	}
	if c0.BlobCongest != nil {
		fmt.Fprintf(w, "  blobs congested: blocks of 9 blobs until the blob base fee reached %.3g gwei; the execution base fee had fallen back to %.3g gwei\n",
			gweiF(c0.BlobFee[2]), gweiF(c0.BaseFee[2]))
	}
	fmt.Fprintln(w, "  L1 bytes count whole blobs (131,072 bytes each); fees are execution gas plus blob gas at the L1's prices; cheaper: congested fee against the first mode's")
}

func gweiF(wei *big.Int) float64 {
	f, _ := new(big.Rat).SetFrac(wei, big.NewInt(params.GWei)).Float64()
	return f
}
