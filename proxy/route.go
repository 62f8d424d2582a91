package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// route is a Route prepared for matching, with its observer resolved.
type route struct {
	name       string
	host       string // lower-case; "" any; "*.x" suffix match
	pathPrefix string // no trailing slash except "/"
	upstream   *url.URL
	policy     cache.Policy
	compliance CompliancePolicy
	obs        RouteObserver
	evidence   *evidenceRing
	logs       *logLimiter
}

// router picks the route of a request. It is immutable after newRouter.
type router struct {
	// routes sorted most specific first: exact host, wildcard host, any
	// host; then longer path prefixes first.
	routes []*route
}

func newRouter(rs []Route, obs Observer) (*router, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("proxy: reverse mode needs at least one route")
	}
	seen := make(map[string]bool, len(rs))
	out := make([]*route, 0, len(rs))
	for i, r := range rs {
		if r.Name == "" {
			return nil, fmt.Errorf("proxy: route %d: name is empty", i)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("proxy: route %q: name used twice", r.Name)
		}
		seen[r.Name] = true
		if r.Upstream == nil || r.Upstream.Host == "" || (r.Upstream.Scheme != "http" && r.Upstream.Scheme != "https") {
			return nil, fmt.Errorf("proxy: route %q: upstream must be an absolute http or https URL", r.Name)
		}
		p := r.PathPrefix
		if p == "" {
			p = "/"
		}
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("proxy: route %q: path prefix %q must start with /", r.Name, p)
		}
		if len(p) > 1 {
			p = strings.TrimSuffix(p, "/")
		}
		out = append(out, &route{
			name:       r.Name,
			host:       strings.ToLower(r.Host),
			pathPrefix: p,
			upstream:   r.Upstream,
			policy:     r.Policy,
			compliance: r.Compliance,
			obs:        routeObserver(obs, r.Name),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := hostRank(out[i].host), hostRank(out[j].host)
		if a != b {
			return a < b
		}
		if a == 1 && len(out[i].host) != len(out[j].host) {
			return len(out[i].host) > len(out[j].host)
		}
		return len(out[i].pathPrefix) > len(out[j].pathPrefix)
	})
	return &router{routes: out}, nil
}

func hostRank(h string) int {
	switch {
	case h == "":
		return 2
	case strings.HasPrefix(h, "*."):
		return 1
	}
	return 0
}

// match returns the route for host (as received, maybe with a port) and
// path, or nil.
func (rt *router) match(host, path string) *route {
	host = stripPort(host)
	for _, r := range rt.routes {
		if r.matchHost(host) && matchPrefix(r.pathPrefix, path) {
			return r
		}
	}
	return nil
}

func (r *route) matchHost(host string) bool {
	switch {
	case r.host == "":
		return true
	case strings.HasPrefix(r.host, "*."):
		suffix := r.host[1:] // ".example.com"
		return len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix)
	}
	return strings.EqualFold(host, r.host)
}

// matchPrefix matches at a segment boundary: "/api" takes "/api", "/api/"
// and "/api/x" but not "/apix".
func matchPrefix(prefix, path string) bool {
	if prefix == "/" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// stripPort removes a ":port" suffix from host ("api.example.com:8080",
// "[::1]:8080"), and the brackets of an IPv6 literal. It allocates
// nothing: net.SplitHostPort's error would, for every Host without a port.
func stripPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	switch {
	case host != "" && host[0] == '[':
		if j := strings.IndexByte(host, ']'); j > 0 {
			return host[1:j]
		}
		return host
	case i < 0 || strings.IndexByte(host[:i], ':') >= 0:
		return host // no port, or a bare IPv6 literal
	}
	return host[:i]
}

// routeObserver resolves the observer of one route; a nil Observer yields
// one that discards.
func routeObserver(o Observer, name string) RouteObserver {
	if o == nil {
		return nopObserver{}
	}
	if ro := o.Route(name); ro != nil {
		return ro
	}
	return nopObserver{}
}

type nopObserver struct{}

func (nopObserver) Request(Result, time.Duration) {}
func (nopObserver) Upstream(time.Duration)        {}
func (nopObserver) Revalidation(string)           {}
func (nopObserver) Collapsed()                    {}
func (nopObserver) Violation(compliance.Rule)     {}
func (nopObserver) UpstreamError(string)          {}
func (nopObserver) Served(int)                    {}
func (nopObserver) Saved(int)                     {}

// targetURL is the upstream URL for request r on route rt: the route's
// upstream scheme and host, its path joined in front of the request's.
func (r *route) targetURL(in *http.Request) *url.URL {
	u := *in.URL
	u.Scheme = r.upstream.Scheme
	u.Host = r.upstream.Host
	if p := r.upstream.Path; p != "" && p != "/" {
		u.Path = strings.TrimSuffix(p, "/") + in.URL.Path
		if in.URL.RawPath != "" {
			u.RawPath = strings.TrimSuffix(r.upstream.EscapedPath(), "/") + in.URL.EscapedPath()
		}
	}
	u.User = nil
	return &u
}
