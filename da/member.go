package da

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// MaxStoreSize bounds the data one store request carries: 120,000 bytes,
// the most one inbox record of the rollup carries (rollup.MaxInboxData),
// so that a one-step proof can carry the data behind any certificate or
// sampling commitment in one L1 transaction. Members and storage nodes
// refuse more, and a sampling commitment to more does not parse; the
// batcher never stores more.
const MaxStoreSize = 120_000

// Member is a committee member's service: it keeps the data it is given
// and signs for it, and serves it by hash, over HTTP:
//
//	POST /dac/store        body: the data     → {"signature": hex of a compressed G1 point}
//	GET  /dac/data/{hash}                      → the data
//
// It keeps the data in a directory, one file a hash, written and synced
// before it signs (in memory with no directory); Withhold makes it sign
// and then serve nothing, as a colluding member does.
type Member struct {
	key     *BLSKey
	chainID uint64
	dir     string
	log     *slog.Logger

	mu   sync.Mutex
	data map[common.Hash][]byte

	Withhold atomic.Bool // sign, but serve nothing
	Silent   atomic.Bool // neither sign nor serve (down)

	service
}

// NewMember returns a member signing with key for the rollup of chainID,
// keeping data in dir ("" in memory).
func NewMember(key *BLSKey, chainID uint64, dir string, log *slog.Logger) (*Member, error) {
	if log == nil {
		log = slog.Default()
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return &Member{key: key, chainID: chainID, dir: dir, log: log, data: map[common.Hash][]byte{}}, nil
}

// Store keeps data, durably with a directory, and only then returns the
// member's signature for it.
func (m *Member) Store(data []byte) (bn254.G1Affine, error) {
	h := crypto.Keccak256Hash(data)
	if m.dir != "" {
		if err := writeSynced(filepath.Join(m.dir, h.Hex()), data); err != nil {
			return bn254.G1Affine{}, err
		}
	} else {
		m.mu.Lock()
		m.data[h] = bytes.Clone(data)
		m.mu.Unlock()
	}
	return m.key.Sign(CertMessage(m.chainID, h))
}

// writeSynced writes a file whole and syncs it, through a temporary name.
func writeSynced(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".store-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Get returns the data of hash, if kept and not withheld.
func (m *Member) Get(h common.Hash) ([]byte, bool) {
	if m.Withhold.Load() || m.Silent.Load() {
		return nil, false
	}
	if m.dir != "" {
		d, err := os.ReadFile(filepath.Join(m.dir, h.Hex()))
		return d, err == nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.data[h]
	return d, ok
}

// ServeHTTP implements the member's two endpoints.
func (m *Member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/dac/store":
		if m.Silent.Load() {
			http.Error(w, "member down", http.StatusServiceUnavailable)
			return
		}
		data, ok := readStored(w, r)
		if !ok {
			return
		}
		sig, err := m.Store(data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b := sig.Bytes()
		writeJSON(w, map[string]string{"signature": hex.EncodeToString(b[:])})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/dac/data/"):
		raw, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/dac/data/"), "0x"))
		if err != nil || len(raw) != 32 {
			http.Error(w, "want /dac/data/<32-byte hash in hex>", http.StatusBadRequest)
			return
		}
		d, ok := m.Get(common.BytesToHash(raw))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(d)
	default:
		http.Error(w, "POST /dac/store or GET /dac/data/{hash}", http.StatusNotFound)
	}
}

// readStored reads a store request's body, at most MaxStoreSize bytes,
// answering 413 past that.
func readStored(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxStoreSize))
	if err != nil {
		http.Error(w, fmt.Sprintf("data over %d bytes: %v", MaxStoreSize, err), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return data, true
}

// Start serves the member at addr ("127.0.0.1:0" picks a port).
func (m *Member) Start(addr string) error { return m.service.start(addr, m) }

// service is an HTTP server of the DA nodes (committee members, storage
// nodes).
type service struct {
	srv *http.Server
	ln  net.Listener
}

func (s *service) start(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// URL is where the node serves.
func (s *service) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops serving.
func (s *service) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// CommitteeClient is the batcher's and the nodes' side of a committee:
// it has every member store data and aggregates their signatures into a
// certificate, and fetches data back from any member.
type CommitteeClient struct {
	Committee *Committee
	ChainID   uint64
	URLs      []string // member i at URLs[i]
	Timeout   time.Duration
	HTTP      *http.Client
}

// NewCommitteeClient returns a client of the committee's members at urls.
func NewCommitteeClient(c *Committee, chainID uint64, urls []string) *CommitteeClient {
	return &CommitteeClient{Committee: c, ChainID: chainID, URLs: urls, Timeout: 2 * time.Second, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// ErrNoQuorum is returned when too few members signed in time.
var ErrNoQuorum = errors.New("too few committee members signed")

// Certify has every member store data and returns the certificate of the
// signatures that came back within Timeout and verify, or ErrNoQuorum.
func (c *CommitteeClient) Certify(ctx context.Context, data []byte) (*Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	h := crypto.Keccak256Hash(data)
	msg := CertMessage(c.ChainID, h)
	type answer struct {
		i   int
		sig bn254.G1Affine
		err error
	}
	answers := make(chan answer, len(c.URLs))
	for i, url := range c.URLs {
		go func() {
			sig, err := c.store(ctx, url, data)
			if err == nil && !verifyOne(&c.Committee.Members[i], msg, &sig) {
				err = fmt.Errorf("member %d's signature does not verify", i)
			}
			answers <- answer{i, sig, err}
		}()
	}
	cert := &Certificate{DataHash: h}
	var sigs []bn254.G1Affine
	var errs []error
	for range c.URLs {
		a := <-answers
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		cert.Signers |= 1 << a.i
		sigs = append(sigs, a.sig)
	}
	if len(sigs) < c.Committee.Threshold {
		return nil, fmt.Errorf("%w: %d of %d, need %d: %w", ErrNoQuorum, len(sigs), len(c.URLs), c.Committee.Threshold, errors.Join(errs...))
	}
	cert.Sig = Aggregate(sigs)
	return cert, nil
}

func (c *CommitteeClient) store(ctx context.Context, url string, data []byte) (bn254.G1Affine, error) {
	var sig bn254.G1Affine
	var out struct{ Signature string }
	if err := httpDo(ctx, c.HTTP, http.MethodPost, url+"/dac/store", data, &out); err != nil {
		return sig, err
	}
	b, err := hex.DecodeString(out.Signature)
	if err != nil {
		return sig, err
	}
	_, err = sig.SetBytes(b)
	return sig, err
}

// verifyOne checks one member's signature.
func verifyOne(pk *bn254.G2Affine, msg []byte, sig *bn254.G1Affine) bool {
	c := Committee{Members: []bn254.G2Affine{*pk}, Threshold: 1}
	return c.verifyMsg(msg, 1, sig) == nil
}

// Fetch returns the data of hash from the first member that serves it,
// checked against the hash.
func (c *CommitteeClient) Fetch(ctx context.Context, h common.Hash) ([]byte, error) {
	var errs []error
	for _, url := range c.URLs {
		var data []byte
		switch err := httpDo(ctx, c.HTTP, http.MethodGet, url+"/dac/data/"+h.Hex(), nil, &data); {
		case err != nil:
			errs = append(errs, err)
		case crypto.Keccak256Hash(data) != h:
			errs = append(errs, fmt.Errorf("%s served data of another hash", url))
		default:
			return data, nil
		}
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrDataWithheld, h, errors.Join(errs...))
}
