// Command origin is a small API origin for demos and load benchmarks. It
// answers from memory and counts the requests it gets, so that a cache hit
// can be proven not to have reached it.
//
//	GET  /204       204 No Content with an ETag and no freshness information
//	GET  /200-1k    1 KiB body, ETag, Cache-Control: max-age=60
//	GET  /200-64k   64 KiB body, ETag, Cache-Control: max-age=60
//	GET  /nocache   1 KiB body, Cache-Control: no-store
//	GET  /bytes/N   N bytes (0 ≤ N ≤ 8 MiB), max-age=600; 0 answers 204. Any
//	                query string makes another URL, to fill a cache
//	PUT, DELETE     204 on any path
//	GET  /_count    the number of requests served so far (not counted)
//
// Every ETag-carrying endpoint answers a matching If-None-Match with 304.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	flag.Parse()
	srv := &http.Server{
		Addr:              *listen,
		Handler:           newOrigin(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("origin listening on %s", *listen)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// origin is the demo API. It is safe for concurrent use.
type origin struct {
	requests atomic.Int64
	body1k   []byte
	body64k  []byte
}

func newOrigin() *origin {
	return &origin{
		body1k:  bytes.Repeat([]byte("a"), 1<<10),
		body64k: bytes.Repeat([]byte("b"), 64<<10),
	}
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_count" {
		fmt.Fprintln(w, o.requests.Load())
		return
	}
	o.requests.Add(1)
	h := w.Header()
	if r.Method == http.MethodPut || r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch r.URL.Path {
	case "/204":
		h.Set("ETag", `"204-v1"`)
		if r.Header.Get("If-None-Match") == `"204-v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/200-1k":
		o.body(w, r, `"1k-v1"`, "max-age=60", o.body1k)
	case "/200-64k":
		o.body(w, r, `"64k-v1"`, "max-age=60", o.body64k)
	case "/nocache":
		o.body(w, r, "", "no-store", o.body1k)
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
		if !strings.HasPrefix(r.URL.Path, "/bytes/") || err != nil || n < 0 || n > 8<<20 {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "max-age=600")
		if n == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Content-Length", strconv.Itoa(n))
		for n > 0 {
			k := min(n, len(o.body64k))
			w.Write(o.body64k[:k])
			n -= k
		}
	}
}

func (o *origin) body(w http.ResponseWriter, r *http.Request, etag, cc string, b []byte) {
	h := w.Header()
	h.Set("Cache-Control", cc)
	h.Set("Content-Type", "application/octet-stream")
	if etag != "" {
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
