package proxy

import (
	"net/http"
	"net/textproto"
	"sync"
)

// interimWriter forwards the 1xx responses of a fill to the client whose
// request runs it (never to requests collapsed onto it), as
// httputil.ReverseProxy does for the requests it passes. The fill runs on
// another goroutine; close stops forwarding before that client's handler
// writes its final response or returns.
type interimWriter struct {
	// mu guards w and done.
	mu   sync.Mutex
	w    http.ResponseWriter
	done bool
}

// forward is an httptrace Got1xxResponse hook.
func (iw *interimWriter) forward(code int, header textproto.MIMEHeader) error {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if iw.done || code == http.StatusSwitchingProtocols {
		return nil
	}
	h := iw.w.Header()
	for k, v := range header {
		h[k] = v
	}
	removeHopByHop(h)
	iw.w.WriteHeader(code)
	clear(h) // a 1xx's fields are not the final response's
	return nil
}

func (iw *interimWriter) close() {
	iw.mu.Lock()
	iw.done = true
	iw.mu.Unlock()
}
