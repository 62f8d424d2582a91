package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// requireTool returns the path of the named program. When it is not on
// PATH the test is skipped, or fails if CACHEPROXY_REQUIRE_TOOLS=1.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CACHEPROXY_REQUIRE_TOOLS") == "1" {
		t.Fatalf("CACHEPROXY_REQUIRE_TOOLS=1 but %v (Debian: apt-get install prometheus)", err)
	}
	t.Skipf("%v; install it (Debian: apt-get install prometheus) or set CACHEPROXY_REQUIRE_TOOLS=1 to make this a failure", err)
	return ""
}

var promtoolRulesFoundRE = regexp.MustCompile(`SUCCESS: (\d+) rules found`)

func TestPromtoolRules(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")
	nrules := len(readRules(t))
	for _, c := range []struct {
		name  string
		args  []string
		check func(out string) error
	}{
		{"check rules", []string{"check", "rules", "--lint=all", "--lint-fatal", rulesPath}, func(out string) error {
			// promtool reads rules.yml with a real YAML parser: it must
			// find as many rules as parseRules did.
			m := promtoolRulesFoundRE.FindStringSubmatch(out)
			if m == nil || strings.Contains(out, "FAILED") || strings.Contains(out, "WARNING") {
				return fmt.Errorf("want SUCCESS and no warnings")
			}
			if m[1] != strconv.Itoa(nrules) {
				return fmt.Errorf("promtool found %s rules, parseRules %d", m[1], nrules)
			}
			return nil
		}},
		{"test rules", []string{"test", "rules", rulesTestPath}, func(out string) error {
			if !strings.Contains(out, "SUCCESS") || strings.Contains(out, "FAILED") {
				return fmt.Errorf("want SUCCESS")
			}
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.CommandContext(t.Context(), promtool, c.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			if err := c.check(string(out)); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
		})
	}
}

// scrape reads the graph's /metrics in the text format.
func (g *graph) scrape(t *testing.T) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", g.admin.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := g.admin.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	return body
}

// labelSet formats a series' labels as {a="x",b="y"}, sorted.
func labelSet(ls []*dto.LabelPair) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + "=" + strconv.Quote(l.GetValue())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// product returns the label sets {route="api", label=v} for each v.
func product(label string, values ...string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = labelSet([]*dto.LabelPair{{Name: new("route"), Value: new("api")}, {Name: &label, Value: &v}})
	}
	sort.Strings(out)
	return out
}

// sample returns the value of the series of mf with labels (a labelSet
// string): a counter's or gauge's value, a histogram's sample count.
func sample(mf *dto.MetricFamily, labels string) (float64, bool) {
	for _, m := range mf.GetMetric() {
		if labelSet(m.GetLabel()) != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")

	// One hit, one miss and one revalidation: a miss stores /r (ETag,
	// max-age=60), a hit serves it, and 61s later on the proxy's clock it
	// is stale and revalidated with a 304.
	clock := newTestClock()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.now().UTC().Format(http.TimeFormat))
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(origin.Close)
	g := newGraph(t, origin.URL, clock)
	for _, step := range []struct {
		advance         time.Duration
		wantCacheStatus string
	}{
		{0, "cacheproxy; fwd=uri-miss; fwd-status=200; stored"},
		{0, "cacheproxy; hit; ttl=60"},
		{61 * time.Second, "cacheproxy; fwd=stale; fwd-status=304; stored"},
	} {
		clock.advance(step.advance)
		if code, cs := g.do(t, "GET", "/r"); code != http.StatusOK || cs != step.wantCacheStatus {
			t.Fatalf("GET /r = %d, Cache-Status %q; want 200 %q", code, cs, step.wantCacheStatus)
		}
	}
	body := g.scrape(t)

	t.Run("promtool check metrics", func(t *testing.T) {
		t.Parallel()
		cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	results := []string{"hit", "miss", "stale", "revalidated", "bypass"}
	var rules []string
	for _, r := range compliance.AllRules() {
		rules = append(rules, string(r))
	}
	route := []string{`{route="api"}`}
	none := []string{"{}"}
	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	t.Run("families", func(t *testing.T) {
		t.Parallel()
		for _, want := range []struct {
			name   string
			typ    dto.MetricType
			series []string // label sets, sorted
		}{
			{"cacheproxy_cache_requests_total", counter, product("result", results...)},
			{"cacheproxy_request_duration_seconds", histogram, product("result", results...)},
			{"cacheproxy_upstream_request_duration_seconds", histogram, route},
			{"cacheproxy_revalidations_total", counter, product("outcome", "not_modified", "modified", "error")},
			{"cacheproxy_collapsed_requests_total", counter, route},
			{"cacheproxy_cache_served_bytes_total", counter, route},
			{"cacheproxy_revalidation_saved_bytes_total", counter, route},
			{"cacheproxy_upstream_errors_total", counter, product("kind", "connect", "timeout", "reset", "status_5xx")},
			{"cacheproxy_upstream_violations_total", counter, product("rule", rules...)},
			{"cacheproxy_cache_capacity_bytes", gauge, none},
			{"cacheproxy_cache_entries", gauge, none},
			{"cacheproxy_cache_bytes", gauge, none},
			{"cacheproxy_cache_insertions_total", counter, none},
			{"cacheproxy_cache_evictions_total", counter, none},
			{"cacheproxy_cache_sets_dropped_total", counter, none},
			{"cacheproxy_cache_sets_rejected_total", counter, none},
			{"cacheproxy_build_info", gauge, []string{fmt.Sprintf(`{goversion=%q,version="0.0.0-test"}`, runtime.Version())}},
			{"go_goroutines", gauge, none},
			{"go_info", gauge, nil}, // labels: the Go version
			{"process_cpu_seconds_total", counter, none},
			{"process_resident_memory_bytes", gauge, none},
		} {
			mf := mfs[want.name]
			if mf == nil {
				t.Errorf("%s: missing from the scrape", want.name)
				continue
			}
			if mf.GetType() != want.typ {
				t.Errorf("%s: type %v; want %v", want.name, mf.GetType(), want.typ)
			}
			if want.series == nil {
				continue
			}
			var got []string
			for _, m := range mf.GetMetric() {
				got = append(got, labelSet(m.GetLabel()))
			}
			sort.Strings(got)
			if !slices.Equal(got, want.series) {
				t.Errorf("%s: series %q; want %q", want.name, got, want.series)
			}
		}
	})

	t.Run("values", func(t *testing.T) {
		t.Parallel()
		api := func(label, value string) string { return product(label, value)[0] }
		for _, want := range []struct {
			name, labels string
			value        float64
		}{
			{"cacheproxy_cache_requests_total", api("result", "hit"), 1},
			{"cacheproxy_cache_requests_total", api("result", "miss"), 1},
			{"cacheproxy_cache_requests_total", api("result", "revalidated"), 1},
			{"cacheproxy_cache_requests_total", api("result", "stale"), 0},
			{"cacheproxy_cache_requests_total", api("result", "bypass"), 0},
			{"cacheproxy_request_duration_seconds", api("result", "hit"), 1},
			{"cacheproxy_request_duration_seconds", api("result", "revalidated"), 1},
			{"cacheproxy_upstream_request_duration_seconds", route[0], 2}, // the miss and the revalidation
			{"cacheproxy_revalidations_total", api("outcome", "not_modified"), 1},
			{"cacheproxy_revalidations_total", api("outcome", "modified"), 0},
			{"cacheproxy_cache_served_bytes_total", route[0], 10}, // "hello" by the hit and the revalidated answer
			{"cacheproxy_revalidation_saved_bytes_total", route[0], 5},
			{"cacheproxy_upstream_errors_total", api("kind", "status_5xx"), 0},
			{"cacheproxy_cache_capacity_bytes", "{}", capacity},
			{"cacheproxy_cache_entries", "{}", 1},
			{"cacheproxy_cache_insertions_total", "{}", 1},
			{"cacheproxy_build_info", fmt.Sprintf(`{goversion=%q,version="0.0.0-test"}`, runtime.Version()), 1},
		} {
			if got, ok := sample(mfs[want.name], want.labels); !ok || got != want.value {
				t.Errorf("%s%s = %v (present %v); want %v", want.name, want.labels, got, ok, want.value)
			}
		}
		if got, _ := sample(mfs["cacheproxy_cache_bytes"], "{}"); got <= 0 || got > capacity {
			t.Errorf("cacheproxy_cache_bytes = %v; want in (0, %d]", got, capacity)
		}
	})
}
