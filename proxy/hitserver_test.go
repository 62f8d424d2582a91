package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hitResponder writes the test responses both servers give: a path under
// /hit/ names one, anything else is not a hit.
func hitResponder(w http.ResponseWriter, r *http.Request) bool {
	hd := w.Header()
	switch r.URL.Path {
	case "/hit/204":
		hd["Etag"] = []string{`"a"`}
		hd["Date"] = []string{"Wed, 25 Nov 2026 09:35:02 GMT"}
		hd["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusNoContent)
	case "/hit/200":
		hd["Content-Type"] = []string{"application/json"}
		hd["Content-Length"] = []string{"9"}
		hd["Cache-Status"] = []string{"cacheproxy; hit"}
		hd["Vary"] = []string{"Accept", "Accept-Encoding"}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"a": 1}`+"\n")
	case "/hit/304":
		hd["Content-Type"] = []string{"application/json"}
		hd["Content-Length"] = []string{"9"}
		hd["Etag"] = []string{`"a"`}
		w.WriteHeader(http.StatusNotModified)
	case "/hit/sniff": // no Content-Type, no Content-Length: net/http sniffs and frames
		hd["Content-Length"] = []string{"14"}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<html></html>\n")
	case "/hit/newline": // a value with CR LF: net/http writes spaces
		hd["X-Odd"] = []string{"a\r\nb", " padded "}
		hd["Content-Length"] = []string{"2"}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	case "/hit/nolength": // no Content-Length: the connection must end with the body
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "body without a length")
	default:
		return false
	}
	return true
}

// fullResponder writes the responses of the handler's other paths (misses,
// streams, pass-through): what the loop's writer must frame as net/http
// does. Paths under /full/ name them.
func fullResponder(w http.ResponseWriter, r *http.Request) bool {
	hd := w.Header()
	switch r.URL.Path {
	case "/full/small": // no Content-Length, short: framed by its length
		io.WriteString(w, "0123456789")
	case "/full/big": // no Content-Length, long: chunked
		w.Write(bytes.Repeat([]byte("b"), 5000))
	case "/full/stream": // flushed as it goes: chunked
		hd.Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
		}
	case "/full/interim": // 103 Early Hints first (RFC 8297)
		hd.Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		hd.Del("Link")
		hd.Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	case "/full/trailer": // declared trailers, sent after a chunked body (RFC 9112 §7.1.2)
		hd.Set("Trailer", "X-Sum")
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte("t"), 3000))
		hd.Set("X-Sum", "42")
		hd.Set(http.TrailerPrefix+"X-Late", "late")
	case "/full/short": // fewer bytes than its Content-Length: the connection must end
		hd.Set("Content-Length", "10")
		io.WriteString(w, "short")
	case "/full/abort": // the client must see an abort, not a clean end
		hd.Set("Content-Length", "10")
		io.WriteString(w, "abort")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	case "/full/empty": // nothing written: 200 with Content-Length 0
	default:
		return false
	}
	return true
}

// freshOr makes a HitServer.Fresh of answer, which reports whether it
// answered: next answers the rest.
func freshOr(answer func(http.ResponseWriter, *http.Request) bool, next http.Handler) func(http.ResponseWriter, *http.Request) http.Handler {
	return func(w http.ResponseWriter, r *http.Request) http.Handler {
		if answer(w, r) {
			return nil
		}
		return next
	}
}

// hitServers starts a plain http.Server and a HitServer over the same
// responses, on 127.0.0.1, and returns their addresses and the count of
// requests the hit loop answered.
func hitServers(t testing.TB, srvOpts func(*http.Server)) (plain, hit string, answered *atomic.Int64) {
	t.Helper()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hitResponder(w, r) || fullResponder(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "handler: %s %s %s host=%q body=%t\n", r.Method, r.URL, r.Proto, r.Host, r.ContentLength != 0)
	})
	answered = new(atomic.Int64)
	start := func(serve func(net.Listener) error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go serve(ln)
		return ln.Addr().String()
	}
	ps := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	if srvOpts != nil {
		srvOpts(ps)
		srvOpts(hs)
	}
	h := &HitServer{Server: hs, Fresh: freshOr(func(w http.ResponseWriter, r *http.Request) bool {
		ok := hitResponder(w, r)
		if ok {
			answered.Add(1)
		}
		return ok
	}, handler)}
	plain = start(ps.Serve)
	hit = start(h.Serve)
	t.Cleanup(func() { ps.Close(); h.Close() })
	return plain, hit, answered
}

// exchange sends raw on a new connection, half-closes it and returns
// every response read, normalised (status, fields but Date, body), and
// whether the server closed the connection after them.
func exchangeRaw(t testing.TB, addr, raw string, methods ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	var out []string
	for i := 0; ; i++ {
		method := http.MethodGet
		if i < len(methods) {
			method = methods[i]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				out = append(out, "read error: "+err.Error())
			}
			return out
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			out = append(out, "body error: "+err.Error())
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s close=%t\n", resp.Status, resp.Close)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range resp.Header {
				if k != "Date" && !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %q\n", k, resp.Header[k])
		}
		if resp.Header.Get("Date") == "" {
			b.WriteString("(no Date)\n")
		}
		fmt.Fprintf(&b, "\n%q", body)
		for _, k := range slices.Sorted(maps.Keys(resp.Trailer)) {
			fmt.Fprintf(&b, "\ntrailer %s: %q", k, resp.Trailer[k])
		}
		out = append(out, b.String())
	}
}

// TestHitServerAnswersAsNetHTTP sends each request to net/http alone and to
// the HitServer, whose loop answers it: the responses must be the same
// (RFC 9112 §6: framing; RFC 9110 §6.6.1: Date; §15.3.5, §15.4.5: no body
// on 204 and 304).
func TestHitServerAnswersAsNetHTTP(t *testing.T) {
	t.Parallel()
	plain, hit, answered := hitServers(t, nil)
	// A head of exactly the loop's buffer: nothing left to read ahead with.
	fullHead := "GET /full/small HTTP/1.1\r\nHost: a\r\nX-Pad: "
	fullHead += strings.Repeat("p", hitHeadMax-len(fullHead)-4) + "\r\n\r\n"
	tests := []struct {
		name    string
		raw     string
		methods []string
		loop    int64 // requests the loop must answer
	}{
		{"handler: a head as long as the loop's buffer", fullHead + "GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"204 keeps no Content-Length (RFC 9110 §8.6)", "GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"200 with several values", "GET /hit/200 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nUser-Agent: t\r\n\r\n", nil, 1},
		{"304 drops Content-Length and Content-Type", "GET /hit/304 HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\n\r\n", nil, 1},
		{"a missing Content-Type is sniffed", "GET /hit/sniff HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"CR LF in a value becomes spaces", "GET /hit/newline HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"no Content-Length: framed by the body's length", "GET /hit/nolength HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 2},
		{"HEAD has no body (RFC 9110 §9.3.2)", "HEAD /hit/200 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HEAD"}, 1},
		{"query and sub-delims in the target", "GET /hit/204?a=1&b=c,d;e HTTP/1.1\r\nHost: a:8080\r\n\r\n", nil, 1},
		{"handler: sub-delims that escaping would change keep their spelling (RFC 3986 §2.2)", "GET /it's(1)*!?q=(2) HTTP/1.1\r\nHost: a\r\n\r\n", nil, 0},
		{"keep-alive, pipelined", "GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /hit/200 HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/200 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET", "HEAD", "GET"}, 3},
		{"a hit, a miss through the handler, a hit", "GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\nGET /miss HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/200 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 2},
		{"handler: a short body without Content-Length gets one", "GET /full/small HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"handler: a long body without Content-Length is chunked (RFC 9112 §7.1)", "GET /full/big HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"handler: a flushed stream is chunked", "GET /full/stream HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"handler: 1xx before the response (RFC 9110 §15.2)", "GET /full/interim HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"handler: trailers after a chunked body", "GET /full/trailer HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 1},
		{"handler: a body short of its Content-Length ends the connection", "GET /full/short HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 0},
		{"handler: an aborted response ends the connection", "GET /full/abort HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n", nil, 0},
		{"handler: nothing written", "GET /full/empty HTTP/1.1\r\nHost: a\r\n\r\n", nil, 0},
		{"handler: HEAD", "HEAD /full/small HTTP/1.1\r\nHost: a\r\n\r\nHEAD /full/big HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HEAD", "HEAD"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := exchangeRaw(t, plain, tt.raw, tt.methods...)
			before := answered.Load()
			got := exchangeRaw(t, hit, tt.raw, tt.methods...)
			if !slices.Equal(got, want) {
				t.Errorf("hit loop answered\n%s\nnet/http answered\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
			}
			if n := answered.Load() - before; n != tt.loop {
				t.Errorf("the hit loop answered %d requests; want %d", n, tt.loop)
			}
		})
	}
}

// TestHitServerHandsOver sends requests the loop must not answer, even
// though its Fresh would: net/http must parse, answer or reject each, as
// it does alone (RFC 9112 §2.2, §3, §5, §6.1, §6.3, §9.3).
func TestHitServerHandsOver(t *testing.T) {
	t.Parallel()
	plain, hit, answered := hitServers(t, func(s *http.Server) { s.MaxHeaderBytes = 8192 })
	long := strings.Repeat("x", 5000)
	tests := []struct{ name, raw string }{
		{"POST", "POST /hit/204 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"},
		{"a body on a GET", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"},
		{"chunked GET", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"},
		{"smuggling: Content-Length and Transfer-Encoding", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"Connection: close", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "GET /hit/204 HTTP/1.0\r\nHost: a\r\n\r\n"},
		{"HTTP/1.0 keep-alive", "GET /hit/204 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"},
		{"absolute form", "GET http://a/hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"percent-encoded target", "GET /hit/%32%30%34 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"fragment in the target", "GET /hit/204#x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"asterisk form", "GET * HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"obs-fold", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n"},
		{"bare LF", "GET /hit/204 HTTP/1.1\nHost: a\n\n"},
		{"bare LF after the request line", "GET /hit/204 HTTP/1.1\r\nHost: a\n\r\n"},
		{"no Host", "GET /hit/204 HTTP/1.1\r\n\r\n"},
		{"two Hosts", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"Host with a space", "GET /hit/204 HTTP/1.1\r\nHost: a b\r\n\r\n"},
		{"a repeated field", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nAccept: a\r\nAccept: b\r\n\r\n"},
		{"space before the colon", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n"},
		{"control character in a value", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n"},
		{"obs-text in a value", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nX-A: \xff\r\n\r\n"},
		{"a field longer than the loop's buffer", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nX-Long: " + long + "\r\n\r\n"},
		{"Expect: 100-continue", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"},
		{"Upgrade", "GET /hit/204 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"},
		{"lower-case method", "get /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"two spaces", "GET  /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"garbage", "BLAH\r\n\r\n"},
		{"a TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"},
		{"an empty line first", "\r\nGET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := exchangeRaw(t, plain, tt.raw)
			before := answered.Load()
			got := exchangeRaw(t, hit, tt.raw)
			if n := answered.Load() - before; n != 0 {
				t.Errorf("the hit loop answered %d requests; want none, net/http's to parse", n)
			}
			if !slices.Equal(got, want) {
				t.Errorf("HitServer answered\n%s\nnet/http alone answered\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
			}
		})
	}
}

// TestHitServerWaitsForNoMoreThanNetHTTP checks that a request the loop
// cannot answer is handed over as soon as its first line shows it, not
// after the whole head: net/http answers "BLAH" at once.
func TestHitServerWaitsForNoMoreThanNetHTTP(t *testing.T) {
	t.Parallel()
	_, hit, _ := hitServers(t, nil)
	c, err := net.Dial("tcp", hit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "BLAH\r\n") // no end of head, connection left open
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a malformed request line: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d; want 400 from net/http", resp.StatusCode)
	}
}

// TestHitServerShutdown checks that Shutdown ends idle connections of the
// loop and of net/http, and Serve returns http.ErrServerClosed.
func TestHitServerShutdown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &HitServer{Server: &http.Server{Handler: http.NotFoundHandler()}, Fresh: freshOr(hitResponder, http.NotFoundHandler())}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ln) }()

	dial := func(raw string) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		return c, br
	}
	_, inLoop := dial("GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n")
	_, handed := dial("GET /miss HTTP/1.1\r\nHost: a\r\n\r\n")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v; want nil", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v; want http.ErrServerClosed", err)
	}
	for name, br := range map[string]*bufio.Reader{"in the hit loop": inLoop, "handed over": handed} {
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("idle connection %s: read %v after Shutdown; want EOF", name, err)
		}
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("the listener still accepts after Shutdown")
	}
}

// TestHitServerAllocations makes "a hit served by the loop allocates
// nothing" a test: the request, its fields and the response are reused.
func TestHitServerAllocations(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A responder that allocates nothing itself, as Handler.ServeFresh.
	ct, cl, date := []string{"application/json"}, []string{"9"}, []string{"Wed, 25 Nov 2026 09:35:02 GMT"}
	body := []byte(`{"a": 1}` + "\n")
	fresh := func(w http.ResponseWriter, r *http.Request) bool {
		hd := w.Header()
		hd["Content-Type"], hd["Content-Length"], hd["Date"] = ct, cl, date
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return true
	}
	h := &HitServer{Server: &http.Server{Handler: http.NotFoundHandler()}, Fresh: freshOr(fresh, http.NotFoundHandler())}
	go h.Serve(ln)
	t.Cleanup(func() { h.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req := []byte("GET /hit/200 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n")
	// The response's length, read once.
	c.Write(req)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	// The length of one response on the wire: the second, read whole.
	c.Write(req)
	n := 1
	for {
		buf, err := br.Peek(n)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(buf, body) {
			break
		}
		n++
	}
	br.Discard(n)
	buf := make([]byte, n)
	allocs := testing.AllocsPerRun(200, func() {
		c.Write(req)
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= 1 {
		t.Errorf("a hit through the loop allocates %.1f objects (client included); want 0", allocs)
	}
}

// FuzzHitParse checks the loop's parser against net/http's: whatever head
// the loop would answer, http.ReadRequest reads as the same GET or HEAD,
// target, Host and fields, with no body and ending at the same byte.
func FuzzHitParse(f *testing.F) {
	f.Add([]byte("GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("HEAD /a/b?c=d&e HTTP/1.1\r\nhost: example.com:8080\r\nAccept:  */* \r\nx-y:\r\n\r\nGET / HTTP/1.1\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("GET /a!b'(c)*d;e=f HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\", W/\"y\"\r\nCache-Control: max-age=0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > hitHeadMax {
			return
		}
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		hc := newHitConn(&HitServer{Server: &http.Server{}}, c1)
		defer hc.cancel()
		if !headLinesOK(raw) {
			return
		}
		i := bytes.Index(raw, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		head := raw[:i+4]
		if !hc.parse(head) {
			return
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		want, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("the loop answers %q; net/http rejects it: %v", head, err)
		}
		if consumed := len(raw) - br.Buffered(); consumed != len(head) {
			t.Errorf("net/http read %d bytes of head and body; the loop %d", consumed, len(head))
		}
		got := &hc.req
		if got.URL.String() != want.URL.String() || got.URL.ForceQuery != want.URL.ForceQuery {
			t.Errorf("loop URL %q (force query %t); net/http %q (%t)", got.URL, got.URL.ForceQuery, want.URL, want.URL.ForceQuery)
		}
		if got.Method != want.Method || got.Host != want.Host || got.RequestURI != want.RequestURI ||
			got.URL.Path != want.URL.Path || got.URL.RawQuery != want.URL.RawQuery || got.URL.RawPath != want.URL.RawPath {
			t.Errorf("loop: %s %q host %q path %q query %q; net/http: %s %q host %q path %q query %q",
				got.Method, got.RequestURI, got.Host, got.URL.Path, got.URL.RawQuery,
				want.Method, want.RequestURI, want.Host, want.URL.Path, want.URL.RawQuery)
		}
		if want.ContentLength != 0 || want.TransferEncoding != nil || want.Close {
			t.Errorf("net/http sees a body or a close (length %d, TE %q, close %t) the loop does not", want.ContentLength, want.TransferEncoding, want.Close)
		}
		if len(got.Header) != len(want.Header) {
			t.Errorf("loop fields %q; net/http %q", got.Header, want.Header)
		}
		for k, v := range want.Header {
			if !slices.Equal(got.Header[k], v) {
				t.Errorf("field %q: loop %q, net/http %q", k, got.Header[k], v)
			}
		}
	})
}

// TestHitServerRecoversPanics checks that a panic in Fresh closes that
// connection and is logged, as net/http does with a handler's, and that
// the server goes on serving.
func TestHitServerRecoversPanics(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	var mu sync.Mutex
	errLog := log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), "", 0)
	h := &HitServer{Server: &http.Server{Handler: http.NotFoundHandler(), ErrorLog: errLog}, Fresh: freshOr(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		return hitResponder(w, r)
	}, http.NotFoundHandler())}
	go h.Serve(ln)
	t.Cleanup(func() { h.Close() })

	if got := exchangeRaw(t, ln.Addr().String(), "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n"); len(got) != 0 {
		t.Errorf("a panicking request got %q; want the connection closed", got)
	}
	mu.Lock()
	if !strings.Contains(logged.String(), "panic serving") || !strings.Contains(logged.String(), "boom") {
		t.Errorf("ErrorLog got %q; want the panic and its stack", logged.String())
	}
	mu.Unlock()
	if got := exchangeRaw(t, ln.Addr().String(), "GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n"); len(got) != 1 || !strings.HasPrefix(got[0], "204 No Content") {
		t.Errorf("after a panic, a hit got %q; want a 204", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestHitServerNoticesTheClientLeaving checks that a request the loop
// passes to the handler has its context cancelled when the client goes
// away, as net/http's background read does, and not when the client
// merely sends its next request early (pipelining, RFC 9112 §9.3.2).
func TestHitServerNoticesTheClientLeaving(t *testing.T) {
	t.Parallel()
	type seen struct {
		path string
		err  error // the request's context error when the handler ended
	}
	started := make(chan string, 4)
	release := make(chan struct{})
	ended := make(chan seen, 4)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- r.URL.Path
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		ended <- seen{r.URL.Path, r.Context().Err()}
		io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &HitServer{Server: &http.Server{Handler: handler}, Fresh: func(http.ResponseWriter, *http.Request) http.Handler { return handler }}
	go h.Serve(ln)
	t.Cleanup(func() { h.Close() })
	wait := func(what string, ch <-chan seen) seen {
		t.Helper()
		select {
		case s := <-ch:
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s in 10s", what)
		}
		return seen{}
	}

	t.Run("the client leaves", func(t *testing.T) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
		<-started
		c.Close()
		if s := wait("end of the handler after the client left", ended); !errors.Is(s.err, context.Canceled) {
			t.Errorf("the handler ended with context error %v; want context.Canceled", s.err)
		}
	})
	t.Run("the next request arrives early", func(t *testing.T) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
		<-started
		io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
		release <- struct{}{}
		if s := wait("end of /slow", ended); s.path != "/slow" || s.err != nil {
			t.Errorf("/slow ended as %+v; want no context error: the client is still there", s)
		}
		br := bufio.NewReader(c)
		for _, path := range []string{"/slow", "/next"} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response to %s: %v", path, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
		if p := <-started; p != "/next" {
			t.Errorf("second request %q; want /next", p)
		}
		wait("end of /next", ended)
	})
}

// FuzzHitServer sends the same bytes to net/http alone and to the
// HitServer over real connections: whatever the loop answers itself and
// whatever it hands over, the responses must be the same.
func FuzzHitServer(f *testing.F) {
	for _, seed := range []string{
		"GET /hit/204 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /hit/200 HTTP/1.1\r\nHost: a\r\n\r\nGET /miss HTTP/1.1\r\nHost: a\r\n\r\nHEAD /hit/200 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /full/big HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
		"GET /full/trailer HTTP/1.1\r\nHost: a\r\n\r\nGET /hit/304 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /hit/204 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx",
		"GET /hit/204?x=1 HTTP/1.1\r\nhost: b:1\r\nX-A:  v \r\n\r\n",
		"POST /hit/204 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add(seed)
	}
	plain, hit, _ := hitServers(f, nil)
	f.Fuzz(func(t *testing.T, raw string) {
		methods := []string{}
		for line := range strings.SplitSeq(raw, "\n") {
			if strings.HasPrefix(line, "HEAD ") {
				methods = append(methods, "HEAD")
			} else if strings.HasPrefix(line, "GET ") || strings.HasPrefix(line, "POST ") {
				methods = append(methods, "GET")
			}
		}
		want := exchangeRaw(t, plain, raw, methods...)
		got := exchangeRaw(t, hit, raw, methods...)
		if !slices.Equal(got, want) {
			t.Errorf("for %q\nHitServer answered\n%s\nnet/http alone answered\n%s", raw, strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
		}
	})
}

// TestHitServerLooksUpOnce checks that a request the loop passes on after
// Handler.ServeFresh is not looked up in the store again: the loop looks
// up no more than ServeHTTP alone, since ristretto counts every lookup of
// a key towards admitting it.
func TestHitServerLooksUpOnce(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "body")
	})
	u, _ := url.Parse(o.srv.URL)
	store := newMapStore()
	h, err := New(store, Options{Routes: []Route{{Name: "api", Upstream: u, Policy: defaultPolicy()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &HitServer{Server: &http.Server{Handler: h}, Fresh: h.ServeFresh}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// What ServeHTTP alone looks up for a miss and then a hit of another
	// key: the loop must look up no more.
	var want [2]int64
	for i := range want {
		before := store.gets.Load()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://a/direct", nil))
		want[i] = store.gets.Load() - before
	}
	tests := []struct {
		name   string
		status string // Cache-Status, up to its first parameter
		gets   int64
	}{
		{"a miss goes upstream", "cacheproxy; fwd=uri-miss", want[0]},
		{"a hit is answered by the loop", "cacheproxy; hit", want[1]},
	}
	// One connection, kept open: a client that half-closes is one that
	// left, and its miss would be abandoned (as net/http does).
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, tt := range tests {
		before := store.gets.Load()
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		if got := resp.Header.Get("Cache-Status"); !strings.HasPrefix(got, tt.status) {
			t.Fatalf("%s: Cache-Status %q; want %q", tt.name, got, tt.status)
		}
		if n := store.gets.Load() - before; n != tt.gets {
			t.Errorf("%s: the store was looked up %d times; want %d, as ServeHTTP alone", tt.name, n, tt.gets)
		}
	}
}
