package channels

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/cairn-dev/cairn/chain"
)

// The digest is EIP-712's, as go-ethereum's signer (and so every wallet's
// eth_signTypedData_v4) computes it.
func TestDigestIsEIP712(t *testing.T) {
	d := Domain{ChainID: 900, Contract: AdjudicatorAddress}
	s := &State{Channel: common.Hash{9}, Version: 42, BalanceA: big.NewInt(1e18), BalanceB: big.NewInt(5),
		HTLCs: []HTLC{{FromA: true, Amount: big.NewInt(7), PaymentHash: common.Hash{1}, Expiry: 100},
			{FromA: false, Amount: big.NewInt(8), PaymentHash: common.Hash{2}, Expiry: 200}}}
	htlcs := []any{}
	for _, h := range s.HTLCs {
		htlcs = append(htlcs, map[string]any{"fromA": h.FromA, "amount": (*math.HexOrDecimal256)(h.Amount),
			"paymentHash": h.PaymentHash.Hex(), "expiry": (*math.HexOrDecimal256)(new(big.Int).SetUint64(h.Expiry))})
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"HTLC":         {{Name: "fromA", Type: "bool"}, {Name: "amount", Type: "uint256"}, {Name: "paymentHash", Type: "bytes32"}, {Name: "expiry", Type: "uint64"}},
			"State": {{Name: "channel", Type: "bytes32"}, {Name: "version", Type: "uint64"}, {Name: "balanceA", Type: "uint256"},
				{Name: "balanceB", Type: "uint256"}, {Name: "htlcs", Type: "HTLC[]"}, {Name: "final", Type: "bool"}},
		},
		PrimaryType: "State",
		Domain: apitypes.TypedDataDomain{Name: domainName, Version: domainVer,
			ChainId: (*math.HexOrDecimal256)(big.NewInt(900)), VerifyingContract: AdjudicatorAddress.Hex()},
		Message: apitypes.TypedDataMessage{"channel": s.Channel.Hex(), "version": (*math.HexOrDecimal256)(big.NewInt(42)),
			"balanceA": (*math.HexOrDecimal256)(s.BalanceA), "balanceB": (*math.HexOrDecimal256)(s.BalanceB),
			"htlcs": htlcs, "final": false},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Digest(s); got != common.BytesToHash(want) {
		t.Fatalf("digest %s, go-ethereum's EIP-712 hash %x", got, want)
	}
	sig, err := d.Sign(s, chain.DevKey(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(s, sig, chain.DevAddress(4)); err != nil {
		t.Fatal(err)
	}
	s.Version++
	if err := d.Verify(s, sig, chain.DevAddress(4)); err == nil {
		t.Fatal("a signature verified over another version")
	}
}
