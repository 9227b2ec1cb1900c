package channels

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/rlpx"
)

// A node's identity on the network is its secp256k1 public key; peers
// reach it at "<compressed public key, hex>@host:port", as Lightning's
// pubkey@host. Connections are go-ethereum's RLPx: encrypted, and
// authenticated by both keys in the handshake.

// NodeURI is the peer address of the node with key pub listening at addr.
func NodeURI(pub *ecdsa.PublicKey, addr string) string {
	return hex.EncodeToString(crypto.CompressPubkey(pub)) + "@" + addr
}

// ErrURI is returned for a peer address that does not parse.
var ErrURI = errors.New("bad node address: want <public key hex>@host:port")

// ParseNodeURI splits a peer address into its key and host:port.
func ParseNodeURI(uri string) (*ecdsa.PublicKey, string, error) {
	key, addr, ok := strings.Cut(uri, "@")
	if !ok {
		return nil, "", ErrURI
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(key, "0x"))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrURI, err)
	}
	pub, err := crypto.DecompressPubkey(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrURI, err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrURI, err)
	}
	return pub, addr, nil
}

// handshakeTimeout bounds an RLPx handshake.
const handshakeTimeout = 5 * time.Second

// peerConn is one authenticated connection to a peer: a reader that hands
// frames to the node, and a writer that sends what the node queues.
type peerConn struct {
	addr   common.Address
	conn   *rlpx.Conn
	dialed bool // this node dialed it
	// synced lists the channels this node sent its MsgSync for on this
	// connection (loop-owned).
	synced map[common.Hash]bool
	// early holds MsgSyncs for channels this node did not know open yet
	// (the peer saw the funding on L1 first), a few at most.
	early map[common.Hash]*Message
	out   chan outFrame // frames to write
	done  chan struct{}
}

type outFrame struct {
	code uint64
	data []byte
}

// handshake runs RLPx over c: dialing, pub is the peer's key; accepting,
// nil. It returns the connection and the peer's key.
func handshake(c net.Conn, key *ecdsa.PrivateKey, pub *ecdsa.PublicKey) (*rlpx.Conn, *ecdsa.PublicKey, error) {
	rc := rlpx.NewConn(c, pub)
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	remote, err := rc.Handshake(key)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("channels: handshake with %s: %w", c.RemoteAddr(), err)
	}
	_ = c.SetDeadline(time.Time{})
	rc.SetSnappy(true)
	return rc, remote, nil
}

// writeLoop sends queued frames until the connection closes.
func (p *peerConn) writeLoop() {
	for {
		select {
		case f := <-p.out:
			if _, err := p.conn.Write(f.code, f.data); err != nil {
				p.conn.Close()
				return
			}
		case <-p.done:
			return
		}
	}
}

// send queues a frame; a peer that does not keep up is cut off.
func (p *peerConn) send(code uint64, data []byte) bool {
	select {
	case p.out <- outFrame{code, data}:
		return true
	default:
		p.conn.Close()
		return false
	}
}
