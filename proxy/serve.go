package proxy

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
)

// notModifiedFields are the stored fields a 304 carries (RFC 9110
// §15.4.5): those a 200 would have sent that guide caches.
func isNotModifiedField(k string) bool {
	switch k {
	case "Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary", "Last-Modified", "Cache-Status", "Via":
		return true
	}
	return false
}

// serveEntry writes the response e to the client: 304 when the client's
// own validators match (RFC 9111 §4.3.2), the stored status, fields and
// body otherwise (no body for HEAD), with Age, Via and Cache-Status.
// extra holds upstream fields the entry does not keep (Set-Cookie, ...),
// for the one client whose request fetched e. It returns the body bytes
// written.
func (h *Handler) serveEntry(w http.ResponseWriter, r *http.Request, e *cache.Entry, extra http.Header, st cacheStatus, now time.Time) int {
	hd := w.Header()
	status := e.Status
	if notModified(r, e) {
		status = http.StatusNotModified
		for i := range e.Header.Len() {
			if k, v := e.Header.At(i); isNotModifiedField(k) {
				hd[k] = v
			}
		}
	} else {
		for i := range e.Header.Len() {
			k, v := e.Header.At(i)
			hd[k] = v
		}
	}
	// The stored slices are shared with other requests: never append to
	// them in place.
	if v := e.Header.Values("Via"); len(v) > 0 {
		hd["Via"] = appendCopy(v, h.via)
	} else {
		hd["Via"] = h.viaHdr
	}
	if cs := e.Header.Values("Cache-Status"); len(cs) > 0 || !st.plainHit() {
		hd["Cache-Status"] = appendCopy(cs, st.format(h.name))
	} else {
		hd["Cache-Status"] = h.memo.hitStatus(h.name, st.ttl)
	}
	if age := e.CurrentAge(now); st.hit || age >= time.Second {
		hd["Age"] = h.memo.age(int64(age / time.Second))
	}
	for k, v := range extra {
		hd[k] = v
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		// Go's server writes a handler-set Content-Length even on a 204.
		delete(hd, "Content-Length")
		w.WriteHeader(status)
		return 0
	}
	if hd["Content-Length"] == nil { // entries store it; this is a fallback
		hd["Content-Length"] = []string{strconv.Itoa(len(e.Body))}
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return 0
	}
	n, _ := w.Write(e.Body)
	return n
}

// notModified evaluates the client's If-None-Match (weak comparison, lists
// and *) or, without one, If-Modified-Since against a stored 2xx response
// (RFC 9110 §13.1.2, §13.1.3, §13.2.2; RFC 9111 §4.3.2).
func notModified(r *http.Request, e *cache.Entry) bool {
	if e.Status < 200 || e.Status > 299 {
		return false
	}
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		v := inm[0]
		if len(inm) > 1 {
			v = strings.Join(inm, ", ")
		}
		return cache.MatchNoneMatch(v, e.ETag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	lm := e.LastModified
	if lm.IsZero() {
		lm = e.Date // §4.3.2: the stored Date when there is no Last-Modified
	}
	return !lm.After(t)
}

// serveStaleIfError serves a stale entry because the upstream failed
// (RFC 5861 §4). status is the upstream's, 0 when none arrived.
func (h *Handler) serveStaleIfError(w http.ResponseWriter, r *http.Request, rt *route, e *cache.Entry, status int, now time.Time) Result {
	rt.obs.Served(h.serveEntry(w, r, e, nil, cacheStatus{fwd: "stale", fwdStatus: status, ttl: ttlSeconds(e, now), hasTTL: true, detail: "stale-if-error"}, now))
	return ResultStale
}

// serveUpstream streams a response the cache did not store to the client
// whose request fetched it, then ends the fill's context.
func (h *Handler) serveUpstream(w http.ResponseWriter, r *http.Request, f *fillResult, st cacheStatus) {
	resp := f.resp
	defer f.release()
	defer resp.Body.Close()
	h.writeUpstreamHeader(w, resp, st)
	if r.Method == http.MethodHead || !bodyAllowed(resp.StatusCode) {
		return
	}
	if _, err := w.Write(f.prefix); err != nil {
		return
	}
	if err := h.copyBody(w, resp.Body, resp.ContentLength < 0); err != nil {
		if errors.Is(err, errClientWrite) {
			return
		}
		h.log.Warn("upstream body ended early", "method", r.Method, "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler) // the client must see an abort, not a clean end
	}
}

// serveTruncated gives the client whose request fetched a truncated body
// the header and what arrived, then aborts: never a clean end.
func (h *Handler) serveTruncated(w http.ResponseWriter, r *http.Request, f *fillResult, st cacheStatus) {
	st.detail = "upstream-truncated"
	h.writeUpstreamHeader(w, f.resp, st)
	if r.Method != http.MethodHead {
		w.Write(f.partial)
	}
	http.NewResponseController(w).Flush()
	h.log.Warn("upstream body ended early", "method", r.Method, "path", r.URL.Path, "err", f.err)
	panic(http.ErrAbortHandler)
}

// writeUpstreamHeader copies an upstream response's end-to-end fields and
// status to w, made compliant, with Via and Cache-Status.
func (h *Handler) writeUpstreamHeader(w http.ResponseWriter, resp *http.Response, st cacheStatus) {
	hd := w.Header()
	removeHopByHop(resp.Header)
	for k, v := range resp.Header {
		hd[k] = v
	}
	finishForwarded(hd, resp.StatusCode)
	hd["Via"] = appendCopy(resp.Header["Via"], h.via)
	hd["Cache-Status"] = appendCopy(resp.Header["Cache-Status"], st.format(h.name))
	w.WriteHeader(resp.StatusCode)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// errClientWrite marks a failed write to the client (it left).
var errClientWrite = errors.New("proxy: client write failed")

// bufferPool recycles the 32 KiB buffers bodies are copied through, for
// copyBody and as httputil.ReverseProxy's BufferPool: without it every
// streamed response allocates one. It is safe for concurrent use.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == 32<<10 {
		buf = buf[:cap(buf)]
		b.p.Put(&buf)
	}
}

// copyBody copies src to w through a buffer from h's pool, flushing after
// each read when flush is set (a body of unknown length may be a stream).
func (h *Handler) copyBody(w http.ResponseWriter, src io.Reader, flush bool) error {
	rc := http.NewResponseController(w)
	buf := h.bufs.Get()
	defer h.bufs.Put(buf)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return errClientWrite
			}
			if flush {
				rc.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
