package lab

import (
	"fmt"
	"time"

	"github.com/cairn-dev/cairn/devnet"
	"github.com/cairn-dev/cairn/rollup"
)

// The comparison's risk rows: L2BEAT's five risk axes (its "risk rosette":
// state validation, data availability, exit window, sequencer failure,
// proposer failure), each layer scored by L2BEAT's rules as we read them,
// from this stack's own parameters (its windows scaled to the devnet), with
// the production default each mirrors beside it. L2BEAT scores each axis
// good, warning or bad; a layer it would not list as an L2 (the L1, a
// sidechain) is scored the way L2BEAT's "Others" pages describe such
// systems, and says so.

// Assessed is a cell scored by a published rule set from the run's
// parameters: not a measurement, not a bare declaration.
const Assessed = "assessed"

// Sentiments, L2BEAT's colours.
const (
	good    = "good"
	warning = "warning"
	bad     = "bad"
)

// riskCell is one axis's value for one layer.
type riskCell struct {
	value, sentiment, why, realWorld string
}

// risks fills the five axes. It reads the stack's parameters, so it runs
// while r.d is set (the stack may be stopped).
func (r *compareRun) risks() {
	const g = "risk factors"
	blocks := func(n uint64) string {
		return fmt.Sprintf("%d L1 blocks (%s with the L1 idle, a block every %s)", n, time.Duration(n)*devnet.DefaultBlockTime, devnet.DefaultBlockTime)
	}
	seqWindow := r.d.Rollup.Config.SeqWindow
	zkDeadline := r.d.ZK.Params.PriorityDeadline
	dispute := r.d.Channels.Params.DisputeWindow
	delay := r.d.Sidechain.Params.Light.WithdrawalDelaySeconds
	axes := []struct {
		name  string
		cells map[string]riskCell
	}{
		{"state validation", map[string]riskCell{
			LayerL1: {"every validator re-executes every block", good, "the base layer: nothing to validate against", "Ethereum: every node re-executes"},
			LayerOptimistic: {"fraud proofs (interactive), permissionless", good,
				fmt.Sprintf("anyone may challenge an output with a bond within the %d s challenge window; a bisection game ends in a one-step proof on L1 (cairn lab attack invalid-output)", rollup.DevFinalizationPeriod),
				"OP Mainnet and Arbitrum One: permissionless interactive fraud proofs, 7-day window"},
			LayerZK: {"validity proofs (Groth16)", good, "L1 verifies a Groth16 proof of every batch before its root counts; the trusted setup is the devnet's own", "zkSync Era, Starknet: validity proofs"},
			LayerChannels: {"signed states; disputes on L1", good,
				fmt.Sprintf("L1 pays the newest state both parties signed; an older one can be answered within %s (cairn lab attack stale-close)", blocks(dispute)),
				"Lightning: penalty transactions within to_self_delay"},
			LayerSidechain: {"none: its validators' signatures", bad, "the bridges accept what 2/3 of the sidechain's power (light client) or 5 of 9 attesters (multisig) sign; nothing re-executes on L1 (cairn lab attack sidechain-takeover)",
				"Polygon PoS, Ronin: validator or multisig attestation"},
		}},
		{"data availability", map[string]riskCell{
			LayerL1:         {"on chain", good, "every validator keeps every block", "Ethereum"},
			LayerOptimistic: {"on chain (blobs)", good, "the devnet posts blobs; calldata is also on chain (good), a committee is External (DAC) (bad: cairn lab attack withhold-data), sampling is a DA layer without an L1 bridge (warning)", "OP Mainnet, Arbitrum One: blobs"},
			LayerZK:         {"on chain (calldata)", good, "each batch's transfers are in its L1 transaction's calldata, 16 bytes a transfer", "zkSync Era: blobs; Starknet: state diffs on chain"},
			LayerChannels:   {"held by each party", good, "each party keeps every state it signed; only opens, closes and disputes reach L1", "Lightning"},
			LayerSidechain:  {"external (its validators)", bad, "its blocks live only with its validators; L1 holds no data of its transactions", "Polygon PoS: its own validators"},
		}},
		{"exit window", map[string]riskCell{
			LayerL1:         {"—", good, "the base layer: its rules change only by a fork its validators adopt", "Ethereum: hard forks"},
			LayerOptimistic: {"∞: not upgradable", good, "the portal, inbox and outputs contracts are L1 system contracts with no admin: changing them takes an L1 fork", "OP Mainnet: none (upgrades by a Security Council without delay)"},
			LayerZK:         {"∞: not upgradable", good, "the verifier contract and its key have no admin: a new circuit needs an L1 fork", "zkSync Era: none to 21 days, by its Security Council"},
			LayerChannels:   {"∞: not upgradable", good, "the adjudicator has no admin", "Lightning: none needed (Bitcoin script)"},
			LayerSidechain: {"∞ for the contracts; a guardian can re-point a frozen light client", warning,
				"the bridge contracts have no admin, but the light-client bridge's guardian may recover a frozen or expired client from any header it vouches for", "Polygon PoS: upgradable by a multisig"},
		}},
		{"sequencer failure", map[string]riskCell{
			LayerL1: {"—", good, "more than 1/3 of the power halts it; any proposer in turn includes what others censor", "Ethereum: proposer rotation"},
			LayerOptimistic: {"self sequence", good,
				fmt.Sprintf("a deposit sent on L1 is forced into L2 within the sequencing window, %s; past it, derivation makes the blocks from L1 alone", blocks(seqWindow)),
				"OP Mainnet: self sequence after 12 hours"},
			LayerZK: {"force via L1, then exit mode", good,
				fmt.Sprintf("a priority op (deposit, forced exit) must be in a batch within %s, or anyone can put the rollup in exit mode and every account withdraws from the last verified root", blocks(zkDeadline)),
				"zkSync Lite: force via L1, Exodus mode after 14 days"},
			LayerChannels: {"close on L1", good,
				fmt.Sprintf("a silent counterparty is closed on without it: the newest state is paid after %s", blocks(dispute)),
				"Lightning: force close after to_self_delay"},
			LayerSidechain: {"no mechanism", bad, "more than 1/3 of its power halts it and nothing on L1 forces a transaction in; the bridges wait", "Polygon PoS"},
		}},
		{"proposer failure", map[string]riskCell{
			LayerL1:         {"—", good, "no proposer of state roots: every validator is one", "Ethereum"},
			LayerOptimistic: {"self propose", good, "anyone may propose an output with a bond (1 ETH on the devnet), so a user can prove its own withdrawal", "OP Mainnet: self propose (permissionless proposals)"},
			LayerZK:         {"use escape hatch", good, "if no batch is proven, the priority deadline passes and exit mode pays every account from the last verified root by a Merkle proof", "zkSync Lite: escape hatch"},
			LayerChannels:   {"self propose", good, "each party registers its own newest state on L1", "Lightning"},
			LayerSidechain: {"relay headers yourself; the multisig cannot be replaced", warning,
				fmt.Sprintf("anyone may relay validator-signed headers to the light-client bridge (paid after a %d s delay); the multisig bridge pays only what 5 of its 9 attesters sign", delay),
				"Polygon PoS: checkpoints by its validators"},
		}},
	}
	for _, a := range axes {
		for _, l := range CompareLayers {
			c := a.cells[l.Key]
			how := "L2BEAT's risk rules, as we read them, applied to this stack's parameters: " + c.why + "; in production: " + c.realWorld
			if l.Key == LayerL1 || l.Key == LayerSidechain {
				how += " (L2BEAT scores L2s; a base layer or a sidechain is scored the way its Others pages describe one)"
			}
			r.report.set(g, a.name, l.Key, Cell{Value: c.value + " (" + c.sentiment + ")", Kind: Assessed, Method: how})
		}
	}
}
