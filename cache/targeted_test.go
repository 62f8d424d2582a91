package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestValidTargeted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want bool
	}{
		{"RFC 8941 §3.2 token members", "no-store", true},
		{"RFC 8941 §3.2 integer member", "max-age=600", true},
		{"RFC 8941 §3.2 several members", "max-age=600, stale-if-error=30, public", true},
		{"RFC 8941 §3.1.2 parameters", "max-age=600;foo=bar, private", true},
		{"RFC 8941 §3.3.3 string value", `x="a, b"`, true},
		{"RFC 8941 §3.1.1 inner list", "x=(a b), y", true},
		{"RFC 8941 §3.3.6 boolean", "x=?1", true},
		{"RFC 9213 §2.2 empty is ignored", "", false},
		{"RFC 8941 §3.2 unknown type", "max-age=10000, &&&&&", false},
		{"RFC 9213 §2.2 max-age of the wrong type", `max-age="10000"`, false},
		{"RFC 9213 §2.2 max-age decimal", "max-age=1.5", false},
		{"RFC 8941 §3.2 upper-case key", "Max-Age=600", false},
		{"RFC 8941 §3.2 trailing comma", "max-age=600,", false},
		{"RFC 8941 §3.3.1 integer too long", "x=1234567890123456", false},
		{"RFC 8941 §3.3.3 unterminated string", `x="abc`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validTargeted([]string{tc.in}); got != tc.want {
				t.Errorf("validTargeted(%q) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestResponseDirectivesTargeted(t *testing.T) {
	t.Parallel()
	h := http.Header{"Cdn-Cache-Control": {`max-age="600"`}, "Cache-Control": {"no-store"}}
	if d := ResponseDirectives(h); d.Targeted || !d.NoStore {
		t.Errorf("ResponseDirectives(%v) = %+v; want Cache-Control's no-store (RFC 9213 §2.2)", h, d)
	}
	h = http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Cache-Control": {"no-store"}}
	if d := ResponseDirectives(h); !d.Targeted || d.NoStore || d.MaxAge != 600*time.Second {
		t.Errorf("ResponseDirectives(%v) = %+v; want the targeted max-age (RFC 9213 §2.1)", h, d)
	}
}

func FuzzValidTargeted(f *testing.F) {
	f.Add("max-age=600, private")
	f.Add(`x=("a" b;c=1), y=:aGk=:, z=?0`)
	f.Fuzz(func(t *testing.T, s string) {
		// Never panics; a valid dictionary stays valid with a valid member
		// appended.
		if validTargeted([]string{s}) && !validTargeted([]string{s, "no-cache"}) {
			t.Errorf("validTargeted(%q) but not with \", no-cache\" appended", s)
		}
	})
}
