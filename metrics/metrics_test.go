package metrics

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// newTestMetrics returns Metrics registered on a fresh pedantic registry.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

// histogram returns the sample count and sum of the series of family name
// whose labels are exactly labels.
func histogram(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsEqual(m.GetLabel(), labels) {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0, 0
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

func TestRoutePreinitialisesSeries(t *testing.T) {
	t.Parallel()
	m, reg := newTestMetrics(t)
	m.Route("api")

	const want = `
# HELP cacheproxy_cache_requests_total Requests answered, by route and cache result (hit, miss, stale, revalidated, bypass).
# TYPE cacheproxy_cache_requests_total counter
cacheproxy_cache_requests_total{result="bypass",route="api"} 0
cacheproxy_cache_requests_total{result="hit",route="api"} 0
cacheproxy_cache_requests_total{result="miss",route="api"} 0
cacheproxy_cache_requests_total{result="revalidated",route="api"} 0
cacheproxy_cache_requests_total{result="stale",route="api"} 0
# HELP cacheproxy_collapsed_requests_total Requests that waited for another request's upstream fetch instead of making their own, by route.
# TYPE cacheproxy_collapsed_requests_total counter
cacheproxy_collapsed_requests_total{route="api"} 0
# HELP cacheproxy_revalidations_total Revalidations of stale entries with the upstream, by route and outcome (not_modified, modified, error).
# TYPE cacheproxy_revalidations_total counter
cacheproxy_revalidations_total{outcome="error",route="api"} 0
cacheproxy_revalidations_total{outcome="modified",route="api"} 0
cacheproxy_revalidations_total{outcome="not_modified",route="api"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"cacheproxy_cache_requests_total", "cacheproxy_collapsed_requests_total", "cacheproxy_revalidations_total"); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{
		"cacheproxy_request_duration_seconds":          proxy.NumResults,
		"cacheproxy_upstream_request_duration_seconds": 1,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != n {
			t.Errorf("GatherAndCount(%s) = %d, %v; want %d series", name, got, err, n)
		}
	}
	for r := range proxy.Result(proxy.NumResults) {
		if c, s := histogram(t, reg, "cacheproxy_request_duration_seconds", map[string]string{"route": "api", "result": r.String()}); c != 0 || s != 0 {
			t.Errorf("request_duration{result=%q} = count %d sum %g; want 0 0", r, c, s)
		}
	}
}

func TestRequestCountsLandOnTheirLabels(t *testing.T) {
	t.Parallel()
	m, reg := newTestMetrics(t)
	api, static := m.Route("api"), m.Route("static")

	api.Request(proxy.ResultHit, 100*time.Microsecond)
	api.Request(proxy.ResultHit, 300*time.Microsecond)
	api.Request(proxy.ResultMiss, 2*time.Second)
	static.Request(proxy.ResultRevalidated, 20*time.Millisecond)
	static.Request(proxy.ResultBypass, time.Millisecond)
	api.Request(proxy.Result(99), time.Second) // outside the closed set: ignored
	api.Request(proxy.Result(-1), time.Second)

	tests := []struct {
		route  string
		result proxy.Result
		count  uint64
		sum    float64
	}{
		{"api", proxy.ResultHit, 2, 0.0004},
		{"api", proxy.ResultMiss, 1, 2},
		{"api", proxy.ResultStale, 0, 0},
		{"api", proxy.ResultRevalidated, 0, 0},
		{"api", proxy.ResultBypass, 0, 0},
		{"static", proxy.ResultHit, 0, 0},
		{"static", proxy.ResultRevalidated, 1, 0.02},
		{"static", proxy.ResultBypass, 1, 0.001},
	}
	for _, tt := range tests {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tt.route, tt.result.String())); got != float64(tt.count) {
			t.Errorf("requests_total{route=%q,result=%q} = %g; want %d", tt.route, tt.result, got, tt.count)
		}
		c, s := histogram(t, reg, "cacheproxy_request_duration_seconds", map[string]string{"route": tt.route, "result": tt.result.String()})
		if c != tt.count || math.Abs(s-tt.sum) > 1e-9 {
			t.Errorf("request_duration_seconds{route=%q,result=%q} = count %d sum %g; want %d %g", tt.route, tt.result, c, s, tt.count, tt.sum)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 2*proxy.NumResults {
		t.Errorf("requests_total has %d series; want %d (no series for unknown results)", n, 2*proxy.NumResults)
	}
}

func TestUpstreamRevalidationCollapsed(t *testing.T) {
	t.Parallel()
	m, reg := newTestMetrics(t)
	o := m.Route("api")

	o.Upstream(50 * time.Millisecond)
	o.Upstream(150 * time.Millisecond)
	o.Revalidation(proxy.OutcomeNotModified)
	o.Revalidation(proxy.OutcomeNotModified)
	o.Revalidation(proxy.OutcomeError)
	o.Revalidation("bogus") // outside the closed set: ignored
	o.Collapsed()
	o.Collapsed()
	o.Collapsed()

	if c, s := histogram(t, reg, "cacheproxy_upstream_request_duration_seconds", map[string]string{"route": "api"}); c != 2 || math.Abs(s-0.2) > 1e-9 {
		t.Errorf("upstream_request_duration_seconds = count %d sum %g; want 2 0.2", c, s)
	}
	const want = `
# HELP cacheproxy_collapsed_requests_total Requests that waited for another request's upstream fetch instead of making their own, by route.
# TYPE cacheproxy_collapsed_requests_total counter
cacheproxy_collapsed_requests_total{route="api"} 3
# HELP cacheproxy_revalidations_total Revalidations of stale entries with the upstream, by route and outcome (not_modified, modified, error).
# TYPE cacheproxy_revalidations_total counter
cacheproxy_revalidations_total{outcome="error",route="api"} 1
cacheproxy_revalidations_total{outcome="modified",route="api"} 0
cacheproxy_revalidations_total{outcome="not_modified",route="api"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"cacheproxy_collapsed_requests_total", "cacheproxy_revalidations_total"); err != nil {
		t.Error(err)
	}
}

func TestRouteTwiceSharesSeries(t *testing.T) {
	t.Parallel()
	m, _ := newTestMetrics(t)
	m.Route("api").Request(proxy.ResultHit, time.Millisecond)
	m.Route("api").Request(proxy.ResultHit, time.Millisecond)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("api", "hit")); got != 2 {
		t.Errorf("requests_total{route=api,result=hit} = %g; want 2", got)
	}
}

func TestNewTwiceReturnsError(t *testing.T) {
	t.Parallel()
	m, reg := newTestMetrics(t)
	m2, err := New(reg)
	if err == nil {
		t.Fatalf("second New on one registry = %v, nil; want an error", m2)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second New error = %v; want a prometheus.AlreadyRegisteredError", err)
	}
	// The first Metrics still works.
	m.Route("api").Collapsed()
	if got := testutil.ToFloat64(m.collapsed.WithLabelValues("api")); got != 1 {
		t.Errorf("collapsed_requests_total = %g; want 1", got)
	}
}

func TestNewRollsBackOnConflict(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	// The last collector New registers, already taken. (It must have the
	// same help and labels: a registry remembers a name's shape for life.)
	squatter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cacheproxy_collapsed_requests_total",
		Help: "Requests that waited for another request's upstream fetch instead of making their own, by route.",
	}, []string{"route"})
	reg.MustRegister(squatter)
	if _, err := New(reg); err == nil {
		t.Fatal("New with a conflicting collector registered = nil error; want an error")
	}
	reg.Unregister(squatter)
	if _, err := New(reg); err != nil {
		t.Errorf("New after the conflict was removed = %v; want nil (the failed New must not leave collectors behind)", err)
	}
}

func TestRegisterBuildInfo(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	if err := RegisterBuildInfo(reg, "1.2.3"); err != nil {
		t.Fatalf("RegisterBuildInfo: %v", err)
	}
	want := fmt.Sprintf(`
# HELP cacheproxy_build_info A metric with constant value 1, labelled with the version of cacheproxy and of Go it was built with.
# TYPE cacheproxy_build_info gauge
cacheproxy_build_info{goversion=%q,version="1.2.3"} 1
`, runtime.Version())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cacheproxy_build_info"); err != nil {
		t.Error(err)
	}
	if err := RegisterBuildInfo(reg, "1.2.3"); err == nil {
		t.Error("second RegisterBuildInfo on one registry = nil; want an error")
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	m, reg := newTestMetrics(t)
	o := m.Route("api")
	o.Request(proxy.ResultHit, time.Millisecond)
	o.Upstream(time.Millisecond)
	o.Revalidation(proxy.OutcomeModified)
	o.Collapsed()
	sc := NewStoreCollector(fakeStats{maxCost: 1 << 20})
	reg.MustRegister(sc)
	if err := RegisterBuildInfo(reg, "test"); err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]prometheus.Collector{
		"requests":      m.requests,
		"duration":      m.duration,
		"upstream":      m.upstream,
		"revalidations": m.revalidations,
		"collapsed":     m.collapsed,
		"store":         sc,
	} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Errorf("CollectAndLint(%s): %v", name, err)
		}
		for _, p := range problems {
			t.Errorf("CollectAndLint(%s): %s: %s", name, p.Metric, p.Text)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Errorf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("GatherAndLint: %s: %s", p.Metric, p.Text)
	}
}

func BenchmarkRequest(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	o := m.Route("api")
	b.ReportAllocs()
	for b.Loop() {
		o.Request(proxy.ResultHit, 80*time.Microsecond)
	}
}
