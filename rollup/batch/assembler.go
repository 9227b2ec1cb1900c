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

	open     bool
	id       ChannelID
	openedAt uint64
	next     int // Number of the next frame expected
	data     []byte
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
	var errs []error
	if err := a.Expire(at); err != nil {
		errs = append(errs, err)
	}
	switch {
	case f.Number == 0:
		if a.open {
			errs = append(errs, fmt.Errorf("%w: channel %x (%d frames) by channel %x", ErrChannelReplaced, a.id, a.next, f.ID))
		}
		a.Reset()
		a.open, a.id, a.openedAt, a.next = true, f.ID, at, 0
	case !a.open:
		errs = append(errs, fmt.Errorf("%w: frame %d of channel %x: no open channel", ErrFrameOutOfOrder, f.Number, f.ID))
		return nil, errors.Join(errs...)
	case f.ID != a.id:
		errs = append(errs, fmt.Errorf("%w: frame %d of channel %x: open channel is %x", ErrFrameOutOfOrder, f.Number, f.ID, a.id))
		return nil, errors.Join(errs...)
	case int(f.Number) != a.next:
		errs = append(errs, fmt.Errorf("%w: frame %d of channel %x: want frame %d", ErrFrameOutOfOrder, f.Number, f.ID, a.next))
		return nil, errors.Join(errs...)
	}

	// Accept the frame.
	if len(f.Data) > MaxChannelSize-len(a.data) {
		errs = append(errs, fmt.Errorf("%w: channel %x over %d bytes", ErrTooLarge, a.id, MaxChannelSize))
		a.Reset()
		return nil, errors.Join(errs...)
	}
	a.data = append(a.data, f.Data...)
	a.next++
	if f.IsLast {
		data = a.data
		if data == nil {
			data = []byte{}
		}
		a.data = nil
		a.Reset()
	}
	return data, errors.Join(errs...)
}

// Expire drops the open channel if it has timed out by L1 block at
// (at > openedAt+timeout), returning ErrChannelTimeout (wrapped), else nil.
func (a *Assembler) Expire(at uint64) error {
	if !a.open || at <= a.openedAt || at-a.openedAt <= a.timeout {
		return nil
	}
	err := fmt.Errorf("%w: channel %x opened at L1 block %d, now %d", ErrChannelTimeout, a.id, a.openedAt, at)
	a.Reset()
	return err
}

// Reset empties the assembler, dropping any open channel silently.
func (a *Assembler) Reset() {
	a.open, a.id, a.openedAt, a.next = false, ChannelID{}, 0, 0
	a.data = a.data[:0]
}
