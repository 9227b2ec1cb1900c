// Package contracts holds Solidity contracts used by Cairn's tests and lab,
// with their compiled artifacts committed under build/ (rebuild them with
// `bash contracts/build.sh`, which runs solc-js 0.8.28 with default settings).
package contracts

import (
	_ "embed"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
)

var (
	//go:embed build/Greeter.abi
	greeterABI string
	//go:embed build/Greeter.bin
	greeterBin string
)

// Greeter returns the Greeter contract's ABI and creation bytecode.
func Greeter() (abi.ABI, []byte) {
	parsed, err := abi.JSON(strings.NewReader(greeterABI))
	if err != nil {
		panic(err) // the artifact is committed and valid
	}
	return parsed, common.FromHex(strings.TrimSpace(greeterBin))
}
