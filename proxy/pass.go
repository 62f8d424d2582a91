package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
)

// passInfo travels in the context of a request the cache passes through,
// from pass to the ReverseProxy hooks.
type passInfo struct {
	route      *route
	ex         *exchange
	fwd        string // Cache-Status fwd reason
	invalidate bool   // unsafe method: invalidate on a non-error response
	in         *http.Request
	start      time.Time
}

type passKey struct{}

func passOf(ctx context.Context) *passInfo {
	p, _ := ctx.Value(passKey{}).(*passInfo)
	return p
}

// pass forwards r upstream through httputil.ReverseProxy (hop-by-hop
// fields, trailers, 1xx, upgrades and flushing handled there), stores
// nothing, and after a non-error response to an unsafe method invalidates
// the stored responses of the target URI and of same-origin Location and
// Content-Location (RFC 9111 §4.4).
func (h *Handler) pass(w http.ResponseWriter, r *http.Request, rt *route, fwd string, invalidate bool) {
	p := &passInfo{route: rt, fwd: fwd, invalidate: invalidate, in: r, ex: h.newExchange(rt, r, r.Method), start: h.now()}
	h.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), passKey{}, p)))
}

// passResponse is the ReverseProxy's ModifyResponse.
func (h *Handler) passResponse(resp *http.Response) error {
	p := passOf(resp.Request.Context())
	d := h.now().Sub(p.start)
	p.route.obs.Upstream(d)
	recordUpstream(p.in.Context(), d)
	vs := p.ex.settle(resp, p.in.Header["If-None-Match"] != nil)
	if err := p.route.rejection(vs); err != nil {
		return err // passError answers 502
	}
	detail := repair(resp.Header, vs)
	if resp.StatusCode >= 500 {
		p.route.obs.UpstreamError(UpstreamErrorStatus5xx)
	}
	if p.invalidate && resp.StatusCode < 400 {
		h.invalidate(p.in, resp)
	}
	finishForwarded(resp.Header, resp.StatusCode)
	resp.Header["Via"] = appendCopy(resp.Header["Via"], h.via)
	resp.Header["Cache-Status"] = appendCopy(resp.Header["Cache-Status"],
		cacheStatus{fwd: p.fwd, fwdStatus: resp.StatusCode, detail: detail}.format(h.name))
	return nil
}

// passError is the ReverseProxy's ErrorHandler.
func (h *Handler) passError(w http.ResponseWriter, r *http.Request, err error) {
	p := passOf(r.Context())
	p.ex.settle(nil, false) // reports what the wire showed, once
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client left; nobody to answer
	}
	var ve *violationError
	if !errors.As(err, &ve) { // a rejected response was observed in passResponse
		d := h.now().Sub(p.start)
		p.route.obs.Upstream(d) // failed round trips count, as in fills
		recordUpstream(p.in.Context(), d)
	}
	code, detail := upstreamFailure(err)
	if !errors.As(err, &ve) {
		p.route.obs.UpstreamError(errorKind(err))
	}
	h.log.Warn("upstream request failed", "route", p.route.name,
		"method", r.Method, "path", r.URL.Path, "err", err)
	h.fail(w, code, detail, http.StatusText(code))
}

// invalidate deletes the stored responses for in's target URI and the
// same-origin URIs in resp's Location and Content-Location.
func (h *Handler) invalidate(in *http.Request, resp *http.Response) {
	key := cache.Key(in)
	h.store.Delete(key)
	base := &url.URL{Scheme: "http", Host: in.Host, Path: in.URL.Path, RawQuery: in.URL.RawQuery}
	if in.URL.IsAbs() {
		base = in.URL
	} else if in.TLS != nil {
		base.Scheme = "https"
	}
	for _, f := range [...]string{"Location", "Content-Location"} {
		v := resp.Header.Get(f)
		if v == "" {
			continue
		}
		u, err := base.Parse(v)
		if err != nil {
			continue
		}
		if k := cache.Key(&http.Request{URL: u, Host: u.Host}); originOf(k) == originOf(key) {
			h.store.Delete(k)
		}
	}
}

// originOf returns the scheme://host part of a cache key.
func originOf(key string) string {
	i := strings.Index(key, "://")
	if i < 0 {
		return key
	}
	if j := strings.IndexByte(key[i+3:], '/'); j >= 0 {
		return key[:i+3+j]
	}
	return key
}

// finishForwarded makes a forwarded response's framing fields compliant:
// a 1xx, 204 or 304 carries neither Content-Length nor Transfer-Encoding
// (RFC 9110 §8.6, RFC 9112 §6.1), whatever the upstream sent.
func finishForwarded(h http.Header, status int) {
	if status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
	}
}
