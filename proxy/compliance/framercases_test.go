package compliance

const (
	ok200    = "HTTP/1.1 200 OK\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 5\r\n\r\nhello"
	head200  = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
	clean204 = "HTTP/1.1 204 No Content\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n"
	clean304 = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"
	// smuggled is a complete response that a bad 204 carries as its "body":
	// parsed as the next response, it would be stored for ten minutes.
	smuggled = "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=600\r\nContent-Length: 4\r\n\r\nevil"
	chunked  = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

	continue100    = "HTTP/1.1 100 Continue\r\n\r\n"
	badHead204     = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
	chunkedHead204 = "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"
	// Heads whose framing is in doubt: the LF ending them shows it.
	twoLengths = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
	spaceColon = "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"
	foldedTE   = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n"
)

// framerCases are wire scripts with their outcome for whole feeds; every
// split of their feeds must give the same outcome (TestFramerSplits).
var framerCases = []struct {
	name  string
	steps []step
	want  outcome
	// passedAll sets want.passed to the total length of the feeds.
	passedAll bool
}{
	// Bodies delimited as RFC 9112 §6.3 says.
	{
		name:      "RFC 9112 §6.3 item 6: Content-Length body",
		steps:     []step{begin("GET"), feed(ok200)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 6: Content-Length 0",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §8.6: a list of identical Content-Length values",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\ncontent-length: 2\r\n\r\nok")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §2.2: bare LF line ends in the header section",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §4: status line without a reason phrase",
		steps:     []step{begin("GET"), feed("HTTP/1.0 200\r\nContent-Length: 2\r\n\r\nok")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 8: read until close, then EOF",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\n\r\nany"), feed("thing"), eof()},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 8: read until close, connection still open",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")},
		want:      outcome{},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 4: Transfer-Encoding not ending in chunked reads until close",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n\r\nabc"), eof()},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 3: Transfer-Encoding overrides Content-Length",
		steps:     []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §7.1: chunked with extensions and trailer fields",
		steps:     []step{begin("GET"), feed(chunked + "5;foo=bar\r\nhello\r\nA ; a=\"b c\" ;d\r\n world!!!!\r\n000;last\r\nX-Trailer: v\r\nX-Other: w\r\n\r\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §7.1: chunked, upper-case hex, bare-LF trailer end",
		steps:     []step{begin("GET"), feed(chunked + "1F\r\n0123456789012345678901234567890\r\n0\r\n\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §15.2: 1xx interim responses, then the final one",
		steps:     []step{begin("GET"), feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nContent-Length: 7\r\n\r\n" + ok200)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §15.2.2: 101 owns the rest of the connection",
		steps:     []step{begin("GET"), feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"), feed("more"), eof()},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 2: 2xx to CONNECT is a tunnel",
		steps:     []step{begin("CONNECT"), feed("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01")},
		want:      outcome{},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 1: HEAD response with Content-Length has no body",
		steps:     []step{begin("HEAD"), feed(head200)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.3 item 1: 304 with Content-Length has no body",
		steps:     []step{begin("GET"), feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §15.3.5: clean 204",
		steps:     []step{begin("DELETE"), feed(clean204)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §9.3: keep-alive exchanges in sequence",
		steps:     []step{begin("GET"), feed(ok200), begin("PUT"), feed(clean204), begin("HEAD"), feed(head200), begin("GET"), feed(chunked + "0\r\n\r\n"), begin("GET"), feed(clean304)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §9.3.2: pipelined requests are answered in order",
		steps:     []step{begin("GET"), begin("HEAD"), begin("DELETE"), feed(ok200 + head200 + clean204)},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:  "not idle while a response is outstanding",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")},
		want:  outcome{passed: 41},
	},

	// 204-content-length, 204-transfer-encoding.
	{
		name:      "RFC 9110 §8.6: 204 with Content-Length: 0",
		steps:     []step{begin("GET"), feed("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")},
		want:      outcome{rules: []Rule{NoContentLength}, idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9112 §6.1: 204 with Transfer-Encoding and Content-Length",
		steps:     []step{begin("GET"), feed("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n")},
		want:      outcome{rules: []Rule{NoContentLength, NoContentTransferEncoding}, idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §8.6: 204 to HEAD with an unparseable Content-Length",
		steps:     []step{begin("HEAD"), feed("HTTP/1.1 204 No Content\r\nContent-Length: x\r\nContent-Length: 7\r\n\r\n")},
		want:      outcome{rules: []Rule{NoContentLength}, idle: true},
		passedAll: true,
	},
	{
		name:      "RFC 9110 §8.6: 1xx Content-Length is not the 204's",
		steps:     []step{begin("GET"), feed("HTTP/1.1 103 Early Hints\r\nContent-Length: 0\r\n\r\n" + clean204)},
		want:      outcome{idle: true},
		passedAll: true,
	},

	// 204-body, 304-body, head-body.
	{
		name:  "RFC 9110 §15.3.5: 204 with Content-Length and its body",
		steps: []step{begin("GET"), feed(badHead204 + "hello")},
		want:  outcome{passed: len(badHead204), rules: []Rule{NoContentLength, NoContentBody}, poisoned: true},
	},
	{
		name:  "RFC 9110 §15.3.5: smuggling, a 204 whose body is a response, same read",
		steps: []step{begin("GET"), feed(clean204 + smuggled)},
		want:  outcome{passed: len(clean204), rules: []Rule{NoContentBody}, poisoned: true},
	},
	{
		name:  "RFC 9110 §15.3.5: smuggling, a 204 whose body is a response, later read",
		steps: []step{begin("GET"), feed(clean204), feed(smuggled), begin("GET"), feed(ok200)},
		want:  outcome{passed: len(clean204), rules: []Rule{NoContentBody}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: chunked 204 body after an interim response",
		steps: []step{begin("GET"), feed(continue100 + chunkedHead204 + "0\r\n\r\n")},
		want:  outcome{passed: len(continue100 + chunkedHead204), rules: []Rule{NoContentTransferEncoding, NoContentBody}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: 304 with a body",
		steps: []step{begin("GET"), feed(clean304 + "x")},
		want:  outcome{passed: len(clean304), rules: []Rule{NotModifiedBody}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: HEAD response with a body",
		steps: []step{begin("HEAD"), feed(head200 + "hello")},
		want:  outcome{passed: len(head200), rules: []Rule{HeadBody}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: 204 to HEAD with a body is 204-body",
		steps: []step{begin("HEAD"), feed(clean204), feed("\r\n")},
		want:  outcome{passed: len(clean204), rules: []Rule{NoContentBody}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: 304 to HEAD with a body is 304-body",
		steps: []step{begin("HEAD"), feed(clean304 + "\n")},
		want:  outcome{passed: len(clean304), rules: []Rule{NotModifiedBody}, poisoned: true},
	},

	// content-length-mismatch.
	{
		name:  "RFC 9112 §6.3: body longer than Content-Length",
		steps: []step{begin("GET"), feed(ok200 + "\r\n")},
		want:  outcome{passed: len(ok200), rules: []Rule{ContentLengthMismatch}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: pipelined-looking bytes after a response",
		steps: []step{begin("GET"), feed(ok200 + smuggled)},
		want:  outcome{passed: len(ok200), rules: []Rule{ContentLengthMismatch}, poisoned: true},
	},
	{
		name:  "RFC 9112 §6.3: body shorter than Content-Length",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"), eof()},
		want:  outcome{passed: 45, rules: []Rule{ContentLengthMismatch}},
	},
	{
		name:  "RFC 9112 §6.3: EOF before any body byte",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"), eof()},
		want:  outcome{passed: 38, rules: []Rule{ContentLengthMismatch}},
	},
	{
		name:  "RFC 9112 §7.1: chunked body cut short",
		steps: []step{begin("GET"), feed(chunked + "5\r\nhel"), eof()},
		want:  outcome{passed: len(chunked) + 6, rules: []Rule{ContentLengthMismatch}},
	},
	{
		name:  "RFC 9112 §7.1: chunked body cut short in the trailer section",
		steps: []step{begin("GET"), feed(chunked + "0\r\nX: y\r\n"), eof()},
		want:  outcome{passed: len(chunked) + 9, rules: []Rule{ContentLengthMismatch}},
	},
	{
		name:  "RFC 9112 §7.1: bytes after the last chunk",
		steps: []step{begin("GET"), feed(chunked + "0\r\n\r\n"), feed("0\r\n\r\n")},
		want:  outcome{passed: len(chunked) + 5, rules: []Rule{ContentLengthMismatch}, poisoned: true},
	},
	{
		name:  "RFC 9112 §9.6: EOF with no response is no violation",
		steps: []step{begin("GET"), eof()},
		want:  outcome{},
	},
	{
		name:  "EOF inside a header section is no violation",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Le"), eof()},
		want:  outcome{passed: 27},
	},

	// Framing in doubt: poisoned, no rule.
	{
		name:  "RFC 9112 §4: not a status line",
		steps: []step{begin("GET"), feed("HTTP/2 200 OK\r\n\r\n")},
		want:  outcome{passed: 5, poisoned: true},
	},
	{
		name:  "RFC 9112 §4: status code not three digits",
		steps: []step{begin("GET"), feed("HTTP/1.1 2000 OK\r\n\r\n")},
		want:  outcome{passed: 17, poisoned: true},
	},
	{
		name:  "RFC 9112 §2.2: empty line before the status line",
		steps: []step{begin("GET"), feed("\r\n" + ok200)},
		want:  outcome{passed: 0, poisoned: true},
	},
	{
		name:  "bytes before any request",
		steps: []step{feed(ok200)},
		want:  outcome{passed: 0, poisoned: true},
	},
	{
		name:  "RFC 9110 §8.6: differing Content-Length values",
		steps: []step{begin("GET"), feed(twoLengths + "hello!")},
		want:  outcome{passed: len(twoLengths) - 1, poisoned: true},
	},
	{
		name:  "RFC 9110 §8.6: differing values in one Content-Length",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!")},
		want:  outcome{passed: 40, poisoned: true},
	},
	{
		name:  "RFC 9110 §8.6: negative Content-Length",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")},
		want:  outcome{passed: 38, poisoned: true},
	},
	{
		name:  "RFC 9110 §8.6: Content-Length past int64",
		steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")},
		want:  outcome{passed: 56, poisoned: true},
	},
	{
		name:  "RFC 9112 §5.1: whitespace before the colon of Content-Length",
		steps: []step{begin("GET"), feed(spaceColon + "hello")},
		want:  outcome{passed: len(spaceColon) - 1, poisoned: true},
	},
	{
		name:  "RFC 9112 §5.2: folded Transfer-Encoding",
		steps: []step{begin("GET"), feed(foldedTE + "0\r\n\r\n")},
		want:  outcome{passed: len(foldedTE) - 1, poisoned: true},
	},
	{
		name:      "RFC 9112 §5.2: folded Content-Length does not matter to a 304",
		steps:     []step{begin("GET"), feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n 6\r\n\r\n")},
		want:      outcome{idle: true},
		passedAll: true,
	},
	{
		name:  "RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0",
		steps: []step{begin("GET"), feed("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")},
		want:  outcome{passed: 46, poisoned: true},
	},
	{
		name:  "RFC 9112 §7.1: bare LF ending a chunk-size line",
		steps: []step{begin("GET"), feed(chunked + "5\nhello\r\n0\r\n\r\n")},
		want:  outcome{passed: len(chunked) + 1, poisoned: true},
	},
	{
		name:  "RFC 9112 §7.1: chunk data not followed by CRLF",
		steps: []step{begin("GET"), feed(chunked + "2\r\nokX\r\n0\r\n\r\n")},
		want:  outcome{passed: len(chunked) + 5, poisoned: true},
	},
	{
		name:  "RFC 9112 §7.1: chunk size not hex",
		steps: []step{begin("GET"), feed(chunked + "0x5\r\nhello\r\n0\r\n\r\n")},
		want:  outcome{passed: len(chunked) + 1, poisoned: true},
	},
	{
		name:  "RFC 9112 §7.1: chunk size missing",
		steps: []step{begin("GET"), feed(chunked + ";ext\r\n")},
		want:  outcome{passed: len(chunked), poisoned: true},
	},
	{
		name:  "RFC 9112 §7.1: chunk size past int64",
		steps: []step{begin("GET"), feed(chunked + "80000000000000000\r\n")},
		want:  outcome{passed: len(chunked) + 15, poisoned: true}, // the 16th digit overflows
	},
	{
		name:  "RFC 9112 §7.1: CR inside a chunk extension",
		steps: []step{begin("GET"), feed(chunked + "1;a\rb\r\nx\r\n0\r\n\r\n")},
		want:  outcome{passed: len(chunked) + 4, poisoned: true},
	},
	{
		name:  "poisoned is sticky",
		steps: []step{begin("GET"), feed(clean204 + "x"), begin("GET"), feed(ok200), eof()},
		want:  outcome{passed: len(clean204), rules: []Rule{NoContentBody}, poisoned: true},
	},
	{
		name:  "Feed after EOF poisons",
		steps: []step{begin("GET"), feed(ok200), eof(), begin("GET"), feed(ok200)},
		want:  outcome{passed: len(ok200), poisoned: true},
	},
}
