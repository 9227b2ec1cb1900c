package rollup

import "fmt"

// DA is where the batcher posts its frames on L1.
type DA string

// The batcher's data-availability modes.
const (
	DACalldata DA = "calldata" // frames in the calldata of inbox transactions
	DABlobs    DA = "blobs"    // frames in the blobs of EIP-4844 transactions to the inbox
	// DACommittee: frames kept by the data-availability committee, whose
	// certificate goes to the inbox in calldata (the frames themselves
	// when the committee does not sign in time).
	DACommittee DA = "committee"
	// DASampling: frames erasure-coded and kept by storage nodes, their
	// square's commitment to the inbox (the frames themselves when no
	// storage node takes them).
	DASampling DA = "sampling"
)

// ParseDA reads a mode by name.
func ParseDA(s string) (DA, error) {
	switch DA(s) {
	case DACalldata, DABlobs, DACommittee, DASampling:
		return DA(s), nil
	case "":
		return DACalldata, nil
	}
	return "", fmt.Errorf("%w: data availability %q: calldata, blobs, committee or sampling", ErrConfig, s)
}

// MaxCalldataGas bounds what a transaction carrying n bytes of calldata and
// running no code costs: 21,000 plus EIP-7623's floor of 40 gas per
// non-zero byte, which is above the standard 16.
func MaxCalldataGas(n int) uint64 { return 21_000 + 40*uint64(n) }
