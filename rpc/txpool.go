package rpc

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// TxPoolReader is implemented by backends with a mempool: what is
// executable now (pending) and what waits behind a nonce gap (queued), by
// sender, in nonce order.
type TxPoolReader interface {
	TxPoolContent() (pending, queued map[common.Address][]*types.Transaction)
}

// TxPoolAPI is go-ethereum's txpool namespace: txpool_status and
// txpool_content.
type TxPoolAPI struct{ b Backend }

func (api *TxPoolAPI) content() (pending, queued map[common.Address][]*types.Transaction) {
	if r, ok := api.b.(TxPoolReader); ok {
		return r.TxPoolContent()
	}
	return nil, nil
}

// Status returns the numbers of pending and queued transactions.
func (api *TxPoolAPI) Status() map[string]hexutil.Uint {
	pending, queued := api.content()
	count := func(m map[common.Address][]*types.Transaction) hexutil.Uint {
		n := 0
		for _, txs := range m {
			n += len(txs)
		}
		return hexutil.Uint(n)
	}
	return map[string]hexutil.Uint{"pending": count(pending), "queued": count(queued)}
}

// Content returns every pending and queued transaction, by sender and
// nonce, as go-ethereum does.
func (api *TxPoolAPI) Content() map[string]map[string]map[string]*rpcTx {
	pending, queued := api.content()
	config := api.b.Chain().Config()
	dump := func(m map[common.Address][]*types.Transaction) map[string]map[string]*rpcTx {
		out := make(map[string]map[string]*rpcTx, len(m))
		for addr, txs := range m {
			byNonce := make(map[string]*rpcTx, len(txs))
			for _, tx := range txs {
				byNonce[fmt.Sprint(tx.Nonce())] = marshalTx(tx, common.Hash{}, 0, 0, 0, nil, config)
			}
			out[addr.Hex()] = byNonce
		}
		return out
	}
	return map[string]map[string]map[string]*rpcTx{"pending": dump(pending), "queued": dump(queued)}
}
