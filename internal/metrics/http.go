package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Bounds of the admin HTTP listener.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	// healthTimeout bounds the store check of /healthz.
	healthTimeout = 2 * time.Second
	// maxInflightScrapes bounds concurrent /metrics requests.
	maxInflightScrapes = 4
)

// Handler serves /metrics (Prometheus text format) and /healthz (200 ok
// while the store answers, 503 otherwise).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		MaxRequestsInFlight: maxInflightScrapes,
		Timeout:             m.o.StatsTimeout + 5*time.Second,
		ErrorLog:            promLogger{m},
	}))
	mux.HandleFunc("GET /healthz", m.health)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("mailhouse admin endpoint: /metrics, /healthz\n"))
	})
	return mux
}

// health answers load balancers: the process runs and the store reads.
func (m *Metrics) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if m.o.Store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if _, err := m.o.Store.ListDomains(ctx); err != nil {
			m.log.Warn("health check: store not answering", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("store unavailable\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

type promLogger struct{ m *Metrics }

func (l promLogger) Println(v ...any) { l.m.log.Warn("metrics: serving a scrape", "err", v) }

// httpServer is one admin listener's server.
type httpServer struct{ s *http.Server }

// Serve serves the admin endpoints on ln until it closes (listen.metrics
// in the config). It returns nil after Shutdown.
func (m *Metrics) Serve(ln net.Listener) error {
	s := &http.Server{
		Handler: m.Handler(), ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
	}
	m.srvMu.Lock()
	m.srvs = append(m.srvs, &httpServer{s})
	m.srvMu.Unlock()
	err := s.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops every admin listener, letting requests in flight end
// within ctx.
func (m *Metrics) Shutdown(ctx context.Context) error {
	m.srvMu.Lock()
	srvs := m.srvs
	m.srvs = nil
	m.srvMu.Unlock()
	var errs []error
	for _, s := range srvs {
		errs = append(errs, s.s.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
