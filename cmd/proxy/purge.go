package main

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/cacheproxy/cacheproxy/cache"
)

// purger is the part of *cache.Store the purge API needs.
type purger interface {
	Purge(key string) bool
	PurgePrefix(prefix string) int
	PurgeTag(field, tag string) int
}

var _ purger = (*cache.Store)(nil)

// newPurgeHandler serves POST /purge on the admin listener. Exactly one
// parameter (query string or form) says what goes:
//
//	url=http://api.example.com/v1/items/42   the stored responses of that URL
//	prefix=http://api.example.com/v1/items/  every URL that starts with it
//	tag=user-42                              every response whose tagField
//	                                         (e.g. Surrogate-Key) lists it
//
// URLs are normalised as cache keys are (lower-case host, default port
// dropped). A tag is matched exactly, never as a pattern. When token is
// not empty the request must carry "Authorization: Bearer <token>"
// (compared in constant time). It answers {"purged": N}.
func newPurgeHandler(s purger, token, tagField string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cacheproxy admin"`)
				jsonError(w, http.StatusUnauthorized, "purge needs Authorization: Bearer <admin.purge_token>")
				return
			}
		}
		if err := r.ParseForm(); err != nil {
			jsonError(w, http.StatusBadRequest, "bad form: "+err.Error())
			return
		}
		var given []string
		for _, p := range []string{"url", "prefix", "tag"} {
			if r.Form.Has(p) {
				given = append(given, p)
			}
		}
		if len(given) != 1 {
			jsonError(w, http.StatusBadRequest, "give exactly one of url=, prefix= or tag=")
			return
		}
		what, v := given[0], r.Form.Get(given[0])
		var n int
		switch what {
		case "tag":
			if v == "" || strings.ContainsAny(v, " \t") {
				jsonError(w, http.StatusBadRequest, "tag= must be one non-empty tag without spaces")
				return
			}
			n = s.PurgeTag(tagField, v)
		default:
			key, err := purgeKey(v)
			if err != nil {
				jsonError(w, http.StatusBadRequest, what+"=: "+err.Error())
				return
			}
			if what == "prefix" {
				n = s.PurgePrefix(key)
			} else if s.Purge(key) {
				n = 1
			}
		}
		logger.Info("purged", what, v, "entries", n)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(struct {
			Purged int `json:"purged"`
		}{n})
	})
}

// purgeKey turns an absolute http(s) URL into the cache key it is stored
// under.
func purgeKey(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q must be an absolute http:// or https:// URL", raw)
	}
	return cache.Key(&http.Request{URL: u, Host: u.Host}), nil
}

// jsonError answers an API error as {"error": msg}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
