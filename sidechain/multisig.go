package sidechain

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
)

// The multisig bridge is Ronin's design (rule S1 of docs/sidechain.md): a
// fixed set of N attester keys, of which M must sign each deposit (for the
// sidechain to mint) and each withdrawal (for the L1 to release). It
// trusts M of the N keys with everything the bridge holds: whoever holds
// M keys can release any amount to anyone.

// Addresses of the multisig bridge's two halves.
var (
	// MultisigL1Address is the L1 half: it locks deposits and releases
	// withdrawals.
	MultisigL1Address = common.HexToAddress("0x00000000000000000000000000000000CA1E0400")
	// MultisigSideAddress is the sidechain half: it mints deposits and
	// burns withdrawals.
	MultisigSideAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0401")
)

// MultisigParams are a multisig bridge's rules, the same on both chains.
type MultisigParams struct {
	Attesters []common.Address `json:"attesters"`
	Threshold int              `json:"threshold"`
	L1ChainID uint64           `json:"l1ChainId"`
	SideID    uint64           `json:"sidechainId"`
}

// ErrParams is returned for bridge rules that cannot work.
var ErrParams = errors.New("sidechain: bad bridge parameters")

// Validate checks the rules.
func (p MultisigParams) Validate() error {
	seen := map[common.Address]bool{}
	for _, a := range p.Attesters {
		if seen[a] || a == (common.Address{}) {
			return fmt.Errorf("%w: attester %s twice or zero", ErrParams, a)
		}
		seen[a] = true
	}
	switch {
	case p.Threshold < 1 || p.Threshold > len(p.Attesters):
		return fmt.Errorf("%w: threshold %d of %d attesters", ErrParams, p.Threshold, len(p.Attesters))
	case p.L1ChainID == 0 || p.SideID == 0 || p.L1ChainID == p.SideID:
		return fmt.Errorf("%w: chain IDs %d and %d", ErrParams, p.L1ChainID, p.SideID)
	}
	return nil
}

// Transfer is one crossing of the bridge: the Nonce-th deposit (L1 →
// sidechain) or withdrawal (sidechain → L1), of Amount wei to To.
type Transfer struct {
	Nonce  uint64
	To     common.Address
	Amount *big.Int
}

// The attestation digest: EIP-712, its domain naming the chain and the
// bridge half that acts on it, so an attestation of a deposit cannot be
// used as one of a withdrawal, nor on another chain.
const (
	attestDomainType = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	transferType     = "Transfer(uint64 nonce,address to,uint256 amount)"
)

var (
	attestDomainTypeHash = crypto.Keccak256([]byte(attestDomainType))
	transferTypeHash     = crypto.Keccak256([]byte(transferType))
)

// AttestDigest is what an attester signs for t to be acted on by the
// bridge half at contract on chain chainID.
func AttestDigest(chainID uint64, contract common.Address, t Transfer) common.Hash {
	sep := crypto.Keccak256(attestDomainTypeHash, crypto.Keccak256([]byte("Cairn multisig bridge")), crypto.Keccak256([]byte("1")),
		common.LeftPadBytes(new(big.Int).SetUint64(chainID).Bytes(), 32), common.LeftPadBytes(contract.Bytes(), 32))
	st := crypto.Keccak256(transferTypeHash, common.LeftPadBytes(new(big.Int).SetUint64(t.Nonce).Bytes(), 32),
		common.LeftPadBytes(t.To.Bytes(), 32), common.LeftPadBytes(t.Amount.Bytes(), 32))
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, sep, st)
}

// Attest signs t for the bridge half at contract on chain chainID.
func Attest(key *ecdsa.PrivateKey, chainID uint64, contract common.Address, t Transfer) ([]byte, error) {
	d := AttestDigest(chainID, contract, t)
	sig, err := crypto.Sign(d[:], key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}

// Errors of the bridge contracts, kept by their reverts for errors.Is.
var (
	ErrSignatures = errors.New("too few distinct attester signatures")
	ErrDone       = errors.New("transfer already carried out")
	ErrNoFunds    = errors.New("the bridge holds less than the transfer")
	ErrAmount     = errors.New("a transfer must carry value")
)

// checkAttested counts the distinct attesters among the signers of sigs
// over digest, and fails below the threshold. Signatures that do not
// recover, repeat a signer or are not an attester's do not count.
func (p MultisigParams) checkAttested(digest common.Hash, sigs [][]byte) error {
	var seen []common.Address
	for _, sig := range sigs {
		if len(sig) != 65 {
			continue
		}
		v := sig[64]
		if v >= 27 {
			v -= 27
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
		if !crypto.ValidateSignatureValues(v, r, s, true) {
			continue
		}
		pub, err := crypto.SigToPub(digest[:], append(append([]byte{}, sig[:64]...), v))
		if err != nil {
			continue
		}
		a := crypto.PubkeyToAddress(*pub)
		if slices.Contains(p.Attesters, a) && !slices.Contains(seen, a) {
			seen = append(seen, a)
		}
	}
	if len(seen) < p.Threshold {
		return fmt.Errorf("%w: %d of %d", ErrSignatures, len(seen), p.Threshold)
	}
	return nil
}

// Gas: an attester signature is priced as ecrecover; storage as a word.
const (
	lockGas    = 40_000
	perSigGas  = 3_500
	actGas     = 45_000
	bridgeView = 2_600
)

// half is what both halves share: the rules, the ABI, where they are.
type half struct {
	p    MultisigParams
	self common.Address
	name string
}

func (h *half) Address() common.Address { return h.self }
func (h *half) Name() string            { return h.name }

func (h *half) RequiredGas(input []byte) uint64 {
	if len(input) < 4 {
		return bridgeView
	}
	m, err := MultisigABI.MethodById(input[:4])
	if err != nil {
		return bridgeView
	}
	switch m.Name {
	case "deposit", "withdraw":
		return lockGas
	case "mint", "release":
		// One ecrecover per signature given, at most the attester count.
		n := uint64(len(input)) / 96
		return actGas + perSigGas*min(n, uint64(len(h.p.Attesters))+1)
	}
	return bridgeView
}

// lock takes the caller's value and records the Nonce-th transfer out
// (event name ev).
func (h *half) lock(c *chain.Call, db chain.Slots, to common.Address, ev string) error {
	if c.Value.IsZero() {
		return chain.RevertWith(ErrAmount, "%s", h.name)
	}
	n := db.U64(chain.Slot("out"))
	db.SetU64(chain.Slot("out"), n+1)
	e := MultisigABI.Events[ev]
	data, _ := e.Inputs.NonIndexed().Pack(c.Caller, c.Value.ToBig())
	c.Emit([]common.Hash{e.ID, common.BigToHash(new(big.Int).SetUint64(n)), common.BytesToHash(to.Bytes())}, data)
	return nil
}

// act carries out an attested transfer in, once.
func (h *half) act(c *chain.Call, db chain.Slots, args []any, pay func(to common.Address, amount *uint256.Int) error) error {
	t := Transfer{Nonce: args[0].(uint64), To: args[1].(common.Address), Amount: args[2].(*big.Int)}
	sigs := args[3].([][]byte)
	if t.Amount.Sign() <= 0 {
		return chain.RevertWith(ErrAmount, "%s", h.name)
	}
	done := chain.Slot("in", chain.U64Bytes(t.Nonce))
	if db.Flag(done) {
		return chain.RevertWith(ErrDone, "%s: transfer %d", h.name, t.Nonce)
	}
	if err := h.p.checkAttested(AttestDigest(h.chainID(), h.self, t), sigs); err != nil {
		return chain.RevertWith(err, "%s", h.name)
	}
	amt, overflow := uint256.FromBig(t.Amount)
	if overflow {
		return chain.RevertWith(ErrAmount, "%s: amount", h.name)
	}
	db.SetFlag(done)
	if err := pay(t.To, amt); err != nil {
		return err
	}
	e := MultisigABI.Events["Carried"]
	data, _ := e.Inputs.NonIndexed().Pack(t.Amount)
	c.Emit([]common.Hash{e.ID, common.BigToHash(new(big.Int).SetUint64(t.Nonce)), common.BytesToHash(t.To.Bytes())}, data)
	return nil
}

func (h *half) chainID() uint64 {
	if h.self == MultisigL1Address {
		return h.p.L1ChainID
	}
	return h.p.SideID
}

func (h *half) views(m string, db chain.Slots, args []any) ([]byte, error, bool) {
	switch m {
	case "transfersOut":
		out, err := MultisigABI.Methods[m].Outputs.Pack(db.U64(chain.Slot("out")))
		return out, err, true
	case "carriedOut":
		out, err := MultisigABI.Methods[m].Outputs.Pack(db.Flag(chain.Slot("in", chain.U64Bytes(args[0].(uint64)))))
		return out, err, true
	case "rules":
		out, err := MultisigABI.Methods[m].Outputs.Pack(h.p.Attesters, uint32(h.p.Threshold), h.p.L1ChainID, h.p.SideID)
		return out, err, true
	}
	return nil, nil, false
}

// run dispatches a call: the shared views, or the half's own methods.
func (h *half) run(c *chain.Call, own func(method string, db chain.Slots, args []any) error) ([]byte, error) {
	m, args, err := chain.ParseCall(&MultisigABI, h.name, c.Input)
	if err != nil {
		return nil, err
	}
	if !m.IsPayable() && !c.Value.IsZero() {
		return nil, chain.Revert("%s: %s takes no value", h.name, m.Name)
	}
	db := chain.Slots{State: c.State, Self: c.Self}
	if out, err, ok := h.views(m.Name, db, args); ok {
		return out, err
	}
	return nil, own(m.Name, db, args)
}

// MultisigL1 is the L1 half: deposit(to) locks ETH for the sidechain;
// release(nonce, to, amount, sigs) pays an attested withdrawal.
type MultisigL1 struct{ half }

// NewMultisigL1 returns the L1 half with rules p.
func NewMultisigL1(p MultisigParams) *MultisigL1 {
	return &MultisigL1{half{p: p, self: MultisigL1Address, name: "multisig-bridge"}}
}

// Run implements chain.SystemContract.
func (b *MultisigL1) Run(c *chain.Call) ([]byte, error) {
	return b.run(c, func(m string, db chain.Slots, args []any) error {
		switch m {
		case "deposit":
			return b.lock(c, db, args[0].(common.Address), "Deposited")
		case "release":
			return b.act(c, db, args, func(to common.Address, amt *uint256.Int) error {
				if c.State.GetBalance(c.Self).Cmp(amt) < 0 {
					return chain.RevertWith(ErrNoFunds, "%s", b.name)
				}
				c.State.SubBalance(c.Self, amt, tracing.BalanceChangeUnspecified)
				c.State.AddBalance(to, amt, tracing.BalanceChangeUnspecified)
				return nil
			})
		}
		return chain.Revert("%s: %s is the sidechain half's", b.name, m)
	})
}

// MultisigSide is the sidechain half: mint(nonce, to, amount, sigs)
// credits an attested deposit; withdraw(to) burns ETH for the L1.
type MultisigSide struct{ half }

// NewMultisigSide returns the sidechain half with rules p.
func NewMultisigSide(p MultisigParams) *MultisigSide {
	return &MultisigSide{half{p: p, self: MultisigSideAddress, name: "multisig-minter"}}
}

// Run implements chain.SystemContract.
func (b *MultisigSide) Run(c *chain.Call) ([]byte, error) {
	return b.run(c, func(m string, db chain.Slots, args []any) error {
		switch m {
		case "withdraw":
			// Only what this bridge minted goes back: the sidechain's ETH
			// from anywhere else is backed by nothing in its L1 half.
			out := db.Big(chain.Slot("bridged-in"))
			if out.Cmp(c.Value.ToBig()) < 0 {
				return chain.RevertWith(ErrNotBridged, "%s: %s wei bridged in, not yet out", b.name, out)
			}
			db.SetBig(chain.Slot("bridged-in"), out.Sub(out, c.Value.ToBig()))
			if err := b.lock(c, db, args[0].(common.Address), "Withdrawn"); err != nil {
				return err
			}
			// Burnt: the sidechain's ETH of a withdrawal leaves its supply.
			c.State.SubBalance(c.Self, c.Value, tracing.BalanceChangeUnspecified)
			return nil
		case "mint":
			return b.act(c, db, args, func(to common.Address, amt *uint256.Int) error {
				out := db.Big(chain.Slot("bridged-in"))
				db.SetBig(chain.Slot("bridged-in"), out.Add(out, amt.ToBig()))
				c.State.AddBalance(to, amt, tracing.BalanceChangeUnspecified)
				return nil
			})
		}
		return chain.Revert("%s: %s is the L1 half's", b.name, m)
	})
}

const multisigABIJSON = `[
{"type":"function","name":"deposit","stateMutability":"payable","inputs":[{"name":"to","type":"address"}],"outputs":[]},
{"type":"function","name":"withdraw","stateMutability":"payable","inputs":[{"name":"to","type":"address"}],"outputs":[]},
{"type":"function","name":"mint","stateMutability":"nonpayable","inputs":[{"name":"nonce","type":"uint64"},{"name":"to","type":"address"},{"name":"amount","type":"uint256"},{"name":"sigs","type":"bytes[]"}],"outputs":[]},
{"type":"function","name":"release","stateMutability":"nonpayable","inputs":[{"name":"nonce","type":"uint64"},{"name":"to","type":"address"},{"name":"amount","type":"uint256"},{"name":"sigs","type":"bytes[]"}],"outputs":[]},
{"type":"function","name":"transfersOut","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint64"}]},
{"type":"function","name":"carriedOut","stateMutability":"view","inputs":[{"name":"nonce","type":"uint64"}],"outputs":[{"name":"","type":"bool"}]},
{"type":"function","name":"rules","stateMutability":"view","inputs":[],"outputs":[{"name":"attesters","type":"address[]"},{"name":"threshold","type":"uint32"},{"name":"l1ChainId","type":"uint64"},{"name":"sidechainId","type":"uint64"}]},
{"type":"event","name":"Deposited","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"from","type":"address","indexed":false},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"Withdrawn","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"from","type":"address","indexed":false},{"name":"amount","type":"uint256","indexed":false}]},
{"type":"event","name":"Carried","inputs":[{"name":"nonce","type":"uint64","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]}
]`

// MultisigABI is both halves' ABI (each answers its own methods).
var MultisigABI = chain.MustParseABI(multisigABIJSON)

// MultisigABIJSON is the ABI as JSON, for ethers, viem and cast.
const MultisigABIJSON = multisigABIJSON
