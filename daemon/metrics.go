package daemon

import (
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"leverance/config"
	"leverance/transfer/sftpserver"
)

// Metrics are the daemon's Prometheus metrics (docs/status.md). Names follow the
// Prometheus conventions: a leverance_ prefix, _total for counters, base
// units (seconds, bytes).
type Metrics struct {
	Registry        *prometheus.Registry
	Extracts        *prometheus.CounterVec // result: accepted, rejected
	ComputeSeconds  prometheus.Histogram   // accept: validate + compute + stage
	Publications    *prometheus.CounterVec // product, vendor, outcome (rettidig, forsinket, udeladt)
	Attempts        *prometheus.CounterVec // product, vendor
	Failures        *prometheus.CounterVec // class
	BytesSent       *prometheus.CounterVec // vendor
	Fetches         *prometheus.CounterVec // vendor, complete
	SFTPLimitHits   *prometheus.CounterVec // limit: the built-in server's limits hit
	Slots           *prometheus.GaugeVec   // product, state: today's slots by state
	ReceiptsRecords prometheus.Gauge       // records in the receipts log
	LastPublication *prometheus.GaugeVec   // product, vendor: unix time of the last publication
	ReloadOK        prometheus.Gauge       // 1 when the last reload succeeded
	ReloadFailures  prometheus.Counter
	DataQuality     *prometheus.CounterVec // kind: no_dagpengeperiode
	HTTPRejected    *prometheus.CounterVec // reason: evicted, refused
	BasisFallbacks  *prometheus.CounterVec // vendor
}

// NewMetrics registers every metric on a new registry, with the Go and
// process collectors and build info.
func NewMetrics(version string) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Extracts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_extracts_total",
			Help: "Extracts taken from the inbox, by result (accepted, rejected)."}, []string{"result"}),
		ComputeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leverance_compute_duration_seconds",
			Help: "Time to validate, compute and stage one extract.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_publications_total",
			Help: "Finished slots by outcome (rettidig, forsinket, udeladt)."}, []string{"product", "vendor", "outcome"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_publication_attempts_total",
			Help: "Publication attempts."}, []string{"product", "vendor"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_publication_failures_total",
			Help: "Failed publication attempts by error class."}, []string{"class"}),
		BytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_sent_bytes_total",
			Help: "Bytes of product files published."}, []string{"vendor"}),
		Fetches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_fetches_total",
			Help: "Downloads from the built-in SFTP server, complete or not."}, []string{"vendor", "complete"}),
		SFTPLimitHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_sftp_limit_hits_total",
			Help: "Times a limit of the built-in SFTP server refused a connection, a handle, a read or held a request, by limit."}, []string{"limit"}),
		Slots: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leverance_slots",
			Help: "Slots of the delivery day each product's status line is about, by state (leveret, afventer, forsinket, udeladt)."}, []string{"product", "state"}),
		ReceiptsRecords: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leverance_receipts_records",
			Help: "Records in the receipts log."}),
		LastPublication: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leverance_last_publication_timestamp_seconds",
			Help: "Unix time of the last successful publication."}, []string{"product", "vendor"}),
		ReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leverance_config_last_reload_successful",
			Help: "1 when the last configuration reload succeeded."}),
		ReloadFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "leverance_config_reload_failures_total",
			Help: "Configurations refused on reload."}),
		DataQuality: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_data_quality_warnings_total",
			Help: "Data-quality warnings in accepted extracts (no_dagpengeperiode: DP citizens without one)."}, []string{"kind"}),
		HTTPRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_http_connections_rejected_total",
			Help: "Status-port connections closed at the cap: evicted (an idle one, to make room) or refused (all busy)."}, []string{"reason"}),
		BasisFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leverance_basis_fallbacks_total",
			Help: "daglige-beskeder computed without the vendor's basis (its snapshot could not be loaded): every citizen is NY."}, []string{"vendor"}),
	}
	for _, reason := range []string{"evicted", "refused"} {
		m.HTTPRejected.WithLabelValues(reason)
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leverance_build_info",
		Help: "Build information; the value is 1."}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	m.ReloadOK.Set(1)
	for _, result := range []string{"accepted", "rejected"} {
		m.Extracts.WithLabelValues(result)
	}
	for _, l := range sftpserver.AllLimits {
		m.SFTPLimitHits.WithLabelValues(l)
	}
	r.MustRegister(m.Extracts, m.ComputeSeconds, m.Publications, m.Attempts, m.Failures, m.BytesSent, m.Fetches, m.SFTPLimitHits,
		m.Slots, m.ReceiptsRecords, m.LastPublication, m.ReloadOK, m.ReloadFailures, m.DataQuality,
		m.HTTPRejected, m.BasisFallbacks, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Known makes the series of the configured vendors exist, at 0 until
// something happens: a counter vector exports no series before its first
// child, and a series that appears only with its first increment hides that
// increment from rate() and increase(). Publications and attempts per product
// the vendor takes, bytes sent per vendor, and fetches for the vendors with a
// local outbox (the ones the built-in SFTP server serves). It is idempotent
// and cheap, so it is called again after a reload (at every scrape).
func (m *Metrics) Known(vendors []config.Vendor) {
	for _, v := range vendors {
		for _, p := range v.Products {
			for _, o := range []string{Rettidig, Forsinket, Udeladt} {
				m.Publications.WithLabelValues(p, v.Name, o)
			}
			m.Attempts.WithLabelValues(p, v.Name)
		}
		m.BytesSent.WithLabelValues(v.Name)
		if v.Outbox.Kind == "local" {
			for _, complete := range []bool{true, false} {
				m.Fetches.WithLabelValues(v.Name, strconv.FormatBool(complete))
			}
		}
	}
}

// Fetched counts one download from the built-in SFTP server (the complete
// label is "true" or "false").
func (m *Metrics) Fetched(vendor string, complete bool) {
	m.Fetches.WithLabelValues(vendor, strconv.FormatBool(complete)).Inc()
}

// SFTPLimitHit counts one hit of a built-in SFTP server limit.
func (m *Metrics) SFTPLimitHit(limit string) { m.SFTPLimitHits.WithLabelValues(limit).Inc() }
