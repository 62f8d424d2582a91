package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func TestAdminHandler(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Route("default")
	var ready atomic.Bool
	violations := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"routes":{}}`) })
	purge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"purged":0}`) })
	h := newAdminHandler(adminDeps{reg: reg, ready: &ready, violations: violations, purge: purge, logger: slog.New(slog.DiscardHandler)})
	withPprof := newAdminHandler(adminDeps{reg: reg, ready: &ready, violations: violations, purge: purge, pprof: true, logger: slog.New(slog.DiscardHandler)})

	get := func(method, path string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(body)
	}

	if code, body := get("GET", "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q; want 200 \"ok\\n\"", code, body)
	}
	if code, _ := get("HEAD", "/healthz"); code != http.StatusOK {
		t.Errorf("HEAD /healthz = %d; want 200", code)
	}
	if code, _ := get("GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz before ready = %d; want 503", code)
	}
	ready.Store(true)
	if code, body := get("GET", "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("GET /readyz when ready = %d %q; want 200 \"ready\\n\"", code, body)
	}
	ready.Store(false)
	if code, _ := get("GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after shutdown began = %d; want 503", code)
	}
	code, body := get("GET", "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `cacheproxy_cache_requests_total{result="hit",route="default"} 0`) {
		t.Errorf("GET /metrics = %d, body:\n%s\nwant 200 with the route's series at 0", code, body)
	}
	if code, body := get("GET", "/violations"); code != http.StatusOK || body != `{"routes":{}}` {
		t.Errorf("GET /violations = %d %q; want the violations handler's answer", code, body)
	}
	if code, body := get("POST", "/purge"); code != http.StatusOK || body != `{"purged":0}` {
		t.Errorf("POST /purge = %d %q; want the purge handler's answer", code, body)
	}
	if code, _ := get("GET", "/purge"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /purge = %d; want 405", code)
	}
	if code, _ := get("GET", "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without pprof = %d; want 404", code)
	}
	rec := httptest.NewRecorder()
	withPprof.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("GET /debug/pprof/ with pprof = %d; want the profile index", rec.Code)
	}
	if code, _ := get("POST", "/healthz"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d; want 405", code)
	}
	if code, _ := get("GET", "/"); code != http.StatusNotFound {
		t.Errorf("GET / = %d; want 404", code)
	}
}
