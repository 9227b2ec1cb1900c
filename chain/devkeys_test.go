package chain

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The first accounts of the test mnemonic, as Anvil and Hardhat print them.
func TestDevKeysMatchAnvil(t *testing.T) {
	want := map[uint32]string{
		0: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
		1: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
		9: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
	}
	for i, addr := range want {
		if got := DevAddress(i); got != common.HexToAddress(addr) {
			t.Errorf("account %d: got %s, want %s", i, got, addr)
		}
	}
	key := common.Bytes2Hex(crypto.FromECDSA(DevKey(0)))
	if key != "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" {
		t.Errorf("account 0 key: got %s", key)
	}
}
