package l1

import (
	"github.com/ethereum/go-ethereum/params"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/chain"
	"github.com/cairn-dev/cairn/internal/promutil"
)

// Version is the application's software version.
const Version = "0.1.0"

// AppVersion is the application protocol version reported to CometBFT.
const AppVersion = 1

// Metrics are the chain's own Prometheus metrics.
type Metrics struct {
	Height            prometheus.Gauge
	Blocks            prometheus.Counter
	Txs               prometheus.Counter
	GasUsed           prometheus.Counter
	BaseFee           prometheus.Gauge
	Pending           prometheus.Gauge
	TxAccepted        prometheus.Counter
	TxRejected        prometheus.Counter
	ProposalsRejected prometheus.Counter
	ProposalsCut      prometheus.Counter
	BlobsRefused      prometheus.Counter
	Blobs             prometheus.Counter
	SidecarsPruned    prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg when it is not
// nil (reusing them when a node restarts in the same process). node labels
// them, for several validators in one process.
func NewMetrics(reg prometheus.Registerer, node string) *Metrics {
	labels := prometheus.Labels{"node": node}
	gauge := func(name, help string) prometheus.Gauge {
		return promutil.Gauge(reg, prometheus.GaugeOpts{Namespace: "cairn", Subsystem: "l1", Name: name, Help: help, ConstLabels: labels})
	}
	counter := func(name, help string) prometheus.Counter {
		return promutil.Counter(reg, prometheus.CounterOpts{Namespace: "cairn", Subsystem: "l1", Name: name, Help: help, ConstLabels: labels})
	}
	return &Metrics{
		Height:            gauge("height", "Height of the newest committed block."),
		Blocks:            counter("blocks_total", "Blocks committed."),
		Txs:               counter("transactions_total", "Transactions committed."),
		GasUsed:           counter("gas_used_total", "Gas used by committed transactions."),
		BaseFee:           gauge("base_fee_wei", "Base fee of the newest block."),
		Pending:           gauge("mempool_pending", "Transactions waiting in the mempool after the last block."),
		TxAccepted:        counter("mempool_accepted_total", "Transactions admitted to the mempool."),
		TxRejected:        counter("mempool_rejected_total", "Transactions refused by CheckTx."),
		ProposalsRejected: counter("proposals_rejected_total", "Proposals refused by ProcessProposal."),
		ProposalsCut:      counter("proposals_cut_total", "Proposals this node cut short at its execution budget, leaving transactions for the next block."),
		BlobsRefused:      counter("blob_sidecars_refused_total", "Blob transactions refused for their sidecar (missing, old version, mismatched commitments, failed KZG proofs)."),
		Blobs:             counter("blobs_total", "Blobs committed."),
		SidecarsPruned:    counter("blob_sidecar_blocks_pruned_total", "Blocks whose blob sidecars were pruned after the retention window."),
	}
}

func (m *Metrics) observeBlock(res *chain.Result) {
	b := res.Block
	m.Height.Set(float64(b.NumberU64()))
	m.Blocks.Inc()
	m.Txs.Add(float64(len(b.Transactions())))
	m.GasUsed.Add(float64(b.GasUsed()))
	if bg := b.BlobGasUsed(); bg != nil {
		m.Blobs.Add(float64(*bg / params.BlobTxBlobGasPerBlob))
	}
	if bf := b.BaseFee(); bf != nil {
		f, _ := bf.Float64()
		m.BaseFee.Set(f)
	}
}
