// Package metrics exports cacheproxy's measurements to Prometheus.
//
// Everything is registered on a [prometheus.Registerer] the caller passes in;
// the package keeps no global state and never touches
// prometheus.DefaultRegisterer. [Metrics] implements [proxy.Observer]: the
// handler calls [Metrics.Route] once per route when it is built, and the
// returned observer holds its labelled series already resolved, so a request
// costs a few atomic adds and no label lookup. [NewStoreCollector] reads the
// cache store's counters at scrape time, and [RegisterBuildInfo] exports the
// running version.
//
// The metric names below are stable; dashboards and alerts depend on them.
//
//	cacheproxy_cache_requests_total{route,result}             counter
//	cacheproxy_request_duration_seconds{route,result}         histogram
//	cacheproxy_upstream_request_duration_seconds{route}       histogram
//	cacheproxy_revalidations_total{route,outcome}             counter
//	cacheproxy_collapsed_requests_total{route}                counter
//	cacheproxy_cache_capacity_bytes                           gauge
//	cacheproxy_cache_entries                                  gauge
//	cacheproxy_cache_bytes                                    gauge
//	cacheproxy_cache_evictions_total                          counter
//	cacheproxy_cache_sets_dropped_total                       counter
//	cacheproxy_cache_sets_rejected_total                      counter
//	cacheproxy_build_info{version,goversion}                  gauge
//
// result is one of hit, miss, stale, revalidated, bypass ([proxy.Result]);
// outcome is one of not_modified, modified, error. route is a route name
// from the configuration, never a value taken from a request.
package metrics

import (
	"fmt"
	"runtime"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "cacheproxy"

// DurationBuckets are the classic histogram buckets, in seconds, of both
// request-duration histograms: from 50µs (a hit served from memory) to 10s
// (a slow upstream miss). Native-histogram buckets are exported alongside
// them for scrapers that ask for them.
func DurationBuckets() []float64 {
	return []float64{
		0.00005, 0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	}
}

// numOutcomes is the number of revalidation outcomes; see outcomeIndex.
const numOutcomes = 3

// outcomeIndex returns the index of a proxy.Outcome* value in a
// routeObserver's revalidations, or -1 for any other string.
func outcomeIndex(outcome string) int {
	switch outcome {
	case proxy.OutcomeNotModified:
		return 0
	case proxy.OutcomeModified:
		return 1
	case proxy.OutcomeError:
		return 2
	}
	return -1
}

// Metrics holds the request-path collectors. It implements [proxy.Observer]
// and is safe for concurrent use.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	upstream      *prometheus.HistogramVec
	revalidations *prometheus.CounterVec
	collapsed     *prometheus.CounterVec
	violations    *prometheus.CounterVec
	upstreamErrs  *prometheus.CounterVec
	served        *prometheus.CounterVec
	saved         *prometheus.CounterVec
}

var _ proxy.Observer = (*Metrics)(nil)

// New builds the request-path collectors and registers them on reg. It
// returns an error, and leaves reg as it found it, if any of them cannot be
// registered (for example because New was already called with the same
// reg).
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "cache",
			Name:      "requests_total",
			Help:      "Requests answered, by route and cache result (hit, miss, stale, revalidated, bypass).",
		}, []string{"route", "result"}),
		duration: prometheus.NewHistogramVec(durationOpts(
			"",
			"request_duration_seconds",
			"Time from receiving a request to finishing its response, by route and cache result.",
		), []string{"route", "result"}),
		upstream: prometheus.NewHistogramVec(durationOpts(
			"upstream",
			"request_duration_seconds",
			"Time from sending a request upstream to receiving its response headers, by route.",
		), []string{"route"}),
		revalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "revalidations_total",
			Help:      "Revalidations of stale entries with the upstream, by route and outcome (not_modified, modified, error).",
		}, []string{"route", "outcome"}),
		collapsed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "collapsed_requests_total",
			Help:      "Requests that waited for another request's upstream fetch instead of making their own, by route.",
		}, []string{"route"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "upstream",
			Name:      "violations_total",
			Help:      "Upstream responses that broke an HTTP rule, by route and rule (see docs/compliance.md).",
		}, []string{"route", "rule"}),
		upstreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "upstream",
			Name:      "errors_total",
			Help:      "Failed upstream requests, by route and kind (connect, timeout, reset, status_5xx).",
		}, []string{"route", "kind"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "cache",
			Name:      "served_bytes_total",
			Help:      "Body bytes served from stored responses (hits, stale and revalidated answers), by route.",
		}, []string{"route"}),
		saved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Subsystem: "revalidation",
			Name:      "saved_bytes_total",
			Help:      "Stored body bytes the upstream did not send again because it answered a revalidation with 304, by route.",
		}, []string{"route"}),
	}
	if err := registerAll(reg, m.requests, m.duration, m.upstream, m.revalidations, m.collapsed, m.violations,
		m.upstreamErrs, m.served, m.saved); err != nil {
		return nil, err
	}
	return m, nil
}

// durationOpts returns the options shared by the duration histograms.
func durationOpts(subsystem, name, help string) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Namespace:                       namespace,
		Subsystem:                       subsystem,
		Name:                            name,
		Help:                            help,
		Buckets:                         DurationBuckets(),
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  100,
		NativeHistogramMinResetDuration: time.Hour,
	}
}

// registerAll registers cs on reg, all or none: on the first failure it
// unregisters those it had registered and returns the error.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// Route returns the observer of the route called name. It creates every
// series of the route (each result, outcome, rule and error kind) with value 0, so that
// rates and ratios exist before the first request and dashboards show 0
// rather than no data. Calling it again with the same name returns an
// observer that feeds the same series.
func (m *Metrics) Route(name string) proxy.RouteObserver {
	o := &routeObserver{
		upstream:  m.upstream.WithLabelValues(name),
		collapsed: m.collapsed.WithLabelValues(name),
		served:    m.served.WithLabelValues(name),
		saved:     m.saved.WithLabelValues(name),
	}
	for i, kind := range upstreamErrorKinds() {
		o.upstreamErrs[i] = m.upstreamErrs.WithLabelValues(name, kind)
	}
	for r := range proxy.Result(proxy.NumResults) {
		o.requests[r] = m.requests.WithLabelValues(name, r.String())
		o.duration[r] = m.duration.WithLabelValues(name, r.String())
	}
	for _, oc := range []string{proxy.OutcomeNotModified, proxy.OutcomeModified, proxy.OutcomeError} {
		o.revalidations[outcomeIndex(oc)] = m.revalidations.WithLabelValues(name, oc)
	}
	for _, rule := range compliance.AllRules() {
		o.violations[rule.Index()] = m.violations.WithLabelValues(name, string(rule))
	}
	return o
}

// routeObserver is one route's series, resolved once by Route and indexed
// by proxy.Result and by outcomeIndex. It is safe for concurrent use.
type routeObserver struct {
	requests      [proxy.NumResults]prometheus.Counter
	duration      [proxy.NumResults]prometheus.Observer
	upstream      prometheus.Observer
	revalidations [numOutcomes]prometheus.Counter
	collapsed     prometheus.Counter
	violations    [compliance.NumRules]prometheus.Counter
	upstreamErrs  [4]prometheus.Counter // indexed as upstreamErrorKinds
	served        prometheus.Counter
	saved         prometheus.Counter
}

// upstreamErrorKinds is the closed set of the kind label, in index order.
func upstreamErrorKinds() [4]string {
	return [4]string{proxy.UpstreamErrorConnect, proxy.UpstreamErrorTimeout, proxy.UpstreamErrorReset, proxy.UpstreamErrorStatus5xx}
}

var _ proxy.RouteObserver = (*routeObserver)(nil)

// Request counts one answered request and observes its duration. A Result
// outside 0 … proxy.NumResults-1 is ignored: the result label is a closed
// set.
func (o *routeObserver) Request(result proxy.Result, d time.Duration) {
	if result < 0 || int(result) >= len(o.requests) {
		return
	}
	o.requests[result].Inc()
	o.duration[result].Observe(d.Seconds())
}

// Upstream observes the duration of one upstream round trip.
func (o *routeObserver) Upstream(d time.Duration) {
	o.upstream.Observe(d.Seconds())
}

// Revalidation counts one revalidation. An outcome other than the
// proxy.Outcome* values is ignored: the outcome label is a closed set.
func (o *routeObserver) Revalidation(outcome string) {
	if i := outcomeIndex(outcome); i >= 0 {
		o.revalidations[i].Inc()
	}
}

// Collapsed counts one request that waited on another's upstream fetch.
func (o *routeObserver) Collapsed() {
	o.collapsed.Inc()
}

// UpstreamError counts one failed upstream request. A kind outside the
// proxy.UpstreamError* values is ignored: the kind label is a closed set.
func (o *routeObserver) UpstreamError(kind string) {
	for i, k := range upstreamErrorKinds() {
		if k == kind {
			o.upstreamErrs[i].Inc()
			return
		}
	}
}

// Served counts body bytes served from a stored response.
func (o *routeObserver) Served(n int) { o.served.Add(float64(n)) }

// Saved counts stored body bytes a 304 spared the upstream from sending.
func (o *routeObserver) Saved(n int) { o.saved.Add(float64(n)) }

// Violation counts one upstream response that broke rule. An unknown rule
// is ignored: the rule label is a closed set.
func (o *routeObserver) Violation(rule compliance.Rule) {
	if i := rule.Index(); i >= 0 {
		o.violations[i].Inc()
	}
}

// RegisterBuildInfo registers cacheproxy_build_info{version,goversion}, a
// gauge whose value is always 1, on reg. version is the program's version;
// goversion is the Go release it was built with (runtime.Version).
func RegisterBuildInfo(reg prometheus.Registerer, version string) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "build_info",
		Help:      "A metric with constant value 1, labelled with the version of cacheproxy and of Go it was built with.",
		ConstLabels: prometheus.Labels{
			"version":   version,
			"goversion": runtime.Version(),
		},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register build info: %w", err)
	}
	return nil
}
