package proxy

import (
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/cacheproxy/cacheproxy/cache"
)

// lookup answers a GET or HEAD, received at now, that the cache takes part in: from a stored
// response when one may be used (RFC 9111 §4), otherwise through a
// collapsed fill. pre, when not nil, holds the Resource ServeFresh found
// for r, which is not looked up again.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request, rt *route, now time.Time, pre *lookedUp) Result {
	reqCC := requestDirectives(r.Header)
	cred := credential(r, rt)
	// The key is built into a reused buffer and looked up without a copy
	// (Store.Get does not keep it); it becomes a string of its own only
	// when the request goes on to the miss path.
	buf := h.keyBufs.Get().(*[]byte)
	kb := cache.AppendKey((*buf)[:0], r)
	var res *cache.Resource
	if pre != nil {
		res = pre.res // ServeFresh looked it up already
	} else {
		res, _ = h.store.Get(unsafe.String(unsafe.SliceData(kb), len(kb)))
	}
	direct := false
	if res != nil && res.Uncacheable {
		res, direct = nil, true // hit-for-miss: nothing stored, do not collapse
	}
	key := func() string { return string(kb) }
	defer func() {
		*buf = kb
		h.keyBufs.Put(buf)
	}()
	e := usableEntry(res, r, cred)
	if e != nil {
		switch cache.Decide(e, reqCC, now) {
		case cache.UseFresh:
			rt.obs.Served(h.serveEntry(w, r, e, nil, cacheStatus{hit: true, ttl: ttlSeconds(e, now), hasTTL: true}, now))
			return ResultHit
		case cache.UseStale:
			rt.obs.Served(h.serveEntry(w, r, e, nil, cacheStatus{hit: true, ttl: ttlSeconds(e, now), hasTTL: true, detail: "max-stale"}, now))
			return ResultStale
		case cache.UseStaleWhileRevalidate:
			h.refreshInBackground(r, rt, key(), cred, e)
			rt.obs.Served(h.serveEntry(w, r, e, nil, cacheStatus{hit: true, ttl: ttlSeconds(e, now), hasTTL: true, detail: "stale-while-revalidate"}, now))
			return ResultStale
		}
	}
	fwd := fwdReason(res, e, reqCC, now)
	if reqCC.OnlyIfCached {
		// RFC 9111 §5.2.1.7: 504 when nothing stored may be used.
		h.fail(w, http.StatusGatewayTimeout, "only-if-cached", "only-if-cached: no stored response may be used")
		return ResultMiss
	}
	if reqCC.NoStore || (r.Method == http.MethodHead && e == nil) {
		// Nothing of the answer may be stored (§5.2.1.5), or a HEAD with
		// nothing to validate: forward as it is.
		h.pass(w, r, rt, fwd, false)
		return ResultMiss
	}
	return h.fetch(w, r, rt, fetchArgs{key: key(), cred: cred, reqCC: reqCC, stale: e, fwd: fwd, vary: varyOf(res), direct: direct})
}

// usableEntry returns the variant of res that may answer r, or nil: the
// newest that matches r's Vary fields and credential (RFC 9111 §4.1) and
// that mayAnswer allows. res may be nil or a hit-for-miss marker.
func usableEntry(res *cache.Resource, r *http.Request, cred string) *cache.Entry {
	if res == nil || res.Uncacheable {
		return nil
	}
	e := res.Select(r.Header, cred)
	if e != nil && !mayAnswer(e, r, cred) {
		return nil
	}
	return e
}

// requestDirectives parses the request's Cache-Control; without one, a
// Pragma: no-cache means no-cache (RFC 9111 §5.4).
func requestDirectives(h http.Header) cache.Directives {
	cc := cache.ParseCacheControl(h["Cache-Control"])
	if len(h["Cache-Control"]) == 0 {
		for _, p := range h["Pragma"] {
			if strings.Contains(strings.ToLower(p), "no-cache") {
				cc.NoCache = true
			}
		}
	}
	return cc
}

// credential returns the hash that keeps a per-credential route's entries
// apart, or "".
func credential(r *http.Request, rt *route) string {
	if !rt.policy.PerCredential {
		return ""
	}
	return cache.CredentialHash(r.Header.Get("Authorization"))
}

// mayAnswer reports whether e, selected for r, may answer it. A response
// stored for anyone answers a request that carries Authorization only when
// it declared itself shareable with authenticated requests (public,
// s-maxage or must-revalidate, as RFC 9111 §3.5 lets such responses be
// stored): otherwise a credential's holder could get another's view.
func mayAnswer(e *cache.Entry, r *http.Request, cred string) bool {
	if cred != "" || r.Header["Authorization"] == nil {
		return true
	}
	return e.CC.Public || e.CC.SMaxAge != cache.Absent || e.CC.MustRevalidate
}

// fwdReason says why a request goes forward, as Cache-Status fwd (RFC 9211
// §2.2).
func fwdReason(res *cache.Resource, e *cache.Entry, reqCC cache.Directives, now time.Time) string {
	switch {
	case e == nil && res == nil:
		return "uri-miss"
	case e == nil:
		return "vary-miss"
	case e.TTL(now) > 0 && (reqCC.NoCache || reqCC.MaxAge != cache.Absent || reqCC.MinFresh != cache.Absent):
		return "request"
	}
	return "stale"
}

// varyOf returns the Vary field names of the newest stored variant.
func varyOf(res *cache.Resource) []string {
	if res == nil || len(res.Variants) == 0 {
		return nil
	}
	return res.Variants[0].Vary
}

// ttlSeconds is e's remaining freshness in whole seconds, negative when
// stale (the Cache-Status ttl parameter): the lifetime less the Age field
// sent with it, so that the two always add up for the client.
func ttlSeconds(e *cache.Entry, now time.Time) int64 {
	return int64(e.Lifetime/time.Second) - int64(e.CurrentAge(now)/time.Second)
}

// refreshInBackground starts the one refresh of key that
// stale-while-revalidate allows (RFC 5861 §3), unless one is under way or
// the handler is closing.
func (h *Handler) refreshInBackground(r *http.Request, rt *route, key, cred string, stale *cache.Entry) {
	if _, busy := h.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.refreshing.Delete(key)
		return
	}
	h.bg.Add(1)
	h.mu.Unlock()
	in := r.Clone(h.bgCtx) // r is not ours once ServeHTTP returns
	args := fetchArgs{key: key, cred: cred, reqCC: cache.ParseCacheControl(nil), stale: stale, vary: stale.Vary}
	go func() {
		defer h.bg.Done()
		defer h.refreshing.Delete(key)
		call := new(fillCall)
		v := <-h.flights.DoChan(flightKey(args, in.Header), func() (any, error) {
			return h.fillOnce(call, nil, in, rt, args), nil
		})
		if f := v.Val.(*fillResult); f.owner == call {
			f.discard()
		}
	}()
}
