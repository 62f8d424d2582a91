package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newAdminHandler returns the admin listener's handler:
//
//   - GET /metrics: reg in the Prometheus exposition formats.
//
//   - GET /healthz: 200 "ok" while the process serves at all.
//
//   - GET /readyz: 200 "ready" while ready is true (the configuration is
//     loaded and both listeners are up), else 503 "not ready". It turns
//     false when shutdown begins, so a load balancer stops sending traffic
//     during the grace period.
//
//   - GET /violations: the recent upstream responses that broke HTTP
//     rules, per route, as JSON (proxy.Handler.ViolationsHandler).
//
// Scrape errors are logged to logger.
func newAdminHandler(reg *prometheus.Registry, ready *atomic.Bool, violations http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /violations", violations)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			plain(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		plain(w, http.StatusOK, "ready\n")
	})
	return mux
}

// plain writes a short uncacheable text/plain response.
func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// promLogger adapts a *slog.Logger to promhttp.Logger.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.l.Error("metrics scrape", "err", fmt.Sprint(v...))
}
