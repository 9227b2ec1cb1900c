package l1

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing"
)

type fakeContract struct{ addr common.Address }

func (f fakeContract) Address() common.Address         { return f.addr }
func (f fakeContract) Name() string                    { return "fake" }
func (f fakeContract) RequiredGas([]byte) uint64       { return 0 }
func (f fakeContract) Run(*chain.Call) ([]byte, error) { return nil, nil }

// A genesis's wings become system contracts on every node; a wing the
// binary lacks is an error, not a silently different chain.
func TestGenesisWings(t *testing.T) {
	wings := wing.NewRegistry()
	if err := wings.Add("test-wing", func(raw json.RawMessage) ([]chain.SystemContract, error) {
		var a common.Address
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		return []chain.SystemContract{fakeContract{a}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := wings.Add("test-wing", nil); !errors.Is(err, wing.ErrDuplicate) {
		t.Fatalf("a wing registered twice: %v", err)
	}
	st := GenesisAppState{Wings: map[string]json.RawMessage{"test-wing": json.RawMessage(`"0x00000000000000000000000000000000000000f1"`)}}
	cs, err := st.WingContracts(wings)
	if err != nil || len(cs) != 1 || cs[0].Address() != common.HexToAddress("0xf1") {
		t.Fatalf("wing contracts %v, %v", cs, err)
	}
	st.Wings["no-such-wing"] = json.RawMessage(`{}`)
	if _, err := st.WingContracts(wings); !errors.Is(err, wing.ErrUnknownWing) {
		t.Fatalf("unknown wing: %v", err)
	}
}
