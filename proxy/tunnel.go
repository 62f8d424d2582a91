package proxy

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
)

// tunnel answers a forward-mode CONNECT: it dials the target (allowed
// ports only), answers 200 and copies bytes both ways until either side
// closes. Tunnels are never cached; Close ends them.
func (h *Handler) tunnel(w http.ResponseWriter, r *http.Request) {
	_, port, err := net.SplitHostPort(r.Host)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		h.fail(w, http.StatusBadRequest, "bad-connect", "CONNECT target must be host:port")
		return
	}
	if !slices.Contains(h.fwd.ConnectPorts, p) {
		h.fail(w, http.StatusForbidden, "port-denied", "CONNECT to this port is not allowed")
		return
	}
	d := net.Dialer{Timeout: h.fwd.DialTimeout}
	up, err := d.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		code, detail := upstreamFailure(err)
		h.fail(w, code, detail, http.StatusText(code))
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		h.fail(w, http.StatusInternalServerError, "no-hijack", "CONNECT is not supported on this connection")
		return
	}
	if !h.track(client, up) {
		client.Close()
		up.Close()
		return
	}
	defer h.untrack(client, up)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\nVia: "+h.via+"\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after its CONNECT may already be buffered.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	done := make(chan struct{})
	go func() {
		io.Copy(client, up)
		client.Close() // unblocks the copy below
		close(done)
	}()
	io.Copy(up, client)
	up.Close() // unblocks the copy above
	<-done
}

// track records a tunnel's connections so Close can end them; it reports
// false when the handler is closed.
func (h *Handler) track(cs ...net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	for _, c := range cs {
		h.tunnels[c] = struct{}{}
	}
	return true
}

func (h *Handler) untrack(cs ...net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(h.tunnels, c)
	}
}
