package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakePurger records the purge it was asked for.
type fakePurger struct{ got string }

func (f *fakePurger) Purge(key string) bool { f.got = "key " + key; return true }
func (f *fakePurger) PurgePrefix(prefix string) int {
	f.got = "prefix " + prefix
	return 3
}
func (f *fakePurger) PurgeTag(field, tag string) int { f.got = "tag " + field + " " + tag; return 2 }

func TestPurgeHandler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, token, auth, body string
		wantCode                int
		wantCall                string
		wantPurged              int
	}{
		{"by URL, normalised as keys are", "", "", "url=http://API.example.com:80/v1/items/42?x=1", 200, "key http://api.example.com/v1/items/42?x=1", 1},
		{"by prefix", "", "", "prefix=https://api.example.com/v1/", 200, "prefix https://api.example.com/v1/", 3},
		{"by host", "", "", "prefix=https://api.example.com", 200, "prefix https://api.example.com/", 3},
		{"by surrogate key", "", "", "tag=user-42", 200, "tag Surrogate-Key user-42", 2},
		{"nothing given", "", "", "", 400, "", 0},
		{"two given", "", "", "tag=a&url=http://x/", 400, "", 0},
		{"relative URL", "", "", "url=/v1/items", 400, "", 0},
		{"tag with spaces", "", "", "tag=a b", 400, "", 0},
		{"token required", "s3cret", "", "tag=a", 401, "", 0},
		{"wrong token", "s3cret", "Bearer s3cre", "tag=a", 401, "", 0},
		{"right token", "s3cret", "Bearer s3cret", "tag=a", 200, "tag Surrogate-Key a", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakePurger{}
			h := newPurgeHandler(f, tc.token, "Surrogate-Key", slog.New(slog.DiscardHandler))
			req := httptest.NewRequest("POST", "/purge", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode || f.got != tc.wantCall {
				t.Fatalf("POST /purge %q = %d (called %q); want %d (%q): %s", tc.body, rec.Code, f.got, tc.wantCode, tc.wantCall, rec.Body)
			}
			var out struct {
				Purged int    `json:"purged"`
				Error  string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("answer %q: %v", rec.Body, err)
			}
			if tc.wantCode == 200 && out.Purged != tc.wantPurged {
				t.Errorf("purged = %d; want %d", out.Purged, tc.wantPurged)
			}
			if tc.wantCode != 200 && out.Error == "" {
				t.Errorf("error answer has no message")
			}
			if tc.wantCode == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}
