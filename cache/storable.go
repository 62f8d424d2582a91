package cache

import (
	"net/http"
	"strings"
	"time"
)

// Policy is the part of a route's configuration that storage and freshness
// decisions depend on.
type Policy struct {
	// DefaultTTL is the freshness lifetime given to a response of a
	// heuristically cacheable, non-error status (200, 203, 204, 300, 301,
	// 308) that has no explicit freshness and no Last-Modified the
	// heuristic can use (absent, not before Date, or MaxHeuristicTTL
	// zero). Zero turns that off.
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
// "no-freshness", "event-stream"; "vary-star" is NOT a reason: it stores).
//
// In detail: must-understand lifts the response's no-store only (never the
// request's), and with a status this cache does not understand the
// response is not stored (§5.2.2.3). A "cacheable status" is one that is
// heuristically cacheable (200, 203, 204, 300, 301, 308), or any non-error
// status with public; such a response is stored when it gets a lifetime
// (p.DefaultTTL, Last-Modified) or has a validator (ETag, Last-Modified)
// to revalidate with.
func Storable(reqHeader http.Header, reqCC Directives, status int, respHeader http.Header, respCC Directives, p Policy) (ok bool, reason string) {
	if status < 200 || status > 599 || status == http.StatusPartialContent || status == http.StatusNotModified {
		return false, "status"
	}
	if reqCC.NoStore {
		return false, "no-store"
	}
	if respCC.MustUnderstand {
		if !understoodStatus(status) {
			return false, "status"
		}
	} else if respCC.NoStore {
		return false, "no-store"
	}
	if respCC.Private {
		return false, "private"
	}
	if len(reqHeader.Values("Authorization")) > 0 && !p.PerCredential &&
		!respCC.Public && respCC.SMaxAge == Absent && !respCC.MustRevalidate {
		return false, "authorization"
	}
	if isEventStream(respHeader.Get("Content-Type")) {
		return false, "event-stream"
	}
	if respCC.MaxAge != Absent || respCC.SMaxAge != Absent || (!respCC.Targeted && len(respHeader.Values("Expires")) > 0) {
		return true, ""
	}
	if !heuristicStatus(status, respCC) {
		return false, "no-freshness"
	}
	if p.DefaultTTL > 0 || hasValidator(respHeader) {
		return true, ""
	}
	return false, "no-freshness"
}

// heuristicStatus reports whether a response of status without explicit
// freshness may get a heuristic or default lifetime: a heuristically
// cacheable non-error status (RFC 9110 §15.1), or any non-error status
// marked public (RFC 9111 §4.2.2).
func heuristicStatus(status int, cc Directives) bool {
	switch status {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent,
		http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusPermanentRedirect:
		return true
	}
	return cc.Public && status >= 200 && status < 400
}

// understoodStatus reports whether this cache understands the caching
// requirements of status (RFC 9111 §5.2.2.3): the final status codes of
// RFC 9110 §15 other than 206 and 304, which it never stores.
func understoodStatus(status int) bool {
	switch status {
	case 200, 201, 202, 203, 204, 205,
		300, 301, 302, 303, 307, 308,
		400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412,
		413, 414, 415, 416, 417, 421, 422, 426,
		500, 501, 502, 503, 504, 505:
		return true
	}
	return false
}

// hasValidator reports whether h carries a valid ETag or Last-Modified.
func hasValidator(h http.Header) bool {
	if _, ok := ParseETag(h.Get("ETag")); ok {
		return true
	}
	_, ok := ParseHTTPDate(h.Get("Last-Modified"))
	return ok
}

// isEventStream reports whether the media type of content type ct is
// text/event-stream.
func isEventStream(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.EqualFold(trimOWS(ct), "text/event-stream")
}
