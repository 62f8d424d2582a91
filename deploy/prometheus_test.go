package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// prometheusDeadline bounds the whole conversation with Prometheus,
	// from its start to the last answer.
	prometheusDeadline = 60 * time.Second
	// pollInterval is the pause between two questions to Prometheus, an
	// external process with nothing to synchronize on but its HTTP API.
	pollInterval = 100 * time.Millisecond
)

// prometheusServer is a Prometheus server this test started.
type prometheusServer struct {
	base   string        // http://127.0.0.1:port
	client *http.Client  // for its API
	exited chan struct{} // closed when the process has exited
	log    string        // path of its output
}

// startPrometheus starts bin on a free loopback port with its storage in a
// temporary directory, scraping target's /metrics and evaluating rules.yml
// every second. It is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: cacheproxy
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	p := &prometheusServer{base: "http://" + addr, client: &http.Client{}, exited: make(chan struct{}), log: logPath}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("prometheus output:\n%s", out)
		}
	})
	return p
}

// freeLoopbackAddr returns 127.0.0.1:port for a port free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// promSample is one element of an instant vector.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// get decodes the data of a successful API answer to path into data.
func (p *prometheusServer) get(ctx context.Context, path string, data any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var envelope struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("GET %s: %d %q: %w", path, resp.StatusCode, body, err)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, envelope.Status, envelope.Error)
	}
	return json.Unmarshal(envelope.Data, data)
}

// query evaluates the instant query q now.
func (p *prometheusServer) query(ctx context.Context, q string) ([]promSample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(q), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q; want vector", q, data.ResultType)
	}
	out := make([]promSample, len(data.Result))
	for i, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", q, r.Value, err)
		}
		out[i] = promSample{r.Metric, v}
	}
	return out, nil
}

// waitFor asks Prometheus until ok accepts an answer and returns that
// answer; it fails the test when ctx ends or Prometheus exits first.
func waitFor[T any](ctx context.Context, t *testing.T, p *prometheusServer, what string, ask func(context.Context) (T, error), ok func(T) bool) T {
	t.Helper()
	for {
		got, err := ask(ctx)
		if err == nil && ok(got) {
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; last answer %+v, error %v", what, ctx.Err(), got, err)
		case <-p.exited:
			t.Fatalf("waiting for %s: prometheus exited", what)
		case <-time.After(pollInterval):
		}
	}
}

// waitForQuery is waitFor for an instant query.
func (p *prometheusServer) waitForQuery(ctx context.Context, t *testing.T, q string, ok func([]promSample) bool) []promSample {
	t.Helper()
	return waitFor(ctx, t, p, q, func(ctx context.Context) ([]promSample, error) { return p.query(ctx, q) }, ok)
}

// one accepts an answer of exactly one sample that ok accepts.
func one(ok func(float64) bool) func([]promSample) bool {
	return func(s []promSample) bool { return len(s) == 1 && ok(s[0].Value) }
}

func TestRealPrometheus(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "prometheus")
	start := time.Now()

	// The traffic: 10 paths each missed once then hit 3 times, 10 misses
	// on a failing path, and 10 POSTs (bypass). Hit ratio 30/(30+20) = 0.6;
	// bypass is not cacheable and does not count.
	const (
		paths, hitsPerPath, failures, posts = 10, 3, 10, 10
		wantHitRatio                        = 0.6
		tolerance                           = 0.05
	)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/down":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Cache-Control", "max-age=300")
			io.WriteString(w, "ok "+r.URL.Path)
		}
	}))
	t.Cleanup(origin.Close)
	g := newGraph(t, origin.URL, nil)
	p := startPrometheus(t, bin, g.admin.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(t.Context(), prometheusDeadline)
	defer cancel()
	const series = `cacheproxy_cache_requests_total{job="cacheproxy",route="api"}`

	// Prometheus scrapes the proxy before any traffic: every series starts
	// at 0, so rate() over the whole (short) history is exact.
	p.waitForQuery(ctx, t, "count("+series+")", one(func(v float64) bool { return v == 5 }))

	for i := range paths {
		path := fmt.Sprintf("/items/%d", i)
		for j := range 1 + hitsPerPath {
			want := "; hit"
			if j == 0 {
				want = "fwd=uri-miss"
			}
			if _, cs := g.do(t, "GET", path); !strings.Contains(cs, want) {
				t.Fatalf("GET %s #%d: Cache-Status %q; want %q in it", path, j+1, cs, want)
			}
		}
	}
	for range failures {
		if code, _ := g.do(t, "GET", "/down"); code != http.StatusServiceUnavailable {
			t.Fatalf("GET /down = %d; want 503", code)
		}
	}
	for range posts {
		if code, _ := g.do(t, "POST", "/submit"); code != http.StatusNoContent {
			t.Fatalf("POST /submit = %d; want 204", code)
		}
	}
	total := float64(paths*(1+hitsPerPath) + failures + posts)

	// A scrape has seen all of it; then the rules were evaluated after it.
	p.waitForQuery(ctx, t, "sum("+series+")", one(func(v float64) bool { return v == total }))
	scraped := p.waitForQuery(ctx, t, "max(timestamp("+series+"))", one(func(float64) bool { return true }))[0].Value
	p.waitForQuery(ctx, t, `timestamp(route:cacheproxy_hit_ratio:rate5m{job="cacheproxy",route="api"})`,
		one(func(v float64) bool { return v > scraped }))

	// What the proxy itself counted, for the upstream error ratio.
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var errs, roundTrips float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "cacheproxy_upstream_errors_total":
				errs += m.GetCounter().GetValue()
			case "cacheproxy_upstream_request_duration_seconds":
				roundTrips += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Logf("the proxy counted %v upstream errors in %v upstream round trips", errs, roundTrips)
	if errs != failures {
		t.Errorf("cacheproxy_upstream_errors_total = %v; want %d (the 503s)", errs, failures)
	}

	for _, c := range []struct {
		query string
		want  float64
	}{
		{`route:cacheproxy_hit_ratio:rate5m{job="cacheproxy",route="api"}`, wantHitRatio},
		{`route:cacheproxy_upstream_error_ratio:rate5m{job="cacheproxy",route="api"}`, errs / roundTrips},
	} {
		got, err := p.query(ctx, c.query)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || math.Abs(got[0].Value-c.want) > tolerance {
			t.Errorf("%s = %+v; want one sample %.3f ± %.2f", c.query, got, c.want, tolerance)
		}
	}
	for _, c := range []struct {
		query string
		n     int
		ok    func(float64) bool
	}{
		{`route_result:cacheproxy_cache_requests:rate5m{job="cacheproxy",route="api"}`, 5, func(v float64) bool { return v >= 0 }},
		{`route_rule:cacheproxy_upstream_violations:rate5m{job="cacheproxy",route="api"}`, 10, func(v float64) bool { return v == 0 }},
		{`instance:cacheproxy_cache_utilization:ratio{job="cacheproxy"}`, 1, func(v float64) bool { return v > 0 && v < 1 }},
	} {
		got, err := p.query(ctx, c.query)
		if err != nil {
			t.Fatal(err)
		}
		ok := len(got) == c.n
		for _, s := range got {
			ok = ok && c.ok(s.Value)
		}
		if !ok {
			t.Errorf("%s = %+v; want %d samples in range", c.query, got, c.n)
		}
	}

	// Every rule of rules.yml is loaded and evaluates without error.
	type promRules struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	var want []string
	for _, r := range readRules(t) {
		want = append(want, r.name)
	}
	slices.Sort(want)
	waitFor(ctx, t, p, "every rule evaluated", func(ctx context.Context) (promRules, error) {
		var rs promRules
		return rs, p.get(ctx, "/api/v1/rules", &rs)
	}, func(rs promRules) bool {
		var healthy []string
		for _, g := range rs.Groups {
			for _, r := range g.Rules {
				if r.Health == "ok" && r.LastError == "" {
					healthy = append(healthy, r.Name)
				}
			}
		}
		slices.Sort(healthy)
		return slices.Equal(healthy, want)
	})

	// Half the upstream requests failed: CacheproxyUpstreamErrors is
	// pending for route api (it would fire after 5m).
	type promAlerts struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	waitFor(ctx, t, p, "CacheproxyUpstreamErrors pending", func(ctx context.Context) (promAlerts, error) {
		var as promAlerts
		return as, p.get(ctx, "/api/v1/alerts", &as)
	}, func(as promAlerts) bool {
		for _, a := range as.Alerts {
			if a.Labels["alertname"] == "CacheproxyUpstreamErrors" && a.Labels["route"] == "api" && a.State == "pending" {
				return true
			}
		}
		return false
	})
	t.Logf("Prometheus started, scraped and evaluated the rules in %v", time.Since(start).Round(time.Millisecond))
}
