package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawOrigin is a TCP origin that answers every request on a connection
// with the bytes reply returns, misbehaving on purpose.
type rawOrigin struct {
	ln       net.Listener
	requests atomic.Int64
}

func newRawOrigin(t *testing.T, reply func(n int64, req *http.Request) string) *rawOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &rawOrigin{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
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
					n := o.requests.Add(1)
					out := reply(n, req)
					if _, err := io.WriteString(c, out); err != nil {
						return
					}
					if strings.HasSuffix(out, "\x00close") {
						return
					}
				}
			}()
		}
	}()
	return o
}

func (o *rawOrigin) url() string { return "http://" + o.ln.Addr().String() }

// rawGet sends a GET over a new connection and returns what came back up
// to the server closing it or the response ending, as raw text, plus
// whether the read ended in an error (an abort).
func rawGet(t *testing.T, addr, path string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	for k, v := range resp.Header {
		b.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	body, err := io.ReadAll(resp.Body)
	b.WriteString("\n" + string(body))
	return resp.Status + "\n" + b.String(), err
}

func TestNoContentFramingRepaired(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply string
	}{
		{"RFC 9110 §8.6 204 with Content-Length", "HTTP/1.1 204 No Content\r\nETag: \"a\"\r\nContent-Length: 5\r\n\r\n"},
		{"RFC 9112 §6.1 204 with Transfer-Encoding", "HTTP/1.1 204 No Content\r\nETag: \"a\"\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newRawOrigin(t, func(int64, *http.Request) string { return tc.reply })
			for _, mode := range []string{"GET", "POST"} {
				f := newFixture(t, o.url(), defaultPolicy())
				req, _ := http.NewRequest(mode, f.front.URL+"/x", nil)
				c, err := net.Dial("tcp", f.front.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				req.Write(c)
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						t.Fatalf("%s: reading head: %v", mode, err)
					}
					head.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				c.Close()
				h := strings.ToLower(head.String())
				if !strings.HasPrefix(h, "http/1.1 204") || strings.Contains(h, "\r\ncontent-length:") || strings.Contains(h, "\r\ntransfer-encoding:") {
					t.Errorf("%s: proxy sent\n%s", mode, head.String())
				}
			}
		})
	}
}

func TestTruncatedBodyNotStored(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t, func(int64, *http.Request) string {
		return "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 100\r\n\r\nonly this\x00close"
	})
	f := newFixture(t, o.url(), defaultPolicy())
	addr := f.front.Listener.Addr().String()
	for i := range 2 {
		if _, err := rawGet(t, addr, "/t"); err == nil {
			t.Errorf("request %d: read ended cleanly; want an abort (body shorter than Content-Length)", i)
		}
	}
	if got := o.requests.Load(); got != 2 {
		t.Errorf("origin requests = %d; want 2 (a truncated body is never stored)", got)
	}
	if n := f.store.responses(); n != 0 {
		t.Errorf("store holds %d resources; want 0", n)
	}
}

func TestForwardMode(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, etag204(`"f"`))
	store := newMapStore()
	h, err := New(store, Options{Mode: Forward, Forward: ForwardOptions{Policy: defaultPolicy()}})
	if err != nil {
		t.Fatal(err)
	}
	front := newServer(t, h)
	proxyURL := "http://" + front
	client := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(proxyURL) }}}
	for i := range 2 {
		resp, err := client.Get(o.srv.URL + "/thing")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Errorf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if got := o.hits.Load(); got != 1 {
		t.Errorf("origin requests = %d; want 1 (forwarded 204 cached)", got)
	}
	// An origin-form request is refused in forward mode.
	resp, err := http.Get(proxyURL + "/thing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("origin-form request status = %d; want 400", resp.StatusCode)
	}
}

func TestForwardModeClientsAndConnect(t *testing.T) {
	t.Parallel()
	// An echo server stands in for a TLS origin behind CONNECT.
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(echo.Addr().String())
	p := 0
	fmt.Sscan(port, &p)

	cases := []struct {
		name     string
		allow    []netip.Prefix
		ports    []int
		wantCode string
	}{
		{"loopback client, allowed port", nil, []int{p}, "200"},
		{"port not allowed", nil, nil, "403"},
		{"client not allowed", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []int{p}, "403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := New(newMapStore(), Options{Mode: Forward, Forward: ForwardOptions{AllowClients: tc.allow, ConnectPorts: tc.ports}})
			if err != nil {
				t.Fatal(err)
			}
			front := newServer(t, h)
			c, err := net.Dial("tcp", front)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			target := echo.Addr().String()
			io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
			br := bufio.NewReader(c)
			status, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(status, " "+tc.wantCode+" ") {
				t.Fatalf("CONNECT status line %q; want %s", status, tc.wantCode)
			}
			if tc.wantCode != "200" {
				return
			}
			for line, _ := br.ReadString('\n'); line != "\r\n"; line, _ = br.ReadString('\n') {
			}
			io.WriteString(c, "ping")
			buf := make([]byte, 4)
			if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
				t.Errorf("tunnel echo = %q, %v; want ping", buf, err)
			}
			h.Close() // ends the tunnel
			if _, err := br.ReadByte(); err == nil {
				t.Errorf("tunnel still open after Close")
			}
		})
	}
}

// newServer serves h on a loopback listener and returns its address.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestInterimResponses(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t, func(int64, *http.Request) string {
		return "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 2\r\n\r\nok"
	})
	f := newFixture(t, o.url(), defaultPolicy())
	for i, want := range []int{1, 0} {
		var got []int
		var link string
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, code)
				link = h.Get("Link")
				return nil
			},
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", f.front.URL+"/hints", nil)
		resp, err := f.front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if len(got) != want || (want == 1 && (got[0] != 103 || link == "")) {
			t.Errorf("request %d: interim responses %v (Link %q); want %d 103 with its Link (RFC 9110 §15.2: forwarded, never cached)", i, got, link, want)
		}
		if resp.Header.Get("Link") != "" {
			t.Errorf("request %d: the 103's Link leaked into the final response", i)
		}
	}
}
