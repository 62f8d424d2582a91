// Command goproxy is the reference for the miss path in bench/run: the
// least a Go proxy on net/http does, httputil.ReverseProxy in front of one
// upstream with no cache, no header rules and no metrics. cacheproxy's
// miss path is compared with it to tell what the caching logic and the
// wire inspection cost from what net/http's server and client cost.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to serve on")
	upstream := flag.String("upstream", "http://127.0.0.1:8081", "the origin's URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "goproxy: -upstream %q is not an absolute URL\n", *upstream)
		os.Exit(2)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Idle upstream connections for every benchmark client, as cacheproxy
	// keeps by default (upstream.max_idle_conns_per_host = 256).
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	// wrk closes its connections mid-request at the end of a run: those
	// cancellations are not worth a line each.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("goproxy listening on %s, upstream %s", *listen, u)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
