package channels

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// Peer message codes on the encrypted, authenticated connection between
// two nodes (go-ethereum's RLPx; rule C6 of docs/channels.md).
const (
	codeChannel uint64 = 0x10 // a Message about one channel
	codeUpdate  uint64 = 0x11 // a ChannelUpdate, flooded to every peer
)

// MaxMessageSize is the largest peer message a node reads.
const MaxMessageSize = 256 * 1024

// ErrWire is returned for a peer message that does not decode.
var ErrWire = errors.New("malformed peer message")

// EncodeMessage is a Message's wire form (RLP).
func EncodeMessage(m *Message) ([]byte, error) { return rlp.EncodeToBytes(m) }

// DecodeMessage reads a Message from untrusted bytes.
func DecodeMessage(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrWire, len(b))
	}
	m := new(Message)
	if err := rlp.DecodeBytes(b, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWire, err)
	}
	return m, nil
}

// ChannelUpdate is a node's terms for forwarding over one of its channels,
// flooded to every node (as Lightning's channel_update): the fee it takes
// (FeeBase wei plus FeePPM millionths of the amount) and the expiry delta
// it needs between the HTLC it receives and the one it offers. Seq orders
// a node's updates of one channel; the newest wins.
type ChannelUpdate struct {
	Channel common.Hash
	Node    common.Address
	FeeBase *big.Int
	FeePPM  uint64
	Delta   uint64
	Seq     uint64
	Sig     []byte
}

func (u *ChannelUpdate) digest() common.Hash {
	b, _ := rlp.EncodeToBytes([]any{"cairn-channel-update", u.Channel, u.Node, u.FeeBase, u.FeePPM, u.Delta, u.Seq})
	return crypto.Keccak256Hash(b)
}

// Sign signs the update with the node's key.
func (u *ChannelUpdate) Sign(key *ecdsa.PrivateKey) error {
	d := u.digest()
	sig, err := crypto.Sign(d[:], key)
	u.Sig = sig
	return err
}

// Verify checks the update is signed by its Node.
func (u *ChannelUpdate) Verify() error {
	if len(u.Sig) != 65 || u.FeeBase == nil {
		return fmt.Errorf("%w: channel update", ErrBadSignature)
	}
	d := u.digest()
	pub, err := crypto.SigToPub(d[:], u.Sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if crypto.PubkeyToAddress(*pub) != u.Node {
		return fmt.Errorf("%w: channel update not signed by its node", ErrBadSignature)
	}
	return nil
}

// Fee is what the update's node takes to forward amount.
func (u *ChannelUpdate) Fee(amount *big.Int) *big.Int {
	f := new(big.Int).Mul(amount, new(big.Int).SetUint64(u.FeePPM))
	f.Div(f, big.NewInt(1_000_000))
	return f.Add(f, u.FeeBase)
}
