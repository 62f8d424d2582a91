package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// mapStore is a synchronous, map-backed Store: what is Set is visible at
// once, so tests need no waiting.
type mapStore struct {
	mu     sync.Mutex
	m      map[string]*cache.Resource
	gets   atomic.Int64
	onGet  func() // called after each Get, if set
	onSet  func() // called after each Set, if set
	setTTL time.Duration
}

func newMapStore() *mapStore { return &mapStore{m: make(map[string]*cache.Resource)} }

func (s *mapStore) Get(key string) (*cache.Resource, bool) {
	s.mu.Lock()
	r, ok := s.m[key]
	s.mu.Unlock()
	s.gets.Add(1)
	if s.onGet != nil {
		s.onGet()
	}
	return r, ok
}

func (s *mapStore) Set(key string, r *cache.Resource, ttl time.Duration) bool {
	s.mu.Lock()
	s.m[key] = r
	s.setTTL = ttl
	s.mu.Unlock()
	if s.onSet != nil {
		s.onSet()
	}
	return true
}

func (s *mapStore) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// responses counts the keys with stored responses (not Uncacheable
// markers).
func (s *mapStore) responses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.m {
		if len(r.Variants) > 0 {
			n++
		}
	}
	return n
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts at the real time: origins stamp Date from the real clock.
// It starts on a whole second, as Date fields do.
func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countObserver counts what the handler reports.
type countObserver struct {
	mu             sync.Mutex
	results        map[Result]int
	reval          map[string]int
	collapsed      int
	upstream       int
	violations     map[compliance.Rule]int
	upstreamErrors map[string]int
	served, saved  int
}

func newCountObserver() *countObserver {
	return &countObserver{results: map[Result]int{}, reval: map[string]int{}, violations: map[compliance.Rule]int{}, upstreamErrors: map[string]int{}}
}

func (o *countObserver) Route(string) RouteObserver { return o }
func (o *countObserver) Request(r Result, _ time.Duration) {
	o.mu.Lock()
	o.results[r]++
	o.mu.Unlock()
}
func (o *countObserver) Upstream(time.Duration) { o.mu.Lock(); o.upstream++; o.mu.Unlock() }
func (o *countObserver) Revalidation(out string) {
	o.mu.Lock()
	o.reval[out]++
	o.mu.Unlock()
}
func (o *countObserver) Collapsed() { o.mu.Lock(); o.collapsed++; o.mu.Unlock() }
func (o *countObserver) Violation(r compliance.Rule) {
	o.mu.Lock()
	o.violations[r]++
	o.mu.Unlock()
}

func (o *countObserver) UpstreamError(kind string) {
	o.mu.Lock()
	o.upstreamErrors[kind]++
	o.mu.Unlock()
}
func (o *countObserver) Served(n int) { o.mu.Lock(); o.served += n; o.mu.Unlock() }
func (o *countObserver) Saved(n int)  { o.mu.Lock(); o.saved += n; o.mu.Unlock() }

func (o *countObserver) violationCount(r compliance.Rule) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.violations[r]
}

func (o *countObserver) result(r Result) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.results[r]
}

// origin is an httptest origin whose handler a test sets, counting and
// recording the requests it gets.
type origin struct {
	srv   *httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	last  *http.Request
	serve http.HandlerFunc
	// clock, when set, stamps Date on every response: tests that advance
	// a fixture's clock set it to that clock, so origin and proxy agree.
	clock *clock
}

func newOrigin(t *testing.T, serve http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{serve: serve}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		o.last = r.Clone(r.Context())
		c := o.clock
		o.mu.Unlock()
		if c != nil {
			w.Header().Set("Date", c.now().UTC().Format(http.TimeFormat))
		}
		o.serve(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// fixture is a Handler in front of an origin, served on a real listener.
type fixture struct {
	h      *Handler
	store  *mapStore
	clock  *clock
	obs    *countObserver
	front  *httptest.Server
	client *http.Client // inspects every response (see do)
}

func newFixture(t *testing.T, upstream string, policy cache.Policy) *fixture {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: newMapStore(), clock: newClock(), obs: newCountObserver()}
	f.h, err = New(f.store, Options{
		Routes:   []Route{{Name: "default", Upstream: u, Policy: policy}},
		Observer: f.obs,
		Now:      f.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.front = httptest.NewServer(f.h)
	tr := NewTransport(TransportOptions{})
	f.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		f.front.Close()
		f.h.Close()
	})
	return f
}

// newFixtureFor is newFixture in front of o, whose Date fields follow the
// fixture's clock.
func newFixtureFor(t *testing.T, o *origin, policy cache.Policy) *fixture {
	t.Helper()
	f := newFixture(t, o.srv.URL, policy)
	o.mu.Lock()
	o.clock = f.clock
	o.mu.Unlock()
	return f
}

// defaultPolicy is what a route gets by default.
func defaultPolicy() cache.Policy {
	return cache.Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: 24 * time.Hour, MaxObjectSize: 1 << 20}
}

// do sends a request through the fixture and returns the response with
// its body read. Every response is checked by the proxy's own rule engine
// (the inspected Transport and compliance.CheckHeader): the proxy must
// never be the one that breaks an HTTP rule.
func (f *fixture) do(t *testing.T, method, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	ex := &exchange{method: method}
	req, err := http.NewRequestWithContext(withExchange(t.Context(), ex), method, f.front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	selfCheck(t, method+" "+path, ex, resp, req.Header["If-None-Match"] != nil)
	return resp, string(b)
}

// selfCheck fails t if the proxy's response broke a rule, on the wire or
// in its fields. A Cache-Control the upstream sent is forwarded as it
// was, so cache-control-syntax is the upstream's, not the proxy's.
func selfCheck(t *testing.T, what string, ex *exchange, resp *http.Response, conditional bool) {
	t.Helper()
	for _, v := range ex.settle(resp, conditional) {
		if v.Rule != compliance.CacheControlSyntax {
			t.Errorf("%s: the proxy broke %s (%s): %s", what, v.Rule, v.Rule.Reference(), v.Detail)
		}
	}
}
