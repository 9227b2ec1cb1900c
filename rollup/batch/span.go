package batch

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
)

// SpanBatchVersion is the first byte of an encoded batch.
const SpanBatchVersion = 0x01

// Block is one L2 block as a batch carries it: only what derivation cannot recompute.
type Block struct {
	Number uint64               // L2 block number
	Time   uint64               // L2 block timestamp, seconds
	Origin uint64               // L1 origin block number
	Txs    []*types.Transaction // the sequencer's transactions, in block order
}

// Batch is a run of consecutive L2 blocks (Numbers strictly consecutive).
type Batch struct {
	ParentCheck [20]byte // first 20 bytes of the hash of the parent of Blocks[0]
	Blocks      []Block
}

// spanBatch is the RLP list after the version byte; see the package
// documentation for the meaning of each field. The field order is the wire
// order. Decode parses the same layout by hand, to check counts before it
// allocates.
type spanBatch struct {
	ParentCheck  [20]byte
	FirstNumber  uint64
	FirstTime    uint64
	FirstOrigin  uint64
	TxCounts     []uint64
	TimeDeltas   []uint64
	OriginDeltas []uint64
	TxTypes      []byte
	YParity      []byte
	Signatures   []byte
	Creations    []byte
	Recipients   []byte
	Nonces       []uint64
	GasLimits    []uint64
	Values       []*big.Int
	GasPrices    []*big.Int
	TipCaps      []*big.Int
	Data         [][]byte
	AccessLists  []types.AccessList
}

const (
	sigSize  = 64 // r ++ s
	addrSize = common.AddressLength
)

// Encode serializes a batch in the span format. Transactions must be of type 0
// (legacy, EIP-155 protected, chain ID == chainID), 1 (access list) or 2
// (dynamic fee) with chain ID == chainID; anything else is an error
// (ErrUnsupportedTx). Blocks must be consecutive, Time non-decreasing, Origin
// non-decreasing (ErrInvalidBatch otherwise).
func Encode(b *Batch, chainID *big.Int) ([]byte, error) {
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	if b == nil || len(b.Blocks) == 0 {
		return nil, fmt.Errorf("%w: no blocks", ErrInvalidBatch)
	}
	if len(b.Blocks) > MaxBlocksPerBatch {
		return nil, fmt.Errorf("%w: %d blocks, limit %d", ErrInvalidBatch, len(b.Blocks), MaxBlocksPerBatch)
	}
	first := &b.Blocks[0]
	sb := spanBatch{
		ParentCheck:  b.ParentCheck,
		FirstNumber:  first.Number,
		FirstTime:    first.Time,
		FirstOrigin:  first.Origin,
		TxCounts:     make([]uint64, len(b.Blocks)),
		TimeDeltas:   make([]uint64, len(b.Blocks)-1),
		OriginDeltas: make([]uint64, len(b.Blocks)-1),
	}
	total := 0
	for i := range b.Blocks {
		blk := &b.Blocks[i]
		if i > 0 {
			prev := &b.Blocks[i-1]
			if prev.Number == math.MaxUint64 || blk.Number != prev.Number+1 {
				return nil, fmt.Errorf("%w: block %d follows block %d", ErrInvalidBatch, blk.Number, prev.Number)
			}
			if blk.Time < prev.Time {
				return nil, fmt.Errorf("%w: block %d time %d before parent's %d", ErrInvalidBatch, blk.Number, blk.Time, prev.Time)
			}
			if blk.Origin < prev.Origin {
				return nil, fmt.Errorf("%w: block %d origin %d before parent's %d", ErrInvalidBatch, blk.Number, blk.Origin, prev.Origin)
			}
			sb.TimeDeltas[i-1] = blk.Time - prev.Time
			sb.OriginDeltas[i-1] = blk.Origin - prev.Origin
		}
		sb.TxCounts[i] = uint64(len(blk.Txs))
		total += len(blk.Txs)
		if total > MaxTxsPerBatch {
			return nil, fmt.Errorf("%w: more than %d transactions", ErrInvalidBatch, MaxTxsPerBatch)
		}
	}

	bits := (total + 7) / 8
	sb.TxTypes = make([]byte, 0, total)
	sb.YParity = make([]byte, bits)
	sb.Signatures = make([]byte, 0, sigSize*total)
	sb.Creations = make([]byte, bits)
	sb.Recipients = make([]byte, 0, addrSize*total)
	sb.Nonces = make([]uint64, 0, total)
	sb.GasLimits = make([]uint64, 0, total)
	sb.Values = make([]*big.Int, 0, total)
	sb.GasPrices = make([]*big.Int, 0, total)
	sb.Data = make([][]byte, 0, total)

	i := 0
	for _, blk := range b.Blocks {
		for _, tx := range blk.Txs {
			if err := sb.addTx(i, tx, chainID); err != nil {
				return nil, fmt.Errorf("block %d tx %d: %w", blk.Number, i, err)
			}
			i++
		}
	}
	enc, err := encodeRaw(&sb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	return enc, nil
}

// addTx appends transaction number i of the batch to the columns.
func (sb *spanBatch) addTx(i int, tx *types.Transaction, chainID *big.Int) error {
	if tx == nil {
		return fmt.Errorf("%w: nil transaction", ErrUnsupportedTx)
	}
	v, r, s := tx.RawSignatureValues()
	var parity uint64
	switch tx.Type() {
	case types.LegacyTxType:
		// V = parity + 35 + 2*chainID (EIP-155).
		p := new(big.Int).Lsh(chainID, 1)
		p.Add(p, big.NewInt(35))
		p.Sub(v, p)
		if !p.IsUint64() || p.Uint64() > 1 {
			return fmt.Errorf("%w: legacy transaction V %v is not EIP-155 for chain %v", ErrUnsupportedTx, v, chainID)
		}
		parity = p.Uint64()
	case types.AccessListTxType, types.DynamicFeeTxType:
		if tx.ChainId().Cmp(chainID) != 0 {
			return fmt.Errorf("%w: chain ID %v, want %v", ErrUnsupportedTx, tx.ChainId(), chainID)
		}
		if !v.IsUint64() || v.Uint64() > 1 {
			return fmt.Errorf("%w: V %v is not a y parity", ErrUnsupportedTx, v)
		}
		parity = v.Uint64()
	default:
		return fmt.Errorf("%w: type %d", ErrUnsupportedTx, tx.Type())
	}
	if err := checkUint256("r", r); err != nil {
		return err
	}
	if err := checkUint256("s", s); err != nil {
		return err
	}
	value, price := tx.Value(), tx.GasFeeCap()
	if err := checkUint256("value", value); err != nil {
		return err
	}
	if err := checkUint256("gas price", price); err != nil {
		return err
	}

	sb.TxTypes = append(sb.TxTypes, tx.Type())
	if parity == 1 {
		sb.YParity[i/8] |= 1 << (i % 8)
	}
	r.FillBytes(grow(&sb.Signatures, 32))
	s.FillBytes(grow(&sb.Signatures, 32))
	if to := tx.To(); to == nil {
		sb.Creations[i/8] |= 1 << (i % 8)
	} else {
		sb.Recipients = append(sb.Recipients, to[:]...)
	}
	sb.Nonces = append(sb.Nonces, tx.Nonce())
	sb.GasLimits = append(sb.GasLimits, tx.Gas())
	sb.Values = append(sb.Values, value)
	sb.GasPrices = append(sb.GasPrices, price)
	sb.Data = append(sb.Data, tx.Data())
	if tx.Type() == types.DynamicFeeTxType {
		tip := tx.GasTipCap()
		if err := checkUint256("tip cap", tip); err != nil {
			return err
		}
		sb.TipCaps = append(sb.TipCaps, tip)
	}
	if tx.Type() != types.LegacyTxType {
		sb.AccessLists = append(sb.AccessLists, tx.AccessList())
	}
	return nil
}

// grow extends *b by n bytes and returns the new bytes.
func grow(b *[]byte, n int) []byte {
	l := len(*b)
	*b = append(*b, make([]byte, n)...)
	return (*b)[l : l+n]
}

func checkUint256(name string, x *big.Int) error {
	if x == nil {
		return fmt.Errorf("%w: nil %s", ErrUnsupportedTx, name)
	}
	if x.Sign() < 0 || x.BitLen() > 256 {
		return fmt.Errorf("%w: %s out of range", ErrUnsupportedTx, name)
	}
	return nil
}

func checkChainID(chainID *big.Int) error {
	if chainID == nil || chainID.Sign() <= 0 || chainID.BitLen() > 256 {
		return fmt.Errorf("%w: chain ID %v", ErrInvalidBatch, chainID)
	}
	return nil
}

// Decode parses Encode's output. Every transaction it returns has exactly the
// same Hash() as the one encoded. Any malformed input is an ErrInvalidBatch
// with the detail: bad version, trailing bytes, counts over the limits or not
// matching, non-consecutive blocks, time or origin overflowing, bad
// transaction fields, non-canonical encodings.
func Decode(data []byte, chainID *big.Int) (*Batch, error) {
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	b, err := decode(data, chainID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	return b, nil
}

func decode(data []byte, chainID *big.Int) (*Batch, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	if data[0] != SpanBatchVersion {
		return nil, fmt.Errorf("version %#x, want %#x", data[0], SpanBatchVersion)
	}
	content, rest, err := rlp.SplitList(data[1:])
	if err != nil {
		return nil, fmt.Errorf("batch list: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(rest))
	}
	r := &reader{b: content}

	// Blocks.
	parent := r.bytes("parent_check")
	firstNumber := r.uint("first_number")
	firstTime := r.uint("first_time")
	firstOrigin := r.uint("first_origin")
	counts := r.uints("tx_counts", -1, MaxBlocksPerBatch)
	if r.err != nil {
		return nil, r.err
	}
	if len(parent) != 20 {
		return nil, fmt.Errorf("parent_check: %d bytes, want 20", len(parent))
	}
	n := len(counts)
	if n == 0 {
		return nil, errors.New("no blocks")
	}
	timeDeltas := r.uints("time_deltas", n-1, n-1)
	originDeltas := r.uints("origin_deltas", n-1, n-1)
	if r.err != nil {
		return nil, r.err
	}
	if firstNumber > math.MaxUint64-uint64(n-1) {
		return nil, errors.New("block number overflow")
	}
	out := &Batch{Blocks: make([]Block, n)}
	copy(out.ParentCheck[:], parent)
	total := uint64(0)
	for i := range out.Blocks {
		blk := &out.Blocks[i]
		blk.Number = firstNumber + uint64(i)
		if i == 0 {
			blk.Time, blk.Origin = firstTime, firstOrigin
		} else {
			prev := &out.Blocks[i-1]
			if timeDeltas[i-1] > math.MaxUint64-prev.Time {
				return nil, fmt.Errorf("block %d: time overflow", blk.Number)
			}
			if originDeltas[i-1] > math.MaxUint64-prev.Origin {
				return nil, fmt.Errorf("block %d: origin overflow", blk.Number)
			}
			blk.Time = prev.Time + timeDeltas[i-1]
			blk.Origin = prev.Origin + originDeltas[i-1]
		}
		if counts[i] > MaxTxsPerBatch-total {
			return nil, fmt.Errorf("more than %d transactions", MaxTxsPerBatch)
		}
		total += counts[i]
	}
	N := int(total)

	// Transactions. Every column's size is checked against N before anything
	// is allocated for it; tx_types holds N bytes, so N is bounded by the input.
	txTypes := r.bytes("tx_types")
	if r.err != nil {
		return nil, r.err
	}
	if len(txTypes) != N {
		return nil, fmt.Errorf("tx_types: %d bytes, want %d", len(txTypes), N)
	}
	var nAccess, nDynamic int
	for i, t := range txTypes {
		switch t {
		case types.LegacyTxType:
		case types.AccessListTxType:
			nAccess++
		case types.DynamicFeeTxType:
			nAccess++
			nDynamic++
		default:
			return nil, fmt.Errorf("tx %d: unsupported type %d", i, t)
		}
	}
	yParity := r.bitfield("y_parity", N)
	sigs := r.bytes("signatures")
	creations := r.bitfield("creations", N)
	recipients := r.bytes("recipients")
	if r.err != nil {
		return nil, r.err
	}
	if len(sigs) != sigSize*N {
		return nil, fmt.Errorf("signatures: %d bytes, want %d", len(sigs), sigSize*N)
	}
	nCreations := 0
	for _, c := range creations {
		for ; c != 0; c &= c - 1 {
			nCreations++
		}
	}
	if len(recipients) != addrSize*(N-nCreations) {
		return nil, fmt.Errorf("recipients: %d bytes, want %d", len(recipients), addrSize*(N-nCreations))
	}
	nonces := r.uints("nonces", N, N)
	gasLimits := r.uints("gas_limits", N, N)
	values := r.bigs("values", N)
	gasPrices := r.bigs("gas_prices", N)
	tipCaps := r.bigs("tip_caps", nDynamic)
	txData := r.strings("data", N)
	accessLists := r.accessLists("access_lists", nAccess)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("unexpected fields after access_lists")
	}

	txs := make([]*types.Transaction, N)
	var tips, accesses int
	legacyV := new(big.Int).Lsh(chainID, 1)
	legacyV.Add(legacyV, big.NewInt(35))
	for i := range txs {
		parity := uint64(yParity[i/8]>>(i%8)) & 1
		sig := sigs[sigSize*i : sigSize*(i+1)]
		R := new(big.Int).SetBytes(sig[:32])
		S := new(big.Int).SetBytes(sig[32:])
		var to *common.Address
		if creations[i/8]>>(i%8)&1 == 0 {
			to = new(common.Address)
			copy(to[:], recipients[:addrSize])
			recipients = recipients[addrSize:]
		}
		var inner types.TxData
		switch txTypes[i] {
		case types.LegacyTxType:
			inner = &types.LegacyTx{
				Nonce:    nonces[i],
				GasPrice: gasPrices[i],
				Gas:      gasLimits[i],
				To:       to,
				Value:    values[i],
				Data:     txData[i],
				V:        new(big.Int).Add(legacyV, new(big.Int).SetUint64(parity)),
				R:        R,
				S:        S,
			}
		case types.AccessListTxType:
			inner = &types.AccessListTx{
				ChainID:    chainID,
				Nonce:      nonces[i],
				GasPrice:   gasPrices[i],
				Gas:        gasLimits[i],
				To:         to,
				Value:      values[i],
				Data:       txData[i],
				AccessList: accessLists[accesses],
				V:          new(big.Int).SetUint64(parity),
				R:          R,
				S:          S,
			}
			accesses++
		case types.DynamicFeeTxType:
			inner = &types.DynamicFeeTx{
				ChainID:    chainID,
				Nonce:      nonces[i],
				GasTipCap:  tipCaps[tips],
				GasFeeCap:  gasPrices[i],
				Gas:        gasLimits[i],
				To:         to,
				Value:      values[i],
				Data:       txData[i],
				AccessList: accessLists[accesses],
				V:          new(big.Int).SetUint64(parity),
				R:          R,
				S:          S,
			}
			tips++
			accesses++
		}
		txs[i] = types.NewTx(inner)
	}
	for i := range out.Blocks {
		c := int(counts[i])
		if c > 0 {
			out.Blocks[i].Txs = txs[:c:c]
			txs = txs[c:]
		}
	}
	return out, nil
}

// reader walks the fields of the batch's RLP list. The first error sticks:
// later reads return zero values, so that the caller checks r.err once after
// a group of reads.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", field, err)
	}
}

func (r *reader) uint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	x, rest, err := rlp.SplitUint64(r.b)
	if err != nil {
		r.fail(field, err)
		return 0
	}
	r.b = rest
	return x
}

func (r *reader) bytes(field string) []byte {
	if r.err != nil {
		return nil
	}
	s, rest, err := rlp.SplitString(r.b)
	if err != nil {
		r.fail(field, err)
		return nil
	}
	r.b = rest
	return s
}

// bitfield reads a string of ceil(n/8) bytes whose bits past n are zero.
func (r *reader) bitfield(field string, n int) []byte {
	s := r.bytes(field)
	if r.err != nil {
		return nil
	}
	if len(s) != (n+7)/8 {
		r.fail(field, fmt.Errorf("%d bytes, want %d", len(s), (n+7)/8))
		return nil
	}
	if n%8 != 0 && s[len(s)-1]>>(n%8) != 0 {
		r.fail(field, errors.New("padding bits set"))
		return nil
	}
	return s
}

// list reads a list header and checks that it holds `want` values (any
// number up to max when want < 0) before anything is allocated for them.
func (r *reader) list(field string, want, max int) (content []byte, n int) {
	if r.err != nil {
		return nil, 0
	}
	content, rest, err := rlp.SplitList(r.b)
	if err != nil {
		r.fail(field, err)
		return nil, 0
	}
	n, err = rlp.CountValues(content)
	if err != nil {
		r.fail(field, err)
		return nil, 0
	}
	if (want >= 0 && n != want) || n > max {
		if want >= 0 {
			r.fail(field, fmt.Errorf("%d values, want %d", n, want))
		} else {
			r.fail(field, fmt.Errorf("%d values, limit %d", n, max))
		}
		return nil, 0
	}
	r.b = rest
	return content, n
}

// items reads a list field of want values (up to max when want < 0),
// each split off the list's content by split.
func items[T any](r *reader, field string, want, max int, split func([]byte) (T, []byte, error)) []T {
	content, n := r.list(field, want, max)
	if r.err != nil {
		return nil
	}
	out := make([]T, 0, n)
	for i := 0; len(content) > 0; i++ {
		x, rest, err := split(content)
		if err != nil {
			r.fail(fmt.Sprintf("%s[%d]", field, i), err)
			return nil
		}
		out = append(out, x)
		content = rest
	}
	return out
}

func (r *reader) uints(field string, want, max int) []uint64 {
	return items(r, field, want, max, rlp.SplitUint64)
}

func (r *reader) bigs(field string, want int) []*big.Int {
	return items(r, field, want, want, func(b []byte) (*big.Int, []byte, error) {
		s, rest, err := rlp.SplitString(b)
		if err == nil && len(s) > 32 {
			err = errors.New("over 256 bits")
		}
		if err == nil && len(s) > 0 && s[0] == 0 {
			err = rlp.ErrCanonInt
		}
		return new(big.Int).SetBytes(s), rest, err
	})
}

func (r *reader) strings(field string, want int) [][]byte {
	return items(r, field, want, want, rlp.SplitString)
}

func (r *reader) accessLists(field string, want int) []types.AccessList {
	return items(r, field, want, want, func(b []byte) (types.AccessList, []byte, error) {
		_, _, rest, err := rlp.Split(b)
		var al types.AccessList
		if err == nil {
			err = rlp.DecodeBytes(b[:len(b)-len(rest)], &al)
		}
		return al, rest, err
	})
}

// encodeRaw encodes the columns as they are, without checks.
func encodeRaw(sb *spanBatch) ([]byte, error) {
	enc, err := rlp.EncodeToBytes(sb)
	if err != nil {
		return nil, err
	}
	return append([]byte{SpanBatchVersion}, enc...), nil
}
