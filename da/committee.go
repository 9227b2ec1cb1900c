package da

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// A data-availability committee (Arbitrum AnyTrust's design): N members
// each keep a copy of the rollup's data and sign that they do; the L1 gets
// only a certificate, the data's hash with the members' aggregated BLS
// signature, instead of the data. Assuming H members honest, a certificate
// needs N−H+1 signatures, so at least one honest member holds the data.
// Signatures are BLS over BN254 (gnark-crypto): a member's public key is
// in G2, its signature on a message the message hashed to G1 times its
// secret key, and signatures on one message add up into one.

// CertVersion is the first byte of a certificate posted to the inbox: the
// batcher's frames start with 0 (batch.MarshalTxData), so derivation tells
// the two apart by it, as op-node's alt-DA tells commitments (1) from
// frames.
const CertVersion = 0x01

// CertSize is a certificate's size on L1: version, data hash, signer
// bitmap and the aggregated signature (a compressed G1 point).
const CertSize = 1 + 32 + 8 + bn254.SizeOfG1AffineCompressed

// MaxMembers bounds a committee (the signer bitmap is 64 bits).
const MaxMembers = 64

// Errors of certificates.
var (
	ErrBadCertificate = errors.New("bad data-availability certificate")
	ErrDataWithheld   = errors.New("no committee member serves the data")
)

var certDST = []byte("CAIRN-DAC-V01-CS01-with-BN254G1_XMD:SHA-256_SVDW_RO_")

// BLSKey is a committee member's signing key.
type BLSKey struct {
	sk fr.Element
	PK bn254.G2Affine
}

// NewBLSKey derives a key from seed (the devnet's members use fixed seeds).
func NewBLSKey(seed []byte) *BLSKey {
	var k BLSKey
	k.sk.SetBytes(crypto.Keccak256(append([]byte("cairn-dac-key"), seed...)))
	_, _, _, g2 := bn254.Generators()
	k.PK.ScalarMultiplication(&g2, k.sk.BigInt(new(big.Int)))
	return &k
}

// Sign signs msg.
func (k *BLSKey) Sign(msg []byte) (bn254.G1Affine, error) {
	h, err := bn254.HashToG1(msg, certDST)
	if err != nil {
		return bn254.G1Affine{}, err
	}
	var sig bn254.G1Affine
	sig.ScalarMultiplication(&h, k.sk.BigInt(new(big.Int)))
	return sig, nil
}

// CertMessage is what members sign for data of this hash on the rollup of
// chainID: binding the chain keeps one rollup's certificate from serving
// another's.
func CertMessage(chainID uint64, dataHash common.Hash) []byte {
	return crypto.Keccak256([]byte("cairn-dac-store"), binary.BigEndian.AppendUint64(nil, chainID), dataHash[:])
}

// Certificate says that the members in Signers hold the data of DataHash.
type Certificate struct {
	DataHash common.Hash
	Signers  uint64 // bit i: member i signed
	Sig      bn254.G1Affine
}

// Marshal is the certificate as posted to the inbox.
func (c *Certificate) Marshal() []byte {
	out := make([]byte, 0, CertSize)
	out = append(out, CertVersion)
	out = append(out, c.DataHash[:]...)
	out = binary.BigEndian.AppendUint64(out, c.Signers)
	sig := c.Sig.Bytes()
	return append(out, sig[:]...)
}

// ParseCertificate reads a certificate as posted.
func ParseCertificate(b []byte) (*Certificate, error) {
	if len(b) != CertSize || b[0] != CertVersion {
		return nil, fmt.Errorf("%w: %d bytes, want %d starting with %d", ErrBadCertificate, len(b), CertSize, CertVersion)
	}
	c := &Certificate{Signers: binary.BigEndian.Uint64(b[33:41])}
	copy(c.DataHash[:], b[1:33])
	if _, err := c.Sig.SetBytes(b[41:]); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCertificate, err)
	}
	return c, nil
}

// Committee is a committee as the rollup's rules name it: the members'
// public keys, and how many must sign.
type Committee struct {
	Members   []bn254.G2Affine
	Threshold int
}

type committeeJSON struct {
	Members   []string `json:"members"` // compressed G2 points, hex
	Threshold int      `json:"threshold"`
}

// MarshalJSON writes the members' keys in hex.
func (c Committee) MarshalJSON() ([]byte, error) {
	j := committeeJSON{Threshold: c.Threshold, Members: []string{}}
	for i := range c.Members {
		b := c.Members[i].Bytes()
		j.Members = append(j.Members, hex.EncodeToString(b[:]))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, checking every key.
func (c *Committee) UnmarshalJSON(data []byte) error {
	var j committeeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	c.Threshold, c.Members = j.Threshold, nil
	for i, m := range j.Members {
		b, err := hex.DecodeString(m)
		if err != nil {
			return fmt.Errorf("committee member %d: %w", i, err)
		}
		var pk bn254.G2Affine
		if _, err := pk.SetBytes(b); err != nil {
			return fmt.Errorf("committee member %d: %w", i, err)
		}
		c.Members = append(c.Members, pk)
	}
	return c.Validate()
}

// Validate checks the committee's shape.
func (c *Committee) Validate() error {
	if len(c.Members) == 0 || len(c.Members) > MaxMembers || c.Threshold < 1 || c.Threshold > len(c.Members) {
		return fmt.Errorf("a committee of %d members (at most %d) needs a threshold of 1 to %d, not %d", len(c.Members), MaxMembers, len(c.Members), c.Threshold)
	}
	return nil
}

// Verify checks that cert carries at least Threshold members' signatures
// on data of its hash for the rollup of chainID.
func (c *Committee) Verify(cert *Certificate, chainID uint64) error {
	if len(c.Members) < 64 && cert.Signers>>len(c.Members) != 0 {
		return fmt.Errorf("%w: signers beyond the committee's %d members", ErrBadCertificate, len(c.Members))
	}
	if n := bits.OnesCount64(cert.Signers); n < c.Threshold {
		return fmt.Errorf("%w: %d signers, the committee needs %d", ErrBadCertificate, n, c.Threshold)
	}
	return c.verifyMsg(CertMessage(chainID, cert.DataHash), cert.Signers, &cert.Sig)
}

// verifyMsg checks sig as the aggregate of the signers' signatures on msg.
func (c *Committee) verifyMsg(msg []byte, signers uint64, sig *bn254.G1Affine) error {
	var agg bn254.G2Jac
	for i := range c.Members {
		if signers&(1<<i) != 0 {
			var pk bn254.G2Jac
			pk.FromAffine(&c.Members[i])
			agg.AddAssign(&pk)
		}
	}
	var aggPK bn254.G2Affine
	aggPK.FromJacobian(&agg)
	h, err := bn254.HashToG1(msg, certDST)
	if err != nil {
		return err
	}
	var negH bn254.G1Affine
	negH.Neg(&h)
	_, _, _, g2 := bn254.Generators()
	ok, err := bn254.PairingCheck([]bn254.G1Affine{*sig, negH}, []bn254.G2Affine{g2, aggPK})
	if err != nil || !ok {
		return fmt.Errorf("%w: the aggregated signature does not verify", ErrBadCertificate)
	}
	return nil
}

// Check reads a certificate as posted and verifies it: what derivation
// and proofs both accept.
func (c *Committee) Check(b []byte, chainID uint64) (*Certificate, error) {
	cert, err := ParseCertificate(b)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(cert, chainID); err != nil {
		return nil, err
	}
	return cert, nil
}

// Aggregate adds signatures into one certificate's.
func Aggregate(sigs []bn254.G1Affine) bn254.G1Affine {
	var acc bn254.G1Jac
	for i := range sigs {
		var s bn254.G1Jac
		s.FromAffine(&sigs[i])
		acc.AddAssign(&s)
	}
	var out bn254.G1Affine
	out.FromJacobian(&acc)
	return out
}
