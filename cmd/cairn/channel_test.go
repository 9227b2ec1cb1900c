package main

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/wing/wingtest"
)

// channelProc is one `cairn channel node` process.
type channelProc struct {
	args []string
	rpc  string
	c    *gethrpc.Client
}

// Three channel nodes as separate processes (accounts 4, 5, 6, channels
// 4–5 and 5–6) under a stream of direct and two-hop payments. Node 5, in
// the middle, is SIGKILLed twice mid-stream and restarted from its disk.
// Afterwards no coin is lost or created, every payment a node
// acknowledged is in the states, every HTLC is resolved, both ends of each
// channel hold the same state, and no node published a state to L1.
func TestChannelNodesSurviveSIGKILL(t *testing.T) {
	bin := cairnBinary(t)
	alloc := types.GenesisAlloc{}
	for _, i := range []uint32{4, 5, 6} {
		alloc[chain.DevAddress(i)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}
	}
	m, err := wingtest.NewL1Miner(alloc, channels.NewAdjudicator(channels.Params{L1ChainID: wingtest.L1MinerChainID, DisputeWindow: 500}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	t.Cleanup(m.AutoMine(20 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := freeBase(t, 6)
	procs := make([]*channelProc, 3)
	running := make([]func(), 3)
	startNode := func(i int) {
		p := procs[i]
		cmd := start(t, bin, p.args...)
		running[i] = func() { kill9(t, cmd) }
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := gethrpc.DialContext(ctx, p.rpc)
			if err == nil {
				var info channels.InfoResult
				if err = c.CallContext(ctx, &info, "ch_info"); err == nil {
					p.c = c
					return
				}
				c.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d not up: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, acct := range []int{4, 5, 6} {
		procs[i] = &channelProc{rpc: fmt.Sprintf("http://127.0.0.1:%d", base+3+i), args: []string{"channel", "node", "--dev", strconv.Itoa(acct),
			"--l1", m.URL(), "--datadir", filepath.Join(dir, strconv.Itoa(acct)), "--listen", fmt.Sprintf("127.0.0.1:%d", base+i),
			"--rpc", fmt.Sprintf("127.0.0.1:%d", base+3+i), "--deposit", "1"}}
		startNode(i)
	}
	uri := func(i int) string {
		var info channels.InfoResult
		if err := procs[i].c.CallContext(ctx, &info, "ch_info"); err != nil {
			t.Fatal(err)
		}
		return info.URI
	}
	var ids []common.Hash
	for i := range 2 {
		var id common.Hash
		if err := procs[i].c.CallContext(ctx, &id, "ch_open", uri(i+1), (*hexutil.Big)(big.NewInt(params.Ether))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	list := func(i int) []channels.ChannelInfo {
		var l []channels.ChannelInfo
		_ = procs[i].c.CallContext(ctx, &l, "ch_list")
		return l
	}
	ready := func() bool {
		n := 0
		for i := range 3 {
			for _, c := range list(i) {
				if c.Status == "open" && c.Online {
					n++
				}
			}
		}
		return n == 4
	}
	waitUntil(t, ctx, "channels open", ready)

	// The stream: account 4 pays 5 directly, and 6 through 5.
	var direct, routed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w%2 == 0 {
					if procs[0].c.CallContext(ctx, nil, "ch_send", chain.DevAddress(5), (*hexutil.Big)(big.NewInt(1000))) == nil {
						direct.Add(1)
					}
					continue
				}
				var inv channels.InvoiceResult
				if procs[2].c.CallContext(ctx, &inv, "ch_invoice", (*hexutil.Big)(big.NewInt(100)), "") != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				var r channels.PayResult
				if err := procs[0].c.CallContext(ctx, &r, "ch_pay", inv.Invoice); err == nil && r.Status == channels.PaymentSucceeded {
					routed.Add(1)
				}
			}
		}()
	}
	for range 2 {
		time.Sleep(400 * time.Millisecond)
		running[1]()
		t.Logf("killed node 5 after %d direct and %d routed payments", direct.Load(), routed.Load())
		time.Sleep(100 * time.Millisecond)
		startNode(1)
	}
	// Payments flow again once the peers have redialled it.
	before, beforeRouted := direct.Load(), routed.Load()
	waitUntil(t, ctx, "payments after the restart", func() bool { return direct.Load() > before+50 && routed.Load() > beforeRouted+5 })
	close(stop)
	wg.Wait()
	t.Logf("%d direct and %d routed payments acknowledged", direct.Load(), routed.Load())

	// Quiet: every HTLC resolved, both ends of each channel agree.
	waitUntil(t, ctx, "channels to settle", func() bool {
		a, b, c := list(0), list(1), list(2)
		if len(a) != 1 || len(b) != 2 || len(c) != 1 {
			return false
		}
		byID := map[common.Hash]channels.ChannelInfo{}
		for _, x := range b {
			byID[x.ID] = x
		}
		for _, end := range []channels.ChannelInfo{a[0], c[0]} {
			mid := byID[end.ID]
			if end.HTLCs != 0 || mid.HTLCs != 0 || end.Version != mid.Version || (*big.Int)(end.Local).Cmp((*big.Int)(mid.Remote)) != 0 {
				return false
			}
		}
		return true
	})
	a, b := list(0)[0], list(2)[0]
	// No coin lost or created: each channel holds its 2 ETH of deposits.
	for _, ch := range []channels.ChannelInfo{a, b} {
		sum := new(big.Int).Add((*big.Int)(ch.Local), (*big.Int)(ch.Remote))
		if sum.Cmp(big.NewInt(2*params.Ether)) != 0 {
			t.Fatalf("channel %s holds %s wei", ch.ID, sum)
		}
	}
	// Account 4 paid at least what was acknowledged; account 6 got at least
	// the routed payments acknowledged (a payment can land just as its
	// answer is lost to a kill, never the reverse).
	paid := new(big.Int).Sub(big.NewInt(params.Ether), (*big.Int)(a.Local))
	wantPaid := new(big.Int).SetInt64(direct.Load()*1000 + routed.Load()*100)
	if paid.Cmp(wantPaid) < 0 {
		t.Fatalf("account 4 paid %s wei, acknowledged payments make %s", paid, wantPaid)
	}
	got := new(big.Int).Sub((*big.Int)(b.Local), big.NewInt(params.Ether))
	if got.Cmp(big.NewInt(routed.Load()*100)) < 0 {
		t.Fatalf("account 6 got %s wei, acknowledged payments make %d", got, routed.Load()*100)
	}
	// Nothing went to L1: no node published a state.
	logs, err := m.Client().FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{channels.AdjudicatorAddress},
		Topics: [][]common.Hash{{channels.AdjudicatorABI.Events["ChannelDisputed"].ID}}})
	if err != nil || len(logs) != 0 {
		t.Fatalf("%d unilateral closes on L1 (%v)", len(logs), err)
	}
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
