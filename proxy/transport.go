package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// NewTransport returns the upstream transport: its own connection pool,
// dial and response-header timeouts, no compression negotiation (bodies
// are stored as the origin sent them) and no proxy from the environment.
func NewTransport(o TransportOptions) *http.Transport {
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
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * o.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		TLSHandshakeTimeout:   o.DialTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
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
	return http.StatusBadGateway, "upstream-unreachable"
}

// errTruncated reports an upstream body that ended before its framing said.
var errTruncated = errors.New("proxy: upstream body truncated")
