package proxy

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// Mode selects how requests name their upstream.
type Mode string

const (
	// Reverse: the proxy stands in front of configured upstreams; requests
	// are routed by host and path prefix.
	Reverse Mode = "reverse"
	// Forward: clients set HTTP_PROXY; requests arrive in absolute form and
	// name their own origin; CONNECT is tunnelled, never cached.
	Forward Mode = "forward"
)

// Route is one reverse-mode route: which requests it takes, where they go,
// and the cache policy for them.
type Route struct {
	// Name labels the route's metrics and logs. Required, unique.
	Name string
	// Host matches the request's host, case-insensitively, port ignored.
	// "" matches any host; a leading "*." matches any subdomain.
	Host string
	// PathPrefix matches the request path at a segment boundary: "/api"
	// takes "/api" and "/api/x", not "/apix". "" means "/".
	PathPrefix string
	// Upstream is the origin requests are sent to (scheme and host, and a
	// path prefix that is joined in front of the request path). Required
	// in reverse mode.
	Upstream *url.URL
	// Policy is the route's cache policy.
	Policy cache.Policy
	// Compliance says what to do with upstream responses that break an
	// HTTP rule. The zero value repairs every violation.
	Compliance CompliancePolicy
}

// Action is what the proxy does with a response that breaks a rule.
type Action int

const (
	// Repair strips what is forbidden (a stray body, a Content-Length on
	// a 204, an invalid ETag), never reuses the connection when its
	// framing is in doubt, forwards the response and counts it.
	Repair Action = iota
	// Reject answers 502 with Cache-Status detail=<rule> instead, never
	// storing the response, and counts it.
	Reject
)

// String returns "repair" or "reject".
func (a Action) String() string {
	if a == Reject {
		return "reject"
	}
	return "repair"
}

// CompliancePolicy chooses the Action for each rule: Rules first, then the
// rule's severity. The zero value repairs everything.
type CompliancePolicy struct {
	Framing Action // for rules of severity framing
	Header  Action // for rules of severity header
	// Rules overrides the action of single rules. Nil means none.
	Rules map[compliance.Rule]Action
}

// Action returns the action for rule r.
func (p CompliancePolicy) Action(r compliance.Rule) Action {
	if a, ok := p.Rules[r]; ok {
		return a
	}
	if r.Severity() == compliance.Framing {
		return p.Framing
	}
	return p.Header
}

// Store is the subset of *cache.Store the handler needs. Get must not
// keep its key argument beyond the call: the handler passes a view of a
// buffer it reuses.
type Store interface {
	Get(key string) (*cache.Resource, bool)
	Set(key string, r *cache.Resource, ttl time.Duration) bool
	Delete(key string)
}

// Result classifies how a request was answered, for metrics. The set is
// closed: dashboards depend on it.
type Result int

const (
	ResultHit         Result = iota // served from cache without contacting upstream
	ResultMiss                      // fetched from upstream (stored or not)
	ResultStale                     // stale entry served (max-stale, stale-while-revalidate, stale-if-error)
	ResultRevalidated               // stale entry validated by upstream (304) and served
	ResultBypass                    // not a cacheable request (method, Range, Upgrade, CONNECT)

	// NumResults is the number of Result values: they are 0 … NumResults-1.
	NumResults = iota
)

func (r Result) String() string {
	switch r {
	case ResultHit:
		return "hit"
	case ResultMiss:
		return "miss"
	case ResultStale:
		return "stale"
	case ResultRevalidated:
		return "revalidated"
	case ResultBypass:
		return "bypass"
	}
	return "unknown"
}

// Revalidation outcomes, for metrics.
const (
	OutcomeNotModified = "not_modified"
	OutcomeModified    = "modified"
	OutcomeError       = "error"
)

// Observer receives what the handler measures. Route is called once per
// route when the handler is built, so an implementation resolves its
// labelled children once, never per request. Implementations must be safe
// for concurrent use.
type Observer interface {
	Route(name string) RouteObserver
}

// RouteObserver receives one route's measurements.
type RouteObserver interface {
	// Request is called once per request the route answered.
	Request(result Result, d time.Duration)
	// Upstream is called once per upstream round trip (to headers).
	Upstream(d time.Duration)
	// Revalidation is called once per revalidation of a stale entry with
	// one of the Outcome* values.
	Revalidation(outcome string)
	// Collapsed is called for each request that waited on another's
	// upstream fetch instead of making its own.
	Collapsed()
	// Violation is called once per upstream response per rule it broke.
	Violation(rule compliance.Rule)
	// UpstreamError is called once per failed upstream request with one of
	// the UpstreamError* kinds.
	UpstreamError(kind string)
	// Served is called with the body bytes of each response served from a
	// stored entry (hits, stale and revalidated answers; not 304s).
	Served(bytes int)
	// Saved is called with the stored body bytes an upstream did not send
	// again because it answered a revalidation with 304.
	Saved(bytes int)
}

// Upstream error kinds, for metrics.
const (
	UpstreamErrorConnect   = "connect"    // no connection could be made
	UpstreamErrorTimeout   = "timeout"    // no answer in time
	UpstreamErrorReset     = "reset"      // the connection broke mid-exchange
	UpstreamErrorStatus5xx = "status_5xx" // the upstream answered 5xx
)

// ForwardOptions configures forward mode.
type ForwardOptions struct {
	// AllowClients lists the client networks allowed to use the proxy.
	// Empty means loopback only (127.0.0.0/8 and ::1/128).
	AllowClients []netip.Prefix
	// ConnectPorts lists the ports CONNECT may reach. Empty means 443 only.
	ConnectPorts []int
	// DialTimeout bounds dialling a CONNECT target. Zero means 10s.
	DialTimeout time.Duration
	// Policy is the cache policy of forwarded requests (route "forward").
	Policy cache.Policy
	// Compliance is what to do with responses that break an HTTP rule.
	Compliance CompliancePolicy
}

// Options configures a Handler. Every field is optional.
type Options struct {
	// Mode is Reverse (the zero value means Reverse) or Forward.
	Mode Mode
	// Routes are the reverse-mode routes; at least one is required in
	// reverse mode. The most specific match wins: a host match before any
	// host, then the longest path prefix.
	Routes []Route
	// Forward configures forward mode.
	Forward ForwardOptions
	// Transport sends upstream requests. Nil means NewTransport with zero
	// TransportOptions (never http.DefaultTransport).
	Transport http.RoundTripper
	// Observer receives metrics. Nil means none.
	Observer Observer
	// Logger receives the handler's logs. Nil means discard.
	Logger *slog.Logger
	// AccessLog, when not nil, receives one Info line per request: route,
	// method, path, status, cache (the Result), bytes, duration, upstream
	// (time waiting for upstream response headers) and client.
	AccessLog *slog.Logger
	// Name identifies the proxy in Cache-Status and Via. "" means
	// "cacheproxy".
	Name string
	// FillTimeout bounds an upstream fetch that fills the cache (collapsed
	// misses and revalidations run on a context no single client
	// controls). Zero means 60s.
	FillTimeout time.Duration
	// StaleRetention is how long a stale entry with a validator is kept for
	// revalidation after its freshness (and stale-* windows) end. Zero
	// means 1h.
	StaleRetention time.Duration
	// UncacheableTTL is how long a URL whose answer could not be stored
	// (no-store, private, too large, ...) is remembered as such: its
	// requests then go upstream at once rather than collapse onto one
	// fetch whose answer they could not share anyway (Varnish's
	// hit-for-miss). A storable answer replaces the marker. Zero means
	// 10s.
	UncacheableTTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Evidence is how many recent violating exchanges are kept per route
	// for ViolationsHandler. Zero means 32; negative keeps none.
	Evidence int
	// ViolationLogInterval rate-limits violation logs: at most one line
	// per route and rule per interval, counting those suppressed. Zero
	// means 10s.
	ViolationLogInterval time.Duration
}

// TransportOptions configures NewTransport.
type TransportOptions struct {
	// DialTimeout bounds connecting to an upstream. Zero means 5s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds waiting for an upstream's response
	// headers. Zero means 30s.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes idle upstream connections. Zero means 90s.
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost is the idle connections kept per upstream. Zero
	// means 256 (http.Transport's default of 2 churns connections under
	// load).
	MaxIdleConnsPerHost int
}
