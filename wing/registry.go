// Package wing is the registry through which Layer-2 wings install their
// contracts on the L1. A wing (the optimistic rollup, the ZK rollup, ...)
// names itself and turns its section of the L1 genesis into the system
// contracts every L1 node runs; the L1 is handed a Registry and knows
// nothing else of the wings. The package depends on the execution core
// only, not on CometBFT, so a wing's tests do not pull in consensus.
package wing

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cairn-dev/cairn/chain"
)

// Contracts turns a wing's genesis section into the L1 system contracts it
// runs.
type Contracts func(section json.RawMessage) ([]chain.SystemContract, error)

// Errors of the registry.
var (
	// ErrUnknownWing is returned for a genesis naming a wing the registry
	// lacks: the node would run another chain than its peers.
	ErrUnknownWing = errors.New("genesis names a wing this binary does not have")
	// ErrDuplicate is returned when a name is registered twice.
	ErrDuplicate = errors.New("wing registered twice")
)

// Registry maps wing names to their L1 contracts. The zero value is empty
// and usable; a nil *Registry knows no wing.
type Registry struct {
	wings map[string]Contracts
}

// NewRegistry returns a registry of the given wings.
func NewRegistry() *Registry { return &Registry{} }

// Add registers a wing.
func (r *Registry) Add(name string, f Contracts) error {
	if r.wings == nil {
		r.wings = map[string]Contracts{}
	}
	if r.wings[name] != nil {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	r.wings[name] = f
	return nil
}

// Names lists the registered wings, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(r.wings))
}

// Contracts returns the system contracts of a genesis's wing sections, in
// name order.
func (r *Registry) Contracts(sections map[string]json.RawMessage) ([]chain.SystemContract, error) {
	var out []chain.SystemContract
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		var f Contracts
		if r != nil {
			f = r.wings[name]
		}
		if f == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownWing, name)
		}
		cs, err := f(sections[name])
		if err != nil {
			return nil, fmt.Errorf("wing %q: %w", name, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Rules is what a wing's genesis section decodes into: its contracts'
// rules, which can say whether they work.
type Rules interface{ Validate() error }

// Decode reads a wing's genesis section into rules p and checks them; a
// section that does not decode is an error wrapping errParams.
func Decode[P Rules](raw json.RawMessage, errParams error) (P, error) {
	var p P
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("%w: %w", errParams, err)
	}
	return p, p.Validate()
}
