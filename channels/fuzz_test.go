package channels

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

// Peer messages from untrusted bytes: they decode or are refused, a
// decoded one re-encodes to what decodes the same, and stepping a channel
// machine with it never panics nor leaves the channel's rules broken.
func FuzzPeerMessage(f *testing.F) {
	id := common.Hash{0xc4}
	for _, m := range []*Message{
		{Type: MsgPropose, Channel: id, Version: 1, Ops: []Op{{Kind: OpPay, Amount: big.NewInt(5)}}},
		{Type: MsgPropose, Channel: id, Version: 1, Ops: []Op{{Kind: OpAddHTLC, Amount: big.NewInt(5), PaymentHash: common.Hash{1}, Expiry: 500,
			Onward: []Hop{{Channel: common.Hash{2}, Amount: big.NewInt(4), Expiry: 300}}}}},
		{Type: MsgAccept, Channel: id, Version: 1, Ops: []Op{{Kind: OpFulfil, Preimage: common.Hash{3}}}, Sig: make([]byte, 65)},
		{Type: MsgConfirm, Channel: id, Version: 1, Sig: make([]byte, 65)},
		{Type: MsgSync, Channel: id},
	} {
		raw, err := EncodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	dom := Domain{ChainID: 900, Contract: AdjudicatorAddress}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := DecodeMessage(raw)
		if err != nil {
			return
		}
		again, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeMessage(again)
		if err != nil {
			t.Fatal(err)
		}
		if again2, _ := EncodeMessage(m2); !bytes.Equal(again, again2) {
			t.Fatal("a message does not re-encode to itself")
		}
		rec := OpeningRecord(id, RoleB, OnChain{DepositA: big.NewInt(100), DepositB: big.NewInt(100)})
		mc := NewMachine(dom, chain.DevKey(5), chain.DevAddress(4), rec, Limits{Height: 10, MinExpiryDelta: 5})
		mc.synced = true
		_, _ = mc.Step(m)
		if s := mc.State(); s.Total().Int64() != 200 || s.Check() != nil {
			t.Fatalf("a peer message broke the channel: %+v", s)
		}
		if h := mc.Record().Half; h != nil && (h.State.Total().Int64() != 200 || h.State.Check() != nil) {
			t.Fatalf("the machine signed a state that breaks the rules: %+v", h.State)
		}
	})
}

// Invoices and channel updates from untrusted text and bytes.
func FuzzInvoiceAndUpdate(f *testing.F) {
	inv := &Invoice{Payee: chain.DevAddress(6), Amount: big.NewInt(1000), Hash: common.Hash{1}, ChainID: 900, Memo: "tea"}
	f.Add([]byte(inv.String()))
	u := &ChannelUpdate{Channel: common.Hash{1}, Node: chain.DevAddress(5), FeeBase: big.NewInt(1), FeePPM: 2, Delta: 3, Seq: 4}
	_ = u.Sign(chain.DevKey(5))
	raw, _ := encodeUpdate(u)
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		if inv, err := ParseInvoice(string(b)); err == nil {
			back, err := ParseInvoice(inv.String())
			if err != nil || back.Hash != inv.Hash || back.Amount.Cmp(inv.Amount) != 0 {
				t.Fatalf("invoice round trip: %v", err)
			}
		}
		if u, err := decodeUpdate(b); err == nil {
			g := newGraph()
			g.addUpdate(u) // verifies or refuses; never panics
			if u.FeeBase != nil {
				_ = u.Fee(big.NewInt(1000))
			}
		}
	})
}
