package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// chanMeta is what a node keeps of a channel beside its states.
type chanMeta struct {
	ID       common.Hash    `json:"id"`
	Role     Role           `json:"role"`
	Peer     common.Address `json:"peer"`
	DepositA *big.Int       `json:"depositA"`
	DepositB *big.Int       `json:"depositB"`
	Status   Status         `json:"status"`
	// Closing is set once a close began (cooperative or not): the node
	// proposes nothing more on it.
	Closing bool `json:"closing,omitempty"`
	// Deadline is the last L1 block of a unilateral close's window.
	Deadline uint64 `json:"deadline,omitempty"`
	// Registered is the version the adjudicator holds once a unilateral
	// close began.
	Registered uint64 `json:"registered,omitempty"`
}

// queued is an op waiting to be proposed, with what to do when it lands
// in a state signed by both or cannot.
type queued struct {
	op   Op
	done func(error)
}

// link is one of the node's channels.
type link struct {
	meta     chanMeta
	m        *Machine // nil until the channel is open
	queue    []queued
	inflight []queued // ops of this node's proposal in flight
	sent     map[string]bool
}

func recKey(id common.Hash) string  { return "rec/" + id.Hex() }
func metaKey(id common.Hash) string { return "meta/" + id.Hex() }

// load resumes the node's channels, invoices, payments and forwards.
func (n *Node) load() error {
	err := n.st.each("meta/", func(_ string, raw []byte) error {
		var meta chanMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			return err
		}
		l := &link{meta: meta, sent: map[string]bool{}}
		if meta.Status >= StatusOpen {
			var rec Record
			if ok, err := n.st.get(recKey(meta.ID), &rec); err != nil || !ok {
				return fmt.Errorf("channels: channel %s has no record (%v)", meta.ID, err)
			}
			l.m = NewMachine(n.cfg.Params.Domain(), n.cfg.Key, meta.Peer, rec, n.limits())
		}
		n.links[meta.ID] = l
		return nil
	})
	if err != nil {
		return err
	}
	if err := n.st.each("peer/", func(key string, raw []byte) error {
		var uri string
		if err := json.Unmarshal(raw, &uri); err != nil {
			return err
		}
		n.uris[common.HexToAddress(strings.TrimPrefix(key, "peer/"))] = uri
		return nil
	}); err != nil {
		return err
	}
	_, _ = n.st.get("l1/next", &n.l1Next)
	if n.l1Next > 0 {
		// Until the first L1 read, the height is the last one acted on,
		// not 0: an HTLC offered meanwhile is checked against it.
		n.height = n.l1Next - 1
	}
	_, _ = n.st.get("announce/seq", &n.seq)
	return n.loadPayments()
}

// maxRouteHops bounds the hops of a route this node pays over, and so the
// expiry it accepts on an HTLC offered to it.
const maxRouteHops = 20

func (n *Node) limits() Limits {
	return Limits{Height: n.height, MinExpiryDelta: n.cfg.Params.Delta(), MaxExpiryDelta: maxRouteHops * n.cfg.Params.Delta()}
}

func (n *Node) saveMeta(l *link) { n.save(metaKey(l.meta.ID), l.meta) }

// linkWith returns the open channel with peer that can pay amount, the one
// with the most to spend.
func (n *Node) linkWith(peer common.Address, amount *big.Int) *link {
	var best *link
	for _, id := range n.sortedLinks() {
		l := n.links[id]
		if l.meta.Peer != peer || !l.usable() {
			continue
		}
		if best == nil || l.spendable().Cmp(best.spendable()) > 0 {
			best = l
		}
	}
	if best == nil || (amount != nil && best.spendable().Cmp(amount) < 0) {
		return nil
	}
	return best
}

func (n *Node) sortedLinks() []common.Hash {
	ids := make([]common.Hash, 0, len(n.links))
	for id := range n.links {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b common.Hash) int { return a.Cmp(b) })
	return ids
}

func (l *link) usable() bool { return l.m != nil && l.meta.Status == StatusOpen && !l.meta.Closing }

// spendable is this node's balance in the newest state.
func (l *link) spendable() *big.Int {
	if l.m == nil {
		return new(big.Int)
	}
	s := l.m.State()
	if l.meta.Role == RoleA {
		return new(big.Int).Set(s.BalanceA)
	}
	return new(big.Int).Set(s.BalanceB)
}

// enqueue adds an op to a channel's queue.
func (n *Node) enqueue(l *link, op Op, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if !l.usable() {
		done(fmt.Errorf("%w: channel %s is not open", ErrNoLink, l.meta.ID))
		return
	}
	l.queue = append(l.queue, queued{op, done})
}

// maxOpsPerUpdate bounds one update's ops (its HTLCs are bounded by
// MaxHTLCs anyway).
const maxOpsPerUpdate = 256

// proposeAll proposes the queued ops of every idle channel whose peer is
// connected. An op the state cannot take (the balance ran short, too many
// HTLCs) is answered with its error and left out.
func (n *Node) proposeAll() {
	for _, id := range n.sortedLinks() {
		l := n.links[id]
		if len(l.queue) == 0 || l.m == nil || !l.m.Idle() || n.peers[l.meta.Peer] == nil || l.meta.Closing {
			continue
		}
		take := l.queue[:min(len(l.queue), maxOpsPerUpdate)]
		cur := l.m.State()
		var ops []Op
		var keep []queued
		used := 0
		for _, q := range take {
			if q.op.Kind == OpAddHTLC && len(cur.HTLCs) >= MaxHTLCs {
				break // the state is full of HTLCs: the rest waits for some to settle
			}
			used++
			next, err := Apply(cur, l.meta.Role, []Op{q.op}, nil)
			if err != nil {
				q := q
				n.after = append(n.after, func() { q.done(err) })
				continue
			}
			cur = next
			ops = append(ops, q.op)
			keep = append(keep, q)
		}
		l.queue = l.queue[used:]
		if len(ops) == 0 {
			continue
		}
		r, err := l.m.Propose(ops)
		if err != nil {
			for _, q := range keep {
				q := q
				n.after = append(n.after, func() { q.done(err) })
			}
			continue
		}
		l.inflight = keep
		n.apply(l, r)
	}
}

// apply does what a machine's Ready asks: save, then (after the commit)
// send, and act on the events.
func (n *Node) apply(l *link, r Ready) {
	if r.Save != nil {
		n.save(recKey(l.meta.ID), r.Save)
	}
	if len(r.Send) > 0 {
		if p := n.peers[l.meta.Peer]; p != nil {
			frames := make([][]byte, 0, len(r.Send))
			for _, msg := range r.Send {
				if n.withhold != nil && n.withhold(msg) {
					continue
				}
				raw, err := EncodeMessage(msg)
				if err != nil {
					n.log.Error("Encoding a peer message failed", "err", err)
					continue
				}
				frames = append(frames, raw)
			}
			n.after = append(n.after, func() {
				for _, f := range frames {
					p.send(codeChannel, f)
				}
			})
		}
	}
	if len(r.Requeue) > 0 {
		back := l.inflight
		l.inflight = nil
		l.queue = append(back, l.queue...)
	}
	if len(r.Refused) > 0 {
		refused := l.inflight
		l.inflight = nil
		n.after = append(n.after, func() {
			for _, q := range refused {
				q.done(fmt.Errorf("%w: the peer refused the update", ErrBadUpdate))
			}
		})
	}
	for _, pre := range r.Learned {
		// Signed away to the peer: claim upstream at once.
		n.learn(pre)
		n.onSettled(l, sha256Hash(pre), &pre, "")
	}
	if len(r.Events) > 0 {
		n.stats.Updates++
		// An update of this node's own completed when its proposal is gone.
		if l.m.Record().Proposal == nil && len(l.inflight) > 0 {
			done := l.inflight
			l.inflight = nil
			n.after = append(n.after, func() {
				for _, q := range done {
					q.done(nil)
				}
			})
		}
		for _, ev := range r.Events {
			n.onEvent(l, ev)
		}
	}
	if r.Final && l.m.Record().Proposal == nil && len(r.Send) > 0 {
		// This node proposed the close (it sends the confirmation): it
		// sends the final state to the adjudicator.
		n.closeOnL1(l)
	}
}

// closeOnL1 sends a final state both signed to the adjudicator.
func (n *Node) closeOnL1(l *link) {
	rec := l.m.Record()
	s, sigA, sigB := rec.Full.Copy(), rec.SigA, rec.SigB
	l.meta.Closing = true
	n.saveMeta(l)
	n.queueL1("close "+l.meta.ID.Hex(), func(ctx context.Context) (*types.Transaction, error) {
		return n.l1.Close(ctx, s, sigA, sigB)
	})
}

// forceClose registers the newest state on L1.
func (n *Node) forceClose(l *link, why string) {
	if l.m == nil || l.meta.Status != StatusOpen || l.sent["force"] {
		return
	}
	l.sent["force"] = true
	l.meta.Closing = true
	n.saveMeta(l)
	n.failQueue(l, errors.New("channel closing on L1"))
	rec := l.m.Record()
	s, sigA, sigB := rec.Full.Copy(), rec.SigA, rec.SigB
	if s.Version == 0 {
		sigA, sigB = nil, nil
	}
	n.log.Info("Closing a channel on L1", "channel", l.meta.ID, "version", s.Version, "why", why)
	n.queueL1("forceClose "+l.meta.ID.Hex(), func(ctx context.Context) (*types.Transaction, error) {
		return n.l1.ForceClose(ctx, s, sigA, sigB)
	})
}

// queueL1 sends an L1 transaction from the node's account, in order with
// its others, and logs a failure.
func (n *Node) queueL1(what string, f func(context.Context) (*types.Transaction, error)) {
	n.queueL1Then(what, f, nil)
}

// queueL1Then is queueL1 with then run on the loop with the outcome (nil
// once the transaction succeeded on L1).
func (n *Node) queueL1Then(what string, f func(context.Context) (*types.Transaction, error), then func(error)) {
	n.after = append(n.after, func() {
		job := func(ctx context.Context) {
			tx, err := f(ctx)
			if err == nil {
				var r *types.Receipt
				if r, err = ethtx.WaitReceipt(ctx, n.cfg.L1, tx.Hash()); err == nil && r.Status != types.ReceiptStatusSuccessful {
					err = fmt.Errorf("%w: %s", ethtx.ErrReverted, tx.Hash())
				}
			}
			if err != nil && ctx.Err() == nil {
				n.log.Warn("L1 transaction failed", "what", what, "err", err)
			}
			if then != nil {
				n.post(func() { then(err) })
			}
		}
		select {
		case n.l1q <- job:
		default:
			n.log.Error("L1 queue full", "what", what)
			if then != nil {
				then(errors.New("L1 queue full"))
			}
		}
	})
}

func (n *Node) sendL1() {
	defer n.wg.Done()
	for {
		select {
		case f := <-n.l1q:
			ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
			f(ctx)
			cancel()
		case <-n.quit:
			return
		}
	}
}

// ---- peers ----

func (n *Node) accept() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			rc, pub, err := handshake(c, n.cfg.Key, nil)
			if err != nil {
				n.log.Debug("Peer handshake failed", "err", err)
				return
			}
			n.post(func() { n.connected(&peerConn{addr: crypto.PubkeyToAddress(*pub), conn: rc}) })
		}()
	}
}

// Connect dials a peer at its URI and remembers it.
func (n *Node) Connect(uri string) (common.Address, error) {
	pub, _, err := ParseNodeURI(uri)
	if err != nil {
		return common.Address{}, err
	}
	addr := crypto.PubkeyToAddress(*pub)
	if err := n.doCommitted(func() {
		n.uris[addr] = uri
		n.save("peer/"+addr.Hex(), uri)
	}); err != nil {
		return addr, err
	}
	return addr, n.dial(uri)
}

func (n *Node) dial(uri string) error {
	pub, hostport, err := ParseNodeURI(uri)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", hostport, handshakeTimeout)
	if err != nil {
		return fmt.Errorf("channels: dial %s: %w", hostport, err)
	}
	rc, _, err := handshake(c, n.cfg.Key, pub)
	if err != nil {
		return err
	}
	n.post(func() { n.connected(&peerConn{addr: crypto.PubkeyToAddress(*pub), conn: rc, dialed: true}) })
	return nil
}

// redial connects to known peers of open channels that are not connected.
func (n *Node) redial() {
	want := map[common.Address]bool{}
	for _, l := range n.links {
		if l.meta.Status <= StatusOpen {
			want[l.meta.Peer] = true
		}
	}
	for addr := range want {
		if n.peers[addr] == nil && n.uris[addr] != "" {
			uri := n.uris[addr]
			go func() { _ = n.dial(uri) }()
		}
	}
}

// connected registers a new connection. When both nodes dial at once, the
// connection dialed by the lower address stays on both sides.
func (n *Node) connected(p *peerConn) {
	p.out, p.done, p.synced, p.early = make(chan outFrame, 8192), make(chan struct{}), map[common.Hash]bool{}, map[common.Hash]*Message{}
	if old := n.peers[p.addr]; old != nil {
		// The same side dialing again means it lost the old connection
		// (a restart): the new one replaces it. Both sides dialing at
		// once keep the one the lower address dialed.
		lowerDialed := func(c *peerConn) bool { return c.dialed == (n.self.Cmp(p.addr) < 0) }
		if old.dialed != p.dialed && (lowerDialed(old) || !lowerDialed(p)) {
			n.log.Debug("Duplicate connection refused", "peer", p.addr, "dialed", p.dialed)
			p.conn.Close()
			return
		}
		n.log.Debug("Duplicate connection replaces the old", "peer", p.addr, "dialed", p.dialed)
		n.dropPeer(old)
	}
	n.peers[p.addr] = p
	go p.writeLoop()
	go n.readLoop(p)
	for _, id := range n.sortedLinks() {
		l := n.links[id]
		if l.meta.Peer == p.addr && l.m != nil {
			n.sendSync(p, l)
		}
	}
	for _, u := range n.graph.updates() {
		raw, _ := encodeUpdate(u)
		p.send(codeUpdate, raw)
	}
	n.log.Debug("Peer connected", "peer", p.addr, "dialed", p.dialed)
}

func (n *Node) step(p *peerConn, l *link, msg *Message) {
	if l.meta.Closing && msg.Type == MsgPropose {
		n.bad(p, fmt.Errorf("%w: proposal on a closing channel", ErrProtocol))
		return
	}
	l.m.Limits = n.limits()
	r, err := l.m.Step(msg)
	if err != nil {
		n.bad(p, err)
		if len(r.Send) == 0 {
			return
		}
	}
	n.apply(l, r) // a refused proposal is answered with a reject
}

// sendSync opens the channel's resynchronisation on connection p (it is
// sent at once, not after the round's commit: it carries no signature),
// and takes the peer's if it came first.
func (n *Node) sendSync(p *peerConn, l *link) {
	n.log.Debug("Sync sent", "channel", l.meta.ID, "peer", p.addr, "early", p.early[l.meta.ID] != nil)
	p.synced[l.meta.ID] = true
	raw, _ := EncodeMessage(l.m.Sync())
	p.send(codeChannel, raw)
	if msg := p.early[l.meta.ID]; msg != nil {
		delete(p.early, l.meta.ID)
		n.step(p, l, msg)
	}
}

func (n *Node) dropPeer(p *peerConn) {
	if n.peers[p.addr] == p {
		delete(n.peers, p.addr)
	}
	p.conn.Close()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

func (n *Node) readLoop(p *peerConn) {
	for {
		code, data, _, err := p.conn.Read()
		if err != nil {
			n.post(func() { n.dropPeer(p) })
			return
		}
		if len(data) > MaxMessageSize {
			n.post(func() { n.stats.BadMessages++; n.dropPeer(p) })
			return
		}
		data = append([]byte(nil), data...) // RLPx reuses its read buffer
		n.post(func() { n.onFrame(p, code, data) })
	}
}

// onFrame takes one message from a peer. A message that does not decode,
// names a channel the peer is not in, or breaks the protocol is counted
// and dropped; it changes nothing.
func (n *Node) onFrame(p *peerConn, code uint64, data []byte) {
	if n.peers[p.addr] != p {
		return // from a connection that was replaced
	}
	switch code {
	case codeChannel:
		msg, err := DecodeMessage(data)
		if err != nil {
			n.bad(p, err)
			return
		}
		l := n.links[msg.Channel]
		if l == nil || l.m == nil || l.meta.Peer != p.addr {
			if msg.Type == MsgSync && len(p.early) < 64 {
				p.early[msg.Channel] = msg // the peer saw the funding first
				return
			}
			n.bad(p, fmt.Errorf("%w: message for channel %s", ErrProtocol, msg.Channel))
			return
		}
		n.step(p, l, msg)
	case codeUpdate:
		u, err := decodeUpdate(data)
		if err != nil {
			n.bad(p, err)
			return
		}
		if n.graph.addUpdate(u) {
			for _, q := range n.peers {
				if q != p {
					q.send(codeUpdate, data)
				}
			}
		}
	default:
		n.bad(p, fmt.Errorf("%w: code %d", ErrWire, code))
	}
}

// flood passes updates on to every peer, after the round's commit.
func (n *Node) flood(us []*ChannelUpdate) {
	if len(us) == 0 {
		return
	}
	peers := make([]*peerConn, 0, len(n.peers))
	for _, p := range n.peers {
		peers = append(peers, p)
	}
	var frames [][]byte
	for _, u := range us {
		if raw, err := encodeUpdate(u); err == nil {
			frames = append(frames, raw)
		}
	}
	n.after = append(n.after, func() {
		for _, p := range peers {
			for _, f := range frames {
				p.send(codeUpdate, f)
			}
		}
	})
}

func (n *Node) bad(p *peerConn, err error) {
	n.stats.BadMessages++
	n.log.Debug("Dropped a peer message", "peer", p.addr, "err", err)
}

// ---- L1 ----

var (
	evOpened     = AdjudicatorABI.Events["ChannelOpened"]
	evFunded     = AdjudicatorABI.Events["ChannelFunded"]
	evClosed     = AdjudicatorABI.Events["ChannelClosed"]
	evDisputed   = AdjudicatorABI.Events["ChannelDisputed"]
	evChallenged = AdjudicatorABI.Events["ChannelChallenged"]
	evConcluded  = AdjudicatorABI.Events["ChannelConcluded"]
	evRevealed   = AdjudicatorABI.Events["SecretRevealed"]
)

// watchL1 reads the adjudicator's logs and the L1 head, and hands them to
// the loop.
func (n *Node) watchL1() {
	defer n.wg.Done()
	// The graph is every node's, so the logs are read from the start at
	// each start; the node's own channels act only on blocks past l1Next.
	var from uint64
	t := time.NewTicker(n.cfg.Poll)
	defer t.Stop()
	for {
		head, err := n.cfg.L1.HeaderByNumber(n.ctx, nil)
		if err == nil && head.Number.Uint64() >= from {
			to := head.Number.Uint64()
			logs, err := n.cfg.L1.FilterLogs(n.ctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from),
				ToBlock: new(big.Int).SetUint64(to), Addresses: []common.Address{AdjudicatorAddress}})
			if err == nil {
				done := make(chan struct{})
				n.post(func() { n.onL1(to, logs); close(done) })
				select {
				case <-done:
				case <-n.quit:
					return
				}
				from = to + 1
			}
		}
		select {
		case <-t.C:
		case <-n.quit:
			return
		}
	}
}

// onL1 takes the adjudicator's logs up to L1 block height.
func (n *Node) onL1(height uint64, logs []types.Log) {
	for _, lg := range logs {
		if len(lg.Topics) == 0 || lg.Removed {
			continue
		}
		n.onLog(lg)
	}
	n.height = height
	if height+1 > n.l1Next {
		n.l1Next = height + 1
		n.save("l1/next", n.l1Next)
	}
	for _, l := range n.links {
		if l.m != nil {
			l.m.Limits = n.limits()
		}
	}
	n.answerDisputes()
	n.checkExpiries()
}

func (n *Node) onLog(lg types.Log) {
	id := common.Hash{}
	if len(lg.Topics) > 1 {
		id = lg.Topics[1]
	}
	fresh := lg.BlockNumber >= n.l1Next
	switch lg.Topics[0] {
	case evOpened.ID:
		if len(lg.Topics) < 4 {
			return
		}
		a, b := common.BytesToAddress(lg.Topics[2].Bytes()), common.BytesToAddress(lg.Topics[3].Bytes())
		v, err := evOpened.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			return
		}
		dep := v[0].(*big.Int)
		n.graph.opened(id, a, b, dep)
		if !fresh || (a != n.self && b != n.self) {
			return
		}
		l := n.links[id]
		if l == nil {
			l = &link{sent: map[string]bool{}}
			n.links[id] = l
		}
		l.meta.ID, l.meta.DepositA, l.meta.Status = id, dep, StatusOpening
		if a == n.self {
			l.meta.Role, l.meta.Peer = RoleA, b
		} else {
			l.meta.Role, l.meta.Peer = RoleB, a
			// Match the opener's deposit up to Config.Deposit, so opening
			// channels of 1 wei cannot lock this node's L1 funds.
			deposit := new(big.Int)
			if n.cfg.Deposit != nil {
				deposit.Set(n.cfg.Deposit)
			}
			if deposit.Cmp(dep) > 0 {
				deposit.Set(dep)
			}
			n.queueL1("fund "+id.Hex(), func(ctx context.Context) (*types.Transaction, error) {
				return n.l1.Fund(ctx, id, deposit)
			})
		}
		n.saveMeta(l)
	case evFunded.ID:
		v, err := evFunded.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			return
		}
		dep := v[0].(*big.Int)
		n.flood(n.graph.funded(id, dep))
		l := n.links[id]
		if !fresh || l == nil || l.meta.Status != StatusOpening {
			return
		}
		l.meta.DepositB, l.meta.Status = dep, StatusOpen
		rec := OpeningRecord(id, l.meta.Role, OnChain{DepositA: l.meta.DepositA, DepositB: dep})
		l.m = NewMachine(n.cfg.Params.Domain(), n.cfg.Key, l.meta.Peer, rec, n.limits())
		n.save(recKey(id), rec)
		n.saveMeta(l)
		n.announce(l)
		if p := n.peers[l.meta.Peer]; p != nil {
			n.sendSync(p, l)
		}
		n.log.Info("Channel open", "channel", id, "peer", l.meta.Peer, "depositA", l.meta.DepositA, "depositB", dep)
	case evDisputed.ID:
		n.graph.closed(id)
		v, err := evDisputed.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil || len(lg.Topics) < 3 {
			return
		}
		// Every start reads the logs from block 0, so the disputes are
		// known again after a restart and answered while their window
		// lasts (answerDisputes), whether or not the node saw them before.
		n.disputes[id] = &dispute{closer: common.BytesToAddress(lg.Topics[2].Bytes()), registered: v[0].(uint64), deadline: v[1].(uint64)}
		if !fresh {
			return
		}
		if l := n.links[id]; l != nil {
			l.meta.Deadline, l.meta.Registered = v[1].(uint64), v[0].(uint64)
		}
		n.onDisputed(id)
	case evChallenged.ID:
		v, err := evChallenged.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			return
		}
		if d := n.disputes[id]; d != nil {
			d.registered = max(d.registered, v[0].(uint64))
			d.over = d.over || v[1].(bool)
		}
		if !fresh {
			return
		}
		if l := n.links[id]; l != nil {
			l.meta.Status, l.meta.Registered = StatusDisputed, v[0].(uint64)
			if v[1].(bool) {
				l.meta.Status = StatusClosed
				l.sent["penalized"] = true
			}
			n.saveMeta(l)
		}
	case evClosed.ID, evConcluded.ID:
		n.graph.closed(id)
		if d := n.disputes[id]; d != nil {
			d.over = true
		}
		if l := n.links[id]; fresh && l != nil {
			l.meta.Status, l.meta.Closing = StatusClosed, true
			n.saveMeta(l)
			n.closedOnL1(l)
		}
	case evRevealed.ID:
		v, err := evRevealed.Inputs.NonIndexed().Unpack(lg.Data)
		if err != nil {
			return
		}
		pre := common.Hash(v[0].([32]byte))
		n.onPreimage(pre)
	}
}

// failQueue answers the channel's ops not yet proposed with err. Those of
// a proposal in flight stay: the peer may still accept it.
func (n *Node) failQueue(l *link, err error) {
	q := l.queue
	l.queue = nil
	n.after = append(n.after, func() {
		for _, x := range q {
			x.done(err)
		}
	})
}

// closedOnL1 settles what a channel closed on L1 leaves of this node's
// proposal in flight: an op the registered state does not hold never
// happened, and is answered with an error; an HTLC it holds settles on L1.
func (n *Node) closedOnL1(l *link) {
	n.failQueue(l, errors.New("channel closed"))
	reg := n.registeredState(l)
	var fail []queued
	for _, q := range l.inflight {
		if q.op.Kind == OpAddHTLC && reg != nil && findHTLC(reg.HTLCs, q.op.PaymentHash) >= 0 {
			continue
		}
		fail = append(fail, q)
	}
	l.inflight = nil
	n.after = append(n.after, func() {
		for _, q := range fail {
			q.done(errors.New("channel closed on L1 without it"))
		}
	})
}

// registeredState is the state the adjudicator holds for one of the
// node's channels, if the node knows it: its newest, or the one its
// proposal or acceptance in flight would make.
func (n *Node) registeredState(l *link) *State {
	if l.m == nil {
		return nil
	}
	rec := l.m.Record()
	switch v := l.meta.Registered; {
	case rec.Full.Version == v:
		return rec.Full
	case rec.Half != nil && rec.Half.State.Version == v:
		return rec.Half.State
	case rec.Proposal != nil && rec.Proposal.Version == v:
		s, err := Apply(rec.Full, l.meta.Role, rec.Proposal.Ops, nil)
		if err == nil {
			return s
		}
	}
	return nil
}

// onDisputed marks one of the node's channels closing on L1: it proposes
// and countersigns nothing more on it.
func (n *Node) onDisputed(id common.Hash) {
	l := n.links[id]
	if l == nil || l.m == nil {
		return
	}
	l.meta.Status, l.meta.Closing = StatusDisputed, true
	n.saveMeta(l)
	n.failQueue(l, errors.New("channel closing on L1"))
}

// dispute is a unilateral close seen on L1, of any channel: the node
// answers for its own channels and, as a tower, for those it watches.
type dispute struct {
	closer     common.Address
	registered uint64 // the version the adjudicator holds
	deadline   uint64
	over       bool // concluded or penalised
	answering  bool // a challenge is on its way
}

// answerDisputes challenges, while its window lasts, every close with an
// older version than a state the node holds signed by both — its own
// channels' newest, or one handed to it as a tower (rules C5, C9). A
// challenge that failed to land is sent again at the next L1 poll, and a
// restarted node finds the disputes again in the logs.
func (n *Node) answerDisputes() {
	ids := make([]common.Hash, 0, len(n.disputes))
	for id := range n.disputes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b common.Hash) int { return a.Cmp(b) })
	for _, id := range ids {
		d := n.disputes[id]
		if d.over || d.answering || n.height > d.deadline || d.closer == n.self {
			continue
		}
		var s *State
		var sigA, sigB []byte
		if l := n.links[id]; l != nil && l.m != nil {
			rec := l.m.Record()
			s, sigA, sigB = rec.Full, rec.SigA, rec.SigB
		}
		if t := n.towered[id]; t != nil && (s == nil || t.State.Version > s.Version) {
			s, sigA, sigB = t.State, t.SigA, t.SigB
		}
		if s == nil || s.Version <= d.registered {
			continue
		}
		d.answering = true
		n.stats.Challenges++
		s = s.Copy()
		n.log.Warn("A channel closed on L1 with an old state; challenging", "channel", id, "closed", d.registered, "newest", s.Version)
		n.queueL1Then("challenge "+id.Hex(), func(ctx context.Context) (*types.Transaction, error) {
			return n.l1.Challenge(ctx, s, sigA, sigB)
		}, func(error) { d.answering = false })
	}
}

// ReadParams reads the adjudicator's rules from L1.
func ReadParams(ctx context.Context, c ethereum.ContractCaller) (Params, error) {
	v, err := ethtx.View(ctx, c, &AdjudicatorABI, AdjudicatorAddress, "rules")
	if err != nil {
		return Params{}, fmt.Errorf("channels: read the adjudicator's rules (is there one on this L1?): %w", err)
	}
	return Params{L1ChainID: v[0].(uint64), DisputeWindow: v[1].(uint64)}, nil
}
