package compliance

import "net/http"

// HeaderCheck describes one response for CheckHeader.
type HeaderCheck struct {
	Method string // of the request
	Status int
	Header http.Header
	// ExpectETag is set when a 304 answers a request whose validator was
	// an entity-tag (If-None-Match was sent): the 304 must then carry the
	// ETag a 200 would (RFC 9110 §15.4.5).
	ExpectETag bool
}

// CheckHeader returns the header violations of a response:
//   - etag-syntax: an ETag field that is not one entity-tag (RFC 9110
//     §8.8.3: `"..."` or `W/"..."`, etagc characters only),
//   - date-missing: no Date field on a 2xx, 3xx or 4xx (RFC 9110 §6.6.1:
//     an origin with a clock must send it; 1xx and 5xx are exempt),
//   - cache-control-syntax: a Cache-Control that cache.ParseCacheControl
//     marks Invalid, or that contradicts itself (public with private,
//     no-store with max-age or s-maxage),
//   - 304-missing-etag: a 304 without ETag when c.ExpectETag.
//
// 204-content-length and 204-transfer-encoding are the Framer's: Go's
// client drops Transfer-Encoding from the fields it returns.
func CheckHeader(c HeaderCheck) []Violation { panic("TODO") }
