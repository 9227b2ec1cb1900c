package explorer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/rollup"
)

// Errors of requests, each with the status its page gets.
var (
	errBadRequest = errors.New("bad request")
	errNotFound   = errors.New("not found")
)

// maxInFlight bounds the requests served at once; past it, 503.
const maxInFlight = 64

func (e *Explorer) routes() http.Handler {
	mux := http.NewServeMux()
	page := func(pattern, name string, get func(r *http.Request) (any, error)) {
		mux.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, name, get, false) })
		mux.HandleFunc("GET /api"+pattern, func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, name, get, true) })
	}
	page("/{$}", "home", e.home)
	page("/{layer}/block/{id}", "block", e.block)
	page("/{layer}/tx/{hash}", "tx", e.tx)
	page("/{layer}/address/{addr}", "address", e.address)
	page("/{layer}/staking/validators", "validators", e.validators)
	page("/{layer}/l1/outputs", "outputs", e.outputs)
	page("/{layer}/l1/batches", "batches", e.batches)
	page("/{layer}/l1/bridges", "bridges", e.bridges)
	page("/{layer}/l1/transfers", "transfers", e.transfers)
	page("/payment-channels/{$}", "channels", e.channelNetwork)
	page("/lab/{$}", "lab", e.lab)
	mux.HandleFunc("GET /lab/plots/{name}", func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("name", strings.TrimSuffix(r.PathValue("name"), ".svg"))
		e.labPlot(w, r)
	})
	mux.HandleFunc("GET /search", e.search)
	mux.HandleFunc("POST /abi/{layer}/{addr}", e.uploadABI)
	for name, kind := range map[string]string{"style.css": "text/css", "live.js": "text/javascript"} {
		mux.HandleFunc("GET /static/"+name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", kind)
			b, _ := web.ReadFile("web/" + name)
			w.Write(b)
		})
	}
	sem := make(chan struct{}, maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		default:
			http.Error(w, "too many requests at once", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// serve renders a page, or its JSON twin, or the error page.
func (e *Explorer) serve(w http.ResponseWriter, r *http.Request, name string, get func(*http.Request) (any, error), api bool) {
	data, err := get(r)
	if err != nil {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, errBadRequest):
			status = http.StatusBadRequest
		case errors.Is(err, errNotFound):
			status = http.StatusNotFound
		}
		if api {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		e.tmpl.ExecuteTemplate(w, "error", map[string]any{"Status": status, "Error": err.Error(), "Layers": e.layers})
		return
	}
	if api {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(data)
		return
	}
	var page bytes.Buffer
	if err := e.tmpl.ExecuteTemplate(&page, name, data); err != nil {
		e.log.Warn("Page failed to render", "page", name, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
}

// layerOf finds the layer a request names.
func (e *Explorer) layerOf(r *http.Request) (*layer, error) {
	key := r.PathValue("layer")
	for _, l := range e.layers {
		if l.Key == key {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: no layer %q", errNotFound, key)
}

func reqCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 5*time.Second)
}

// LayerHead is a layer's standing on the home page.
type LayerHead struct {
	Name, Kind, Key       string
	ChainID               uint64
	Head, Safe, Finalized uint64
	BaseFeeGwei           string
	Indexed               uint64
	Latest                []BlockRow
	Contracts             map[string]common.Address
	Browsable             bool
	// BlockTime and TxRate are the mean block interval and transactions
	// a second over the last (up to) 64 indexed blocks; "" when their
	// times do not tell (too few blocks, or all in one second).
	BlockTime, TxRate string
}

// rateWindow is how many indexed blocks the home page's rates cover.
const rateWindow = 64

// BlockRow is a block in a list.
type BlockRow struct {
	Layer  string
	Number uint64
	Hash   common.Hash
	Txs    int
	Time   time.Time
}

// Home is the home page.
type Home struct {
	Layers []LayerHead
}

func (e *Explorer) home(r *http.Request) (any, error) {
	ctx, cancel := reqCtx(r)
	defer cancel()
	var h Home
	for _, l := range e.layers {
		lh := LayerHead{Name: l.Name, Kind: l.Kind, Key: l.Key, ChainID: l.ChainID, Contracts: l.Contracts, Browsable: true}
		// The head from the node; a rollup's safe and finalized heads too
		// (a BFT chain's are its head); the blocks below from the index,
		// or the node where it has not caught up.
		var head, safe, final *rpcHead
		tags := []gethrpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head}}
		bft := l.Key == "l1" || l.Kind == "sidechain"
		if !bft {
			tags = append(tags, gethrpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{"safe", false}, Result: &safe},
				gethrpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{"finalized", false}, Result: &final})
		}
		if err := l.rpc.BatchCallContext(ctx, tags); err != nil || tags[0].Error != nil || head == nil {
			lh.Name += " (unreachable)"
			h.Layers = append(h.Layers, lh)
			continue
		}
		lh.Head = uint64(head.Number)
		lh.BaseFeeGwei = gwei(head.BaseFee)
		if bft {
			safe, final = head, head
		}
		if safe != nil {
			lh.Safe = uint64(safe.Number)
		}
		if final != nil {
			lh.Finalized = uint64(final.Number)
		}
		lh.Indexed, _ = e.Indexed(l.Key)
		lh.Latest = append(lh.Latest, blockRow(l.Key, head))
		for n := lh.Head; n > 0 && len(lh.Latest) < 8; n-- {
			row, ok, err := e.idx.summary(l.Key, n-1)
			if err != nil {
				return nil, err
			}
			if !ok {
				var b *rpcHead
				if l.rpc.CallContext(ctx, &b, "eth_getBlockByNumber", hexutil.Uint64(n-1), false) != nil || b == nil {
					break
				}
				row = blockRow(l.Key, b)
			}
			lh.Latest = append(lh.Latest, row)
		}
		bt, rate, err := e.rates(l.Key, lh.Indexed)
		if err != nil {
			return nil, err
		}
		lh.BlockTime, lh.TxRate = bt, rate
		h.Layers = append(h.Layers, lh)
	}
	for _, o := range e.others {
		h.Layers = append(h.Layers, LayerHead{Name: o.Name, Kind: o.Kind, ChainID: o.ChainID, Contracts: o.Contracts})
	}
	return h, nil
}

// rates reads the block interval and transaction rate from the index's
// summaries of the rateWindow blocks up to top.
func (e *Explorer) rates(layer string, top uint64) (string, string, error) {
	var newest, oldest BlockRow
	blocks, txs := 0, 0
	for n := top; n > 0 && blocks < rateWindow; n-- {
		row, ok, err := e.idx.summary(layer, n)
		if err != nil {
			return "", "", err
		}
		if !ok {
			break
		}
		if blocks == 0 {
			newest = row
		} else {
			txs += oldest.Txs // the blocks after the oldest are inside the span
		}
		oldest = row
		blocks++
	}
	span := newest.Time.Sub(oldest.Time)
	if blocks < 2 || span <= 0 {
		return "", "", nil
	}
	interval := span / time.Duration(blocks-1)
	return interval.Round(time.Millisecond).String(), strconv.FormatFloat(float64(txs)/span.Seconds(), 'f', 1, 64), nil
}

func blockRow(key string, b *rpcHead) BlockRow {
	return BlockRow{Layer: key, Number: uint64(b.Number), Hash: b.Hash, Txs: len(b.Transactions), Time: time.Unix(int64(b.Timestamp), 0).UTC()}
}

// TxsPerPage is how many of a block's transactions its page lists.
const TxsPerPage = 100

// BlockPage is a block's page.
type BlockPage struct {
	Layer     string
	LayerName string
	Block     *rpcHead
	Time      time.Time
	Status    string
	// Txs are the page's transactions: TxsPerPage of them from
	// First, of TxCount; Prev and Next are the neighbouring pages' first
	// transactions (-1: none).
	Txs         []rpcTransaction
	TxCount     int
	First, Last int
	Prev, Next  int
	// Signers are a BFT block's validators: who proposed it and whose
	// votes its commit holds (SignedPower of TotalPower).
	Signers                 []Signer
	SignedPower, TotalPower int64
	// Carried is, for a safe rollup block, the L1 block whose data made
	// it and the batcher transactions in it.
	Carried *Carrier
}

// Carrier is the L1 block a rollup block was derived from.
type Carrier struct {
	L1Block uint64
	Txs     []common.Hash // the batcher's transactions in it; none: the sequencing window forced the block
}

// parseBlockID reads a block number (decimal or 0x-hex) or a 32-byte hash.
func parseBlockID(s string) (num uint64, hash common.Hash, isHash bool, err error) {
	switch {
	case len(s) == 66 && strings.HasPrefix(s, "0x"):
		b, err := hexutil.Decode(s)
		if err != nil {
			return 0, common.Hash{}, false, fmt.Errorf("%w: %q is not a block hash", errBadRequest, s)
		}
		return 0, common.BytesToHash(b), true, nil
	case strings.HasPrefix(s, "0x"):
		n, err := hexutil.DecodeUint64(s)
		if err != nil {
			return 0, common.Hash{}, false, fmt.Errorf("%w: %q is not a block number", errBadRequest, s)
		}
		return n, common.Hash{}, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, common.Hash{}, false, fmt.Errorf("%w: %q is not a block number or hash", errBadRequest, s)
	}
	return n, common.Hash{}, false, nil
}

func (e *Explorer) block(r *http.Request) (any, error) {
	l, err := e.layerOf(r)
	if err != nil {
		return nil, err
	}
	num, hash, isHash, err := parseBlockID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	first := 0
	if f := r.URL.Query().Get("from"); f != "" {
		if first, err = strconv.Atoi(f); err != nil || first < 0 {
			return nil, fmt.Errorf("%w: from=%q is not a transaction index", errBadRequest, f)
		}
	}
	var b *rpcHead
	if isHash {
		err = l.rpc.CallContext(ctx, &b, "eth_getBlockByHash", hash, false)
	} else {
		err = l.rpc.CallContext(ctx, &b, "eth_getBlockByNumber", hexutil.Uint64(num), false)
	}
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: no block %s on %s", errNotFound, r.PathValue("id"), l.Name)
	}
	p := &BlockPage{Layer: l.Key, LayerName: l.Name, Block: b, Time: time.Unix(int64(b.Timestamp), 0).UTC(), Status: e.standing(ctx, l, uint64(b.Number)),
		TxCount: len(b.Transactions), First: min(first, len(b.Transactions)), Prev: -1, Next: -1}
	// The page's transactions, in one JSON-RPC batch: a block of
	// thousands is shown a page at a time.
	p.Last = min(p.First+TxsPerPage, p.TxCount)
	if p.First > 0 {
		p.Prev = max(0, p.First-TxsPerPage)
	}
	if p.Last < p.TxCount {
		p.Next = p.Last
	}
	if p.Last > p.First {
		p.Txs = make([]rpcTransaction, p.Last-p.First)
		batch := make([]gethrpc.BatchElem, len(p.Txs))
		for i := range batch {
			batch[i] = gethrpc.BatchElem{Method: "eth_getTransactionByHash", Args: []any{b.Transactions[p.First+i]}, Result: &p.Txs[i]}
		}
		if err := l.rpc.BatchCallContext(ctx, batch); err != nil {
			return nil, err
		}
		for _, el := range batch {
			if el.Error != nil {
				return nil, el.Error
			}
		}
	}
	if l.Key == "l1" || l.Kind == "sidechain" {
		p.Signers, p.SignedPower, p.TotalPower = signers(ctx, l, uint64(b.Number))
	}
	if l.Kind == "optimistic-rollup" {
		var from *hexutil.Uint64
		if l.rpc.CallContext(ctx, &from, "rollup_derivedFrom", b.Number) == nil && from != nil {
			p.Carried = &Carrier{L1Block: uint64(*from)}
			txs, err := e.idx.addressTxsAt(e.layers[0].Key, rollup.InboxAddress, uint64(*from))
			if err != nil {
				return nil, err
			}
			for _, t := range txs {
				p.Carried.Txs = append(p.Carried.Txs, t.Hash)
			}
		}
	}
	return p, nil
}

// standing says where a block stands: final, safe or unsafe.
func (e *Explorer) standing(ctx context.Context, l *layer, n uint64) string {
	if l.Key == "l1" || l.Kind == "sidechain" {
		return "final (committed by BFT consensus)"
	}
	for _, tag := range []string{"finalized", "safe"} {
		var b *rpcHead
		if l.rpc.CallContext(ctx, &b, "eth_getBlockByNumber", tag, false) == nil && b != nil && uint64(b.Number) >= n {
			if tag == "finalized" {
				return "finalized (derived from finalized L1 blocks)"
			}
			return "safe (its batch is on L1)"
		}
	}
	return "unsafe (the sequencer's, not yet on L1)"
}

// TxPage is a transaction's page.
type TxPage struct {
	Layer     string
	LayerName string
	Tx        *rpcTransaction
	Receipt   map[string]any
	Status    string
	FeeGwei   string
	L1FeeGwei string
	Standing  string
	Call      *Call // the input decoded, where the contract is known
	Logs      []Log
	// Lifecycle is an optimistic-rollup transaction's way to L1
	// finality; Next the command that moves a withdrawal on.
	Lifecycle []Step
	Next      string
}

func parseHash(s string) (common.Hash, error) {
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != 32 {
		return common.Hash{}, fmt.Errorf("%w: %q is not a 32-byte hash in 0x-hex", errBadRequest, s)
	}
	return common.BytesToHash(b), nil
}

func (e *Explorer) tx(r *http.Request) (any, error) {
	l, err := e.layerOf(r)
	if err != nil {
		return nil, err
	}
	h, err := parseHash(r.PathValue("hash"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	var tx *rpcTransaction
	if err := l.rpc.CallContext(ctx, &tx, "eth_getTransactionByHash", h); err != nil {
		return nil, err
	}
	if tx == nil {
		return nil, fmt.Errorf("%w: no transaction %s on %s", errNotFound, h, l.Name)
	}
	p := &TxPage{Layer: l.Key, LayerName: l.Name, Tx: tx, Status: "pending", Call: e.decodeCall(l.Key, tx.To, tx.Input)}
	var raw json.RawMessage
	var rc map[string]any
	if err := l.rpc.CallContext(ctx, &raw, "eth_getTransactionReceipt", h); err == nil && json.Unmarshal(raw, &rc) == nil && rc != nil {
		p.Receipt = rc
		var logs struct {
			Logs []rpcLog `json:"logs"`
		}
		if json.Unmarshal(raw, &logs) == nil {
			p.Logs = e.decodeLogs(l.Key, logs.Logs)
		}
		p.Status = "failed"
		if rc["status"] == "0x1" {
			p.Status = "success"
		}
		used, _ := hexutil.DecodeBig(str(rc["gasUsed"]))
		price, _ := hexutil.DecodeBig(str(rc["effectiveGasPrice"]))
		if used != nil && price != nil {
			p.FeeGwei = gwei((*hexutil.Big)(new(big.Int).Mul(used, price)))
		}
		if l1, err := hexutil.DecodeBig(str(rc["l1Fee"])); err == nil {
			p.L1FeeGwei = gwei((*hexutil.Big)(l1))
		}
		if tx.BlockNumber != nil {
			p.Standing = e.standing(ctx, l, uint64(*tx.BlockNumber))
			switch {
			case l.Kind == "optimistic-rollup":
				p.Lifecycle, p.Next = e.lifecycle(ctx, l, h, uint64(*tx.BlockNumber), raw)
			case l.Key == "l1" && tx.To != nil && *tx.To == rollup.PortalAddress:
				p.Lifecycle = e.depositLife(ctx, raw)
			}
		}
	}
	return p, nil
}

func str(v any) string { s, _ := v.(string); return s }

// AddressPage is an address's page: its standing on every layer.
type AddressPage struct {
	Address common.Address
	Layers  []AddressOnLayer
}

// AddressOnLayer is an address on one layer.
type AddressOnLayer struct {
	Layer, LayerName string
	BalanceEth       string
	Nonce            uint64
	CodeSize         int
	Txs              []addressTx
	Contract         string   // Cairn's contract's name, or "uploaded ABI"
	Methods          []string // its ABI's methods
}

func parseAddress(s string) (common.Address, error) {
	if !common.IsHexAddress(s) || !strings.HasPrefix(s, "0x") {
		return common.Address{}, fmt.Errorf("%w: %q is not a 20-byte address in 0x-hex", errBadRequest, s)
	}
	return common.HexToAddress(s), nil
}

func (e *Explorer) address(r *http.Request) (any, error) {
	if _, err := e.layerOf(r); err != nil {
		return nil, err
	}
	a, err := parseAddress(r.PathValue("addr"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	p := &AddressPage{Address: a}
	for _, l := range e.layers {
		on := AddressOnLayer{Layer: l.Key, LayerName: l.Name}
		if bal, err := l.client.BalanceAt(ctx, a, nil); err == nil {
			on.BalanceEth = eth(bal)
		}
		on.Nonce, _ = l.client.NonceAt(ctx, a, nil)
		code, _ := l.client.CodeAt(ctx, a, nil)
		on.CodeSize = len(code)
		if name, abi := e.contractABI(l.Key, a); abi != nil {
			on.Contract, on.Methods = name, methodNames(abi)
		}
		if on.Txs, err = e.idx.addressTxs(l.Key, a, 50); err != nil {
			return nil, err
		}
		e.nameMethods(l.Key, on.Txs)
		p.Layers = append(p.Layers, on)
	}
	return p, nil
}

// search sends a query to the page it names: a block number (on the L1),
// a transaction or block hash (on the first layer that has it), or an
// address.
func (e *Explorer) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 100 {
		q = q[:100]
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	target := ""
	switch {
	case common.IsHexAddress(q) && len(q) == 42:
		target = "/" + e.layers[0].Key + "/address/" + q
	case len(q) == 66:
		h, err := parseHash(q)
		if err != nil {
			break
		}
		for _, l := range e.layers {
			var tx *rpcTransaction
			if l.rpc.CallContext(ctx, &tx, "eth_getTransactionByHash", h) == nil && tx != nil {
				target = "/" + l.Key + "/tx/" + q
				break
			}
			var b *rpcHead
			if l.rpc.CallContext(ctx, &b, "eth_getBlockByHash", h, false) == nil && b != nil {
				target = "/" + l.Key + "/block/" + q
				break
			}
		}
	default:
		if _, err := strconv.ParseUint(q, 10, 64); err == nil {
			target = "/" + e.layers[0].Key + "/block/" + q
		}
	}
	if target == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		e.tmpl.ExecuteTemplate(w, "error", map[string]any{"Status": http.StatusNotFound, "Error": fmt.Sprintf("nothing found for %q: search a block number, a block or transaction hash, or an address", q), "Layers": e.layers})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func gwei(v *hexutil.Big) string {
	if v == nil {
		return "—"
	}
	f, _ := new(big.Rat).SetFrac(v.ToInt(), big.NewInt(params.GWei)).Float64()
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func eth(v *big.Int) string {
	f, _ := new(big.Rat).SetFrac(v, big.NewInt(params.Ether)).Float64()
	return strconv.FormatFloat(f, 'f', 6, 64)
}

var funcs = template.FuncMap{
	"short": func(h common.Hash) string { s := h.Hex(); return s[:10] + "…" + s[len(s)-6:] },
	"addr": func(a *common.Address) string {
		if a == nil {
			return ""
		}
		return a.Hex()
	},
	"ethv": func(v *hexutil.Big) string {
		if v == nil {
			return "0"
		}
		return eth(v.ToInt())
	},
	"deref": func(n *hexutil.Uint64) uint64 {
		if n == nil {
			return 0
		}
		return uint64(*n)
	},
	"dec":         func(n hexutil.Uint64) uint64 { return uint64(n) },
	"nonzero":     func(h common.Hash) bool { return h != (common.Hash{}) },
	"nonzeroAddr": func(a common.Address) bool { return a != (common.Address{}) },
	"ts":          func(t time.Time) string { return t.Format("2006-01-02 15:04:05 UTC") },
}
