package chain

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/core/vm"
)

// A revert made for a sentinel error keeps it for errors.Is, beside the
// EVM's revert, and carries its text as the Solidity reason.
func TestRevertWithKeepsItsCause(t *testing.T) {
	err := RevertWith(ErrNotDirectCall, "calling %s", "staking")
	if !errors.Is(err, ErrNotDirectCall) || !errors.Is(err, vm.ErrExecutionReverted) {
		t.Fatalf("%v loses its causes", err)
	}
	var rev *RevertError
	if !errors.As(err, &rev) || rev.Reason != "calling staking: "+ErrNotDirectCall.Error() || len(rev.Data) < 4 {
		t.Fatalf("revert %+v", rev)
	}
	if errors.Is(Revert("plain"), ErrNotDirectCall) {
		t.Fatal("a plain revert has a cause")
	}
}
