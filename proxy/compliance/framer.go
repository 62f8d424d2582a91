package compliance

// Framer follows HTTP/1.1 response framing (RFC 9112 §6.3) on one
// connection from the bytes read from it, to tell which bytes belong to a
// response and which do not. It is not safe for concurrent use: the caller
// serialises Begin, Feed and EOF (a connection carries one exchange at a
// time; Go's client never pipelines).
//
// For each response it reads the status line and header section (accepting
// CRLF or bare LF line ends), skips 1xx interim responses, and then
// delimits the body: none for a response to HEAD and for 204 and 304
// (whatever the fields say), chunked when Transfer-Encoding's final coding
// is chunked (chunk sizes, extensions, trailer section), Content-Length
// bytes otherwise, or up to the end of the connection when neither is
// given. It reports on the way:
//   - 204-content-length and 204-transfer-encoding from the raw fields of a
//     204 (Content-Length: 0 included),
//   - 204-body, 304-body, head-body: any byte after the header section of a
//     response that has no body, up to the next Begin,
//   - content-length-mismatch: bytes past Content-Length before the next
//     Begin (long), or the end of the connection inside a Content-Length or
//     chunked body (short).
//
// Bytes that arrive while no request is outstanding (after a response
// ended and before the next Begin) are stray: they belong to no response.
type Framer struct {
	_ int // TODO: state
}

// NewFramer returns a Framer for a new connection, with no request
// outstanding.
func NewFramer() *Framer { panic("TODO") }

// Begin is called when a request with method is about to be written on
// the connection; the next response read answers it.
func (f *Framer) Begin(method string) { panic("TODO") }

// Feed takes the next bytes read from the connection. It returns how many
// leading bytes of p belong to responses (the caller passes exactly those
// on) and the violations found in p. When n < len(p), or poisoned is true,
// the rest of p is stray and the connection's framing is in doubt: the
// caller must pass nothing more from it and close it. Once poisoned, every
// later Feed returns 0, nil, true.
//
// A violation about a response's header fields (204-content-length,
// 204-transfer-encoding) is reported by the Feed that completes that
// header section, before any of its body bytes are counted.
func (f *Framer) Feed(p []byte) (n int, vs []Violation, poisoned bool) { panic("TODO") }

// EOF is called when the connection has ended (read returned io.EOF or an
// error). It reports content-length-mismatch if a Content-Length or chunked
// body was cut short.
func (f *Framer) EOF() []Violation { panic("TODO") }

// Idle reports whether no response is outstanding or being read: the
// connection is between exchanges.
func (f *Framer) Idle() bool { panic("TODO") }
