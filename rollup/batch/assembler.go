package batch

import (
	"errors"
	"fmt"
)

// Assembler rebuilds channels from frames in L1 order, under strict
// (Holocene-style) ordering. At most one channel is open at a time. It is a
// pure, deterministic state machine: it knows time only through the L1 block
// numbers it is given. It is not safe for concurrent use.
//
// Rules:
//
//  1. A frame with Number 0 opens a new channel with its ID at block `at`; an
//     open incomplete channel is dropped (ErrChannelReplaced).
//  2. A frame with Number > 0 is accepted only if it belongs to the open
//     channel and its Number is exactly the next expected one; otherwise the
//     frame is dropped (ErrFrameOutOfOrder).
//  3. A frame arriving when the open channel has timed out
//     (at > openedAt+timeout) drops the channel first (ErrChannelTimeout),
//     then the frame is handled by rules 1–2 (so a Number-0 frame opens a new
//     channel).
//  4. The channel completes when its IsLast frame is accepted; its data is the
//     concatenation of its frames' Data. The assembler is then empty.
//  5. A channel whose accumulated data exceeds MaxChannelSize (10 MiB) is
//     dropped (ErrTooLarge).
//
// A frame 0 that is also its channel's last frame opens and completes a
// channel at once. A channel whose frame 65535 is not its last can never
// complete; it is dropped by timeout or replacement.
type Assembler struct {
	timeout uint64
	st      ChannelState
	data    []byte
}

// ChannelState is the assembler's state less the channel's data: all its
// rules need. A contract that assembles a channel over several calls (the
// one-step proof's parted loads) keeps it in storage and the data beside it.
type ChannelState struct {
	Open     bool
	ID       ChannelID
	OpenedAt uint64 // L1 block of the channel's first frame
	Next     int    // frames accepted: the Number of the next one expected
	Size     int    // data bytes accepted
}

// StepResult is what one frame does to a channel being assembled.
type StepResult struct {
	Discard  bool  // drop the data gathered so far: the open channel was dropped
	Take     bool  // the frame's data joins the channel (after any Discard)
	Complete bool  // the frame completes the channel; the state is empty again
	Dropped  error // why frames or a channel were dropped, as Add reports it
}

// Step applies frame f, found in L1 block at, to s under the Assembler's
// rules (see Assembler), for channels that time out after timeout blocks.
func (s *ChannelState) Step(f Frame, at, timeout uint64) StepResult {
	var (
		r    StepResult
		errs []error
	)
	if err := s.Expire(at, timeout); err != nil {
		errs = append(errs, err)
		r.Discard = true
	}
	switch {
	case f.Number == 0:
		if s.Open {
			errs = append(errs, fmt.Errorf("%w: channel %x (%d frames) by channel %x", ErrChannelReplaced, s.ID, s.Next, f.ID))
		}
		r.Discard = true
		*s = ChannelState{Open: true, ID: f.ID, OpenedAt: at}
	case !s.Open:
		r.Dropped = errors.Join(append(errs, fmt.Errorf("%w: frame %d of channel %x: no open channel", ErrFrameOutOfOrder, f.Number, f.ID))...)
		return r
	case f.ID != s.ID:
		r.Dropped = errors.Join(append(errs, fmt.Errorf("%w: frame %d of channel %x: open channel is %x", ErrFrameOutOfOrder, f.Number, f.ID, s.ID))...)
		return r
	case int(f.Number) != s.Next:
		r.Dropped = errors.Join(append(errs, fmt.Errorf("%w: frame %d of channel %x: want frame %d", ErrFrameOutOfOrder, f.Number, f.ID, s.Next))...)
		return r
	}
	if len(f.Data) > MaxChannelSize-s.Size {
		errs = append(errs, fmt.Errorf("%w: channel %x over %d bytes", ErrTooLarge, s.ID, MaxChannelSize))
		*s = ChannelState{}
		r.Discard = true
		r.Dropped = errors.Join(errs...)
		return r
	}
	r.Take = true
	s.Size += len(f.Data)
	s.Next++
	if f.IsLast {
		r.Complete = true
		*s = ChannelState{}
	}
	r.Dropped = errors.Join(errs...)
	return r
}

// Expire drops the open channel if it has timed out by L1 block at
// (at > OpenedAt+timeout), returning ErrChannelTimeout (wrapped), else nil.
func (s *ChannelState) Expire(at, timeout uint64) error {
	if !s.Open || at <= s.OpenedAt || at-s.OpenedAt <= timeout {
		return nil
	}
	err := fmt.Errorf("%w: channel %x opened at L1 block %d, now %d", ErrChannelTimeout, s.ID, s.OpenedAt, at)
	*s = ChannelState{}
	return err
}

// NewAssembler returns an empty assembler whose channels time out after
// timeout L1 blocks.
func NewAssembler(timeout uint64) *Assembler {
	return &Assembler{timeout: timeout}
}

// Add takes one frame found in L1 block at (frames of one transaction in
// order, transactions in L1 order, at non-decreasing). It returns the complete
// channel data when this frame completes the open channel, and a non-nil
// dropped reason when the frame or a channel was discarded: one of
// ErrChannelReplaced, ErrFrameOutOfOrder, ErrChannelTimeout, ErrTooLarge
// (wrapped with detail), or, when both a timed-out channel and then the frame
// were dropped, errors.Join of the two. Test it with errors.Is. Data and
// dropped may both be non-nil: a timed-out or replaced channel dropped by a
// frame that opens and completes a new channel.
func (a *Assembler) Add(f Frame, at uint64) (data []byte, dropped error) {
	r := a.st.Step(f, at, a.timeout)
	if r.Discard {
		a.data = a.data[:0]
	}
	if r.Take {
		a.data = append(a.data, f.Data...)
	}
	if r.Complete {
		data = a.data
		if data == nil {
			data = []byte{}
		}
		a.data = nil
	}
	return data, r.Dropped
}

// Expire drops the open channel if it has timed out by L1 block at
// (at > openedAt+timeout), returning ErrChannelTimeout (wrapped), else nil.
func (a *Assembler) Expire(at uint64) error {
	err := a.st.Expire(at, a.timeout)
	if err != nil {
		a.data = a.data[:0]
	}
	return err
}

// Open reports whether a channel is open.
func (a *Assembler) Open() bool { return a.st.Open }

// Reset empties the assembler, dropping any open channel silently.
func (a *Assembler) Reset() {
	a.st = ChannelState{}
	a.data = a.data[:0]
}
