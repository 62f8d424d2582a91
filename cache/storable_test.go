package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestStorable(t *testing.T) {
	t.Parallel()
	withTTL := Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: time.Hour}
	noTTL := Policy{}
	perCred := Policy{DefaultTTL: time.Minute, PerCredential: true}
	auth := http.Header{"Authorization": {"Bearer t"}}
	tests := []struct {
		name       string
		reqHeader  http.Header
		reqCC      string
		status     int
		respHeader http.Header
		p          Policy
		ok         bool
		reason     string
	}{
		{"§3 200 with max-age", nil, "", 200, http.Header{"Cache-Control": {"max-age=60"}}, noTTL, true, ""},
		{"RFC 9213 §2.1 CDN-Cache-Control no-store wins over Cache-Control max-age", nil, "", 200, http.Header{"Cdn-Cache-Control": {"no-store"}, "Cache-Control": {"max-age=60"}}, withTTL, false, "no-store"},
		{"RFC 9213 §2.1 CDN-Cache-Control private wins over Cache-Control max-age", nil, "", 200, http.Header{"Cdn-Cache-Control": {"private"}, "Cache-Control": {"max-age=60"}}, withTTL, false, "private"},
		{"RFC 9213 §2.1 CDN-Cache-Control max-age wins over Cache-Control no-store", nil, "", 200, http.Header{"Cdn-Cache-Control": {"max-age=60"}, "Cache-Control": {"no-store"}}, noTTL, true, ""},
		{"RFC 9213 §2.1 Expires ignored under CDN-Cache-Control", nil, "", 302, http.Header{"Cdn-Cache-Control": {"must-revalidate"}, "Expires": {"Thu, 01 Jan 2099 00:00:00 GMT"}}, noTTL, false, "no-freshness"},
		{"§3 200 with s-maxage", nil, "", 200, http.Header{"Cache-Control": {"s-maxage=60"}}, noTTL, true, ""},
		{"§3 200 with Expires", nil, "", 200, http.Header{"Expires": {"Thu, 01 Jan 2099 00:00:00 GMT"}}, noTTL, true, ""},
		{"§3 invalid Expires still present (stored stale)", nil, "", 200, http.Header{"Expires": {"0"}}, noTTL, true, ""},
		{"§4.2.2 200 heuristically cacheable by default lifetime", nil, "", 200, http.Header{}, withTTL, true, ""},
		{"RFC 9110 §15.3.5 204 stored by default lifetime", nil, "", 204, http.Header{}, withTTL, true, ""},
		{"§4.2.2 204 with ETag and no lifetime stored to revalidate", nil, "", 204, http.Header{"Etag": {`"v1"`}}, noTTL, true, ""},
		{"§4.2.2 200 with Last-Modified and no lifetime", nil, "", 200, http.Header{"Last-Modified": {"Mon, 01 Jan 2024 00:00:00 GMT"}}, noTTL, true, ""},
		{"§3 200 without freshness or validator", nil, "", 200, http.Header{}, noTTL, false, "no-freshness"},
		{"§3 200 with invalid ETag is no validator", nil, "", 200, http.Header{"Etag": {"v1"}}, noTTL, false, "no-freshness"},
		{"RFC 9110 §15.1 301 heuristically cacheable", nil, "", 301, http.Header{}, withTTL, true, ""},
		{"RFC 9110 §15.1 308 heuristically cacheable", nil, "", 308, http.Header{}, withTTL, true, ""},
		{"RFC 9110 §15.1 302 not heuristically cacheable", nil, "", 302, http.Header{"Etag": {`"a"`}}, withTTL, false, "no-freshness"},
		{"RFC 9110 §15.1 201 not heuristically cacheable", nil, "", 201, http.Header{}, withTTL, false, "no-freshness"},
		{"§3 302 with max-age", nil, "", 302, http.Header{"Cache-Control": {"max-age=60"}}, noTTL, true, ""},
		{"§5.2.2.9 302 with public gets a default lifetime", nil, "", 302, http.Header{"Cache-Control": {"public"}}, withTTL, true, ""},
		{"§3 206 never stored", nil, "", 206, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "status"},
		{"§3 304 never stored", nil, "", 304, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "status"},
		{"§3 1xx is not final", nil, "", 103, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "status"},
		{"§3 status out of range", nil, "", 600, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "status"},
		{"§3 404 without explicit freshness not stored", nil, "", 404, http.Header{"Etag": {`"a"`}}, withTTL, false, "no-freshness"},
		{"§3 404 public without explicit freshness not stored", nil, "", 404, http.Header{"Cache-Control": {"public"}}, withTTL, false, "no-freshness"},
		{"§3 503 without explicit freshness not stored", nil, "", 503, http.Header{}, withTTL, false, "no-freshness"},
		{"§3 404 with max-age stored", nil, "", 404, http.Header{"Cache-Control": {"max-age=10"}}, noTTL, true, ""},
		{"§3 500 with Expires stored", nil, "", 500, http.Header{"Expires": {"Thu, 01 Jan 2099 00:00:00 GMT"}}, noTTL, true, ""},
		{"§5.2.1.5 request no-store", nil, "no-store", 200, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "no-store"},
		{"§5.2.2.5 response no-store", nil, "", 200, http.Header{"Cache-Control": {"no-store, max-age=60"}}, withTTL, false, "no-store"},
		{"§5.2.2.3 must-understand with understood status overrides no-store", nil, "", 200, http.Header{"Cache-Control": {"must-understand, no-store, max-age=60"}}, withTTL, true, ""},
		{"§5.2.2.3 must-understand with unknown status not stored", nil, "", 299, http.Header{"Cache-Control": {"must-understand, no-store, max-age=60"}}, withTTL, false, "status"},
		{"§5.2.2.3 must-understand does not lift request no-store", nil, "no-store", 200, http.Header{"Cache-Control": {"must-understand, no-store, max-age=60"}}, withTTL, false, "no-store"},
		{"§3 unknown final status with max-age", nil, "", 299, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, true, ""},
		{"§5.2.2.7 private", nil, "", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, withTTL, false, "private"},
		{"§5.2.2.7 qualified private stored", nil, "", 200, http.Header{"Cache-Control": {`private="X-User", max-age=60`}}, withTTL, true, ""},
		{"§5.2.2.4 no-cache stored", nil, "", 200, http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"a"`}}, noTTL, true, ""},
		{"§3.5 Authorization not stored", auth, "", 200, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "authorization"},
		{"§3.5 Authorization with public", auth, "", 200, http.Header{"Cache-Control": {"public, max-age=60"}}, withTTL, true, ""},
		{"§3.5 Authorization with s-maxage", auth, "", 200, http.Header{"Cache-Control": {"s-maxage=60"}}, withTTL, true, ""},
		{"§3.5 Authorization with must-revalidate", auth, "", 200, http.Header{"Cache-Control": {"must-revalidate, max-age=60"}}, withTTL, true, ""},
		{"§3.5 Authorization with proxy-revalidate not stored", auth, "", 200, http.Header{"Cache-Control": {"proxy-revalidate, max-age=60"}}, withTTL, false, "authorization"},
		{"§3.5 Authorization with PerCredential", auth, "", 204, http.Header{}, perCred, true, ""},
		{"§3.5 empty Authorization is present", http.Header{"Authorization": {""}}, "", 200, http.Header{"Cache-Control": {"max-age=60"}}, withTTL, false, "authorization"},
		{"§3.5 private wins over PerCredential", auth, "", 200, http.Header{"Cache-Control": {"private"}}, perCred, false, "private"},
		{"§4.1 Vary: * stored", nil, "", 200, http.Header{"Vary": {"*"}, "Cache-Control": {"max-age=60"}}, withTTL, true, ""},
		{"§3 text/event-stream never stored", nil, "", 200, http.Header{"Content-Type": {"Text/Event-Stream; charset=utf-8"}, "Cache-Control": {"max-age=60"}}, withTTL, false, "event-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reqCC := ParseCacheControl([]string{tt.reqCC})
			respCC := ResponseDirectives(tt.respHeader)
			ok, reason := Storable(tt.reqHeader, reqCC, tt.status, tt.respHeader, respCC, tt.p)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("Storable(%v, %q, %d, %v) = %v, %q; want %v, %q", tt.reqHeader, tt.reqCC, tt.status, tt.respHeader, ok, reason, tt.ok, tt.reason)
			}
		})
	}
}
