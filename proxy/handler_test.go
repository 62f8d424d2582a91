package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// etag204 is an origin handler answering 204 with an ETag and nothing
// else: no freshness information at all.
func etag204(etag string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestNoContentStoredByDefault(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, etag204(`"v1"`))
	f := newFixtureFor(t, o, defaultPolicy())

	resp, _ := f.do(t, "GET", "/exists/42")
	if resp.StatusCode != 204 {
		t.Fatalf("first GET status = %d; want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Status"); got != "cacheproxy; fwd=uri-miss; fwd-status=204; stored" {
		t.Errorf("first Cache-Status = %q", got)
	}
	resp, _ = f.do(t, "GET", "/exists/42")
	if resp.StatusCode != 204 {
		t.Fatalf("second GET status = %d; want 204", resp.StatusCode)
	}
	if got := o.hits.Load(); got != 1 {
		t.Errorf("origin requests = %d; want 1 (RFC 9111 §4.2.2: 204 is heuristically cacheable)", got)
	}
	if got := resp.Header.Get("Cache-Status"); got != "cacheproxy; hit; ttl=60" {
		t.Errorf("hit Cache-Status = %q; want %q", got, "cacheproxy; hit; ttl=60")
	}
	if got := resp.Header.Get("Age"); got != "0" {
		t.Errorf("hit Age = %q; want \"0\" (RFC 9111 §5.1)", got)
	}
	if got := resp.Header.Get("ETag"); got != `"v1"` {
		t.Errorf("hit ETag = %q", got)
	}
	if _, ok := resp.Header["Content-Length"]; ok {
		t.Errorf("hit 204 carries Content-Length %q (RFC 9110 §8.6)", resp.Header.Get("Content-Length"))
	}
	f.clock.advance(30 * time.Second)
	resp, _ = f.do(t, "GET", "/exists/42")
	if got := resp.Header.Get("Age"); got != "30" {
		t.Errorf("Age after 30s = %q; want 30", got)
	}
	if f.obs.result(ResultHit) != 2 || f.obs.result(ResultMiss) != 1 {
		t.Errorf("results = %v; want 2 hits, 1 miss", f.obs.results)
	}
}

func TestClientConditionalAnsweredFromCache(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header []string
		want   int
	}{
		{"RFC 9110 §13.1.2 strong match", []string{"If-None-Match", `"v1"`}, 304},
		{"RFC 9110 §13.1.2 weak comparison", []string{"If-None-Match", `W/"v1"`}, 304},
		{"RFC 9110 §13.1.2 list", []string{"If-None-Match", `"x", "v1"`}, 304},
		{"RFC 9110 §13.1.2 star", []string{"If-None-Match", `*`}, 304},
		{"RFC 9110 §13.1.2 two field lines", []string{"If-None-Match", `"x"`, "If-None-Match", `"v1"`}, 304},
		{"RFC 9110 §13.1.2 no match", []string{"If-None-Match", `"v2"`}, 200},
		{"RFC 9110 §13.1.3 not modified since", []string{"If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT"}, 304},
		{"RFC 9110 §13.1.3 modified since", []string{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, 200},
		{"RFC 9110 §13.2.2 If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"v2"`, "If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT"}, 200},
	}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "hello")
	})
	f := newFixtureFor(t, o, defaultPolicy())
	f.do(t, "GET", "/r")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, "GET", "/r", tc.header...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d; want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 304 {
				if body != "" || resp.Header.Get("Content-Length") != "" {
					t.Errorf("304 has body %q / Content-Length %q", body, resp.Header.Get("Content-Length"))
				}
				for _, k := range []string{"ETag", "Cache-Control", "Date"} {
					if resp.Header.Get(k) == "" {
						t.Errorf("304 lacks %s (RFC 9110 §15.4.5)", k)
					}
				}
			}
		})
	}
	if got := o.hits.Load(); got != 1 {
		t.Errorf("origin requests = %d; want 1: conditionals are answered from cache", got)
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	etag, changed := `"v1"`, false
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "max-age=10")
		if !changed && r.Header.Get("If-None-Match") == etag {
			w.Header().Set("X-Fresh", "yes")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f := newFixtureFor(t, o, defaultPolicy())
	f.do(t, "GET", "/item")
	f.clock.advance(11 * time.Second)

	// RFC 9111 §4.3.1: a stale entry is validated with its ETag.
	resp, _ := f.do(t, "GET", "/item")
	if got := o.lastRequest().Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("revalidation If-None-Match = %q; want %q", got, `"v1"`)
	}
	if resp.StatusCode != 204 {
		t.Errorf("status after 304 = %d; want the stored 204 (a client that did not ask conditionally never gets 304)", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Status"); got != "cacheproxy; fwd=stale; fwd-status=304; stored" {
		t.Errorf("Cache-Status = %q", got)
	}
	// RFC 9111 §4.3.4: the 304's fields update the stored response.
	if got := resp.Header.Get("X-Fresh"); got != "yes" {
		t.Errorf("X-Fresh = %q; want the 304's field merged", got)
	}
	resp, _ = f.do(t, "GET", "/item")
	if !strings.Contains(resp.Header.Get("Cache-Status"), "hit") || o.hits.Load() != 2 {
		t.Errorf("after freshening: Cache-Status %q, origin requests %d; want a hit and 2", resp.Header.Get("Cache-Status"), o.hits.Load())
	}
	if f.obs.reval[OutcomeNotModified] != 1 || f.obs.result(ResultRevalidated) != 1 {
		t.Errorf("revalidations = %v, results = %v", f.obs.reval, f.obs.results)
	}

	// A changed ETag replaces the entry.
	mu.Lock()
	etag, changed = `"v2"`, true
	mu.Unlock()
	f.clock.advance(11 * time.Second)
	resp, _ = f.do(t, "GET", "/item")
	if got := resp.Header.Get("ETag"); got != `"v2"` {
		t.Errorf("ETag after change = %q; want \"v2\"", got)
	}
	resp, _ = f.do(t, "GET", "/item")
	if got := resp.Header.Get("ETag"); got != `"v2"` || !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
		t.Errorf("after replacement: ETag %q Cache-Status %q; want \"v2\" from cache", got, resp.Header.Get("Cache-Status"))
	}
}

func TestNotStored(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		header []string
		req    []string
	}{
		{"RFC 9111 §5.2.2.5 no-store", 200, []string{"Cache-Control", "no-store"}, nil},
		{"RFC 9111 §5.2.2.7 private", 200, []string{"Cache-Control", "private, max-age=60"}, nil},
		{"RFC 9111 §5.2.1.5 request no-store", 200, []string{"Cache-Control", "max-age=60"}, []string{"Cache-Control", "no-store"}},
		{"RFC 9111 §3.5 Authorization without public", 200, []string{"Cache-Control", "max-age=60"}, []string{"Authorization", "Bearer a"}},
		{"RFC 9111 §4.2.2 error status without explicit freshness", 404, nil, nil},
		{"RFC 9111 §3 500 without freshness", 500, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i+1 < len(tc.header); i += 2 {
					w.Header().Set(tc.header[i], tc.header[i+1])
				}
				w.WriteHeader(tc.status)
			})
			f := newFixtureFor(t, o, defaultPolicy())
			f.do(t, "GET", "/x", tc.req...)
			f.do(t, "GET", "/x", tc.req...)
			if got := o.hits.Load(); got != 2 {
				t.Errorf("origin requests = %d; want 2 (not stored)", got)
			}
			if n := f.store.responses(); n != 0 {
				t.Errorf("store holds %d resources; want 0", n)
			}
		})
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		method    string
		path      string
		status    int
		location  string
		wantFresh bool // the GET is still served from cache afterwards
	}{
		{"RFC 9111 §4.4 PUT 204 invalidates", "PUT", "/items/1", 204, "", false},
		{"RFC 9111 §4.4 DELETE 204 invalidates", "DELETE", "/items/1", 204, "", false},
		{"RFC 9111 §4.4 POST invalidates Location", "POST", "/items", 201, "/items/1", false},
		{"RFC 9111 §4.4 error response does not invalidate", "PUT", "/items/1", 500, "", true},
		{"RFC 9111 §4.4 other URI untouched", "PUT", "/items/2", 204, "", true},
		{"RFC 9111 §4.4 cross-origin Location ignored", "POST", "/items", 201, "http://elsewhere.example/items/1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "GET" {
					w.Header().Set("Cache-Control", "max-age=600")
					w.WriteHeader(200)
					return
				}
				if tc.location != "" {
					w.Header().Set("Location", tc.location)
				}
				w.WriteHeader(tc.status)
			})
			f := newFixtureFor(t, o, defaultPolicy())
			f.do(t, "GET", "/items/1")
			resp, _ := f.do(t, tc.method, tc.path)
			if got := resp.Header.Get("Cache-Status"); !strings.Contains(got, "fwd=method") {
				t.Errorf("%s Cache-Status = %q; want fwd=method", tc.method, got)
			}
			f.do(t, "GET", "/items/1")
			want := int64(3)
			if tc.wantFresh {
				want = 2
			}
			if got := o.hits.Load(); got != want {
				t.Errorf("origin requests = %d; want %d", got, want)
			}
		})
	}
}

func TestCollapsing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		cacheControl string
		clients      int
		wantOrigin   int64
	}{
		{"storable answer shared by every waiter", "max-age=60", 50, 1},
		{"RFC 9111 §3 no-store answer not shared: waiters go upstream", "no-store", 5, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				<-release
				w.Header().Set("Cache-Control", tc.cacheControl)
				fmt.Fprint(w, "body")
			})
			f := newFixtureFor(t, o, defaultPolicy())
			// Every client looks up once and misses; the fill looks once
			// more. When all have looked, let the origin answer.
			var once sync.Once
			f.store.onGet = func() {
				if f.store.gets.Load() == int64(tc.clients)+1 {
					once.Do(func() { close(release) })
				}
			}
			var wg sync.WaitGroup
			for range tc.clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := f.front.Client().Get(f.front.URL + "/hot")
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("status %s; want 200", resp.Status)
					}
				}()
			}
			wg.Wait()
			if got := o.hits.Load(); got != tc.wantOrigin {
				t.Errorf("origin requests = %d for %d concurrent misses; want %d", got, tc.clients, tc.wantOrigin)
			}
			f.obs.mu.Lock()
			defer f.obs.mu.Unlock()
			if tc.wantOrigin == 1 {
				if got := f.obs.collapsed + f.obs.results[ResultHit]; got != tc.clients-1 {
					t.Errorf("collapsed %d + hits %d = %d; want %d", f.obs.collapsed, f.obs.results[ResultHit], got, tc.clients-1)
				}
			}
		})
	}
}

func TestVary(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "lang="+r.Header.Get("Accept-Language"))
	})
	f := newFixtureFor(t, o, defaultPolicy())
	steps := []struct {
		name, lang, wantBody string
		wantHits             int64
	}{
		{"RFC 9111 §4.1 first variant stored", "en", "lang=en", 1},
		{"RFC 9111 §4.1 second variant is a miss", "fr", "lang=fr", 2},
		{"RFC 9111 §4.1 first variant reused", "en", "lang=en", 2},
		{"RFC 9111 §4.1 second variant reused", "fr", "lang=fr", 2},
		{"RFC 9111 §4.1 absent field is its own variant", "", "lang=", 3},
	}
	for _, s := range steps {
		var hdr []string
		if s.lang != "" {
			hdr = []string{"Accept-Language", s.lang}
		}
		_, body := f.do(t, "GET", "/v", hdr...)
		if body != s.wantBody || o.hits.Load() != s.wantHits {
			t.Errorf("%s: body %q, origin requests %d; want %q, %d", s.name, body, o.hits.Load(), s.wantBody, s.wantHits)
		}
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "for "+r.Header.Get("Authorization"))
	}
	t.Run("RFC 9111 §3.5 shared route never reuses an authorized answer", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, handler)
		f := newFixtureFor(t, o, defaultPolicy())
		f.do(t, "GET", "/me", "Authorization", "Bearer alice")
		if _, body := f.do(t, "GET", "/me"); body != "for " {
			t.Errorf("anonymous got %q", body)
		}
		if _, body := f.do(t, "GET", "/me", "Authorization", "Bearer bob"); body != "for Bearer bob" {
			t.Errorf("bob got %q", body)
		}
	})
	t.Run("per-credential route keeps credentials apart", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, handler)
		p := defaultPolicy()
		p.PerCredential = true
		f := newFixtureFor(t, o, p)
		f.do(t, "GET", "/me", "Authorization", "Bearer alice")
		if _, body := f.do(t, "GET", "/me", "Authorization", "Bearer alice"); body != "for Bearer alice" || o.hits.Load() != 1 {
			t.Errorf("alice again: %q after %d origin requests; want her own answer from cache", body, o.hits.Load())
		}
		if _, body := f.do(t, "GET", "/me", "Authorization", "Bearer bob"); body != "for Bearer bob" {
			t.Errorf("bob got %q", body)
		}
		if _, body := f.do(t, "GET", "/me"); body != "for " {
			t.Errorf("anonymous got %q", body)
		}
		for k, res := range f.store.m {
			for _, e := range res.Variants {
				if strings.Contains(k+e.Credential, "alice") {
					t.Errorf("stored key/credential holds the credential itself: %q %q", k, e.Credential)
				}
			}
		}
	})
}

func TestSetCookieNotShared(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Set-Cookie", "session=secret")
		w.WriteHeader(204)
	})
	f := newFixtureFor(t, o, defaultPolicy())
	resp, _ := f.do(t, "GET", "/c")
	if got := resp.Header.Get("Set-Cookie"); got != "session=secret" {
		t.Errorf("first client Set-Cookie = %q; want it", got)
	}
	resp, _ = f.do(t, "GET", "/c")
	if got := resp.Header.Get("Set-Cookie"); got != "" {
		t.Errorf("second client got Set-Cookie %q", got)
	}
	if o.hits.Load() != 1 {
		t.Errorf("origin requests = %d; want 1", o.hits.Load())
	}
}

func TestHeadFromStoredGet(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "0123456789")
	})
	f := newFixtureFor(t, o, defaultPolicy())
	f.do(t, "GET", "/h")
	resp, body := f.do(t, "HEAD", "/h")
	if o.hits.Load() != 1 || body != "" || resp.Header.Get("Content-Length") != "10" {
		t.Errorf("HEAD: origin requests %d, body %q, Content-Length %q; want 1, \"\", 10 (RFC 9110 §9.3.2)",
			o.hits.Load(), body, resp.Header.Get("Content-Length"))
	}
}

func TestStale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cacheControl string
		wantStatus         int
		wantStale          int
	}{
		{"RFC 5861 §4 stale-if-error serves the stale 204 on 503", "max-age=1, stale-if-error=600", 204, 1},
		{"RFC 9111 §4.2.4 no stale-if-error passes the 503", "max-age=1", 503, 0},
		{"RFC 9111 §5.2.2.2 must-revalidate forbids stale-if-error", "max-age=1, stale-if-error=600, must-revalidate", 503, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fail atomic.Bool
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if fail.Load() {
					w.WriteHeader(503)
					return
				}
				w.Header().Set("ETag", `"a"`)
				w.Header().Set("Cache-Control", tc.cacheControl)
				w.WriteHeader(204)
			})
			f := newFixtureFor(t, o, defaultPolicy())
			f.do(t, "GET", "/s")
			fail.Store(true)
			f.clock.advance(5 * time.Second)
			resp, _ := f.do(t, "GET", "/s")
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, Cache-Status %q; want %d", resp.StatusCode, resp.Header.Get("Cache-Status"), tc.wantStatus)
			}
			if tc.wantStale == 1 && !strings.Contains(resp.Header.Get("Cache-Status"), "detail=stale-if-error") {
				t.Errorf("Cache-Status = %q; want detail=stale-if-error", resp.Header.Get("Cache-Status"))
			}
			if got := f.obs.result(ResultStale); got != tc.wantStale {
				t.Errorf("stale results = %d; want %d", got, tc.wantStale)
			}
		})
	}
	t.Run("RFC 5861 §3 stale-while-revalidate serves stale and refreshes once", func(t *testing.T) {
		t.Parallel()
		started, release := make(chan struct{}), make(chan struct{})
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
			if r.Header.Get("X-Refresh") == "" {
				fmt.Fprintf(w, "first")
				return
			}
			close(started)
			<-release
			fmt.Fprintf(w, "refreshed")
		})
		f := newFixtureFor(t, o, defaultPolicy())
		f.do(t, "GET", "/swr")
		stored := make(chan struct{})
		f.store.onSet = func() { close(stored) }
		f.clock.advance(5 * time.Second)
		for i := range 3 {
			// The refresh runs with the request that triggered it: mark it.
			resp, body := f.do(t, "GET", "/swr", "X-Refresh", "1")
			if !strings.Contains(resp.Header.Get("Cache-Status"), "detail=stale-while-revalidate") || body != "first" {
				t.Errorf("request %d: %q %q; want the stale entry", i, resp.Header.Get("Cache-Status"), body)
			}
			if i == 0 {
				<-started // the refresh is under way and held there
			}
		}
		close(release)
		<-stored
		if got := o.hits.Load(); got != 2 {
			t.Errorf("origin requests = %d; want 2 (one background refresh for three stale hits)", got)
		}
		if _, body := f.do(t, "GET", "/swr"); body != "refreshed" {
			t.Errorf("after the refresh: %q; want the refreshed entry", body)
		}
	})
	t.Run("RFC 9111 §5.2.1.7 only-if-cached without entry is 504", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, etag204(`"x"`))
		f := newFixtureFor(t, o, defaultPolicy())
		if resp, _ := f.do(t, "GET", "/o", "Cache-Control", "only-if-cached"); resp.StatusCode != 504 || o.hits.Load() != 0 {
			t.Errorf("status %d, origin requests %d; want 504, 0", resp.StatusCode, o.hits.Load())
		}
	})
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.WriteHeader(200)
	})
	f := newFixtureFor(t, o, defaultPolicy())
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			resp, _ := f.do(t, method, "/f", "Connection", "X-Secret", "X-Secret", "s", "X-Forwarded-For", "10.0.0.1")
			in := o.lastRequest()
			if in.Header.Get("X-Secret") != "" {
				t.Errorf("field named in Connection forwarded (RFC 9110 §7.6.1)")
			}
			if got := in.Header.Get("X-Forwarded-For"); got != "10.0.0.1, 127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q", got)
			}
			if in.Header.Get("X-Forwarded-Proto") != "http" || !strings.HasPrefix(in.Header.Get("X-Forwarded-Host"), "127.0.0.1:") {
				t.Errorf("X-Forwarded-Proto %q, -Host %q", in.Header.Get("X-Forwarded-Proto"), in.Header.Get("X-Forwarded-Host"))
			}
			if got := in.Header.Get("Via"); got != "1.1 cacheproxy" {
				t.Errorf("request Via = %q (RFC 9110 §7.6.3)", got)
			}
			if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("response hop-by-hop fields forwarded: %v", resp.Header)
			}
			if got := resp.Header.Get("Via"); got != "1.1 cacheproxy" {
				t.Errorf("response Via = %q", got)
			}
		})
	}
}

func TestLoopDetected(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, etag204(`"x"`))
	f := newFixtureFor(t, o, defaultPolicy())
	if resp, _ := f.do(t, "GET", "/", "Via", "1.1 other, 1.1 cacheproxy"); resp.StatusCode != http.StatusLoopDetected || o.hits.Load() != 0 {
		t.Errorf("status %d, origin requests %d; want 508, 0", resp.StatusCode, o.hits.Load())
	}
}

func TestRevalidationEdgeCases(t *testing.T) {
	t.Parallel()
	t.Run("RFC 9111 §4.3.3 304 naming an unknown ETag: fetched again without validators", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			if r.Header.Get("If-None-Match") != "" {
				w.Header().Set("ETag", `"unknown"`)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"b"`)
			fmt.Fprint(w, "full")
		})
		f := newFixtureFor(t, o, defaultPolicy())
		f.do(t, "GET", "/u")
		f.clock.advance(5 * time.Second)
		resp, body := f.do(t, "GET", "/u")
		if resp.StatusCode != 200 || body != "full" || o.hits.Load() != 3 {
			t.Errorf("got %d %q after %d origin requests; want 200 \"full\" after 3", resp.StatusCode, body, o.hits.Load())
		}
		if got := o.lastRequest().Header.Get("If-None-Match"); got != "" {
			t.Errorf("retry sent If-None-Match %q; want none", got)
		}
	})
	t.Run("RFC 9111 §5.2.2.4 qualified no-cache fields reach only the fetching client", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", `max-age=60, no-cache="X-Token", private="X-User"`)
			w.Header().Set("X-Token", "t")
			w.Header().Set("X-User", "u")
			w.WriteHeader(204)
		})
		f := newFixtureFor(t, o, defaultPolicy())
		resp, _ := f.do(t, "GET", "/q")
		if resp.Header.Get("X-Token") != "t" || resp.Header.Get("X-User") != "u" {
			t.Errorf("fetching client got X-Token %q X-User %q; want both", resp.Header.Get("X-Token"), resp.Header.Get("X-User"))
		}
		resp, _ = f.do(t, "GET", "/q")
		if resp.Header.Get("X-Token") != "" || resp.Header.Get("X-User") != "" || o.hits.Load() != 1 {
			t.Errorf("hit got X-Token %q X-User %q (origin requests %d); want neither, from cache",
				resp.Header.Get("X-Token"), resp.Header.Get("X-User"), o.hits.Load())
		}
	})
}

func TestTargetedCacheControl(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		cdn, cc    string
		wantOrigin int64
	}{
		{"RFC 9213 §2.1 CDN-Cache-Control no-store overrides max-age", "no-store", "max-age=600", 2},
		{"RFC 9213 §2.1 CDN-Cache-Control private overrides max-age", "private", "max-age=600", 2},
		{"RFC 9213 §2.1 CDN-Cache-Control max-age overrides no-store", "max-age=600", "no-store", 1},
		{"RFC 9213 §2.1 CDN-Cache-Control max-age=0 overrides max-age", "max-age=0", "max-age=600", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("CDN-Cache-Control", tc.cdn)
				w.Header().Set("Cache-Control", tc.cc)
				fmt.Fprint(w, "x")
			})
			f := newFixtureFor(t, o, defaultPolicy())
			f.do(t, "GET", "/t")
			resp, _ := f.do(t, "GET", "/t")
			if got := o.hits.Load(); got != tc.wantOrigin {
				t.Errorf("origin requests = %d; want %d", got, tc.wantOrigin)
			}
			if resp.Header.Get("CDN-Cache-Control") != tc.cdn {
				t.Errorf("CDN-Cache-Control not passed on: %q", resp.Header.Get("CDN-Cache-Control"))
			}
		})
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"cacheproxy", true},
		{"edge-1.example", true},
		{"", false},
		{"1cache", false},      // RFC 8941 §3.3.4: an sf-token starts with a letter
		{"cache proxy", false}, // RFC 9110 §5.6.2: no spaces in a token
		{"cache/proxy", false}, // a Via pseudonym is a token: no "/"
		{"!cacheproxy", false},
	} {
		if got := ValidName(tc.name); got != tc.want {
			t.Errorf("ValidName(%q) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestLargeObjectsStreamThrough(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4096)
	cases := []struct {
		name    string
		chunked bool // no Content-Length: the limit is found while reading
	}{
		{"Content-Length over max_object_size", false},
		{"chunked body over max_object_size", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				if !tc.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				}
				io.WriteString(w, big[:100])
				w.(http.Flusher).Flush()
				io.WriteString(w, big[100:])
			})
			p := defaultPolicy()
			p.MaxObjectSize = 1024
			f := newFixtureFor(t, o, p)
			for i := range 2 {
				resp, body := f.do(t, "GET", "/big")
				if body != big {
					t.Fatalf("request %d: got %d bytes; want %d", i, len(body), len(big))
				}
				if got := resp.Header.Get("Cache-Status"); !strings.Contains(got, "detail=too-large") {
					t.Errorf("request %d: Cache-Status %q; want detail=too-large", i, got)
				}
			}
			if o.hits.Load() != 2 || f.store.responses() != 0 {
				t.Errorf("origin requests %d, stored %d; want 2 and 0", o.hits.Load(), f.store.responses())
			}
		})
	}
}

func TestEventStreamIsNotBuffered(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next // the second event is sent only once the first arrived
		io.WriteString(w, "data: two\n\n")
	})
	f := newFixtureFor(t, o, defaultPolicy())
	resp, err := f.front.Client().Get(f.front.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" {
		t.Fatalf("first event = %q, %v", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest of stream = %q", rest)
	}
}

func TestStripPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"api.example.com", "api.example.com"},
		{"api.example.com:8080", "api.example.com"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"", ""},
	} {
		if got := stripPort(tc.in); got != tc.want {
			t.Errorf("stripPort(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestHitAllocations(t *testing.T) {
	// The hit path: the key is built in a reused buffer, header values
	// come from the entry and the memo, so a hit allocates nothing. The
	// bound leaves room for sync.Pool, which drops buffers at random under
	// the race detector.
	o := newOrigin(t, etag204(`"a"`))
	f := newFixture(t, o.srv.URL, defaultPolicy())
	req := httptest.NewRequest("GET", "http://bench/204", nil)
	w := &discardWriter{h: http.Header{}}
	f.h.ServeHTTP(w, req) // store it
	n := testing.AllocsPerRun(200, func() {
		clear(w.h)
		f.h.ServeHTTP(w, req)
	})
	if w.code != 204 {
		t.Fatalf("status %d; want a 204 hit", w.code)
	}
	if n > 2 {
		t.Errorf("a hit allocates %v times; want at most 2", n)
	}
}

// discardWriter is a ResponseWriter that keeps its header map and status.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// TestHitForMiss: once a URL's answer could not be stored, concurrent
// requests for it go upstream together instead of queueing behind one
// fetch whose answer they cannot share; a storable answer later is stored.
func TestHitForMiss(t *testing.T) {
	t.Parallel()
	const clients = 5
	var mu sync.Mutex
	inflight, peak, cacheable := 0, 0, false
	all := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		if inflight == clients {
			close(all)
		}
		store := cacheable
		mu.Unlock()
		if r.Header.Get("X-Wave") != "" {
			select { // answer only once every client's request is here
			case <-all:
			case <-time.After(10 * time.Second): // a guard, so that collapsing fails rather than hangs
			}
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		if store {
			w.Header().Set("Cache-Control", "max-age=60")
		} else {
			w.Header().Set("Cache-Control", "no-store")
		}
		fmt.Fprint(w, "x")
	})
	f := newFixtureFor(t, o, defaultPolicy())
	f.do(t, "GET", "/h4m") // no-store: the URL is marked
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", f.front.URL+"/h4m", nil)
			req.Header.Set("X-Wave", "1")
			if resp, err := f.client.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait() // returns only if all five reached the origin at once
	mu.Lock()
	if peak != clients {
		t.Errorf("peak concurrent origin requests = %d; want %d", peak, clients)
	}
	cacheable = true
	mu.Unlock()
	f.do(t, "GET", "/h4m") // storable now: replaces the marker
	before := o.hits.Load()
	if resp, _ := f.do(t, "GET", "/h4m"); !strings.Contains(resp.Header.Get("Cache-Status"), "hit") || o.hits.Load() != before {
		t.Errorf("after a storable answer: Cache-Status %q; want a hit", resp.Header.Get("Cache-Status"))
	}
}
