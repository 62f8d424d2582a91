package proxy

import (
	"bufio"
	"bytes"
	"net"
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

// storedHitHandler returns a Handler with route "bench" whose store holds
// http://bench/204, a 204 with ETag "b", from a loopback origin.
func storedHitHandler(b *testing.B) *Handler {
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
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://bench/204", nil)) // store it
	return h
}

// BenchmarkHit measures ServeHTTP on the hit path (a stored 204) and on a
// client's conditional request answered 304 from the cache, with a
// writer that keeps its header map between requests and no network: what
// the handler itself costs.
func BenchmarkHit(b *testing.B) {
	h := storedHitHandler(b)
	hit := httptest.NewRequest("GET", "http://bench/204", nil)
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

// BenchmarkHitOverSocket measures a stored 204 served over one loopback
// keep-alive connection, by the hit loop (HitServer) and by net/http
// alone: the server's cost per hit on top of the handler's, syscalls
// included. allocs/op counts every goroutine, the client's included (it
// reuses its buffers).
func BenchmarkHitOverSocket(b *testing.B) {
	h := storedHitHandler(b)
	for _, tc := range []struct {
		name  string
		serve func(*http.Server, net.Listener) error
	}{
		{"hit-loop", func(s *http.Server, ln net.Listener) error {
			return (&HitServer{Server: s, Fresh: h.ServeFresh}).Serve(ln)
		}},
		{"net-http", func(s *http.Server, ln net.Listener) error { return s.Serve(ln) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: h}
			go tc.serve(srv, ln)
			b.Cleanup(func() { srv.Close(); ln.Close() })
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /204 HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n")
			br := bufio.NewReaderSize(c, 4096)
			buf := make([]byte, 4096)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				// A 204 ends with its empty line.
				n := 0
				for !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
					ch, err := br.ReadByte()
					if err != nil {
						b.Fatal(err)
					}
					buf[n] = ch
					n++
				}
				if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 204 ")) {
					b.Fatalf("got %q", buf[:n])
				}
			}
		})
	}
}
