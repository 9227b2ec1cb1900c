package rollup

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
)

// FindWithdrawal returns the withdrawal an L2 transaction started and the
// L2 block it is in.
func FindWithdrawal(ctx context.Context, l2 *ethclient.Client, txHash common.Hash) (*Withdrawal, uint64, error) {
	r, err := l2.TransactionReceipt(ctx, txHash)
	if err != nil {
		return nil, 0, fmt.Errorf("L2 receipt of %s: %w", txHash, err)
	}
	for _, l := range r.Logs {
		if w, err := ParseWithdrawal(l); err == nil {
			return w, r.BlockNumber.Uint64(), nil
		}
	}
	return nil, 0, fmt.Errorf("transaction %s started no withdrawal", txHash)
}

// OutputInfo is an output as the L1 outputs contract holds it.
type OutputInfo struct {
	Index     uint64
	Root      common.Hash
	L2Block   uint64
	Timestamp uint64
	Proposer  common.Address
	Status    uint8
	Serial    uint64 // the proposal's number, which claimBond takes
	L1Block   uint64 // the L1 block that included it
	Games     uint64 // games opened against it
	Open      uint64 // games still open
}

// L1View reads the rollup's L1 contracts with eth_call.
type L1View struct{ C *ethclient.Client }

func (v L1View) call(ctx context.Context, to common.Address, abiName string, data []byte) ([]byte, error) {
	out, err := v.C.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abiName, err)
	}
	return out, nil
}

// Outputs lists the live outputs, the genesis anchor (index 0) included.
func (v L1View) Outputs(ctx context.Context) ([]OutputInfo, error) {
	n, err := v.Count(ctx)
	if err != nil {
		return nil, err
	}
	var list []OutputInfo
	for i := uint64(0); i < n; i++ {
		o, err := v.Output(ctx, i)
		if err != nil {
			return nil, err
		}
		list = append(list, *o)
	}
	return list, nil
}

// Output reads output i.
func (v L1View) Output(ctx context.Context, i uint64) (*OutputInfo, error) {
	data, _ := OutputsABI.Pack("getOutput", new(big.Int).SetUint64(i))
	out, err := v.call(ctx, OutputsAddress, "getOutput", data)
	if err != nil {
		return nil, err
	}
	vals, err := OutputsABI.Unpack("getOutput", out)
	if err != nil {
		return nil, err
	}
	return &OutputInfo{Index: i, Root: vals[0].([32]byte), L2Block: vals[1].(uint64), Timestamp: vals[2].(uint64), Proposer: vals[3].(common.Address), Status: vals[4].(uint8),
		Serial: vals[5].(uint64), L1Block: vals[6].(uint64), Games: vals[7].(uint64), Open: vals[8].(uint64)}, nil
}

// Final reports whether output i is final: withdrawals proven against it
// may be paid.
func (v L1View) Final(ctx context.Context, i uint64) (bool, error) {
	data, _ := OutputsABI.Pack("isFinal", new(big.Int).SetUint64(i))
	out, err := v.call(ctx, OutputsAddress, "isFinal", data)
	if err != nil {
		return false, err
	}
	return new(big.Int).SetBytes(out).Sign() != 0, nil
}

// GameInfo is a dispute game as the outputs contract holds it.
type GameInfo struct {
	Number                  uint64 // the game's number among its output's
	Challenger              common.Address
	Lo, Hi                  uint64
	LoRoot, HiRoot, MidRoot common.Hash
	Turn                    uint8
	Deadline                uint64 // when the party to move runs out of time
	Result                  uint8  // GameOpen, GameDefenderWon or GameChallengerWon
	DefenderClock           uint64 // seconds each party has spent
	ChallengerClock         uint64
}

// Game reads game n over output i.
func (v L1View) Game(ctx context.Context, i, n uint64) (*GameInfo, error) {
	data, _ := OutputsABI.Pack("getGame", new(big.Int).SetUint64(i), new(big.Int).SetUint64(n))
	out, err := v.call(ctx, OutputsAddress, "getGame", data)
	if err != nil {
		return nil, err
	}
	vals, err := OutputsABI.Unpack("getGame", out)
	if err != nil {
		return nil, err
	}
	return &GameInfo{Number: n, Challenger: vals[0].(common.Address), Lo: vals[1].(uint64), Hi: vals[2].(uint64),
		LoRoot: vals[3].([32]byte), HiRoot: vals[4].([32]byte), MidRoot: vals[5].([32]byte), Turn: vals[6].(uint8), Deadline: vals[7].(uint64),
		Result: vals[8].(uint8), DefenderClock: vals[9].(uint64), ChallengerClock: vals[10].(uint64)}, nil
}

// Games reads every game over output o.
func (v L1View) Games(ctx context.Context, o OutputInfo) ([]GameInfo, error) {
	var list []GameInfo
	for n := range o.Games {
		g, err := v.Game(ctx, o.Index, n)
		if err != nil {
			return nil, err
		}
		list = append(list, *g)
	}
	return list, nil
}

// Proven reads a withdrawal's proof record on the portal.
func (v L1View) Proven(ctx context.Context, h common.Hash) (index uint64, root common.Hash, at uint64, finalized bool, err error) {
	data, _ := PortalABI.Pack("provenWithdrawal", h)
	out, err := v.call(ctx, PortalAddress, "provenWithdrawal", data)
	if err != nil {
		return 0, common.Hash{}, 0, false, err
	}
	vals, err := PortalABI.Unpack("provenWithdrawal", out)
	if err != nil {
		return 0, common.Hash{}, 0, false, err
	}
	return vals[0].(*big.Int).Uint64(), vals[1].([32]byte), vals[2].(uint64), vals[3].(bool), nil
}

// ProveCalldata builds the portal's proveWithdrawal call for w against a
// live output at or after the withdrawal's L2 block, reading the storage
// proof with eth_getProof from an L2 node. Every such output holds the
// withdrawal (the message passer never clears a slot), so it takes the
// newest one whose state the node still serves: an L2 node keeps the state
// of its recent blocks only, and the output that first covered the
// withdrawal may be long behind the head.
func ProveCalldata(ctx context.Context, l1 L1View, l2 *ethclient.Client, w *Withdrawal, l2Block uint64) ([]byte, *OutputInfo, error) {
	outs, err := l1.Outputs(ctx)
	if err != nil {
		return nil, nil, err
	}
	var firstErr error
	for i := len(outs) - 1; i > 0; i-- {
		o := &outs[i]
		if o.L2Block < l2Block {
			break
		}
		if o.Status == OutputDefeated {
			continue
		}
		data, err := proveAgainst(ctx, l2, w, o)
		if err == nil {
			return data, o, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	return nil, nil, fmt.Errorf("no output covers L2 block %d yet", l2Block)
}

// proveAgainst builds the proveWithdrawal call against output out.
func proveAgainst(ctx context.Context, l2 *ethclient.Client, w *Withdrawal, out *OutputInfo) ([]byte, error) {
	var proof struct {
		StorageHash  common.Hash `json:"storageHash"`
		StorageProof []struct {
			Proof []hexutil.Bytes `json:"proof"`
		} `json:"storageProof"`
	}
	if err := l2.Client().CallContext(ctx, &proof, "eth_getProof", MessagePasserAddress, []common.Hash{w.StorageSlot()}, hexutil.Uint64(out.L2Block)); err != nil {
		// The block's state is gone (it is more than 128 blocks old): a
		// Cairn node archives the message passer's trie.
		var archived StorageProof
		if aerr := l2.Client().CallContext(ctx, &archived, "rollup_messagePasserProof", w.StorageSlot(), hexutil.Uint64(out.L2Block)); aerr != nil {
			return nil, fmt.Errorf("eth_getProof at output %d (L2 block %d): %w; archived proof: %w", out.Index, out.L2Block, err, aerr)
		}
		proof.StorageHash = archived.StorageHash
		proof.StorageProof = append(proof.StorageProof[:0], struct {
			Proof []hexutil.Bytes `json:"proof"`
		}{archived.Proof})
	}
	header, err := l2.HeaderByNumber(ctx, new(big.Int).SetUint64(out.L2Block))
	if err != nil {
		return nil, err
	}
	var at OutputJSON
	if err := l2.Client().CallContext(ctx, &at, "rollup_outputAtBlock", hexutil.Uint64(out.L2Block)); err != nil {
		return nil, fmt.Errorf("output of L2 block %d: %w", out.L2Block, err)
	}
	pos, ok := PositionOfWord(at.Position)
	if !ok || OutputRoot(header.Root, proof.StorageHash, header.Hash(), pos) != out.Root {
		return nil, fmt.Errorf("output %d at L2 block %d does not match this L2 node's chain", out.Index, out.L2Block)
	}
	if len(proof.StorageProof) != 1 {
		return nil, fmt.Errorf("eth_getProof returned %d storage proofs", len(proof.StorageProof))
	}
	nodes := make([][]byte, len(proof.StorageProof[0].Proof))
	for i, n := range proof.StorageProof[0].Proof {
		nodes[i] = n
	}
	return PortalABI.Pack("proveWithdrawal", w.Encode(), new(big.Int).SetUint64(out.Index), header.Root, proof.StorageHash, header.Hash(), at.Position, nodes)
}

// Count is how many outputs the contract holds, the genesis output (index
// 0) included.
func (v L1View) Count(ctx context.Context) (uint64, error) {
	data, _ := OutputsABI.Pack("outputCount")
	out, err := v.call(ctx, OutputsAddress, "outputCount", data)
	if err != nil {
		return 0, err
	}
	return new(big.Int).SetBytes(out).Uint64(), nil
}

// Covering is the first live output at or past L2 block n, found by
// bisection (outputs are in rising L2 block order), or nil when none is
// yet.
func (v L1View) Covering(ctx context.Context, n uint64) (*OutputInfo, error) {
	count, err := v.Count(ctx)
	if err != nil {
		return nil, err
	}
	lo, hi := uint64(1), count // the answer is in [lo, hi]; hi means none
	for lo < hi {
		mid := lo + (hi-lo)/2
		o, err := v.Output(ctx, mid)
		if err != nil {
			return nil, err
		}
		if o.L2Block >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	for i := lo; i < count; i++ {
		o, err := v.Output(ctx, i)
		if err != nil {
			return nil, err
		}
		if o.Status != OutputDefeated {
			return o, nil
		}
	}
	return nil, nil
}

// StorageProof is an archived storage proof of the message passer.
type StorageProof struct {
	StorageHash common.Hash     `json:"storageHash"` // the message passer's storage root at the block
	Proof       []hexutil.Bytes `json:"proof"`       // root first, as eth_getProof's storageProof
}
