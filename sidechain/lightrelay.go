package sidechain

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/gethclient"

	"github.com/cairn-dev/cairn/internal/ethtx"
)

// LightRelayer is the light-client bridge's relayer and watcher (rule S5):
// it keeps each half's light client of the other chain fresh, carries
// every transfer out by a Merkle proof, pays proven withdrawals once their
// delay is over, and relays the honest header wherever a half holds one
// the other chain never made, which freezes that half. It holds no key the
// bridge trusts: anyone may run one, and any number may race (the halves
// refuse a header or a transfer twice).
type LightRelayer struct {
	L1, Side           *ethclient.Client
	L1Light, SideLight LightSource
	Sender             *ecdsa.PrivateKey // pays the gas on both chains
	// Refresh is how old a client's newest header may grow before the
	// relayer gives it a newer one (default 5 s): well inside the trusting
	// period, so the client never expires while a relayer runs.
	Refresh time.Duration
	Log     *slog.Logger

	dirs [2]lightDir
}

// lightDir is the relayer's memory of one direction.
type lightDir struct {
	next     uint64          // the lowest transfer not yet seen carried
	scanned  uint64          // the destination's blocks read for HeaderVerified
	epoch    uint64          // the destination client's epoch those were in
	verified map[uint64]kept // heights the client holds this epoch
	checked  map[uint64]bool // heights compared with the source chain
}

// kept is what the relayer knows of a header the client holds.
type kept struct {
	hash   common.Hash
	timeNs uint64 // 0 when unknown
}

// ErrFrozenClient is returned by a step that found a half frozen.
var ErrFrozenClient = errors.New("sidechain bridge: light client frozen")

// LightStatus is a half's light client as its status view tells.
type LightStatus struct {
	Epoch, Latest   uint64
	Frozen, Expired bool
}

// ReadLightStatus reads the status of the light-bridge half at `at`.
func ReadLightStatus(ctx context.Context, c *ethclient.Client, at common.Address) (LightStatus, error) {
	v, err := ethtx.View(ctx, c, &LightABI, at, "status")
	if err != nil {
		return LightStatus{}, fmt.Errorf("sidechain light bridge: %w", err)
	}
	return LightStatus{Epoch: v[0].(uint64), Latest: v[1].(uint64), Frozen: v[2].(bool), Expired: v[3].(bool)}, nil
}

type lightRoute struct {
	src, dst         *ethclient.Client
	srcLight         LightSource
	srcHalf, dstHalf common.Address
	event            string
	name             string
}

func (r *LightRelayer) route(dir int) lightRoute {
	if dir == toSide {
		return lightRoute{r.L1, r.Side, r.L1Light, LightL1Address, LightSideAddress, "Deposited", "deposit"}
	}
	return lightRoute{r.Side, r.L1, r.SideLight, LightSideAddress, LightL1Address, "Withdrawn", "withdrawal"}
}

// Step does one round in each direction: watch, carry, pay, refresh. It
// returns how many transfers it paid out.
func (r *LightRelayer) Step(ctx context.Context) (int, error) {
	paid := 0
	var errs []error
	for dir := range 2 {
		n, err := r.step(ctx, dir)
		paid += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.route(dir).name+"s", err))
		}
	}
	return paid, errors.Join(errs...)
}

// Run steps every poll until ctx ends, logging failures.
func (r *LightRelayer) Run(ctx context.Context, poll time.Duration) {
	runEvery(ctx, poll, r.Log, "Light bridge relayer step failed", func(ctx context.Context) error {
		_, err := r.Step(ctx)
		return err
	})
}

func (r *LightRelayer) step(ctx context.Context, dir int) (int, error) {
	rt := r.route(dir)
	d := &r.dirs[dir]
	st, err := ReadLightStatus(ctx, rt.dst, rt.dstHalf)
	if err != nil {
		return 0, err
	}
	if st.Frozen {
		return 0, ErrFrozenClient
	}
	if st.Expired {
		return 0, ErrExpired
	}
	if d.verified == nil || d.epoch != st.Epoch {
		*d = lightDir{next: d.next, epoch: st.Epoch, verified: map[uint64]kept{}, checked: map[uint64]bool{}}
		if err := r.seedTrust(ctx, rt, d); err != nil {
			return 0, err
		}
	}
	if err := r.scan(ctx, rt, d); err != nil {
		return 0, err
	}
	if stop, err := r.watch(ctx, rt, d); stop || err != nil {
		return 0, err
	}
	paid, err := r.carry(ctx, rt, d)
	if err != nil {
		return paid, err
	}
	return paid, r.refresh(ctx, rt, d)
}

// seedTrust adds the client's starting point (its genesis trust, or the
// recovery's header) to the heights it can be updated from.
func (r *LightRelayer) seedTrust(ctx context.Context, rt lightRoute, d *lightDir) error {
	v, err := ethtx.View(ctx, rt.dst, &LightABI, rt.dstHalf, "rules")
	if err != nil {
		return err
	}
	if d.epoch == 0 {
		d.verified[v[5].(uint64)] = kept{}
		d.checked[v[5].(uint64)] = true
	}
	return nil
}

// scan reads the client's HeaderVerified and Recovered events it has not
// read yet.
func (r *LightRelayer) scan(ctx context.Context, rt lightRoute, d *lightDir) error {
	head, err := rt.dst.BlockNumber(ctx)
	if err != nil {
		return err
	}
	if head <= d.scanned && d.scanned > 0 {
		return nil
	}
	hv, rec := LightABI.Events["HeaderVerified"], LightABI.Events["Recovered"]
	logs, err := rt.dst.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(d.scanned), ToBlock: new(big.Int).SetUint64(head),
		Addresses: []common.Address{rt.dstHalf}, Topics: [][]common.Hash{{hv.ID, rec.ID}}})
	if err != nil {
		return err
	}
	for _, lg := range logs {
		if len(lg.Topics) != 2 || lg.Removed {
			continue
		}
		height := new(big.Int).SetBytes(lg.Topics[1].Bytes()).Uint64()
		switch lg.Topics[0] {
		case hv.ID:
			v, err := hv.Inputs.NonIndexed().Unpack(lg.Data)
			if err == nil && v[3].(uint64) == d.epoch {
				d.verified[height] = kept{hash: v[0].([32]byte), timeNs: v[2].(uint64)}
			}
		case rec.ID:
			v, err := rec.Inputs.NonIndexed().Unpack(lg.Data)
			if err == nil && height == d.epoch { // the topic is the epoch
				h := v[0].(uint64)
				d.verified[h] = kept{hash: v[1].([32]byte)}
			}
		}
	}
	d.scanned = head + 1
	return nil
}

// watch compares every header the client holds with the source chain's.
// Where one differs, it relays the honest header at that height, which
// freezes the client. One that lies ahead of the source chain is shown by
// time: the relayer keeps relaying the chain's newest header (kept below
// the forged one) until one is no earlier than it, then submits the two
// as misbehaviour. It reports whether carrying must wait: the client froze,
// or holds a header the chain never made.
func (r *LightRelayer) watch(ctx context.Context, rt lightRoute, d *lightDir) (bool, error) {
	srcHead, err := rt.src.BlockNumber(ctx)
	if err != nil {
		return false, err
	}
	for _, h := range slices.Sorted(maps.Keys(d.verified)) {
		if d.checked[h] {
			continue
		}
		if h > srcHead {
			return true, r.outdate(ctx, rt, d, h)
		}
		honest, err := rt.srcLight.LightBlock(ctx, h)
		if err != nil {
			return false, err
		}
		if honest.Hash() != d.verified[h].hash {
			return true, r.accuse(ctx, rt, d, honest, h)
		}
		d.checked[h] = true
	}
	return false, nil
}

// outdate shows a forged header at height forged, ahead of the source
// chain: by a kept honest header below it and no earlier, or, until there
// is one, by relaying the newest honest header.
func (r *LightRelayer) outdate(ctx context.Context, rt lightRoute, d *lightDir, forged uint64) error {
	f := d.verified[forged]
	for h, k := range d.verified {
		if h < forged && d.checked[h] && k.timeNs != 0 && k.timeNs >= f.timeNs {
			if r.Log != nil {
				r.Log.Warn("Light client holds a header ahead of the chain: submitting misbehaviour", "half", rt.dstHalf,
					"forged", forged, "honest", h)
			}
			data, _ := LightABI.Pack("submitMisbehaviour", h, forged)
			_, err := r.send(ctx, rt.dst, rt.dstHalf, data)
			return err
		}
	}
	honest, err := rt.srcLight.LightBlock(ctx, 0)
	if err != nil {
		return err
	}
	if _, ok := d.verified[honest.Height()]; ok {
		return nil
	}
	if err := r.update(ctx, rt, d, honest); err != nil {
		return err
	}
	d.checked[honest.Height()] = true
	return nil
}

// accuse relays the honest header that conflicts with the client's header
// at the same height, which freezes it.
func (r *LightRelayer) accuse(ctx context.Context, rt lightRoute, d *lightDir, honest *LightBlock, forged uint64) error {
	if r.Log != nil {
		r.Log.Warn("Light client holds a header the chain never made: relaying the honest one", "half", rt.dstHalf, "height", forged)
	}
	if err := r.update(ctx, rt, d, honest); err != nil {
		return fmt.Errorf("relay evidence against height %d: %w", forged, err)
	}
	return nil
}

// update relays lb to the client, from the highest height it holds below
// lb's that the source chain made.
func (r *LightRelayer) update(ctx context.Context, rt lightRoute, d *lightDir, lb *LightBlock) error {
	trusted, ok := uint64(0), false
	for h := range d.verified {
		if d.checked[h] && h < lb.Height() && (!ok || h > trusted) {
			trusted, ok = h, true // only a header the chain made vouches
		}
	}
	if !ok {
		return fmt.Errorf("no verified height below %d", lb.Height())
	}
	var tvals *cmttypes.ValidatorSet
	if lb.Height() != trusted+1 {
		next, err := rt.srcLight.LightBlock(ctx, trusted+1)
		if err != nil {
			return err
		}
		tvals = next.Validators
	}
	if _, err := SubmitHeader(ctx, rt.dst, r.Sender, rt.dstHalf, trusted, lb, tvals); err != nil {
		return err
	}
	d.verified[lb.Height()] = kept{hash: lb.Hash(), timeNs: uint64(lb.SignedHeader.Time.UnixNano())}
	d.checked[lb.Height()] = true
	return nil
}

func (r *LightRelayer) send(ctx context.Context, c *ethclient.Client, to common.Address, data []byte) (*types.Receipt, error) {
	return sendLight(ctx, c, r.Sender, to, nil, data)
}

// sendLight preflights a call to a light-bridge half (for its revert
// reason), then sends it from key and waits for it.
func sendLight(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte) (*types.Receipt, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	gas := 21_000 + 16*uint64(len(data)) + (&LightBridge{}).RequiredGas(data) + 30_000
	if _, err := c.CallContract(ctx, ethereum.CallMsg{From: from, To: &to, Data: data, Gas: gas, Value: value}, nil); err != nil {
		return nil, err
	}
	return ethtx.SendAndWait(ctx, c, key, to, value, data, gas)
}

// SubmitHeader relays lb to the light client of the half at `half`,
// verified from its height trusted (whose next validators, trustedVals,
// a skipping update needs).
func SubmitHeader(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, half common.Address, trusted uint64, lb *LightBlock, trustedVals *cmttypes.ValidatorSet) (*types.Receipt, error) {
	data, err := packUpdate("update", trusted, lb, trustedVals)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, c, key, half, nil, data)
}

// packUpdate packs an update (or a recovery: method) of lb from the height
// trusted, with that height's next validators (nil for none).
func packUpdate(method string, trusted uint64, lb *LightBlock, trustedVals *cmttypes.ValidatorSet) ([]byte, error) {
	sh, err := EncodeSignedHeader(lb.SignedHeader)
	if err != nil {
		return nil, err
	}
	vals, err := EncodeValidatorSet(lb.Validators)
	if err != nil {
		return nil, err
	}
	var tvals []byte
	if trustedVals != nil {
		if tvals, err = EncodeValidatorSet(trustedVals); err != nil {
			return nil, err
		}
	}
	return LightABI.Pack(method, trusted, sh, vals, tvals)
}

// SubmitProof proves transfer t to the half at `half` against its
// verified header at height.
func SubmitProof(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, half common.Address, height uint64, t Transfer, account, storage [][]byte) (*types.Receipt, error) {
	data, err := LightABI.Pack("prove", height, t.Nonce, t.To, t.Amount, account, storage)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, c, key, half, nil, data)
}

// Finalize pays proven transfer nonce at the half at `half`, once its
// delay is over.
func Finalize(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, half common.Address, nonce uint64) (*types.Receipt, error) {
	data, err := LightABI.Pack("finalize", nonce)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, c, key, half, nil, data)
}

// Recover has the guardian (key) restart the light client of the half at
// `half` from lb, signed by more than 2/3 of trustedVals: the next
// validators of the kept height trusted.
func Recover(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, half common.Address, trusted uint64, lb *LightBlock, trustedVals *cmttypes.ValidatorSet) (*types.Receipt, error) {
	data, err := packUpdate("recover", trusted, lb, trustedVals)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, c, key, half, nil, data)
}

// LightDeposit locks wei on L1 for to on the sidechain, through the
// light-client bridge.
func LightDeposit(ctx context.Context, l1 *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (*types.Receipt, error) {
	data, err := LightABI.Pack("deposit", to)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, l1, key, LightL1Address, wei, data)
}

// LightWithdraw burns wei on the sidechain for to on L1, through the
// light-client bridge.
func LightWithdraw(ctx context.Context, side *ethclient.Client, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (*types.Receipt, error) {
	data, err := LightABI.Pack("withdraw", to)
	if err != nil {
		return nil, err
	}
	return sendLight(ctx, side, key, LightSideAddress, wei, data)
}

// carry proves or pays every transfer out the destination has not paid.
func (r *LightRelayer) carry(ctx context.Context, rt lightRoute, d *lightDir) (int, error) {
	v, err := ethtx.View(ctx, rt.src, &LightABI, rt.srcHalf, "transfersOut")
	if err != nil {
		return 0, err
	}
	count, paid := v[0].(uint64), 0
	for n := d.next; n < count; n++ {
		state, err := ReadLightTransfer(ctx, rt.dst, rt.dstHalf, n)
		if err != nil {
			return paid, err
		}
		switch {
		case state.Carried:
			if n == d.next {
				d.next++
			}
			continue
		case state.Pending:
			head, err := rt.dst.HeaderByNumber(ctx, nil)
			if err != nil {
				return paid, err
			}
			if head.Time+1 < state.PayableAt {
				continue
			}
			data, _ := LightABI.Pack("finalize", n)
			if _, err := r.send(ctx, rt.dst, rt.dstHalf, data); err != nil {
				if !isTooEarly(err) {
					return paid, fmt.Errorf("finalize %d: %w", n, err)
				}
				continue
			}
			paid++
			r.logCarried(rt, n, "paid after the delay")
			continue
		}
		t, block, err := findTransfer(ctx, rt.src, rt.srcHalf, rt.event, n)
		if err != nil {
			return paid, err
		}
		if err := r.prove(ctx, rt, d, t, block); errors.Is(err, errNotCovered) {
			break
		} else if err != nil {
			return paid, fmt.Errorf("prove %s %d: %w", rt.name, n, err)
		}
		if rt.dstHalf == LightSideAddress {
			paid++
			r.logCarried(rt, n, "minted")
		} else {
			r.logCarried(rt, n, "proven, waiting for the delay")
		}
	}
	return paid, nil
}

func isTooEarly(err error) bool {
	return errors.Is(err, ErrTooEarly) || strings.Contains(err.Error(), ErrTooEarly.Error())
}

func (r *LightRelayer) logCarried(rt lightRoute, n uint64, what string) {
	if r.Log != nil {
		r.Log.Info("Bridge transfer carried", "bridge", "light", "kind", rt.name, "nonce", n, "step", what)
	}
}

// errNotCovered says no header of the source chain commits to a transfer's
// block yet: its app hash comes in the header after it.
var errNotCovered = errors.New("transfer not yet under a header")

// maxProofAge is how many blocks behind the source's head a proof's state
// may be: older states may be pruned from the source node's memory.
const maxProofAge = 64

// prove proves transfer t (sent in source block `block`) against the
// client's newest header, updating the client first when that header does
// not yet cover the transfer.
func (r *LightRelayer) prove(ctx context.Context, rt lightRoute, d *lightDir, t Transfer, block uint64) error {
	st, err := ReadLightStatus(ctx, rt.dst, rt.dstHalf)
	if err != nil {
		return err
	}
	srcHead, err := rt.src.BlockNumber(ctx)
	if err != nil {
		return err
	}
	latest := st.Latest
	if latest < block+1 || srcHead > latest+maxProofAge {
		lb, err := rt.srcLight.LightBlock(ctx, 0)
		if err != nil {
			return err
		}
		if lb.Height() < block+1 {
			return errNotCovered // the next step will find the header after it
		}
		if err := r.update(ctx, rt, d, lb); err != nil {
			return err
		}
		latest = lb.Height()
	}
	cs, err := ReadConsensusState(ctx, rt.dst, rt.dstHalf, latest)
	if err != nil {
		return err
	}
	at, err := blockWithRoot(ctx, rt.src, latest-1, cs.AppHash)
	if err != nil {
		return err
	}
	slot := SentSlot(t.Nonce)
	proof, err := gethclient.New(rt.src.Client()).GetProof(ctx, rt.srcHalf, []string{slot.Hex()}, new(big.Int).SetUint64(at))
	if err != nil {
		return err
	}
	if len(proof.StorageProof) != 1 {
		return errors.New("eth_getProof gave no storage proof")
	}
	acct, err := decodeHexList(proof.AccountProof)
	if err != nil {
		return err
	}
	stor, err := decodeHexList(proof.StorageProof[0].Proof)
	if err != nil {
		return err
	}
	_, err = SubmitProof(ctx, rt.dst, r.Sender, rt.dstHalf, latest, t, acct, stor)
	return err
}

// blockWithRoot finds, from number down, the block whose state root is
// root (the app hash of the header after it, or a few later).
func blockWithRoot(ctx context.Context, c *ethclient.Client, number uint64, root common.Hash) (uint64, error) {
	for n, i := number, 0; i <= maxProofAge; n, i = n-1, i+1 {
		h, err := c.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			return 0, err
		}
		if h.Root == root {
			return n, nil
		}
		if n == 0 {
			break
		}
	}
	return 0, fmt.Errorf("no block at or below %d has state root %s", number, root)
}

func decodeHexList(l []string) ([][]byte, error) {
	out := make([][]byte, len(l))
	for i, s := range l {
		b, err := hexutil.Decode(s)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// refresh gives the client the source's newest header when its own newest
// is older than Refresh.
func (r *LightRelayer) refresh(ctx context.Context, rt lightRoute, d *lightDir) error {
	st, err := ReadLightStatus(ctx, rt.dst, rt.dstHalf)
	if err != nil {
		return err
	}
	cs, err := ReadConsensusState(ctx, rt.dst, rt.dstHalf, st.Latest)
	if err != nil {
		return err
	}
	head, err := rt.dst.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	every := r.Refresh
	every = cmp.Or(every, 5*time.Second)
	if time.Unix(0, int64(cs.TimeNs)).Add(every).After(time.Unix(int64(head.Time), 0)) {
		return nil
	}
	lb, err := rt.srcLight.LightBlock(ctx, 0)
	if err != nil {
		return err
	}
	if lb.Height() <= st.Latest {
		return nil
	}
	return r.update(ctx, rt, d, lb)
}

// ReadConsensusState reads what the half at `at` holds of a height.
func ReadConsensusState(ctx context.Context, c *ethclient.Client, at common.Address, height uint64) (ConsensusState, error) {
	v, err := ethtx.View(ctx, c, &LightABI, at, "consensusState", height)
	if err != nil {
		return ConsensusState{}, err
	}
	if !v[0].(bool) {
		return ConsensusState{}, fmt.Errorf("%w: %d", ErrUnknownHeight, height)
	}
	return ConsensusState{Hash: v[1].([32]byte), AppHash: v[2].([32]byte), TimeNs: v[3].(uint64), NextValidatorsHash: v[4].([32]byte)}, nil
}

// LightTransfer is where a transfer in stands at a light-bridge half.
type LightTransfer struct {
	Carried, Pending bool
	PayableAt        uint64
	Height           uint64
}

// ReadLightTransfer reads the standing of transfer nonce at the half `at`.
func ReadLightTransfer(ctx context.Context, c *ethclient.Client, at common.Address, nonce uint64) (LightTransfer, error) {
	v, err := ethtx.View(ctx, c, &LightABI, at, "carriedOut", nonce)
	if err != nil {
		return LightTransfer{}, err
	}
	if v[0].(bool) {
		return LightTransfer{Carried: true}, nil
	}
	p, err := ethtx.View(ctx, c, &LightABI, at, "pendingTransfer", nonce)
	if err != nil {
		return LightTransfer{}, err
	}
	return LightTransfer{Pending: p[0].(bool), Height: p[3].(uint64), PayableAt: p[4].(uint64)}, nil
}

// Misbehaviour is the evidence a frozen half keeps: the header it held and
// the one conflicting with it (at the same height, or out of time order).
type Misbehaviour struct {
	Height, ConflictingHeight uint64
	Kept, Conflicting         common.Hash
}

// ReadMisbehaviour reads the evidence the half at `at` froze on.
func ReadMisbehaviour(ctx context.Context, c *ethclient.Client, at common.Address) (Misbehaviour, error) {
	v, err := ethtx.View(ctx, c, &LightABI, at, "evidence")
	if err != nil {
		return Misbehaviour{}, err
	}
	return Misbehaviour{Height: v[0].(uint64), Kept: v[1].([32]byte), ConflictingHeight: v[2].(uint64), Conflicting: v[3].([32]byte)}, nil
}

// RecoverClients is the guardian's documented recovery (rule S6): for each
// half whose light client is frozen or expired, it finds the newest header
// the client holds that the other chain really made, and restarts the
// client from the chain's newest header, verified against that one's next
// validators, as key (the guardian's). It returns the halves it recovered.
func RecoverClients(ctx context.Context, l1, side *ethclient.Client, key *ecdsa.PrivateKey) ([]common.Address, error) {
	var done []common.Address
	for _, h := range []struct {
		c    *ethclient.Client
		at   common.Address
		from *ethclient.Client
	}{{l1, LightL1Address, side}, {side, LightSideAddress, l1}} {
		st, err := ReadLightStatus(ctx, h.c, h.at)
		if err != nil {
			return done, err
		}
		if !st.Frozen && !st.Expired {
			continue
		}
		src := RPCLightSource{Client: h.from.Client()}
		trusted, err := newestHonest(ctx, h.c, h.at, h.from, src, st.Epoch)
		if err != nil {
			return done, err
		}
		lb, err := src.LightBlock(ctx, 0)
		if err != nil {
			return done, err
		}
		next, err := src.LightBlock(ctx, trusted+1)
		if err != nil {
			return done, err
		}
		if _, err := Recover(ctx, h.c, key, h.at, trusted, lb, next.Validators); err != nil {
			return done, fmt.Errorf("recover the light client at %s: %w", h.at, err)
		}
		done = append(done, h.at)
	}
	return done, nil
}

// newestHonest is the highest height the client at `at` holds in epoch
// whose header the source chain made (its genesis trust when none).
func newestHonest(ctx context.Context, c *ethclient.Client, at common.Address, from *ethclient.Client, src LightSource, epoch uint64) (uint64, error) {
	r := &LightRelayer{}
	d := &lightDir{epoch: epoch, verified: map[uint64]kept{}, checked: map[uint64]bool{}}
	rt := lightRoute{src: from, dst: c, srcLight: src, dstHalf: at}
	if err := r.seedTrust(ctx, rt, d); err != nil {
		return 0, err
	}
	if err := r.scan(ctx, rt, d); err != nil {
		return 0, err
	}
	heights := slices.Sorted(maps.Keys(d.verified))
	for i := len(heights) - 1; i >= 0; i-- {
		h, k := heights[i], d.verified[heights[i]]
		if d.checked[h] {
			return h, nil
		}
		if lb, err := src.LightBlock(ctx, h); err == nil && lb.Hash() == k.hash {
			return h, nil
		}
	}
	return 0, errors.New("the client holds no header the chain made")
}
