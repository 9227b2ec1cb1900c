package devnet

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	cairnrpc "github.com/cairn-dev/cairn/rpc"
	"github.com/cairn-dev/cairn/sidechain"
)

// The sidechain as a user meets it: its own chain ID and validators,
// listed in cairn_layers; a transfer on it; ETH deposited through the
// multisig bridge arrives there, and ETH withdrawn comes back to L1.
func TestSidechainAndItsBridge(t *testing.T) {
	d := startAny(t, Config{Validators: 2, Rollup: RollupOptions{RPCPort: -1}, Channels: ChannelsOptions{RPCPort: -1},
		Sidechain: SidechainOptions{Validators: 2, WithdrawalDelay: 3 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l1c, sc := dial(t, d.L1RPC(0)), dial(t, d.Sidechain.RPC(0))
	if id, err := sc.ChainID(ctx); err != nil || id.Uint64() != DefaultSidechainID {
		t.Fatalf("sidechain chain ID %v, %v", id, err)
	}
	var layers []cairnrpc.Layer
	if err := sc.Client().CallContext(ctx, &layers, "cairn_layers"); err != nil {
		t.Fatal(err)
	}
	if l := layers[len(layers)-1]; l.Kind != sidechain.WingName || l.ChainID != DefaultSidechainID || len(l.RPC) != 2 {
		t.Fatalf("sidechain layer: %+v", layers)
	}
	user, to := chain.DevKey(3), chain.DevAddress(7)
	eth := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }
	if rc := waitReceipt(t, sc, sendTx(t, sc, user, &to, eth(1), nil, 21_000).Hash()); rc.Status != 1 {
		t.Fatal("a transfer on the sidechain failed")
	}
	// Deposit 2 ETH from L1 for account 7 on the sidechain.
	before := balance(t, sc, to, nil)
	if _, err := sidechain.Deposit(ctx, l1c, user, to, eth(2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deposit on the sidechain", 20*time.Second, func() bool {
		return balance(t, sc, to, nil).Cmp(new(big.Int).Add(before, eth(2))) == 0
	})
	// Withdraw 1 ETH from the sidechain to account 7 on L1.
	beforeL1 := balance(t, l1c, to, nil)
	if _, err := sidechain.Withdraw(ctx, sc, chain.DevKey(7), to, eth(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the withdrawal on L1", 20*time.Second, func() bool {
		return balance(t, l1c, to, nil).Cmp(new(big.Int).Add(beforeL1, eth(1))) == 0
	})

	// The light-client bridge: the same trip, carried by Merkle proofs
	// against the real chains' CometBFT headers.
	before = balance(t, sc, to, nil)
	if _, err := sidechain.LightDeposit(ctx, l1c, user, to, eth(3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the light deposit on the sidechain", 20*time.Second, func() bool {
		return balance(t, sc, to, nil).Cmp(new(big.Int).Add(before, eth(3))) == 0
	})
	beforeL1 = balance(t, l1c, to, nil)
	_, err := sidechain.LightWithdraw(ctx, sc, chain.DevKey(7), to, eth(2))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the light withdrawal proven on L1", 20*time.Second, func() bool {
		st, err := sidechain.ReadLightTransfer(ctx, l1c, sidechain.LightL1Address, 0)
		return err == nil && (st.Pending || st.Carried)
	})
	waitFor(t, "the light withdrawal paid after its delay", 20*time.Second, func() bool {
		return balance(t, l1c, to, nil).Cmp(new(big.Int).Add(beforeL1, eth(2))) == 0
	})
	for _, c := range []*ethclient.Client{l1c, sc} {
		at := sidechain.LightL1Address
		if c == sc {
			at = sidechain.LightSideAddress
		}
		if st, err := sidechain.ReadLightStatus(ctx, c, at); err != nil || st.Frozen || st.Expired || st.Latest == 0 {
			t.Fatalf("light client at %s: %+v %v", at, st, err)
		}
	}
}

// One of the sidechain's four validators down: the other three (3/4 of the
// power) keep it making blocks, and the bridge keeps carrying.
func TestSidechainLiveWithAValidatorDown(t *testing.T) {
	d := startAny(t, Config{Validators: 1, Rollup: RollupOptions{RPCPort: -1}, Channels: ChannelsOptions{RPCPort: -1}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.Sidechain.Cluster.StopNode(3)
	l1c, sc := dial(t, d.L1RPC(0)), dial(t, d.Sidechain.RPC(0))
	to := chain.DevAddress(6)
	eth := new(big.Int).SetUint64(params.Ether)
	if rc := waitReceipt(t, sc, sendTx(t, sc, chain.DevKey(5), &to, eth, nil, 21_000).Hash()); rc.Status != 1 {
		t.Fatal("a transfer failed with one validator down")
	}
	before := balance(t, sc, to, nil)
	if _, err := sidechain.Deposit(ctx, l1c, chain.DevKey(5), to, eth); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deposit", 20*time.Second, func() bool {
		return balance(t, sc, to, nil).Cmp(new(big.Int).Add(before, eth)) == 0
	})
}

// The light relayer down for longer than the trusting period: both
// clients expire and a withdrawal made meanwhile waits, unproven. The
// documented recovery (the guardian's, what `cairn bridge recover` runs)
// restarts both clients, and the withdrawal is then paid, once.
func TestLightClientExpiresWhileRelayerDown(t *testing.T) {
	d := startAny(t, Config{Validators: 1, Rollup: RollupOptions{RPCPort: -1}, Channels: ChannelsOptions{RPCPort: -1},
		Sidechain: SidechainOptions{Validators: 1, TrustingPeriod: 4 * time.Second, WithdrawalDelay: 3 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l1c, sc := dial(t, d.L1RPC(0)), dial(t, d.Sidechain.RPC(0))
	to := chain.DevAddress(7)
	eth := new(big.Int).SetUint64(params.Ether)
	// Funds locked on L1 first, so the withdrawal has something to pay.
	if _, err := sidechain.LightDeposit(ctx, l1c, chain.DevKey(6), to, new(big.Int).Mul(eth, big.NewInt(3))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deposit carried", 20*time.Second, func() bool {
		st, err := sidechain.ReadLightTransfer(ctx, sc, sidechain.LightSideAddress, 0)
		return err == nil && st.Carried
	})
	d.Sidechain.StopLightRelayer()
	before := balance(t, l1c, to, nil)
	if _, err := sidechain.LightWithdraw(ctx, sc, chain.DevKey(7), to, eth); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both clients expired", 20*time.Second, func() bool {
		a, err1 := sidechain.ReadLightStatus(ctx, l1c, sidechain.LightL1Address)
		b, err2 := sidechain.ReadLightStatus(ctx, sc, sidechain.LightSideAddress)
		return err1 == nil && err2 == nil && a.Expired && b.Expired
	})
	// The relayer back: it cannot prove anything to an expired client.
	d.Sidechain.StartLightRelayer()
	time.Sleep(time.Second)
	if st, err := sidechain.ReadLightTransfer(ctx, l1c, sidechain.LightL1Address, 0); err != nil || st.Pending || st.Carried {
		t.Fatalf("a withdrawal went through an expired client: %+v %v", st, err)
	}
	if _, err := sidechain.RecoverClients(ctx, l1c, sc, chain.DevKey(3)); err == nil {
		t.Fatal("a stranger recovered the clients")
	}
	halves, err := sidechain.RecoverClients(ctx, l1c, sc, chain.DevKey(lightGuardian))
	if err != nil || len(halves) != 2 {
		t.Fatalf("recovery: %v %v", halves, err)
	}
	waitFor(t, "the withdrawal paid", 20*time.Second, func() bool {
		return balance(t, l1c, to, nil).Cmp(new(big.Int).Add(before, eth)) == 0
	})
	time.Sleep(time.Second)
	if got := balance(t, l1c, to, nil); got.Cmp(new(big.Int).Add(before, eth)) != 0 {
		t.Fatalf("paid more than once: %s", got)
	}
}
