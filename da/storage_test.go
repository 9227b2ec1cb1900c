package da

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

func testStorage(t *testing.T, n int) ([]*StorageNode, *SamplingClient) {
	t.Helper()
	var nodes []*StorageNode
	var urls []string
	for i := range n {
		dir := ""
		if i == 1 {
			dir = t.TempDir()
		}
		s, err := NewStorageNode(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		nodes, urls = append(nodes, s), append(urls, s.URL())
	}
	return nodes, NewSamplingClient(urls)
}

// Published data comes back whole, light nodes accept it, and the
// commitment is 39 bytes.
func TestSamplingPublishFetch(t *testing.T) {
	nodes, c := testStorage(t, 2)
	ctx := context.Background()
	data := bytes.Repeat([]byte("frames "), 3000)
	com, err := c.Publish(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSampled(com.Marshal())
	if err != nil || *back != *com || len(com.Marshal()) != SampledSize || SampledSize != 39 {
		t.Fatalf("commitment %+v, %v", back, err)
	}
	got, err := c.Fetch(ctx, com)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched %d bytes, %v", len(got), err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	if !c.SampleLight(ctx, nodes[0].URL(), com, 16, rng) {
		t.Fatal("a light node refused a full storage node")
	}
	if err := com.Check(append(bytes.Clone(data), 0)); !errors.Is(err, ErrBadSampled) {
		t.Fatalf("other data passed: %v", err)
	}
}

// A storage node that withholds the minimal block and the data: light
// nodes catch it nearly always with 16 samples, and no one can rebuild
// the data from it; one honest node is enough for everyone.
func TestSamplingCatchesWithholding(t *testing.T) {
	nodes, c := testStorage(t, 2)
	ctx := context.Background()
	com, err := c.Publish(ctx, bytes.Repeat([]byte{7}, 60_000))
	if err != nil {
		t.Fatal(err)
	}
	nodes[0].Withhold.Store(true)
	rng := rand.New(rand.NewPCG(2, 2))
	caught := 0
	for range 200 {
		if !c.SampleLight(ctx, nodes[0].URL(), com, 16, rng) {
			caught++
		}
	}
	if p := DetectionProbability(com.K, 16); float64(caught)/200 < p-0.08 {
		t.Fatalf("caught %d of 200, formula %.3f", caught, p)
	}
	withholder := NewSamplingClient([]string{nodes[0].URL()})
	if _, err := withholder.Fetch(ctx, com); !errors.Is(err, ErrDataWithheld) {
		t.Fatalf("data rebuilt from a withholding node: %v", err)
	}
	if _, err := c.Fetch(ctx, com); err != nil {
		t.Fatalf("with one honest node: %v", err)
	}
}

// Shares alone rebuild the data when no node serves it whole.
func TestSamplingRebuildsFromShares(t *testing.T) {
	nodes, c := testStorage(t, 1)
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 5000)
	com, err := c.Publish(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.rebuild(ctx, nodes[0].URL(), com)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("rebuilt %d bytes, %v", len(got), err)
	}
}

func FuzzParseSampled(f *testing.F) {
	c, _, _ := Commit([]byte("seed"))
	f.Add(c.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		com, err := ParseSampled(b)
		if err != nil {
			return
		}
		com.Check([]byte("seed")) // must not panic
	})
}
