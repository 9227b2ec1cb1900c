package da

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// A square's data comes back whole, its shares verify against their rows,
// and a quarter of the extended shares (the data quadrant alone) rebuilds
// it; withholding the minimal (k+1)² block stops anyone.
func TestSquare(t *testing.T) {
	for _, k := range []int{1, 4, 16} {
		data := randomData(k*k*ShareSize-100, uint64(k))
		sq, err := Extend(data, k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sq.Data()[:len(data)], data) {
			t.Fatalf("k=%d: the data quadrant is not the data", k)
		}
		w := sq.Width()
		for _, c := range [][2]int{{0, 0}, {w - 1, w - 1}, {k, 0}, {0, k}} {
			if err := VerifyShare(sq.RowRoots, c[0], c[1], sq.Shares[c[0]][c[1]], sq.Proof(c[0], c[1])); err != nil {
				t.Fatalf("k=%d share %v: %v", k, c, err)
			}
		}
		bad := bytes.Clone(sq.Shares[0][1])
		bad[0] ^= 1
		if err := VerifyShare(sq.RowRoots, 0, 1, bad, sq.Proof(0, 1)); !errors.Is(err, ErrShareProof) {
			t.Fatalf("k=%d: a tampered share verified: %v", k, err)
		}
		quarter := sq.DataQuadrant()
		got, err := Reconstruct(k, quarter, sq.RowRoots, sq.ColRoots)
		if err != nil || got.DataRoot() != sq.DataRoot() {
			t.Fatalf("k=%d: rebuilding from the data quadrant: %v", k, err)
		}
		hidden := WithholdMinimal(sq)
		rest := sq.Partial(func(i, j int) bool { return !hidden.Hidden[[2]int{i, j}] })
		if _, err := Reconstruct(k, rest, sq.RowRoots, sq.ColRoots); !errors.Is(err, ErrUnrecover) {
			t.Fatalf("k=%d: rebuilt without the minimal withheld block: %v", k, err)
		}
		// A forged share among the rest: the rebuilt square fails its roots.
		quarter[0][0] = bad
		if _, err := Reconstruct(k, quarter, sq.RowRoots, sq.ColRoots); !errors.Is(err, ErrShareProof) {
			t.Fatalf("k=%d: rebuilt with a forged share: %v", k, err)
		}
	}
	if _, err := Extend(make([]byte, 5*ShareSize), 2); !errors.Is(err, ErrSize) {
		t.Fatalf("overfull square: %v", err)
	}
}

// Light nodes sampling a withholding publisher: the measured detection
// rate over 2,000 trials matches the formula within sampling error, and
// every sample of an honest server is accepted.
func TestSamplingDetects(t *testing.T) {
	k := 8
	sq, err := Extend(randomData(k*k*ShareSize, 3), k)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	if !Sample(sq.RowRoots, Full{sq}, 16, rng) {
		t.Fatal("an honest server was rejected")
	}
	srv := WithholdMinimal(sq)
	for _, s := range []int{1, 4, 16} {
		const trials = 2000
		caught := 0
		for range trials {
			if !Sample(sq.RowRoots, srv, s, rng) {
				caught++
			}
		}
		got, want := float64(caught)/trials, DetectionProbability(k, s)
		if d := got - want; d > 0.04 || d < -0.04 {
			t.Fatalf("s=%d: detected %.3f, formula %.3f", s, got, want)
		}
	}
	if p := DetectionProbability(64, 16); p < 0.99 {
		t.Fatalf("k=64, 16 samples: %.4f", p)
	}
}

// Anyone's bytes as shares and proofs: checking and rebuilding never
// panic.
func FuzzShares(f *testing.F) {
	sq, err := Extend(randomData(4*ShareSize, 1), 2)
	if err != nil {
		f.Fatal(err)
	}
	p := sq.Proof(1, 2)
	f.Add(sq.Shares[1][2], p[0][:], 1, 2)
	f.Fuzz(func(t *testing.T, share, proof []byte, i, j int) {
		var pr [][32]byte
		for len(proof) >= 32 {
			var h [32]byte
			copy(h[:], proof)
			pr, proof = append(pr, h), proof[32:]
		}
		_ = VerifyShare(sq.RowRoots, i, j, share, pr)
		shares := make([][][]byte, 4)
		for r := range shares {
			shares[r] = make([][]byte, 4)
		}
		if i >= 0 && j >= 0 && i < 4 && j < 4 {
			shares[i][j] = share
		}
		_, _ = Reconstruct(2, shares, sq.RowRoots, sq.ColRoots)
	})
}
