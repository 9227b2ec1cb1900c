package rpc

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
)

// marshalHeader renders a header as eth_getBlockBy* does.
func marshalHeader(h *types.Header) map[string]any {
	out := map[string]any{
		"number":           (*hexutil.Big)(h.Number),
		"hash":             h.Hash(),
		"parentHash":       h.ParentHash,
		"nonce":            h.Nonce,
		"mixHash":          h.MixDigest,
		"sha3Uncles":       h.UncleHash,
		"logsBloom":        h.Bloom,
		"stateRoot":        h.Root,
		"miner":            h.Coinbase,
		"difficulty":       (*hexutil.Big)(h.Difficulty),
		"totalDifficulty":  (*hexutil.Big)(new(big.Int)),
		"extraData":        hexutil.Bytes(h.Extra),
		"gasLimit":         hexutil.Uint64(h.GasLimit),
		"gasUsed":          hexutil.Uint64(h.GasUsed),
		"timestamp":        hexutil.Uint64(h.Time),
		"transactionsRoot": h.TxHash,
		"receiptsRoot":     h.ReceiptHash,
	}
	if h.BaseFee != nil {
		out["baseFeePerGas"] = (*hexutil.Big)(h.BaseFee)
	}
	if h.WithdrawalsHash != nil {
		out["withdrawalsRoot"] = h.WithdrawalsHash
	}
	if h.BlobGasUsed != nil {
		out["blobGasUsed"] = hexutil.Uint64(*h.BlobGasUsed)
	}
	if h.ExcessBlobGas != nil {
		out["excessBlobGas"] = hexutil.Uint64(*h.ExcessBlobGas)
	}
	if h.ParentBeaconRoot != nil {
		out["parentBeaconBlockRoot"] = h.ParentBeaconRoot
	}
	if h.RequestsHash != nil {
		out["requestsHash"] = h.RequestsHash
	}
	return out
}

// marshalBlock renders a block with transaction hashes or full
// transactions: its deposit transactions (a rollup's) first.
func marshalBlock(b *types.Block, deposits []*chain.DepositTx, fullTx bool, config *params.ChainConfig) map[string]any {
	out := marshalHeader(b.Header())
	out["size"] = hexutil.Uint64(b.Size())
	txs := b.Transactions()
	list := make([]any, 0, len(deposits)+len(txs))
	for i, d := range deposits {
		if fullTx {
			list = append(list, marshalDeposit(d, b.Hash(), b.NumberU64(), b.Time(), uint64(i)))
		} else {
			list = append(list, d.Receipt.TxHash)
		}
	}
	for i, tx := range txs {
		if fullTx {
			list = append(list, marshalTx(tx, b.Hash(), b.NumberU64(), b.Time(), uint64(len(deposits)+i), b.BaseFee(), config))
		} else {
			list = append(list, tx.Hash())
		}
	}
	out["transactions"] = list
	out["uncles"] = []common.Hash{}
	if b.Withdrawals() != nil {
		out["withdrawals"] = b.Withdrawals()
	}
	return out
}

// marshalDeposit renders a deposit transaction as op-geth does: type 0x7e,
// no fee and a zero signature, with its source hash and mint.
func marshalDeposit(d *chain.DepositTx, blockHash common.Hash, number, time, index uint64) *rpcTx {
	dep := d.Deposit
	value := dep.Value
	if value == nil {
		value = new(big.Int)
	}
	mint := dep.Mint
	if mint == nil {
		mint = new(big.Int)
	}
	zero := (*hexutil.Big)(new(big.Int))
	idx, ts := hexutil.Uint64(index), hexutil.Uint64(time)
	source, system := dep.Source, false
	return &rpcTx{
		BlockHash: &blockHash, BlockNumber: (*hexutil.Big)(new(big.Int).SetUint64(number)), TransactionIndex: &idx, BlockTimestamp: &ts,
		From: dep.From, Gas: hexutil.Uint64(dep.Gas), GasPrice: zero, Hash: d.Receipt.TxHash, Input: dep.Data,
		Nonce: hexutil.Uint64(d.Nonce), To: dep.To, Value: (*hexutil.Big)(value), Type: chain.DepositTxType,
		V: zero, R: zero, S: zero, SourceHash: &source, Mint: (*hexutil.Big)(mint), IsSystemTx: &system,
	}
}

// rpcTx is a transaction as eth_getTransactionByHash returns it.
type rpcTx struct {
	BlockHash        *common.Hash      `json:"blockHash"`
	BlockNumber      *hexutil.Big      `json:"blockNumber"`
	From             common.Address    `json:"from"`
	Gas              hexutil.Uint64    `json:"gas"`
	GasPrice         *hexutil.Big      `json:"gasPrice"`
	GasFeeCap        *hexutil.Big      `json:"maxFeePerGas,omitempty"`
	GasTipCap        *hexutil.Big      `json:"maxPriorityFeePerGas,omitempty"`
	Hash             common.Hash       `json:"hash"`
	Input            hexutil.Bytes     `json:"input"`
	Nonce            hexutil.Uint64    `json:"nonce"`
	To               *common.Address   `json:"to"`
	TransactionIndex *hexutil.Uint64   `json:"transactionIndex"`
	Value            *hexutil.Big      `json:"value"`
	Type             hexutil.Uint64    `json:"type"`
	Accesses         *types.AccessList `json:"accessList,omitempty"`
	ChainID          *hexutil.Big      `json:"chainId,omitempty"`
	V                *hexutil.Big      `json:"v"`
	R                *hexutil.Big      `json:"r"`
	S                *hexutil.Big      `json:"s"`
	YParity          *hexutil.Uint64   `json:"yParity,omitempty"`
	BlockTimestamp   *hexutil.Uint64   `json:"blockTimestamp,omitempty"`
	// A blob transaction's (type 3).
	BlobFeeCap *hexutil.Big  `json:"maxFeePerBlobGas,omitempty"`
	BlobHashes []common.Hash `json:"blobVersionedHashes,omitempty"`
	// A deposit transaction's (type 0x7e), as the OP Stack names them.
	SourceHash *common.Hash `json:"sourceHash,omitempty"`
	Mint       *hexutil.Big `json:"mint,omitempty"`
	IsSystemTx *bool        `json:"isSystemTx,omitempty"`
}

// marshalTx renders a transaction; blockHash zero means not yet mined.
func marshalTx(tx *types.Transaction, blockHash common.Hash, number, time, index uint64, baseFee *big.Int, config *params.ChainConfig) *rpcTx {
	signer := types.LatestSigner(config)
	from, _ := types.Sender(signer, tx)
	v, r, s := tx.RawSignatureValues()
	out := &rpcTx{
		From:     from,
		Gas:      hexutil.Uint64(tx.Gas()),
		GasPrice: (*hexutil.Big)(tx.GasPrice()),
		Hash:     tx.Hash(),
		Input:    hexutil.Bytes(tx.Data()),
		Nonce:    hexutil.Uint64(tx.Nonce()),
		To:       tx.To(),
		Value:    (*hexutil.Big)(tx.Value()),
		Type:     hexutil.Uint64(tx.Type()),
		V:        (*hexutil.Big)(v),
		R:        (*hexutil.Big)(r),
		S:        (*hexutil.Big)(s),
	}
	if blockHash != (common.Hash{}) {
		out.BlockHash = &blockHash
		out.BlockNumber = (*hexutil.Big)(new(big.Int).SetUint64(number))
		idx := hexutil.Uint64(index)
		out.TransactionIndex = &idx
		ts := hexutil.Uint64(time)
		out.BlockTimestamp = &ts
	}
	switch tx.Type() {
	case types.LegacyTxType:
		if tx.Protected() {
			out.ChainID = (*hexutil.Big)(tx.ChainId())
		}
	default:
		al := tx.AccessList()
		yparity := hexutil.Uint64(v.Sign())
		out.Accesses = &al
		out.ChainID = (*hexutil.Big)(tx.ChainId())
		out.YParity = &yparity
		if tx.Type() == types.BlobTxType {
			out.BlobFeeCap = (*hexutil.Big)(tx.BlobGasFeeCap())
			out.BlobHashes = tx.BlobHashes()
		}
		if tx.Type() == types.DynamicFeeTxType || tx.Type() == types.BlobTxType {
			out.GasFeeCap = (*hexutil.Big)(tx.GasFeeCap())
			out.GasTipCap = (*hexutil.Big)(tx.GasTipCap())
			if blockHash != (common.Hash{}) && baseFee != nil {
				out.GasPrice = (*hexutil.Big)(effectiveGasPrice(tx, baseFee))
			} else {
				out.GasPrice = (*hexutil.Big)(tx.GasFeeCap())
			}
		}
	}
	return out
}

func effectiveGasPrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	tip := tx.EffectiveGasTipValue(baseFee)
	return tip.Add(tip, baseFee)
}

// marshalDepositReceipt renders a deposit's receipt as op-geth does.
func marshalDepositReceipt(d *chain.DepositTx) map[string]any {
	r := d.Receipt
	out := map[string]any{
		"blockHash":             r.BlockHash,
		"blockNumber":           (*hexutil.Big)(r.BlockNumber),
		"transactionHash":       r.TxHash,
		"transactionIndex":      hexutil.Uint64(r.TransactionIndex),
		"from":                  d.Deposit.From,
		"to":                    d.Deposit.To,
		"gasUsed":               hexutil.Uint64(r.GasUsed),
		"cumulativeGasUsed":     hexutil.Uint64(r.CumulativeGasUsed),
		"contractAddress":       nil,
		"logs":                  r.Logs,
		"logsBloom":             r.Bloom,
		"type":                  hexutil.Uint(chain.DepositTxType),
		"effectiveGasPrice":     (*hexutil.Big)(new(big.Int)),
		"status":                hexutil.Uint(r.Status),
		"depositNonce":          hexutil.Uint64(d.Nonce),
		"depositReceiptVersion": hexutil.Uint64(1),
	}
	if r.Logs == nil {
		out["logs"] = []*types.Log{}
	}
	if r.ContractAddress != (common.Address{}) {
		out["contractAddress"] = r.ContractAddress
	}
	return out
}

// marshalReceipt renders a receipt as eth_getTransactionReceipt does.
func marshalReceipt(r *types.Receipt, tx *types.Transaction, header *types.Header, config *params.ChainConfig, fee chain.DataFee) map[string]any {
	from, _ := types.Sender(types.LatestSigner(config), tx)
	out := map[string]any{
		"blockHash":         r.BlockHash,
		"blockNumber":       (*hexutil.Big)(r.BlockNumber),
		"transactionHash":   r.TxHash,
		"transactionIndex":  hexutil.Uint64(r.TransactionIndex),
		"from":              from,
		"to":                tx.To(),
		"gasUsed":           hexutil.Uint64(r.GasUsed),
		"cumulativeGasUsed": hexutil.Uint64(r.CumulativeGasUsed),
		"contractAddress":   nil,
		"logs":              r.Logs,
		"logsBloom":         r.Bloom,
		"type":              hexutil.Uint(tx.Type()),
		"effectiveGasPrice": (*hexutil.Big)(r.EffectiveGasPrice),
		"status":            hexutil.Uint(r.Status),
	}
	if r.Logs == nil {
		out["logs"] = []*types.Log{}
	}
	if fee != nil && header != nil {
		// A rollup's L1 data fee, under the OP Stack's field names.
		cost := fee.Cost(header, tx)
		out["l1GasUsed"] = hexutil.Uint64(cost.GasUsed)
		out["l1GasPrice"] = (*hexutil.Big)(cost.GasPrice)
		out["l1Fee"] = (*hexutil.Big)(cost.Fee)
	}
	if r.ContractAddress != (common.Address{}) {
		out["contractAddress"] = r.ContractAddress
	}
	if tx.Type() == types.BlobTxType {
		out["blobGasUsed"] = hexutil.Uint64(tx.BlobGas())
		price := r.BlobGasPrice
		if price == nil && header != nil && header.ExcessBlobGas != nil {
			price = eip4844.CalcBlobFee(config, header)
		}
		out["blobGasPrice"] = (*hexutil.Big)(price)
	}
	return out
}
