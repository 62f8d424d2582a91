package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"golang.org/x/sync/singleflight"
)

// fetchArgs is what a fill needs to know about the request it serves.
type fetchArgs struct {
	key   string
	cred  string
	reqCC cache.Directives
	stale *cache.Entry // the selected stored response that must be validated, or nil
	fwd   string       // Cache-Status fwd reason
	vary  []string     // Vary names known for key: part of the flight key
	// direct skips collapsing: the key's last answer was not storable
	// (an Uncacheable marker), so waiting on another request would only
	// delay this one.
	direct bool
}

// fillCall identifies the caller whose closure ran a fill: only that
// caller may use the parts of a fillResult that cannot be shared.
type fillCall struct{ _ int }

// fillResult is the outcome of one upstream fetch, shared by every request
// collapsed onto it.
type fillResult struct {
	owner *fillCall

	// entry is the shareable response: stored, or a buffered one that
	// could not be stored (an upstream 5xx while a stale entry exists).
	entry       *cache.Entry
	stored      bool
	fromCache   bool // the second look inside the flight found it fresh
	revalidated bool // a 304 freshened entry
	fwdStatus   int  // the upstream's status, 0 if none arrived

	// Owner only.
	ownerOnly http.Header    // upstream fields never stored (Set-Cookie, ...)
	resp      *http.Response // not storable: body unread past prefix
	prefix    []byte
	release   context.CancelFunc // ends the fill's context once resp is consumed
	reason    string             // why resp was not stored

	violation string        // the first rule the upstream response broke, "" if none
	upstream  time.Duration // time to the upstream's response header

	err     error  // no usable response
	partial []byte // with errTruncated: what arrived (owner only, resp holds the header)
}

// discard releases what only the owner may use, when it will not.
func (f *fillResult) discard() {
	if f.resp != nil {
		f.resp.Body.Close()
	}
	if f.release != nil {
		f.release()
	}
}

// flightKey is the collapsing key: the primary key, the credential (or,
// on a shared route, whether the request carries Authorization), and the
// request's values of the Vary fields known for it.
func flightKey(a fetchArgs, reqHeader http.Header) string {
	auth := a.cred == "" && reqHeader["Authorization"] != nil
	if a.cred == "" && len(a.vary) == 0 && !auth {
		return a.key
	}
	var b strings.Builder
	b.WriteString(a.key)
	b.WriteByte(0)
	b.WriteString(a.cred)
	if auth {
		b.WriteString("\x00authorized") // never collapsed with anonymous requests
	}
	for _, v := range cache.VaryValues(a.vary, reqHeader) {
		b.WriteByte(0)
		b.WriteString(v)
	}
	return b.String()
}

// fetch answers r through a fill collapsed with every concurrent request
// for the same flight key (singleflight). The fill runs on a context of its
// own, not the client's. Waiters whose request the result cannot answer
// (not storable, or a different Vary selection) go upstream themselves.
func (h *Handler) fetch(w http.ResponseWriter, r *http.Request, rt *route, a fetchArgs) Result {
	for attempt := 0; ; attempt++ {
		call := new(fillCall)
		iw := &interimWriter{w: w}
		var f *fillResult
		if a.direct {
			f = h.fillOnce(call, iw, r, rt, a)
			iw.close()
		} else {
			ch := h.flights.DoChan(flightKey(a, r.Header), func() (any, error) {
				return h.fillOnce(call, iw, r, rt, a), nil
			})
			select {
			case v := <-ch:
				iw.close()
				f = v.Val.(*fillResult)
			case <-r.Context().Done():
				iw.close()
				h.abandon(ch, call)
				return ResultMiss
			}
		}
		owner := f.owner == call
		if !owner {
			rt.obs.Collapsed()
		}
		recordUpstream(r.Context(), f.upstream) // waiters waited for it too
		now := h.now()
		st := cacheStatus{fwd: a.fwd, fwdStatus: f.fwdStatus, stored: f.stored, collapsed: !owner, detail: f.violation}
		switch {
		case f.fromCache:
			rt.obs.Served(h.serveEntry(w, r, f.entry, nil, cacheStatus{hit: true, ttl: ttlSeconds(f.entry, now), hasTTL: true, collapsed: !owner}, now))
			return ResultHit
		case f.err != nil:
			if a.stale != nil && cache.StaleIfError(a.stale, a.reqCC, now) {
				return h.serveStaleIfError(w, r, rt, a.stale, f.fwdStatus, now)
			}
			if owner && f.resp != nil {
				h.serveTruncated(w, r, f, st)
			}
			code, detail := upstreamFailure(f.err)
			if owner { // once per fill, not once per collapsed request
				h.log.Warn("upstream fetch failed", "route", rt.name, "method", r.Method, "path", r.URL.Path, "err", f.err)
			}
			h.fail(w, code, detail, http.StatusText(code))
			return ResultMiss
		case f.resp != nil || f.entry == nil:
			if owner {
				if st.detail == "" {
					st.detail = f.reason
				}
				h.serveUpstream(w, r, f, st)
				return ResultMiss
			}
			h.pass(w, r, rt, a.fwd, false) // not storable: go upstream ourselves
			return ResultMiss
		}
		if f.entry.Status >= 500 && a.stale != nil && cache.StaleIfError(a.stale, a.reqCC, now) {
			return h.serveStaleIfError(w, r, rt, a.stale, f.fwdStatus, now)
		}
		if !owner && (!f.entry.Matches(r.Header, a.cred) || !mayAnswer(f.entry, r, a.cred)) {
			if attempt == 0 && f.entry.Vary != nil && !isStar(f.entry.Vary) {
				a.vary, a.fwd = f.entry.Vary, "vary-miss"
				continue
			}
			h.pass(w, r, rt, a.fwd, false)
			return ResultMiss
		}
		var extra http.Header
		if owner {
			extra = f.ownerOnly
		}
		n := h.serveEntry(w, r, f.entry, extra, st, now)
		if f.revalidated {
			rt.obs.Served(n)
			return ResultRevalidated
		}
		return ResultMiss
	}
}

func isStar(vary []string) bool {
	for _, v := range vary {
		if v == "*" {
			return true
		}
	}
	return false
}

// abandon is called when a client leaves while waiting on a fill: if its
// own closure runs the fill, what only it could use is released when the
// fill ends. The goroutine ends with the fill, which the fill timeout and
// Close bound.
func (h *Handler) abandon(ch <-chan singleflight.Result, call *fillCall) {
	go func() {
		if f := (<-ch).Val.(*fillResult); f.owner == call {
			f.discard()
		}
	}()
}

// fillOnce fetches from upstream for the request in, stores what may be
// stored, and returns the shared outcome. It runs once per flight, on the
// goroutine singleflight gives it, on a context bounded by the fill
// timeout and cancelled by Close.
//
// iw, when not nil, receives the upstream's 1xx responses.
func (h *Handler) fillOnce(call *fillCall, iw *interimWriter, in *http.Request, rt *route, a fetchArgs) *fillResult {
	f := &fillResult{owner: call}
	// Look again inside the flight (as groupcache's load does): a flight
	// that just ended may have stored what this one was started for.
	res, _ := h.store.Get(a.key)
	if res != nil && res.Uncacheable {
		res = nil
	}
	if res != nil {
		if e := res.Select(in.Header, a.cred); e != nil && e != a.stale && mayAnswer(e, in, a.cred) && cache.Decide(e, a.reqCC, h.now()) == cache.UseFresh {
			f.entry, f.fromCache = e, true
			return f
		}
	}
	if res == nil && a.stale != nil {
		res = &cache.Resource{Variants: []*cache.Entry{a.stale}} // evicted meanwhile
	}
	ctx, cancel := context.WithTimeout(h.bgCtx, h.fill)
	if iw != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got1xxResponse: iw.forward})
	}
	out := h.outRequest(ctx, in, rt)
	conditional := false
	if a.stale != nil {
		if tags := res.ETags(a.cred); len(tags) > 0 {
			out.Header.Set("If-None-Match", strings.Join(tags, ", "))
			conditional = true
		}
		if lm := a.stale.Header.Get("Last-Modified"); lm != "" {
			out.Header.Set("If-Modified-Since", lm)
			conditional = true
		}
	}
	var (
		resp              *http.Response
		reqTime, respTime time.Time
	)
	for {
		var err error
		ex := h.newExchange(rt, in, out.Method)
		reqTime = h.now()
		resp, err = h.transport.RoundTrip(out.WithContext(withExchange(ctx, ex)))
		respTime = h.now()
		rt.obs.Upstream(respTime.Sub(reqTime))
		f.upstream += respTime.Sub(reqTime)
		if err != nil {
			ex.settle(nil, false)
			cancel()
			if conditional {
				rt.obs.Revalidation(OutcomeError)
			}
			rt.obs.UpstreamError(errorKind(err))
			f.err = err
			return f
		}
		if resp.StatusCode >= 500 {
			rt.obs.UpstreamError(UpstreamErrorStatus5xx)
		}
		vs := ex.settle(resp, out.Header.Get("If-None-Match") != "")
		if err := rt.rejection(vs); err != nil {
			drain(resp.Body)
			cancel()
			f.err, f.fwdStatus = err, resp.StatusCode
			return f
		}
		f.violation = repair(resp.Header, vs)
		removeHopByHop(resp.Header)
		if resp.StatusCode != http.StatusNotModified || !conditional {
			break
		}
		drain(resp.Body)
		if target := freshened(res, a, resp.Header); target != nil {
			cancel()
			f.fwdStatus = resp.StatusCode
			return h.freshen(f, rt, a, res, target, resp.Header, reqTime, respTime)
		}
		// A 304 that names no stored response updates nothing (RFC 9111
		// §4.3.3): ask again without validators.
		rt.obs.Revalidation(OutcomeError)
		out.Header.Del("If-None-Match")
		out.Header.Del("If-Modified-Since")
		conditional = false
	}
	f.fwdStatus = resp.StatusCode
	if conditional {
		if resp.StatusCode >= 500 {
			rt.obs.Revalidation(OutcomeError)
		} else {
			rt.obs.Revalidation(OutcomeModified)
		}
	}
	respCC := cache.ResponseDirectives(resp.Header)
	ok, reason := cache.Storable(in.Header, a.reqCC, resp.StatusCode, resp.Header, respCC, rt.policy)
	keep := ok || (resp.StatusCode >= 500 && a.stale != nil) // buffered to share, or to decide stale-if-error
	limit := rt.policy.MaxObjectSize
	if keep && limit > 0 && resp.ContentLength > limit {
		keep, reason = false, "too-large"
	}
	if !keep || resp.StatusCode == http.StatusNotModified {
		f.resp, f.release, f.reason = resp, cancel, reason
		if res == nil && !a.direct {
			// Remember it, so that the next requests for the key go
			// upstream at once instead of waiting on one another. A
			// direct fetch found the marker already: it is renewed only
			// once it has expired, not by every request.
			h.store.Set(a.key, &cache.Resource{Uncacheable: true}, h.uncacheableTTL)
		}
		return f
	}
	body, err := readBody(resp, limit)
	switch {
	case err != nil:
		resp.Body.Close()
		cancel()
		rt.obs.UpstreamError(errorKind(err))
		f.err = fmt.Errorf("%w: %w", errTruncated, err)
		f.resp, f.partial = resp, body
		return f
	case limit > 0 && int64(len(body)) > limit:
		f.resp, f.prefix, f.release, f.reason = resp, body, cancel, "too-large"
		return f
	}
	resp.Body.Close()
	cancel()
	e := cache.NewEntry(in, resp.StatusCode, resp.Header, body, a.cred, reqTime, respTime, rt.policy)
	f.entry, f.ownerOnly = e, ownerOnly(resp.Header, e)
	if ok && !isStar(e.Vary) {
		f.stored = h.put(a.key, res.With(e, a.stale))
	}
	return f
}

// freshened selects the stored variant a 304 applies to (RFC 9111
// §4.3.4): the one its ETag names, or the validated entry when it carries
// none. It returns nil when the 304 names a tag no stored response has.
func freshened(res *cache.Resource, a fetchArgs, hdr http.Header) *cache.Entry {
	if et := hdr.Get("ETag"); et != "" {
		return res.ByETag(et, a.cred)
	}
	return a.stale
}

// freshen applies a 304 to target, the stored variant it selects
// (RFC 9111 §4.3.3), and stores the result.
func (h *Handler) freshen(f *fillResult, rt *route, a fetchArgs, res *cache.Resource, target *cache.Entry, hdr http.Header, reqTime, respTime time.Time) *fillResult {
	rt.obs.Revalidation(OutcomeNotModified)
	rt.obs.Saved(len(target.Body))
	fresh := target.Freshen(hdr, reqTime, respTime, rt.policy)
	f.entry, f.revalidated, f.ownerOnly = fresh, true, ownerOnly(hdr, fresh)
	f.stored = h.put(a.key, res.With(fresh, target))
	return f
}

// ownerOnly returns the fields of an upstream response (hop-by-hop fields
// already removed) that the entry built from it does not keep but that the
// client whose request fetched it may see: Set-Cookie, and the fields a
// qualified no-cache or private names (RFC 9111 §5.2.2.4, §5.2.2.7).
func ownerOnly(upstream http.Header, e *cache.Entry) http.Header {
	var out http.Header
	for k, v := range upstream {
		if kept := e.Header.Has(k); kept || k == "Content-Length" || k == "Age" {
			continue
		}
		if out == nil {
			out = make(http.Header)
		}
		out[k] = v
	}
	return out
}

// put stores res, kept by ristretto as long as any variant may still be
// used: its freshness lifetime, its stale-* windows and, when it has a
// validator, the stale retention.
func (h *Handler) put(key string, res *cache.Resource) bool {
	var keep time.Duration
	for _, e := range res.Variants {
		d := e.Lifetime - e.CorrectedInitialAge + max(e.CC.StaleWhileRevalidate, e.CC.StaleIfError, 0)
		if e.ETag != "" || !e.LastModified.IsZero() {
			d += h.retention
		}
		keep = max(keep, d)
	}
	return h.store.Set(key, res, max(keep, time.Second))
}

// readBody reads resp's body whole, or limit+1 bytes when limit > 0 and
// the body is longer. An error means the body ended before its framing
// said (short of Content-Length, a reset, a broken chunk).
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength >= 0 && (limit <= 0 || resp.ContentLength <= limit) {
		b := make([]byte, resp.ContentLength)
		n, err := io.ReadFull(resp.Body, b)
		if err != nil {
			return b[:n], err
		}
		return b, nil
	}
	var buf bytes.Buffer
	r := io.Reader(resp.Body)
	if limit > 0 {
		r = io.LimitReader(resp.Body, limit+1)
	}
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// drain reads a little of an unwanted body so the connection can be
// reused, then closes it.
func drain(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	body.Close()
}
