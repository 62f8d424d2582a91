package compliance

import (
	"net/http"
	"strings"
	"testing"
)

// response200 is a typical API response: a 1 KiB body with Content-Length.
var response200 = []byte("HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
	"Cache-Control: public, max-age=60\r\n" +
	"ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"Content-Length: 1024\r\n" +
	"\r\n" + strings.Repeat("x", 1024))

func BenchmarkFramer200(b *testing.B) {
	benchmarkFramer(b, "GET", response200)
}

func BenchmarkFramer204(b *testing.B) {
	benchmarkFramer(b, "DELETE", []byte(clean204))
}

func BenchmarkFramerChunked(b *testing.B) {
	body := strings.Repeat("400\r\n"+strings.Repeat("x", 1024)+"\r\n", 4) + "0\r\n\r\n"
	benchmarkFramer(b, "GET", []byte(chunked+body))
}

// benchmarkFramer feeds resp, in one piece, as the answer to each of a
// sequence of requests on one connection.
func benchmarkFramer(b *testing.B, method string, resp []byte) {
	f := NewFramer()
	b.ReportAllocs()
	b.SetBytes(int64(len(resp)))
	for b.Loop() {
		f.Begin(method)
		if n, vs, poisoned := f.Feed(resp); n != len(resp) || vs != nil || poisoned {
			b.Fatalf("Feed = %d, %v, %v; want %d, nil, false", n, vs, poisoned, len(resp))
		}
	}
}

func BenchmarkCheckHeader(b *testing.B) {
	c := HeaderCheck{Method: "GET", Status: 200, Header: http.Header{
		"Date":          {"Mon, 02 Jan 2006 15:04:05 GMT"},
		"Etag":          {`"33a64df551425fcc55e4d42a148795d9f25f89d4"`},
		"Cache-Control": {"public, max-age=60"},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if vs := CheckHeader(c); vs != nil {
			b.Fatal(vs)
		}
	}
}
