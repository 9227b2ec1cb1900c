package zkrollup

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Public data. Each transfer puts TransferBytes on L1, enough for anyone to
// replay balances and nonces from L1 alone:
//
//	from (4 bytes) ‖ to (4 bytes) ‖ amount (5 bytes: 35-bit mantissa, 5-bit base-10 exponent)
//
// Amounts are in gwei and must be representable as mantissa × 10^exponent
// (zkSync Lite's packing): 35 bits of mantissa keep every amount up to
// 34 ETH exact, and larger ones exact to 11 significant digits.
const (
	TransferBytes = 13
	mantissaBits  = 35
	exponentBits  = 5
)

// ErrAmountNotPacked is returned for an amount the 5-byte packing cannot
// represent exactly.
var ErrAmountNotPacked = errors.New("amount is not representable in the packed format")

// PackAmount returns the 40-bit packing of amount: mantissa << 5 | exponent.
func PackAmount(amount uint64) (uint64, error) {
	m, e := amount, uint64(0)
	for m >= 1<<mantissaBits {
		if m%10 != 0 {
			return 0, fmt.Errorf("%w: %d", ErrAmountNotPacked, amount)
		}
		m /= 10
		e++
	}
	if e >= 1<<exponentBits {
		return 0, fmt.Errorf("%w: %d", ErrAmountNotPacked, amount)
	}
	return m<<exponentBits | e, nil
}

// UnpackAmount reverses PackAmount.
func UnpackAmount(p uint64) (uint64, error) {
	m, e := p>>exponentBits, p&(1<<exponentBits-1)
	for range e {
		if m > (1<<64-1)/10 {
			return 0, fmt.Errorf("%w: overflows", ErrAmountNotPacked)
		}
		m *= 10
	}
	return m, nil
}

// EncodeTransfers returns the public data of a batch's transfers.
func EncodeTransfers(txs []Transfer) ([]byte, error) {
	out := make([]byte, 0, len(txs)*TransferBytes)
	for _, t := range txs {
		p, err := PackAmount(t.Amount)
		if err != nil {
			return nil, err
		}
		if t.From >= 1<<32 || t.To >= 1<<32 {
			return nil, ErrIndex
		}
		var rec [TransferBytes]byte
		binary.BigEndian.PutUint32(rec[0:4], uint32(t.From))
		binary.BigEndian.PutUint32(rec[4:8], uint32(t.To))
		var a [8]byte
		binary.BigEndian.PutUint64(a[:], p)
		copy(rec[8:13], a[3:8])
		out = append(out, rec[:]...)
	}
	return out, nil
}

// PubRecord is one transfer as public data carries it.
type PubRecord struct {
	From, To uint64
	Amount   uint64
}

// ErrPubData is returned for public data that does not decode.
var ErrPubData = errors.New("malformed public data")

// DecodeTransfers parses public data.
func DecodeTransfers(data []byte) ([]PubRecord, error) {
	if len(data)%TransferBytes != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrPubData, len(data))
	}
	out := make([]PubRecord, 0, len(data)/TransferBytes)
	for off := 0; off < len(data); off += TransferBytes {
		rec := data[off : off+TransferBytes]
		var a [8]byte
		copy(a[3:8], rec[8:13])
		amount, err := UnpackAmount(binary.BigEndian.Uint64(a[:]))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPubData, err)
		}
		out = append(out, PubRecord{From: uint64(binary.BigEndian.Uint32(rec[0:4])), To: uint64(binary.BigEndian.Uint32(rec[4:8])), Amount: amount})
	}
	return out, nil
}

// PubDataHash is the commitment to a batch's public data that the circuit
// exposes: Poseidon2 (Merkle–Damgård) over one field element per slot,
// from·2^72 + to·2^40 + packed amount, with padding slots zero.
func PubDataHash(data []byte, slots int) (fr.Element, error) {
	recs := len(data) / TransferBytes
	if len(data)%TransferBytes != 0 || recs > slots {
		return fr.Element{}, fmt.Errorf("%w: %d bytes for %d slots", ErrPubData, len(data), slots)
	}
	h := poseidon2.NewMerkleDamgardHasher()
	for i := range slots {
		var e fr.Element
		if i < recs {
			var buf [32]byte
			copy(buf[32-TransferBytes:], data[i*TransferBytes:(i+1)*TransferBytes])
			e.SetBytes(buf[:])
		}
		b := e.Bytes()
		h.Write(b[:])
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out, nil
}

// Replay applies public data to a tree without signatures: how anyone
// rebuilds balances and nonces from L1 alone.
func (t *Tree) Replay(data []byte) error {
	recs, err := DecodeTransfers(data)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.From >= 1<<t.depth || r.To >= 1<<t.depth || r.From == r.To {
			return fmt.Errorf("%w: accounts %d -> %d", ErrPubData, r.From, r.To)
		}
		from, to := t.Account(r.From), t.Account(r.To)
		if from.Balance < r.Amount {
			return fmt.Errorf("%w: overdraft in verified data", ErrPubData)
		}
		from.Nonce++
		from.Balance -= r.Amount
		to.Balance += r.Amount
		if err := t.Set(r.From, from); err != nil {
			return err
		}
		if err := t.Set(r.To, to); err != nil {
			return err
		}
	}
	return nil
}
