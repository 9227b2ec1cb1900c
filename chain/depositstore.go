package chain

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
)

// A block's deposit transactions are not in its body (go-ethereum's block
// type holds signed transactions only), so the store keeps them beside it:
// the deposits with their receipts by block hash, and each deposit's block
// by its transaction hash.

var (
	depositsPrefix = []byte("cairn-deposits-")   // + block hash: the block's deposits
	depositTxKey   = []byte("cairn-deposit-tx-") // + deposit hash: block hash ‖ number
)

// storedDeposit is a deposit as the store keeps it.
type storedDeposit struct {
	Tx      []byte // MarshalBinary
	Nonce   uint64
	Receipt *types.ReceiptForStorage
}

func writeDeposits(w ethdb.KeyValueWriter, block *types.Block, deposits []*DepositTx) error {
	if len(deposits) == 0 {
		return nil
	}
	list := make([]storedDeposit, len(deposits))
	for i, d := range deposits {
		enc, err := d.Deposit.MarshalBinary()
		if err != nil {
			return err
		}
		list[i] = storedDeposit{Tx: enc, Nonce: d.Nonce, Receipt: (*types.ReceiptForStorage)(d.Receipt)}
		ref := append(block.Hash().Bytes(), rlp.AppendUint64(nil, block.NumberU64())...)
		if err := w.Put(append(append([]byte{}, depositTxKey...), d.Receipt.TxHash[:]...), ref); err != nil {
			return err
		}
	}
	enc, err := rlp.EncodeToBytes(list)
	if err != nil {
		return fmt.Errorf("encode deposits: %w", err)
	}
	return w.Put(append(append([]byte{}, depositsPrefix...), block.Hash().Bytes()...), enc)
}

func (s *Store) readDeposits(blockHash common.Hash) []storedDeposit {
	enc, err := s.db.Get(append(append([]byte{}, depositsPrefix...), blockHash[:]...))
	if err != nil {
		return nil
	}
	var list []storedDeposit
	if err := rlp.DecodeBytes(enc, &list); err != nil {
		s.log.Error("Stored deposits unreadable", "block", blockHash, "err", err)
		return nil
	}
	return list
}

// depositCount is how many deposits Deposits serves for the block, so that
// indexes after them agree with Receipts even if the record is unreadable.
func (s *Store) depositCount(blockHash common.Hash) int { return len(s.Deposits(blockHash)) }

// Deposits returns the deposit transactions of a block, in order, with their
// receipts' derived fields filled in.
func (s *Store) Deposits(blockHash common.Hash) []*DepositTx {
	list := s.readDeposits(blockHash)
	if len(list) == 0 {
		return nil
	}
	h := s.GetHeaderByHash(blockHash)
	if h == nil {
		return nil
	}
	number := h.Number.Uint64()
	out := make([]*DepositTx, 0, len(list))
	var logs uint
	var gas uint64
	for i, sd := range list {
		d := new(Deposit)
		if err := d.UnmarshalBinary(sd.Tx); err != nil {
			s.log.Error("Stored deposit unreadable", "block", blockHash, "index", i, "err", err)
			return nil
		}
		r := (*types.Receipt)(sd.Receipt)
		r.Type, r.TxHash, r.BlockHash, r.BlockNumber, r.TransactionIndex = DepositTxType, d.Hash(), blockHash, h.Number, uint(i)
		r.GasUsed, gas = r.CumulativeGasUsed-gas, r.CumulativeGasUsed
		if d.To == nil {
			r.ContractAddress = crypto.CreateAddress(d.From, sd.Nonce)
		}
		r.EffectiveGasPrice = new(big.Int)
		r.Bloom = types.CreateBloom(r)
		for _, l := range r.Logs {
			l.BlockNumber, l.BlockHash, l.BlockTimestamp, l.TxHash, l.TxIndex, l.Index = number, blockHash, h.Time, r.TxHash, uint(i), logs
			logs++
		}
		out = append(out, &DepositTx{Deposit: d, Nonce: sd.Nonce, Receipt: r})
	}
	return out
}

// DepositLookup finds a canonical deposit transaction by hash: the deposit,
// its block hash, number and index, or nil.
func (s *Store) DepositLookup(hash common.Hash) (*DepositTx, common.Hash, uint64, uint64) {
	ref, err := s.db.Get(append(append([]byte{}, depositTxKey...), hash[:]...))
	if err != nil || len(ref) <= common.HashLength {
		return nil, common.Hash{}, 0, 0
	}
	blockHash := common.BytesToHash(ref[:common.HashLength])
	number, _, err := rlp.SplitUint64(ref[common.HashLength:])
	if err != nil || number > s.Head().Number.Uint64() || rawdb.ReadCanonicalHash(s.db, number) != blockHash {
		return nil, common.Hash{}, 0, 0
	}
	for i, d := range s.Deposits(blockHash) {
		if d.Receipt.TxHash == hash {
			return d, blockHash, number, uint64(i)
		}
	}
	return nil, common.Hash{}, 0, 0
}
