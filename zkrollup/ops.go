package zkrollup

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// OpType is an L2 operation's kind. It is the first byte of the operation's
// public data.
type OpType uint8

// The operations a batch slot can hold.
const (
	OpNoop     OpType = iota // padding: changes nothing, puts nothing on L1
	OpTransfer               // signed by the sender's L2 key
	OpDeposit                // from the L1 priority queue: credits the address's account, creating it
	OpWithdraw               // signed by the L2 key: debits the account; L1 pays its address when the batch verifies
	OpRegister               // signed by the account's L1 address: sets its L2 key, once
	OpFullExit               // from the L1 priority queue: withdraws the whole balance of the address's account
	opTypes
)

var opNames = [...]string{"noop", "transfer", "deposit", "withdraw", "register", "fullExit"}

func (t OpType) String() string {
	if t < opTypes {
		return opNames[t]
	}
	return fmt.Sprintf("op(%d)", uint8(t))
}

// Op is one L2 operation. Which fields matter depends on Type:
//
//	transfer  Account → To, Amount, Fee, Nonce, Sig (EdDSA)
//	deposit   Account, Address, Amount (from L1)
//	withdraw  Account, Amount, Fee, Nonce, Sig (EdDSA); Address is the account's
//	register  Account, Address, PubKey, Sig (65-byte secp256k1 signature by Address)
//	fullExit  Account, Address (from L1); Amount is the balance withdrawn
//
// Amounts and fees are in gwei.
type Op struct {
	Type    OpType
	Account uint64
	To      uint64
	Amount  uint64
	Fee     uint64
	Nonce   uint64
	Address common.Address
	PubKey  [32]byte // register: the compressed L2 key
	Sig     []byte
}

// signed reports whether the op carries an L2 (EdDSA) signature.
func (op *Op) signed() bool { return op.Type == OpTransfer || op.Type == OpWithdraw }

func newMessageHasher() hash.Hash { return poseidon2.NewMerkleDamgardHasher() }

// Domain binds every signature of the rollup to one deployment: the L1's
// chain ID and the L1 contract's address. A signature made for one
// deployment (a devnet, a testnet, a fork) is worthless on another.
type Domain struct {
	ChainID  uint64
	Contract common.Address
}

// Element is the domain as one field element: keccak256 of its parts,
// reduced mod r. The circuit takes it as a private input that the public
// data hash commits to, and the contract computes it from its own rules.
func (d Domain) Element() fr.Element {
	var chainID [8]byte
	binary.BigEndian.PutUint64(chainID[:], d.ChainID)
	var e fr.Element
	e.SetBytes(crypto.Keccak256([]byte("cairn-zk-domain"), chainID[:], d.Contract.Bytes()))
	return e
}

// Message is what an L2-signed op's key signs: Poseidon2 (Merkle–Damgård) of
// (domain, type, account, to, amount, fee, nonce), as 32 bytes.
func (op *Op) Message(d Domain) []byte {
	h := newMessageHasher()
	dom := d.Element()
	b := dom.Bytes()
	h.Write(b[:])
	for _, v := range []uint64{uint64(op.Type), op.Account, op.To, op.Amount, op.Fee, op.Nonce} {
		var e fr.Element
		e.SetUint64(v)
		b := e.Bytes()
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// Sign signs a transfer or withdrawal with the account's L2 key, for the
// deployment d.
func (op *Op) Sign(key *eddsa.PrivateKey, d Domain) error {
	sig, err := key.Sign(op.Message(d), newMessageHasher())
	if err != nil {
		return err
	}
	op.Sig = sig
	return nil
}

// RegisterText is the message an L1 address signs (EIP-191 personal_sign, as
// wallets show it) to bind an L2 key to its account of the deployment d.
func RegisterText(d Domain, account uint64, pubKey [32]byte) string {
	return fmt.Sprintf("Cairn ZK rollup: register L2 key 0x%x for account %d of the rollup at %s on chain %d", pubKey, account, d.Contract, d.ChainID)
}

// SignRegister fills a registration's signature with the L1 key.
func (op *Op) SignRegister(l1 *ecdsa.PrivateKey, d Domain) error {
	sig, err := crypto.Sign(accounts.TextHash([]byte(RegisterText(d, op.Account, op.PubKey))), l1)
	if err != nil {
		return err
	}
	op.Sig = sig
	return nil
}

// Sentinel errors of operation checks.
var (
	ErrBadSignature = errors.New("bad signature")
	ErrNonce        = errors.New("wrong nonce")
	ErrOverdraft    = errors.New("insufficient balance")
	ErrSelfTransfer = errors.New("transfer to self")
	ErrNoAccount    = errors.New("no such account")
	ErrNotOwner     = errors.New("account belongs to another address")
	ErrRegistered   = errors.New("account already has an L2 key")
	ErrUnregistered = errors.New("account has no L2 key")
	ErrOpType       = errors.New("unknown operation type")
	ErrOverflow     = errors.New("balance would overflow")
)

// registrant recovers the L1 address that signed a registration.
func registrant(d Domain, account uint64, pubKey [32]byte, sig []byte) (common.Address, error) {
	if len(sig) != crypto.SignatureLength {
		return common.Address{}, fmt.Errorf("%w: registration signature of %d bytes", ErrBadSignature, len(sig))
	}
	s := bytes.Clone(sig)
	if s[64] >= 27 {
		s[64] -= 27 // wallets' v
	}
	pub, err := crypto.SigToPub(accounts.TextHash([]byte(RegisterText(d, account, pubKey))), s)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// ErrWeakKey is returned for a registration of an L2 key that protects
// nothing: the identity, a point outside the prime-order subgroup (whose
// signatures need not be unique), or the padding key, whose private key is
// public.
var ErrWeakKey = errors.New("weak L2 key")

// checkUserKey refuses weak L2 keys at admission.
func checkUserKey(pub *eddsa.PublicKey) error {
	var inSub twistededwards.PointAffine
	order := twistededwards.GetEdwardsCurve().Order
	switch {
	case pub.A.IsZero():
		return fmt.Errorf("%w: the identity", ErrWeakKey)
	case !pub.A.IsOnCurve():
		return fmt.Errorf("%w: not on the curve", ErrWeakKey)
	case !inSub.ScalarMultiplication(&pub.A, &order).IsZero():
		return fmt.Errorf("%w: outside the prime-order subgroup", ErrWeakKey)
	case pub.A.Equal(&padKey.PublicKey.A):
		return fmt.Errorf("%w: the public padding key", ErrWeakKey)
	}
	return nil
}

// decodeKey decompresses an L2 public key.
func decodeKey(b [32]byte) (eddsa.PublicKey, error) {
	var pub eddsa.PublicKey
	if _, err := pub.SetBytes(b[:]); err != nil {
		return pub, fmt.Errorf("%w: L2 key: %w", ErrBadSignature, err)
	}
	return pub, nil
}

// Check validates op against the tree as the circuit will, and fills what
// the tree decides: a withdrawal's Address and a full exit's Amount. It
// changes nothing.
func (t *Tree) Check(op *Op) error {
	if op.Account >= 1<<t.depth || op.To >= 1<<t.depth {
		return ErrIndex
	}
	a := t.Account(op.Account)
	switch op.Type {
	case OpTransfer, OpWithdraw:
		if op.Type == OpTransfer {
			if op.Account == op.To {
				return ErrSelfTransfer
			}
			if to := t.Account(op.To); to.Address == (common.Address{}) {
				return fmt.Errorf("%w: %d", ErrNoAccount, op.To)
			}
		} else {
			op.To, op.Address = 0, a.Address
		}
		if !a.Registered() {
			return fmt.Errorf("%w: %d", ErrUnregistered, op.Account)
		}
		var pub eddsa.PublicKey
		pub.A.X, pub.A.Y = a.PubX, a.PubY
		if ok, err := pub.Verify(op.Sig, op.Message(t.domain), newMessageHasher()); err != nil || !ok {
			return ErrBadSignature
		}
		if op.Nonce != a.Nonce {
			return fmt.Errorf("%w: account %d expects %d, got %d", ErrNonce, op.Account, a.Nonce, op.Nonce)
		}
		// The public data carries amounts and fees packed: one that does
		// not pack could be applied but never sealed into a batch.
		if _, err := PackAmount(op.Amount); err != nil {
			return fmt.Errorf("amount: %w", err)
		}
		if _, err := PackFee(op.Fee); err != nil {
			return fmt.Errorf("fee: %w", err)
		}
		if op.Amount > a.Balance || op.Fee > a.Balance-op.Amount {
			return fmt.Errorf("%w: account %d has %d gwei, spends %d+%d", ErrOverdraft, op.Account, a.Balance, op.Amount, op.Fee)
		}
		if op.Type == OpTransfer {
			if to := t.Account(op.To); to.Balance+op.Amount < to.Balance {
				return ErrOverflow
			}
		}
		return nil
	case OpDeposit:
		if op.Address == (common.Address{}) {
			return fmt.Errorf("%w: deposit to the zero address", ErrNoAccount)
		}
		if !a.Empty() && a.Address != op.Address {
			return fmt.Errorf("%w: %d", ErrNotOwner, op.Account)
		}
		if a.Balance+op.Amount < a.Balance {
			return ErrOverflow
		}
		return nil
	case OpRegister:
		if a.Address == (common.Address{}) || a.Address != op.Address {
			return fmt.Errorf("%w: %d", ErrNotOwner, op.Account)
		}
		if a.Registered() {
			return fmt.Errorf("%w: %d", ErrRegistered, op.Account)
		}
		pub, err := decodeKey(op.PubKey)
		if err != nil {
			return err
		}
		if err := checkUserKey(&pub); err != nil {
			return err
		}
		signer, err := registrant(t.domain, op.Account, op.PubKey, op.Sig)
		if err != nil {
			return err
		}
		if signer != op.Address {
			return fmt.Errorf("%w: registration signed by %s, not %s", ErrBadSignature, signer, op.Address)
		}
		return nil
	case OpFullExit:
		op.Amount = 0
		if a.Address == op.Address {
			op.Amount = a.Balance
		}
		return nil
	}
	return fmt.Errorf("%w: %d", ErrOpType, op.Type)
}

// Apply checks op and applies it: the operator's soft confirmation. The
// op's fee leaves the sender; CreditFees pays the batch's fees out.
func (t *Tree) Apply(op *Op) error {
	if err := t.Check(op); err != nil {
		return err
	}
	if err := t.updateAccount(op); err != nil {
		return err
	}
	return t.updateReceiver(op)
}

// CreditFees pays a batch's fees to an account, as the circuit does at the
// batch's end.
func (t *Tree) CreditFees(account, fees uint64) error {
	a := t.Account(account)
	a.Balance += fees
	return t.Set(account, a)
}

// updateAccount applies op to its account without checks, by the
// circuit's formulas (with uint64 wrapping where the circuit's range checks
// would fail).
func (t *Tree) updateAccount(op *Op) error {
	acct := t.Account(op.Account)
	switch op.Type {
	case OpTransfer, OpWithdraw:
		acct.Nonce++
		acct.Balance -= op.Amount + op.Fee
	case OpDeposit:
		if acct.Empty() {
			acct.Address = op.Address
		}
		acct.Balance += op.Amount
	case OpRegister:
		pub, err := decodeKey(op.PubKey)
		if err != nil {
			return err
		}
		acct.PubX, acct.PubY = pub.A.X, pub.A.Y
	case OpFullExit:
		acct.Balance -= op.Amount
	}
	return t.Set(op.Account, acct)
}

// receiver is the second leaf the circuit updates for op: a transfer's
// receiver; account 0, unchanged, for other ops.
func receiver(op *Op) uint64 {
	if op.Type == OpTransfer {
		return op.To
	}
	return 0
}

// updateReceiver credits a transfer's receiver, after updateAccount.
func (t *Tree) updateReceiver(op *Op) error {
	if op.Type != OpTransfer {
		return nil
	}
	to := t.Account(op.To)
	to.Balance += op.Amount
	return t.Set(op.To, to)
}
