package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HitServer is the traffic listener's HTTP/1.1 server. Every connection
// starts in its loop, which reads requests itself. A request it parses
// completely (a GET or HEAD in origin form, HTTP/1.1, one Host, token
// field names, values of visible characters, no Content-Length,
// Transfer-Encoding, Connection, Upgrade, Expect or TE, no repeated
// field, nothing percent-encoded in the target, a head under 4 KiB) it
// answers itself:
//
//   - a fresh hit through Fresh (normally [Handler.ServeFresh]) with the
//     request, its fields and the response reused, so without what
//     net/http allocates per request: the request, its header map, the
//     response and the copy of its header map. On a million-entry cache
//     that garbage is what makes the collector mark the whole cache again
//     and again (docs/performance.md);
//   - anything else (a miss, a stale entry, a bypass) through the
//     handler Fresh returns for it, with a request of its own.
//
// Its response writer frames as net/http's does. The first request it
// does not parse hands the connection, with every byte not yet answered,
// to Server, which serves it from then on as any connection: net/http
// parses, answers or rejects what the loop does not take.
//
// Server's ReadHeaderTimeout, WriteTimeout, IdleTimeout (or ReadTimeout)
// and MaxHeaderBytes apply to the loop as well. A panic in a handler is
// recovered and logged to Server's ErrorLog, closing the connection, as
// net/http does. ConnState and ConnContext see handed-over connections
// only. While Server.Handler runs, the connection is read, as net/http's
// background read does, so that the request's context is cancelled if
// the client leaves; a fresh hit is answered without that.
type HitServer struct {
	Server *http.Server
	// Fresh answers a fresh hit and returns nil, or writes nothing and
	// returns the handler for the request (see Handler.ServeFresh).
	Fresh func(http.ResponseWriter, *http.Request) http.Handler

	mu      sync.Mutex
	ln      net.Listener // the listener Serve accepts on
	handoff *handoffListener
	conns   map[*hitConn]bool // value: idle, waiting for a request
	closing bool
	loops   sync.WaitGroup // connections in the hit loop
	readers sync.Pool      // *bufio.Reader of hitHeadMax bytes
	writers sync.Pool      // *bufio.Writer
}

// hitHeadMax bounds the request head the loop reads (the size of its
// read buffer); a longer one is handed over, under MaxHeaderBytes.
const hitHeadMax = 4096

// Serve accepts connections on ln until Shutdown or Close, and returns
// http.ErrServerClosed then; other errors end it too. It serves only
// once.
func (s *HitServer) Serve(ln net.Listener) error {
	if s.Server == nil || s.Server.Handler == nil || s.Fresh == nil {
		return errors.New("proxy: HitServer needs a Server with a Handler, and Fresh")
	}
	s.mu.Lock()
	if s.ln != nil || s.closing {
		s.mu.Unlock()
		return errors.New("proxy: HitServer.Serve called twice or after Shutdown")
	}
	s.ln = ln
	s.handoff = &handoffListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	s.conns = make(map[*hitConn]bool)
	s.mu.Unlock()
	// It returns http.ErrServerClosed once Shutdown or Close closes the
	// hand-off listener.
	go s.Server.Serve(s.handoff)

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// As net/http does: wait a little and accept again.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t := time.NewTimer(backoff)
				<-t.C
				continue
			}
			s.Close()
			return err
		}
		backoff = 0
		hc := s.track(c)
		if hc == nil {
			c.Close()
			continue
		}
		go hc.serve()
	}
}

// logf logs to Server's ErrorLog, or the log package's logger.
func (s *HitServer) logf(format string, args ...any) {
	if s.Server.ErrorLog != nil {
		s.Server.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

func (s *HitServer) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// track registers a new connection, or returns nil when closing.
func (s *HitServer) track(c net.Conn) *hitConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	hc := newHitConn(s, c)
	s.conns[hc] = false
	s.loops.Add(1)
	return hc
}

// setIdle marks hc idle (waiting for a request) or busy, and reports
// false when the server is closing: the connection must end.
func (s *HitServer) setIdle(hc *hitConn, idle bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[hc] = idle
	return true
}

func (s *HitServer) untrack(hc *hitConn) {
	s.mu.Lock()
	delete(s.conns, hc)
	s.mu.Unlock()
	s.loops.Done()
}

// beginClose stops accepting and wakes the idle connections of the hit
// loop, which then end; busy ones end after their response.
func (s *HitServer) beginClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	for hc, idle := range s.conns {
		if idle {
			hc.c.SetReadDeadline(time.Now())
		}
	}
}

// Shutdown stops the server gracefully, as [http.Server.Shutdown]: it
// stops accepting, ends idle connections, waits for the hit loop's busy
// ones and then shuts Server down, until ctx ends.
func (s *HitServer) Shutdown(ctx context.Context) error {
	s.beginClose()
	done := make(chan struct{})
	go func() { s.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.closeLoops()
	}
	return s.Server.Shutdown(ctx)
}

// Close closes the listener and every connection at once, as
// [http.Server.Close].
func (s *HitServer) Close() error {
	s.beginClose()
	s.closeLoops()
	return s.Server.Close()
}

func (s *HitServer) closeLoops() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for hc := range s.conns {
		hc.c.Close()
	}
}

// handoffListener is what Server serves: the connections the hit loop
// hands over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give passes c to Server, or closes it when Server no longer accepts.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// prefixConn is a handed-over connection: the bytes the hit loop read but
// did not answer come first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection when it can, as net/http does
// before closing after an error.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// hitConn is one connection in the hit loop. Everything a request needs
// is reused from one request to the next: strings are kept while the
// client sends the same bytes again, as keep-alive clients do.
type hitConn struct {
	s      *HitServer
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	cancel context.CancelFunc

	tmpl       http.Request // what every request starts from: the context, RemoteAddr
	req        http.Request
	url        url.URL
	hdr        http.Header
	target     string // the last request target, and its path and query
	path       string
	rawPath    string
	query      string
	forceQuery bool
	host       string
	fields     []hitField // the last request's fields, in order
	vals       []string   // backing of hdr's values
	w          hitWriter
}

// hitField is one request field line as last seen: its raw name, the
// canonical name and the value.
type hitField struct {
	raw, name, value string
}

func newHitConn(s *HitServer, c net.Conn) *hitConn {
	base := context.Background()
	if s.Server.BaseContext != nil {
		base = s.Server.BaseContext(s.handoff)
	}
	ctx, cancel := context.WithCancel(context.WithValue(base, http.ServerContextKey, s.Server))
	hc := &hitConn{s: s, c: c, cancel: cancel, hdr: make(http.Header)}
	tmpl := (&http.Request{}).WithContext(context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr()))
	hc.tmpl = *tmpl
	hc.tmpl.RemoteAddr = c.RemoteAddr().String()
	hc.tmpl.Proto, hc.tmpl.ProtoMajor, hc.tmpl.ProtoMinor = "HTTP/1.1", 1, 1
	hc.tmpl.Body = http.NoBody
	hc.w.hdr = make(http.Header)
	hc.w.hc = hc
	return hc
}

// serve runs the hit loop until the connection ends or is handed over.
func (hc *hitConn) serve() {
	if r, ok := hc.s.readers.Get().(*bufio.Reader); ok {
		hc.br = r
		hc.br.Reset(hc.c)
	} else {
		hc.br = bufio.NewReaderSize(hc.c, hitHeadMax)
	}
	if w, ok := hc.s.writers.Get().(*bufio.Writer); ok {
		hc.bw = w
		hc.bw.Reset(hc.c)
	} else {
		hc.bw = bufio.NewWriterSize(hc.c, 4096)
	}
	handed := false
	defer func() {
		if err := recover(); err != nil && err != http.ErrAbortHandler {
			const size = 64 << 10
			buf := make([]byte, size)
			buf = buf[:runtime.Stack(buf, false)]
			hc.s.logf("http: panic serving %v: %v\n%s", hc.c.RemoteAddr(), err, buf)
		}
		if !handed {
			hc.flush() // what was answered goes out before the close, as net/http's final flush
		}
		hc.cancel()
		hc.br.Reset(nil)
		hc.s.readers.Put(hc.br)
		hc.bw.Reset(nil)
		hc.s.writers.Put(hc.bw)
		if !handed {
			hc.c.Close()
		}
		hc.s.untrack(hc)
	}()
	srv := hc.s.Server
	headTimeout := srv.ReadHeaderTimeout
	if headTimeout <= 0 {
		headTimeout = srv.ReadTimeout
	}
	idleTimeout := srv.IdleTimeout
	if idleTimeout <= 0 {
		idleTimeout = srv.ReadTimeout
	}
	// As net/http: the first request's head must arrive within the header
	// timeout of the connection's start; a later one gets the idle timeout
	// to begin (4 bytes, or the connection ends quietly) and then the
	// header timeout. Deadlines are set before a connection is marked
	// idle, so that beginClose's wake-up is not overwritten.
	for first := true; ; first = false {
		if first {
			hc.deadline(headTimeout)
			if hc.br.Buffered() == 0 && !hc.waitIdle(1) {
				return
			}
		} else {
			if hc.br.Buffered() < 4 {
				hc.deadline(idleTimeout)
				if !hc.waitIdle(4) {
					return
				}
			}
			hc.deadline(headTimeout)
		}
		head, ok, err := hc.readHead()
		if err != nil {
			if errors.Is(err, io.EOF) && hc.br.Buffered() > 0 {
				// A client that sent part of a request and stopped:
				// net/http answers that (400), from the same bytes.
				handed = hc.handOver()
			}
			return // a timeout or a reset: closed, as net/http does
		}
		if !ok || !hc.parse(head) {
			handed = hc.handOver()
			return
		}
		if srv.WriteTimeout > 0 {
			hc.c.SetWriteDeadline(time.Now().Add(srv.WriteTimeout))
		}
		hc.w.reset(hc.req.Method == http.MethodHead)
		if next := hc.s.Fresh(&hc.w, &hc.req); next != nil {
			if hc.w.touched {
				return // wrote without answering: the connection is in doubt
			}
			if hc.serveFull(next, len(head)) {
				hc.w.finish()
				hc.bw.Flush()
				return // the client left
			}
		}
		hc.br.Discard(len(head))
		keep := hc.w.finish()
		if hc.br.Buffered() == 0 || !keep {
			if err := hc.bw.Flush(); err != nil || !keep {
				return
			}
		}
	}
}

// waitIdle waits, marked idle, until n bytes are buffered, and reports
// false when the connection must end: the server is closing, or the read
// failed (the client left, a deadline passed).
func (hc *hitConn) waitIdle(n int) bool {
	if !hc.flush() || !hc.s.setIdle(hc, true) {
		return false
	}
	_, err := hc.br.Peek(n)
	return hc.s.setIdle(hc, false) && err == nil
}

// serveFull answers the parsed request, whose head is headLen bytes,
// through next: a miss, a stale entry, anything but a fresh hit.
// The handler gets a request of its own, which it may keep (a fill
// goroutine may outlive it), with a context cancelled when it returns, or
// before if the client leaves: as net/http's background read does, the
// connection is read while the handler runs. It reports whether the
// client left.
func (hc *hitConn) serveFull(next http.Handler, headLen int) (left bool) {
	ctx, cancel := context.WithCancel(hc.req.Context())
	defer cancel()
	if headLen >= hc.br.Size() {
		// A head that fills the buffer leaves no room to read ahead.
		next.ServeHTTP(&hc.w, hc.req.Clone(ctx))
		return false
	}
	hc.c.SetReadDeadline(time.Time{})
	gone := make(chan bool, 1)
	go func() {
		// Returns at once if the next request is already buffered, when
		// more bytes arrive (the client is there), when the client leaves,
		// or when the deadline below stops it.
		_, err := hc.br.Peek(headLen + 1)
		var ne net.Error
		left := err != nil && !(errors.As(err, &ne) && ne.Timeout())
		if left {
			cancel()
		}
		gone <- left
	}()
	// Stop the read before anything else touches the reader, even when the
	// handler panics (an aborted response).
	defer func() {
		hc.c.SetReadDeadline(time.Unix(1, 0))
		left = <-gone
		hc.c.SetReadDeadline(time.Time{})
	}()
	next.ServeHTTP(&hc.w, hc.req.Clone(ctx))
	return false // set by the deferred function
}

// flush writes out the responses not yet sent, and reports whether that
// worked. The loop leaves them buffered while the next request is already
// read (pipelining) and sends them before it waits for more.
func (hc *hitConn) flush() bool {
	if hc.bw.Buffered() == 0 {
		return true
	}
	return hc.bw.Flush() == nil
}

// deadline sets the read deadline d from now, or none for d <= 0.
func (hc *hitConn) deadline(d time.Duration) {
	if d > 0 {
		hc.c.SetReadDeadline(time.Now().Add(d))
	} else {
		hc.c.SetReadDeadline(time.Time{})
	}
}

// readHead returns the buffered request head, through its empty line. ok
// is false as soon as the head is one to hand over unread, so that
// net/http answers it without waiting for more: a line the loop would not
// answer (see headLinesOK), or a head longer than the buffer or
// MaxHeaderBytes.
func (hc *hitConn) readHead() (head []byte, ok bool, err error) {
	limit := hitHeadMax
	if m := hc.s.Server.MaxHeaderBytes; m > 0 && m < limit {
		limit = m
	}
	for {
		buf, _ := hc.br.Peek(hc.br.Buffered())
		if !headLinesOK(buf) {
			return nil, false, nil
		}
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], true, nil
		}
		if len(buf) >= limit {
			return nil, false, nil
		}
		// The rest of the head is not here yet: the client may be waiting
		// for the answers so far before it sends it.
		if !hc.flush() {
			return nil, false, io.ErrShortWrite
		}
		if _, err := hc.br.Peek(len(buf) + 1); err != nil {
			return nil, false, err
		}
	}
}

// headLinesOK reports whether the start of a request head, buf, may still
// be one the loop answers: it starts like "GET " or "HEAD ", no line ends
// in a bare LF, the request line ends in " HTTP/1.1" and every complete
// field line is a valid name, a colon and a value of visible characters.
// parse checks the rest once the head is complete.
func headLinesOK(buf []byte) bool {
	if !bytes.HasPrefix(buf, []byte("GET ")) && !bytes.HasPrefix([]byte("GET "), buf) &&
		!bytes.HasPrefix(buf, []byte("HEAD ")) && !bytes.HasPrefix([]byte("HEAD "), buf) {
		return false
	}
	for n := 0; ; n++ {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return true
		}
		if i == 0 || buf[i-1] != '\r' {
			return false
		}
		line := buf[:i-1]
		buf = buf[i+1:]
		switch {
		case n == 0:
			if !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
				return false
			}
		case len(line) == 0:
			return true // the end of the head
		default:
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 || !validFieldName(line[:colon]) || !validFieldValue(line[colon+1:]) {
				return false
			}
		}
	}
}

// handOver gives the connection to Server with the bytes not answered,
// after writing out the answers already made. It reports whether it did.
func (hc *hitConn) handOver() bool {
	if err := hc.bw.Flush(); err != nil {
		return false
	}
	buf, _ := hc.br.Peek(hc.br.Buffered())
	pc := &prefixConn{Conn: hc.c, prefix: bytes.Clone(buf)}
	hc.c.SetDeadline(time.Time{})
	hc.s.handoff.give(pc)
	return true
}

// parse reads head into hc.req and reports whether the hit loop may
// answer it (see HitServer).
func (hc *hitConn) parse(head []byte) bool {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	var method string
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		method, line = http.MethodHead, line[5:]
	default:
		return false
	}
	target, proto, ok := bytes.Cut(line, []byte(" "))
	if !ok || string(proto) != "HTTP/1.1" || !validTarget(target) {
		return false
	}
	if string(target) != hc.target {
		hc.target = string(target)
		var hasQuery bool
		hc.path, hc.query, hasQuery = strings.Cut(hc.target, "?")
		hc.forceQuery = hasQuery && hc.query == "" // "/a?", as url.Parse
		// As url.Parse: a path that its escaping would write otherwise
		// keeps its own spelling in RawPath (EscapedPath, and so the
		// cache key and the upstream request, use it).
		hc.rawPath = ""
		if strings.ContainsAny(hc.path, "!'()*") {
			hc.rawPath = hc.path
		}
	}

	clear(hc.hdr)
	hc.vals = hc.vals[:0]
	host := false
	n := 0
	for len(rest) > 2 { // the head ends with the empty line's CRLF
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !validFieldName(name) || !validFieldValue(value) {
			return false
		}
		if n == len(hc.fields) {
			hc.fields = append(hc.fields, hitField{})
		}
		f := &hc.fields[n]
		n++
		if string(name) != f.raw {
			f.raw = string(name)
			f.name = http.CanonicalHeaderKey(f.raw)
		}
		if string(value) != f.value {
			f.value = string(value)
		}
		switch f.name {
		case "Host":
			if host || !validHost(f.value) {
				return false
			}
			host = true
			hc.host = f.value
			continue
		case "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Expect", "Te",
			"Keep-Alive", "Proxy-Connection", "Trailer":
			return false
		}
		if _, dup := hc.hdr[f.name]; dup {
			return false
		}
		hc.vals = append(hc.vals, f.value)
		i := len(hc.vals)
		hc.hdr[f.name] = hc.vals[i-1 : i : i]
	}
	if !host {
		return false
	}
	hc.req = hc.tmpl
	hc.url = url.URL{Path: hc.path, RawPath: hc.rawPath, RawQuery: hc.query, ForceQuery: hc.forceQuery}
	hc.req.Method = method
	hc.req.URL = &hc.url
	hc.req.Header = hc.hdr
	hc.req.Host = hc.host
	hc.req.RequestURI = hc.target
	return true
}

// validTarget reports an origin-form target (RFC 9112 §3.2.1) of
// characters that need no decoding: "/" followed by unreserved and
// sub-delims characters, ":", "@", "/" and, in the query, "?". A
// percent-encoded one is net/http's to decode.
func validTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	for _, c := range t {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validFieldName reports a token (RFC 9110 §5.1).
func validFieldName(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// validFieldValue reports a value of visible ASCII characters, spaces and
// tabs (RFC 9110 §5.5 without obs-text).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validHost reports a Host of a reg-name or IP literal and an optional
// port, with nothing to decode.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_':
		default:
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	return bytes.TrimFunc(b, func(r rune) bool { return r == ' ' || r == '\t' })
}

// hitWriter is the loop's http.ResponseWriter. It writes what net/http's
// would for the same calls: the status line and the fields in name order;
// Date when missing; no Content-Length (nor Content-Type on a 304) where
// no body is allowed; a sniffed Content-Type when none is set; no body for
// HEAD. A body without a Content-Length is held up to 2 KiB: a handler
// that returns by then gets it framed by its length, one that writes more
// or flushes gets chunked transfer coding, with the trailers it declares.
// 1xx responses are written at once.
type hitWriter struct {
	hc      *hitConn
	hdr     http.Header
	keys    []string
	head    bool   // a HEAD request
	touched bool   // WriteHeader, Write or Flush was called
	status  int    // 0 until WriteHeader
	wrote   bool   // the final head is written out
	chunked bool   // the body goes in chunks
	clen    int64  // the Content-Length set, -1 if none
	n       int64  // body bytes written
	pending []byte // the body held while there is no Content-Length
}

// hitHoldMax is how much of a body without a Content-Length is held
// before chunking, as net/http's bufferBeforeChunkingSize.
const hitHoldMax = 2048

func (w *hitWriter) reset(head bool) {
	clear(w.hdr)
	w.head, w.touched, w.status, w.wrote, w.chunked, w.clen, w.n = head, false, 0, false, false, -1, 0
	w.pending = w.pending[:0]
}

func (w *hitWriter) Header() http.Header { return w.hdr }

func (w *hitWriter) WriteHeader(code int) {
	w.touched = true
	if w.status != 0 || code < 100 || code > 999 {
		return
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols {
			w.writeInterim(code)
		}
		return
	}
	w.status = code
	if v := w.hdr["Content-Length"]; len(v) == 1 && bodyAllowed(code) {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.clen = n
		}
	}
}

// writeInterim writes a 1xx response with the fields set so far, at once.
func (w *hitWriter) writeInterim(code int) {
	bw := w.hc.bw
	w.statusLine(code)
	w.writeFields(code)
	bw.WriteString("\r\n")
	bw.Flush()
}

func (w *hitWriter) Write(p []byte) (int, error) {
	w.touched = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.clen >= 0 {
		if w.n+int64(len(p)) > w.clen {
			return 0, http.ErrContentLength
		}
		if !w.wrote {
			w.writeHead(p, -1)
		}
		if w.head {
			w.n += int64(len(p))
			return len(p), nil
		}
		n, err := w.hc.bw.Write(p)
		w.n += int64(n)
		return n, err
	}
	if !w.wrote {
		if len(w.pending)+len(p) <= hitHoldMax {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.startBody(p)
	}
	w.n += int64(len(p))
	if w.head {
		return len(p), nil // no body for HEAD (RFC 9110 §9.3.2)
	}
	return len(p), w.writeChunk(p)
}

// startBody writes the head of a body of unknown length, p being the data
// about to follow what is held: chunked transfer coding (but for HEAD),
// a Content-Type sniffed from the first 512 bytes when none is set, and
// the body held so far as the first chunk.
func (w *hitWriter) startBody(p []byte) {
	held := len(w.pending)
	sniff := w.pending
	if held < 512 && len(p) > 0 {
		sniff = append(w.pending, p[:min(len(p), 512-held)]...)
	}
	w.chunked = !w.head
	w.writeHead(sniff, -1)
	if w.chunked {
		w.writeChunk(w.pending[:held])
	}
	w.n += int64(held)
	w.pending = w.pending[:0]
}

func (w *hitWriter) writeChunk(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	bw := w.hc.bw
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	_, err := bw.WriteString("\r\n")
	return err
}

// Flush writes out what is held, as http.Flusher.
func (w *hitWriter) Flush() { w.FlushError() }

// FlushError writes out what is held (the head, and with no Content-Length
// the body held so far, which makes it chunked); http.ResponseController
// calls it.
func (w *hitWriter) FlushError() error {
	w.touched = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wrote {
		if w.clen < 0 && bodyAllowed(w.status) {
			w.startBody(nil)
		} else {
			w.writeHead(nil, -1)
		}
	}
	return w.hc.bw.Flush()
}

// finish completes the response after the handler returned and reports
// whether the connection may carry another request: not after a body
// shorter than its Content-Length.
func (w *hitWriter) finish() bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.chunked:
		bw := w.hc.bw
		bw.WriteString("0\r\n")
		w.writeTrailers()
		_, err := bw.WriteString("\r\n")
		return err == nil
	case w.wrote:
		return w.head || !bodyAllowed(w.status) || w.clen < 0 || w.n == w.clen
	case w.clen >= 0 || !bodyAllowed(w.status):
		w.writeHead(nil, -1)
		return w.clen <= 0 || w.head || !bodyAllowed(w.status)
	}
	// A body of unknown length that fits what is held: framed by its
	// length (for HEAD, only when something was written, as net/http).
	length := len(w.pending)
	if w.head && length == 0 {
		length = -1
	}
	w.writeHead(w.pending, length)
	w.n += int64(len(w.pending))
	if w.head {
		return true
	}
	_, err := w.hc.bw.Write(w.pending)
	return err == nil
}

// writeTrailers writes the trailer fields of a chunked body: those the
// Trailer field declared, and those set under http.TrailerPrefix.
func (w *hitWriter) writeTrailers() {
	bw := w.hc.bw
	for _, decl := range w.hdr["Trailer"] {
		for name := range strings.SplitSeq(decl, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			for _, v := range w.hdr[name] {
				writeField(bw, name, v)
			}
		}
	}
	for k, vs := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vs {
				writeField(bw, name, v)
			}
		}
	}
}

func (w *hitWriter) statusLine(code int) {
	bw := w.hc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(code))
	bw.WriteString("\r\n")
}

// writeFields writes the fields of a response with status code, in name
// order, less those net/http leaves out (see suppressed).
func (w *hitWriter) writeFields(code int) {
	w.keys = w.keys[:0]
	for k := range w.hdr {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		if suppressed(code, k) {
			continue
		}
		for _, v := range w.hdr[k] {
			writeField(w.hc.bw, k, v)
		}
	}
}

// writeField writes one field line, with CR and LF in the value turned to
// spaces and the value trimmed, as net/http does.
func writeField(bw *bufio.Writer, name, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(name)
	bw.WriteString(": ")
	bw.WriteString(strings.Trim(v, " \t"))
	bw.WriteString("\r\n")
}

// writeHead writes the status line and fields of the final response; p is
// the first body data, for sniffing a missing Content-Type, and length,
// unless negative, the Content-Length to add.
func (w *hitWriter) writeHead(p []byte, length int) {
	w.wrote = true
	bw := w.hc.bw
	w.statusLine(w.status)
	w.writeFields(w.status)
	if w.hdr["Date"] == nil {
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(bw.AvailableBuffer(), http.TimeFormat))
		bw.WriteString("\r\n")
	}
	if bodyAllowed(w.status) {
		if _, ok := w.hdr["Content-Type"]; !ok && len(p) > 0 && w.hdr.Get("Content-Encoding") == "" {
			bw.WriteString("Content-Type: ")
			bw.WriteString(http.DetectContentType(p))
			bw.WriteString("\r\n")
		}
		if length >= 0 {
			bw.WriteString("Content-Length: ")
			bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(length), 10))
			bw.WriteString("\r\n")
		}
		if w.chunked {
			bw.WriteString("Transfer-Encoding: chunked\r\n")
		}
	}
	bw.WriteString("\r\n")
}

// suppressed reports the fields net/http leaves out of a response with
// status code: Transfer-Encoding and Connection (the loop frames the body
// itself), trailers set under http.TrailerPrefix, Content-Length where no
// body is allowed, and Content-Type on a 304.
func suppressed(code int, k string) bool {
	switch k {
	case "Transfer-Encoding", "Connection":
		return true
	case "Content-Length":
		return !bodyAllowed(code)
	case "Content-Type":
		return code == http.StatusNotModified
	}
	return strings.HasPrefix(k, http.TrailerPrefix)
}
