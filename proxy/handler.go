// Package proxy is the caching proxy's http.Handler: routing, forwarding,
// serving stored responses and 304s, revalidation, request collapsing,
// invalidation after unsafe methods, Cache-Status, and CONNECT tunnels in
// forward mode.
//
// Files: handler.go (construction, dispatch), route.go (routing),
// lookup.go (the cacheable path: lookup and freshness decisions),
// fill.go (collapsed upstream fetches that fill the cache), serve.go
// (writing stored responses and 304s), pass.go (requests the cache does
// not answer, through httputil.ReverseProxy), forward.go (outbound request
// headers), status.go (Cache-Status), tunnel.go (CONNECT), transport.go.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cacheproxy/cacheproxy/cache"
	"golang.org/x/sync/singleflight"
)

// Handler is the caching proxy's http.Handler. It is safe for concurrent
// use. Close stops its background work.
type Handler struct {
	store     Store
	mode      Mode
	router    *router // reverse mode
	fwdRoute  *route  // forward mode
	fwd       ForwardOptions
	transport http.RoundTripper
	rp        *httputil.ReverseProxy
	log       *slog.Logger
	access    *slog.Logger // nil: no access log
	name      string
	via       string // "1.1 <name>"
	fill      time.Duration
	retention time.Duration
	// uncacheableTTL is how long a key whose answer could not be stored
	// skips collapsing (hit-for-miss).
	uncacheableTTL time.Duration
	now            func() time.Time

	flights singleflight.Group
	keyBufs sync.Pool  // *[]byte buffers the hit path builds keys in
	bufs    bufferPool // body copy buffers (copyBody, ReverseProxy)
	memo    headerMemo // header values the hit path sends over and over
	viaHdr  []string   // {via}: shared, never modified
	// refreshing holds the keys with a background refresh under way
	// (stale-while-revalidate: one per key).
	refreshing sync.Map

	bgCtx    context.Context // cancelled by Close; parent of every fill
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // background refreshes and tunnels

	// mu guards tunnels and closed.
	mu      sync.Mutex
	tunnels map[net.Conn]struct{}
	closed  bool
}

var _ http.Handler = (*Handler)(nil)

// New validates o and builds a Handler over store.
func New(store Store, o Options) (*Handler, error) {
	if store == nil {
		return nil, errors.New("proxy: store is nil")
	}
	h := &Handler{
		store:     store,
		mode:      o.Mode,
		transport: o.Transport,
		log:       o.Logger,
		access:    o.AccessLog,
		name:      o.Name,
		fill:      o.FillTimeout,
		retention: o.StaleRetention,
		now:       o.Now,
		tunnels:   make(map[net.Conn]struct{}),
	}
	if h.mode == "" {
		h.mode = Reverse
	}
	if h.transport == nil {
		h.transport = NewTransport(TransportOptions{})
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.name == "" {
		h.name = "cacheproxy"
	}
	if !ValidName(h.name) {
		return nil, fmt.Errorf("proxy: name %q must be a letter followed by letters, digits and !#$%%&'*+-.^_`|~", h.name)
	}
	h.via = "1.1 " + h.name
	h.viaHdr = []string{h.via}
	h.keyBufs.New = func() any { b := make([]byte, 0, 256); return &b }
	if h.fill <= 0 {
		h.fill = 60 * time.Second
	}
	if h.retention <= 0 {
		h.retention = time.Hour
	}
	h.uncacheableTTL = o.UncacheableTTL
	if h.uncacheableTTL <= 0 {
		h.uncacheableTTL = 10 * time.Second
	}
	if h.now == nil {
		h.now = time.Now
	}
	switch h.mode {
	case Reverse:
		rt, err := newRouter(o.Routes, o.Observer)
		if err != nil {
			return nil, err
		}
		h.router = rt
	case Forward:
		if len(o.Routes) > 0 {
			return nil, errors.New("proxy: forward mode takes no routes")
		}
		h.fwd = o.Forward
		if len(h.fwd.AllowClients) == 0 {
			h.fwd.AllowClients = []netip.Prefix{
				netip.MustParsePrefix("127.0.0.0/8"),
				netip.MustParsePrefix("::1/128"),
			}
		}
		if len(h.fwd.ConnectPorts) == 0 {
			h.fwd.ConnectPorts = []int{443}
		}
		if h.fwd.DialTimeout <= 0 {
			h.fwd.DialTimeout = 10 * time.Second
		}
		h.fwdRoute = &route{name: "forward", policy: h.fwd.Policy, compliance: h.fwd.Compliance, obs: routeObserver(o.Observer, "forward")}
	default:
		return nil, fmt.Errorf("proxy: mode %q is neither %q nor %q", h.mode, Reverse, Forward)
	}
	evidence, logEvery := o.Evidence, o.ViolationLogInterval
	if evidence == 0 {
		evidence = 32
	}
	if logEvery <= 0 {
		logEvery = 10 * time.Second
	}
	for _, rt := range h.routes() {
		rt.evidence = newEvidenceRing(evidence)
		rt.logs = &logLimiter{every: logEvery}
	}
	h.bgCtx, h.bgCancel = context.WithCancel(context.Background())
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      h.transport,
		ModifyResponse: h.passResponse,
		ErrorHandler:   h.passError,
		ErrorLog:       slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		BufferPool:     &h.bufs,
	}
	return h, nil
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serveHTTP(w, r, nil)
}

// serveHTTP answers r; pre, when not nil, is what ServeFresh already
// looked up for it.
func (h *Handler) serveHTTP(w http.ResponseWriter, r *http.Request, pre *lookedUp) {
	start := h.now()
	rt := h.routeOf(w, r)
	if rt == nil {
		return
	}
	res := ResultMiss // what a panic (an aborted body) is counted as
	var rec *accessRecord
	if h.access != nil {
		rec = &accessRecord{ResponseWriter: w}
		w, r = rec, r.WithContext(context.WithValue(r.Context(), accessKey{}, rec))
	}
	defer func() {
		d := h.now().Sub(start)
		rt.obs.Request(res, d)
		if rec != nil {
			h.logAccess(rec, r, rt, res, d)
		}
	}()
	res = h.serve(w, r, rt, start, pre)
}

// ServeFresh answers r from a fresh stored response when that is all r
// needs, and returns nil. Otherwise it writes nothing and returns the
// handler that answers r, which reuses the cache lookup ServeFresh made
// (a second one would count the key twice in ristretto's admission
// policy). It is the hit loop's entry (HitServer.Fresh): a GET or HEAD in
// reverse mode that matches a route, that no bypass rule, loop or request
// directive sends elsewhere, and whose stored variant is fresh (RFC 9111
// §4.2) is answered exactly as ServeHTTP would, counted and logged the
// same way.
func (h *Handler) ServeFresh(w http.ResponseWriter, r *http.Request) http.Handler {
	if h.mode != Reverse || r.Method != http.MethodGet && r.Method != http.MethodHead || bypassesCache(r) || h.looped(r) {
		return h
	}
	rt := h.router.match(r.Host, r.URL.Path)
	if rt == nil {
		return h
	}
	start := h.now()
	reqCC := requestDirectives(r.Header)
	cred := credential(r, rt)
	buf := h.keyBufs.Get().(*[]byte)
	kb := cache.AppendKey((*buf)[:0], r)
	res, _ := h.store.Get(unsafe.String(unsafe.SliceData(kb), len(kb)))
	*buf = kb
	h.keyBufs.Put(buf)
	e := usableEntry(res, r, cred)
	if e == nil || cache.Decide(e, reqCC, start) != cache.UseFresh {
		return &lookedUp{h: h, res: res}
	}
	var rec *accessRecord
	if h.access != nil {
		rec = &accessRecord{ResponseWriter: w}
		w = rec
	}
	rt.obs.Served(h.serveEntry(w, r, e, nil, cacheStatus{hit: true, ttl: ttlSeconds(e, start), hasTTL: true}, start))
	d := h.now().Sub(start)
	rt.obs.Request(ResultHit, d)
	if rec != nil {
		h.logAccess(rec, r, rt, ResultHit, d)
	}
	return nil
}

// lookedUp is the handler ServeFresh returns for a request it looked up
// but could not answer: ServeHTTP, with the Resource found (nil if none).
type lookedUp struct {
	h   *Handler
	res *cache.Resource
}

func (l *lookedUp) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.h.serveHTTP(w, r, l) }

// routeOf finds the route of r, or answers the error itself and returns
// nil.
func (h *Handler) routeOf(w http.ResponseWriter, r *http.Request) *route {
	if h.looped(r) {
		h.fail(w, http.StatusLoopDetected, "loop", "request already passed through this proxy (Via)")
		return nil
	}
	if h.mode == Forward {
		if !h.clientAllowed(r.RemoteAddr) {
			h.fail(w, http.StatusForbidden, "client-denied", "client address not allowed to use this proxy")
			return nil
		}
		if r.Method == http.MethodConnect {
			return h.fwdRoute
		}
		if !r.URL.IsAbs() || r.URL.Scheme != "http" || r.URL.Host == "" {
			h.fail(w, http.StatusBadRequest, "not-absolute", "forward proxy: the request target must be an absolute http:// URL (https goes through CONNECT)")
			return nil
		}
		return h.fwdRoute
	}
	if r.Method == http.MethodConnect {
		h.fail(w, http.StatusMethodNotAllowed, "method", "CONNECT is served in forward mode only")
		return nil
	}
	rt := h.router.match(r.Host, r.URL.Path)
	if rt == nil {
		h.fail(w, http.StatusNotFound, "no-route", "no route matches this host and path")
	}
	return rt
}

// serve answers r, received at now, on rt and says how.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt *route, now time.Time, pre *lookedUp) Result {
	switch {
	case r.Method == http.MethodConnect:
		h.tunnel(w, r)
		return ResultBypass
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.pass(w, r, rt, "method", isUnsafe(r.Method))
		return ResultBypass
	case bypassesCache(r):
		h.pass(w, r, rt, "bypass", false)
		return ResultBypass
	}
	return h.lookup(w, r, rt, now, pre)
}

// Close cancels background refreshes, closes CONNECT tunnels and waits for
// both to end. Call it after the servers using h have shut down.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	for c := range h.tunnels {
		c.Close()
	}
	h.mu.Unlock()
	h.bgCancel()
	h.bg.Wait()
	return nil
}

// isUnsafe reports whether a response to method invalidates stored ones
// (RFC 9111 §4.4: methods other than the safe GET, HEAD, OPTIONS, TRACE).
func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// bypassesCache reports GET/HEAD requests the cache does not take part in:
// ranges (206 is never stored), preconditions that only an origin can
// evaluate (RFC 9111 §4.3.2: If-Match, If-Unmodified-Since, If-Range), and
// protocol upgrades.
func bypassesCache(r *http.Request) bool {
	hd := r.Header
	return hd["Range"] != nil || hd["If-Match"] != nil || hd["If-Unmodified-Since"] != nil ||
		hd["If-Range"] != nil || hd["Upgrade"] != nil
}

// looped reports whether r already passed through a proxy with our name.
func (h *Handler) looped(r *http.Request) bool {
	for _, v := range r.Header["Via"] {
		for part := range strings.SplitSeq(v, ",") {
			f := strings.Fields(part)
			if len(f) >= 2 && f[1] == h.name {
				return true
			}
		}
	}
	return false
}

func (h *Handler) clientAllowed(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range h.fwd.AllowClients {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fail answers an error the proxy itself decided, with a Cache-Status
// detail naming it.
func (h *Handler) fail(w http.ResponseWriter, code int, detail, msg string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Status", cacheStatus{fwd: "", detail: detail}.format(h.name))
	hd.Set("Via", h.via)
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// ValidName reports whether s may name the proxy in Cache-Status and Via:
// an RFC 8941 sf-token that is also an RFC 9110 token, that is a letter
// followed by letters, digits and !#$%&'*+-.^_`|~.
func ValidName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
