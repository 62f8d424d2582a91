package cache

import "net/http"

// Key returns the primary cache key of r (RFC 9111 §2): scheme, host and
// target URI. The host is lower-cased and a default port (:80 for http,
// :443 for https) dropped; the path is kept as received (r.URL.EscapedPath),
// then "?" and the raw query when one was sent. The method is not part of
// the key: only GET responses are stored and HEAD is answered from them.
//
// r.URL may be in origin form (reverse proxy: scheme from r.TLS, host from
// r.Host) or absolute form (forward proxy: scheme and host from r.URL).
// Example: "http://api.example.com/v1/items?page=2".
func Key(r *http.Request) string { panic("TODO") }

// CredentialHash returns a hex SHA-256 digest of the Authorization field
// value, for caching per credential: the key material never holds the
// credential itself. It returns "" for "".
func CredentialHash(authorization string) string { panic("TODO") }
