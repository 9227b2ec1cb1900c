package da

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Data by sampling, for a rollup: the batcher extends each frame's data
// into a square and gives it to storage nodes; the L1 gets a 39-byte
// commitment (the square's data root, width and the data's length). Light
// nodes sample shares from a storage node and accept only if every one
// comes with its proof; a full node fetches the data, or rebuilds it from
// any quarter of the shares, and checks it against the root by extending
// it again.

// SampledVersion is the first byte of a sampling commitment in the inbox
// (frames start with 0, committee certificates with CertVersion).
const SampledVersion = 0x02

// SampledSize is a sampling commitment's size on L1.
const SampledSize = 1 + 32 + 2 + 4

// ErrBadSampled is returned for a malformed commitment, or data that does
// not extend to it.
var ErrBadSampled = errors.New("bad sampling commitment")

// Sampled commits to data cut into a K-wide square.
type Sampled struct {
	Root [32]byte
	K    int
	Len  int
}

// Commit extends data and returns its commitment with the square.
func Commit(data []byte) (*Sampled, *Square, error) {
	sq, err := Extend(data, KFor(len(data)))
	if err != nil {
		return nil, nil, err
	}
	return &Sampled{Root: sq.DataRoot(), K: sq.K, Len: len(data)}, sq, nil
}

// Marshal is the commitment as posted to the inbox.
func (c *Sampled) Marshal() []byte {
	out := []byte{SampledVersion}
	out = append(out, c.Root[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(c.K))
	return binary.BigEndian.AppendUint32(out, uint32(c.Len))
}

// ParseSampled reads a commitment as posted.
func ParseSampled(b []byte) (*Sampled, error) {
	if len(b) != SampledSize || b[0] != SampledVersion {
		return nil, fmt.Errorf("%w: %d bytes, want %d starting with %d", ErrBadSampled, len(b), SampledSize, SampledVersion)
	}
	c := &Sampled{K: int(binary.BigEndian.Uint16(b[33:35])), Len: int(binary.BigEndian.Uint32(b[35:39]))}
	copy(c.Root[:], b[1:33])
	// One width for each length (the smallest that holds it), and no more
	// than one store request: so the work of checking it is bounded.
	if c.Len > MaxStoreSize || c.K != KFor(c.Len) {
		return nil, fmt.Errorf("%w: %d bytes (at most %d) in a %d-wide square (want %d)", ErrBadSampled, c.Len, MaxStoreSize, c.K, KFor(c.Len))
	}
	return c, nil
}

// Check reports whether data is what c commits to: of its length, and
// extending to its root.
func (c *Sampled) Check(data []byte) error {
	if len(data) != c.Len {
		return fmt.Errorf("%w: %d bytes, the commitment says %d", ErrBadSampled, len(data), c.Len)
	}
	sq, err := Extend(data, c.K)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSampled, err)
	}
	if sq.DataRoot() != c.Root {
		return fmt.Errorf("%w: the data extends to another root", ErrBadSampled)
	}
	return nil
}

// StorageNode keeps published squares and serves them over HTTP:
//
//	POST /das/publish                 body: the data → {"root", "k", "len"}
//	GET  /das/roots/{root}            → {"k", "rows", "cols"}
//	GET  /das/share/{root}/{i}/{j}    → {"share", "proof"}
//	GET  /das/data/{root}             → the data
//
// It keeps the data in a directory, synced before it answers a publish
// (in memory with none), and its squares in memory. Withhold makes it
// serve every share but the fewest that stop a rebuild, and no data: the
// publisher that sampling catches.
type StorageNode struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	data    map[[32]byte][]byte
	squares map[[32]byte]*Square

	Withhold atomic.Bool

	service
}

// NewStorageNode returns a storage node keeping data in dir ("" in memory).
func NewStorageNode(dir string, log *slog.Logger) (*StorageNode, error) {
	if log == nil {
		log = slog.Default()
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return &StorageNode{dir: dir, log: log, data: map[[32]byte][]byte{}, squares: map[[32]byte]*Square{}}, nil
}

// Publish keeps data and returns its commitment.
func (n *StorageNode) Publish(data []byte) (*Sampled, error) {
	c, sq, err := Commit(data)
	if err != nil {
		return nil, err
	}
	if n.dir != "" {
		if err := writeSynced(filepath.Join(n.dir, hex.EncodeToString(c.Root[:])), data); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dir == "" {
		n.data[c.Root] = bytes.Clone(data)
	}
	n.squares[c.Root] = sq
	return c, nil
}

// square returns the square of root, rebuilt from the kept data if need be.
func (n *StorageNode) square(root [32]byte) (*Square, []byte, bool) {
	n.mu.Lock()
	sq, data := n.squares[root], n.data[root]
	n.mu.Unlock()
	if data == nil && n.dir != "" {
		d, err := os.ReadFile(filepath.Join(n.dir, hex.EncodeToString(root[:])))
		if err != nil {
			return nil, nil, false
		}
		data = d
	}
	if data == nil {
		return nil, nil, false
	}
	if sq == nil {
		c, s, err := Commit(data)
		if err != nil || c.Root != root {
			return nil, nil, false
		}
		sq = s
		n.mu.Lock()
		n.squares[root] = sq
		n.mu.Unlock()
	}
	return sq, data, true
}

type rootsJSON struct {
	K    int             `json:"k"`
	Rows []hexutil.Bytes `json:"rows"`
	Cols []hexutil.Bytes `json:"cols"`
}

type shareJSON struct {
	Share hexutil.Bytes   `json:"share"`
	Proof []hexutil.Bytes `json:"proof"`
}

// ServeHTTP implements the node's endpoints.
func (n *StorageNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/das/"), "/")
	if r.Method == http.MethodPost && r.URL.Path == "/das/publish" {
		data, ok := readStored(w, r)
		if !ok {
			return
		}
		c, err := n.Publish(data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]any{"root": hexutil.Bytes(c.Root[:]), "k": c.K, "len": c.Len})
		return
	}
	if r.Method != http.MethodGet || len(parts) < 2 {
		http.Error(w, "POST /das/publish, GET /das/roots|data/{root}, GET /das/share/{root}/{i}/{j}", http.StatusNotFound)
		return
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(parts[1], "0x"))
	if err != nil || len(raw) != 32 {
		http.Error(w, "want a 32-byte root in hex", http.StatusBadRequest)
		return
	}
	sq, data, ok := n.square([32]byte(raw))
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	switch {
	case parts[0] == "roots" && len(parts) == 2:
		out := rootsJSON{K: sq.K}
		for i := range sq.RowRoots {
			out.Rows, out.Cols = append(out.Rows, sq.RowRoots[i][:]), append(out.Cols, sq.ColRoots[i][:])
		}
		writeJSON(w, out)
	case parts[0] == "data" && len(parts) == 2:
		if n.Withhold.Load() {
			http.Error(w, "withheld", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	case parts[0] == "share" && len(parts) == 4:
		i, erri := strconv.Atoi(parts[2])
		j, errj := strconv.Atoi(parts[3])
		if erri != nil || errj != nil {
			http.Error(w, "want /das/share/{root}/{row}/{column}", http.StatusBadRequest)
			return
		}
		var srv Server = Full{sq}
		if n.Withhold.Load() {
			srv = WithholdMinimal(sq)
		}
		share, proof, err := srv.Share(i, j)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		out := shareJSON{Share: share}
		for _, p := range proof {
			out.Proof = append(out.Proof, p[:])
		}
		writeJSON(w, out)
	default:
		http.Error(w, "unknown endpoint", http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Start serves the node at addr.
func (n *StorageNode) Start(addr string) error { return n.service.start(addr, n) }

// SamplingClient is the batcher's, the nodes' and the light nodes' side of
// the storage nodes.
type SamplingClient struct {
	URLs []string
	HTTP *http.Client
}

// NewSamplingClient returns a client of the storage nodes at urls.
func NewSamplingClient(urls []string) *SamplingClient {
	return &SamplingClient{URLs: urls, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Publish gives data to every storage node and returns its commitment once
// at least one has kept it under that commitment.
func (c *SamplingClient) Publish(ctx context.Context, data []byte) (*Sampled, error) {
	want, _, err := Commit(data)
	if err != nil {
		return nil, err
	}
	var errs []error
	kept := 0
	for _, url := range c.URLs {
		var got struct {
			Root hexutil.Bytes `json:"root"`
		}
		if err := c.do(ctx, http.MethodPost, url+"/das/publish", data, &got); err != nil {
			errs = append(errs, err)
			continue
		}
		if !bytes.Equal(got.Root, want.Root[:]) {
			errs = append(errs, fmt.Errorf("%s kept the data under another root", url))
			continue
		}
		kept++
	}
	if kept == 0 {
		return nil, fmt.Errorf("no storage node kept the data: %w", errors.Join(errs...))
	}
	return want, nil
}

func (c *SamplingClient) do(ctx context.Context, method, url string, body []byte, out any) error {
	return httpDo(ctx, c.HTTP, method, url, body, out)
}

// httpDo sends one request of the DA clients and reads its answer into
// out: the raw body for a *[]byte, JSON otherwise; a status other than 200
// is an error with the server's message.
func httpDo(ctx context.Context, client *http.Client, method, url string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4*MaxStoreSize))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// remoteSquare serves a light node's samples from a storage node.
type remoteSquare struct {
	c    *SamplingClient
	ctx  context.Context
	url  string
	root [32]byte
}

func (r remoteSquare) Share(i, j int) ([]byte, [][32]byte, error) {
	var out shareJSON
	if err := r.c.do(r.ctx, http.MethodGet, fmt.Sprintf("%s/das/share/%x/%d/%d", r.url, r.root, i, j), nil, &out); err != nil {
		return nil, nil, err
	}
	proof := make([][32]byte, len(out.Proof))
	for k, p := range out.Proof {
		if len(p) != 32 {
			return nil, nil, fmt.Errorf("%w: a proof node of %d bytes", ErrShareProof, len(p))
		}
		proof[k] = [32]byte(p)
	}
	return out.Share, proof, nil
}

// roots fetches a square's row and column roots from url and checks them
// against the commitment.
func (c *SamplingClient) roots(ctx context.Context, url string, com *Sampled) (rows, cols [][32]byte, err error) {
	var out rootsJSON
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/das/roots/%x", url, com.Root), nil, &out); err != nil {
		return nil, nil, err
	}
	if out.K != com.K || len(out.Rows) != 2*com.K || len(out.Cols) != 2*com.K {
		return nil, nil, fmt.Errorf("%w: %s serves a square of another width", ErrBadSampled, url)
	}
	for i := range out.Rows {
		if len(out.Rows[i]) != 32 || len(out.Cols[i]) != 32 {
			return nil, nil, fmt.Errorf("%w: %s serves malformed roots", ErrBadSampled, url)
		}
		rows, cols = append(rows, [32]byte(out.Rows[i])), append(cols, [32]byte(out.Cols[i]))
	}
	if (&Square{RowRoots: rows, ColRoots: cols}).DataRoot() != com.Root {
		return nil, nil, fmt.Errorf("%w: %s serves roots of another square", ErrBadSampled, url)
	}
	return rows, cols, nil
}

// SampleLight is a light node's check of a commitment against the storage
// node at url: s random shares, each verified against its row root. It
// reports whether the light node accepts the data as available.
func (c *SamplingClient) SampleLight(ctx context.Context, url string, com *Sampled, s int, rng *rand.Rand) bool {
	rows, _, err := c.roots(ctx, url, com)
	if err != nil {
		return false
	}
	return Sample(rows, remoteSquare{c: c, ctx: ctx, url: url, root: com.Root}, s, rng)
}

// Fetch returns the data of a commitment: from the first storage node that
// serves it whole, or else rebuilt from the shares the nodes serve; in
// each case checked against the commitment.
func (c *SamplingClient) Fetch(ctx context.Context, com *Sampled) ([]byte, error) {
	var errs []error
	for _, url := range c.URLs {
		var data []byte
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/das/data/%x", url, com.Root), nil, &data); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := com.Check(data); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", url, err))
			continue
		}
		return data, nil
	}
	for _, url := range c.URLs {
		data, err := c.rebuild(ctx, url, com)
		if err == nil {
			return data, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %x: %w", ErrDataWithheld, com.Root, errors.Join(errs...))
}

// rebuild collects the shares url serves and rebuilds the data from them.
func (c *SamplingClient) rebuild(ctx context.Context, url string, com *Sampled) ([]byte, error) {
	rows, cols, err := c.roots(ctx, url, com)
	if err != nil {
		return nil, err
	}
	w := 2 * com.K
	srv := remoteSquare{c: c, ctx: ctx, url: url, root: com.Root}
	shares := make([][][]byte, w)
	for i := range w {
		shares[i] = make([][]byte, w)
		for j := range w {
			if share, proof, err := srv.Share(i, j); err == nil && VerifyShare(rows, i, j, share, proof) == nil {
				shares[i][j] = share
			}
		}
	}
	sq, err := Reconstruct(com.K, shares, rows, cols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	data := sq.Data()[:com.Len]
	if err := com.Check(data); err != nil {
		return nil, err
	}
	return data, nil
}
