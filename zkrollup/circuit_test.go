package zkrollup

import (
	"testing"
)

// Every kind of op, in two batches from an empty tree: deposits create
// accounts, registrations set keys, then a transfer with a fee, a
// withdrawal, a full exit and a deposit to a new account. Each batch
// satisfies the circuit, and the assignment's roots are native execution's.
func TestBatchCircuitAllOps(t *testing.T) {
	w := newWorld(3)
	first := w.batch(t, 5, 0, w.deposit(0, 1_000_000_000), w.deposit(1, 500_000_000), w.register(t, 0), w.register(t, 1))
	if err := solved(5, first); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	exit := Op{Type: OpFullExit, Account: 0, Address: w.addr(0)}
	if err := w.tree.Check(&exit); err != nil {
		t.Fatal(err)
	}
	ops := []Op{
		w.transfer(t, 0, 1, 300_000_000, 1_000, 0),
		w.withdraw(t, 1, 100_000_000, 0, 0),
		w.deposit(2, 7),
	}
	second := w.batch(t, 5, 1, ops...)
	if err := solved(5, second); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	exit = Op{Type: OpFullExit, Account: 0, Address: w.addr(0)}
	if err := w.tree.Check(&exit); err != nil || exit.Amount != 1_000_000_000-300_000_000-1_000 {
		t.Fatalf("full exit takes %d: %v", exit.Amount, err)
	}
	third := w.batch(t, 5, 1, exit)
	if err := solved(5, third); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	if a := w.tree.Account(1); a.Balance != 500_000_000+300_000_000-100_000_000+1_000 || a.Nonce != 1 {
		t.Fatalf("account 1: %+v", a)
	}
	if a := w.tree.Account(0); a.Balance != 0 || a.Nonce != 1 {
		t.Fatalf("account 0 after its full exit: %+v", a)
	}
}

// Soundness: each invalid op makes the batch unprovable, though the
// operator's witness builder assigns it faithfully.
func TestBatchCircuitRefusesInvalid(t *testing.T) {
	cases := map[string]func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)){
		"wrong signature": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			op := w.signed(t, Op{Type: OpTransfer, Account: 0, To: 1, Amount: 10}, 1) // signed by the receiver
			return []Op{op}, nil
		},
		"overdraft": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{w.transfer(t, 0, 1, 101, 0, 0)}, nil
		},
		"fee overdraft": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{w.transfer(t, 0, 1, 100, 1, 0)}, nil
		},
		"replayed nonce": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			op := w.transfer(t, 0, 1, 10, 0, 0)
			return []Op{op, op}, nil
		},
		"wrong root": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{w.transfer(t, 0, 1, 10, 0, 0)}, func(c *BatchCircuit) { c.NewRoot = 12345 }
		},
		"withdrawal paid to another address": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			op := w.withdraw(t, 0, 10, 0, 0)
			op.Address = w.addr(1)
			return []Op{op}, nil
		},
		"deposit into another owner's account": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			op := w.deposit(1, 10)
			op.Account = 0
			return []Op{op}, nil
		},
		"full exit that leaves a balance": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{{Type: OpFullExit, Account: 0, Address: w.addr(0), Amount: 40}}, nil
		},
		"full exit by a stranger": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{{Type: OpFullExit, Account: 0, Address: w.addr(1), Amount: 100}}, nil
		},
		"second registration": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{w.register(t, 0)}, nil
		},
		"transfer to an empty account": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			return []Op{w.transfer(t, 0, 5, 10, 0, 0)}, nil
		},
		"fee on a deposit": func(t *testing.T, w *world) ([]Op, func(*BatchCircuit)) {
			op := w.deposit(0, 10)
			op.Fee = 5
			return []Op{op}, nil
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(2).funded(t, 100, 50)
			ops, tamper := build(t, w)
			assignment, err := w.tree.Assign(ops, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			if tamper != nil {
				tamper(assignment)
			}
			err = solved(2, assignment)
			if err == nil {
				t.Fatal("invalid batch satisfied the circuit")
			}
			t.Logf("refused: %.120v", err)
		})
	}
}
