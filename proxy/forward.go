package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strings"
)

// hopHeaders are the hop-by-hop fields a proxy never forwards (RFC 9110
// §7.6.1), as httputil.ReverseProxy removes them.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeHopByHop deletes the hop-by-hop fields of h and those named in its
// Connection field.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for k := range h {
		if isHopHeader(k) {
			delete(h, k)
		}
	}
}

// setForwarded sets X-Forwarded-For (appending the client's address to
// what it sent), -Host and -Proto from what the proxy received, and adds
// Via, on an outbound request whose hop-by-hop fields are already gone.
func (h *Handler) setForwarded(out, in *http.Request) {
	out.Header.Del("Forwarded")
	prior := in.Header["X-Forwarded-For"]
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		out.Header.Set("X-Forwarded-For", ip)
	} else {
		out.Header.Del("X-Forwarded-For")
	}
	out.Header.Set("X-Forwarded-Host", in.Host)
	if in.TLS != nil {
		out.Header.Set("X-Forwarded-Proto", "https")
	} else {
		out.Header.Set("X-Forwarded-Proto", "http")
	}
	out.Header["Via"] = appendCopy(in.Header["Via"], h.via)
}

// target sets out's URL to the upstream of rt (reverse mode) or leaves the
// absolute URL the client sent (forward mode); the Host field follows the
// URL.
func (h *Handler) target(out, in *http.Request, rt *route) {
	if rt.upstream != nil {
		out.URL = rt.targetURL(in)
	}
	out.Host = ""
}

// outRequest builds the upstream request of a cache fill from the client's
// GET or HEAD: a clone on ctx, without hop-by-hop fields, the client's own
// validators or a body, with X-Forwarded-* and Via set.
func (h *Handler) outRequest(ctx context.Context, in *http.Request, rt *route) *http.Request {
	out := in.Clone(ctx)
	out.Method = http.MethodGet
	out.Body = nil
	out.ContentLength = 0
	out.Close = false
	out.RequestURI = ""
	removeHopByHop(out.Header)
	out.Header.Del("If-None-Match")
	out.Header.Del("If-Modified-Since")
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", "") // do not let Go add its own
	}
	h.target(out, in, rt)
	h.setForwarded(out, in)
	return out
}

// rewrite is the ReverseProxy's Rewrite for requests the cache passes
// through: hop-by-hop fields are already gone (ReverseProxy removes them).
func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	p := passOf(pr.In.Context())
	pr.Out = pr.Out.WithContext(withExchange(pr.Out.Context(), p.ex))
	h.target(pr.Out, pr.In, p.route)
	h.setForwarded(pr.Out, pr.In)
}

// appendCopy returns a new slice holding s then v: it never writes into
// s's array, which may belong to a stored entry.
func appendCopy(s []string, v string) []string {
	out := make([]string, len(s), len(s)+1)
	copy(out, s)
	return append(out, v)
}
