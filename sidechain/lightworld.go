package sidechain

import (
	"cmp"
	"crypto/ecdsa"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// LightWorld is an L1 and a sidechain, each a hand-mined chain whose
// headers a HandConsensus of its own signs, with the light-client bridge's
// halves between them and a LightRelayer (paying from account 119). Both
// chains read one clock, which tests and attacks move forward (Advance)
// to cross a delay or a trusting period. Account 3 is funded on L1,
// account 8 on both; account 120 is the guardian. For tests and the lab's
// attacks.
type LightWorld struct {
	chains
	L1Cons, SideCons *HandConsensus
	Params           LightParams
	Relayer          *LightRelayer
	Guardian         *ecdsa.PrivateKey
	offset           atomic.Int64
}

// LightWorldOptions size a LightWorld.
type LightWorldOptions struct {
	Validators      int    // of each chain (default 4)
	TrustingSeconds uint64 // default 3,600
	DelaySeconds    uint64 // the withdrawal delay (default 60)
}

// The LightWorld's sidechain chain ID, and its guardian's test account.
const (
	LightWorldSideID = 1339
	worldGuardian    = 120
	worldRelayer     = 119
)

// NewLightWorld starts a LightWorld mining both chains every 10 ms.
func NewLightWorld(o LightWorldOptions) (*LightWorld, error) {
	o.Validators = cmp.Or(o.Validators, 4)
	o.TrustingSeconds = cmp.Or(o.TrustingSeconds, 3600)
	o.DelaySeconds = cmp.Or(o.DelaySeconds, 60)
	w := &LightWorld{Guardian: chain.DevKey(worldGuardian)}
	w.L1Cons = NewHandConsensus("cairn-900", o.Validators, nil)
	w.SideCons = NewHandConsensus("cairn-1339", o.Validators, nil)
	start := w.Now()
	w.Params = LightParams{L1ChainID: wingtest.L1MinerChainID, SideID: LightWorldSideID,
		L1: w.L1Cons.Trust(start), Side: w.SideCons.Trust(start), TrustingSeconds: o.TrustingSeconds,
		MaxClockDriftSeconds: 10, WithdrawalDelaySeconds: o.DelaySeconds, Guardian: chain.DevAddress(worldGuardian)}
	var err error
	if w.L1, err = wingtest.NewClockedMiner(wingtest.L1MinerChainID, w.Now, fund(3, 8, worldRelayer, worldGuardian), NewLightL1(w.Params)); err != nil {
		return nil, err
	}
	if w.Side, err = wingtest.NewClockedMiner(LightWorldSideID, w.Now, fund(8, worldRelayer, worldGuardian), NewLightSide(w.Params)); err != nil {
		w.L1.Close()
		return nil, err
	}
	w.L1Cons.Chain, w.SideCons.Chain = w.L1.Chain(), w.Side.Chain()
	w.mine()
	w.Relayer = &LightRelayer{L1: w.L1.Client(), Side: w.Side.Client(), L1Light: w.L1Cons, SideLight: w.SideCons,
		Sender: chain.DevKey(worldRelayer)}
	return w, nil
}

// Now is the world's clock, in Unix seconds.
func (w *LightWorld) Now() uint64 { return uint64(time.Now().Unix() + w.offset.Load()) }

// Advance moves the world's clock forward by d.
func (w *LightWorld) Advance(d time.Duration) { w.offset.Add(int64(d / time.Second)) }

// ForgedState is a state trie that exists nowhere but in a forger's hands:
// the bridge half at contract holding records of the given transfers out.
// A header committing to Root, signed by a faulty majority, lets the other
// half accept Merkle proofs of transfers nobody made.
type ForgedState struct {
	Root     common.Hash
	contract common.Address
	account  [][]byte
	storage  map[uint64][][]byte
}

// ForgeState builds the forged state of chain chainID.
func ForgeState(chainID uint64, contract common.Address, transfers ...Transfer) (*ForgedState, error) {
	st := trie.NewEmpty(nil)
	for _, t := range transfers {
		slot, c := SentSlot(t.Nonce), TransferCommitment(chainID, t)
		v, _ := rlp.EncodeToBytes(common.TrimLeftZeroes(c[:]))
		if err := st.Update(crypto.Keccak256(slot[:]), v); err != nil {
			return nil, err
		}
	}
	acct, err := rlp.EncodeToBytes(&types.StateAccount{Balance: new(uint256.Int), Root: st.Hash(), CodeHash: types.EmptyCodeHash.Bytes()})
	if err != nil {
		return nil, err
	}
	at := trie.NewEmpty(nil)
	if err := at.Update(crypto.Keccak256(contract.Bytes()), acct); err != nil {
		return nil, err
	}
	f := &ForgedState{Root: at.Hash(), contract: contract, storage: map[uint64][][]byte{}}
	var ap proofNodes
	if err := at.Prove(crypto.Keccak256(contract.Bytes()), &ap); err != nil {
		return nil, err
	}
	f.account = ap
	for _, t := range transfers {
		slot := SentSlot(t.Nonce)
		var sp proofNodes
		if err := st.Prove(crypto.Keccak256(slot[:]), &sp); err != nil {
			return nil, err
		}
		f.storage[t.Nonce] = sp
	}
	return f, nil
}

// Proof is the account and storage proof of transfer nonce.
func (f *ForgedState) Proof(nonce uint64) (account, storage [][]byte) {
	return f.account, f.storage[nonce]
}

type proofNodes [][]byte

func (p *proofNodes) Put(_ []byte, v []byte) error { *p = append(*p, common.CopyBytes(v)); return nil }
func (p *proofNodes) Delete([]byte) error          { return nil }
