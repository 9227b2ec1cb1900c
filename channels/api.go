package channels

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// l1Do runs an L1 transaction of the node's account in order with its
// others and waits for its receipt.
func (n *Node) l1Do(ctx context.Context, f func(context.Context) (*types.Transaction, error)) (*types.Receipt, error) {
	type result struct {
		r   *types.Receipt
		err error
	}
	res := make(chan result, 1)
	job := func(c context.Context) {
		tx, err := f(c)
		if err != nil {
			res <- result{nil, err}
			return
		}
		r, err := ethtx.WaitReceipt(c, n.cfg.L1, tx.Hash())
		if err == nil && r.Status != types.ReceiptStatusSuccessful {
			err = fmt.Errorf("%w: %s", ethtx.ErrReverted, tx.Hash())
		}
		res <- result{r, err}
	}
	select {
	case n.l1q <- job:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.quit:
		return nil, ErrStopped
	}
	select {
	case r := <-res:
		return r.r, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Open connects to the peer at uri and opens a channel to it funded with
// wei; the channel is usable once the peer's deposit lands (it makes one
// at once, of what its node is configured to put in).
func (n *Node) Open(ctx context.Context, uri string, wei *big.Int) (common.Hash, error) {
	peer, err := n.Connect(uri)
	if err != nil {
		return common.Hash{}, err
	}
	r, err := n.l1Do(ctx, func(c context.Context) (*types.Transaction, error) { return n.l1.Open(c, peer, wei) })
	if err != nil {
		return common.Hash{}, err
	}
	return OpenedID(r)
}

// await runs start on the loop, handing it a done to call (from the loop,
// at once or when an op lands) with the outcome, and waits for it.
func (n *Node) await(ctx context.Context, start func(done func(error))) error {
	res := make(chan error, 1)
	if err := n.do(func() { start(func(err error) { res <- err }) }); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send pays wei straight to a peer over their channel (no HTLC), and
// returns once the new state is signed by both and on this node's disk.
func (n *Node) Send(ctx context.Context, peer common.Address, wei *big.Int) error {
	return n.await(ctx, func(done func(error)) {
		l := n.linkWith(peer, wei)
		if l == nil {
			done(fmt.Errorf("%w: %s (or too little to spend)", ErrNoLink, peer))
			return
		}
		n.enqueue(l, Op{Kind: OpPay, Amount: new(big.Int).Set(wei)}, done)
	})
}

// Close closes a channel: cooperatively (a final state both sign, paid at
// once), or with force, registering the newest state on L1 to be paid
// after the dispute window.
func (n *Node) Close(ctx context.Context, id common.Hash, force bool) error {
	return n.await(ctx, func(done func(error)) {
		l := n.links[id]
		switch {
		case l == nil || l.m == nil:
			done(fmt.Errorf("%w: %s", ErrNoChannel, id))
		case force && l.meta.Status != StatusOpen:
			done(fmt.Errorf("%w: channel is %s", ErrStatus, l.meta.Status))
		case force:
			n.forceClose(l, "asked to")
			done(nil)
		default:
			n.enqueue(l, Op{Kind: OpClose}, done)
		}
	})
}

// ChannelInfo is a channel as its node reports it.
type ChannelInfo struct {
	ID       common.Hash    `json:"id"`
	Peer     common.Address `json:"peer"`
	Role     string         `json:"role"`
	Status   string         `json:"status"`
	Version  hexutil.Uint64 `json:"version"`
	Local    *hexutil.Big   `json:"local"`  // this node's balance, wei
	Remote   *hexutil.Big   `json:"remote"` // the peer's
	HTLCs    int            `json:"htlcs"`
	Online   bool           `json:"online"`
	Capacity *hexutil.Big   `json:"capacity"`
}

// Channels lists the node's channels.
func (n *Node) Channels() (out []ChannelInfo) {
	_ = n.do(func() {
		for _, id := range n.sortedLinks() {
			l := n.links[id]
			ci := ChannelInfo{ID: id, Peer: l.meta.Peer, Role: l.meta.Role.String(), Status: l.meta.Status.String(),
				Online: n.peers[l.meta.Peer] != nil, Local: (*hexutil.Big)(new(big.Int)), Remote: (*hexutil.Big)(new(big.Int)),
				Capacity: (*hexutil.Big)(new(big.Int))}
			if l.meta.Closing && l.meta.Status == StatusOpen {
				ci.Status = "closing"
			}
			if l.m != nil {
				s := l.m.State()
				local, remote := s.BalanceA, s.BalanceB
				if l.meta.Role == RoleB {
					local, remote = remote, local
				}
				ci.Version, ci.Local, ci.Remote, ci.HTLCs = hexutil.Uint64(s.Version), (*hexutil.Big)(new(big.Int).Set(local)),
					(*hexutil.Big)(new(big.Int).Set(remote)), len(s.HTLCs)
				ci.Capacity = (*hexutil.Big)(s.Total())
			}
			out = append(out, ci)
		}
	})
	return out
}

// API is a channel node's ch_ JSON-RPC namespace.
type API struct{ n *Node }

// NewAPI returns the node's ch_ namespace.
func NewAPI(n *Node) *API { return &API{n} }

// InfoResult is ch_info's answer.
type InfoResult struct {
	Address     common.Address `json:"address"`
	URI         string         `json:"uri"`
	Adjudicator common.Address `json:"adjudicator"`
	L1ChainID   hexutil.Uint64 `json:"l1ChainId"`
	Height      hexutil.Uint64 `json:"l1Height"`
	Stats       Stats          `json:"stats"`
}

// Info is ch_info: who the node is and what it did.
func (a *API) Info() InfoResult {
	var h uint64
	_ = a.n.do(func() { h = a.n.height })
	return InfoResult{Address: a.n.self, URI: a.n.URI(), Adjudicator: AdjudicatorAddress,
		L1ChainID: hexutil.Uint64(a.n.cfg.Params.L1ChainID), Height: hexutil.Uint64(h), Stats: a.n.Stats()}
}

// Open is ch_open: open a channel to the peer at uri with wei.
func (a *API) Open(ctx context.Context, uri string, wei *hexutil.Big) (common.Hash, error) {
	return a.n.Open(ctx, uri, (*big.Int)(wei))
}

// Connect is ch_connect: connect to a peer.
func (a *API) Connect(uri string) (common.Address, error) { return a.n.Connect(uri) }

// List is ch_list: the node's channels.
func (a *API) List() []ChannelInfo { return a.n.Channels() }

// BalanceResult is ch_balance's answer, wei.
type BalanceResult struct {
	Local   *hexutil.Big `json:"local"`
	Remote  *hexutil.Big `json:"remote"`
	Pending *hexutil.Big `json:"pending"` // in HTLCs
}

// Balance is ch_balance: the node's balance over its open channels.
func (a *API) Balance() BalanceResult {
	local, remote, pending := new(big.Int), new(big.Int), new(big.Int)
	for _, c := range a.n.Channels() {
		if c.Status != StatusOpen.String() {
			continue
		}
		local.Add(local, (*big.Int)(c.Local))
		remote.Add(remote, (*big.Int)(c.Remote))
		pending.Add(pending, new(big.Int).Sub((*big.Int)(c.Capacity), new(big.Int).Add((*big.Int)(c.Local), (*big.Int)(c.Remote))))
	}
	return BalanceResult{(*hexutil.Big)(local), (*hexutil.Big)(remote), (*hexutil.Big)(pending)}
}

// InvoiceResult is ch_invoice's answer.
type InvoiceResult struct {
	Invoice string       `json:"invoice"`
	Hash    common.Hash  `json:"paymentHash"`
	Amount  *hexutil.Big `json:"amount"`
}

// Invoice is ch_invoice: an invoice for wei.
func (a *API) Invoice(wei *hexutil.Big, memo *string) (*InvoiceResult, error) {
	m := ""
	if memo != nil {
		m = *memo
	}
	inv, err := a.n.CreateInvoice((*big.Int)(wei), m)
	if err != nil {
		return nil, err
	}
	return &InvoiceResult{Invoice: inv.String(), Hash: inv.Hash, Amount: (*hexutil.Big)(inv.Amount)}, nil
}

// Pay is ch_pay: pay an invoice, waiting for the outcome.
func (a *API) Pay(ctx context.Context, text string) (*PayResult, error) {
	inv, err := ParseInvoice(text)
	if err != nil {
		return nil, err
	}
	return a.n.Pay(ctx, inv)
}

// Send is ch_send: pay wei straight to a peer.
func (a *API) Send(ctx context.Context, peer common.Address, wei *hexutil.Big) error {
	return a.n.Send(ctx, peer, (*big.Int)(wei))
}

// Close is ch_close: close a channel, with force or not.
func (a *API) Close(ctx context.Context, id common.Hash, force *bool) error {
	return a.n.Close(ctx, id, force != nil && *force)
}
