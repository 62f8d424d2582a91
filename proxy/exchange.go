package proxy

import (
	"context"
	"net/http"
	"sync"

	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// exchange is one upstream request and its response: it collects the
// violations found on the wire and in the header fields, and reports each
// once. It is safe for concurrent use.
type exchange struct {
	h      *Handler // nil: nothing reported (a request made without one)
	rt     *route
	method string
	target string // request path and query, for evidence

	// mu guards vs, settled, status and header.
	mu      sync.Mutex
	vs      []compliance.Violation
	settled bool
	status  int
	header  http.Header
}

type exchangeKey struct{}

// withExchange returns ctx carrying ex, for Transport.RoundTrip.
func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

func exchangeOf(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// newExchange starts the exchange of an upstream request for in on rt.
func (h *Handler) newExchange(rt *route, in *http.Request, method string) *exchange {
	return &exchange{h: h, rt: rt, method: method, target: in.URL.RequestURI()}
}

// add records a violation found on the wire. Before the response is
// settled it waits for settle, which reports it with the response's
// status; afterwards (stray bytes that arrive late, a body cut short) it is
// reported at once.
func (ex *exchange) add(v compliance.Violation) {
	ex.mu.Lock()
	ex.vs = append(ex.vs, v)
	settled, status, header := ex.settled, ex.status, ex.header
	ex.mu.Unlock()
	if settled && ex.h != nil {
		ex.h.report(ex.rt, ex, status, header, v)
	}
}

// settle is called once the response header has arrived (resp nil when
// the round trip failed): it runs the header rules, reports every
// violation found so far, and returns them all; later calls only return
// them. expectETag is set when
// the request carried If-None-Match (a 304 must then carry an ETag).
func (ex *exchange) settle(resp *http.Response, expectETag bool) []compliance.Violation {
	ex.mu.Lock()
	if ex.settled { // once: a failed round trip may be settled again
		vs := append([]compliance.Violation(nil), ex.vs...)
		ex.mu.Unlock()
		return vs
	}
	ex.mu.Unlock()
	var status int
	var header http.Header
	var hv []compliance.Violation
	if resp != nil {
		status, header = resp.StatusCode, resp.Header
		hv = compliance.CheckHeader(compliance.HeaderCheck{
			Method: ex.method, Status: status, Header: header, ExpectETag: expectETag,
		})
	}
	ex.mu.Lock()
	ex.vs = append(ex.vs, hv...)
	ex.settled, ex.status, ex.header = true, status, header
	vs := append([]compliance.Violation(nil), ex.vs...)
	ex.mu.Unlock()
	if ex.h != nil {
		for _, v := range vs {
			ex.h.report(ex.rt, ex, status, header, v)
		}
	}
	return vs
}
