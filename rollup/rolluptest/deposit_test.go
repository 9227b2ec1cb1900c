package rolluptest

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/contracts"
	"github.com/cairn-dev/cairn/rollup"
)

// A deposit can create a contract on L2 and another can call it; both run
// identically in the sequencer and in derivation.
func TestActionDepositCreatesAndCallsContract(t *testing.T) {
	s, ctx := Start(t, Options{})
	greeterABI, bin := contracts.Greeter()
	ctor := Must[[]byte](t)(greeterABI.Pack("", "deposited"))
	create := Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", common.Address{}, new(big.Int), uint64(2_000_000), append(bin, ctor...)))
	SendL1(t, ctx, s, 4, rollup.PortalAddress, nil, create, 1_000_000)
	// The contract's address follows from the depositor's L2 nonce, as for
	// any contract creation.
	st := Must[*types.Header](t)(s.Sequencer.Chain().Head(), nil)
	state := Must[interface{ GetNonce(common.Address) uint64 }](t)(s.Sequencer.Chain().StateAt(st.Root))
	addr := crypto.CreateAddress(chain.DevAddress(4), state.GetNonce(chain.DevAddress(4)))
	set := Must[[]byte](t)(greeterABI.Pack("greet", "changed by a deposit"))
	call := Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", addr, new(big.Int), uint64(200_000), set))
	SendL1(t, ctx, s, 4, rollup.PortalAddress, nil, call, 500_000)
	b, skipped := Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	if len(skipped) != 0 || len(b.Transactions()) != 2 {
		t.Fatalf("deposits not mined: %v", skipped)
	}
	Must[*types.Block](t)(s.Sequence(ctx))
	seq := Dial(t, s.Sequencer.RPCURL())
	code := Must[[]byte](t)(seq.CodeAt(ctx, addr, nil))
	if len(code) == 0 {
		t.Fatal("deposit did not create the contract")
	}
	in := Must[[]byte](t)(greeterABI.Pack("greeting"))
	out := Must[[]byte](t)(seq.CallContract(ctx, callMsg(addr, in), nil))
	if res, _ := greeterABI.Unpack("greeting", out); res[0].(string) != "changed by a deposit" {
		t.Fatalf("greeting %v", res)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if s.Verifier.Chain().Head().Hash() != s.Sequencer.Chain().Head().Hash() {
		t.Fatal("verifier disagrees after contract deposits")
	}
}

// The portal bounds the L2 gas that one L1 block's deposits may ask for.
func TestPortalDepositGasBudget(t *testing.T) {
	s, ctx := Start(t, Options{})
	ask := func() []byte {
		return Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", chain.DevAddress(5), new(big.Int), uint64(rollup.MaxDepositGas), []byte{}))
	}
	var hashes []common.Hash
	for range rollup.MaxDepositGasPerL1Block/rollup.MaxDepositGas + 1 {
		hashes = append(hashes, SendL1(t, ctx, s, 5, rollup.PortalAddress, nil, ask(), 500_000).Hash())
	}
	Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	c := s.L1.Client()
	for i, h := range hashes {
		r := Must[*types.Receipt](t)(c.TransactionReceipt(ctx, h))
		over := i == len(hashes)-1
		if ok := r.Status == types.ReceiptStatusSuccessful; ok == over {
			t.Fatalf("deposit %d: status %d", i, r.Status)
		}
	}
	// The next L1 block has a fresh budget.
	h := SendL1(t, ctx, s, 5, rollup.PortalAddress, nil, ask(), 500_000).Hash()
	Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	if r := Must[*types.Receipt](t)(c.TransactionReceipt(ctx, h)); r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deposit refused in a new L1 block")
	}
}

// The L2 genesis hands out ETH that no one deposited; the portal holds as
// much on L1 from the start, so early withdrawals of it do not pay out
// other users' deposits.
func TestPortalBacksTheL2Genesis(t *testing.T) {
	s, ctx := Start(t, Options{})
	l2 := Dial(t, s.Sequencer.RPCURL())
	supply := new(big.Int)
	for a := range s.Config.Genesis.Alloc {
		supply.Add(supply, Must[*big.Int](t)(l2.BalanceAt(ctx, a, nil)))
	}
	if supply.Sign() == 0 {
		t.Fatal("the L2 genesis mints nothing")
	}
	if got := Must[*big.Int](t)(s.L1.Client().BalanceAt(ctx, rollup.PortalAddress, nil)); got.Cmp(supply) != 0 {
		t.Fatalf("portal holds %v on L1, the L2 genesis hands out %v", got, supply)
	}
}

// Deposits are transactions of the OP Stack's deposit type (0x7e): first in
// their L2 block, with a hash, a receipt and logs that eth_getLogs finds;
// the block's transactions root covers them, and the verifier derives the
// same block from L1.
func TestDepositsAreTransactions(t *testing.T) {
	s, ctx := Start(t, Options{})
	// A plain ETH deposit, and one that calls the message passer (which
	// logs a withdrawal) with some of the ETH it brings.
	SendL1(t, ctx, s, 4, rollup.PortalAddress, Ether(3), nil, 21_000)
	back := Must[[]byte](t)(rollup.MessagePasserABI.Pack("initiateWithdrawal", chain.DevAddress(4), big.NewInt(100_000), []byte{}))
	call := Must[[]byte](t)(rollup.PortalABI.Pack("depositTransaction", rollup.MessagePasserAddress, Ether(1), uint64(200_000), back))
	SendL1(t, ctx, s, 4, rollup.PortalAddress, Ether(1), call, 500_000)
	Must2[*types.Block, []chain.Skip](t)(s.L1.Mine())
	tx := SignL2(t, s, 5, 0, common.Address{0x55}, big.NewInt(1))
	seq := Dial(t, s.Sequencer.RPCURL())
	if err := seq.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	b := Must[*types.Block](t)(s.Sequence(ctx))

	rpc := seq.Client()
	var block struct {
		Hash         common.Hash `json:"hash"`
		Transactions []struct {
			Hash             common.Hash    `json:"hash"`
			Type             hexutil.Uint64 `json:"type"`
			From             common.Address `json:"from"`
			SourceHash       *common.Hash   `json:"sourceHash"`
			Mint             *hexutil.Big   `json:"mint"`
			TransactionIndex hexutil.Uint64 `json:"transactionIndex"`
		} `json:"transactions"`
	}
	if err := rpc.CallContext(ctx, &block, "eth_getBlockByNumber", hexutil.Uint64(b.NumberU64()), true); err != nil {
		t.Fatal(err)
	}
	if len(block.Transactions) != 3 {
		t.Fatalf("block lists %d transactions, want 2 deposits and 1 transfer", len(block.Transactions))
	}
	for i, x := range block.Transactions[:2] {
		if x.Type != chain.DepositTxType || x.From != chain.DevAddress(4) || x.SourceHash == nil || x.Mint == nil || x.TransactionIndex != hexutil.Uint64(i) {
			t.Fatalf("transaction %d: %+v", i, x)
		}
	}
	if x := block.Transactions[2]; x.Hash != tx.Hash() || x.TransactionIndex != 2 {
		t.Fatalf("the transfer: %+v", x)
	}
	deposits := s.Sequencer.Chain().Deposits(b.Hash())
	if got := types.DeriveSha(testList{deposits, b.Transactions()}, trie.NewStackTrie(nil)); got != b.TxHash() {
		t.Fatalf("transactions root %s, want %s over the deposits and the transfer", b.TxHash(), got)
	}
	// Each has a receipt; the calling deposit's log is in it and in
	// eth_getLogs, indexed before the transfer's.
	var receipt struct {
		Status       hexutil.Uint64 `json:"status"`
		Type         hexutil.Uint64 `json:"type"`
		DepositNonce *hexutil.Uint64
		Logs         []*types.Log `json:"logs"`
	}
	if err := rpc.CallContext(ctx, &receipt, "eth_getTransactionReceipt", block.Transactions[1].Hash); err != nil {
		t.Fatal(err)
	}
	if receipt.Status != 1 || receipt.Type != chain.DepositTxType || len(receipt.Logs) != 1 || receipt.Logs[0].TxHash != block.Transactions[1].Hash {
		t.Fatalf("the calling deposit's receipt: %+v", receipt)
	}
	logs := Must[[]types.Log](t)(seq.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: b.Number(), ToBlock: b.Number(), Addresses: []common.Address{rollup.MessagePasserAddress}}))
	if len(logs) != 1 || logs[0].TxHash != block.Transactions[1].Hash || logs[0].TxIndex != 1 || logs[0].Index != 0 {
		t.Fatalf("eth_getLogs: %+v", logs)
	}
	// The withdrawal the deposit started is in the message passer's
	// archive, provable when the block's state is gone.
	w := Must[*rollup.Withdrawal](t)(rollup.ParseWithdrawal(&logs[0]))
	if _, _, err := rollup.MessagePasserProof(s.Sequencer.Chain(), b.NumberU64(), w.StorageSlot()); err != nil {
		t.Fatalf("archived proof of a deposit's withdrawal: %v", err)
	}
	r := Must[*types.Receipt](t)(seq.TransactionReceipt(ctx, tx.Hash()))
	if r.TransactionIndex != 2 || r.Status != 1 {
		t.Fatalf("the transfer's receipt: index %d, status %d", r.TransactionIndex, r.Status)
	}
	var count hexutil.Uint
	if err := rpc.CallContext(ctx, &count, "eth_getBlockTransactionCountByHash", b.Hash()); err != nil || count != 3 {
		t.Fatalf("transaction count %d, %v", count, err)
	}
	var first struct {
		Hash common.Hash `json:"hash"`
	}
	if err := rpc.CallContext(ctx, &first, "eth_getTransactionByBlockHashAndIndex", b.Hash(), hexutil.Uint(0)); err != nil || first.Hash != block.Transactions[0].Hash {
		t.Fatalf("transaction 0: %v %v", first, err)
	}
	// Derived from L1 alone, the block is the same, deposits and all.
	if err := s.Batch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Derive(ctx, s.Verifier); err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier.Chain().GetHeaderByNumber(b.NumberU64()); got == nil || got.Hash() != b.Hash() {
		t.Fatal("the verifier derived another block")
	}
	if got := s.Verifier.Chain().Deposits(b.Hash()); len(got) != 2 || got[1].Receipt.TxHash != block.Transactions[1].Hash {
		t.Fatalf("the verifier's deposits: %v", got)
	}
}

// testList is a block's deposits then transactions, as DeriveSha takes them.
type testList struct {
	deposits []*chain.DepositTx
	txs      types.Transactions
}

func (l testList) Len() int { return len(l.deposits) + len(l.txs) }

func (l testList) EncodeIndex(i int, w *bytes.Buffer) {
	if i < len(l.deposits) {
		enc, _ := l.deposits[i].Deposit.MarshalBinary()
		w.Write(enc)
		return
	}
	l.txs.EncodeIndex(i-len(l.deposits), w)
}
