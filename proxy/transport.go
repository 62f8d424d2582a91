package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// Transport is the upstream transport: an http.Transport whose
// connections are inspected on the wire. Every byte read from an upstream
// goes through a compliance.Framer: a response's stray bytes (a body after
// a 204, 304 or HEAD response's header section, bytes past
// Content-Length) never reach Go's HTTP client, and a connection whose
// framing is in doubt is closed, never reused. It is safe for concurrent
// use.
type Transport struct {
	t *http.Transport
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns the upstream transport: its own connection pool,
// dial and response-header timeouts, no compression negotiation (bodies
// are stored as the origin sent them), no proxy from the environment, and
// HTTP/1.1 only, so that framing can be inspected.
func NewTransport(o TransportOptions) *Transport {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 30 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newInspectConn(c), nil
	}
	dialTLS := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(c, &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}})
		hctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			c.Close()
			return nil, err
		}
		return newInspectConn(tc), nil
	}
	return &Transport{t: &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		DialTLSContext:        dialTLS,
		MaxIdleConns:          4 * o.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}}
}

// RoundTrip sends req on an inspected connection. The exchange that
// collects what the inspection finds is the one in req's context (see
// withExchange); a request without one gets its own.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeOf(req.Context())
	if ex == nil {
		ex = &exchange{method: req.Method}
	}
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if ic, ok := info.Conn.(*inspectConn); ok {
			ic.begin(ex)
		}
	}}
	return t.t.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

// CloseIdleConnections closes the idle upstream connections.
func (t *Transport) CloseIdleConnections() { t.t.CloseIdleConnections() }

// errPoisoned is returned by an inspected connection whose framing is in
// doubt. Nothing is written, so Go's client retries a replayable request
// on a new connection.
var errPoisoned = errors.New("proxy: upstream connection closed: its framing is in doubt")

// inspectConn is an upstream connection whose reads pass through a
// compliance.Framer. It is safe for the concurrent Read and Write that
// Go's client makes.
type inspectConn struct {
	net.Conn

	// mu guards fr, ex and poisoned.
	mu       sync.Mutex
	fr       *compliance.Framer
	ex       *exchange // the exchange whose response is being read
	poisoned bool
}

func newInspectConn(c net.Conn) *inspectConn {
	return &inspectConn{Conn: c, fr: compliance.NewFramer()}
}

// begin records that ex's request is about to be written.
func (c *inspectConn) begin(ex *exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ex = ex
	c.fr.Begin(ex.method)
}

// Read passes on the bytes that belong to responses. Once stray bytes
// appear it passes on those before them, closes the connection, and then
// reports io.EOF.
func (c *inspectConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	bad := c.poisoned
	c.mu.Unlock()
	if bad {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	ex := c.ex
	var vs []compliance.Violation
	if n > 0 {
		keep, found, poisoned := c.fr.Feed(p[:n])
		vs = found
		if poisoned {
			c.poisoned = true
			n = keep
			c.Conn.Close()
		}
	}
	if err != nil && !c.poisoned {
		vs = append(vs, c.fr.EOF()...)
	}
	poisoned := c.poisoned
	c.mu.Unlock()
	for _, v := range vs {
		if ex != nil {
			ex.add(v)
		}
	}
	if poisoned && n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// Write refuses to write on a connection whose framing is in doubt.
func (c *inspectConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	bad := c.poisoned
	c.mu.Unlock()
	if bad {
		return 0, errPoisoned
	}
	return c.Conn.Write(p)
}

// errorKind classifies an upstream error for metrics: no connection
// (connect), no answer in time (timeout), or a connection that broke
// during the exchange (reset).
func errorKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return UpstreamErrorTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return UpstreamErrorConnect
	}
	return UpstreamErrorReset
}

// upstreamFailure maps an upstream error to the status the client gets and
// a Cache-Status detail: 504 for timeouts, 502 for everything else.
func upstreamFailure(err error) (code int, detail string) {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "upstream-timeout"
	case errors.Is(err, errTruncated):
		return http.StatusBadGateway, "upstream-truncated"
	}
	var ve *violationError
	if errors.As(err, &ve) {
		return http.StatusBadGateway, string(ve.v.Rule)
	}
	return http.StatusBadGateway, "upstream-unreachable"
}

// errTruncated reports an upstream body that ended before its framing said.
var errTruncated = errors.New("proxy: upstream body truncated")
