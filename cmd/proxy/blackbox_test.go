package main

// A black-box check of the program as an operator starts it:
//
//	proxy -listen A -upstream http://O -admin-listen M
//
// The test binary re-executes itself as the program (TestMain), in front
// of a scripted raw-TCP origin, and talks to it over raw sockets: one
// keep-alive connection for the whole script, so a stray byte of content
// on a 204 or 304 would desynchronise it and fail the test.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run the program instead of the tests.
const runMainEnv = "CACHEPROXY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// scriptedOrigin answers each request with the raw bytes its script
// returns for the request's path, given how many requests that path has
// had (1 for the first).
type scriptedOrigin struct {
	ln     net.Listener
	script map[string]func(n int, req *http.Request) string

	mu   sync.Mutex
	seen map[string]int
	last map[string]*http.Request
}

func newScriptedOrigin(t *testing.T, script map[string]func(int, *http.Request) string) *scriptedOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &scriptedOrigin{ln: ln, script: script, seen: map[string]int{}, last: map[string]*http.Request{}}
	t.Cleanup(func() { ln.Close() })
	go o.serve()
	return o
}

func (o *scriptedOrigin) serve() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				key := req.Method + " " + req.URL.Path
				o.mu.Lock()
				o.seen[key]++
				n := o.seen[key]
				o.last[req.URL.Path] = req
				f := o.script[req.URL.Path]
				o.mu.Unlock()
				out := "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
				if f != nil {
					out = f(n, req)
				}
				closeAfter := strings.HasSuffix(out, "<close>")
				if _, err := io.WriteString(c, strings.TrimSuffix(out, "<close>")); err != nil || closeAfter {
					return
				}
			}
		}()
	}
}

func (o *scriptedOrigin) count(method, path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[method+" "+path]
}

func (o *scriptedOrigin) lastRequest(path string) *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[path]
}

// now is the Date value of a scripted response.
func now() string { return time.Now().UTC().Format(http.TimeFormat) }

// startProgram runs the program with args and returns its traffic and
// admin addresses, read from its "listening" log line. Cleanup sends
// SIGTERM and expects exit status 0.
func startProgram(t *testing.T, args ...string) (listen, admin string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := sc.Text()
		logs.WriteString(l + "\n")
		if strings.Contains(l, "msg=listening") {
			listen, admin = logAttr(l, "listen"), logAttr(l, "admin_listen")
			break
		}
	}
	if listen == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("program did not report listening; stderr:\n%s", logs.String())
	}
	go io.Copy(io.Discard, stderr)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("program exit after SIGTERM: %v", err)
		}
	})
	return listen, admin
}

// waitInserted waits until the program's store has applied n new keys
// (cacheproxy_cache_insertions_total). ristretto applies writes
// asynchronously, so a test that relies on the next request finding an
// entry waits for it here rather than assuming it.
func waitInserted(t *testing.T, admin string, n int) {
	t.Helper()
	const name = "cacheproxy_cache_insertions_total "
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, m := httpGet(t, "http://"+admin+"/metrics")
		if i := strings.Index(m, "\n"+name); i >= 0 {
			var got int
			fmt.Sscan(m[i+1+len(name):], &got)
			if got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store applied fewer than %d insertions in 30s", n)
		}
	}
}

// rawClient sends requests over one keep-alive connection and parses the
// responses strictly.
type rawClient struct {
	t    *testing.T
	addr string
	c    net.Conn
	br   *bufio.Reader
	// perRequest opens a new connection for every request, so that each
	// starts in the program's hit loop (a connection that carried a miss
	// is net/http's from then on).
	perRequest bool
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	rc := &rawClient{t: t, addr: addr}
	rc.dial()
	return rc
}

func (rc *rawClient) dial() {
	rc.t.Helper()
	c, err := net.Dial("tcp", rc.addr)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.t.Cleanup(func() { c.Close() })
	rc.c, rc.br = c, bufio.NewReader(c)
}

type rawResponse struct {
	status int
	header http.Header
	body   string
	err    error // reading the body failed: an abort
}

// do sends method path with the given header lines and reads the
// response. A 204 or 304 must carry no Content-Length, Transfer-Encoding
// or content: the next response on the connection would be garbage.
func (rc *rawClient) do(method, path string, header ...string) rawResponse {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: api.test\r\n", method, path)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	if method == "PUT" {
		b.WriteString("Content-Length: 2\r\n\r\n{}")
	} else {
		b.WriteString("\r\n")
	}
	if rc.perRequest {
		rc.c.Close()
		rc.dial()
	}
	rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(rc.c, b.String()); err != nil {
		rc.t.Fatalf("%s %s: write: %v", method, path, err)
	}
	req, _ := http.NewRequest(method, "http://api.test"+path, nil)
	resp, err := http.ReadResponse(rc.br, req)
	if err != nil {
		rc.t.Fatalf("%s %s: read response: %v", method, path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 204 || resp.StatusCode == 304 {
		for _, k := range []string{"Content-Length", "Transfer-Encoding"} {
			if v, ok := resp.Header[k]; ok {
				rc.t.Errorf("%s %s: %d carries %s: %v (RFC 9110 §8.6, RFC 9112 §6.1)", method, path, resp.StatusCode, k, v)
			}
		}
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), err: err}
}

// TestBlackBox runs the behaviours below against the program as it runs by
// default, over one connection (the hit loop hands it to net/http at the
// first miss) and over a connection per request (every hit answered by
// the hit loop), and with [server] hit_loop = false, everything through
// net/http.
func TestBlackBox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program")
	}
	t.Parallel()
	noLoop := filepath.Join(t.TempDir(), "net-http.toml")
	if err := os.WriteFile(noLoop, []byte("[server]\nhit_loop = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		perRequest bool
		args       []string
	}{
		{"one connection", false, nil},
		{"a connection per request", true, nil},
		{"net/http only", false, []string{"-config", noLoop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blackBox(t, tc.perRequest, tc.args...)
		})
	}
}

func blackBox(t *testing.T, perRequest bool, args ...string) {
	ok := func(extra, body string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\n%sContent-Length: %d\r\n\r\n%s", now(), extra, len(body), body)
	}
	noContent := func(extra string) string {
		return fmt.Sprintf("HTTP/1.1 204 No Content\r\nDate: %s\r\n%s\r\n", now(), extra)
	}
	notModified := func(extra string) string {
		return fmt.Sprintf("HTTP/1.1 304 Not Modified\r\nDate: %s\r\n%s\r\n", now(), extra)
	}
	// Responses with "Age: 100" and max-age=1 are stored already stale, so
	// the next request revalidates without the test waiting.
	o := newScriptedOrigin(t, map[string]func(int, *http.Request) string{
		"/204-explicit": func(int, *http.Request) string {
			return noContent("Cache-Control: max-age=600\r\nETag: \"x1\"\r\n")
		},
		"/204-implicit": func(int, *http.Request) string { return noContent("ETag: \"i1\"\r\n") },
		"/reval": func(n int, r *http.Request) string {
			if n == 1 {
				return ok("ETag: \"r1\"\r\nCache-Control: max-age=1\r\nAge: 100\r\n", "v1")
			}
			return notModified("ETag: \"r1\"\r\nCache-Control: max-age=600\r\n")
		},
		"/change": func(n int, r *http.Request) string {
			if n == 1 {
				return ok("ETag: \"c1\"\r\nCache-Control: max-age=1\r\nAge: 100\r\n", "v1")
			}
			return ok("ETag: \"c2\"\r\nCache-Control: max-age=600\r\n", "v2")
		},
		"/nostore": func(int, *http.Request) string { return ok("Cache-Control: no-store\r\n", "secret") },
		"/auth": func(_ int, r *http.Request) string {
			return ok("Cache-Control: max-age=600\r\n", "for:"+r.Header.Get("Authorization"))
		},
		"/res": func(_ int, r *http.Request) string {
			if r.Method == "GET" {
				return ok("Cache-Control: max-age=600\r\n", "resource")
			}
			return noContent("")
		},
		"/vary": func(_ int, r *http.Request) string {
			return ok("Vary: Accept-Language\r\nCache-Control: max-age=600\r\n", "lang:"+r.Header.Get("Accept-Language"))
		},
		"/head": func(int, *http.Request) string { return ok("Cache-Control: max-age=600\r\n", "0123456789") },
		"/trunc": func(int, *http.Request) string {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nCache-Control: max-age=600\r\nContent-Length: 100\r\n\r\nonly ten b<close>", now())
		},
		"/sie": func(n int, r *http.Request) string {
			if n == 1 {
				return noContent("ETag: \"s1\"\r\nCache-Control: max-age=1, stale-if-error=600\r\nAge: 100\r\n")
			}
			return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
		},
	})
	listen, admin := startProgram(t, append([]string{"-listen", "127.0.0.1:0", "-upstream", "http://" + o.ln.Addr().String(), "-admin-listen", "127.0.0.1:0"}, args...)...)
	c := dialRaw(t, listen)
	c.perRequest = perRequest
	hits, misses := 0, 0

	inserted := 0
	stored := func() { // the request just made stored a new key
		inserted++
		waitInserted(t, admin, inserted)
	}

	t.Run("RFC 9110 §15.3.5 204 stored with explicit freshness", func(t *testing.T) {
		c.do("GET", "/204-explicit")
		stored()
		r := c.do("GET", "/204-explicit")
		hits, misses = hits+1, misses+1
		if r.status != 204 || o.count("GET", "/204-explicit") != 1 {
			t.Errorf("status %d, origin requests %d; want 204 from cache", r.status, o.count("GET", "/204-explicit"))
		}
		if cs := r.header.Get("Cache-Status"); !strings.HasPrefix(cs, "cacheproxy; hit; ttl=") || r.header.Get("Age") == "" {
			t.Errorf("hit Cache-Status %q, Age %q; want a hit with Age", cs, r.header.Get("Age"))
		}
	})
	t.Run("RFC 9111 §4.2.2 204 stored without freshness information", func(t *testing.T) {
		c.do("GET", "/204-implicit")
		stored()
		r := c.do("GET", "/204-implicit")
		hits, misses = hits+1, misses+1
		if r.status != 204 || o.count("GET", "/204-implicit") != 1 || r.header.Get("Cache-Status") != "cacheproxy; hit; ttl=60" {
			t.Errorf("status %d, origin requests %d, Cache-Status %q", r.status, o.count("GET", "/204-implicit"), r.header.Get("Cache-Status"))
		}
	})
	t.Run("RFC 9110 §13.1.2 conditional clients get 304 from cache", func(t *testing.T) {
		for _, inm := range []string{`"i1"`, `W/"i1"`, `"zz", "i1"`, `*`} {
			r := c.do("GET", "/204-implicit", "If-None-Match", inm)
			hits++
			if r.status != 304 || r.header.Get("ETag") != `"i1"` {
				t.Errorf("If-None-Match %s: status %d ETag %q; want 304 \"i1\"", inm, r.status, r.header.Get("ETag"))
			}
		}
		if r := c.do("GET", "/204-implicit", "If-None-Match", `"other"`); r.status != 204 {
			t.Errorf("non-matching If-None-Match: status %d; want 204", r.status)
		}
		hits++
		if got := o.count("GET", "/204-implicit"); got != 1 {
			t.Errorf("origin requests = %d; want 1", got)
		}
	})
	t.Run("RFC 9111 §4.3 revalidation with the stored ETag; 304 freshens", func(t *testing.T) {
		c.do("GET", "/reval")
		stored()
		r := c.do("GET", "/reval")
		if got := o.lastRequest("/reval").Header.Get("If-None-Match"); got != `"r1"` {
			t.Errorf("upstream If-None-Match = %q; want \"r1\"", got)
		}
		if r.status != 200 || r.body != "v1" || r.header.Get("Cache-Status") != "cacheproxy; fwd=stale; fwd-status=304; stored" {
			t.Errorf("revalidated: %d %q %q", r.status, r.body, r.header.Get("Cache-Status"))
		}
		r = c.do("GET", "/reval")
		misses, hits = misses+1, hits+1
		if !strings.HasPrefix(r.header.Get("Cache-Status"), "cacheproxy; hit") || o.count("GET", "/reval") != 2 {
			t.Errorf("after 304: %q, origin requests %d; want a hit", r.header.Get("Cache-Status"), o.count("GET", "/reval"))
		}
	})
	t.Run("RFC 9111 §4.3.3 a changed ETag replaces the entry", func(t *testing.T) {
		c.do("GET", "/change")
		stored()
		if r := c.do("GET", "/change"); r.body != "v2" {
			t.Errorf("body after change = %q; want v2", r.body)
		}
		r := c.do("GET", "/change", "If-None-Match", `"c2"`)
		misses, hits = misses+2, hits+1
		if r.status != 304 || o.count("GET", "/change") != 2 {
			t.Errorf("If-None-Match \"c2\": %d after %d origin requests; want 304 from cache", r.status, o.count("GET", "/change"))
		}
	})
	t.Run("RFC 9111 §5.2.2.5 no-store respected", func(t *testing.T) {
		c.do("GET", "/nostore")
		c.do("GET", "/nostore")
		misses += 2
		if got := o.count("GET", "/nostore"); got != 2 {
			t.Errorf("origin requests = %d; want 2", got)
		}
	})
	t.Run("RFC 9111 §3.5 Authorization answers never reused", func(t *testing.T) {
		c.do("GET", "/auth", "Authorization", "Bearer alice")
		if r := c.do("GET", "/auth", "Authorization", "Bearer bob"); r.body != "for:Bearer bob" {
			t.Errorf("bob got %q", r.body)
		}
		if r := c.do("GET", "/auth"); r.body != "for:" {
			t.Errorf("anonymous got %q", r.body)
		}
		stored() // the anonymous answer is shareable
		misses += 3
	})
	t.Run("RFC 9111 §4.4 PUT and DELETE invalidate", func(t *testing.T) {
		c.do("GET", "/res")
		stored()
		c.do("GET", "/res")
		c.do("PUT", "/res")
		c.do("GET", "/res")
		stored()
		c.do("DELETE", "/res")
		c.do("GET", "/res")
		stored()
		misses, hits = misses+3, hits+1
		if got := o.count("GET", "/res"); got != 3 {
			t.Errorf("origin GETs = %d; want 3", got)
		}
	})
	t.Run("RFC 9111 §4.1 Vary variants kept apart", func(t *testing.T) {
		for i, l := range []string{"en", "fr", "en", "fr"} {
			if r := c.do("GET", "/vary", "Accept-Language", l); r.body != "lang:"+l {
				t.Errorf("Accept-Language %s got %q", l, r.body)
			}
			if i == 0 {
				stored() // the second variant replaces the key's resource: no insertion
			}
		}
		misses, hits = misses+2, hits+2
		if got := o.count("GET", "/vary"); got != 2 {
			t.Errorf("origin requests = %d; want 2", got)
		}
	})
	t.Run("RFC 9110 §9.3.2 HEAD answered from the stored GET", func(t *testing.T) {
		c.do("GET", "/head")
		stored()
		r := c.do("HEAD", "/head")
		misses, hits = misses+1, hits+1
		if o.count("HEAD", "/head") != 0 || r.header.Get("Content-Length") != "10" || r.body != "" {
			t.Errorf("HEAD: upstream HEADs %d, Content-Length %q, body %q", o.count("HEAD", "/head"), r.header.Get("Content-Length"), r.body)
		}
	})
	t.Run("RFC 9112 §6.3 a truncated body is never stored", func(t *testing.T) {
		for i := range 2 {
			tc := dialRaw(t, listen)
			if r := tc.do("GET", "/trunc"); r.err == nil {
				t.Errorf("request %d: body ended cleanly; want an abort", i)
			}
		}
		misses += 2
		if got := o.count("GET", "/trunc"); got != 2 {
			t.Errorf("origin requests = %d; want 2", got)
		}
	})
	t.Run("RFC 5861 §4 stale-if-error serves the stale 204 on 503", func(t *testing.T) {
		c.do("GET", "/sie")
		stored()
		r := c.do("GET", "/sie")
		misses++
		if r.status != 204 || !strings.Contains(r.header.Get("Cache-Status"), "detail=stale-if-error") {
			t.Errorf("got %d %q; want the stale 204", r.status, r.header.Get("Cache-Status"))
		}
	})
	t.Run("cacheproxy_cache_requests_total counts hits and misses", func(t *testing.T) {
		_, b := httpGet(t, "http://"+admin+"/metrics")
		for _, want := range []string{
			fmt.Sprintf(`cacheproxy_cache_requests_total{result="hit",route="default"} %d`, hits),
			fmt.Sprintf(`cacheproxy_cache_requests_total{result="miss",route="default"} %d`, misses),
			`cacheproxy_cache_requests_total{result="revalidated",route="default"} 1`,
			`cacheproxy_cache_requests_total{result="stale",route="default"} 1`,
			`cacheproxy_cache_requests_total{result="bypass",route="default"} 2`,
		} {
			if !strings.Contains(b, want+"\n") {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

// TestBlackBoxViolations provokes every rule of the compliance table
// against the program and reads each back from /metrics and /violations.
func TestBlackBoxViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program")
	}
	t.Parallel()
	stale := func() string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nETag: \"v1\"\r\nCache-Control: max-age=1\r\nAge: 100\r\nContent-Length: 2\r\n\r\nok", now())
	}
	raw := func(status, fields, rest string) string {
		return fmt.Sprintf("HTTP/1.1 %s\r\nDate: %s\r\n%s\r\n%s", status, now(), fields, rest)
	}
	o := newScriptedOrigin(t, map[string]func(int, *http.Request) string{
		"/204-content-length":    func(int, *http.Request) string { return raw("204 No Content", "Content-Length: 0\r\n", "") },
		"/204-transfer-encoding": func(int, *http.Request) string { return raw("204 No Content", "Transfer-Encoding: chunked\r\n", "") },
		"/204-body":              func(int, *http.Request) string { return raw("204 No Content", "", "hello") },
		"/304-body": func(n int, _ *http.Request) string {
			if n == 1 {
				return stale()
			}
			return raw("304 Not Modified", "ETag: \"v1\"\r\n", "stray")
		},
		"/304-missing-etag": func(n int, _ *http.Request) string {
			if n == 1 {
				return stale()
			}
			return raw("304 Not Modified", "Cache-Control: max-age=60\r\n", "")
		},
		"/head-body":   func(int, *http.Request) string { return raw("200 OK", "Content-Length: 5\r\n", "hello") },
		"/etag-syntax": func(int, *http.Request) string { return raw("200 OK", "ETag: v1\r\nContent-Length: 2\r\n", "ok") },
		"/date-missing": func(int, *http.Request) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		},
		"/content-length-mismatch": func(int, *http.Request) string { return raw("200 OK", "Content-Length: 2\r\n", "okEXTRA") },
		"/cache-control-syntax": func(int, *http.Request) string {
			return raw("200 OK", "Cache-Control: max-age=abc\r\nContent-Length: 2\r\n", "ok")
		},
	})
	listen, admin := startProgram(t, "-listen", "127.0.0.1:0", "-upstream", "http://"+o.ln.Addr().String(), "-admin-listen", "127.0.0.1:0")
	c := dialRaw(t, listen)
	for i, path := range []string{"/304-body", "/304-missing-etag"} {
		c.do("GET", path) // stores the stale entry the 304 revalidates
		waitInserted(t, admin, i+1)
	}
	rules := []string{"204-content-length", "204-transfer-encoding", "204-body", "304-body", "304-missing-etag",
		"head-body", "etag-syntax", "date-missing", "content-length-mismatch", "cache-control-syntax"}
	for _, rule := range rules {
		method := "GET"
		if rule == "head-body" {
			method = "HEAD"
		}
		r := c.do(method, "/"+rule)
		if r.status >= 500 || r.err != nil {
			t.Errorf("%s /%s: %d, %v; want the repaired response", method, rule, r.status, r.err)
		}
		if (r.status == 204 || r.status == 304 || method == "HEAD") && r.body != "" {
			t.Errorf("%s /%s: %d carries content %q", method, rule, r.status, r.body)
		}
	}
	// The connection is still in step: a last request gets its own answer.
	if r := c.do("GET", "/date-missing"); r.status != 200 || r.body != "ok" {
		t.Errorf("after the script: %d %q; want 200 \"ok\" (desynchronised?)", r.status, r.body)
	}

	_, metrics := httpGet(t, "http://"+admin+"/metrics")
	for _, rule := range rules {
		prefix := fmt.Sprintf(`cacheproxy_upstream_violations_total{route="default",rule=%q} `, rule)
		i := strings.Index(metrics, prefix)
		if i < 0 {
			t.Errorf("/metrics lacks %s", prefix)
			continue
		}
		if v := strings.Fields(metrics[i+len(prefix):])[0]; v == "0" {
			t.Errorf("%s0; want it counted", prefix)
		}
	}
	_, violations := httpGet(t, "http://"+admin+"/violations")
	for _, rule := range rules {
		if !strings.Contains(violations, fmt.Sprintf(`"rule": %q`, rule)) {
			t.Errorf("/violations has no evidence of %s", rule)
		}
	}
}

// requireTool returns the path of a tool a test needs. Without it the test
// is skipped, unless CACHEPROXY_REQUIRE_TOOLS=1 (CI sets it): then it
// fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CACHEPROXY_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is not installed (CACHEPROXY_REQUIRE_TOOLS=1): %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// TestBlackBoxMetricsLint scrapes the program after one miss, one hit
// and one revalidation: promtool check metrics has nothing to say, and
// every family the proxy documents is there.
func TestBlackBoxMetricsLint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program")
	}
	t.Parallel()
	promtool := requireTool(t, "promtool")
	o := newScriptedOrigin(t, map[string]func(int, *http.Request) string{
		"/fresh": func(int, *http.Request) string {
			return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nETag: \"f\"\r\nCache-Control: max-age=600\r\nContent-Length: 2\r\n\r\nok", now())
		},
		"/stale": func(n int, _ *http.Request) string {
			if n == 1 {
				return fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nETag: \"s\"\r\nCache-Control: max-age=1\r\nAge: 100\r\nContent-Length: 2\r\n\r\nok", now())
			}
			return fmt.Sprintf("HTTP/1.1 304 Not Modified\r\nDate: %s\r\nETag: \"s\"\r\nCache-Control: max-age=600\r\n\r\n", now())
		},
	})
	listen, admin := startProgram(t, "-listen", "127.0.0.1:0", "-upstream", "http://"+o.ln.Addr().String(), "-admin-listen", "127.0.0.1:0")
	c := dialRaw(t, listen)
	c.do("GET", "/fresh") // miss
	waitInserted(t, admin, 1)
	c.do("GET", "/fresh") // hit
	c.do("GET", "/stale")
	waitInserted(t, admin, 2)
	if r := c.do("GET", "/stale"); r.header.Get("Cache-Status") != "cacheproxy; fwd=stale; fwd-status=304; stored" {
		t.Fatalf("revalidation: Cache-Status %q", r.header.Get("Cache-Status"))
	}
	_, scrape := httpGet(t, "http://"+admin+"/metrics")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{
		`cacheproxy_cache_requests_total{result="hit",route="default"} 1`,
		`cacheproxy_cache_requests_total{result="miss",route="default"} 2`,
		`cacheproxy_cache_requests_total{result="revalidated",route="default"} 1`,
		`cacheproxy_request_duration_seconds_bucket{result="hit",route="default",le="5e-05"}`,
		`cacheproxy_upstream_request_duration_seconds_count{route="default"} 3`,
		`cacheproxy_revalidations_total{outcome="not_modified",route="default"} 1`,
		`cacheproxy_collapsed_requests_total{route="default"} 0`,
		`cacheproxy_cache_served_bytes_total{route="default"} 4`,
		`cacheproxy_revalidation_saved_bytes_total{route="default"} 2`,
		`cacheproxy_upstream_errors_total{kind="connect",route="default"} 0`,
		`cacheproxy_upstream_violations_total{route="default",rule="204-body"} 0`,
		`cacheproxy_cache_capacity_bytes 2.68435456e+08`,
		`cacheproxy_cache_entries 2`,
		`cacheproxy_cache_bytes `,
		`cacheproxy_cache_insertions_total 2`,
		`cacheproxy_cache_evictions_total 0`,
		`cacheproxy_cache_sets_dropped_total 0`,
		`cacheproxy_cache_sets_rejected_total 0`,
		`cacheproxy_build_info{goversion="go`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(scrape, "\n"+want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
