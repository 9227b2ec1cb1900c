package zkrollup

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// AccountInfo is an account as the operator reports it. Amounts are in gwei.
type AccountInfo struct {
	Index   hexutil.Uint64 `json:"index"`
	Address common.Address `json:"address"`
	PubKey  hexutil.Bytes  `json:"pubKey,omitempty"` // compressed L2 key, once registered
	Nonce   hexutil.Uint64 `json:"nonce"`
	Balance hexutil.Uint64 `json:"balance"` // after every accepted op
	// What L1's verified root holds: final.
	VerifiedNonce   hexutil.Uint64 `json:"verifiedNonce"`
	VerifiedBalance hexutil.Uint64 `json:"verifiedBalance"`
}

// OpArgs is a signed user op as zk_transfer, zk_withdraw and zk_register
// take it.
type OpArgs struct {
	Account   hexutil.Uint64  `json:"account"`
	To        hexutil.Uint64  `json:"to,omitempty"`      // transfer
	Amount    hexutil.Uint64  `json:"amount,omitempty"`  // gwei
	Fee       hexutil.Uint64  `json:"fee,omitempty"`     // gwei
	Nonce     hexutil.Uint64  `json:"nonce,omitempty"`   // transfer, withdraw
	Address   *common.Address `json:"address,omitempty"` // register: the owner who signed
	PubKey    hexutil.Bytes   `json:"pubKey,omitempty"`  // register: the compressed L2 key
	Signature hexutil.Bytes   `json:"signature"`
}

// Accepted is the operator's answer to an accepted op: it is applied (soft
// confirmation), durable, and will be in a batch.
type Accepted struct {
	Pending hexutil.Uint64 `json:"pending"` // ops waiting for a batch, this one included
}

// BatchInfo is one batch's progress.
type BatchInfo struct {
	Index       hexutil.Uint64 `json:"index"`
	Status      BatchStatus    `json:"status"`
	Ops         hexutil.Uint64 `json:"ops"`
	Root        common.Hash    `json:"root"`
	L1Bytes     hexutil.Uint64 `json:"l1Bytes"` // public data
	ProveMillis hexutil.Uint64 `json:"proveMillis"`
	Tx          common.Hash    `json:"tx"`
}

// StatusInfo is the operator's state.
type StatusInfo struct {
	Slots        hexutil.Uint64 `json:"slots"`
	Depth        hexutil.Uint64 `json:"depth"`
	KeysReady    bool           `json:"keysReady"`
	Pending      hexutil.Uint64 `json:"pending"`
	Batches      hexutil.Uint64 `json:"batches"`
	Verified     hexutil.Uint64 `json:"verified"`
	Accounts     hexutil.Uint64 `json:"accounts"`
	VerifiedRoot common.Hash    `json:"verifiedRoot"`
	Contract     common.Address `json:"contract"`
}

// API is the operator's zk_ JSON-RPC namespace.
type API struct{ o *Operator }

// AccountIndex returns the account an L1 address owns (zk_accountIndex).
func (a *API) AccountIndex(addr common.Address) (hexutil.Uint64, error) {
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	i, ok := a.o.index[addr]
	if !ok {
		return 0, fmt.Errorf("%w: %s has no account (deposit first)", ErrUnknown, addr)
	}
	return hexutil.Uint64(i), nil
}

// GetAccount returns an account (zk_getAccount).
func (a *API) GetAccount(index hexutil.Uint64) (*AccountInfo, error) {
	o := a.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if uint64(index) >= o.accounts {
		return nil, fmt.Errorf("%w: %d", ErrUnknown, index)
	}
	s, v := o.soft.Account(uint64(index)), o.verified.Account(uint64(index))
	info := &AccountInfo{Index: index, Address: s.Address, Nonce: hexutil.Uint64(s.Nonce), Balance: hexutil.Uint64(s.Balance),
		VerifiedNonce: hexutil.Uint64(v.Nonce), VerifiedBalance: hexutil.Uint64(v.Balance)}
	if s.Registered() {
		pub := compressed(s)
		info.PubKey = pub[:]
	}
	return info, nil
}

// Transfer accepts a signed transfer (zk_transfer).
func (a *API) Transfer(args OpArgs) (*Accepted, error) {
	return a.submit(Op{Type: OpTransfer, Account: uint64(args.Account), To: uint64(args.To), Amount: uint64(args.Amount), Fee: uint64(args.Fee), Nonce: uint64(args.Nonce), Sig: args.Signature})
}

// Withdraw accepts a signed withdrawal (zk_withdraw); L1 pays the
// account's address when its batch verifies.
func (a *API) Withdraw(args OpArgs) (*Accepted, error) {
	return a.submit(Op{Type: OpWithdraw, Account: uint64(args.Account), Amount: uint64(args.Amount), Fee: uint64(args.Fee), Nonce: uint64(args.Nonce), Sig: args.Signature})
}

// Register accepts a registration of an L2 key, signed by the account's L1
// address (zk_register).
func (a *API) Register(args OpArgs) (*Accepted, error) {
	if args.Address == nil || len(args.PubKey) != 32 {
		return nil, fmt.Errorf("%w: register needs the address and a 32-byte key", ErrBadSignature)
	}
	op := Op{Type: OpRegister, Account: uint64(args.Account), Address: *args.Address, Sig: args.Signature}
	copy(op.PubKey[:], args.PubKey)
	return a.submit(op)
}

func (a *API) submit(op Op) (*Accepted, error) {
	if err := a.o.Submit(op); err != nil {
		return nil, err
	}
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	return &Accepted{Pending: hexutil.Uint64(len(a.o.pending))}, nil
}

// GetBatch returns a batch's progress (zk_getBatch).
func (a *API) GetBatch(index hexutil.Uint64) (*BatchInfo, error) {
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	if uint64(index) >= uint64(len(a.o.batches)) {
		return nil, fmt.Errorf("no batch %d", index)
	}
	b := a.o.batches[index]
	return &BatchInfo{Index: index, Status: b.Status, Ops: hexutil.Uint64(len(b.Ops)), Root: b.Root, L1Bytes: hexutil.Uint64(len(b.Data)),
		ProveMillis: hexutil.Uint64(b.ProveTime.Milliseconds()), Tx: b.Tx}, nil
}

// Status returns the operator's state (zk_status).
func (a *API) Status() *StatusInfo { return a.o.Status() }

// Status returns the operator's state.
func (o *Operator) Status() *StatusInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := &StatusInfo{Slots: hexutil.Uint64(o.cfg.Params.Slots), Depth: hexutil.Uint64(o.cfg.Params.Depth), KeysReady: o.keys != nil,
		Pending: hexutil.Uint64(len(o.pending)), Batches: hexutil.Uint64(len(o.batches)), Accounts: hexutil.Uint64(o.accounts),
		VerifiedRoot: rootBytes(o.verified.Root()), Contract: VerifierAddress}
	for _, b := range o.batches {
		if b.Status == BatchVerified {
			s.Verified++
		}
	}
	return s
}

func compressed(a Account) [32]byte {
	var k [32]byte
	pub := padKey.PublicKey
	pub.A.X, pub.A.Y = a.PubX, a.PubY
	copy(k[:], pub.Bytes())
	return k
}

// Client talks to an operator's zk_ JSON-RPC.
type Client struct{ c *gethrpc.Client }

// DialOperator connects to an operator.
func DialOperator(ctx context.Context, url string) (*Client, error) {
	c, err := gethrpc.DialContext(ctx, url)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Close closes the connection.
func (c *Client) Close() { c.c.Close() }

// AccountIndex returns the account an address owns.
func (c *Client) AccountIndex(ctx context.Context, addr common.Address) (uint64, error) {
	var i hexutil.Uint64
	err := c.c.CallContext(ctx, &i, "zk_accountIndex", addr)
	return uint64(i), err
}

// Account returns an account.
func (c *Client) Account(ctx context.Context, index uint64) (*AccountInfo, error) {
	var info AccountInfo
	err := c.c.CallContext(ctx, &info, "zk_getAccount", hexutil.Uint64(index))
	return &info, err
}

// Send sends a signed user op.
func (c *Client) Send(ctx context.Context, op *Op) (*Accepted, error) {
	args := OpArgs{Account: hexutil.Uint64(op.Account), To: hexutil.Uint64(op.To), Amount: hexutil.Uint64(op.Amount), Fee: hexutil.Uint64(op.Fee),
		Nonce: hexutil.Uint64(op.Nonce), Signature: op.Sig}
	method := map[OpType]string{OpTransfer: "zk_transfer", OpWithdraw: "zk_withdraw", OpRegister: "zk_register"}[op.Type]
	if method == "" {
		return nil, fmt.Errorf("%w: %s comes from L1", ErrOpType, op.Type)
	}
	if op.Type == OpRegister {
		addr := op.Address
		args.Address, args.PubKey = &addr, op.PubKey[:]
	}
	var out Accepted
	err := c.c.CallContext(ctx, &out, method, args)
	return &out, err
}

// Batch returns a batch's progress.
func (c *Client) Batch(ctx context.Context, index uint64) (*BatchInfo, error) {
	var b BatchInfo
	err := c.c.CallContext(ctx, &b, "zk_getBatch", hexutil.Uint64(index))
	return &b, err
}

// Status returns the operator's state.
func (c *Client) Status(ctx context.Context) (*StatusInfo, error) {
	var s StatusInfo
	err := c.c.CallContext(ctx, &s, "zk_status")
	return &s, err
}
