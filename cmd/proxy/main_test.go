package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// runProxy runs the program with args and returns its exit status and
// output. It must only be used with arguments that make run return before
// serving.
func runProxy(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // the one line on stderr
	}{
		{"unknown flag", []string{"-foo"}, "flag provided but not defined: -foo (see -h)"},
		{"missing value", []string{"-listen"}, "flag needs an argument: -listen (see -h)"},
		{"bad bool", []string{"-version=maybe"}, `invalid boolean value "maybe" for -version: parse error (see -h)`},
		{"positional argument", []string{"-listen", "127.0.0.1:0", "serve"}, `unexpected argument "serve": proxy takes flags only (see -h)`},
		{"bad listen", []string{"-listen", "abc"}, `-listen: "abc" is not host:port (like "127.0.0.1:8080", ":8080", or port 0 for any free port)`},
		{"bad upstream", []string{"-upstream", "ftp://x"}, `-upstream: "ftp://x" must be an http:// or https:// URL`},
		{"missing config", []string{"-config", "/nonexistent/cacheproxy.toml"}, "-config: open /nonexistent/cacheproxy.toml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runProxy(t, tt.args...)
			if code != 2 {
				t.Errorf("run(%q) = %d; want 2", tt.args, code)
			}
			if stderr != tt.want+"\n" {
				t.Errorf("run(%q) stderr = %q; want the one line %q", tt.args, stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("run(%q) stdout = %q; want nothing", tt.args, stdout)
			}
		})
	}
}

func TestRunReportsEveryProblem(t *testing.T) {
	t.Parallel()
	code, _, stderr := runProxy(t, "-listen", "abc", "-admin-listen", "xyz", "-upstream", "ftp://x")
	if code != 2 {
		t.Errorf("exit status = %d; want 2", code)
	}
	want := []string{
		`-listen: "abc" is not host:port (like "127.0.0.1:8080", ":8080", or port 0 for any free port)`,
		`-admin-listen: "xyz" is not host:port (like "127.0.0.1:8080", ":8080", or port 0 for any free port)`,
		`-upstream: "ftp://x" must be an http:// or https:// URL`,
	}
	if got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr =\n%s\nwant\n%s", stderr, strings.Join(want, "\n"))
	}
}

func TestRunVersion(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runProxy(t, "-version")
	if code != 0 {
		t.Errorf("run(-version) = %d; want 0", code)
	}
	if want := "cacheproxy " + version() + " " + runtime.Version() + "\n"; stdout != want {
		t.Errorf("run(-version) stdout = %q; want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("run(-version) stderr = %q; want nothing", stderr)
	}
	if v := version(); v == "" {
		t.Error("version() is empty")
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runProxy(t, "-h")
	if code != 0 {
		t.Errorf("run(-h) = %d; want 0", code)
	}
	for _, flag := range []string{"-upstream", "-listen", "-admin-listen", "-config", "-version"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("run(-h) usage does not mention %s:\n%s", flag, stdout)
		}
	}
}

// TestRunAddressInUse checks that a busy address fails before anything is
// built, with exit status 1 and a message naming the address.
func TestRunAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	addr := busy.Addr().String()

	tests := []struct {
		name string
		args []string
	}{
		{"listen", []string{"-upstream", "http://127.0.0.1:1", "-listen", addr, "-admin-listen", "127.0.0.1:0"}},
		{"admin-listen", []string{"-upstream", "http://127.0.0.1:1", "-listen", "127.0.0.1:0", "-admin-listen", addr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runProxy(t, tt.args...)
			if code != 1 {
				t.Errorf("run with %s busy = %d; want 1", tt.name, code)
			}
			if !strings.Contains(stderr, addr) || !strings.Contains(stderr, "level=ERROR") {
				t.Errorf("run with %s busy: stderr = %q; want an error naming %s", tt.name, stderr, addr)
			}
		})
	}
}

// TestRunServesAndShutsDown starts the program on free ports, reads the
// bound addresses from its "listening" log line, checks the admin
// endpoints, then cancels its context (as SIGTERM does) and expects a clean
// exit. Proxying itself is covered by the end-to-end tests at the module
// root.
func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"-upstream", "http://127.0.0.1:1", "-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0"}, io.Discard, pw, nil)
		pw.Close()
		done <- code
	}()

	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var listen, admin string
	for l := range lines {
		if strings.Contains(l, "msg=listening") {
			listen, admin = logAttr(l, "listen"), logAttr(l, "admin_listen")
			break
		}
	}
	if listen == "" || admin == "" || strings.HasSuffix(listen, ":0") {
		t.Fatalf("no listening line with bound addresses (listen %q, admin %q)", listen, admin)
	}

	for _, tt := range []struct {
		path, want string
	}{
		{"/healthz", "ok\n"},
		{"/readyz", "ready\n"},
	} {
		if code, body := httpGet(t, "http://"+admin+tt.path); code != http.StatusOK || body != tt.want {
			t.Errorf("GET %s = %d %q; want 200 %q", tt.path, code, body, tt.want)
		}
	}
	if code, body := httpGet(t, "http://"+admin+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, `cacheproxy_cache_requests_total{result="hit",route="default"} 0`) ||
		!strings.Contains(body, "cacheproxy_cache_capacity_bytes 2.68435456e+08") ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics = %d; want 200 with the route's series, the store's and Go's:\n%s", code, body)
	}

	cancel()
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if code := <-done; code != 0 {
		t.Errorf("run after cancel = %d; want 0; log:\n%s", code, strings.Join(rest, "\n"))
	}
	if len(rest) == 0 || !strings.Contains(rest[len(rest)-1], "msg=stopped") {
		t.Errorf("log after cancel:\n%s\nwant it to end with msg=stopped", strings.Join(rest, "\n"))
	}
}

// logAttr returns the value of key in a text-format slog line.
func logAttr(line, key string) string {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}
