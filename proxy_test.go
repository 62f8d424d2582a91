// End-to-end tests at the module root: the graph cmd/proxy builds
// (cache.NewStore, metrics.New on a fresh registry, proxy.New) on real
// listeners in front of an httptest origin that counts requests, and the
// metrics read back from a scrape of /metrics.
package cacheproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/cacheproxy/cacheproxy/proxy"
)

// testClock is the injected clock; the origin stamps Date from it too.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// graph is what main builds, wired to test listeners.
type graph struct {
	store *cache.Store
	h     *proxy.Handler
	front *httptest.Server // traffic
	admin *httptest.Server // /metrics
	clock *testClock
}

func newGraph(t *testing.T, upstream string, policy cache.Policy) *graph {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.NewStore(cache.StoreOptions{MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(metrics.NewStoreCollector(store))
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{store: store, clock: &testClock{t: time.Now().Truncate(time.Second)}}
	g.h, err = proxy.New(store, proxy.Options{
		Routes:    []proxy.Route{{Name: "api", Upstream: u, Policy: policy}},
		Transport: proxy.NewTransport(proxy.TransportOptions{}),
		Observer:  m,
		Now:       g.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	g.front = httptest.NewServer(g.h)
	g.admin = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	t.Cleanup(func() {
		g.front.Close()
		g.admin.Close()
		g.h.Close()
		store.Close()
	})
	return g
}

func policy() cache.Policy {
	return cache.Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: 24 * time.Hour, MaxObjectSize: 1 << 20}
}

// get sends a request through the proxy, reads the body, and waits for
// the store to apply any write the request made (ristretto's Set is
// asynchronous).
func (g *graph) get(t *testing.T, method, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := g.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	g.store.Wait()
	return resp, string(b)
}

// scrape reads /metrics from the admin server.
func (g *graph) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(g.admin.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mf
}

// value returns the value of the series of family name with the given
// labels (counter or gauge), or -1 when absent.
func value(mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := mf[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// countingOrigin is an httptest origin that counts requests per path,
// stamps Date from the clock, and records the last request.
type countingOrigin struct {
	srv   *httptest.Server
	total atomic.Int64
	mu    sync.Mutex
	per   map[string]int
	last  http.Header
}

func newCountingOrigin(t *testing.T, clock func() *testClock, h http.HandlerFunc) *countingOrigin {
	o := &countingOrigin{per: map[string]int{}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.total.Add(1)
		o.mu.Lock()
		o.per[r.Method+" "+r.URL.Path]++
		o.last = r.Header.Clone()
		o.mu.Unlock()
		if c := clock(); c != nil {
			w.Header().Set("Date", c.now().UTC().Format(http.TimeFormat))
		}
		h(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *countingOrigin) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.per[key]
}

func (o *countingOrigin) lastHeader() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// apiOrigin is the API the end-to-end test sits in front of.
func apiOrigin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/exists" && r.Method == "GET":
		// 204 with an ETag and no freshness information at all.
		w.Header().Set("ETag", `"e1"`)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/short":
		w.Header().Set("ETag", `"s1"`)
		w.Header().Set("Cache-Control", "max-age=5")
		if r.Header.Get("If-None-Match") == `"s1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/items/1" && (r.Method == "PUT" || r.Method == "DELETE"):
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/items/1":
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprint(w, `{"id":1}`)
	case r.URL.Path == "/greeting":
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprint(w, "hello in "+r.Header.Get("Accept-Language"))
	case r.URL.Path == "/me":
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprint(w, "profile of "+r.Header.Get("Authorization"))
	case r.URL.Path == "/nostore":
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "fresh every time")
	default:
		http.NotFound(w, r)
	}
}

func TestEndToEnd(t *testing.T) {
	var g *graph
	o := newCountingOrigin(t, func() *testClock { return g.clock }, apiOrigin)
	g = newGraph(t, o.srv.URL, policy())

	t.Run("RFC 9111 §4.2.2 204 without freshness: miss then hit", func(t *testing.T) {
		resp, _ := g.get(t, "GET", "/exists")
		if got := resp.Header.Get("Cache-Status"); got != "cacheproxy; fwd=uri-miss; fwd-status=204; stored" {
			t.Errorf("miss Cache-Status = %q", got)
		}
		resp, _ = g.get(t, "GET", "/exists")
		if resp.StatusCode != 204 || resp.Header.Get("Cache-Status") != "cacheproxy; hit; ttl=60" || resp.Header.Get("Age") != "0" {
			t.Errorf("hit: %d, Cache-Status %q, Age %q", resp.StatusCode, resp.Header.Get("Cache-Status"), resp.Header.Get("Age"))
		}
		if got := o.count("GET /exists"); got != 1 {
			t.Errorf("origin GET /exists = %d; want 1", got)
		}
	})
	t.Run("RFC 9110 §13.1.2 client If-None-Match answered 304 from cache", func(t *testing.T) {
		resp, _ := g.get(t, "GET", "/exists", "If-None-Match", `W/"e1"`)
		if resp.StatusCode != 304 || resp.Header.Get("ETag") != `"e1"` {
			t.Errorf("status %d ETag %q; want 304 \"e1\"", resp.StatusCode, resp.Header.Get("ETag"))
		}
		if got := o.count("GET /exists"); got != 1 {
			t.Errorf("origin GET /exists = %d; want 1", got)
		}
	})
	t.Run("RFC 9111 §4.3.1 revalidation carries the stored ETag", func(t *testing.T) {
		g.get(t, "GET", "/short")
		g.clock.advance(6 * time.Second)
		resp, _ := g.get(t, "GET", "/short")
		if got := o.lastHeader().Get("If-None-Match"); got != `"s1"` {
			t.Errorf("upstream If-None-Match = %q; want \"s1\"", got)
		}
		if resp.StatusCode != 204 || resp.Header.Get("Cache-Status") != "cacheproxy; fwd=stale; fwd-status=304; stored" {
			t.Errorf("revalidated: %d %q", resp.StatusCode, resp.Header.Get("Cache-Status"))
		}
		resp, _ = g.get(t, "GET", "/short")
		if !strings.HasPrefix(resp.Header.Get("Cache-Status"), "cacheproxy; hit") || o.count("GET /short") != 2 {
			t.Errorf("after 304: %q with %d origin requests; want a hit after 2", resp.Header.Get("Cache-Status"), o.count("GET /short"))
		}
	})
	t.Run("RFC 9111 §4.4 PUT answered 204 invalidates the GET", func(t *testing.T) {
		g.get(t, "GET", "/items/1")
		g.get(t, "GET", "/items/1")
		g.get(t, "PUT", "/items/1")
		_, body := g.get(t, "GET", "/items/1")
		if got := o.count("GET /items/1"); got != 2 || body != `{"id":1}` {
			t.Errorf("origin GET /items/1 = %d, body %q; want 2", got, body)
		}
	})
	t.Run("RFC 9111 §4.1 Vary variants kept apart", func(t *testing.T) {
		for _, lang := range []string{"en", "de", "en", "de"} {
			if _, body := g.get(t, "GET", "/greeting", "Accept-Language", lang); body != "hello in "+lang {
				t.Errorf("Accept-Language %s got %q", lang, body)
			}
		}
		if got := o.count("GET /greeting"); got != 2 {
			t.Errorf("origin GET /greeting = %d; want 2", got)
		}
	})
	t.Run("RFC 9111 §3.5 Authorization answers are not shared", func(t *testing.T) {
		g.get(t, "GET", "/me", "Authorization", "Bearer alice")
		if _, body := g.get(t, "GET", "/me", "Authorization", "Bearer bob"); body != "profile of Bearer bob" {
			t.Errorf("bob got %q", body)
		}
		if _, body := g.get(t, "GET", "/me"); body != "profile of " {
			t.Errorf("anonymous got %q", body)
		}
	})
	t.Run("RFC 9111 §5.2.2.5 no-store", func(t *testing.T) {
		g.get(t, "GET", "/nostore")
		g.get(t, "GET", "/nostore")
		if got := o.count("GET /nostore"); got != 2 {
			t.Errorf("origin GET /nostore = %d; want 2", got)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		mf := g.scrape(t)
		for _, c := range []struct {
			result string
			want   float64
		}{
			// hits: /exists, 304 on /exists, /short after 304, /items/1
			// second, /greeting en and de again.
			{"hit", 6},
			{"revalidated", 1},
		} {
			if got := value(mf, "cacheproxy_cache_requests_total", "route", "api", "result", c.result); got != c.want {
				t.Errorf("cacheproxy_cache_requests_total{result=%q} = %v; want %v", c.result, got, c.want)
			}
		}
		// misses: /exists, /short, /items/1 twice, /greeting twice, /me
		// three times, /nostore twice.
		if got := value(mf, "cacheproxy_cache_requests_total", "route", "api", "result", "miss"); got != 11 {
			t.Errorf("misses = %v; want 11", got)
		}
		if got := value(mf, "cacheproxy_cache_requests_total", "route", "api", "result", "bypass"); got != 1 {
			t.Errorf("bypass = %v; want 1 (the PUT)", got)
		}
		if got := value(mf, "cacheproxy_request_duration_seconds", "route", "api", "result", "hit"); got != 6 {
			t.Errorf("request_duration_seconds{hit} count = %v; want 6", got)
		}
	})
}

func TestEndToEndCollapsing(t *testing.T) {
	const clients = 50
	release := make(chan struct{})
	o := newCountingOrigin(t, func() *testClock { return nil }, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("ETag", `"c"`)
		w.WriteHeader(http.StatusNoContent)
	})
	g := newGraph(t, o.srv.URL, policy())
	var wg sync.WaitGroup
	codes := make(chan int, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := g.front.Client().Get(g.front.URL + "/popular")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	// Every client looks up and misses before the origin may answer:
	// ristretto counts the misses as they happen (and the fill looks once
	// more).
	for deadline := time.Now().Add(30 * time.Second); g.store.Metrics().Misses() < clients+1; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d lookups after 30s", g.store.Metrics().Misses())
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 204 {
			t.Errorf("client got %d; want 204", c)
		}
	}
	if got := o.total.Load(); got != 1 {
		t.Errorf("origin requests = %d for %d concurrent clients; want 1", got, clients)
	}
	mf := g.scrape(t)
	if got := value(mf, "cacheproxy_collapsed_requests_total", "route", "api"); got != clients-1 {
		t.Errorf("cacheproxy_collapsed_requests_total = %v; want %d", got, clients-1)
	}
}
