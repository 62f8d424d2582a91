package cache

import (
	"net/http"
	"time"
)

// Policy is the part of a route's configuration that storage and freshness
// decisions depend on.
type Policy struct {
	// DefaultTTL is the freshness lifetime given to a response of a
	// heuristically cacheable, non-error status (200, 203, 204, 300, 301,
	// 308) that has no explicit freshness and no Last-Modified. Zero turns
	// that off.
	DefaultTTL time.Duration
	// MaxHeuristicTTL caps the Last-Modified heuristic (10% of Date minus
	// Last-Modified, RFC 9111 §4.2.2). Zero turns the heuristic off.
	MaxHeuristicTTL time.Duration
	// PerCredential allows storing responses to requests that carry
	// Authorization, as variants that only a request with the same
	// credential may reuse (the entry holds CredentialHash, never the
	// credential).
	PerCredential bool
	// MaxObjectSize is the largest body stored, in bytes. Zero means no
	// limit (the Store's capacity still applies).
	MaxObjectSize int64
}

// Storable reports whether a shared cache may store the response to a GET
// request (RFC 9111 §3): the status is final and understood (not 206, not
// 304, not 1xx); neither request nor response has no-store (unless
// must-understand with an understood status); the response is not private;
// Authorization (§3.5) only when public, s-maxage or must-revalidate allows
// it or p.PerCredential is set; and the response has explicit freshness, a
// validator with a cacheable status, or is heuristically cacheable. Error
// statuses (4xx, 5xx) are stored only with explicit freshness (max-age,
// s-maxage, Expires), never by a default lifetime. Vary: * is storable but
// never reused. A Content-Type of text/event-stream is never stored.
//
// When it reports false, reason is a short token for logs and
// Cache-Status detail ("no-store", "private", "authorization", "status",
// "no-freshness", "vary-star" is NOT a reason: it stores).
func Storable(reqHeader http.Header, reqCC Directives, status int, respHeader http.Header, respCC Directives, p Policy) (ok bool, reason string) {
	panic("TODO")
}
