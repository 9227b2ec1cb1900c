package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/cairn-dev/cairn/rollup"
)

// Unsafe blocks: a verifier need not wait for L1 to know the sequencer's
// chain. The sequencer publishes each block it builds, signed by its
// unsafe-block key (Config.UnsafeBlockSigner), over rollup_unsafeBlocks; a
// following verifier executes each one itself on its own state, keeps it if
// it gives the same block, and serves it as latest. As in the OP Stack, an
// unsafe block is trusted only as far as the sequencer's word: safe and
// finalized still come from L1 alone, and derivation replaces an unsafe
// block that L1 data disagrees with.

// SignedBlock is an unsafe block as rollup_unsafeBlocks serves it.
type SignedBlock struct {
	Block     hexutil.Bytes `json:"block"`     // the block, RLP-encoded
	Signature hexutil.Bytes `json:"signature"` // 65 bytes over UnsafeSigningHash
}

// UnsafeSigningHash is what the sequencer signs for a block: as OP's gossip
// signature, keccak256(domain ‖ chain ID ‖ payload hash), with a zero
// 32-byte domain and the block hash as the payload hash. The block hash
// commits to the header, hence to the transactions' root.
func UnsafeSigningHash(l2ChainID uint64, block common.Hash) common.Hash {
	var buf [96]byte
	new(big.Int).SetUint64(l2ChainID).FillBytes(buf[32:64])
	copy(buf[64:], block[:])
	return crypto.Keccak256Hash(buf[:])
}

// Errors of unsafe blocks.
var (
	// ErrUnsafeSignature is returned for an unsafe block not signed by the
	// rollup's unsafe-block signer.
	ErrUnsafeSignature = errors.New("unsafe block not signed by the sequencer")
	// ErrUnsafeMismatch is returned for an unsafe block that executing its
	// transactions on its parent does not reproduce.
	ErrUnsafeMismatch = errors.New("unsafe block does not re-execute to itself")
	// errDiverged: the sequencer's chain no longer extends this node's
	// unsafe head; the node drops its unsafe blocks and fetches again.
	errDiverged = errors.New("the sequencer's chain diverged from the unsafe head")
	// errUnsafeGap: a block past the one after the head, which the sequencer
	// does not send: ignored, and nothing is dropped for it.
	errUnsafeGap = errors.New("unsafe block past the next")
)

// Follow limits.
const (
	maxFollowBlocks = 64              // blocks one rollup_unsafeBlocks answer holds at most
	maxFollowBytes  = 4 << 20         // and bytes, past its first block
	followWait      = 2 * time.Second // how long a call waits for a new block
	// signedBlockCache is how many signed blocks a sequencer keeps, so
	// followers (or a stranger) asking again cost no signature.
	signedBlockCache = 1024
)

// SignBlock signs b as the unsafe-block signer of the chain.
func SignBlock(key *ecdsa.PrivateKey, l2ChainID uint64, b *types.Block) (*SignedBlock, error) {
	raw, err := rlp.EncodeToBytes(b)
	if err != nil {
		return nil, err
	}
	sig, err := crypto.Sign(UnsafeSigningHash(l2ChainID, b.Hash()).Bytes(), key)
	if err != nil {
		return nil, err
	}
	return &SignedBlock{Block: raw, Signature: sig}, nil
}

// OpenSignedBlock decodes a signed block and checks its signature against
// signer. It reads untrusted bytes.
func OpenSignedBlock(sb *SignedBlock, l2ChainID uint64, signer common.Address) (*types.Block, error) {
	b := new(types.Block)
	if err := rlp.DecodeBytes(sb.Block, b); err != nil {
		return nil, fmt.Errorf("decode unsafe block: %w", err)
	}
	if len(sb.Signature) != crypto.SignatureLength {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrUnsafeSignature, len(sb.Signature))
	}
	pub, err := crypto.SigToPub(UnsafeSigningHash(l2ChainID, b.Hash()).Bytes(), sb.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsafeSignature, err)
	}
	if from := crypto.PubkeyToAddress(*pub); from != signer {
		return nil, fmt.Errorf("%w: signed by %s, want %s", ErrUnsafeSignature, from, signer)
	}
	// The body is checked against the header when the block is executed:
	// the header's transactions root covers the deposits the block's L1
	// origin brings, which the body does not carry.
	return b, nil
}

// API is the rollup_ namespace of every rollup node: the unsafe
// blocks a sequencer publishes, and archived message passer proofs.
type API struct {
	n       *Node
	waiters chan struct{} // rollup_unsafeBlocks calls waiting, maxFollowWaiters at most
}

// maxFollowWaiters bounds the rollup_unsafeBlocks calls that wait for a
// block at once; past it a call answers at once, and its follower asks
// again shortly.
const maxFollowWaiters = 256

// MessagePasserProof returns the proof of a message passer slot (a
// withdrawal's StorageSlot) at an L2 block, however old: eth_getProof
// serves only the last 128 blocks' state.
func (api *API) MessagePasserProof(slot common.Hash, block hexutil.Uint64) (*rollup.StorageProof, error) {
	root, proof, err := rollup.MessagePasserProof(api.n.store, uint64(block), slot)
	if err != nil {
		return nil, err
	}
	out := &rollup.StorageProof{StorageHash: root}
	for _, p := range proof {
		out.Proof = append(out.Proof, p)
	}
	return out, nil
}

// DerivedFrom returns the L1 block whose data made safe L2 block n: the
// one its batch was completed in (or whose window forced it); null when
// the block is not safe, or was derived before this was recorded.
func (api *API) DerivedFrom(n hexutil.Uint64) *hexutil.Uint64 {
	if safe := api.n.SafeHead(); safe == nil || safe.Number.Uint64() < uint64(n) {
		return nil
	}
	l1, ok := api.n.deriver.DerivedFrom(uint64(n))
	if !ok {
		return nil
	}
	v := hexutil.Uint64(l1)
	return &v
}

// OutputAtBlock returns the output of safe L2 block n with its preimage
// (as op-node's optimism_outputAtBlock does): what a withdrawal's proof
// opens the output root with.
func (api *API) OutputAtBlock(n hexutil.Uint64) (*rollup.OutputJSON, error) {
	if safe := api.n.SafeHead(); safe == nil || safe.Number.Uint64() < uint64(n) {
		return nil, fmt.Errorf("%w: block %d", rollup.ErrNotDerived, n)
	}
	out, err := rollup.OutputAt(api.n.Chain(), uint64(n))
	if err != nil {
		return nil, err
	}
	return out.JSON(), nil
}

// UnsafeBlocks returns the sequencer's blocks from number from on, signed,
// at most max (and maxFollowBlocks, and about maxFollowBytes). When from is
// past the head it waits up to two seconds for it: a follower calls it in
// a loop and hears of each block as it is committed.
func (api *API) UnsafeBlocks(ctx context.Context, from, max hexutil.Uint64) ([]*SignedBlock, error) {
	n := api.n
	if n.cfg.SequencerKey == nil {
		return nil, errors.New("this node does not publish unsafe blocks")
	}
	if n.store.Head().Number.Uint64() < uint64(from) {
		select {
		case api.waiters <- struct{}{}:
			defer func() { <-api.waiters }()
		default:
			return nil, nil
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-n.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		// The wait ending without the block is an answer too: none yet.
		_, _ = n.store.WaitFor(ctx, followWait, func() bool { return n.store.Head().Number.Uint64() >= uint64(from) })
	}
	count := min(uint64(max), maxFollowBlocks)
	var (
		out  []*SignedBlock
		size int
	)
	for num := uint64(from); uint64(len(out)) < count && size < maxFollowBytes; num++ {
		h := n.store.GetHeaderByNumber(num)
		if h == nil {
			break
		}
		sb, ok := n.signed.Get(h.Hash())
		if !ok {
			b := n.store.BlockByHash(h.Hash())
			if b == nil {
				break
			}
			var err error
			if sb, err = SignBlock(n.cfg.SequencerKey, n.rollup.L2ChainID, b); err != nil {
				return nil, err
			}
			n.signed.Add(h.Hash(), sb)
		}
		out = append(out, sb)
		size += len(sb.Block)
	}
	return out, nil
}

// followLoop keeps the node's unsafe chain up with the sequencer's.
func (n *Node) followLoop() {
	defer n.done.Done()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), followWait+5*time.Second)
		got, err := n.Follow(ctx)
		cancel()
		var wait time.Duration
		switch {
		case errors.Is(err, errDiverged):
			wait = 100 * time.Millisecond // until the sequencer's reorganisation, or derivation
		case err != nil:
			n.log.Debug("Following the sequencer", "err", err)
			wait = 250 * time.Millisecond
		case got == 0:
			wait = 10 * time.Millisecond // the long poll timed out
		}
		select {
		case <-n.stop:
			return
		case <-time.After(wait):
		}
	}
}

// Follow fetches the sequencer's blocks after the head (waiting briefly for
// one when there is none) and executes each; it returns how many it added.
func (n *Node) Follow(ctx context.Context) (int, error) {
	if n.forward == nil || n.rollup.UnsafeBlockSigner == (common.Address{}) {
		return 0, errors.New("no sequencer to follow")
	}
	var blocks []*SignedBlock
	from := n.store.Head().Number.Uint64() + 1
	if err := n.forward.CallContext(ctx, &blocks, "rollup_unsafeBlocks", hexutil.Uint64(from), hexutil.Uint64(maxFollowBlocks)); err != nil {
		return 0, err
	}
	if len(blocks) > maxFollowBlocks {
		n.unsafeRejected.Inc()
		return 0, fmt.Errorf("the sequencer sent %d unsafe blocks, at most %d were asked for", len(blocks), maxFollowBlocks)
	}
	added := 0
	for _, sb := range blocks {
		b, err := OpenSignedBlock(sb, n.rollup.L2ChainID, n.rollup.UnsafeBlockSigner)
		if err != nil {
			n.unsafeRejected.Inc()
			return added, err
		}
		ok, err := n.applyUnsafe(ctx, b)
		if err != nil {
			if errors.Is(err, ErrUnsafeMismatch) {
				n.unsafeRejected.Inc()
			}
			return added, err
		}
		if ok {
			added++
		}
	}
	return added, nil
}

// applyUnsafe executes a sequencer block on the head and commits it if it
// re-executes to itself. Blocks at or below the safe head are L1's to
// decide and are ignored, and so is a block past the next; the next one
// not on the head means the sequencer reorganised: the node drops its
// unsafe blocks.
func (n *Node) applyUnsafe(ctx context.Context, b *types.Block) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	number := b.NumberU64()
	// The safe head as derivation last applied it (under n.mu), which may
	// be ahead of the one it has published yet.
	safe := max(n.deriver.SafeHead().Number.Uint64(), n.derived)
	if number <= safe {
		return false, nil
	}
	if h := n.store.GetHeaderByNumber(number); h != nil && h.Hash() == b.Hash() {
		return false, nil
	}
	head := n.store.Head()
	if number > head.Number.Uint64()+1 {
		return false, errUnsafeGap
	}
	if number != head.Number.Uint64()+1 || b.ParentHash() != head.Hash() {
		if head.Number.Uint64() > safe {
			n.log.Info("The sequencer's chain diverged: dropping unsafe blocks", "block", number, "unsafeHead", head.Number, "safe", safe)
			if _, err := n.store.SetHead(safe); err != nil {
				return false, err
			}
			n.reorgs.Inc()
		}
		return false, errDiverged
	}
	a, err := rollup.AttributesOf(ctx, n.l1, head, b)
	if err != nil {
		return false, fmt.Errorf("attributes of unsafe block %d: %w", number, err)
	}
	res, err := n.engine.Build(a)
	if err != nil {
		return false, err
	}
	if res.Block.Hash() != b.Hash() {
		return false, fmt.Errorf("%w: block %d is %s, re-executed %s", ErrUnsafeMismatch, number, b.Hash(), res.Block.Hash())
	}
	if err := n.engine.Commit(res); err != nil {
		return false, err
	}
	return true, nil
}
