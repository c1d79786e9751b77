// Package metrics exposes mailhouse's Prometheus metrics and a health
// check on an admin-only listener (config key listen.metrics): /metrics
// in the Prometheus text format, /healthz for load balancers.
//
// It uses its own registry, never the global default one. Other
// packages feed it through small hooks that take no dependency on
// Prometheus: delivery.Options.Observe, auth.Options.Observe, and the
// listener and busy-reply wrappers of this package, which count
// connections per service at the listener level. Figures that live in
// the store (storage per account, the outbound queue) are read from
// store.Ops.Stats at scrape time.
//
// It does not authenticate scrapers: bind listen.metrics to loopback or
// an admin network.
package metrics

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"mailhouse/internal/auth"
	"mailhouse/internal/delivery"
	"mailhouse/internal/store"
)

// Namespace prefixes every metric name.
const Namespace = "mailhouse"

// DefaultMaxAccountSeries bounds the per-account storage series, so that
// a host with very many accounts does not flood the scraper; past it only
// the totals are exported.
const DefaultMaxAccountSeries = 10000

// Options configure Metrics.
type Options struct {
	// Store gives storage and queue figures (through store.Ops) and is
	// what /healthz checks; nil leaves both out.
	Store   store.Store
	Version string
	Logger  *slog.Logger
	// MaxAccountSeries bounds per-account series; 0 means
	// DefaultMaxAccountSeries, negative turns them off.
	MaxAccountSeries int
	// StatsTimeout bounds the store read of one scrape; 0 means 5s.
	StatsTimeout time.Duration
}

// Metrics holds every metric. It is safe for concurrent use.
type Metrics struct {
	o   Options
	log *slog.Logger
	reg *prometheus.Registry

	connections         *prometheus.CounterVec
	connectionsActive   *prometheus.GaugeVec
	connectionsRejected *prometheus.CounterVec
	connectionSeconds   *prometheus.HistogramVec
	sessions            *prometheus.CounterVec
	sessionsActive      *prometheus.GaugeVec
	received            *prometheus.CounterVec
	receivedBytes       *prometheus.CounterVec
	delivered           *prometheus.CounterVec
	deliveryErrors      *prometheus.CounterVec
	deliverySeconds     *prometheus.HistogramVec
	queueResults        *prometheus.CounterVec
	logins              *prometheus.CounterVec
	blocks              *prometheus.CounterVec
	requestSeconds      *prometheus.HistogramVec

	srvMu sync.Mutex
	srvs  []*httpServer
}

// latencyBuckets suit mail operations: sub-millisecond store reads to
// multi-second deliveries.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New builds the metrics and registers them.
func New(o Options) *Metrics {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAccountSeries == 0 {
		o.MaxAccountSeries = DefaultMaxAccountSeries
	}
	if o.StatsTimeout <= 0 {
		o.StatsTimeout = 5 * time.Second
	}
	m := &Metrics{o: o, log: o.Logger, reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	hist := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	}
	m.connections = counter("connections_total", "Connections accepted, by service (config key).", "service")
	m.connectionsActive = gauge("connections_active", "Connections open now, by service.", "service")
	m.connectionsRejected = counter("connections_rejected_total", "Connections refused by a connection limit, by service and reason.", "service", "reason")
	m.connectionSeconds = hist("connection_duration_seconds", "How long connections stay open, by service.",
		[]float64{.1, 1, 10, 60, 300, 1800, 3600, 4 * 3600}, "service")
	m.sessions = counter("sessions_total", "Authenticated sessions started, by service.", "service")
	m.sessionsActive = gauge("sessions_active", "Authenticated sessions open now, by service.", "service")
	m.received = counter("messages_received_total", "Messages accepted from clients and other servers, by service.", "service")
	m.receivedBytes = counter("messages_received_bytes_total", "Bytes of messages accepted, by service.", "service")
	m.delivered = counter("messages_delivered_total",
		"Message copies stored in local mailboxes (op deliver: SMTP and sending; append: IMAP APPEND, import), and external recipients queued (op queued).", "op")
	m.deliveryErrors = counter("delivery_errors_total", "Deliveries and appends that failed, by op.", "op")
	m.deliverySeconds = hist("delivery_duration_seconds", "Time to store a message durably (one transaction, fsynced), by op.", latencyBuckets, "op")
	m.queueResults = counter("queue_results_total", "Outbound delivery attempts per recipient, by result: delivered, deferred, bounced.", "result")
	m.logins = counter("auth_logins_total", "Login attempts, by result: success, failure, throttled (refused by a block).", "result")
	m.blocks = counter("auth_blocks_total", "Blocks started after repeated failed logins, by kind: ip, account.", "kind")
	m.requestSeconds = hist("request_duration_seconds", "Time to answer a protocol command, by service and command.", latencyBuckets, "service", "command")

	m.reg.MustRegister(
		m.connections, m.connectionsActive, m.connectionsRejected, m.connectionSeconds,
		m.sessions, m.sessionsActive, m.received, m.receivedBytes,
		m.delivered, m.deliveryErrors, m.deliverySeconds, m.queueResults,
		m.logins, m.blocks, m.requestSeconds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
			Help: "Always 1; the labels name the build.", ConstLabels: prometheus.Labels{"version": o.Version, "go": runtime.Version()}},
			func() float64 { return 1 }),
	)
	// Results that never happened yet still show as 0, so dashboards and
	// alerts see the series from the start.
	for _, op := range []string{"deliver", "append", "queued"} {
		m.delivered.WithLabelValues(op)
	}
	for _, r := range []string{"delivered", "deferred", "bounced"} {
		m.queueResults.WithLabelValues(r)
	}
	for _, r := range []string{auth.OutcomeSuccess, auth.OutcomeFailure, auth.OutcomeThrottled} {
		m.logins.WithLabelValues(r)
	}
	m.blocks.WithLabelValues("ip")
	m.blocks.WithLabelValues("account")
	if ops, ok := o.Store.(store.Ops); ok {
		m.reg.MustRegister(&storeCollector{m: m, ops: ops})
	}
	return m
}

// Registry is the registry the metrics live in (to add more, or to
// gather them in tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveDelivery is delivery.Options.Observe.
func (m *Metrics) ObserveDelivery(o delivery.Observation) {
	m.deliverySeconds.WithLabelValues(o.Op).Observe(o.Duration.Seconds())
	if o.Err != nil {
		m.deliveryErrors.WithLabelValues(o.Op).Inc()
	}
	m.delivered.WithLabelValues(o.Op).Add(float64(o.Local))
	m.delivered.WithLabelValues("queued").Add(float64(o.Queued))
}

// ObserveLogin is auth.Options.Observe.
func (m *Metrics) ObserveLogin(outcome string) {
	switch outcome {
	case auth.OutcomeBlockIP:
		m.blocks.WithLabelValues("ip").Inc()
	case auth.OutcomeBlockAccount:
		m.blocks.WithLabelValues("account").Inc()
	default:
		m.logins.WithLabelValues(outcome).Inc()
	}
}

// Protocol hooks, for the protocol servers (smtpd, imapd, pop3d) to call
// once their options take them.

// MessageReceived counts a message accepted by a service (after DATA,
// or an APPEND).
func (m *Metrics) MessageReceived(service string, bytes int) {
	m.received.WithLabelValues(service).Inc()
	m.receivedBytes.WithLabelValues(service).Add(float64(bytes))
}

// SessionStarted counts a session that logged in; call the returned
// function when it ends.
func (m *Metrics) SessionStarted(service string) (ended func()) {
	m.sessions.WithLabelValues(service).Inc()
	g := m.sessionsActive.WithLabelValues(service)
	g.Inc()
	var once sync.Once
	return func() { once.Do(g.Dec) }
}

// ObserveCommand records how long a protocol command took. command
// must come from a fixed set (the verb, upper case), never from client
// text, so that series stay bounded.
func (m *Metrics) ObserveCommand(service, command string, d time.Duration) {
	m.requestSeconds.WithLabelValues(service, command).Observe(d.Seconds())
}

// QueueResult counts outbound delivery attempts per recipient: result is
// "delivered", "deferred" or "bounced".
func (m *Metrics) QueueResult(result string, recipients int) {
	m.queueResults.WithLabelValues(result).Add(float64(recipients))
}

// statsContext bounds one scrape's store read.
func (m *Metrics) statsContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.o.StatsTimeout)
}
