package chain

import (
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The system-contract toolkit's storage: a contract keeps its state in its
// own account's storage slots, named by Slot so unrelated values never
// collide, and read and written through Slots.

// SlotState is the part of the EVM state a contract's storage needs
// (vm.StateDB has it).
type SlotState interface {
	GetState(common.Address, common.Hash) common.Hash
	SetState(common.Address, common.Hash, common.Hash) common.Hash
}

// Slot names a storage slot: keccak256(name ‖ parts...).
func Slot(name string, parts ...[]byte) common.Hash {
	return crypto.Keccak256Hash(append([][]byte{[]byte(name)}, parts...)...)
}

// U64Bytes is v as 8 big-endian bytes, a Slot part.
func U64Bytes(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Slots reads and writes the storage of the contract at Self.
type Slots struct {
	State SlotState
	Self  common.Address
}

// Get reads a slot.
func (s Slots) Get(k common.Hash) common.Hash { return s.State.GetState(s.Self, k) }

// Set writes a slot.
func (s Slots) Set(k, v common.Hash) { s.State.SetState(s.Self, k, v) }

// Big reads a slot as an unsigned integer.
func (s Slots) Big(k common.Hash) *big.Int { return s.Get(k).Big() }

// SetBig writes an unsigned integer.
func (s Slots) SetBig(k common.Hash, v *big.Int) { s.Set(k, common.BigToHash(v)) }

// U64 reads a slot as a uint64 (its low 64 bits).
func (s Slots) U64(k common.Hash) uint64 { return s.Big(k).Uint64() }

// SetU64 writes a uint64.
func (s Slots) SetU64(k common.Hash, v uint64) { s.SetBig(k, new(big.Int).SetUint64(v)) }

// Addr reads a slot as an address.
func (s Slots) Addr(k common.Hash) common.Address { return common.BytesToAddress(s.Get(k).Bytes()) }

// SetAddr writes an address.
func (s Slots) SetAddr(k common.Hash, a common.Address) { s.Set(k, common.BytesToHash(a.Bytes())) }

// Flag reports whether a slot is set (non-zero).
func (s Slots) Flag(k common.Hash) bool { return s.Get(k) != (common.Hash{}) }

// SetFlag sets a slot to 1.
func (s Slots) SetFlag(k common.Hash) { s.Set(k, common.Hash{31: 1}) }

// SetBool writes a flag: 1 when v, else 0 (Flag reads it back).
func (s Slots) SetBool(k common.Hash, v bool) {
	if v {
		s.SetFlag(k)
	} else {
		s.Set(k, common.Hash{})
	}
}
