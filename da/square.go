// Package da is where a rollup's data can live besides L1 calldata
// (docs/da.md), and how each place is checked:
//
//   - blob.go, beacon.go: blobs on the L1 (EIP-4844), in the OP Stack's
//     blob encoding, read from a Beacon API and checked against their
//     versioned hashes;
//   - committee.go, member.go: a data-availability committee (Arbitrum
//     AnyTrust's design): members keep the data and sign for it, BLS over
//     BN254, and the L1 gets an aggregated certificate;
//   - square.go, sample.go, storage.go: erasure-coded sampling: the data
//     cut into a k×k square of shares, extended with Reed–Solomon codes
//     (klauspost/reedsolomon) into a 2k×2k square, every row and column
//     committed by a Merkle root; storage nodes serve shares with proofs
//     and light nodes sample a few. Withholding enough to stop anyone
//     rebuilding the data means withholding at least (k+1)² shares, which
//     random samples find with a probability that grows fast with their
//     count.
//
// Celestia's rsmt2d and namespaced Merkle trees are not served to this
// build, so the square's commitments are Cairn's own: SHA-256 binary
// Merkle trees, one per row and per column, under one data root.
package da

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// ShareSize is the bytes of one share, as Celestia's.
const ShareSize = 512

// MaxK bounds a square's width, so one batch's work stays bounded (the
// codes need 2k ≤ 256 shards).
const MaxK = 128

// Errors of squares and shares.
var (
	ErrSize       = errors.New("da: data does not fit the square")
	ErrShareProof = errors.New("da: share does not match its row's root")
	ErrUnrecover  = errors.New("da: too few shares to rebuild the square")
)

// Square is an extended data square: 2k×2k shares, the top-left k×k the
// data, the rest parity; with the Merkle root of each row and column.
type Square struct {
	K        int
	Shares   [][][]byte // [row][col]
	RowRoots [][32]byte
	ColRoots [][32]byte
}

// Width is 2k.
func (s *Square) Width() int { return 2 * s.K }

// DataRoot commits to every row and column root: what the L1 would hold.
func (s *Square) DataRoot() [32]byte {
	var leaves [][]byte
	for _, r := range s.RowRoots {
		leaves = append(leaves, r[:])
	}
	for _, c := range s.ColRoots {
		leaves = append(leaves, c[:])
	}
	return merkleRoot(leaves)
}

// KFor is the smallest power-of-two width whose square holds n bytes.
func KFor(n int) int {
	k := 1
	for k*k*ShareSize < n {
		k *= 2
	}
	return k
}

// Extend cuts data into a k×k square (padded with zeros) and extends it.
func Extend(data []byte, k int) (*Square, error) {
	if k < 1 || k > MaxK || len(data) > k*k*ShareSize {
		return nil, fmt.Errorf("%w: %d bytes in a %d×%d square of %d-byte shares", ErrSize, len(data), k, k, ShareSize)
	}
	w := 2 * k
	sq := &Square{K: k, Shares: make([][][]byte, w)}
	for i := range sq.Shares {
		sq.Shares[i] = make([][]byte, w)
		for j := range sq.Shares[i] {
			sq.Shares[i][j] = make([]byte, ShareSize)
		}
	}
	for i := range k * k {
		lo := i * ShareSize
		if lo < len(data) {
			copy(sq.Shares[i/k][i%k], data[lo:min(len(data), lo+ShareSize)])
		}
	}
	enc, err := reedsolomon.New(k, k)
	if err != nil {
		return nil, err
	}
	for i := range k { // the data rows: their right halves
		if err := enc.Encode(sq.Shares[i]); err != nil {
			return nil, err
		}
	}
	for j := range w { // every column: its bottom half
		col := sq.column(j)
		if err := enc.Encode(col); err != nil {
			return nil, err
		}
		sq.setColumn(j, col)
	}
	sq.commit()
	return sq, nil
}

func (s *Square) column(j int) [][]byte {
	col := make([][]byte, s.Width())
	for i := range col {
		col[i] = s.Shares[i][j]
	}
	return col
}

func (s *Square) setColumn(j int, col [][]byte) {
	for i := range col {
		s.Shares[i][j] = col[i]
	}
}

func (s *Square) commit() {
	s.RowRoots, s.ColRoots = make([][32]byte, s.Width()), make([][32]byte, s.Width())
	for i := range s.Width() {
		s.RowRoots[i] = merkleRoot(s.Shares[i])
		s.ColRoots[i] = merkleRoot(s.column(i))
	}
}

// Data is the square's data quadrant, row by row (with its padding).
func (s *Square) Data() []byte {
	var out []byte
	for i := range s.K {
		for j := range s.K {
			out = append(out, s.Shares[i][j]...)
		}
	}
	return out
}

// Partial is the square as a node holding only the shares keep names
// sees it: a width-wide grid with the others nil, as Reconstruct takes it.
func (s *Square) Partial(keep func(i, j int) bool) [][][]byte {
	w := s.Width()
	out := make([][][]byte, w)
	for i := range out {
		out[i] = make([][]byte, w)
		for j := range out[i] {
			if keep(i, j) {
				out[i][j] = s.Shares[i][j]
			}
		}
	}
	return out
}

// DataQuadrant is the square with only its data quadrant held, the least
// a node needs to rebuild it.
func (s *Square) DataQuadrant() [][][]byte {
	return s.Partial(func(i, j int) bool { return i < s.K && j < s.K })
}

// Proof is share (i, j)'s Merkle proof against row i's root.
func (s *Square) Proof(i, j int) [][32]byte { return merkleProof(s.Shares[i], j) }

// VerifyShare checks share (i, j) of a square whose row roots are rows.
func VerifyShare(rows [][32]byte, i, j int, share []byte, proof [][32]byte) error {
	if i < 0 || i >= len(rows) || j < 0 || j >= len(rows) || len(share) != ShareSize {
		return fmt.Errorf("%w: share (%d, %d) of a %d-wide square", ErrShareProof, i, j, len(rows))
	}
	if !verifyMerkle(rows[i], share, j, len(rows), proof) {
		return fmt.Errorf("%w: (%d, %d)", ErrShareProof, i, j)
	}
	return nil
}

// Reconstruct rebuilds a k-wide square from some of its shares (nil where
// missing), decoding rows and columns in turn while any has k or more, and
// checks the result against the row and column roots.
func Reconstruct(k int, shares [][][]byte, rows, cols [][32]byte) (*Square, error) {
	w := 2 * k
	if k < 1 || k > MaxK || len(shares) != w || len(rows) != w || len(cols) != w {
		return nil, fmt.Errorf("%w: a %d-wide square with %d rows of shares", ErrSize, w, len(shares))
	}
	enc, err := reedsolomon.New(k, k)
	if err != nil {
		return nil, err
	}
	sq := &Square{K: k, Shares: make([][][]byte, w)}
	missing := 0
	for i := range w {
		if len(shares[i]) != w {
			return nil, fmt.Errorf("%w: row %d has %d shares", ErrSize, i, len(shares[i]))
		}
		sq.Shares[i] = make([][]byte, w)
		for j := range w {
			if shares[i][j] != nil {
				sq.Shares[i][j] = bytes.Clone(shares[i][j])
			} else {
				missing++
			}
		}
	}
	count := func(line [][]byte) int {
		n := 0
		for _, s := range line {
			if s != nil {
				n++
			}
		}
		return n
	}
	for missing > 0 {
		progress := false
		for i := range w {
			if n := count(sq.Shares[i]); n >= k && n < w {
				if err := enc.Reconstruct(sq.Shares[i]); err != nil {
					return nil, err
				}
				missing -= w - n
				progress = true
			}
		}
		for j := range w {
			col := sq.column(j)
			if n := count(col); n >= k && n < w {
				if err := enc.Reconstruct(col); err != nil {
					return nil, err
				}
				sq.setColumn(j, col)
				missing -= w - n
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("%w: %d of %d missing", ErrUnrecover, missing, w*w)
		}
	}
	sq.commit()
	for i := range w {
		if sq.RowRoots[i] != rows[i] || sq.ColRoots[i] != cols[i] {
			return nil, fmt.Errorf("%w: the rebuilt square does not match its roots (line %d)", ErrShareProof, i)
		}
	}
	return sq, nil
}

// merkle trees: SHA-256 over leaves (0x00 ‖ leaf) and nodes (0x01 ‖ l ‖
// r), an odd node promoted; the domain bytes keep a leaf from passing as
// a node.

func leafHash(b []byte) [32]byte { return sha256.Sum256(append([]byte{0}, b...)) }

func nodeHash(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func merkleRoot(leaves [][]byte) [32]byte {
	root, _ := merkleWalk(leaves, 0)
	return root
}

func merkleProof(leaves [][]byte, index int) [][32]byte {
	_, proof := merkleWalk(leaves, index)
	return proof
}

// merkleWalk builds the tree over leaves level by level and returns its
// root and the sibling path of leaf index; no leaves have the hash of
// nothing as their root.
func merkleWalk(leaves [][]byte, index int) (root [32]byte, proof [][32]byte) {
	if len(leaves) == 0 {
		return sha256.Sum256(nil), nil
	}
	level := make([][32]byte, len(leaves))
	for i, l := range leaves {
		level[i] = leafHash(l)
	}
	for len(level) > 1 {
		if sib := index ^ 1; sib < len(level) {
			proof = append(proof, level[sib])
		}
		next := make([][32]byte, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
			} else {
				next = append(next, nodeHash(level[i], level[i+1]))
			}
		}
		level, index = next, index/2
	}
	return level[0], proof
}

func verifyMerkle(root [32]byte, leaf []byte, index, n int, proof [][32]byte) bool {
	h := leafHash(leaf)
	for n > 1 {
		sib := index ^ 1
		if sib < n {
			if len(proof) == 0 {
				return false
			}
			if index%2 == 0 {
				h = nodeHash(h, proof[0])
			} else {
				h = nodeHash(proof[0], h)
			}
			proof = proof[1:]
		}
		index, n = index/2, (n+1)/2
	}
	return len(proof) == 0 && h == root
}
