package rpc

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/gasprice"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
)

// EthAPI is the eth_ namespace.
type EthAPI struct {
	b           Backend
	oracle      *gasprice.Oracle
	limits      Limits
	filters     filterSet
	waiters     chan struct{} // eth_getTransactionReceipt calls waiting, MaxReceiptWaiters at most
	syncWaiters chan struct{} // eth_sendRawTransactionSync calls waiting, as many
}

// ChainId returns the chain ID (EIP-695).
func (api *EthAPI) ChainId() *hexutil.Big {
	return (*hexutil.Big)(api.b.Chain().Config().ChainID)
}

// BlockNumber returns the newest block number.
func (api *EthAPI) BlockNumber() hexutil.Uint64 {
	return hexutil.Uint64(api.b.Chain().Head().Number.Uint64())
}

// Syncing reports false: a node serves RPC once it has caught up with its
// consensus engine's replay.
func (api *EthAPI) Syncing() (any, error) { return false, nil }

// Accounts returns no accounts: the node holds no user keys.
func (api *EthAPI) Accounts() []common.Address { return []common.Address{} }

// GetBalance returns an account's balance.
func (api *EthAPI) GetBalance(ctx context.Context, addr common.Address, at rpc.BlockNumberOrHash) (*hexutil.Big, error) {
	st, _, err := api.stateAt(at)
	if err != nil {
		return nil, err
	}
	return (*hexutil.Big)(st.GetBalance(addr).ToBig()), nil
}

// GetTransactionCount returns an account's nonce; "pending" counts the
// transactions waiting in the mempool.
func (api *EthAPI) GetTransactionCount(ctx context.Context, addr common.Address, at rpc.BlockNumberOrHash) (*hexutil.Uint64, error) {
	if n, ok := at.Number(); ok && n == rpc.PendingBlockNumber {
		nonce, err := api.b.PendingNonce(addr)
		if err != nil {
			return nil, err
		}
		return (*hexutil.Uint64)(&nonce), nil
	}
	st, _, err := api.stateAt(at)
	if err != nil {
		return nil, err
	}
	nonce := st.GetNonce(addr)
	return (*hexutil.Uint64)(&nonce), nil
}

// GetCode returns an account's code.
func (api *EthAPI) GetCode(ctx context.Context, addr common.Address, at rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	st, _, err := api.stateAt(at)
	if err != nil {
		return nil, err
	}
	return st.GetCode(addr), nil
}

// GetStorageAt returns one storage slot.
func (api *EthAPI) GetStorageAt(ctx context.Context, addr common.Address, slot string, at rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	key, err := decodeSlot(slot)
	if err != nil {
		return nil, invalidParams("invalid storage slot: %v", err)
	}
	st, _, err := api.stateAt(at)
	if err != nil {
		return nil, err
	}
	v := st.GetState(addr, key)
	return v[:], nil
}

func decodeSlot(s string) (common.Hash, error) {
	b, err := hexutil.Decode(s)
	if err != nil {
		// Accept odd-length hex, as geth does.
		v, ok := math.ParseBig256(s)
		if !ok {
			return common.Hash{}, err
		}
		return common.BigToHash(v), nil
	}
	if len(b) > 32 {
		return common.Hash{}, fmt.Errorf("hex string too long, want at most 32 bytes")
	}
	return common.BytesToHash(b), nil
}

// GasPrice suggests a legacy gas price: the next base fee plus a tip.
func (api *EthAPI) GasPrice(ctx context.Context) (*hexutil.Big, error) {
	tip, err := api.oracle.SuggestTipCap(ctx)
	if err != nil {
		return nil, err
	}
	head := api.b.Chain().Head()
	next := api.b.Executor().Header(head, nextEnv(head)).BaseFee
	return (*hexutil.Big)(tip.Add(tip, next)), nil
}

// BlobBaseFee is the blob base fee of the next block (EIP-4844, EIP-7918).
func (api *EthAPI) BlobBaseFee() *hexutil.Big {
	head := api.b.Chain().Head()
	next := api.b.Executor().Header(head, nextEnv(head))
	return (*hexutil.Big)(eip4844.CalcBlobFee(api.b.Chain().Config(), next))
}

// MaxPriorityFeePerGas suggests a tip.
func (api *EthAPI) MaxPriorityFeePerGas(ctx context.Context) (*hexutil.Big, error) {
	tip, err := api.oracle.SuggestTipCap(ctx)
	if err != nil {
		return nil, err
	}
	return (*hexutil.Big)(tip), nil
}

type feeHistoryResult struct {
	OldestBlock  *hexutil.Big     `json:"oldestBlock"`
	Reward       [][]*hexutil.Big `json:"reward,omitempty"`
	BaseFee      []*hexutil.Big   `json:"baseFeePerGas,omitempty"`
	GasUsedRatio []float64        `json:"gasUsedRatio"`
	BlobBaseFee  []*hexutil.Big   `json:"baseFeePerBlobGas,omitempty"`
	BlobRatio    []float64        `json:"blobGasUsedRatio,omitempty"`
}

// FeeHistory returns base fees, gas used ratios and tip percentiles of recent
// blocks (go-ethereum's oracle).
func (api *EthAPI) FeeHistory(ctx context.Context, blockCount math.HexOrDecimal64, lastBlock rpc.BlockNumber, percentiles []float64) (*feeHistoryResult, error) {
	oldest, reward, baseFee, ratio, blobBase, blobRatio, err := api.oracle.FeeHistory(ctx, uint64(blockCount), lastBlock, percentiles)
	if err != nil {
		return nil, err
	}
	out := &feeHistoryResult{OldestBlock: (*hexutil.Big)(oldest), GasUsedRatio: ratio, BlobRatio: blobRatio}
	if reward != nil {
		out.Reward = make([][]*hexutil.Big, len(reward))
		for i, w := range reward {
			out.Reward[i] = make([]*hexutil.Big, len(w))
			for j, v := range w {
				out.Reward[i][j] = (*hexutil.Big)(v)
			}
		}
	}
	for _, v := range baseFee {
		out.BaseFee = append(out.BaseFee, (*hexutil.Big)(v))
	}
	for _, v := range blobBase {
		out.BlobBaseFee = append(out.BlobBaseFee, (*hexutil.Big)(v))
	}
	return out, nil
}

// SendRawTransaction submits a signed transaction.
func (api *EthAPI) SendRawTransaction(ctx context.Context, input hexutil.Bytes) (common.Hash, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(input); err != nil {
		return common.Hash{}, err
	}
	if err := api.b.SendTransaction(ctx, input); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// Waiting for a receipt on the server (EIP-7966), as go-ethereum does: at
// most TxSyncMaxTimeout, TxSyncDefaultTimeout when the caller gives none.
const (
	TxSyncDefaultTimeout = 20 * time.Second
	TxSyncMaxTimeout     = time.Minute
	codeTxSyncTimeout    = 4 // EIP-7966: accepted, not in a block within the timeout
)

// SendRawTransactionSync submits a signed transaction and answers with its
// receipt once the transaction is in a block (EIP-7966): one request
// instead of a send and a receipt poll, what `cast send --sync` and viem's
// sendRawTransactionSync use. When the timeout (milliseconds) passes first,
// or MaxReceiptWaiters such calls wait already, the error has code 4 and
// the transaction's hash as data: it stays accepted.
func (api *EthAPI) SendRawTransactionSync(ctx context.Context, input hexutil.Bytes, timeoutMs *uint64) (map[string]any, error) {
	timeout := TxSyncDefaultTimeout
	if timeoutMs != nil && *timeoutMs > 0 {
		timeout = min(time.Duration(*timeoutMs)*time.Millisecond, TxSyncMaxTimeout)
	}
	hash, err := api.SendRawTransaction(ctx, input)
	if err != nil {
		return nil, err
	}
	msg := "the transaction was accepted; too many calls wait for receipts to wait for its own"
	if api.wait(api.syncWaiters) {
		defer func() { <-api.syncWaiters }()
		r, err := api.awaitReceipt(ctx, hash, timeout)
		if r != nil || err != nil {
			return r, err
		}
		msg = fmt.Sprintf("the transaction was accepted but not included in %v", timeout)
	}
	return nil, &rpcError{code: codeTxSyncTimeout, msg: msg, data: hash.Hex()}
}

// ReceiptWait is how long eth_getTransactionReceipt waits for a
// transaction waiting in this node's mempool to be included, before it
// answers null. At most MaxReceiptWaiters calls wait at once (the rest
// answer at once), and as many eth_sendRawTransactionSync calls apart from
// them, so that callers holding one kind of wait do not turn off the
// other. A client that sends a transaction and asks for its receipt
// straight away, as cast, ethers and viem do before they start polling at
// their interval (250 ms to 4 s), gets it in one call: the devnet includes
// a transaction in about 25 ms, Anvil's automine before the send returns.
const (
	ReceiptWait       = 250 * time.Millisecond
	MaxReceiptWaiters = 256
)

// wait takes one of the slots, if one is free; the caller gives it back.
func (api *EthAPI) wait(slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// awaitReceipt looks up hash's receipt on every new block until it is
// there or timeout has passed (nil, nil).
func (api *EthAPI) awaitReceipt(ctx context.Context, hash common.Hash, timeout time.Duration) (r map[string]any, err error) {
	_, werr := api.b.Chain().WaitFor(ctx, timeout, func() bool {
		r, err = api.receipt(hash)
		return err != nil || r != nil
	})
	if werr != nil {
		return nil, werr
	}
	return r, err
}

// GetTransactionByHash returns a transaction, mined or still pending (with
// null block fields), or null. A rollup's deposit transactions are found
// too.
func (api *EthAPI) GetTransactionByHash(ctx context.Context, hash common.Hash) (*rpcTx, error) {
	c := api.b.Chain()
	tx, blockHash, number, index := c.TxLookup(hash)
	if tx == nil {
		if d, blockHash, number, index := c.DepositLookup(hash); d != nil {
			if h := c.GetHeader(blockHash, number); h != nil {
				return marshalDeposit(d, blockHash, number, h.Time, index), nil
			}
		}
		if tx = api.b.PendingTransaction(hash); tx != nil {
			return marshalTx(tx, common.Hash{}, 0, 0, 0, nil, c.Config()), nil
		}
		return nil, nil
	}
	h := c.GetHeader(blockHash, number)
	if h == nil {
		return nil, nil
	}
	return marshalTx(tx, blockHash, number, h.Time, index, h.BaseFee, c.Config()), nil
}

// GetTransactionReceipt returns a mined transaction's receipt, or null.
//
// For a transaction still waiting in this node's mempool it waits up to
// ReceiptWait for the block that includes it.
func (api *EthAPI) GetTransactionReceipt(ctx context.Context, hash common.Hash) (map[string]any, error) {
	if r, err := api.receipt(hash); err != nil || r != nil {
		return r, err
	}
	if api.b.PendingTransaction(hash) == nil || !api.wait(api.waiters) {
		return nil, nil
	}
	defer func() { <-api.waiters }()
	return api.awaitReceipt(ctx, hash, ReceiptWait)
}

func (api *EthAPI) receipt(hash common.Hash) (map[string]any, error) {
	c := api.b.Chain()
	tx, blockHash, _, index := c.TxLookup(hash)
	if tx == nil {
		if d, _, _, _ := c.DepositLookup(hash); d != nil {
			return marshalDepositReceipt(d), nil
		}
		return nil, nil
	}
	receipts := c.Receipts(blockHash)
	if uint64(len(receipts)) <= index {
		return nil, nil
	}
	return marshalReceipt(receipts[index], tx, c.GetHeaderByHash(blockHash), c.Config(), api.b.Executor().DataFee()), nil
}

// GetBlockReceipts returns all receipts of a block, its deposits' first.
func (api *EthAPI) GetBlockReceipts(ctx context.Context, at rpc.BlockNumberOrHash) ([]map[string]any, error) {
	block, err := api.block(at)
	if err != nil || block == nil {
		return nil, err
	}
	c := api.b.Chain()
	receipts := c.Receipts(block.Hash())
	deposits := c.Deposits(block.Hash())
	txs := block.Transactions()
	if len(receipts) != len(deposits)+len(txs) {
		return nil, fmt.Errorf("block %d: %d receipts for %d deposits and %d transactions", block.NumberU64(), len(receipts), len(deposits), len(txs))
	}
	out := make([]map[string]any, 0, len(receipts))
	for _, d := range deposits {
		out = append(out, marshalDepositReceipt(d))
	}
	for i, tx := range txs {
		out = append(out, marshalReceipt(receipts[len(deposits)+i], tx, block.Header(), c.Config(), api.b.Executor().DataFee()))
	}
	return out, nil
}

// GetBlockByNumber returns a block, or null.
func (api *EthAPI) GetBlockByNumber(ctx context.Context, number rpc.BlockNumber, fullTx bool) (map[string]any, error) {
	block, err := api.block(rpc.BlockNumberOrHashWithNumber(number))
	if err != nil || block == nil {
		return nil, nil
	}
	return marshalBlock(block, api.b.Chain().Deposits(block.Hash()), fullTx, api.b.Chain().Config()), nil
}

// GetBlockByHash returns a block, or null.
func (api *EthAPI) GetBlockByHash(ctx context.Context, hash common.Hash, fullTx bool) (map[string]any, error) {
	block := api.b.Chain().BlockByHash(hash)
	if block == nil {
		return nil, nil
	}
	return marshalBlock(block, api.b.Chain().Deposits(hash), fullTx, api.b.Chain().Config()), nil
}

// GetBlockTransactionCountByNumber returns the number of transactions in a
// block, deposits included.
func (api *EthAPI) GetBlockTransactionCountByNumber(ctx context.Context, number rpc.BlockNumber) *hexutil.Uint {
	block, _ := api.block(rpc.BlockNumberOrHashWithNumber(number))
	return api.txCount(block)
}

// GetBlockTransactionCountByHash returns the number of transactions in a
// block, deposits included.
func (api *EthAPI) GetBlockTransactionCountByHash(ctx context.Context, hash common.Hash) *hexutil.Uint {
	return api.txCount(api.b.Chain().BlockByHash(hash))
}

func (api *EthAPI) txCount(block *types.Block) *hexutil.Uint {
	if block == nil {
		return nil
	}
	n := hexutil.Uint(len(api.b.Chain().Deposits(block.Hash())) + len(block.Transactions()))
	return &n
}

// GetTransactionByBlockNumberAndIndex returns one transaction of a block.
func (api *EthAPI) GetTransactionByBlockNumberAndIndex(ctx context.Context, number rpc.BlockNumber, index hexutil.Uint) *rpcTx {
	block, _ := api.block(rpc.BlockNumberOrHashWithNumber(number))
	return txAt(block, uint64(index), api)
}

// GetTransactionByBlockHashAndIndex returns one transaction of a block.
func (api *EthAPI) GetTransactionByBlockHashAndIndex(ctx context.Context, hash common.Hash, index hexutil.Uint) *rpcTx {
	return txAt(api.b.Chain().BlockByHash(hash), uint64(index), api)
}

func txAt(block *types.Block, index uint64, api *EthAPI) *rpcTx {
	if block == nil {
		return nil
	}
	deposits := api.b.Chain().Deposits(block.Hash())
	if index < uint64(len(deposits)) {
		return marshalDeposit(deposits[index], block.Hash(), block.NumberU64(), block.Time(), index)
	}
	i := index - uint64(len(deposits))
	if i >= uint64(len(block.Transactions())) {
		return nil
	}
	return marshalTx(block.Transactions()[i], block.Hash(), block.NumberU64(), block.Time(), index, block.BaseFee(), api.b.Chain().Config())
}

// GetUncleCountByBlockNumber is always zero: there are no uncles.
func (api *EthAPI) GetUncleCountByBlockNumber(ctx context.Context, number rpc.BlockNumber) hexutil.Uint {
	return 0
}

// GetUncleCountByBlockHash is always zero: there are no uncles.
func (api *EthAPI) GetUncleCountByBlockHash(ctx context.Context, hash common.Hash) hexutil.Uint {
	return 0
}

// header resolves a block tag, number or hash. On the L1 consensus is final
// at once, so latest, pending, safe and finalized all name the head; a
// backend with HeadTags (a rollup) names its own safe and finalized blocks.
func (api *EthAPI) header(at rpc.BlockNumberOrHash) (*types.Header, error) {
	if tags, ok := api.b.(HeadTags); ok {
		if n, ok := at.Number(); ok && (n == rpc.SafeBlockNumber || n == rpc.FinalizedBlockNumber) {
			h := tags.SafeHead()
			if n == rpc.FinalizedBlockNumber {
				h = tags.FinalizedHead()
			}
			if h == nil {
				return nil, ErrBlockNotFound
			}
			return h, nil
		}
	}
	return resolveHeader(api.b.Chain(), at)
}

func (api *EthAPI) block(at rpc.BlockNumberOrHash) (*types.Block, error) {
	h, err := api.header(at)
	if err != nil {
		return nil, err
	}
	return api.b.Chain().BlockByHash(h.Hash()), nil
}

func (api *EthAPI) stateAt(at rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error) {
	h, err := api.header(at)
	if err != nil {
		return nil, nil, err
	}
	st, err := api.b.Chain().StateAt(h.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("state of block %d is not available: %w", h.Number, err)
	}
	return st, h, nil
}

func resolveHeader(c interface {
	Head() *types.Header
	GetHeaderByNumber(uint64) *types.Header
	GetHeaderByHash(common.Hash) *types.Header
}, at rpc.BlockNumberOrHash) (*types.Header, error) {
	if hash, ok := at.Hash(); ok {
		h := c.GetHeaderByHash(hash)
		if h == nil {
			return nil, ErrBlockNotFound
		}
		if at.RequireCanonical {
			if canon := c.GetHeaderByNumber(h.Number.Uint64()); canon == nil || canon.Hash() != hash {
				return nil, fmt.Errorf("hash %s is not currently canonical", hash)
			}
		}
		return h, nil
	}
	n, ok := at.Number()
	if !ok {
		return c.Head(), nil
	}
	var h *types.Header
	switch n {
	case rpc.LatestBlockNumber, rpc.PendingBlockNumber, rpc.SafeBlockNumber, rpc.FinalizedBlockNumber:
		h = c.Head()
	case rpc.EarliestBlockNumber:
		h = c.GetHeaderByNumber(0)
	default:
		if n < 0 {
			return nil, invalidParams("invalid block number %d", n)
		}
		h = c.GetHeaderByNumber(uint64(n))
	}
	if h == nil {
		return nil, ErrBlockNotFound
	}
	return h, nil
}

// nextEnv is a plausible environment for the block after head, for fee
// suggestions and pending-state calls.
func nextEnv(head *types.Header) chain.Env {
	return chain.Env{Time: head.Time + 1, Coinbase: head.Coinbase}
}

func bigOrZero(b *hexutil.Big) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return (*big.Int)(b)
}
