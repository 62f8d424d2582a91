package main

import (
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// statusPageHTML is the status page: static markup, CSS and script, no
// data. Its script fetches status.json and renders it with textContent
// only. Each "{{nonce}}" is replaced per response by the nonce that the
// Content-Security-Policy allows.
//
//go:embed status.html
var statusPageHTML string

// statusEvidenceMax is how many recent violating exchanges status.json
// shows per route.
const statusEvidenceMax = 5

// The families status.json reads, by name (metrics package doc).
const (
	familyRequests      = "cacheproxy_cache_requests_total"
	familyRevalidations = "cacheproxy_revalidations_total"
	familyViolations    = "cacheproxy_upstream_violations_total"
	familyCacheBytes    = "cacheproxy_cache_bytes"
	familyCacheCapacity = "cacheproxy_cache_capacity_bytes"
	familyCacheEntries  = "cacheproxy_cache_entries"
)

// newStatusHandler returns the admin status page's handler:
//
//   - GET /: one self-contained HTML page (no external assets; a
//     Content-Security-Policy forbids loading any) that fetches
//     status.json every 2 s and shows, per route, the request rate and
//     total by cache result, the hit ratio, revalidation outcomes,
//     violations by rule with the most recent evidence, and the cache's
//     size against its capacity.
//
//   - GET /status.json: what the page renders (statusSnapshot), read
//     from g and evidence at request time.
//
// Every figure comes from g's families (cacheproxy_cache_requests_total,
// cacheproxy_revalidations_total, cacheproxy_upstream_violations_total,
// cacheproxy_cache_bytes, cacheproxy_cache_capacity_bytes,
// cacheproxy_cache_entries); nothing a client sends selects a label.
// evidence is usually (*proxy.Handler).Evidence; nil means none.
func newStatusHandler(g prometheus.Gatherer, evidence func() map[string][]proxy.Evidence) http.Handler {
	return (&statusPage{g: g, evidence: evidence, now: time.Now}).handler()
}

// statusPage builds the status page's data. It is safe for concurrent use
// if g, evidence and now are.
type statusPage struct {
	g        prometheus.Gatherer
	evidence func() map[string][]proxy.Evidence
	now      func() time.Time
}

func (p *statusPage) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.serveHTML)
	mux.HandleFunc("GET /status.json", p.serveJSON)
	return mux
}

// statusSnapshot is the document GET /status.json serves.
type statusSnapshot struct {
	// Time is when the figures were read, to the millisecond; the page
	// divides counter differences by differences of Time to get rates.
	Time time.Time `json:"time"`
	// Routes holds every route that has series in the registry or
	// evidence, by route name.
	Routes map[string]*statusRoute `json:"routes"`
	// Cache is null when the registry has no cache store collector.
	Cache *statusCache `json:"cache"`
	// Error is set when gathering failed in part; the figures then show
	// what could be read.
	Error string `json:"error,omitempty"`
}

// statusRoute is one route's figures: counter totals since the process
// started.
type statusRoute struct {
	// Requests is keyed by result: hit, miss, stale, revalidated, bypass.
	Requests map[string]float64 `json:"requests"`
	// HitRatio is (hit+stale+revalidated) / (all results but bypass), in
	// [0, 1]; null before the first such request.
	HitRatio *float64 `json:"hit_ratio"`
	// Revalidations is keyed by outcome: not_modified, modified, error.
	Revalidations map[string]float64 `json:"revalidations"`
	// Violations is keyed by rule; rules never broken are left out.
	Violations map[string]float64 `json:"violations"`
	// Evidence is the most recent violating exchanges, newest first, at
	// most statusEvidenceMax.
	Evidence []proxy.Evidence `json:"evidence"`
}

// statusCache is the cache store's occupancy.
type statusCache struct {
	Bytes    float64 `json:"bytes"`
	Capacity float64 `json:"capacity"`
	Entries  float64 `json:"entries"`
}

// snapshot reads the figures now.
func (p *statusPage) snapshot() *statusSnapshot {
	s := &statusSnapshot{
		Time:   p.now().UTC().Truncate(time.Millisecond),
		Routes: make(map[string]*statusRoute),
	}
	mfs, err := p.g.Gather()
	if err != nil {
		s.Error = "gathering metrics: " + err.Error()
	}
	var cache statusCache
	var haveCache bool
	for _, mf := range mfs {
		switch mf.GetName() {
		case familyRequests:
			s.addCounters(mf, "result", func(r *statusRoute) map[string]float64 { return r.Requests })
		case familyRevalidations:
			s.addCounters(mf, "outcome", func(r *statusRoute) map[string]float64 { return r.Revalidations })
		case familyViolations:
			s.addCounters(mf, "rule", func(r *statusRoute) map[string]float64 { return r.Violations })
		case familyCacheBytes:
			cache.Bytes, haveCache = gaugeValue(mf), true
		case familyCacheCapacity:
			cache.Capacity, haveCache = gaugeValue(mf), true
		case familyCacheEntries:
			cache.Entries, haveCache = gaugeValue(mf), true
		}
	}
	if haveCache {
		s.Cache = &cache
	}
	if p.evidence != nil {
		for name, es := range p.evidence() {
			r := s.route(name)
			for i := len(es) - 1; i >= 0 && len(r.Evidence) < statusEvidenceMax; i-- {
				r.Evidence = append(r.Evidence, es[i])
			}
		}
	}
	for _, r := range s.Routes {
		maps.DeleteFunc(r.Violations, func(_ string, n float64) bool { return n <= 0 })
		r.HitRatio = hitRatio(r.Requests)
	}
	return s
}

// route returns the entry of the route called name, creating it with
// every result and outcome at 0.
func (s *statusSnapshot) route(name string) *statusRoute {
	if r, ok := s.Routes[name]; ok {
		return r
	}
	r := &statusRoute{
		Requests:      make(map[string]float64, proxy.NumResults),
		Revalidations: make(map[string]float64, 3),
		Violations:    make(map[string]float64),
		Evidence:      []proxy.Evidence{},
	}
	for res := range proxy.Result(proxy.NumResults) {
		r.Requests[res.String()] = 0
	}
	for _, oc := range []string{proxy.OutcomeNotModified, proxy.OutcomeModified, proxy.OutcomeError} {
		r.Revalidations[oc] = 0
	}
	s.Routes[name] = r
	return r
}

// addCounters adds each series of the counter family mf to the map that
// pick selects in its route's entry, keyed by the value of label key.
// Series without a route label are skipped.
func (s *statusSnapshot) addCounters(mf *dto.MetricFamily, key string, pick func(*statusRoute) map[string]float64) {
	for _, m := range mf.GetMetric() {
		route, ok := labelValue(m, "route")
		if !ok {
			continue
		}
		k, ok := labelValue(m, key)
		if !ok {
			continue
		}
		pick(s.route(route))[k] += finite(m.GetCounter().GetValue())
	}
}

// hitRatio returns the share of requests answered from the cache among
// those that could be: (hit + stale + revalidated) / every result but
// bypass. It is nil when there were none.
func hitRatio(requests map[string]float64) *float64 {
	var served, all float64
	for result, n := range requests {
		switch result {
		case proxy.ResultBypass.String():
			continue
		case proxy.ResultHit.String(), proxy.ResultStale.String(), proxy.ResultRevalidated.String():
			served += n
		}
		all += n
	}
	if all <= 0 {
		return nil
	}
	r := served / all
	return &r
}

// labelValue returns the value of m's label called name.
func labelValue(m *dto.Metric, name string) (string, bool) {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue(), true
		}
	}
	return "", false
}

// gaugeValue returns the value of the single-series gauge family mf, 0 if
// it has none.
func gaugeValue(mf *dto.MetricFamily) float64 {
	var v float64
	for _, m := range mf.GetMetric() {
		v += finite(m.GetGauge().GetValue())
	}
	return v
}

// finite returns v, or 0 if v is NaN or infinite (JSON has neither).
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func (p *statusPage) serveJSON(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(p.snapshot())
	if err != nil {
		http.Error(w, "encoding status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(append(body, '\n'))
}

// statusCSP is the page's Content-Security-Policy for nonce: nothing may
// be loaded from anywhere but the page's own origin's status.json, and
// only the page's own inline style and script (those carrying nonce) run.
func statusCSP(nonce string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"connect-src 'self'",
		"img-src data:",
		"script-src 'nonce-" + nonce + "'",
		"style-src 'nonce-" + nonce + "'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (p *statusPage) serveHTML(w http.ResponseWriter, r *http.Request) {
	nonce := rand.Text() // base32: safe in the header and in an attribute
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", statusCSP(nonce))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write([]byte(strings.ReplaceAll(statusPageHTML, "{{nonce}}", nonce)))
}
