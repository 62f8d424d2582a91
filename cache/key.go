package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Key returns the primary cache key of r (RFC 9111 §2): scheme, host and
// target URI. The host is lower-cased and a default port (:80 for http,
// :443 for https) dropped; the path is kept as received (r.URL.EscapedPath),
// then "?" and the raw query when one was sent. The method is not part of
// the key: only GET responses are stored and HEAD is answered from them.
//
// r.URL may be in origin form (reverse proxy: scheme from r.TLS, host from
// r.Host) or absolute form (forward proxy: scheme and host from r.URL).
// Example: "http://api.example.com/v1/items?page=2".
//
// The scheme is lower-cased too, an empty port (host:) is dropped like a
// default one (RFC 3986 §6.2.3), and an empty path is "/" (RFC 9110
// §4.2.3). Key makes a single allocation, for the returned string.
func Key(r *http.Request) string {
	scheme, host := "http", r.Host
	var path, query string
	forceQuery := false
	if u := r.URL; u != nil {
		if u.Scheme != "" {
			scheme = u.Scheme
			if u.Host != "" {
				host = u.Host
			}
		} else if r.TLS != nil {
			scheme = "https"
		}
		if host == "" {
			host = u.Host
		}
		path, query, forceQuery = u.EscapedPath(), u.RawQuery, u.ForceQuery
	} else if r.TLS != nil {
		scheme = "https"
	}
	if path == "" {
		path = "/"
	}
	host = dropDefaultPort(scheme, host)

	var b strings.Builder
	b.Grow(len(scheme) + len("://") + len(host) + len(path) + len("?") + len(query))
	writeLower(&b, scheme)
	b.WriteString("://")
	writeLower(&b, host)
	b.WriteString(path)
	if query != "" || forceQuery {
		b.WriteByte('?')
		b.WriteString(query)
	}
	return b.String()
}

// dropDefaultPort removes the scheme's default port, or an empty port,
// from host.
func dropDefaultPort(scheme, host string) string {
	var port string
	switch {
	case strings.EqualFold(scheme, "http"):
		port = ":80"
	case strings.EqualFold(scheme, "https"):
		port = ":443"
	}
	switch {
	case port != "" && strings.HasSuffix(host, port):
		return host[:len(host)-len(port)]
	case strings.HasSuffix(host, ":"):
		return host[:len(host)-1]
	}
	return host
}

// writeLower writes s to b with ASCII letters lower-cased.
func writeLower(b *strings.Builder, s string) {
	if !hasUpper(s) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// CredentialHash returns a hex SHA-256 digest of the Authorization field
// value, for caching per credential: the key material never holds the
// credential itself. It returns "" for "".
func CredentialHash(authorization string) string {
	if authorization == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(authorization))
	return hex.EncodeToString(sum[:])
}
