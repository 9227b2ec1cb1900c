package da

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Server answers a light node's samples: a storage node serving every
// share, or a publisher withholding some.
type Server interface {
	// Share returns share (i, j) and its proof against row i's root.
	Share(i, j int) ([]byte, [][32]byte, error)
}

// ErrWithheld is a server's answer for a share it will not give.
var ErrWithheld = errors.New("da: share withheld")

// Full serves every share of a square.
type Full struct{ Sq *Square }

// Share implements Server.
func (f Full) Share(i, j int) ([]byte, [][32]byte, error) {
	w := f.Sq.Width()
	if i < 0 || j < 0 || i >= w || j >= w {
		return nil, nil, fmt.Errorf("da: no share (%d, %d) in a %d-wide square", i, j, w)
	}
	return f.Sq.Shares[i][j], f.Sq.Proof(i, j), nil
}

// Withholding serves every share but those hidden.
type Withholding struct {
	Full
	Hidden map[[2]int]bool
}

// Share implements Server.
func (w Withholding) Share(i, j int) ([]byte, [][32]byte, error) {
	if w.Hidden[[2]int{i, j}] {
		return nil, nil, ErrWithheld
	}
	return w.Full.Share(i, j)
}

// WithholdMinimal hides the fewest shares that stop anyone rebuilding sq:
// a (k+1)×(k+1) block (every row and column through it then keeps fewer
// than k of its 2k shares there, so no decoding step can start).
func WithholdMinimal(sq *Square) Withholding {
	h := map[[2]int]bool{}
	for i := range sq.K + 1 {
		for j := range sq.K + 1 {
			h[[2]int{i, j}] = true
		}
	}
	return Withholding{Full: Full{sq}, Hidden: h}
}

// Sample is a light node's check: s distinct random shares of a
// width-wide square, each verified against its row root. It reports
// whether the node accepts (every sample came with a valid proof).
func Sample(rows [][32]byte, srv Server, s int, rng *rand.Rand) bool {
	w := len(rows)
	seen := map[int]bool{}
	for len(seen) < min(s, w*w) {
		n := rng.IntN(w * w)
		if seen[n] {
			continue
		}
		seen[n] = true
		i, j := n/w, n%w
		share, proof, err := srv.Share(i, j)
		if err != nil || VerifyShare(rows, i, j, share, proof) != nil {
			return false
		}
	}
	return true
}

// DetectionProbability is the chance that s distinct uniform samples of a
// k-wide extended square hit a minimal withheld block of (k+1)² shares:
// 1 − ∏_{i<s} (1 − (k+1)²/(4k² − i)).
func DetectionProbability(k, s int) float64 {
	total, hidden := float64(4*k*k), float64((k+1)*(k+1))
	miss := 1.0
	for i := range s {
		left := total - float64(i)
		miss *= max(0, (left-hidden)/left)
	}
	return 1 - miss
}
