package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/password"
)

// metrics are the server's Prometheus metrics: passkeyd.Metrics for the
// Service, an Instrument for the site's routes, and gauges read at each
// scrape.
type metrics struct {
	registry   *prometheus.Registry
	ceremonies *prometheus.CounterVec
	commits    *prometheus.HistogramVec
	requests   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		ceremonies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkeyd_ceremonies_total",
			Help: "Finished ceremonies by kind (login, registration, password) and outcome (ok, or the error code of the refusal).",
		}, []string{"kind", "outcome"}),
		commits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "passkeyd_store_commit_seconds",
			Help:    "How long the store took to commit a login or a registration.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"kind"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "passkeyd_http_request_duration_seconds",
			Help:    "How long requests took, by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"route", "code"}),
	}
	m.registry.MustRegister(m.ceremonies, m.commits, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Ceremony implements passkeyd.Metrics.
func (m *metrics) Ceremony(kind, outcome string) { m.ceremonies.WithLabelValues(kind, outcome).Inc() }

// StoreCommit implements passkeyd.Metrics.
func (m *metrics) StoreCommit(kind string, d time.Duration) {
	m.commits.WithLabelValues(kind).Observe(d.Seconds())
}

// instrument measures the latency of the route pattern's requests.
func (m *metrics) instrument(pattern string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.requests.MustCurryWith(prometheus.Labels{"route": pattern}), h)
}

// watch adds the gauges read at each scrape: the password hashing queue,
// and the active sessions when the session store can count them.
func (m *metrics) watch(hasher *password.Hasher, svc *passkeyd.Service) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "passkeyd_password_hash_queue",
			Help: "Password hashes waiting for a hashing slot.",
		}, func() float64 { return float64(hasher.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "passkeyd_password_hashes_running",
			Help: "Password hashes running now.",
		}, func() float64 { return float64(hasher.Running()) }),
		&sessionsCollector{svc: svc, desc: prometheus.NewDesc("passkeyd_sessions_active",
			"Sessions that have not ended (when the session store can count them).", nil, nil)},
	)
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// sessionsCollector reports the active sessions at each scrape.
type sessionsCollector struct {
	svc  *passkeyd.Service
	desc *prometheus.Desc
}

func (c *sessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sessionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, ok, err := c.svc.ActiveSessions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	if ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
	}
}
