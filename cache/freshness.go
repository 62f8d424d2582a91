package cache

import (
	"net/http"
	"time"
)

// FreshnessLifetime computes a response's freshness lifetime for a shared
// cache (RFC 9111 §4.2.1): s-maxage, then max-age, then Expires minus Date
// (an invalid Expires means already expired), then heuristics (§4.2.2):
// 10% of Date minus Last-Modified capped at p.MaxHeuristicTTL, else
// p.DefaultTTL, for heuristically cacheable non-error statuses (200, 203,
// 204, 300, 301, 308), or any status (but error statuses) marked public.
// date is the response's Date (the response time when it had none).
func FreshnessLifetime(status int, h http.Header, cc Directives, date time.Time, p Policy) time.Duration {
	panic("TODO")
}

// Use says how a stored response may be used for a request.
type Use int

const (
	// UseFresh: the entry is fresh for this request; serve it.
	UseFresh Use = iota
	// UseStale: stale, but the request's max-stale accepts it and nothing
	// forbids serving stale; serve it.
	UseStale
	// UseStaleWhileRevalidate: stale within the response's
	// stale-while-revalidate window; serve it and refresh in the background.
	UseStaleWhileRevalidate
	// UseValidate: the entry must be validated with the origin before use
	// (stale, or no-cache in the request or response, or the request's
	// max-age/min-fresh not met).
	UseValidate
)

func (u Use) String() string { panic("TODO") }

// Decide says how e may be used for a request with directives req at now
// (RFC 9111 §4, §4.2.4, §5.2.1, §5.2.2; RFC 5861 §3). must-revalidate,
// proxy-revalidate and s-maxage forbid any stale use. Request no-cache (or
// Pragma: no-cache handled by the caller) forces UseValidate.
func Decide(e *Entry, req Directives, now time.Time) Use { panic("TODO") }

// StaleIfError reports whether e, now stale, may be served because the
// origin failed (5xx or no connection): the response's stale-if-error or
// the request's stale-if-error covers its staleness (RFC 5861 §4), and
// must-revalidate, proxy-revalidate and s-maxage do not forbid it.
func StaleIfError(e *Entry, req Directives, now time.Time) bool { panic("TODO") }
