package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminDeps is what the admin listener serves.
type adminDeps struct {
	reg        *prometheus.Registry
	ready      *atomic.Bool // the configuration is loaded and both listeners are up
	violations http.Handler // GET /violations
	purge      http.Handler // POST /purge
	status     http.Handler // GET / and GET /status.json; nil: none
	pprof      bool         // serve /debug/pprof/
	logger     *slog.Logger // scrape errors
}

// newAdminHandler returns the admin listener's handler:
//
//   - GET /metrics: reg in the Prometheus exposition formats.
//   - GET /healthz: 200 "ok" while the process serves at all.
//   - GET /readyz: 200 "ready" while ready is true (the configuration is
//     loaded and both listeners are up), else 503 "not ready". It turns
//     false when shutdown begins, so a load balancer stops sending traffic
//     during the grace period.
//   - GET /violations: the recent upstream responses that broke HTTP
//     rules, per route, as JSON (proxy.Handler.ViolationsHandler).
//   - POST /purge: removes stored responses (newPurgeHandler).
//   - GET / and GET /status.json: the status page, when d.status is set.
//   - /debug/pprof/: Go's profiler, only when d.pprof is set.
func newAdminHandler(d adminDeps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{
		Registry:      d.reg,
		ErrorLog:      promLogger{d.logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			plain(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		plain(w, http.StatusOK, "ready\n")
	})
	mux.Handle("GET /violations", d.violations)
	mux.Handle("POST /purge", d.purge)
	if d.status != nil {
		mux.Handle("GET /{$}", d.status)
		mux.Handle("GET /status.json", d.status)
	}
	if d.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
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
