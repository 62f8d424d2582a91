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
//
// Of several Expires lines the first is used (§4.2.1). A Last-Modified that
// is not before date is unusable and p.DefaultTTL applies instead. Results
// never exceed 2^31 seconds (§1.2.2).
func FreshnessLifetime(status int, h http.Header, cc Directives, date time.Time, p Policy) time.Duration {
	if cc.SMaxAge != Absent {
		return cc.SMaxAge
	}
	if cc.MaxAge != Absent {
		return cc.MaxAge
	}
	if v := h.Values("Expires"); len(v) > 0 && !cc.Targeted {
		expires, ok := ParseHTTPDate(v[0])
		if !ok {
			return 0
		}
		return min(max(expires.Sub(date), 0), maxDelta)
	}
	if !heuristicStatus(status, cc) {
		return 0
	}
	if p.MaxHeuristicTTL > 0 {
		lm, ok := ParseHTTPDate(h.Get("Last-Modified"))
		if ok && lm.Before(date) {
			return min(date.Sub(lm)/10, p.MaxHeuristicTTL, maxDelta)
		}
	}
	return min(max(p.DefaultTTL, 0), maxDelta)
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

// String returns "fresh", "stale", "stale-while-revalidate" or "validate".
func (u Use) String() string {
	switch u {
	case UseFresh:
		return "fresh"
	case UseStale:
		return "stale"
	case UseStaleWhileRevalidate:
		return "stale-while-revalidate"
	case UseValidate:
		return "validate"
	}
	return "unknown"
}

// Decide says how e may be used for a request with directives req at now
// (RFC 9111 §4, §4.2.4, §5.2.1, §5.2.2; RFC 5861 §3). must-revalidate,
// proxy-revalidate and s-maxage forbid any stale use. Request no-cache (or
// Pragma: no-cache handled by the caller) forces UseValidate.
//
// In order: no-cache (request or unqualified in the response) validates;
// an age above the request's max-age validates (§5.2.1.1); a fresh entry
// (lifetime > current age) is served unless the request's min-fresh wants
// more remaining freshness (§5.2.1.3). A stale entry validates when stale
// use is forbidden, or the request has min-fresh, or max-age without
// max-stale (the client does not want stale); otherwise the response's
// stale-while-revalidate window is tried first, then the request's
// max-stale (§5.2.1.2). Windows include their bound.
func Decide(e *Entry, req Directives, now time.Time) Use {
	if e.CC.NoCache || req.NoCache {
		return UseValidate
	}
	age := e.CurrentAge(now)
	if req.MaxAge != Absent && age > req.MaxAge {
		return UseValidate
	}
	ttl := e.Lifetime - age
	if ttl > 0 {
		if req.MinFresh != Absent && ttl < req.MinFresh {
			return UseValidate
		}
		return UseFresh
	}
	if forbidsStale(e.CC) || req.MinFresh != Absent || req.MaxAge != Absent && req.MaxStale == Absent {
		return UseValidate
	}
	staleness := -ttl
	if e.CC.StaleWhileRevalidate != Absent && staleness <= e.CC.StaleWhileRevalidate {
		return UseStaleWhileRevalidate
	}
	if req.MaxStale != Absent && staleness <= req.MaxStale {
		return UseStale
	}
	return UseValidate
}

// StaleIfError reports whether e, now stale, may be served because the
// origin failed (5xx or no connection): the response's stale-if-error or
// the request's stale-if-error covers its staleness (RFC 5861 §4), and
// must-revalidate, proxy-revalidate and s-maxage do not forbid it.
//
// An unqualified no-cache in the response forbids it too (RFC 9111
// §4.2.4). A fresh entry counts as staleness 0.
func StaleIfError(e *Entry, req Directives, now time.Time) bool {
	if forbidsStale(e.CC) || e.CC.NoCache {
		return false
	}
	staleness := max(-e.TTL(now), 0)
	return e.CC.StaleIfError != Absent && staleness <= e.CC.StaleIfError ||
		req.StaleIfError != Absent && staleness <= req.StaleIfError
}

// forbidsStale reports whether response directives cc forbid a shared
// cache to serve the response stale (§5.2.2.2, §5.2.2.8, §5.2.2.10).
func forbidsStale(cc Directives) bool {
	return cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge != Absent
}
