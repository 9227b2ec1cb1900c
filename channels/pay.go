package channels

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// Invoice asks for a payment: Amount wei to Payee, released against the
// preimage of Hash. Its text form (String, ParseInvoice) is what a user
// pastes: "cairn1" and the hex of its RLP, with a 4-byte checksum.
type Invoice struct {
	Payee   common.Address
	Amount  *big.Int
	Hash    common.Hash
	ChainID uint64 // the L1 the payee's channels settle on
	Memo    string
}

const invoicePrefix = "cairn1"

// ErrInvoice is returned for an invoice text that does not parse.
var ErrInvoice = errors.New("bad invoice")

func (inv *Invoice) String() string {
	raw, _ := rlp.EncodeToBytes(inv)
	sum := crypto.Keccak256(raw)[:4]
	return invoicePrefix + hex.EncodeToString(append(raw, sum...))
}

// ParseInvoice reads an invoice's text form.
func ParseInvoice(text string) (*Invoice, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, invoicePrefix) || len(text) > 4096 {
		return nil, fmt.Errorf("%w: want %s...", ErrInvoice, invoicePrefix)
	}
	raw, err := hex.DecodeString(text[len(invoicePrefix):])
	if err != nil || len(raw) < 5 {
		return nil, fmt.Errorf("%w: not hex", ErrInvoice)
	}
	body, sum := raw[:len(raw)-4], raw[len(raw)-4:]
	if !bytesEqual(crypto.Keccak256(body)[:4], sum) {
		return nil, fmt.Errorf("%w: checksum", ErrInvoice)
	}
	inv := new(Invoice)
	if err := rlp.DecodeBytes(body, inv); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvoice, err)
	}
	if inv.Amount == nil || inv.Amount.Sign() <= 0 {
		return nil, fmt.Errorf("%w: no amount", ErrInvoice)
	}
	return inv, nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// invoice is the payee's record of an invoice.
type invoice struct {
	Invoice  *Invoice    `json:"invoice"`
	Preimage common.Hash `json:"preimage"`
	Settled  bool        `json:"settled"`
	PaidOn   common.Hash `json:"paidOn,omitempty"` // the channel of the HTLC that paid it
}

// PaymentStatus is where an outgoing payment stands.
type PaymentStatus string

// Payment statuses.
const (
	PaymentPending   PaymentStatus = "pending"
	PaymentSucceeded PaymentStatus = "succeeded"
	PaymentFailed    PaymentStatus = "failed"
)

// payment is the payer's record of a payment.
type payment struct {
	Invoice  *Invoice      `json:"invoice"`
	Status   PaymentStatus `json:"status"`
	Preimage common.Hash   `json:"preimage,omitempty"`
	Sent     *big.Int      `json:"sent"` // amount with fees, of the current attempt
	Hops     int           `json:"hops"`
	Attempts int           `json:"attempts"`
	Reason   string        `json:"reason,omitempty"`
	Excluded []common.Hash `json:"excluded,omitempty"`
	waiters  []func(*payment)
}

// forward is a forwarder's record of an HTLC it passed on: settling the
// outgoing one settles the incoming one alike.
type forward struct {
	Hash common.Hash `json:"hash"`
	In   common.Hash `json:"in"`
	Out  common.Hash `json:"out"`
}

func (n *Node) loadPayments() error {
	if err := n.st.each("inv/", func(_ string, raw []byte) error {
		inv := new(invoice)
		if err := json.Unmarshal(raw, inv); err != nil {
			return err
		}
		n.invoices[inv.Invoice.Hash] = inv
		return nil
	}); err != nil {
		return err
	}
	if err := n.st.each("pay/", func(_ string, raw []byte) error {
		p := new(payment)
		if err := json.Unmarshal(raw, p); err != nil {
			return err
		}
		n.payments[p.Invoice.Hash] = p
		return nil
	}); err != nil {
		return err
	}
	if err := n.st.each("fwd/", func(_ string, raw []byte) error {
		f := new(forward)
		if err := json.Unmarshal(raw, f); err != nil {
			return err
		}
		n.forwards[f.Hash] = f
		return nil
	}); err != nil {
		return err
	}
	n.preimages = map[common.Hash]common.Hash{}
	if err := n.st.each("pre/", func(_ string, raw []byte) error {
		var pre common.Hash
		if err := json.Unmarshal(raw, &pre); err != nil {
			return err
		}
		n.preimages[sha256Hash(pre)] = pre
		return nil
	}); err != nil {
		return err
	}
	for _, inv := range n.invoices {
		n.preimages[inv.Invoice.Hash] = inv.Preimage
	}
	return n.st.each("tower/", func(_ string, raw []byte) error {
		t := new(Towered)
		if err := json.Unmarshal(raw, t); err != nil {
			return err
		}
		n.towered[t.State.Channel] = t
		return nil
	})
}

// resume settles what a crash left half done: HTLCs offered to this node
// that it neither forwarded nor holds the invoice of are failed back, and
// those it holds the preimage of are fulfilled again.
func (n *Node) resume() {
	for _, id := range n.sortedLinks() {
		l := n.links[id]
		if !l.usable() {
			continue
		}
		for _, h := range l.m.State().HTLCs {
			if h.FromA == (l.meta.Role == RoleA) {
				continue // offered by this node
			}
			f := n.forwards[h.PaymentHash]
			if pre, ok := n.claimable(l, h); ok {
				n.enqueue(l, Op{Kind: OpFulfil, Preimage: pre}, nil)
			} else if f == nil || f.In != l.meta.ID || !n.offered(f.Out, h.PaymentHash) {
				// Never forwarded, or its outgoing HTLC was still only in
				// memory when the node stopped: fail it back.
				if f != nil {
					n.dropForward(f)
				}
				n.enqueue(l, Op{Kind: OpFail, PaymentHash: h.PaymentHash, Reason: "the forwarder restarted"}, nil)
			}
		}
	}
}

// claimable returns the preimage of an HTLC offered to this node on l, if
// the node may claim it: one a peer fulfilled downstream or L1 revealed,
// or its own invoice's, but only for the HTLC it accepted as paying it (an
// underpaid HTLC of the same hash is failed, never claimed, so its sender
// gets no proof of payment and no L1 close out of it).
func (n *Node) claimable(l *link, h HTLC) (common.Hash, bool) {
	pre, ok := n.preimages[h.PaymentHash]
	if !ok {
		return pre, false
	}
	if inv := n.invoices[h.PaymentHash]; inv != nil {
		return pre, inv.Settled && inv.PaidOn == l.meta.ID && h.Amount.Cmp(inv.Invoice.Amount) >= 0
	}
	return pre, true
}

// offered reports whether this node's HTLC with hash is in channel id's
// newest state or in its proposal in flight.
func (n *Node) offered(id, hash common.Hash) bool {
	l := n.links[id]
	if l == nil || l.m == nil {
		return false
	}
	if findHTLC(l.m.State().HTLCs, hash) >= 0 {
		return true
	}
	if p := l.m.Record().Proposal; p != nil {
		for _, op := range p.Ops {
			if op.Kind == OpAddHTLC && op.PaymentHash == hash {
				return true
			}
		}
	}
	return false
}

// CreateInvoice makes an invoice for amount wei.
func (n *Node) CreateInvoice(amount *big.Int, memo string) (*Invoice, error) {
	if amount == nil || amount.Sign() <= 0 {
		return nil, fmt.Errorf("%w: amount must be positive", ErrInvoice)
	}
	var pre common.Hash
	if _, err := io.ReadFull(n.cfg.Rand, pre[:]); err != nil {
		return nil, err
	}
	inv := &Invoice{Payee: n.self, Amount: new(big.Int).Set(amount), Hash: sha256Hash(pre), ChainID: n.cfg.Params.L1ChainID, Memo: memo}
	err := n.doCommitted(func() {
		rec := &invoice{Invoice: inv, Preimage: pre}
		n.invoices[inv.Hash] = rec
		n.preimages[inv.Hash] = pre
		n.save("inv/"+inv.Hash.Hex(), rec)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// PayResult is a payment's outcome.
type PayResult struct {
	Hash     common.Hash   `json:"paymentHash"`
	Status   PaymentStatus `json:"status"`
	Preimage common.Hash   `json:"preimage,omitempty"`
	Amount   *big.Int      `json:"amount"`
	Fee      *big.Int      `json:"fee"`
	Hops     int           `json:"hops"`
	Attempts int           `json:"attempts"`
	Reason   string        `json:"reason,omitempty"`
}

func (p *payment) result() *PayResult {
	r := &PayResult{Hash: p.Invoice.Hash, Status: p.Status, Preimage: p.Preimage, Amount: p.Invoice.Amount,
		Fee: new(big.Int), Hops: p.Hops, Attempts: p.Attempts, Reason: p.Reason}
	if p.Sent != nil {
		r.Fee.Sub(p.Sent, p.Invoice.Amount)
	}
	return r
}

// Pay pays an invoice over the channel network and waits until it
// succeeds, fails, or ctx ends (the payment then goes on).
func (n *Node) Pay(ctx context.Context, inv *Invoice) (*PayResult, error) {
	res := make(chan *PayResult, 1)
	var err error
	if e := n.do(func() { err = n.startPayment(inv, func(p *payment) { res <- p.result() }) }); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	select {
	case r := <-res:
		if r.Status == PaymentFailed {
			return r, fmt.Errorf("%w: %s", ErrPayment, r.Reason)
		}
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("payment %s still pending: %w", inv.Hash, ctx.Err())
	}
}

func (n *Node) startPayment(inv *Invoice, done func(*payment)) error {
	if inv.ChainID != n.cfg.Params.L1ChainID {
		return fmt.Errorf("%w: for the L1 of chain %d, this node's is %d", ErrInvoice, inv.ChainID, n.cfg.Params.L1ChainID)
	}
	if inv.Payee == n.self {
		return fmt.Errorf("%w: the invoice is this node's own", ErrInvoice)
	}
	if p := n.payments[inv.Hash]; p != nil && p.Status != PaymentFailed {
		if p.Status == PaymentPending {
			p.waiters = append(p.waiters, done)
			return nil
		}
		return fmt.Errorf("%w: already paid", ErrPayment)
	}
	p := &payment{Invoice: inv, Status: PaymentPending, waiters: []func(*payment){done}}
	n.payments[inv.Hash] = p
	n.attempt(p)
	return nil
}

// finalExpiry is the expiry of the HTLC a payment offers its payee: a
// Delta and some slack past this node's L1 height, since the payee may
// have seen a few more blocks.
func (n *Node) finalExpiry() uint64 {
	d := n.cfg.Params.Delta()
	return n.height + d + d/4 + 10
}

// maxAttempts is how many routes a payment tries.
const maxAttempts = 4

// attempt sends the payment along the cheapest route not yet excluded.
func (n *Node) attempt(p *payment) {
	inv := p.Invoice
	var hops []routeHop
	var err error
	if l := n.linkWith(inv.Payee, inv.Amount); l != nil && !contains(p.Excluded, l.meta.ID) {
		hops = []routeHop{{edge: l.meta.ID, amount: inv.Amount, expiry: n.finalExpiry()}}
	} else {
		hops, err = n.graph.route(n, inv.Payee, inv.Amount, p.Excluded)
	}
	if err != nil || p.Attempts >= maxAttempts {
		if err == nil {
			err = fmt.Errorf("%d attempts failed", p.Attempts)
		}
		n.finishPayment(p, PaymentFailed, common.Hash{}, err.Error())
		return
	}
	p.Attempts++
	p.Sent, p.Hops = hops[0].amount, len(hops)
	n.save("pay/"+inv.Hash.Hex(), p)
	first := n.links[hops[0].edge]
	onward := make([]Hop, 0, len(hops)-1)
	for _, h := range hops[1:] {
		onward = append(onward, Hop{Channel: h.edge, Amount: h.amount, Expiry: h.expiry})
	}
	op := Op{Kind: OpAddHTLC, Amount: hops[0].amount, PaymentHash: inv.Hash, Expiry: hops[0].expiry, Onward: onward}
	n.enqueue(first, op, func(err error) {
		if err != nil {
			p.Reason = err.Error()
			p.Excluded = append(p.Excluded, first.meta.ID)
			n.attempt(p)
		}
	})
}

func contains(hs []common.Hash, h common.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func (n *Node) finishPayment(p *payment, status PaymentStatus, pre common.Hash, reason string) {
	p.Status, p.Preimage, p.Reason = status, pre, reason
	if status == PaymentSucceeded {
		n.stats.Payments++
	}
	n.save("pay/"+p.Invoice.Hash.Hex(), p)
	ws := p.waiters
	p.waiters = nil
	n.after = append(n.after, func() {
		for _, w := range ws {
			w(p)
		}
	})
}

// onEvent acts on what a newly signed state changed.
func (n *Node) onEvent(l *link, ev Event) {
	switch {
	case ev.Kind == OpAddHTLC && ev.Incoming:
		n.onIncomingHTLC(l, ev.Op)
	case ev.Kind == OpFulfil && ev.Incoming:
		n.learn(ev.Op.Preimage)
		n.onSettled(l, ev.Op.PaymentHash, &ev.Op.Preimage, "")
	case ev.Kind == OpFail && ev.Incoming:
		n.onSettled(l, ev.Op.PaymentHash, nil, ev.Op.Reason)
	}
}

// learn keeps a preimage, so the node can claim an HTLC on L1 if its peer
// will not countersign the fulfilment.
func (n *Node) learn(pre common.Hash) {
	h := sha256Hash(pre)
	if _, ok := n.preimages[h]; !ok {
		n.preimages[h] = pre
		n.save("pre/"+h.Hex(), pre)
	}
}

// onIncomingHTLC takes an HTLC offered to this node: the payee fulfils it
// against its invoice, a forwarder offers the next hop's, and anything
// else is failed back.
func (n *Node) onIncomingHTLC(in *link, op Op) {
	fail := func(reason string) {
		n.enqueue(in, Op{Kind: OpFail, PaymentHash: op.PaymentHash, Reason: reason}, nil)
	}
	if n.griefing {
		return // a malicious forwarder (lab): it holds the HTLC and does nothing
	}
	if len(op.Onward) == 0 {
		inv := n.invoices[op.PaymentHash]
		switch {
		case inv == nil:
			fail("unknown payment hash")
		case inv.Settled:
			fail("invoice already paid")
		case op.Amount.Cmp(inv.Invoice.Amount) < 0:
			fail(fmt.Sprintf("%s wei, the invoice asks %s", op.Amount, inv.Invoice.Amount))
		default:
			inv.Settled, inv.PaidOn = true, in.meta.ID
			n.save("inv/"+op.PaymentHash.Hex(), inv)
			n.stats.Payments++
			n.enqueue(in, Op{Kind: OpFulfil, Preimage: inv.Preimage}, nil)
		}
		return
	}
	hop := op.Onward[0]
	out := n.links[hop.Channel]
	delta := n.cfg.Params.Delta()
	if hop.Amount == nil || hop.Amount.Sign() <= 0 || hop.Amount.Cmp(op.Amount) > 0 {
		fail("bad onward amount")
		return
	}
	fee := new(big.Int).Sub(op.Amount, hop.Amount)
	want := n.ourUpdate(hop.Channel).Fee(hop.Amount)
	switch {
	case n.forwards[op.PaymentHash] != nil:
		fail("an HTLC of this payment hash is being forwarded already")
		return
	case hop.Expiry > MaxExpiry || hop.Expiry < n.height+delta:
		// The next node would refuse it, or it outlives any L1 height.
		fail(fmt.Sprintf("channel %s: onward expiry %d outside [%d, 2^48]", hop.Channel, hop.Expiry, n.height+delta))
		return
	case out == nil || !out.usable():
		fail(fmt.Sprintf("channel %s: not open", hop.Channel))
		return
	case n.peers[out.meta.Peer] == nil:
		fail(fmt.Sprintf("channel %s: peer offline", hop.Channel))
		return
	case fee.Cmp(want) < 0:
		fail(fmt.Sprintf("channel %s: fee %s, this node asks %s", hop.Channel, fee, want))
		return
	case op.Expiry < hop.Expiry+delta: // both below 2^48: no overflow
		fail(fmt.Sprintf("channel %s: expiry delta %d, this node needs %d", hop.Channel, int64(op.Expiry)-int64(hop.Expiry), delta))
		return
	}
	f := &forward{Hash: op.PaymentHash, In: in.meta.ID, Out: out.meta.ID}
	n.forwards[f.Hash] = f
	n.save("fwd/"+f.Hash.Hex(), f)
	next := Op{Kind: OpAddHTLC, Amount: hop.Amount, PaymentHash: op.PaymentHash, Expiry: hop.Expiry, Onward: op.Onward[1:]}
	n.enqueue(out, next, func(err error) {
		if err != nil {
			n.dropForward(f)
			fail(fmt.Sprintf("channel %s: %v", hop.Channel, err))
			return
		}
		n.stats.Forwarded++
	})
}

func (n *Node) dropForward(f *forward) {
	delete(n.forwards, f.Hash)
	if err := n.batch.Delete([]byte("fwd/"+f.Hash.Hex()), nil); err != nil {
		n.log.Error("Deleting a forward failed", "err", err)
	}
}

// onSettled takes the outcome of an HTLC this node offered on l: a
// forwarder settles the incoming HTLC alike, a payer ends its payment (or
// tries another route).
func (n *Node) onSettled(l *link, hash common.Hash, pre *common.Hash, reason string) {
	if f := n.forwards[hash]; f != nil && f.Out == l.meta.ID {
		n.dropForward(f)
		if in := n.links[f.In]; in != nil {
			if pre != nil {
				n.enqueue(in, Op{Kind: OpFulfil, Preimage: *pre}, nil)
			} else {
				n.enqueue(in, Op{Kind: OpFail, PaymentHash: hash, Reason: reason}, nil)
			}
		}
		return
	}
	if p := n.payments[hash]; p != nil && p.Status == PaymentPending {
		if pre != nil {
			n.finishPayment(p, PaymentSucceeded, *pre, "")
			return
		}
		p.Reason = reason
		if p.Hops > 1 {
			// Leave out the route's second channel: the first is this
			// node's own, whose failure it would have seen itself.
			if r := n.secondHop(p); r != (common.Hash{}) {
				p.Excluded = append(p.Excluded, r)
			}
		} else {
			p.Excluded = append(p.Excluded, l.meta.ID)
		}
		n.attempt(p)
	}
}

// CanRoute reports whether the node knows a route to payee for amount.
func (n *Node) CanRoute(payee common.Address, amount *big.Int) (ok bool) {
	_ = n.do(func() {
		_, err := n.graph.route(n, payee, amount, nil)
		ok = err == nil
	})
	return ok
}

// HoldForwards makes the node a griefing forwarder: it takes HTLCs offered
// to it and neither forwards, fulfils nor fails them. For the lab's
// attacks only.
func (n *Node) HoldForwards(on bool) { _ = n.do(func() { n.griefing = on }) }

func (n *Node) secondHop(p *payment) common.Hash {
	hops, err := n.graph.route(n, p.Invoice.Payee, p.Invoice.Amount, p.Excluded)
	if err != nil || len(hops) < 2 {
		return common.Hash{}
	}
	return hops[1].edge
}

// onPreimage takes a preimage revealed on L1: a forwarder whose outgoing
// HTLC the payee claimed on L1 claims the incoming one.
func (n *Node) onPreimage(pre common.Hash) {
	hash := sha256Hash(pre)
	n.learn(pre)
	n.revealed[hash] = true
	if f := n.forwards[hash]; f != nil {
		if out := n.links[f.Out]; out != nil {
			n.onSettled(out, hash, &pre, "")
		}
	}
	if p := n.payments[hash]; p != nil && p.Status == PaymentPending {
		n.finishPayment(p, PaymentSucceeded, pre, "")
	}
}

// revealMargin is how many L1 blocks before an HTLC's expiry a node that
// holds its preimage, and whose peer has not countersigned the
// fulfilment, reveals it on L1 and closes the channel.
const revealMargin = 20

// checkExpiries goes to L1 where the peer will not settle off-chain: an
// HTLC this node offered that expired unsettled closes its channel (the
// amount returns by timeout); an HTLC offered to it whose preimage it
// holds is claimed on L1 before its expiry; a disputed channel past its
// window is concluded, and a concluded one's HTLCs settled.
func (n *Node) checkExpiries() {
	for _, id := range n.sortedLinks() {
		l := n.links[id]
		if l.m == nil {
			continue
		}
		mine := l.meta.Role == RoleA
		switch l.meta.Status {
		case StatusOpen:
			for _, h := range l.m.State().HTLCs {
				pre, known := n.claimable(l, h)
				switch {
				case h.FromA == mine && n.height > h.Expiry && !n.revealed[h.PaymentHash]:
					// The peer can no longer claim it (a preimage counts on
					// L1 only by the expiry), and this node countersigns
					// nothing more on a closing channel: the HTLC is failed
					// upstream now, and comes back by timeout on L1.
					n.forceClose(l, "an HTLC expired unsettled")
					if key := "expired/" + h.PaymentHash.Hex(); !l.sent[key] {
						l.sent[key] = true
						n.onSettled(l, h.PaymentHash, nil, "the HTLC expired; it returns on L1 by timeout")
					}
				case h.FromA != mine && known && n.height+revealMargin >= h.Expiry:
					n.reveal(l, pre)
					n.forceClose(l, "the peer did not take an HTLC's preimage")
				}
			}
		case StatusDisputed:
			if n.height > l.meta.Deadline && !l.sent["conclude"] {
				l.sent["conclude"] = true
				n.queueL1("conclude "+id.Hex(), func(ctx context.Context) (*types.Transaction, error) {
					return n.l1.Conclude(ctx, id)
				})
			}
			if reg := n.registeredState(l); reg != nil {
				for _, h := range reg.HTLCs {
					if pre, known := n.claimable(l, h); known && h.FromA != mine {
						n.reveal(l, pre)
					}
				}
			}
		case StatusClosed:
			s := n.registeredState(l)
			if s == nil || l.sent["penalized"] {
				continue
			}
			for i, h := range s.HTLCs {
				key := fmt.Sprintf("settle/%d", i)
				if l.sent[key] {
					continue
				}
				toMe := h.FromA != mine && n.revealed[h.PaymentHash]
				back := h.FromA == mine && n.height > h.Expiry
				if toMe || back {
					l.sent[key] = true
					i := i
					n.queueL1("settle "+id.Hex(), func(ctx context.Context) (*types.Transaction, error) {
						return n.l1.SettleHTLC(ctx, id, i)
					})
				}
				if back {
					if key := "expired/" + h.PaymentHash.Hex(); !l.sent[key] {
						l.sent[key] = true
						n.onSettled(l, h.PaymentHash, nil, "the HTLC expired; it returned on L1 by timeout")
					}
				}
			}
		}
	}
}

func (n *Node) reveal(l *link, pre common.Hash) {
	key := "reveal/" + pre.Hex()
	if l.sent[key] || n.revealed[sha256Hash(pre)] {
		return
	}
	l.sent[key] = true
	n.queueL1("reveal", func(ctx context.Context) (*types.Transaction, error) {
		return n.l1.RevealSecret(ctx, pre)
	})
}
