package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// date is a valid Date field for raw responses.
func date() string { return "Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n" }

// violationCase provokes one rule with a raw-TCP origin. first answers
// the first request of a path; later ones get a clean 200 that revalidates
// nothing.
type violationCase struct {
	rule    compliance.Rule
	method  string
	header  []string // request fields
	prime   string   // raw answer to a first GET that stores an entry ("" none)
	reply   string   // raw answer that breaks the rule
	atStart bool     // the violation is known with the response header: Cache-Status names it and reject answers 502
}

func violationCases() []violationCase {
	stale := "HTTP/1.1 200 OK\r\n" + date() + "ETag: \"v1\"\r\nCache-Control: max-age=1\r\nAge: 100\r\nContent-Length: 2\r\n\r\nok"
	return []violationCase{
		{rule: compliance.NoContentLength, method: "GET", atStart: true,
			reply: "HTTP/1.1 204 No Content\r\n" + date() + "Content-Length: 0\r\n\r\n"},
		{rule: compliance.NoContentTransferEncoding, method: "GET", atStart: true,
			reply: "HTTP/1.1 204 No Content\r\n" + date() + "Transfer-Encoding: chunked\r\n\r\n"},
		{rule: compliance.NoContentBody, method: "GET", atStart: true,
			reply: "HTTP/1.1 204 No Content\r\n" + date() + "\r\nhello"},
		{rule: compliance.NotModifiedBody, method: "GET", atStart: true, prime: stale,
			reply: "HTTP/1.1 304 Not Modified\r\n" + date() + "ETag: \"v1\"\r\n\r\nstray"},
		{rule: compliance.NotModifiedMissingETag, method: "GET", atStart: true, prime: stale,
			reply: "HTTP/1.1 304 Not Modified\r\n" + date() + "Cache-Control: max-age=60\r\n\r\n"},
		{rule: compliance.HeadBody, method: "HEAD", atStart: true,
			reply: "HTTP/1.1 200 OK\r\n" + date() + "Content-Length: 5\r\n\r\nhello"},
		{rule: compliance.ETagSyntax, method: "GET", atStart: true,
			reply: "HTTP/1.1 200 OK\r\n" + date() + "ETag: v1\r\nContent-Length: 2\r\n\r\nok"},
		{rule: compliance.DateMissing, method: "GET", atStart: true,
			reply: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{rule: compliance.ContentLengthMismatch, method: "GET", atStart: true,
			reply: "HTTP/1.1 200 OK\r\n" + date() + "Content-Length: 2\r\n\r\nokEXTRA"},
		{rule: compliance.CacheControlSyntax, method: "GET", atStart: true,
			reply: "HTTP/1.1 200 OK\r\n" + date() + "Cache-Control: max-age=abc\r\nContent-Length: 2\r\n\r\nok"},
	}
}

func TestViolationsDetectedAndRepaired(t *testing.T) {
	t.Parallel()
	for _, tc := range violationCases() {
		t.Run(string(tc.rule)+" "+tc.rule.Reference(), func(t *testing.T) {
			t.Parallel()
			o := newRawOrigin(t, func(n int64, r *http.Request) string {
				if n == 1 && tc.prime != "" {
					return tc.prime
				}
				return tc.reply
			})
			f := newFixture(t, o.url(), defaultPolicy())
			if tc.prime != "" {
				f.do(t, "GET", "/x")
			}
			resp, body := f.do(t, tc.method, "/x", tc.header...)
			if got := f.obs.violationCount(tc.rule); got != 1 {
				t.Errorf("violations of %s = %d; want 1 (all: %v)", tc.rule, got, f.obs.violations)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("status %d; want the repaired response", resp.StatusCode)
			}
			if tc.atStart && !strings.Contains(resp.Header.Get("Cache-Status"), "detail="+string(tc.rule)) {
				t.Errorf("Cache-Status %q; want detail=%s", resp.Header.Get("Cache-Status"), tc.rule)
			}
			switch tc.rule {
			case compliance.NoContentBody, compliance.NotModifiedBody, compliance.HeadBody:
				if body != "" && body != "ok" {
					t.Errorf("stray body reached the client: %q", body)
				}
			case compliance.ContentLengthMismatch:
				if body != "ok" {
					t.Errorf("body = %q; want the 2 bytes Content-Length announced", body)
				}
			case compliance.ETagSyntax:
				if resp.Header.Get("ETag") != "" {
					t.Errorf("invalid ETag forwarded: %q", resp.Header.Get("ETag"))
				}
			}
		})
	}
}

func TestViolationsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range violationCases() {
		if !tc.atStart {
			continue
		}
		t.Run(string(tc.rule), func(t *testing.T) {
			t.Parallel()
			o := newRawOrigin(t, func(n int64, r *http.Request) string {
				if n == 1 && tc.prime != "" {
					return tc.prime
				}
				return tc.reply
			})
			u := o.url()
			store := newMapStore()
			obs := newCountObserver()
			h, err := New(store, Options{
				Routes: []Route{{Name: "strict", Upstream: mustURL(t, u), Policy: defaultPolicy(),
					Compliance: CompliancePolicy{Rules: map[compliance.Rule]Action{tc.rule: Reject}}}},
				Observer: obs,
			})
			if err != nil {
				t.Fatal(err)
			}
			front := httptest.NewServer(h)
			t.Cleanup(func() { front.Close(); h.Close() })
			if tc.prime != "" {
				resp, err := front.Client().Get(front.URL + "/x")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			req, _ := http.NewRequest(tc.method, front.URL+"/x", nil)
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Header.Get("Cache-Status"), "detail="+string(tc.rule)) {
				t.Errorf("got %d %q; want 502 with detail=%s", resp.StatusCode, resp.Header.Get("Cache-Status"), tc.rule)
			}
			if tc.prime == "" && store.responses() != 0 {
				t.Errorf("a rejected response was stored")
			}
		})
	}
}

// TestSmugglingThroughNoContent is the attack the 204-body rule exists
// for: the "body" of a bad 204 is itself a complete, cacheable response.
// It must never be served or stored, and the next request, on the same
// client connection, gets the genuine answer.
func TestSmugglingThroughNoContent(t *testing.T) {
	t.Parallel()
	const smuggled = "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=600\r\nContent-Length: 4\r\n\r\nevil"
	o := newRawOrigin(t, func(n int64, r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/bad") {
			return "HTTP/1.1 204 No Content\r\n" + date() + "\r\n" + smuggled
		}
		return "HTTP/1.1 200 OK\r\n" + date() + "Cache-Control: no-store\r\nContent-Length: 7\r\n\r\ngenuine"
	})
	f := newFixture(t, o.url(), defaultPolicy())
	c := dialClient(t, f.front.Listener.Addr().String())
	for i := range 15 {
		path := fmt.Sprintf("/bad/%d", i)
		if i%2 == 1 {
			path = fmt.Sprintf("/good/%d", i)
		}
		status, body := c.get(t, path)
		switch {
		case strings.HasPrefix(path, "/bad") && (status != 204 || body != ""):
			t.Errorf("%s: %d %q; want an empty 204", path, status, body)
		case strings.HasPrefix(path, "/good") && (status != 200 || body != "genuine"):
			t.Errorf("%s: %d %q; want the genuine 200 (desynchronised)", path, status, body)
		}
	}
	if got := f.obs.violationCount(compliance.NoContentBody); got != 8 {
		t.Errorf("204-body violations = %d; want 8", got)
	}
	for k, res := range f.store.m {
		for _, e := range res.Variants {
			if string(e.Body) == "evil" {
				t.Errorf("smuggled response stored under %s", k)
			}
		}
	}
}

func TestViolationsEvidence(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t, func(int64, *http.Request) string {
		return "HTTP/1.1 204 No Content\r\n" + date() + "Content-Length: 5\r\n\r\nhello"
	})
	f := newFixture(t, o.url(), defaultPolicy())
	f.do(t, "GET", "/ev?q=1")
	rec := httptest.NewRecorder()
	f.h.ViolationsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/violations", nil))
	var got struct {
		Routes map[string][]Evidence `json:"routes"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /violations: %v\n%s", err, rec.Body)
	}
	ev := got.Routes["default"]
	rules := map[compliance.Rule]Evidence{}
	for _, e := range ev {
		rules[e.Rule] = e
	}
	cl, body := rules[compliance.NoContentLength], rules[compliance.NoContentBody]
	if cl.Request != "GET /ev?q=1" || cl.Status != 204 || cl.Headers["Content-Length"] == nil {
		t.Errorf("204-content-length evidence = %+v; want the request line, status and the offending field", cl)
	}
	if body.StrayBytes != 5 || body.Stray != "hello" || body.Severity != compliance.Framing || body.Action != "repair" {
		t.Errorf("204-body evidence = %+v; want 5 stray bytes \"hello\", framing, repair", body)
	}
}

func TestViolationLogsAreRateLimited(t *testing.T) {
	t.Parallel()
	l := &logLimiter{every: 10 * time.Second}
	t0 := time.Now()
	steps := []struct {
		at         time.Duration
		rule       compliance.Rule
		ok         bool
		suppressed int
	}{
		{0, compliance.DateMissing, true, 0},
		{time.Second, compliance.DateMissing, false, 0},
		{2 * time.Second, compliance.DateMissing, false, 0},
		{2 * time.Second, compliance.ETagSyntax, true, 0}, // another rule has its own budget
		{11 * time.Second, compliance.DateMissing, true, 2},
	}
	for i, s := range steps {
		ok, n := l.allow(s.rule, t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d: allow(%s, +%v) = %v, %d; want %v, %d", i, s.rule, s.at, ok, n, s.ok, s.suppressed)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rawClient sends GETs over one keep-alive connection.
type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) get(t *testing.T, path string) (int, string) {
	t.Helper()
	rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(rc.c, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

func TestUpstreamErrorKinds(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: dial it, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	slow := newRawOrigin(t, func(int64, *http.Request) string { <-hang; return "" })
	reset := newRawOrigin(t, func(int64, *http.Request) string {
		return "HTTP/1.1 200 OK\r\n" + date() + "Cache-Control: max-age=60\r\nContent-Length: 10\r\n\r\nabc\x00close"
	})
	failing := newRawOrigin(t, func(int64, *http.Request) string {
		return "HTTP/1.1 503 Service Unavailable\r\n" + date() + "Content-Length: 0\r\n\r\n"
	})
	cases := []struct {
		kind     string
		upstream string
		method   string
	}{
		{UpstreamErrorConnect, closed, "GET"},
		{UpstreamErrorConnect, closed, "POST"},
		{UpstreamErrorTimeout, slow.url(), "GET"},
		{UpstreamErrorReset, reset.url(), "GET"},
		{UpstreamErrorStatus5xx, failing.url(), "GET"},
		{UpstreamErrorStatus5xx, failing.url(), "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.method, func(t *testing.T) {
			t.Parallel()
			obs := newCountObserver()
			h, err := New(newMapStore(), Options{
				Routes:      []Route{{Name: "r", Upstream: mustURL(t, tc.upstream), Policy: defaultPolicy()}},
				Observer:    obs,
				FillTimeout: 200 * time.Millisecond, // bounds the fill against the hanging origin
				Transport:   NewTransport(TransportOptions{ResponseHeaderTimeout: 200 * time.Millisecond}),
			})
			if err != nil {
				t.Fatal(err)
			}
			front := httptest.NewServer(h)
			t.Cleanup(func() { front.Close(); h.Close() })
			req, _ := http.NewRequest(tc.method, front.URL+"/e", nil)
			if resp, err := front.Client().Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if obs.upstreamErrors[tc.kind] != 1 || len(obs.upstreamErrors) != 1 {
				t.Errorf("upstream errors = %v; want one %s", obs.upstreamErrors, tc.kind)
			}
		})
	}
}

func TestServedAndSavedBytes(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"s"`)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") == `"s"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "0123456789")
	})
	f := newFixtureFor(t, o, defaultPolicy())
	f.do(t, "GET", "/b")                         // miss: nothing served from cache
	f.do(t, "GET", "/b")                         // hit: 10
	f.do(t, "GET", "/b", "If-None-Match", `"s"`) // 304 from cache: no body
	f.do(t, "HEAD", "/b")                        // HEAD: no body
	f.clock.advance(11 * time.Second)
	f.do(t, "GET", "/b") // revalidated: 10 served, 10 saved
	f.obs.mu.Lock()
	defer f.obs.mu.Unlock()
	if f.obs.served != 20 || f.obs.saved != 10 {
		t.Errorf("served %d, saved %d bytes; want 20 and 10", f.obs.served, f.obs.saved)
	}
}
