package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestReload runs the program with a config file, rewrites the file and
// sends SIGHUP (on the channel main feeds from the signal): traffic goes
// to the new upstream, the cache and the client's connection are kept, and
// invalid or restart-only configurations are refused while the running
// one keeps serving.
func TestReload(t *testing.T) {
	t.Parallel()
	origin := func(name string) (*httptest.Server, *atomic.Int64) {
		var n atomic.Int64
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			if r.URL.Path == "/cached" {
				w.Header().Set("Cache-Control", "max-age=600")
			} else {
				w.Header().Set("Cache-Control", "no-store")
			}
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s, &n
	}
	a, _ := origin("a")
	b, bHits := origin("b")
	file := filepath.Join(t.TempDir(), "proxy.toml")
	write := func(body string) {
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := func(upstream string) string {
		return fmt.Sprintf("listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n[[route]]\nname = \"api\"\nupstream = %q\n", upstream)
	}
	write(conf(a.URL))

	ctx, cancel := context.WithCancel(t.Context())
	hup := make(chan os.Signal, 1)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"-config", file}, io.Discard, pw, hup)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit status %d; want 0", code)
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// waitLog returns the lines up to and including the first containing s.
	waitLog := func(s string) string {
		var seen strings.Builder
		for l := range lines {
			seen.WriteString(l + "\n")
			if strings.Contains(l, s) {
				return seen.String()
			}
		}
		t.Fatalf("the program ended without logging %q:\n%s", s, seen.String())
		return ""
	}
	listen := logAttr(waitLog("msg=listening"), "listen")

	client := &http.Client{Transport: &http.Transport{}}
	get := func(path string) (string, bool) {
		reused := false
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+listen+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), reused
	}
	if body, _ := get("/cached"); body != "a" {
		t.Fatalf("before reload: %q; want a", body)
	}

	write(conf(b.URL))
	hup <- os.Interrupt // any value: main sends SIGHUP
	waitLog("msg=reloaded")
	if body, reused := get("/fresh"); body != "b" || !reused {
		t.Errorf("after reload: %q (connection reused %v); want b on the same connection", body, reused)
	}
	if body, _ := get("/cached"); body != "a" {
		t.Errorf("cached entry after reload: %q; want a, from the cache kept across the reload", body)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"invalid", "[[route]]\nname = \"API\"\nupstream = \"ftp://x\"\n", `route[0].name: \"API\" must match`},
		{"restart only", strings.Replace(conf(a.URL), "admin_listen = \"127.0.0.1:0\"", "admin_listen = \"127.0.0.1:1\"", 1), "admin_listen: changed; restart the proxy"},
	} {
		write(tc.file)
		hup <- os.Interrupt
		if got := waitLog("the running configuration keeps serving"); !strings.Contains(got, tc.want) {
			t.Errorf("%s reload: log\n%s\nwant a line with %q", tc.name, got, tc.want)
		}
		before := bHits.Load()
		if body, _ := get("/fresh"); body != "b" || bHits.Load() != before+1 {
			t.Errorf("%s reload: traffic went to %q; want b, the configuration still running", tc.name, body)
		}
	}
}
