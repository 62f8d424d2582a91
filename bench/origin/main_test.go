package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOrigin(t *testing.T) {
	t.Parallel()
	o := newOrigin()
	cases := []struct {
		name, method, path, inm string
		want                    int
		wantLen                 int
	}{
		{"204 with ETag", "GET", "/204", "", 204, 0},
		{"RFC 9110 §13.1.2 204 revalidated", "GET", "/204", `"204-v1"`, 304, 0},
		{"1k", "GET", "/200-1k", "", 200, 1 << 10},
		{"64k", "GET", "/200-64k", "", 200, 64 << 10},
		{"no-store", "GET", "/nocache", "", 200, 1 << 10},
		{"PUT", "PUT", "/anything", "", 204, 0},
		{"unknown", "GET", "/nope", "", 404, -1},
		{"sized body", "GET", "/bytes/100000?k=1", "", 200, 100000},
		{"sized 204", "GET", "/bytes/0", "", 204, 0},
		{"size out of range", "GET", "/bytes/99999999", "", 404, -1},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.inm != "" {
			req.Header.Set("If-None-Match", tc.inm)
		}
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, req)
		if rec.Code != tc.want || (tc.wantLen >= 0 && rec.Body.Len() != tc.wantLen) {
			t.Errorf("%s: %s %s = %d with %d bytes; want %d with %d", tc.name, tc.method, tc.path, rec.Code, rec.Body.Len(), tc.want, tc.wantLen)
		}
	}
	rec := httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_count", nil))
	if got := rec.Body.String(); got != "10\n" {
		t.Errorf("/_count = %q; want 10", got)
	}
}
