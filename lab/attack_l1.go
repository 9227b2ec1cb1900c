package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/ethtx"
	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/l1/staking"
)

// The attacks on the L1 (issue "Security of the L1 ...").

func attackMempoolFlood(ctx context.Context, out io.Writer) error {
	dir, cleanup, err := workDir("", "cairn-lab-flood-")
	if err != nil {
		return err
	}
	defer cleanup()
	spammer, user := chain.DevKey(8), chain.DevKey(3)
	alloc := types.GenesisAlloc{}
	for _, k := range []*ecdsa.PrivateKey{spammer, user} {
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))}
	}
	cl, err := startCluster(ctx, l1.ClusterConfig{Dir: filepath.Join(dir, "l1"), Validators: 2, Genesis: chain.Genesis{ChainID: benchChainID, Alloc: alloc},
		BlockTime: 200 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}, 2)
	if err != nil {
		return err
	}
	defer cl.Stop()
	c, err := ethclient.DialContext(ctx, "http://"+cl.RPCAddr(0))
	if err != nil {
		return err
	}
	defer c.Close()
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(benchChainID))
	blob := func() []byte {
		b := make([]byte, 100*1024)
		rand.Read(b)
		return b
	}
	sink := common.HexToAddress("0x5151")
	fmt.Fprintln(out, "setup: a 2-validator L1 in this process, 200 ms blocks")

	fmt.Fprintln(out, "1. fresh keys with no ETH send 100 KiB transactions with a fee cap of 0 (and of 1 wei): they cost nothing and can never be included")
	refused := 0
	for i := range 40 {
		k, _ := crypto.GenerateKey()
		feeCap := int64(i % 2)
		tx := types.MustSignNewTx(k, signer, &types.DynamicFeeTx{ChainID: new(big.Int).SetUint64(benchChainID), Gas: 4_200_000, To: &sink, Data: blob(),
			GasTipCap: big.NewInt(feeCap), GasFeeCap: big.NewInt(feeCap)})
		if err := c.SendTransaction(ctx, tx); err != nil {
			refused++
			if i < 2 {
				fmt.Fprintf(out, "   refused: %v\n", err)
			}
		}
	}
	if refused != 40 {
		return fmt.Errorf("SECURITY FAILURE: %d of 40 free transactions entered the mempool", 40-refused)
	}
	fmt.Fprintf(out, "   all %d refused\n", refused)

	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	startFee := head.BaseFee
	fmt.Fprintf(out, "2. a funded spammer floods at the lowest price admitted (tip 1 wei, fee cap 2x the base fee of %s gwei): 300 transactions of 100 KiB\n", gweiString(startFee))
	nonce, err := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(spammer.PublicKey))
	if err != nil {
		return err
	}
	before, err := c.BalanceAt(ctx, crypto.PubkeyToAddress(spammer.PublicKey), nil)
	if err != nil {
		return err
	}
	sent := 0
	for range 300 {
		tx := types.MustSignNewTx(spammer, signer, &types.DynamicFeeTx{ChainID: new(big.Int).SetUint64(benchChainID), Nonce: nonce, Gas: 4_200_000, To: &sink, Data: blob(),
			GasTipCap: big.NewInt(1), GasFeeCap: new(big.Int).Mul(startFee, big.NewInt(2))})
		if err := c.SendTransaction(ctx, tx); err != nil {
			break
		}
		nonce++
		sent++
	}
	fmt.Fprintf(out, "   %d accepted\n", sent)

	fmt.Fprintln(out, "3. meanwhile a user sends ordinary transfers (tip 1 gwei) and waits for each receipt")
	for i := range 5 {
		t0 := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := ethtx.SendAndWait(wctx, c, user, common.HexToAddress("0x7777"), big.NewInt(1), nil, 21_000)
		cancel()
		if err != nil {
			return fmt.Errorf("SECURITY FAILURE: the user's transfer %d was not included while the flood ran: %w", i, err)
		}
		fmt.Fprintf(out, "   transfer %d included in block %d after %v\n", i, r.BlockNumber, time.Since(t0).Round(10*time.Millisecond))
	}
	head, err = c.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	after, err := c.BalanceAt(ctx, crypto.PubkeyToAddress(spammer.PublicKey), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   the base fee rose from %s to %s gwei; the spam so far cost the spammer %s ETH\n", gweiString(startFee), gweiString(head.BaseFee), ethFloat(new(big.Int).Sub(before, after)))
	fmt.Fprintln(out, "outcome as promised: spam must pay the base fee to enter, what cannot pay it is dropped, and honest transactions outbid it")
	return nil
}

func gweiString(wei *big.Int) string {
	return new(big.Float).Quo(new(big.Float).SetInt(wei), big.NewFloat(params.GWei)).Text('f', 3)
}

func attackUnbondAndEquivocate(ctx context.Context, out io.Writer) error {
	p := staking.DefaultParams()
	honest, cheat := chain.DevKey(0), chain.DevKey(1)
	opHonest, opCheat := crypto.PubkeyToAddress(honest.PublicKey), crypto.PubkeyToAddress(cheat.PublicKey)
	var consHonest, consCheat [32]byte
	consHonest[0], consCheat[0] = 1, 2
	funded := types.GenesisAlloc{opHonest: {Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}, opCheat: {Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}}
	stake := new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))
	sim, err := staking.NewSim(benchChainID, p, funded,
		staking.GenesisValidator{Operator: opHonest, PubKey: consHonest, Stake: stake},
		staking.GenesisValidator{Operator: opCheat, PubKey: consCheat, Stake: stake})
	if err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(out, "setup: the L1's staking module, two validators of 100 ETH; unbonding %d blocks and %d s; double-signing slashes %d.%02d%%\n",
		p.UnbondingBlocks, p.UnbondingSeconds, p.DoubleSignSlashBps/100, p.DoubleSignSlashBps%100)
	if err := p.CheckEvidenceAge(int64(p.UnbondingBlocks/2), time.Duration(p.UnbondingSeconds/2)*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(out, "   the devnet's evidence is valid for %d blocks or %d s: shorter than unbonding, as genesis now requires\n", p.UnbondingBlocks/2, p.UnbondingSeconds/2)
	fmt.Fprintln(out, "1. the cheater unbonds all its stake; CometBFT still counts its vote for two more blocks")
	if _, err := sim.Call(cheat, nil, "unbond", opCheat, stake); err != nil {
		return err
	}
	if _, err := sim.Block(chain.Consensus{}); err != nil {
		return err
	}
	infraction := sim.Head().Number.Int64() + 1
	fmt.Fprintf(out, "2. it signs two blocks at height %d; the evidence lands two blocks later\n", infraction)
	if _, err := sim.Block(chain.Consensus{}); err != nil {
		return err
	}
	evidence := chain.Consensus{Evidence: []chain.Misbehaviour{{Address: staking.ConsensusAddress(consCheat), Height: infraction}}}
	if _, err := sim.Block(evidence); err != nil {
		return err
	}
	v, err := sim.Validator(opCheat)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   the cheater is jailed %v, tombstoned %v; its unbonding stake is now %s ETH\n", v.Jailed, v.Tombstoned, ethFloat(v.Unbonding))
	fmt.Fprintln(out, "3. after the unbonding period it withdraws")
	for range p.UnbondingBlocks {
		if _, err := sim.Block(chain.Consensus{}); err != nil {
			return err
		}
	}
	if _, err := sim.Call(cheat, nil, "withdraw"); err != nil {
		return err
	}
	res, err := sim.Block(chain.Consensus{})
	if err != nil {
		return err
	}
	paid := new(big.Int)
	if logs := res.Receipts[0].Logs; len(logs) == 1 {
		paid.SetBytes(logs[0].Data)
	}
	lost := new(big.Int).Sub(stake, paid)
	want := new(big.Int).Div(new(big.Int).Mul(stake, new(big.Int).SetUint64(p.DoubleSignSlashBps)), big.NewInt(10_000))
	if lost.Cmp(want) < 0 {
		return fmt.Errorf("SECURITY FAILURE: the equivocator withdrew %s ETH, losing only %s", ethFloat(paid), ethFloat(lost))
	}
	fmt.Fprintf(out, "   paid %s ETH: %s ETH slashed\n", ethFloat(paid), ethFloat(lost))
	if _, err := sim.Call(cheat, nil, "unjail"); err != nil {
		return err
	}
	if res, err = sim.Block(chain.Consensus{}); err != nil {
		return err
	}
	if res.Receipts[0].Status != 0 {
		return fmt.Errorf("SECURITY FAILURE: a double-signer unjailed")
	}
	fmt.Fprintln(out, "   and it may never unjail")
	fmt.Fprintf(out, "attacker's cost: %s ETH of its %s ETH stake slashed, and its validator tombstoned\n", ethFloat(lost), ethFloat(stake))
	fmt.Fprintln(out, "outcome as promised: unbonding stake stays slashable until paid, and evidence always lands before it is")
	return nil
}
