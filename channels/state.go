package channels

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// MaxExpiry bounds an HTLC's expiry (an L1 block number), far beyond any
// chain's height, so that no arithmetic on expiries can overflow.
const MaxExpiry = 1 << 48

// MaxHTLCs is the most HTLCs one state may hold, so that registering a
// state on L1 costs bounded gas (lnd allows 483; a channel here settles
// one payment in a few milliseconds, so 32 in flight is plenty).
const MaxHTLCs = 32

// HTLC is a hash time-locked payment inside a state: Amount wei, offered
// by A to B (FromA) or by B to A, that the receiver gets by showing the
// preimage of PaymentHash (SHA-256, as Lightning's) no later than L1
// block Expiry, and that returns to the sender after it.
type HTLC struct {
	FromA       bool
	Amount      *big.Int
	PaymentHash common.Hash
	Expiry      uint64 // L1 block number
}

// State is one state of a channel: what each party would get if the
// channel closed now, and the payments in flight. Both parties sign it
// (EIP-712, bound to the L1's chain ID, the adjudicator and the channel);
// the one with the highest Version wins on L1.
type State struct {
	Channel  common.Hash
	Version  uint64
	BalanceA *big.Int
	BalanceB *big.Int
	HTLCs    []HTLC
	// Final marks a state for a cooperative close: both parties agree the
	// channel ends with it, and the adjudicator pays it at once. A final
	// state holds no HTLCs.
	Final bool
}

// Errors of states and their signatures.
var (
	// ErrBadState is returned for a state that breaks a rule no signer
	// should have signed: negative or missing amounts, too many HTLCs, a
	// final state with HTLCs.
	ErrBadState = errors.New("channel state breaks a rule")
	// ErrBadSignature is returned for a signature that is malformed or not
	// the expected signer's.
	ErrBadSignature = errors.New("bad state signature")
)

// Total is what the state distributes: both balances and every HTLC.
func (s *State) Total() *big.Int {
	t := new(big.Int)
	if s.BalanceA != nil {
		t.Add(t, s.BalanceA)
	}
	if s.BalanceB != nil {
		t.Add(t, s.BalanceB)
	}
	for _, h := range s.HTLCs {
		if h.Amount != nil {
			t.Add(t, h.Amount)
		}
	}
	return t
}

// Check reports whether the state keeps the rules that hold for any state
// (the adjudicator and the channel machine both check them).
func (s *State) Check() error {
	switch {
	case s.BalanceA == nil || s.BalanceB == nil || s.BalanceA.Sign() < 0 || s.BalanceB.Sign() < 0:
		return fmt.Errorf("%w: balances must be present and not negative", ErrBadState)
	case s.BalanceA.BitLen() > 128 || s.BalanceB.BitLen() > 128:
		return fmt.Errorf("%w: balance beyond 2^128 wei", ErrBadState)
	case len(s.HTLCs) > MaxHTLCs:
		return fmt.Errorf("%w: %d HTLCs, at most %d", ErrBadState, len(s.HTLCs), MaxHTLCs)
	case s.Final && len(s.HTLCs) > 0:
		return fmt.Errorf("%w: a final state holds HTLCs", ErrBadState)
	}
	for i, h := range s.HTLCs {
		if h.Amount == nil || h.Amount.Sign() <= 0 || h.Amount.BitLen() > 128 {
			return fmt.Errorf("%w: HTLC %d amount must be in (0, 2^128)", ErrBadState, i)
		}
		if h.Expiry == 0 || h.Expiry > MaxExpiry {
			return fmt.Errorf("%w: HTLC %d expiry %d outside (0, 2^48]", ErrBadState, i, h.Expiry)
		}
	}
	return nil
}

// Copy returns a deep copy.
func (s *State) Copy() *State {
	c := *s
	c.BalanceA = new(big.Int).Set(s.BalanceA)
	c.BalanceB = new(big.Int).Set(s.BalanceB)
	c.HTLCs = make([]HTLC, len(s.HTLCs))
	for i, h := range s.HTLCs {
		h.Amount = new(big.Int).Set(h.Amount)
		c.HTLCs[i] = h
	}
	return &c
}

// Domain binds signatures to one adjudicator on one L1: EIP-712's domain
// (name "Cairn payment channels", version "1", the chain ID and the
// adjudicator as verifying contract).
type Domain struct {
	ChainID  uint64
	Contract common.Address
}

// The EIP-712 type strings and their hashes.
const (
	domainType = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	htlcType   = "HTLC(bool fromA,uint256 amount,bytes32 paymentHash,uint64 expiry)"
	stateType  = "State(bytes32 channel,uint64 version,uint256 balanceA,uint256 balanceB,HTLC[] htlcs,bool final)" + htlcType
	domainName = "Cairn payment channels"
	domainVer  = "1"
)

var (
	domainTypeHash = crypto.Keccak256([]byte(domainType))
	htlcTypeHash   = crypto.Keccak256([]byte(htlcType))
	stateTypeHash  = crypto.Keccak256([]byte(stateType))
)

// Separator is the domain's EIP-712 separator.
func (d Domain) Separator() common.Hash {
	return crypto.Keccak256Hash(domainTypeHash,
		crypto.Keccak256([]byte(domainName)), crypto.Keccak256([]byte(domainVer)),
		word(new(big.Int).SetUint64(d.ChainID)), common.LeftPadBytes(d.Contract.Bytes(), 32))
}

// Digest is the EIP-712 hash of s in domain d: what both parties sign, as
// eth_signTypedData_v4 would.
func (d Domain) Digest(s *State) common.Hash {
	hs := make([]byte, 0, 32*len(s.HTLCs))
	for _, h := range s.HTLCs {
		hs = append(hs, crypto.Keccak256(htlcTypeHash, boolWord(h.FromA), word(h.Amount), h.PaymentHash[:],
			word(new(big.Int).SetUint64(h.Expiry)))...)
	}
	structHash := crypto.Keccak256(stateTypeHash, s.Channel[:], word(new(big.Int).SetUint64(s.Version)),
		word(s.BalanceA), word(s.BalanceB), crypto.Keccak256(hs), boolWord(s.Final))
	sep := d.Separator()
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash)
}

// Sign signs s for d with key: a 65-byte [R ‖ S ‖ V] signature, V being 27
// or 28 as Ethereum wallets give it.
func (d Domain) Sign(s *State, key *ecdsa.PrivateKey) ([]byte, error) {
	digest := d.Digest(s)
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}

// Signer returns the address whose key made sig over s in d. Signatures
// with a high S value (malleable copies) or a V other than 27/28 or 0/1 are
// refused.
func (d Domain) Signer(s *State, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("%w: %d bytes, want 65", ErrBadSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(v, r, ss, true) {
		return common.Address{}, fmt.Errorf("%w: values out of range", ErrBadSignature)
	}
	digest := d.Digest(s)
	norm := append(append([]byte{}, sig[:64]...), v)
	pub, err := crypto.SigToPub(digest[:], norm)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// Verify checks that sig over s in d is want's.
func (d Domain) Verify(s *State, sig []byte, want common.Address) error {
	got, err := d.Signer(s, sig)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: signed by %s, want %s", ErrBadSignature, got, want)
	}
	return nil
}

func word(v *big.Int) []byte {
	if v == nil {
		return make([]byte, 32)
	}
	return common.LeftPadBytes(v.Bytes(), 32)
}

func boolWord(b bool) []byte {
	w := make([]byte, 32)
	if b {
		w[31] = 1
	}
	return w
}
