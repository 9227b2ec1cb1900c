package batch

import (
	"bytes"
	"errors"
	"testing"
)

func frame(id byte, n uint16, data string, last bool) Frame {
	return Frame{ID: ChannelID{id}, Number: n, Data: []byte(data), IsLast: last}
}

type step struct {
	f       Frame
	at      uint64
	data    string // "" when no channel completes
	dropped []error
}

func runSteps(t *testing.T, a *Assembler, steps []step) {
	t.Helper()
	for i, s := range steps {
		data, dropped := a.Add(s.f, s.at)
		if s.data == "" && data != nil || s.data != "" && !bytes.Equal(data, []byte(s.data)) {
			t.Fatalf("step %d: data %q, want %q", i, data, s.data)
		}
		if (dropped == nil) != (len(s.dropped) == 0) {
			t.Fatalf("step %d: dropped %v, want %v", i, dropped, s.dropped)
		}
		for _, want := range s.dropped {
			if !errors.Is(dropped, want) {
				t.Fatalf("step %d: dropped %v, want %v", i, dropped, want)
			}
		}
	}
}

func TestAssemblerInOrder(t *testing.T) {
	a := NewAssembler(10)
	runSteps(t, a, []step{
		{f: frame(1, 0, "ab", false), at: 1},
		{f: frame(1, 1, "", false), at: 2},
		{f: frame(1, 2, "cd", false), at: 2},
		{f: frame(1, 3, "e", true), at: 11, data: "abcde"},
		// The assembler is empty again: a frame 0 that is last completes at once.
		{f: frame(2, 0, "x", true), at: 11, data: "x"},
		// Late frames of completed channels are dropped.
		{f: frame(2, 1, "y", true), at: 11, dropped: []error{ErrFrameOutOfOrder}},
	})
	// An empty channel completes with empty, non-nil data.
	data, dropped := a.Add(frame(3, 0, "", true), 12)
	if data == nil || len(data) != 0 || dropped != nil {
		t.Fatalf("empty channel: %q, %v", data, dropped)
	}
}

func TestAssemblerReplaced(t *testing.T) {
	a := NewAssembler(10)
	runSteps(t, a, []step{
		{f: frame(1, 0, "a", false), at: 1},
		{f: frame(1, 1, "b", false), at: 1},
		{f: frame(2, 0, "c", false), at: 2, dropped: []error{ErrChannelReplaced}},
		{f: frame(1, 2, "z", true), at: 2, dropped: []error{ErrFrameOutOfOrder}},
		// The same ID reopened is a new channel too.
		{f: frame(2, 0, "d", false), at: 3, dropped: []error{ErrChannelReplaced}},
		{f: frame(2, 1, "e", true), at: 3, data: "de"},
	})
}

func TestAssemblerOutOfOrder(t *testing.T) {
	a := NewAssembler(10)
	runSteps(t, a, []step{
		{f: frame(1, 1, "x", false), at: 1, dropped: []error{ErrFrameOutOfOrder}}, // nothing open
		{f: frame(1, 0, "a", false), at: 1},
		{f: frame(1, 2, "x", false), at: 1, dropped: []error{ErrFrameOutOfOrder}}, // gap
		{f: frame(1, 0, "a", false), at: 1, dropped: []error{ErrChannelReplaced}}, // duplicate frame 0 replaces
		{f: frame(1, 1, "b", false), at: 1},
		{f: frame(1, 1, "b", false), at: 1, dropped: []error{ErrFrameOutOfOrder}}, // duplicate
		{f: frame(9, 2, "x", false), at: 1, dropped: []error{ErrFrameOutOfOrder}}, // other channel
		{f: frame(1, 2, "c", true), at: 1, data: "abc"},
	})
}

func TestAssemblerTimeout(t *testing.T) {
	a := NewAssembler(10)
	runSteps(t, a, []step{
		{f: frame(1, 0, "a", false), at: 100},
		{f: frame(1, 1, "b", false), at: 110}, // at == openedAt+timeout: still open
		{f: frame(1, 2, "c", true), at: 111, dropped: []error{ErrChannelTimeout, ErrFrameOutOfOrder}},
		{f: frame(2, 0, "d", false), at: 111},
		// A timed-out channel is dropped before a new frame 0 opens the next
		// one, which is not a replacement.
		{f: frame(3, 0, "e", true), at: 200, data: "e", dropped: []error{ErrChannelTimeout}},
	})
	data, err := a.Add(frame(3, 0, "e", true), 200)
	if err != nil || string(data) != "e" {
		t.Fatal(data, err)
	}
	if _, err := a.Add(frame(4, 0, "f", false), 300); err != nil {
		t.Fatal(err)
	}
	if err := a.Expire(310); err != nil {
		t.Fatal(err)
	}
	if err := a.Expire(311); !errors.Is(err, ErrChannelTimeout) {
		t.Fatalf("expire: %v", err)
	}
	if err := a.Expire(400); err != nil {
		t.Fatalf("second expire: %v", err)
	}
	runSteps(t, a, []step{{f: frame(4, 1, "g", true), at: 400, dropped: []error{ErrFrameOutOfOrder}}})
	// Reset drops silently.
	a.Add(frame(5, 0, "h", false), 400)
	a.Reset()
	runSteps(t, a, []step{{f: frame(5, 1, "i", true), at: 400, dropped: []error{ErrFrameOutOfOrder}}})
}

func TestAssemblerTooLarge(t *testing.T) {
	a := NewAssembler(1000)
	chunk := string(make([]byte, MaxFrameLen))
	var steps []step
	n := uint16(MaxChannelSize / MaxFrameLen) // 10 frames: 10,000,000 bytes
	for i := range n {
		steps = append(steps, step{f: frame(1, i, chunk, false), at: 1})
	}
	rest := MaxChannelSize - int(n)*MaxFrameLen
	steps = append(steps, step{f: frame(1, n, string(make([]byte, rest+1)), true), at: 1, dropped: []error{ErrTooLarge}})
	steps = append(steps, step{f: frame(1, n+1, "x", true), at: 1, dropped: []error{ErrFrameOutOfOrder}})
	runSteps(t, a, steps)

	// Exactly MaxChannelSize is fine.
	for i := range n {
		if _, err := a.Add(frame(2, i, chunk, false), 1); err != nil {
			t.Fatal(err)
		}
	}
	data, err := a.Add(frame(2, n, string(make([]byte, rest)), true), 1)
	if err != nil || len(data) != MaxChannelSize {
		t.Fatalf("%d bytes, %v", len(data), err)
	}
}
