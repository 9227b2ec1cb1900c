package zkrollup

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
)

// gnark's decoders read a slice's length as a uint32 and allocate it before
// reading its elements. From untrusted bytes that is up to 2^32 points (a
// quarter of a terabyte) for a few bytes of input, and the Go runtime
// dies of a failed allocation rather than panicking, so no recover saves
// the L1 node. Before decoding a proof or a verifying key, the contract
// walks its encoding and refuses any length the remaining bytes could not
// hold.

// ErrEncoding is returned for a proof or key whose encoding is malformed.
var ErrEncoding = errors.New("malformed Groth16 encoding")

// Sizes of BN254 points in gnark's encoding.
const (
	g1Compressed = 32
	g1Raw        = 64
	g2Compressed = 64
	g2Raw        = 128
	// A pedersen verifying key is two G2 points.
	pedersenKeyMin = 2 * g2Compressed
)

// walker steps through an encoding, checking what it declares.
type walker struct {
	b   []byte
	off int
	err error
}

func (w *walker) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %s at byte %d", ErrEncoding, fmt.Sprintf(format, args...), w.off)
	}
}

func (w *walker) left() int { return len(w.b) - w.off }

// point skips a point whose compressed and raw sizes are given; the top
// two bits of its first byte say which (00: raw).
func (w *walker) point(compressed, raw int) {
	if w.err != nil {
		return
	}
	if w.left() < 1 {
		w.fail("point missing")
		return
	}
	n := compressed
	if w.b[w.off]>>6 == 0 {
		n = raw
	}
	if w.left() < n {
		w.fail("point of %d bytes cut short", n)
		return
	}
	w.off += n
}

// length reads a uint32 length whose elements take at least min bytes
// each, and refuses one the rest of the input cannot hold.
func (w *walker) length(min int) int {
	if w.err != nil {
		return 0
	}
	if w.left() < 4 {
		w.fail("length missing")
		return 0
	}
	n := binary.BigEndian.Uint32(w.b[w.off:])
	w.off += 4
	if uint64(n)*uint64(min) > uint64(w.left()) {
		w.fail("length %d cannot fit in %d bytes", n, w.left())
		return 0
	}
	return int(n)
}

// checkProofEncoding walks a Groth16 proof: Ar (G1), Bs (G2), Krs (G1),
// the commitments ([]G1) and their proof of knowledge (G1).
func checkProofEncoding(b []byte) error {
	w := &walker{b: b}
	w.point(g1Compressed, g1Raw)
	w.point(g2Compressed, g2Raw)
	w.point(g1Compressed, g1Raw)
	for range w.length(g1Compressed) {
		w.point(g1Compressed, g1Raw)
	}
	w.point(g1Compressed, g1Raw)
	return w.err
}

// checkKeyEncoding walks a Groth16 verifying key: α, β (G1), β, γ (G2),
// δ (G1), δ (G2), K ([]G1), the committed public inputs ([][]uint64) and
// the number of commitment keys, each at least pedersenKeyMin bytes.
func checkKeyEncoding(b []byte) error {
	w := &walker{b: b}
	w.point(g1Compressed, g1Raw)
	w.point(g1Compressed, g1Raw)
	w.point(g2Compressed, g2Raw)
	w.point(g2Compressed, g2Raw)
	w.point(g1Compressed, g1Raw)
	w.point(g2Compressed, g2Raw)
	for range w.length(g1Compressed) {
		w.point(g1Compressed, g1Raw)
	}
	for range w.length(4) {
		n := w.length(8)
		if w.err == nil {
			w.off += 8 * n
		}
	}
	w.length(pedersenKeyMin)
	return w.err
}

// readProof decodes a batch proof from untrusted bytes.
func readProof(b []byte) (groth16.Proof, error) {
	if err := checkProofEncoding(b); err != nil {
		return nil, err
	}
	proof := groth16.NewProof(ecc.BN254)
	if _, err := proof.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return proof, nil
}
