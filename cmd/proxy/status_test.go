package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// statusHostile is upstream-controlled text as evidence can carry it:
// markup that would run script if the page ever parsed it as HTML.
const statusHostile = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">&amp;"'`

// statusTime is the fake clock's start in the status tests.
var statusTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// statusClock is a fake clock that moves only when told. It is safe for
// concurrent use.
type statusClock struct {
	// mu guards t.
	mu sync.Mutex
	t  time.Time
}

func (c *statusClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *statusClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// statusStoreStats is a metrics.StoreStats over a bare ristretto cache.
type statusStoreStats struct {
	c *ristretto.Cache[string, []byte]
}

func (s statusStoreStats) Metrics() *ristretto.Metrics { return s.c.Metrics }
func (s statusStoreStats) MaxCost() int64              { return s.c.MaxCost() }

// newStatusRegistry returns a pedantic registry with cacheproxy's request
// metrics registered on it.
func newStatusRegistry(t *testing.T) (*prometheus.Registry, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

// addStatusStore registers on reg a store collector over a cache of the
// given capacity holding one entry per cost, each applied before the next
// (so none is dropped), with exact costs (no internal overhead counted).
func addStatusStore(t *testing.T, reg prometheus.Registerer, capacity int64, costs ...int64) {
	t.Helper()
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        1000,
		MaxCost:            capacity,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for i, cost := range costs {
		if !c.Set(fmt.Sprint("k", i), nil, cost) {
			t.Fatalf("ristretto Set(k%d) dropped", i)
		}
		c.Wait()
	}
	reg.MustRegister(metrics.NewStoreCollector(statusStoreStats{c}))
}

// statusRepeat calls f n times.
func statusRepeat(n int, f func()) {
	for range n {
		f()
	}
}

// statusDrive records n requests with result on o.
func statusDrive(o proxy.RouteObserver, result proxy.Result, n int) {
	statusRepeat(n, func() { o.Request(result, time.Millisecond) })
}

// statusEvidence returns n pieces of evidence for rule, oldest first, a
// second apart, whose details are "detail 0" … "detail n-1".
func statusEvidence(rule compliance.Rule, n int) []proxy.Evidence {
	es := make([]proxy.Evidence, n)
	for i := range es {
		es[i] = proxy.Evidence{
			Time:    statusTime.Add(time.Duration(i-n) * time.Second),
			Rule:    rule,
			Action:  "repair",
			Detail:  fmt.Sprint("detail ", i),
			Status:  204,
			Request: fmt.Sprint("GET /item/", i),
		}
	}
	return es
}

// getStatus serves method path on h and returns the response and body.
func getStatus(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// statusJSON is status.json as a test writes it by hand.
type statusJSON map[string]any

// statusZeroRequests returns a route's "requests" with every result at 0 but
// those in set.
func statusZeroRequests(set map[string]float64) map[string]any {
	out := map[string]any{"hit": 0, "miss": 0, "stale": 0, "revalidated": 0, "bypass": 0}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// statusZeroRevalidations is like statusZeroRequests for "revalidations".
func statusZeroRevalidations(set map[string]float64) map[string]any {
	out := map[string]any{"not_modified": 0, "modified": 0, "error": 0}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// statusCanonical round-trips v through JSON, so that hand-written wants and
// served documents compare as the same generic values.
func statusCanonical(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	newest := statusEvidence(compliance.NoContentBody, 7)
	newest[6].Detail = statusHostile
	newest[6].Request = "GET /" + statusHostile
	newest[6].StrayBytes = 12
	newest[6].Stray = `<b>x</b>\r\n`

	tests := []struct {
		name     string
		setup    func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics)
		evidence map[string][]proxy.Evidence
		want     statusJSON
	}{{
		name: "a route without traffic shows zeros and no hit ratio",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			m.Route("api")
		},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests": statusZeroRequests(nil), "hit_ratio": nil, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{}, "evidence": []any{},
		}}, "cache": nil},
	}, {
		name: "hit ratio is hits of all but bypass",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			o := m.Route("api")
			statusDrive(o, proxy.ResultHit, 3)
			statusDrive(o, proxy.ResultMiss, 1)
			statusDrive(o, proxy.ResultBypass, 5)
		},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests":  statusZeroRequests(map[string]float64{"hit": 3, "miss": 1, "bypass": 5}),
			"hit_ratio": 0.75, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{}, "evidence": []any{},
		}}, "cache": nil},
	}, {
		name: "stale and revalidated answers count as served from cache",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			o := m.Route("api")
			statusDrive(o, proxy.ResultStale, 1)
			statusDrive(o, proxy.ResultRevalidated, 1)
			statusDrive(o, proxy.ResultMiss, 2)
		},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests":  statusZeroRequests(map[string]float64{"stale": 1, "revalidated": 1, "miss": 2}),
			"hit_ratio": 0.5, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{}, "evidence": []any{},
		}}, "cache": nil},
	}, {
		name: "only bypass requests leave the hit ratio undefined",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			statusDrive(m.Route("api"), proxy.ResultBypass, 4)
		},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests":  statusZeroRequests(map[string]float64{"bypass": 4}),
			"hit_ratio": nil, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{}, "evidence": []any{},
		}}, "cache": nil},
	}, {
		name: "revalidation outcomes and violations by rule, rules never broken left out",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			o := m.Route("api")
			statusRepeat(4, func() { o.Revalidation(proxy.OutcomeNotModified) })
			statusRepeat(2, func() { o.Revalidation(proxy.OutcomeModified) })
			o.Revalidation(proxy.OutcomeError)
			statusRepeat(3, func() { o.Violation(compliance.NoContentBody) })
			o.Violation(compliance.ETagSyntax)
		},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests": statusZeroRequests(nil), "hit_ratio": nil,
			"revalidations": statusZeroRevalidations(map[string]float64{"not_modified": 4, "modified": 2, "error": 1}),
			"violations":    map[string]any{"204-body": 3, "etag-syntax": 1}, "evidence": []any{},
		}}, "cache": nil},
	}, {
		name: "routes are kept apart",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			statusDrive(m.Route("api"), proxy.ResultHit, 1)
			statusDrive(m.Route("static"), proxy.ResultMiss, 1)
		},
		want: statusJSON{"routes": map[string]any{
			"api": map[string]any{
				"requests": statusZeroRequests(map[string]float64{"hit": 1}), "hit_ratio": 1,
				"revalidations": statusZeroRevalidations(nil), "violations": map[string]any{}, "evidence": []any{},
			},
			"static": map[string]any{
				"requests": statusZeroRequests(map[string]float64{"miss": 1}), "hit_ratio": 0,
				"revalidations": statusZeroRevalidations(nil), "violations": map[string]any{}, "evidence": []any{},
			},
		}, "cache": nil},
	}, {
		name: "evidence is the newest five, newest first, strings as they were",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			m.Route("api")
		},
		evidence: map[string][]proxy.Evidence{"api": newest},
		want: statusJSON{"routes": map[string]any{"api": map[string]any{
			"requests": statusZeroRequests(nil), "hit_ratio": nil, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{},
			"evidence":   []proxy.Evidence{newest[6], newest[5], newest[4], newest[3], newest[2]},
		}}, "cache": nil},
	}, {
		name: "a route with evidence but no series is shown",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
		},
		evidence: map[string][]proxy.Evidence{"old": newest[:1]},
		want: statusJSON{"routes": map[string]any{"old": map[string]any{
			"requests": statusZeroRequests(nil), "hit_ratio": nil, "revalidations": statusZeroRevalidations(nil),
			"violations": map[string]any{}, "evidence": []proxy.Evidence{newest[0]},
		}}, "cache": nil},
	}, {
		name: "cache size, capacity and entries from the store collector",
		setup: func(t *testing.T, reg *prometheus.Registry, m *metrics.Metrics) {
			addStatusStore(t, reg, 1<<20, 1000, 2000, 4096)
		},
		want: statusJSON{"routes": map[string]any{},
			"cache": map[string]any{"bytes": 7096, "capacity": 1 << 20, "entries": 3}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, m := newStatusRegistry(t)
			tt.setup(t, reg, m)
			clock := &statusClock{t: statusTime.Add(1500 * time.Microsecond)}
			p := &statusPage{g: reg, evidence: func() map[string][]proxy.Evidence { return tt.evidence }, now: clock.now}
			res, body := getStatus(t, p.handler(), "GET", "/status.json")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /status.json = %d; want 200", res.StatusCode)
			}
			var got any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("GET /status.json: %v in\n%s", err, body)
			}
			want := map[string]any(tt.want)
			want["time"] = "2030-01-02T03:04:05.001Z" // truncated to the millisecond
			if w := statusCanonical(t, want); !reflect.DeepEqual(got, w) {
				gotJSON, _ := json.MarshalIndent(got, "", "  ")
				wantJSON, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("GET /status.json =\n%s\nwant\n%s", gotJSON, wantJSON)
			}
			if strings.ContainsAny(body, "<>") {
				t.Errorf("GET /status.json has a raw < or >; want them escaped:\n%s", body)
			}
		})
	}
}

// statusGatherFunc is a prometheus.Gatherer.
type statusGatherFunc func() ([]*dto.MetricFamily, error)

func (f statusGatherFunc) Gather() ([]*dto.MetricFamily, error) { return f() }

func TestStatusJSONPartialGather(t *testing.T) {
	t.Parallel()
	reg, m := newStatusRegistry(t)
	statusDrive(m.Route("api"), proxy.ResultHit, 2)
	g := statusGatherFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := reg.Gather()
		return mfs, errors.Join(err, errors.New("collector exploded"))
	})
	p := &statusPage{g: g, now: time.Now}
	s := p.snapshot()
	if !strings.Contains(s.Error, "collector exploded") {
		t.Errorf("snapshot().Error = %q; want the gather error", s.Error)
	}
	if r := s.Routes["api"]; r == nil || r.Requests["hit"] != 2 {
		t.Errorf("snapshot().Routes[api] = %+v; want the figures gathered despite the error", r)
	}
}

func TestStatusHeaders(t *testing.T) {
	t.Parallel()
	reg, _ := newStatusRegistry(t)
	h := newStatusHandler(reg, nil)
	tests := []struct {
		path   string
		header map[string]string
	}{
		{"/status.json", map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		}},
		{"/", map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		}},
	}
	for _, tt := range tests {
		res, _ := getStatus(t, h, "GET", tt.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d; want 200", tt.path, res.StatusCode)
		}
		for k, want := range tt.header {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q; want %q", tt.path, k, got, want)
			}
		}
	}
}

func TestStatusMethodsAndPaths(t *testing.T) {
	t.Parallel()
	reg, _ := newStatusRegistry(t)
	h := newStatusHandler(reg, nil)
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusOK},
		{"HEAD", "/", http.StatusOK},
		{"GET", "/status.json", http.StatusOK},
		{"HEAD", "/status.json", http.StatusOK},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"POST", "/status.json", http.StatusMethodNotAllowed},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/status.json/x", http.StatusNotFound},
	}
	for _, tt := range tests {
		if res, _ := getStatus(t, h, tt.method, tt.path); res.StatusCode != tt.want {
			t.Errorf("%s %s = %d; want %d", tt.method, tt.path, res.StatusCode, tt.want)
		}
	}
}

// statusNonceAttr finds the nonce attributes of the page's style and
// script elements.
var statusNonceAttr = regexp.MustCompile(`<(script|style) nonce="([^"]*)"`)

func TestStatusPageIsStaticAndLocked(t *testing.T) {
	t.Parallel()
	reg, m := newStatusRegistry(t)
	statusDrive(m.Route("route-name-in-data"), proxy.ResultHit, 1)
	ev := map[string][]proxy.Evidence{"route-name-in-data": {{Rule: compliance.NoContentBody, Detail: statusHostile}}}
	h := newStatusHandler(reg, func() map[string][]proxy.Evidence { return ev })

	res, page := getStatus(t, h, "GET", "/")
	// The page carries no data: everything comes from status.json and is
	// written with textContent.
	for _, data := range []string{"route-name-in-data", "pwned", "onerror"} {
		if strings.Contains(page, data) {
			t.Errorf("GET / contains %q; want no data in the page itself", data)
		}
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(page, sink) {
			t.Errorf("GET / uses %s; want data written with textContent only", sink)
		}
	}
	// Self-contained: nothing loaded from elsewhere.
	for _, ext := range []string{"http://", "https://", "//cdn", "@import", "src="} {
		if strings.Contains(page, ext) {
			t.Errorf("GET / contains %q; want no external assets", ext)
		}
	}

	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy = %q; want it to contain %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy = %q; want no unsafe-inline, unsafe-eval or wildcard", csp)
	}
	attrs := statusNonceAttr.FindAllStringSubmatch(page, -1)
	if len(attrs) != 2 {
		t.Fatalf("GET / has %d nonced style/script elements; want 2 (one style, one script)", len(attrs))
	}
	nonce := attrs[0][2]
	for _, a := range attrs {
		if a[2] != nonce || len(nonce) < 16 {
			t.Errorf("<%s nonce=%q>; want the same nonce of 16+ characters on both", a[1], a[2])
		}
		if want := a[1] + "-src 'nonce-" + nonce + "'"; !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q; want it to contain %q", csp, want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("GET / has %d script elements; want 1", n)
	}
	if strings.Contains(page, "{{") {
		t.Errorf("GET / has an unreplaced placeholder")
	}
	if _, again := getStatus(t, h, "GET", "/"); strings.Contains(again, nonce) {
		t.Errorf("two GET / share the nonce %q; want a fresh one per response", nonce)
	}
}
