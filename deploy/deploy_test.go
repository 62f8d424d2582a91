// Package deploy_test checks what deploy/ ships, the Grafana dashboard and
// the Prometheus recording rules and alerts, against the proxy itself:
//
//   - deploy_test.go: every metric their PromQL names is one the graph
//     cmd/proxy builds exports, with the labels and label values used, and
//     every recording rule named is defined (no external tool);
//   - dashboard_test.go, rulefile_test.go: the dashboard's structure and
//     variables, the rules' conventions, and that rules_test.yml covers
//     every rule;
//   - promql_test.go: the PromQL tokenizer and rule-file reader they use;
//   - promtool_test.go: promtool accepts the rules, their unit tests pass,
//     and a live scrape after a hit, a miss and a revalidation lints clean
//     and holds every series;
//   - prometheus_test.go: a real Prometheus server scraping the proxy and
//     evaluating the rules reads back the hit ratio a known traffic
//     pattern implies.
//
// Tests that need promtool or prometheus (Debian: apt-get install
// prometheus) skip without them, unless CACHEPROXY_REQUIRE_TOOLS=1, as in
// CI, makes that a failure.
package deploy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/cacheproxy/cacheproxy/proxy"
)

const (
	dashboardPath = "grafana/cacheproxy.json"
	rulesPath     = "prometheus/rules.yml"
	rulesTestPath = "prometheus/rules_test.yml"

	// capacity is the test graph's cache capacity in bytes.
	capacity = 64 << 20
)

// testClock is a clock for proxy.Options.Now that moves only when told.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now().Truncate(time.Second)} }

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

// graph is what cmd/proxy builds (registry, Go and process collectors,
// build info, request metrics, store and its collector, handler), with one
// route "api" in front of an upstream, on test listeners.
type graph struct {
	reg   *prometheus.Registry
	store *cache.Store
	front *httptest.Server // traffic
	admin *httptest.Server // GET /metrics
}

// newGraph builds the graph in front of upstream. A nil clock means the
// proxy uses time.Now.
func newGraph(t *testing.T, upstream string, clock *testClock) *graph {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.RegisterBuildInfo(reg, "0.0.0-test"); err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.NewStore(cache.StoreOptions{MaxBytes: capacity})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	reg.MustRegister(metrics.NewStoreCollector(store))
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	opts := proxy.Options{
		Routes: []proxy.Route{{
			Name:     "api",
			Upstream: u,
			Policy:   cache.Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: 24 * time.Hour, MaxObjectSize: 1 << 20},
		}},
		Transport: proxy.NewTransport(proxy.TransportOptions{}),
		Observer:  m, // proxy.New calls m.Route("api")
	}
	if clock != nil {
		opts.Now = clock.now
	}
	h, err := proxy.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	g := &graph{reg: reg, store: store, front: httptest.NewServer(h), admin: httptest.NewServer(mux)}
	t.Cleanup(g.front.Close)
	t.Cleanup(g.admin.Close)
	return g
}

// do sends a request through the proxy, reads the body, and waits for the
// store to apply any write the request made (ristretto's Set is
// asynchronous). It returns the status and Cache-Status.
func (g *graph) do(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := g.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	g.store.Wait()
	return resp.StatusCode, resp.Header.Get("Cache-Status")
}

// family is what the checks need to know of one exported metric family.
type family struct {
	typ    dto.MetricType
	labels []string
}

// exported is the metric surface of the graph: its families, and the
// values seen of the labels whose values form a closed set.
type exported struct {
	families map[string]family
	values   map[string][]string // label → values, for closedLabels
}

// closedLabels are the labels whose every value exists from start-up.
var closedLabels = []string{"result", "outcome", "kind", "rule"}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

// exportedMetrics gathers the families of a fresh graph.
func exportedMetrics(t *testing.T) exported {
	t.Helper()
	g := newGraph(t, "http://127.0.0.1:9", nil) // no traffic is sent
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	e := exported{families: map[string]family{}, values: map[string][]string{}}
	for _, mf := range mfs {
		f := family{typ: mf.GetType()}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(f.labels, l.GetName()) {
					f.labels = append(f.labels, l.GetName())
				}
				if slices.Contains(closedLabels, l.GetName()) && !slices.Contains(e.values[l.GetName()], l.GetValue()) {
					e.values[l.GetName()] = append(e.values[l.GetName()], l.GetValue())
				}
			}
		}
		e.families[mf.GetName()] = f
	}
	return e
}

// resolve finds the family a series name belongs to: the family itself, or
// a histogram's _bucket (with label le), _sum or _count series, or a
// summary's _sum or _count.
func (e exported) resolve(name string) (family, bool) {
	if f, ok := e.families[name]; ok {
		return f, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		f, found := e.families[base]
		switch {
		case !ok || !found:
		case suffix == "_bucket" && f.typ == dto.MetricType_HISTOGRAM:
			f.labels = append(slices.Clip(f.labels), "le")
			return f, true
		case suffix != "_bucket" && (f.typ == dto.MetricType_HISTOGRAM || f.typ == dto.MetricType_SUMMARY):
			return f, true
		}
	}
	return family{}, false
}

// check returns the problems of the selectors of one expression: a name
// that is neither exported nor a recording rule in recorded, a matcher on
// a label the family does not have, a value of a closed label set that is
// never exported. With routeVar, every selector of a per-route series must
// filter on the dashboard's route variable.
func (e exported) check(sels []selector, recorded []string, routeVar bool) []string {
	var problems []string
	for _, s := range sels {
		perRoute := false
		if strings.Contains(s.name, ":") {
			if !slices.Contains(recorded, s.name) {
				problems = append(problems, fmt.Sprintf("%s: not a recording rule of %s", s.name, rulesPath))
			}
			perRoute = strings.HasPrefix(s.name, "route")
		} else {
			f, ok := e.resolve(s.name)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: not a metric the proxy exports", s.name))
				continue
			}
			for _, m := range s.matchers {
				if m.label != "__name__" && !slices.Contains(f.labels, m.label) && !slices.Contains(targetLabels, m.label) {
					problems = append(problems, fmt.Sprintf("%s: no label %q (has %q)", s, m.label, f.labels))
				}
			}
			perRoute = slices.Contains(f.labels, "route")
		}
		for _, m := range s.matchers {
			if values, ok := e.values[m.label]; ok {
				for _, v := range literalValues(m) {
					if !slices.Contains(values, v) {
						problems = append(problems, fmt.Sprintf("%s: %s=%q is never exported (values: %q)", s, m.label, v, values))
					}
				}
			}
		}
		if routeVar && perRoute {
			if m, ok := s.matcher("route"); !ok || m.op != "=~" || m.value != "$route" {
				problems = append(problems, fmt.Sprintf(`%s: per-route series without route=~"$route"`, s))
			}
		}
	}
	return problems
}

// literalValues returns the label values a matcher names: its value for =
// and !=, the alternatives of a regex made only of literals and "|" for =~
// and !~. It returns nil for anything else (a Grafana variable, a real
// regex, the empty value).
func literalValues(m matcher) []string {
	if m.value == "" || strings.Contains(m.value, "$") {
		return nil
	}
	if m.op == "=" || m.op == "!=" {
		return []string{m.value}
	}
	alts := strings.Split(m.value, "|")
	for _, a := range alts {
		if a == "" || regexp.QuoteMeta(a) != a {
			return nil
		}
	}
	return alts
}

// query is one PromQL expression of deploy/ and where it comes from.
type query struct {
	where, expr string
}

var labelValuesRE = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

func TestQueriesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	e := exportedMetrics(t)
	rules := readRules(t)
	recorded := recordedNames(rules)
	d, _ := readDashboard(t)
	exprs, labelValues := d.queries()

	// source is one expression to check; routeVar: see exported.check.
	type source struct {
		file     string
		q        query
		routeVar bool
	}
	var sources []source
	for _, q := range exprs {
		sources = append(sources, source{dashboardPath, q, true})
	}
	for _, r := range rules {
		sources = append(sources, source{rulesPath, query{fmt.Sprintf("line %d %s", r.line, r.name), r.expr}, false})
	}
	if len(exprs) == 0 || len(rules) == 0 {
		t.Fatalf("%d dashboard queries, %d rules; want some of each", len(exprs), len(rules))
	}
	for _, s := range sources {
		t.Run(s.file+"/"+s.q.where, func(t *testing.T) {
			t.Parallel()
			sels, err := parseSelectors(s.q.expr)
			if err != nil {
				t.Fatalf("parseSelectors(%q): %v", s.q.expr, err)
			}
			if len(sels) == 0 {
				t.Errorf("%q selects no series", s.q.expr)
			}
			for _, p := range e.check(sels, recorded, s.routeVar) {
				t.Error(p)
			}
		})
	}
	for _, q := range labelValues {
		t.Run(dashboardPath+"/"+q.where, func(t *testing.T) {
			t.Parallel()
			m := labelValuesRE.FindStringSubmatch(q.expr)
			if m == nil {
				t.Fatalf("%q: want label_values(metric, label)", q.expr)
			}
			f, ok := e.resolve(m[1])
			if !ok {
				t.Fatalf("%q: %s is not a metric the proxy exports", q.expr, m[1])
			}
			if !slices.Contains(f.labels, m[2]) {
				t.Errorf("%q: %s has no label %s (has %q)", q.expr, m[1], m[2], f.labels)
			}
		})
	}
}

// TestQueriesCheck makes sure the check above can fail.
func TestQueriesCheck(t *testing.T) {
	t.Parallel()
	e := exportedMetrics(t)
	recorded := []string{"route:cacheproxy_hit_ratio:rate5m"}
	for _, c := range []struct {
		expr     string
		routeVar bool
		problems int
	}{
		{`rate(cacheproxy_cache_requests_total{route=~"$route", result=~"hit|miss"}[5m])`, true, 0},
		{`histogram_quantile(0.5, sum by (le) (rate(cacheproxy_request_duration_seconds_bucket[5m])))`, false, 0},
		{`cacheproxy_upstream_request_duration_seconds_count / cacheproxy_cache_entries`, false, 0},
		{`route:cacheproxy_hit_ratio:rate5m{route=~"$route"} and go_goroutines`, true, 0},
		{`cacheproxy_cache_request_total`, false, 1},                               // misspelt
		{`route:cacheproxy_hit_ratio:rate1h`, false, 1},                            // not recorded
		{`cacheproxy_cache_requests_total{reslt="hit"}`, false, 1},                 // no such label
		{`cacheproxy_cache_requests_total{result=~"hit|mis"}`, false, 1},           // no such value
		{`cacheproxy_upstream_errors_total{kind!="status_500"}`, false, 1},         // no such value
		{`cacheproxy_cache_entries_bucket + cacheproxy_cache_bytes_sum`, false, 2}, // not histograms
		{`cacheproxy_revalidations_total`, true, 1},                                // no route filter
		{`route:cacheproxy_hit_ratio:rate5m{route="api"}`, true, 1},                // not the variable
		{`cacheproxy_cache_bytes`, true, 0},                                        // not per route
	} {
		sels, err := parseSelectors(c.expr)
		if err != nil {
			t.Fatalf("parseSelectors(%q): %v", c.expr, err)
		}
		if got := e.check(sels, recorded, c.routeVar); len(got) != c.problems {
			t.Errorf("check(%q) = %q; want %d problems", c.expr, got, c.problems)
		}
	}
}
