package cache

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// readRequest parses a request the way net/http's server does.
func readRequest(t testing.TB, method, target, host string, isTLS bool) *http.Request {
	t.Helper()
	raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	if isTLS {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

func TestKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		target string
		host   string
		tls    bool
		want   string
	}{
		{"§2 origin form", "GET", "/v1/items?page=2", "api.example.com", false, "http://api.example.com/v1/items?page=2"},
		{"§2 host lower-cased", "GET", "/x", "API.Example.COM", false, "http://api.example.com/x"},
		{"§2 path case kept", "GET", "/A/b", "a.com", false, "http://a.com/A/b"},
		{"§2 TLS means https", "GET", "/x", "a.com", true, "https://a.com/x"},
		{"RFC 9110 §4.2.3 default port :80 dropped for http", "GET", "/x", "a.com:80", false, "http://a.com/x"},
		{"RFC 9110 §4.2.3 :443 kept for http", "GET", "/x", "a.com:443", false, "http://a.com:443/x"},
		{"RFC 9110 §4.2.3 default port :443 dropped for https", "GET", "/x", "a.com:443", true, "https://a.com/x"},
		{"RFC 9110 §4.2.3 :80 kept for https", "GET", "/x", "a.com:80", true, "https://a.com:80/x"},
		{"RFC 9110 §4.2.3 other port kept", "GET", "/x", "a.com:8080", false, "http://a.com:8080/x"},
		{"RFC 9110 §4.2.3 port ending in 80 kept", "GET", "/x", "a.com:8080", false, "http://a.com:8080/x"},
		{"RFC 3986 §6.2.3 empty port dropped", "GET", "/x", "a.com:", false, "http://a.com/x"},
		{"RFC 9110 §4.2.3 IPv6 default port dropped", "GET", "/x", "[::1]:80", false, "http://[::1]/x"},
		{"RFC 9110 §4.2.3 IPv6 without port", "GET", "/x", "[::1]", false, "http://[::1]/x"},
		{"§2 escaped path kept as received", "GET", "/a%2Fb/c%20d", "a.com", false, "http://a.com/a%2Fb/c%20d"},
		{"§2 raw query kept as received", "GET", "/x?b=2&a=%41", "a.com", false, "http://a.com/x?b=2&a=%41"},
		{"§2 empty query kept", "GET", "/x?", "a.com", false, "http://a.com/x?"},
		{"§2 method not part of key (HEAD)", "HEAD", "/x", "a.com", false, "http://a.com/x"},
		{"§2 absolute form: scheme and host from the URL", "GET", "http://Example.COM:80/x?q", "other.com", false, "http://example.com/x?q"},
		{"§2 absolute form https without TLS", "GET", "https://a.com:443/x", "a.com", false, "https://a.com/x"},
		{"§2 absolute form scheme lower-cased", "GET", "HTTP://a.com/x", "a.com", false, "http://a.com/x"},
		{"RFC 9110 §4.2.3 absolute form empty path is /", "GET", "http://a.com", "a.com", false, "http://a.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := readRequest(t, tt.method, tt.target, tt.host, tt.tls)
			if got := Key(r); got != tt.want {
				t.Errorf("Key(%s %s, Host %s, TLS %v) = %q; want %q", tt.method, tt.target, tt.host, tt.tls, got, tt.want)
			}
		})
	}
}

func TestKeyHostFallback(t *testing.T) {
	t.Parallel()
	// An origin-form request built by hand without Host takes URL.Host.
	r := &http.Request{URL: &url.URL{Host: "A.com", Path: "/x"}}
	if got, want := Key(r), "http://a.com/x"; got != want {
		t.Errorf("Key(%v) = %q; want %q", r.URL, got, want)
	}
	// In absolute form the URL names the origin, whatever Host says.
	r = &http.Request{URL: &url.URL{Scheme: "http", Host: "Origin.com", Path: "/x"}, Host: "other.com"}
	if got, want := Key(r), "http://origin.com/x"; got != want {
		t.Errorf("Key(%v, Host other.com) = %q; want %q", r.URL, got, want)
	}
	// A nil URL does not panic.
	r = &http.Request{Host: "a.com"}
	if got, want := Key(r), "http://a.com/"; got != want {
		t.Errorf("Key(nil URL) = %q; want %q", got, want)
	}
}

func TestKeyAllocs(t *testing.T) {
	r := readRequest(t, "GET", "/v1/items?page=2", "API.example.com:80", false)
	if n := testing.AllocsPerRun(100, func() { Key(r) }); n > 1 {
		t.Errorf("Key allocates %v times; want at most 1", n)
	}
}

func TestCredentialHash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"§3.5 no credential", "", ""},
		{"§3.5 SHA-256 of the field value", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CredentialHash(tt.in); got != tt.want {
				t.Errorf("CredentialHash(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
	a, b := CredentialHash("Bearer secret-token"), CredentialHash("Bearer secret-tokeN")
	if a == b || strings.Contains(a, "secret") || len(a) != 64 {
		t.Errorf("CredentialHash(%q) = %q, CredentialHash(%q) = %q; want distinct 64-digit digests without the credential", "Bearer secret-token", a, "Bearer secret-tokeN", b)
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{
		"/", "/x?y=1", "/a%2Fb", "http://A.com:80/x", "https://a.com:443", "/x?",
		"*", "//a/b", "HTTP://[::1]:80/p?q#f", "/%zz", "ftp://a.com:21/",
	} {
		f.Add(s, "Example.com:80", false)
		f.Add(s, "a.com:443", true)
	}
	f.Add("*", "\xff", false) // non-ASCII bytes are not case-mapped
	f.Fuzz(func(t *testing.T, target, host string, isTLS bool) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: "GET", URL: u, Host: host}
		if isTLS {
			r.TLS = &tls.ConnectionState{}
		}
		k := Key(r)
		if k2 := Key(r); k2 != k {
			t.Fatalf("Key(%q, %q) = %q then %q; want deterministic", target, host, k, k2)
		}
		scheme, rest, ok := strings.Cut(k, "://")
		if !ok || scheme == "" || scheme != strings.ToLower(scheme) {
			t.Fatalf("Key(%q, %q) = %q; want a lower-case scheme and ://", target, host, k)
		}
		// The host (case and default port) never changes the key.
		r2 := *r
		r2.Host = asciiUpper(host)
		u2 := *u
		u2.Host = asciiUpper(u.Host)
		r2.URL = &u2
		if k2 := Key(&r2); k2 != k {
			t.Errorf("Key with upper-cased host = %q; want %q", k2, k)
		}
		if u.Scheme == "" && !strings.Contains(host, ":") && !strings.Contains(host, "]") {
			r3 := *r
			if scheme == "https" {
				r3.Host = host + ":443"
			} else {
				r3.Host = host + ":80"
			}
			if k3 := Key(&r3); k3 != k {
				t.Errorf("Key with default port %q = %q; want %q", r3.Host, k3, k)
			}
		}
		// The key ends with the target's path and query.
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		if u.RawQuery != "" || u.ForceQuery {
			path += "?" + u.RawQuery
		}
		if !strings.HasSuffix(rest, path) {
			t.Errorf("Key(%q, %q) = %q; want suffix %q", target, host, k, path)
		}
	})
}

// asciiUpper upper-cases the ASCII letters of s only, as hosts are
// compared (strings.ToUpper would rewrite invalid UTF-8).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func BenchmarkKey(b *testing.B) {
	r := readRequest(b, "GET", "/v1/items/12345?page=2&sort=desc", "API.example.com:80", false)
	b.ReportAllocs()
	for b.Loop() {
		Key(r)
	}
}

func BenchmarkAppendKey(b *testing.B) {
	r := readRequest(b, "GET", "/v1/items/12345?page=2&sort=desc", "API.example.com:80", false)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendKey(buf[:0], r)
	}
}

func TestAppendKey(t *testing.T) {
	r := readRequest(t, "GET", "/v1/items/12345?page=2&sort=desc", "API.example.com:80", false)
	buf := make([]byte, 0, 256)
	if got, want := string(AppendKey(buf, r)), Key(r); got != want {
		t.Errorf("AppendKey = %q; want Key's %q", got, want)
	}
	if got := string(AppendKey([]byte("prefix:"), r)); got != "prefix:"+Key(r) {
		t.Errorf("AppendKey onto a prefix = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendKey(buf[:0], r) }); n != 0 {
		t.Errorf("AppendKey into a large enough buffer allocates %v times; want 0", n)
	}
}
