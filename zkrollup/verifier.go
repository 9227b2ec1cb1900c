package zkrollup

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/common"

	"github.com/cairn-dev/cairn/chain"
)

// VerifierAddress is the ZK rollup's L1 verifier system contract.
var VerifierAddress = common.HexToAddress("0x00000000000000000000000000000000CA1E0200")

// VerifierParams are the verifier contract's rules, fixed at L1 genesis.
type VerifierParams struct {
	Slots        int            `json:"slots"` // transfers per batch
	Depth        int            `json:"depth"` // account tree depth
	VerifyingKey []byte         `json:"verifyingKey"`
	GenesisRoot  common.Hash    `json:"genesisRoot"`
	Operator     common.Address `json:"operator"` // who submits batches
}

const verifierABIJSON = `[
{"type":"function","name":"submitBatch","stateMutability":"nonpayable","inputs":[{"name":"newRoot","type":"bytes32"},{"name":"pubdata","type":"bytes"},{"name":"proof","type":"bytes"}],"outputs":[]},
{"type":"function","name":"stateRoot","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"bytes32"}]},
{"type":"function","name":"batchCount","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"event","name":"BatchVerified","inputs":[{"name":"index","type":"uint256","indexed":true},{"name":"newRoot","type":"bytes32","indexed":true},{"name":"pubdata","type":"bytes","indexed":false}]}
]`

// VerifierABI is the verifier contract's ABI.
var VerifierABI = chain.MustParseABI(verifierABIJSON)

// VerifyGas is what verifying one batch proof costs on L1: a fixed price,
// as a precompile's pairing check (EIP-197 prices 4 pairings at 181,000),
// plus the public data hashing.
const VerifyGas = 250_000

var (
	rootSlot  = common.Hash{31: 1}
	countSlot = common.Hash{31: 2}
)

// Verifier is the L1 contract that holds the ZK rollup's verified state
// root and moves it only for a batch whose Groth16 proof verifies.
type Verifier struct {
	p    VerifierParams
	once sync.Once
	vk   groth16.VerifyingKey
	err  error
}

// NewVerifier returns the verifier contract.
func NewVerifier(p VerifierParams) *Verifier { return &Verifier{p: p} }

// Address implements chain.SystemContract.
func (v *Verifier) Address() common.Address { return VerifierAddress }

// Name implements chain.SystemContract.
func (v *Verifier) Name() string { return "zk-verifier" }

// RequiredGas implements chain.SystemContract.
func (v *Verifier) RequiredGas(input []byte) uint64 { return VerifyGas + 8*uint64(len(input)) }

func (v *Verifier) key() (groth16.VerifyingKey, error) {
	v.once.Do(func() {
		v.vk = groth16.NewVerifyingKey(ecc.BN254)
		_, v.err = v.vk.ReadFrom(bytes.NewReader(v.p.VerifyingKey))
	})
	return v.vk, v.err
}

// ErrProof is returned for a batch whose proof does not verify.
var ErrProof = errors.New("batch proof does not verify")

// Run implements chain.SystemContract.
func (v *Verifier) Run(c *chain.Call) ([]byte, error) {
	m, args, err := chain.ParseCall(&VerifierABI, "zk verifier", c.Input)
	if err != nil {
		return nil, err
	}
	root := c.Get(rootSlot)
	if root == (common.Hash{}) {
		root = v.p.GenesisRoot
	}
	switch m.Name {
	case "stateRoot":
		return root.Bytes(), nil
	case "batchCount":
		return c.Get(countSlot).Bytes(), nil
	case "submitBatch":
		if c.Caller != v.p.Operator {
			return nil, chain.Revert("zk verifier: only the operator submits batches")
		}
		newRoot, pubdata, proof := common.Hash(args[0].([32]byte)), args[1].([]byte), args[2].([]byte)
		if err := v.verify(root, newRoot, pubdata, proof); err != nil {
			return nil, chain.Revert("zk verifier: %v", err)
		}
		c.Set(rootSlot, newRoot)
		n := c.Get(countSlot).Big()
		c.Set(countSlot, common.BigToHash(new(big.Int).Add(n, common.Big1)))
		data, _ := VerifierABI.Events["BatchVerified"].Inputs.NonIndexed().Pack(pubdata)
		c.Emit([]common.Hash{VerifierABI.Events["BatchVerified"].ID, common.BigToHash(n), newRoot}, data)
		return nil, nil
	}
	return nil, chain.Revert("zk verifier: unknown method")
}

// verify checks a batch proof against the roots and the public data.
func (v *Verifier) verify(oldRoot, newRoot common.Hash, pubdata, proofBytes []byte) error {
	vk, err := v.key()
	if err != nil {
		return fmt.Errorf("verifying key: %w", err)
	}
	h, err := PubDataHash(pubdata, v.p.Slots)
	if err != nil {
		return err
	}
	assignment := &BatchCircuit{OldRoot: oldRoot.Big(), NewRoot: newRoot.Big(), PubDataHash: toBig(h)}
	public, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return err
	}
	proof := groth16.NewProof(ecc.BN254)
	if _, err := proof.ReadFrom(bytes.NewReader(proofBytes)); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	if err := groth16.Verify(proof, vk, public); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	return nil
}
