package sidechain

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// Relayed headers and validator sets are anyone's bytes: decoding and
// verifying them never panics, whatever they hold.
func FuzzLightDecoders(f *testing.F) {
	cons := NewHandConsensus("cairn-fuzz", 4, nil)
	lb, err := cons.Sign(cons.HeaderAt(1, HandTime(lightCostHeaderTime+1, 1), common.Hash{1}), allOf(4))
	if err != nil {
		f.Fatal(err)
	}
	sh, _ := EncodeSignedHeader(lb.SignedHeader)
	vs, _ := EncodeValidatorSet(lb.Validators)
	f.Add(sh, vs)
	f.Add([]byte{}, []byte{0x0a, 0x00})
	p := LightParams{L1ChainID: 1, SideID: 2, Side: cons.Trust(lightCostHeaderTime), TrustingSeconds: 3600, MaxClockDriftSeconds: 10, WithdrawalDelaySeconds: 60}
	b := NewLightL1(p)
	st, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, vals []byte) {
		_, _ = DecodeSignedHeader(header)
		_, _ = DecodeValidatorSet(vals)
		for _, trusted := range []uint64{0, 5} {
			for _, tv := range [][]byte{nil, vals} {
				in, err := LightABI.Pack("update", trusted, header, vals, tv)
				if err != nil {
					t.Fatal(err)
				}
				_ = b.RequiredGas(in)
				_, _ = b.Run(&chain.Call{State: st, Block: vm.BlockContext{BlockNumber: big.NewInt(1), Time: lightCostHeaderTime + 5},
					Self: b.Address(), Value: new(uint256.Int), Input: in})
			}
		}
	})
}

// Merkle proofs are anyone's bytes too.
func FuzzTransferProof(f *testing.F) {
	t0 := Transfer{Nonce: 3, To: common.Address{7}, Amount: big.NewInt(5)}
	fs, err := ForgeState(2, LightSideAddress, t0)
	if err != nil {
		f.Fatal(err)
	}
	acct, stor := fs.Proof(3)
	f.Add(acct[0], stor[0], uint64(3))
	f.Fuzz(func(t *testing.T, a, s []byte, nonce uint64) {
		t1 := t0
		t1.Nonce = nonce
		_ = VerifyTransferProof(fs.Root, 2, LightSideAddress, t1, [][]byte{a}, [][]byte{s})
		_ = VerifyTransferProof(fs.Root, 2, LightSideAddress, t1, append([][]byte{a}, acct...), append([][]byte{s}, stor...))
	})
}
