package wing

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

type named struct{ name string }

func (n named) Address() common.Address         { return common.BytesToAddress([]byte(n.name)) }
func (n named) Name() string                    { return n.name }
func (n named) RequiredGas([]byte) uint64       { return 0 }
func (n named) Run(*chain.Call) ([]byte, error) { return nil, nil }

// Sections become contracts in name order, whatever order the genesis map
// iterates in; a nil registry knows no wing, and a genesis without wings
// needs none.
func TestRegistryContracts(t *testing.T) {
	r := NewRegistry()
	for _, n := range []string{"b", "a", "c"} {
		if err := r.Add(n, func(json.RawMessage) ([]chain.SystemContract, error) { return []chain.SystemContract{named{n}}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	sections := map[string]json.RawMessage{"c": nil, "a": nil, "b": nil}
	for range 10 {
		cs, err := r.Contracts(sections)
		if err != nil || len(cs) != 3 || cs[0].Name() != "a" || cs[1].Name() != "b" || cs[2].Name() != "c" {
			t.Fatalf("contracts %v, %v", cs, err)
		}
	}
	var none *Registry
	if cs, err := none.Contracts(nil); err != nil || len(cs) != 0 {
		t.Fatalf("no wings: %v %v", cs, err)
	}
	if _, err := none.Contracts(sections); !errors.Is(err, ErrUnknownWing) {
		t.Fatalf("a nil registry ran a wing: %v", err)
	}
	if got := r.Names(); len(got) != 3 || got[0] != "a" {
		t.Fatalf("names %v", got)
	}
}
