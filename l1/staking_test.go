package l1

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/l1/staking"
)

// signedAt reports whether the validator with consensus address addr signed
// the block before height h, as recorded in block h's last commit.
func signedAt(n *Node, h int64, addr []byte) bool {
	b := n.Comet().BlockStore().LoadBlock(h)
	if b == nil {
		return false
	}
	for _, sig := range b.LastCommit.Signatures {
		if sig.BlockIDFlag == cmttypes.BlockIDFlagCommit && string(sig.ValidatorAddress) == string(addr) {
			return true
		}
	}
	return false
}

// A full node joins late and catches up; its operator registers it with a
// stake, and once CometBFT applies the update it signs blocks. When the stake
// is unbonded it stops.
func TestStakedValidatorJoinsAndLeaves(t *testing.T) {
	ether := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }
	alloc := types.GenesisAlloc{chain.DevAddress(5): {Balance: ether(1000)}}
	ops := []common.Address{chain.DevAddress(0), chain.DevAddress(1), chain.DevAddress(2), chain.DevAddress(3)}
	c := startCluster(t, ClusterConfig{Validators: 4, Genesis: chain.Genesis{ChainID: 66, Alloc: alloc},
		Staking: &ClusterStaking{Params: staking.DefaultParams(), Operators: ops, Stake: ether(100)}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitHeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	i, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	joiner := c.Node(i)
	if err := joiner.WaitHeight(ctx, c.Height()); err != nil {
		t.Fatalf("late full node did not catch up: %v", err)
	}

	client, err := ethclient.Dial("http://" + c.RPCAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pv := c.PrivValidator(i)
	var pub [32]byte
	copy(pub[:], pv.Key.PubKey.Bytes())
	operator := chain.DevKey(5)
	opAddr := crypto.PubkeyToAddress(operator.PublicKey)
	sig, err := pv.Key.PrivKey.Sign(staking.RegistrationMessage(big.NewInt(66), opAddr, pub))
	if err != nil {
		t.Fatal(err)
	}
	send := func(value *big.Int, method string, args ...any) *types.Receipt {
		t.Helper()
		data, _ := staking.ABI.Pack(method, args...)
		nonce, _ := client.PendingNonceAt(ctx, opAddr)
		to := staking.Address
		tx := types.MustSignNewTx(operator, types.LatestSignerForChainID(big.NewInt(66)), &types.DynamicFeeTx{
			ChainID: big.NewInt(66), Nonce: nonce, Gas: 300_000, To: &to, Value: value, Data: data,
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei)})
		if err := client.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		for {
			r, err := client.TransactionReceipt(ctx, tx.Hash())
			if err == nil {
				if r.Status != types.ReceiptStatusSuccessful {
					t.Fatalf("%s reverted", method)
				}
				return r
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: no receipt", method)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	addr := pv.Key.PubKey.Address()
	rc := send(ether(50), "registerValidator", pub, sig, uint16(500))
	joined := rc.BlockNumber.Int64()
	// CometBFT applies an update made at height H from H+2; the new
	// validator's vote for a block shows in the next block's last commit.
	waitFor(t, "the new validator to sign", func() bool {
		for h := joined + 3; h <= int64(height(c, 0)); h++ {
			if signedAt(c.Node(0), h, addr) {
				return true
			}
		}
		return false
	})

	rc = send(nil, "unbond", opAddr, ether(50))
	left := rc.BlockNumber.Int64()
	if err := c.Node(0).WaitHeight(ctx, uint64(left+6)); err != nil {
		t.Fatal(err)
	}
	for h := left + 4; h <= left+6; h++ {
		if signedAt(c.Node(0), h, addr) {
			t.Fatalf("the unbonded validator still signs at height %d", h)
		}
	}
}

func stakingCluster(t *testing.T, p staking.Params) *Cluster {
	t.Helper()
	ether := new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))
	ops := []common.Address{chain.DevAddress(0), chain.DevAddress(1), chain.DevAddress(2), chain.DevAddress(3)}
	return startCluster(t, ClusterConfig{Validators: 4,
		Genesis: chain.Genesis{ChainID: 66, Alloc: types.GenesisAlloc{chain.DevAddress(3): {Balance: ether}}},
		Staking: &ClusterStaking{Params: p, Operators: ops, Stake: ether}})
}

func validatorOf(t *testing.T, n *Node, op common.Address) rpcValidator {
	t.Helper()
	vals, err := n.Validators()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if v.Operator == op {
			return rpcValidator{Jailed: v.Jailed, Power: uint64(v.Power), Stake: (*big.Int)(v.Stake)}
		}
	}
	t.Fatalf("no validator %s", op)
	return rpcValidator{}
}

type rpcValidator struct {
	Jailed bool
	Power  uint64
	Stake  *big.Int
}

// A validator that goes offline misses blocks, is jailed with a small slash
// and loses its power; the others go on.
func TestOfflineValidatorIsJailed(t *testing.T) {
	p := staking.DefaultParams()
	p.DowntimeWindow, p.MaxMissed = 20, 5
	c := stakingCluster(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitHeight(ctx, 3); err != nil {
		t.Fatal(err)
	}
	c.StopNode(3)
	op := chain.DevAddress(3)
	waitFor(t, "the offline validator to be jailed", func() bool { return validatorOf(t, c.Node(0), op).Jailed })
	v := validatorOf(t, c.Node(0), op)
	full := new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))
	if v.Power != 0 || v.Stake.Cmp(full) >= 0 {
		t.Fatalf("jailed validator: power %d, stake %v", v.Power, v.Stake)
	}
	h := c.Height()
	waitFor(t, "the other three to go on", func() bool { return c.Height() >= h+5 })
}

// A validator whose key signs on two nodes at once double-signs; CometBFT's
// evidence reaches the application, which slashes 5% and jails it.
func TestDoubleSignerIsSlashed(t *testing.T) {
	c := stakingCluster(t, staking.DefaultParams())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitHeight(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddTwin(3); err != nil {
		t.Fatal(err)
	}
	op := chain.DevAddress(3)
	waitFor(t, "the double-signer to be jailed", func() bool { return validatorOf(t, c.Node(0), op).Jailed })
	v := validatorOf(t, c.Node(0), op)
	// 5% of a stake of at least 100 ETH (rewards may have raised it).
	if max := new(big.Int).Mul(big.NewInt(96), big.NewInt(params.Ether)); v.Stake.Cmp(max) > 0 || v.Power != 0 {
		t.Fatalf("double-signer: power %d, stake %v", v.Power, v.Stake)
	}
}

// InitChain refuses a CometBFT genesis whose validators are not the
// staking contract's genesis validators with their powers.
func TestInitChainChecksTheValidatorSet(t *testing.T) {
	var pub [32]byte
	key := ed25519.GenPrivKey()
	copy(pub[:], key.PubKey().Bytes())
	stk := staking.New(66, staking.DefaultParams())
	acct, err := stk.GenesisAccount([]staking.GenesisValidator{{Operator: chain.DevAddress(0), PubKey: pub, Stake: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := chain.Open("", &chain.Genesis{ChainID: 66, Alloc: types.GenesisAlloc{staking.Address: acct}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	app, err := NewApp(store, nil, Config{Staking: stk}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	update := func(k []byte, power int64) abci.ValidatorUpdate {
		return abci.ValidatorUpdate{PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: k}}, Power: power}
	}
	other := ed25519.GenPrivKey().PubKey().Bytes()
	for name, vals := range map[string][]abci.ValidatorUpdate{
		"another key":   {update(other, 100)},
		"another power": {update(pub[:], 7)},
		"one more":      {update(pub[:], 100), update(other, 100)},
	} {
		if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{Validators: vals}); !errors.Is(err, staking.ErrParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{Validators: []abci.ValidatorUpdate{update(pub[:], 100)}}); err != nil {
		t.Fatal(err)
	}
}

// The genesis, not a node, sets the transaction size limit (proposals are
// valid or not by it); a limit above the mempool's, or a genesis whose
// evidence outlives unbonding, is refused.
func TestGenesisRulesChecked(t *testing.T) {
	if _, _, err := (&GenesisAppState{MaxTxSize: DefaultMaxTxSize + 1}).Setup(); err == nil {
		t.Fatal("a transaction limit above the mempool's was accepted")
	}
	p := staking.DefaultParams()
	p.DoubleSignSlashBps = 10_001
	if _, _, err := (&GenesisAppState{Staking: &StakingGenesis{Params: p}}).Setup(); !errors.Is(err, staking.ErrParams) {
		t.Fatalf("a slash above 100%%: %v", err)
	}
	p = staking.DefaultParams()
	p.MaxValidators = 1
	two := []staking.GenesisValidator{{Operator: chain.DevAddress(0), Stake: big.NewInt(params.Ether)}, {Operator: chain.DevAddress(1), Stake: big.NewInt(params.Ether)}}
	if _, _, err := (&GenesisAppState{Staking: &StakingGenesis{Params: p, Validators: two}}).Setup(); !errors.Is(err, staking.ErrParams) {
		t.Fatalf("more genesis validators than the active set: %v", err)
	}
}
