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
	return string(AppendKey(make([]byte, 0, 128), r))
}

// AppendKey appends Key(r) to dst and returns the extended buffer. With a
// buffer of enough capacity it allocates nothing: the hit path builds the
// key it looks up into a reused buffer.
func AppendKey(dst []byte, r *http.Request) []byte {
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
	dst = appendLower(dst, scheme)
	dst = append(dst, "://"...)
	dst = appendLower(dst, host)
	dst = append(dst, path...)
	if query != "" || forceQuery {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst
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

// appendLower appends s to dst with ASCII letters lower-cased.
func appendLower(dst []byte, s string) []byte {
	if !hasUpper(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
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
