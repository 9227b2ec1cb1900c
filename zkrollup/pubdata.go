package zkrollup

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/ethereum/go-ethereum/common"
)

// Public data: what a batch puts on L1, enough for anyone to rebuild every
// account from L1 alone. A batch's data is the fee account (4 bytes), then
// one record per op, led by its type byte:
//
//	transfer  01 ‖ from 4 ‖ to 4 ‖ amount 5 (packed) ‖ fee 2 (packed)          16 bytes
//	deposit   02 ‖ account 4 ‖ address 20 ‖ amount 8                           33 bytes
//	withdraw  03 ‖ account 4 ‖ address 20 ‖ amount 8 ‖ fee 2 (packed)          35 bytes
//	register  04 ‖ account 4 ‖ address 20 ‖ L2 key 32 ‖ L1 signature 65       122 bytes
//	fullExit  05 ‖ account 4 ‖ address 20 ‖ amount 8                           33 bytes
//
// Packed amounts are mantissa × 10^exponent (zkSync Lite's packing): a
// transfer's amount has a 35-bit mantissa and 5-bit exponent (every amount
// up to 34 ETH exact, larger ones to 11 significant digits), a fee an 11-bit
// mantissa and 5-bit exponent. Deposits and withdrawals carry exact amounts.
const (
	HeaderBytes   = 4
	TransferBytes = 16
	mantissaBits  = 35
	feeMantissa   = 11
	exponentBits  = 5
)

var recordBytes = [opTypes]int{OpTransfer: TransferBytes, OpDeposit: 33, OpWithdraw: 35, OpRegister: 122, OpFullExit: 33}

// ErrAmountNotPacked is returned for an amount the packing cannot represent
// exactly.
var ErrAmountNotPacked = errors.New("amount is not representable in the packed format")

// PackAmount returns a transfer amount's 40-bit packing: mantissa << 5 | exponent.
func PackAmount(amount uint64) (uint64, error) { return pack(amount, mantissaBits) }

// PackFee returns a fee's 16-bit packing.
func PackFee(fee uint64) (uint64, error) { return pack(fee, feeMantissa) }

func pack(amount uint64, bits int) (uint64, error) {
	m, e := amount, uint64(0)
	for m >= 1<<bits {
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

// UnpackAmount reverses PackAmount and PackFee.
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

// ErrPubData is returned for public data that does not decode.
var ErrPubData = errors.New("malformed public data")

// EncodeOps returns a batch's public data.
func EncodeOps(feeAccount uint64, ops []Op) ([]byte, error) {
	if feeAccount >= 1<<32 {
		return nil, ErrIndex
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(feeAccount))
	for i := range ops {
		op := &ops[i]
		if op.Type == OpNoop || op.Type >= opTypes {
			return nil, fmt.Errorf("%w: %s has no public data", ErrOpType, op.Type)
		}
		if op.Account >= 1<<32 || op.To >= 1<<32 {
			return nil, ErrIndex
		}
		out = append(out, byte(op.Type))
		out = binary.BigEndian.AppendUint32(out, uint32(op.Account))
		switch op.Type {
		case OpTransfer:
			a, err := PackAmount(op.Amount)
			if err != nil {
				return nil, err
			}
			out = binary.BigEndian.AppendUint32(out, uint32(op.To))
			out = append(out, binary.BigEndian.AppendUint64(nil, a)[3:]...)
		default:
			out = append(out, op.Address.Bytes()...)
		}
		switch op.Type {
		case OpDeposit, OpWithdraw, OpFullExit:
			out = binary.BigEndian.AppendUint64(out, op.Amount)
		case OpRegister:
			if len(op.Sig) != 65 {
				return nil, fmt.Errorf("%w: registration signature of %d bytes", ErrPubData, len(op.Sig))
			}
			out = append(append(out, op.PubKey[:]...), op.Sig...)
		}
		if op.Type == OpTransfer || op.Type == OpWithdraw {
			f, err := PackFee(op.Fee)
			if err != nil {
				return nil, err
			}
			out = binary.BigEndian.AppendUint16(out, uint16(f))
		}
	}
	return out, nil
}

// DecodeOps parses a batch's public data into its fee account and ops
// (their public fields).
func DecodeOps(data []byte) (uint64, []Op, error) {
	if len(data) < HeaderBytes {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrPubData, len(data))
	}
	fee := uint64(binary.BigEndian.Uint32(data))
	var ops []Op
	for rest := data[HeaderBytes:]; len(rest) > 0; {
		t := OpType(rest[0])
		if t == OpNoop || t >= opTypes {
			return 0, nil, fmt.Errorf("%w: op type %d", ErrPubData, t)
		}
		n := recordBytes[t]
		if len(rest) < n {
			return 0, nil, fmt.Errorf("%w: %s record of %d bytes", ErrPubData, t, len(rest))
		}
		rec := rest[:n]
		rest = rest[n:]
		op := Op{Type: t, Account: uint64(binary.BigEndian.Uint32(rec[1:5]))}
		var err error
		switch t {
		case OpTransfer:
			op.To = uint64(binary.BigEndian.Uint32(rec[5:9]))
			var a [8]byte
			copy(a[3:], rec[9:14])
			if op.Amount, err = UnpackAmount(binary.BigEndian.Uint64(a[:])); err != nil {
				return 0, nil, fmt.Errorf("%w: %w", ErrPubData, err)
			}
		default:
			op.Address = common.BytesToAddress(rec[5:25])
		}
		switch t {
		case OpDeposit, OpWithdraw, OpFullExit:
			op.Amount = binary.BigEndian.Uint64(rec[25:33])
		case OpRegister:
			copy(op.PubKey[:], rec[25:57])
			op.Sig = append([]byte(nil), rec[57:122]...)
		}
		if t == OpTransfer || t == OpWithdraw {
			if op.Fee, err = UnpackAmount(uint64(binary.BigEndian.Uint16(rec[n-2:]))); err != nil {
				return 0, nil, fmt.Errorf("%w: %w", ErrPubData, err)
			}
		}
		ops = append(ops, op)
	}
	return fee, ops, nil
}

// PubDataHash is the commitment to a batch's public data that the circuit
// exposes: Poseidon2 (Merkle–Damgård) over the deployment's Domain
// element, the fee account and four field elements per slot (zero for
// padding):
//
//	type·2^192 + account·2^160 + to·2^128 + amount·2^64 + fee
//	the address (deposit, withdraw, register, full exit)
//	the registered key's X and Y (register)
//
// A registration's L1 signature is not hashed: the L1 contract checks it.
func PubDataHash(d Domain, data []byte, slots int) (fr.Element, error) {
	feeAccount, ops, err := DecodeOps(data)
	if err != nil {
		return fr.Element{}, err
	}
	if len(ops) > slots {
		return fr.Element{}, fmt.Errorf("%w: %d ops for %d slots", ErrPubData, len(ops), slots)
	}
	h := poseidon2.NewMerkleDamgardHasher()
	write := func(e fr.Element) {
		b := e.Bytes()
		h.Write(b[:])
	}
	write(d.Element())
	var e fr.Element
	e.SetUint64(feeAccount)
	write(e)
	for i := range slots {
		var elems [4]fr.Element
		if i < len(ops) {
			op := &ops[i]
			var head [25]byte
			head[0] = byte(op.Type)
			binary.BigEndian.PutUint32(head[1:], uint32(op.Account))
			binary.BigEndian.PutUint32(head[5:], uint32(op.To))
			binary.BigEndian.PutUint64(head[9:], op.Amount)
			binary.BigEndian.PutUint64(head[17:], op.Fee)
			elems[0].SetBytes(head[:])
			if op.Type != OpTransfer {
				elems[1].SetBytes(op.Address.Bytes())
			}
			if op.Type == OpRegister {
				pub, err := decodeKey(op.PubKey)
				if err != nil {
					return fr.Element{}, fmt.Errorf("%w: %w", ErrPubData, err)
				}
				elems[2], elems[3] = pub.A.X, pub.A.Y
			}
		}
		for _, e := range elems {
			write(e)
		}
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out, nil
}

// Replay applies a verified batch's public data to a tree, without
// signatures: how anyone rebuilds every account from L1 alone.
func (t *Tree) Replay(data []byte) error {
	feeAccount, ops, err := DecodeOps(data)
	if err != nil {
		return err
	}
	var fees uint64
	for i := range ops {
		op := &ops[i]
		a := t.Account(op.Account)
		if op.Account >= 1<<t.depth || op.To >= 1<<t.depth || a.Balance+op.Amount < a.Balance {
			return fmt.Errorf("%w: op %d out of bounds", ErrPubData, i)
		}
		if (op.signed() || op.Type == OpFullExit) && (op.Amount > a.Balance || op.Fee > a.Balance-op.Amount) {
			return fmt.Errorf("%w: overdraft in verified data", ErrPubData)
		}
		if to := t.Account(op.To); op.Type == OpTransfer && to.Balance+op.Amount < to.Balance || fees+op.Fee < fees {
			return fmt.Errorf("%w: op %d overflows a balance", ErrPubData, i)
		}
		if err := t.updateAccount(op); err != nil {
			return err
		}
		if err := t.updateReceiver(op); err != nil {
			return err
		}
		fees += op.Fee
	}
	return t.CreditFees(feeAccount, fees)
}
