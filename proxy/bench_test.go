package proxy

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// BenchmarkMiss measures ServeHTTP on the miss path (a no-store 1 KiB
// response, fetched from a loopback origin every time) with the upstream
// transport inspecting the wire and with a plain http.Transport: the
// difference is what inspection costs.
func BenchmarkMiss(b *testing.B) {
	body := bytes.Repeat([]byte("a"), 1<<10)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	}))
	b.Cleanup(origin.Close)
	u, _ := url.Parse(origin.URL)
	plain := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true, ResponseHeaderTimeout: 30 * time.Second}
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"inspected", NewTransport(TransportOptions{})},
		{"plain", plain},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := New(newMapStore(), Options{
				Routes:    []Route{{Name: "bench", Upstream: u, Policy: defaultPolicy()}},
				Transport: tc.rt,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { h.Close() })
			req := httptest.NewRequest("GET", "http://bench/nocache", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 || w.Body.Len() != len(body) {
					b.Fatalf("got %d with %d bytes", w.Code, w.Body.Len())
				}
			}
		})
	}
}

// BenchmarkHit measures ServeHTTP on the hit path (a stored 204) and on a
// client's conditional request answered 304 from the cache, with a
// writer that keeps its header map between requests and no network: what
// the handler itself costs.
func BenchmarkHit(b *testing.B) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"b"`)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(origin.Close)
	u, _ := url.Parse(origin.URL)
	h, err := New(newMapStore(), Options{Routes: []Route{{Name: "bench", Upstream: u, Policy: defaultPolicy()}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	hit := httptest.NewRequest("GET", "http://bench/204", nil)
	h.ServeHTTP(httptest.NewRecorder(), hit) // store it
	conditional := httptest.NewRequest("GET", "http://bench/204", nil)
	conditional.Header.Set("If-None-Match", `"b"`)
	for _, tc := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"204", hit, http.StatusNoContent},
		{"client-304", conditional, http.StatusNotModified},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, tc.req)
			}
			if w.code != tc.want {
				b.Fatalf("got %d; want %d", w.code, tc.want)
			}
		})
	}
}
