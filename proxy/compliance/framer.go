package compliance

import "bytes"

// maxHeadBytes caps the header sections of one exchange (1xx interim
// responses included), and separately a chunked body's trailer section.
// Past it the framing is in doubt.
const maxHeadBytes = 1 << 20

// maxChunkLine caps a chunk-size line, extensions included (Go's client
// has the same limit).
const maxChunkLine = 4096

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
//
// Some framing is in doubt without breaking a rule of the table; the
// Framer then poisons the connection and reports nothing: a status line
// that is not `HTTP/1.x NNN`, header sections (interim ones included) or
// a trailer section over 1 MiB, bytes before the first Begin, and, for a
// response that has a body, a Content-Length that is not a decimal number
// or a list of identical ones, differing Content-Length fields, a folded
// or space-before-colon Content-Length or Transfer-Encoding field, a
// Transfer-Encoding on an HTTP/1.0 response (RFC 9112 §6.1), or malformed
// chunked framing (a chunk-size line that is not hex digits, optional
// extensions and CRLF; chunk data not followed by CRLF). When poisoned, n
// covers the bytes up to, not including, the one that showed the framing
// in doubt, so the total passed on does not depend on how the reads were
// cut. A Feed after EOF poisons; Begin on a poisoned or ended connection
// does nothing.
//
// A response to HEAD that is also a 204 or 304 reports its stray bytes as
// 204-body or 304-body. Bytes after the last chunk and trailer section of
// a chunked body are reported as content-length-mismatch (long), as for a
// Content-Length body: the body was longer than its framing said. A body
// delimited by the end of the connection has nothing stray. A 101
// response, and a 2xx response to CONNECT, own the rest of the
// connection. Requests begun while a response is still being read are
// answered in order (pipelining).
//
// The zero value is ready to use, as NewFramer's is.
type Framer struct {
	state    state
	poisoned bool
	eof      bool

	method  reqKind   // the request the response being read answers
	pending []reqKind // requests begun while a response was being read

	// framing is how the body of the response being read, or of the last
	// one once idle, is delimited: it names the rule stray bytes break.
	framing framing

	// Header section of the response being read.
	headBytes  int    // header (or trailer) section bytes so far
	line       []byte // start of a line split across Feeds
	status     int    // 0 until the status line is read
	http10     bool
	lastField  fieldKind // of the last field line, for obs-fold
	clen       int64     // Content-Length; -1 when absent
	te         bool      // a Transfer-Encoding field is present
	teChunked  bool      // its final coding is chunked
	framingBad bool      // Content-Length or Transfer-Encoding in doubt
	clDetail   string    // a 204's Content-Length, as evidence
	teDetail   string    // a 204's Transfer-Encoding, as evidence

	// Body.
	remain   int64 // Content-Length body or chunk bytes left
	body     int64 // body bytes read (chunked: chunk data)
	cs       chunkStep
	csLen    int // bytes of the chunk-size line so far
	csDigits int
}

// state is where the Framer is in the stream.
type state uint8

const (
	stIdle       state = iota // no response outstanding
	stHead                    // status line and header section
	stBody                    // Content-Length body; remain bytes left
	stChunkLine               // a chunk-size line
	stChunkData               // chunk data; remain bytes left
	stChunkEnd                // the CRLF after chunk data
	stTrailer                 // trailer section after the last chunk
	stUntilClose              // body delimited by the end of the connection
)

// chunkStep is the position inside a chunk-size line or a chunk's CRLF.
type chunkStep uint8

const (
	csSize chunkStep = iota // hex digits
	csBWS                   // whitespace after the size
	csExt                   // chunk extensions, up to CR
	csLF                    // LF ending the line
)

// reqKind is what of the request method matters to framing.
type reqKind uint8

const (
	reqOther reqKind = iota
	reqHead
	reqConnect
)

// framing is how a response's body is delimited.
type framing uint8

const (
	frNone        framing = iota // no response read yet
	frNoContent                  // 204: no body
	frNotModified                // 304: no body
	frHead                       // response to HEAD: no body
	frLength                     // Content-Length
	frChunked                    // chunked transfer coding
	frClose                      // up to the end of the connection
)

// fieldKind is the kind of a header field line.
type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldContentLength
	fieldTransferEncoding
)

// NewFramer returns a Framer for a new connection, with no request
// outstanding.
func NewFramer() *Framer { return &Framer{clen: -1} }

// Begin is called when a request with method is about to be written on
// the connection; the next response read answers it.
func (f *Framer) Begin(method string) {
	if f.poisoned || f.eof {
		return
	}
	m := reqOther
	switch method {
	case "HEAD":
		m = reqHead
	case "CONNECT":
		m = reqConnect
	}
	if f.state == stIdle {
		f.start(m)
		return
	}
	f.pending = append(f.pending, m) // pipelined: answered in order
}

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
func (f *Framer) Feed(p []byte) (n int, vs []Violation, poisoned bool) {
	if f.poisoned {
		return 0, nil, true
	}
	if f.eof {
		f.poison() // nothing can follow the end of the connection
		return 0, nil, true
	}
	i := 0
	for i < len(p) && !f.poisoned {
		switch f.state {
		case stIdle:
			vs = f.stray(vs, p[i:])
			f.poison()
		case stHead, stTrailer:
			i, vs = f.lines(p, i, vs)
		case stBody:
			i += f.take(len(p) - i)
			if f.remain == 0 {
				f.finish()
			}
		case stChunkLine:
			i = f.chunkLine(p, i)
		case stChunkData:
			i += f.take(len(p) - i)
			if f.remain == 0 {
				f.state, f.cs = stChunkEnd, csSize
			}
		case stChunkEnd:
			i = f.chunkEnd(p, i)
		case stUntilClose:
			f.body += int64(len(p) - i)
			i = len(p)
		}
	}
	return i, vs, f.poisoned
}

// EOF is called when the connection has ended (read returned io.EOF or an
// error). It reports content-length-mismatch if a Content-Length or chunked
// body was cut short.
func (f *Framer) EOF() []Violation {
	if f.eof || f.poisoned {
		f.eof = true
		return nil
	}
	f.eof = true
	switch f.state {
	case stBody:
		return []Violation{{
			Rule:   ContentLengthMismatch,
			Detail: "body " + itoa(f.body) + " bytes, Content-Length " + itoa(f.clen),
		}}
	case stChunkLine, stChunkData, stChunkEnd:
		return []Violation{{
			Rule:   ContentLengthMismatch,
			Detail: "chunked body cut short after " + itoa(f.body) + " bytes",
		}}
	case stTrailer:
		return []Violation{{
			Rule:   ContentLengthMismatch,
			Detail: "chunked body cut short in its trailer section, after " + itoa(f.body) + " bytes",
		}}
	case stUntilClose:
		f.finish()
	}
	return nil
}

// Idle reports whether no response is outstanding or being read: the
// connection is between exchanges.
//
// A poisoned Framer is never idle: its framing is unknown.
func (f *Framer) Idle() bool { return !f.poisoned && f.state == stIdle }

// start begins reading the response to a request of kind m.
func (f *Framer) start(m reqKind) {
	f.method = m
	f.state = stHead
	f.headBytes = 0
	f.body, f.remain = 0, 0
	f.resetHead()
}

// resetHead forgets a header section: the next line is a status line.
func (f *Framer) resetHead() {
	f.line = f.line[:0]
	f.status = 0
	f.http10 = false
	f.lastField = fieldOther
	f.clen = -1
	f.te, f.teChunked, f.framingBad = false, false, false
	f.clDetail, f.teDetail = "", ""
}

// finish ends the response being read; the next one pipelined, if any,
// starts.
func (f *Framer) finish() {
	if cap(f.line) > 4096 {
		f.line = nil // do not keep a large header's buffer
	}
	if len(f.pending) > 0 {
		m := f.pending[0]
		f.pending = f.pending[:copy(f.pending, f.pending[1:])]
		f.start(m)
		return
	}
	f.state = stIdle
}

// poison marks the framing in doubt for good.
func (f *Framer) poison() {
	f.poisoned = true
	f.line, f.pending = nil, nil
}

// take consumes up to k bytes of a Content-Length body or chunk data.
func (f *Framer) take(k int) int {
	n := min(int64(k), f.remain)
	f.remain -= n
	f.body += n
	return int(n)
}

// stray reports the bytes rest, which arrived while no response was
// outstanding, under the rule the last response's framing makes them
// break. Before the first response there is none: they only poison.
func (f *Framer) stray(vs []Violation, rest []byte) []Violation {
	var v Violation
	count := itoa(int64(len(rest)))
	switch f.framing {
	case frNoContent:
		v = Violation{Rule: NoContentBody, Detail: count + " bytes after the header section"}
	case frNotModified:
		v = Violation{Rule: NotModifiedBody, Detail: count + " bytes after the header section"}
	case frHead:
		v = Violation{Rule: HeadBody, Detail: count + " bytes after the header section"}
	case frLength:
		v = Violation{Rule: ContentLengthMismatch, Detail: count + " bytes past Content-Length " + itoa(f.clen)}
	case frChunked:
		v = Violation{Rule: ContentLengthMismatch, Detail: count + " bytes after the last chunk"}
	default:
		return vs
	}
	v.Stray = bytes.Clone(rest[:min(len(rest), MaxEvidence)])
	v.StrayLen = int64(len(rest))
	return append(vs, v)
}

// statusPrefix starts every status line the Framer accepts.
const statusPrefix = "HTTP/1."

// lines consumes the lines of a header or trailer section from p[i:],
// handling each complete one, and returns where it stopped: past the
// section's end, at the end of p, or at the byte that poisoned.
func (f *Framer) lines(p []byte, i int, vs []Violation) (int, []Violation) {
	for i < len(p) && (f.state == stHead || f.state == stTrailer) && !f.poisoned {
		rest := p[i:]
		room := maxHeadBytes - f.headBytes
		if f.state == stHead && f.status == 0 && len(f.line) < len(statusPrefix) {
			// Fail early on what cannot be a status line (within the cap,
			// so that the byte that poisons does not depend on cuts).
			want := statusPrefix[len(f.line):]
			for k := 0; k < len(want) && k < len(rest) && k < room; k++ {
				if rest[k] != want[k] {
					f.poison()
					return i + k, vs
				}
			}
		}
		j := bytes.IndexByte(rest, '\n')
		k := len(rest)
		if j >= 0 {
			k = j + 1
		}
		if k > room {
			f.poison()
			return i + room, vs
		}
		f.headBytes += k
		if j < 0 {
			f.line = append(f.line, rest...)
			return len(p), vs
		}
		line := rest[:j]
		if len(f.line) > 0 {
			f.line = append(f.line, line...)
			line = f.line
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		vs = f.endLine(line, vs)
		if f.poisoned {
			return i + j, vs // the line's LF showed it
		}
		if f.line != nil {
			f.line = f.line[:0]
		}
		i += k
	}
	return i, vs
}

// endLine handles one complete line (without its line end) of a header or
// trailer section.
func (f *Framer) endLine(line []byte, vs []Violation) []Violation {
	switch {
	case f.state == stTrailer:
		if len(line) == 0 {
			f.finish() // trailer fields are not framing: ignored
		}
	case f.status == 0:
		status, http10, ok := parseStatusLine(line)
		if !ok {
			f.poison()
			break
		}
		f.status, f.http10 = status, http10
	case len(line) == 0:
		vs = f.endHead(vs)
	default:
		f.field(line)
	}
	return vs
}

// parseStatusLine parses `HTTP/1.x NNN reason` as Go's client does (the
// reason and the space before it may be missing; several spaces before
// the code are tolerated). It returns the status code and whether the
// version is HTTP/1.0.
func parseStatusLine(line []byte) (status int, http10, ok bool) {
	if len(line) < len("HTTP/1.x") || string(line[:len(statusPrefix)]) != statusPrefix || !isDigit(line[7]) {
		return 0, false, false
	}
	http10 = line[7] == '0'
	rest := line[8:]
	if len(rest) == 0 || rest[0] != ' ' {
		return 0, false, false
	}
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) || len(rest) > 3 && rest[3] != ' ' {
		return 0, false, false
	}
	status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	if status < 100 {
		return 0, false, false
	}
	return status, http10, true
}

// field records what a header field line says about framing. Only
// Content-Length and Transfer-Encoding matter; other lines are skipped
// without being checked.
func (f *Framer) field(line []byte) {
	if line[0] == ' ' || line[0] == '\t' {
		// obs-fold (RFC 9112 §5.2) continues the previous field's value.
		if f.lastField != fieldOther {
			f.framingBad = true
		}
		return
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		f.lastField = fieldOther
		return
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	switch {
	case equalFold(name, "content-length"):
		f.lastField = fieldContentLength
		if f.status == 204 && f.clDetail == "" {
			f.clDetail = "Content-Length: " + printable(string(value))
		}
		v, ok := parseContentLength(value)
		switch {
		case !ok:
			f.framingBad = true
		case f.clen < 0:
			f.clen = v
		case f.clen != v:
			f.framingBad = true
		}
	case equalFold(name, "transfer-encoding"):
		f.lastField = fieldTransferEncoding
		if f.status == 204 && f.teDetail == "" {
			f.teDetail = "Transfer-Encoding: " + printable(string(value))
		}
		f.te = true
		if last, ok := lastMember(value); ok {
			f.teChunked = equalFold(last, "chunked")
		}
	default:
		f.lastField = fieldOther
		// RFC 9112 §5.1: no whitespace between name and colon. Go's
		// client rejects it; framing by such a field is in doubt.
		if n := trimRightOWS(name); len(n) < len(name) &&
			(equalFold(n, "content-length") || equalFold(n, "transfer-encoding")) {
			f.framingBad = true
		}
	}
}

// endHead handles the end of a header section: an interim response is
// skipped, a final one's header violations are reported and its body
// delimited (RFC 9112 §6.3).
func (f *Framer) endHead(vs []Violation) []Violation {
	st := f.status
	if st < 200 && st != 101 {
		f.resetHead() // 1xx interim: the final response follows
		return vs
	}
	if st == 204 {
		if f.clDetail != "" {
			vs = append(vs, Violation{Rule: NoContentLength, Detail: f.clDetail})
		}
		if f.te {
			vs = append(vs, Violation{Rule: NoContentTransferEncoding, Detail: f.teDetail})
		}
	}
	switch {
	case st == 204:
		f.framing = frNoContent
		f.finish()
	case st == 304:
		f.framing = frNotModified
		f.finish()
	case f.method == reqHead:
		f.framing = frHead
		f.finish()
	case st == 101 || f.method == reqConnect && st/100 == 2:
		f.framing, f.state = frClose, stUntilClose
	case f.framingBad || f.te && f.http10:
		f.poison()
	case f.te && f.teChunked:
		f.framing, f.state = frChunked, stChunkLine
		f.cs, f.csLen, f.csDigits = csSize, 0, 0
	case f.te:
		f.framing, f.state = frClose, stUntilClose // RFC 9112 §6.3 item 4
	case f.clen >= 0:
		f.framing, f.state, f.remain = frLength, stBody, f.clen
		if f.remain == 0 {
			f.finish()
		}
	default:
		f.framing, f.state = frClose, stUntilClose
	}
	return vs
}
