package planner

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	decisions   *prometheus.CounterVec
	authFails   *prometheus.CounterVec
	drift       prometheus.Counter
	throttled   prometheus.Counter
	connWaits   prometheus.Counter
	connRefused prometheus.Counter
	sessions    prometheus.GaugeFunc
	evictions   prometheus.CounterFunc
	version     prometheus.GaugeFunc
	auditFail   prometheus.GaugeFunc
	dirLookup   *prometheus.CounterVec
	dirTime     *prometheus.HistogramVec
}

// observeDirectory counts a directory resolution (directory.Options.Observe).
func (m *metrics) observeDirectory(outcome, source string, took time.Duration) {
	m.dirLookup.WithLabelValues(outcome, source).Inc()
	if outcome == "lookup" || outcome == "error" {
		m.dirTime.WithLabelValues(source).Observe(took.Seconds())
	}
}

func newMetrics(sessions func() float64, evictions func() float64, version func() float64, auditFailing func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakegate_requests_total",
			Help: "Planner API requests by method and result code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakegate_request_duration_seconds",
			Help:    "Planner API request latency by method.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5},
		}, []string{"method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakegate_decisions_total",
			Help: "Authorization decisions per object by outcome (allowed, denied).",
		}, []string{"outcome"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakegate_authentication_failures_total",
			Help: "Rejected tokens by reason code.",
		}, []string{"code"}),
		connWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakegate_connection_waits_total",
			Help: "Connections that had to wait because --max-connections were open.",
		}),
		connRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakegate_connections_refused_total",
			Help: "Connections closed at once because their peer address held --max-connections-per-peer already.",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakegate_requests_throttled_total",
			Help: "Requests refused because their user already had the maximum of requests waiting (--max-queued-per-user).",
		}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lakegate_schema_drift_total",
			Help: "Reads of a known table whose columns differ from the catalog's (reported once per table and policy version; the catalog is not changed).",
		}),
		sessions: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lakegate_sessions",
			Help: "Client sessions held in the session table.",
		}, sessions),
		evictions: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lakegate_session_evictions_total",
			Help: "Sessions evicted from the full session table (their next request re-authenticates).",
		}, evictions),
		auditFail: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lakegate_audit_failing",
			Help: "1 while the audit log cannot be written (the planner then refuses every request), else 0.",
		}, auditFailing),
		dirLookup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakegate_directory_resolutions_total",
			Help: "Group resolutions by outcome (hit: from the cache; lookup: asked a source; stale: a source failed, an earlier answer served; error: a source failed) and source.",
		}, []string{"outcome", "source"}),
		dirTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakegate_directory_lookup_seconds",
			Help:    "Time a directory source took to answer (or fail).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5},
		}, []string{"source"}),
		version: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lakegate_policy_version",
			Help: "Version of the policy being served.",
		}, version),
	}
	m.registry.MustRegister(m.requests, m.latency, m.decisions, m.authFails, m.drift, m.throttled, m.connWaits, m.connRefused, m.sessions, m.evictions, m.version, m.auditFail, m.dirLookup, m.dirTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
