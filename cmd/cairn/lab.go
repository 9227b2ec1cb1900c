package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cairn-dev/cairn/l1"
	"github.com/cairn-dev/cairn/lab"
	"github.com/cairn-dev/cairn/rollup"
)

func labCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Measure the layers: workloads and attacks against a fresh network",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if profile == "" {
				return nil
			}
			f, err := os.Create(profile)
			if err != nil {
				return err
			}
			return pprof.StartCPUProfile(f)
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if profile != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	cmd.PersistentFlags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof reads it)")
	cmd.AddCommand(labL1Cmd(), labRollupCmd(), labAttackCmd(), labProofsCmd(), labZKCmd(), labChannelsCmd(), labSidechainCmd(), labCompareCmd(), labDACmd())
	return cmd
}

// labCommand is a lab subcommand that runs one measurement, configured by
// its flags, under --timeout (default timeout) and prints its result.
func labCommand[C any, R interface{ Print(io.Writer) }](use, short, long string, timeout time.Duration,
	run func(ctx context.Context, cfg *C, out io.Writer) (R, error), flags func(*pflag.FlagSet, *C)) *cobra.Command {
	var (
		cfg   C
		limit time.Duration
	)
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), limit)
			defer cancel()
			res, err := run(ctx, &cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			return nil
		},
	}
	flags(cmd.Flags(), &cfg)
	cmd.Flags().DurationVar(&limit, "timeout", timeout, "give up after this long")
	return cmd
}

func labL1Cmd() *cobra.Command {
	return labCommand("l1", "L1 latency and throughput: signed transfers through JSON-RPC into a multi-validator network, beside Anvil", `Starts a fresh L1 with --validators validators in this process and sends
signed transfers through the validators' JSON-RPC endpoints: --lone-txs alone to
the idle chain (send to receipt, p50/p99), as many back to back (each sent on the
last one's receipt, as a test suite does), a burst of --transfers from --senders
accounts, then each of --rates offered for --rate-seconds. It prints committed
transfers/s, accepted eth_sendRawTransaction/s, inclusion latency (send to commit,
p50/p99) and block time for each. When anvil is on the PATH (Foundry's npm package
@foundry-rs/anvil-linux-amd64) or given with --anvil, the same workload runs
against it in the same run (automine for the lone transfers, --anvil-block-time
interval mining for the loads) and the report gives the ratios. Last,
go-ethereum's own block-processing rate for the same transfers.`, 5*time.Minute,
		func(ctx context.Context, cfg *lab.L1Config, out io.Writer) (*lab.L1Result, error) {
			cfg.Out = out
			return lab.RunL1(ctx, *cfg)
		},
		func(f *pflag.FlagSet, cfg *lab.L1Config) {
			f.IntVar(&cfg.Validators, "validators", 4, "validators")
			f.IntVar(&cfg.Senders, "senders", 64, "sending accounts")
			f.IntVar(&cfg.Transfers, "transfers", 20_000, "transfers of the burst")
			f.IntSliceVar(&cfg.Rates, "rates", []int{500, 1000, 2000}, "fixed offered rates to measure after the burst, transfers/s")
			f.IntVar(&cfg.RateSeconds, "rate-seconds", 5, "how long each fixed rate is offered")
			f.IntVar(&cfg.Clients, "clients", 8, "concurrent RPC connections")
			f.IntVar(&cfg.Batch, "batch", 1, "transactions per JSON-RPC request in the burst (1: plain requests)")
			f.BoolVar(&cfg.Shuffled, "shuffled", false, "each sender's nonces out of order across connections")
			f.IntVar(&cfg.LoneTxs, "lone-txs", 50, "transfers sent alone to the idle chain, then as many back to back (-1: none)")
			f.DurationVar(&cfg.BlockTime, "block-time", 200*time.Millisecond, "longest time between blocks, when idle")
			f.DurationVar(&cfg.BlockGap, "block-gap", l1.DefaultBlockGap, "pause after each block (CometBFT timeout_commit)")
			f.StringVar(&cfg.Anvil, "anvil", "", "anvil binary to compare with (default: anvil on the PATH; - skips it)")
			f.DurationVar(&cfg.AnvilBlockTime, "anvil-block-time", 250*time.Millisecond, "Anvil's interval mining for the loads")
		})
}

func labRollupCmd() *cobra.Command {
	return labCommand("rollup", "Optimistic rollup throughput, soft-confirmation latency and L1 data per transfer", `Starts a 1-validator L1 with the rollup's portal, a sequencer and a batcher in
this process, sends --transfers signed transfers through the sequencer's JSON-RPC
as fast as it accepts them, --latency-txs more at --latency-rate per second,
and --lone-txs one at a time to an idle chain, and prints L2 transfers/s,
soft-confirmation latency (send to durable block, p50/p99), L1 calldata bytes
per transfer, and a verifier's rate deriving the same chain from L1, beside
go-ethereum's block processing, the L1 benchmark, and the same confirmations
with fixed --l2-block-time blocks, measured in the same run.`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.RollupConfig, out io.Writer) (*lab.RollupResult, error) {
			cfg.Out = out
			return lab.RunRollup(ctx, *cfg)
		},
		func(f *pflag.FlagSet, cfg *lab.RollupConfig) {
			f.IntVar(&cfg.Senders, "senders", 64, "sending accounts")
			f.IntVar(&cfg.Transfers, "transfers", 60_000, "transfers at full speed")
			f.IntVar(&cfg.LatencyTxs, "latency-txs", 5_000, "transfers of the latency run")
			f.IntVar(&cfg.LatencyRate, "latency-rate", 1_000, "offered transfers/s of the latency run")
			f.IntVar(&cfg.L1Transfers, "l1-transfers", 10_000, "transfers of the L1 run beside it (-1 skips it)")
			f.IntVar(&cfg.Clients, "clients", 8, "concurrent RPC connections")
			f.DurationVar(&cfg.BlockTime, "l2-block-time", 250*time.Millisecond, "the sequencer's longest gap between blocks")
			f.DurationVar(&cfg.MinBlockGap, "l2-block-gap", rollup.DefaultMinBlockGap, "the sequencer's average gap between blocks under load, after a burst of blocks at once (-1ns: fixed blocks)")
			f.IntVar(&cfg.LoneTxs, "lone-txs", 50, "transfers sent one at a time to an idle chain")
			f.BoolVar(&cfg.Shuffled, "shuffled", false, "send the full-speed run one transaction per request, each sender's nonces out of order across connections")
		})
}

func labAttackCmd() *cobra.Command {
	long := "Runs an attack on a fresh rollup (an L1 mined by hand, a sequencer, batcher, verifier,\nproposer and challenger in this process), the ZK rollup's contract, or the L1, prints\nwhat happened with its transactions and balances, and exits 0 only when the\noutcome is the one the security model promises. Attacks:\n"
	for _, n := range lab.AttackNames() {
		long += fmt.Sprintf("  %-16s %s\n", n, lab.Attacks[n].Summary)
	}
	return &cobra.Command{
		Use:       "attack <name>",
		Short:     "Run an attack on the optimistic rollup and check it fails as promised",
		Long:      long,
		Args:      cobra.ExactArgs(1),
		ValidArgs: lab.AttackNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, ok := lab.Attacks[args[0]]
			if !ok {
				return fmt.Errorf("unknown attack %q (known: %v)", args[0], lab.AttackNames())
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			fmt.Fprintf(cmd.OutOrStdout(), "attack %s: %s\n", args[0], a.Summary)
			return a.Run(ctx, cmd.OutOrStdout())
		},
	}
}

func labProofsCmd() *cobra.Command {
	return labCommand("proofs", "One-step proof sizes and L1 gas, and withdrawal latency on a devnet", `Builds L2 blocks of 1, 100 and 1,000 transfers, makes the one-step proof of
each (its go-ethereum witness and the step's calldata), verifies it as the L1
contract does, and prints witness bytes, L1 gas and verification time; then
starts a devnet and times a withdrawal from initiation on L2 to finalization on
L1 with the devnet's challenge window.`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.ProofsConfig, out io.Writer) (*lab.ProofsResult, error) {
			cfg.Out = out
			return lab.RunProofs(ctx, *cfg)
		},
		func(*pflag.FlagSet, *lab.ProofsConfig) {})
}

func labZKCmd() *cobra.Command {
	var (
		slots  []int
		depth  int
		keyDir string
	)
	cmd := &cobra.Command{
		Use:   "zk",
		Short: "ZK rollup proofs: proven transfers/s, proof and verification time, memory, L1 bytes, finality",
		Long: `Compiles the batch circuit for each batch size (default 4, 16 and 32
transfers over a depth-20 account tree), runs its Groth16 setup once (cached
in --keys), proves batches of signed transfers and verifies them with the L1
contract, against native execution of the same transfers as the baseline;
then runs an operator against an L1 with 1 s blocks and times a full batch
from submission to verification on L1.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Minute)
			defer cancel()
			_, err := lab.RunZK(ctx, lab.ZKConfig{Slots: slots, Depth: depth, KeyDir: keyDir, Out: cmd.OutOrStdout()})
			return err
		},
	}
	cmd.Flags().IntSliceVar(&slots, "slots", []int{4, 16, 32}, "batch sizes to measure")
	cmd.Flags().IntVar(&depth, "depth", 20, "account tree depth")
	cmd.Flags().StringVar(&keyDir, "keys", "", "proving key cache (default: the user cache directory)")
	return cmd
}

func labChannelsCmd() *cobra.Command {
	return labCommand("channels", "Payment channels: payments/s and latency for one pair and over 2 and 3 hops, fsyncs per payment, adjudicator gas", `Starts four channel nodes in this process on an L1 mined every 20 ms, with
channels 4–5, 5–6 and 6–7, and measures: --payments direct payments between one
pair with --workers in flight (each answered only once durable), --lone payments
one at a time, and --routed invoices paid over 1, 2 and 3 hops; then the L1 gas of
each adjudicator call. The baseline, measured in the same run, is this disk's
rate of synced commits one at a time.`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.ChannelsConfig, out io.Writer) (*lab.ChannelsResult, error) {
			cfg.Out = out
			return lab.RunChannels(ctx, *cfg)
		},
		func(f *pflag.FlagSet, cfg *lab.ChannelsConfig) {
			f.IntVar(&cfg.Payments, "payments", 20_000, "direct payments of the one-pair run")
			f.IntVar(&cfg.Routed, "routed", 2_000, "invoices paid on each routed run")
			f.IntVar(&cfg.Workers, "workers", 64, "payments in flight")
			f.IntVar(&cfg.LoneTrips, "lone", 200, "payments one at a time")
		})
}

func labSidechainCmd() *cobra.Command {
	return labCommand("sidechain", "The sidechain beside the L1: transfers/s and latency on each, deposit and withdrawal latency per bridge, light-client update gas by validator count", `Starts the devnet's L1 and sidechain (4 validators each) with both bridges and
their relayers, and measures, in one run: lone transfers, back-to-back transfers
and a burst of --transfers on each chain with the same workload; --crossings
deposits and withdrawals over each bridge, one at a time, until spendable on the
other side (the light bridge's withdrawal delay, --withdrawal-delay, included);
then the light client's update gas and time with 4, 16, 64 and 128 validators,
beside the published cost of the same check in Solidity.`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.SidechainConfig, out io.Writer) (*lab.SidechainResult, error) {
			cfg.Out = out
			return lab.RunSidechain(ctx, *cfg)
		},
		func(f *pflag.FlagSet, cfg *lab.SidechainConfig) {
			f.IntVar(&cfg.Transfers, "transfers", 5_000, "transfers of each chain's burst")
			f.IntVar(&cfg.Senders, "senders", 32, "accounts sending in parallel")
			f.IntVar(&cfg.LoneTxs, "lone", 30, "transfers one at a time on each idle chain")
			f.IntVar(&cfg.Crossings, "crossings", 5, "deposits and withdrawals timed per bridge")
			f.DurationVar(&cfg.WithdrawalDelay, "withdrawal-delay", 3*time.Second, "the light-client bridge's withdrawal delay in this run")
		})
}

func labCompareCmd() *cobra.Command {
	return labCommand("compare", "The Layer 1 vs Layer 2 table, measured on one running stack", `Starts one fresh stack in this process (the devnet: an L1 of 4 validators, the
optimistic rollup, the ZK rollup, the payment channels, the sidechain with both
bridges), sends the same workload through every layer (signed ETH transfers),
halts the L1, congests it (gas burning drives its base fee to 20 gwei), steps
every layer through rising offered rates, runs each design's attack, and prints
the table: one column per layer, one row per row of the seed's table plus the
measured ones. Each cell is a figure from this run, an attack's outcome and its
cost, L2BEAT's risk score from the stack's parameters, or a declaration (a
definition), and says which. --out DIR writes report.md, report.json (every cell
with its unit, method and the samples behind each percentile), report.html and
the plots (SVG and PNG). --quick runs smaller workloads and a 3 s bridge delay,
for CI. See docs/lab.md for each row's method.`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.CompareConfig, out io.Writer) (compareReport, error) {
			if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				cfg.Progress = os.Stderr
			}
			res, err := lab.RunCompare(ctx, *cfg)
			return compareReport{res, cfg.Out}, err
		},
		func(f *pflag.FlagSet, cfg *lab.CompareConfig) {
			f.StringVar(&cfg.Out, "out", "", "directory for report.md and report.json")
			f.BoolVar(&cfg.Quick, "quick", false, "smaller workloads (for CI)")
		})
}

// compareReport is the comparison's report and the folder it was written to.
type compareReport struct {
	*lab.Report
	dir string
}

func (r compareReport) Print(w io.Writer) {
	r.Report.Print(w)
	if r.dir != "" {
		fmt.Fprintf(w, "report.md and report.json in %s\n", r.dir)
	}
}

func labDACmd() *cobra.Command {
	var modes []string
	return labCommand("da", "Data availability: the rollup's L1 cost per transfer in each mode, and sampling's detection against the formula", `First the rollup's data in each mode (--modes: calldata, blobs, committee, sampling): the same
transfers (--per-batch a batch, --batches batches, random recipients) posted by a
rollup on a hand-mined L1, idle and then with its base fee driven up about ten times
by blocks of gas burning; L1 transactions, bytes, gas and fee per transfer from the
batcher's receipts, and each mode's congested fee against calldata's.

Then sampling: for squares of k = 4, 16 and 64 shares a side (512-byte shares,
extended to 2k×2k with Reed–Solomon codes, each row and column under a SHA-256
Merkle root), it times the extension and a rebuild from the data quadrant alone,
then has --trials light nodes per sample count sample a publisher that withholds
the fewest shares that stop a rebuild, (k+1)², and prints the share that catch it
beside the formula (docs/da.md).`, 10*time.Minute,
		func(ctx context.Context, cfg *lab.DAConfig, out io.Writer) (*lab.DAResult, error) {
			cfg.Out = out
			cfg.NoModes = len(modes) == 0
			for _, m := range modes {
				mode, err := rollup.ParseDA(m)
				if err != nil {
					return nil, err
				}
				cfg.Modes = append(cfg.Modes, mode)
			}
			return lab.RunDA(ctx, *cfg)
		},
		func(f *pflag.FlagSet, cfg *lab.DAConfig) {
			f.IntVar(&cfg.Trials, "trials", 1000, "light nodes per square width and sample count")
			f.IntVar(&cfg.PerBatch, "per-batch", 1000, "transfers a batch, for the modes' L1 cost")
			f.IntVar(&cfg.Batches, "batches", 2, "batches a run, for the modes' L1 cost")
			f.BoolVar(&cfg.NoBlobCongestion, "no-blob-congestion", false, "skip the run with blob space congested (blocks of 9 blobs until the blob base fee reaches 1 gwei)")
			f.StringSliceVar(&modes, "modes", []string{"calldata", "blobs", "committee", "sampling"}, "the rollup's data-availability modes to measure (none: sampling only)")
		})
}
