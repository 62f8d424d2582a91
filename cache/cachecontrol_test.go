package cache

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// directives returns the directives of an empty field changed by set.
func directives(set func(d *Directives)) Directives {
	d := ParseCacheControl(nil)
	if set != nil {
		set(&d)
	}
	return d
}

func TestParseCacheControl(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name  string
		lines []string
		want  Directives
	}{
		{"§5.2 no field", nil, directives(nil)},
		{"§5.2 empty field line", []string{""}, directives(nil)},
		{"§5.2.2.1 max-age", []string{"max-age=60"}, directives(func(d *Directives) { d.MaxAge = 60 * s })},
		{"§5.2 names are case-insensitive", []string{"Max-Age=60, PUBLIC, No-Store"}, directives(func(d *Directives) {
			d.MaxAge, d.Public, d.NoStore = 60*s, true, true
		})},
		{"§5.2 quoted-string argument accepted", []string{`max-age="60"`}, directives(func(d *Directives) { d.MaxAge = 60 * s })},
		{"§5.2 OWS and empty list elements", []string{" , max-age=60 ,,\tpublic , "}, directives(func(d *Directives) {
			d.MaxAge, d.Public = 60*s, true
		})},
		{"§5.2 OWS around = tolerated", []string{"max-age = 60"}, directives(func(d *Directives) { d.MaxAge = 60 * s })},
		{"§5.2 several field lines", []string{"max-age=60", "public"}, directives(func(d *Directives) {
			d.MaxAge, d.Public = 60*s, true
		})},
		{"§5.2.2.10 s-maxage", []string{"s-maxage=30, max-age=60"}, directives(func(d *Directives) {
			d.SMaxAge, d.MaxAge = 30*s, 60*s
		})},
		{"§5.2.2.4 qualified no-cache canonicalised", []string{`no-cache="set-cookie, x-foo"`}, directives(func(d *Directives) {
			d.NoCacheFields = []string{"Set-Cookie", "X-Foo"}
		})},
		{"§5.2.2.4 qualified no-cache in token form", []string{"no-cache=set-cookie"}, directives(func(d *Directives) {
			d.NoCacheFields = []string{"Set-Cookie"}
		})},
		{"§5.2.2.4 qualified and unqualified no-cache", []string{`no-cache, no-cache="X-A"`}, directives(func(d *Directives) {
			d.NoCache, d.NoCacheFields = true, []string{"X-A"}
		})},
		{"§5.2.2.4 qualified field lists merge without duplicates", []string{`no-cache="X-A"`, `no-cache="x-a, X-B"`}, directives(func(d *Directives) {
			d.NoCacheFields = []string{"X-A", "X-B"}
		})},
		{"§5.2.2.4 bad field name in list", []string{`no-cache="a b, X-Ok"`}, directives(func(d *Directives) {
			d.NoCacheFields, d.Invalid = []string{"X-Ok"}, true
		})},
		{"§5.2.2.4 unqualified no-cache", []string{"no-cache"}, directives(func(d *Directives) { d.NoCache = true })},
		{"§5.2.2.7 qualified private", []string{`private="Authorization-Info"`}, directives(func(d *Directives) {
			d.PrivateFields = []string{"Authorization-Info"}
		})},
		{"§5.2.2.7 private with empty list read as unqualified", []string{`private=""`}, directives(func(d *Directives) { d.Private = true })},
		{"§5.2.2.7 unqualified private", []string{"private"}, directives(func(d *Directives) { d.Private = true })},
		{"§1.2.2 delta-seconds clamped at 2^31", []string{"max-age=99999999999999999999999"}, directives(func(d *Directives) {
			d.MaxAge = 1 << 31 * s
		})},
		{"§1.2.2 2^31 kept", []string{"s-maxage=2147483648"}, directives(func(d *Directives) { d.SMaxAge = 1 << 31 * s })},
		{"§1.2.2 2^31-1 kept", []string{"max-age=2147483647"}, directives(func(d *Directives) { d.MaxAge = (1<<31 - 1) * s })},
		{"§1.2.2 leading zeros", []string{"max-age=0000000000000000000000000060"}, directives(func(d *Directives) { d.MaxAge = 60 * s })},
		{"§4.2.1 non-numeric max-age is stale", []string{"max-age=abc"}, directives(func(d *Directives) { d.MaxAge, d.Invalid = 0, true })},
		{"§4.2.1 negative max-age is stale", []string{"max-age=-1"}, directives(func(d *Directives) { d.MaxAge, d.Invalid = 0, true })},
		{"§4.2.1 decimal max-age is stale", []string{"max-age=1.5"}, directives(func(d *Directives) { d.MaxAge, d.Invalid = 0, true })},
		{"§4.2.1 max-age without value is stale", []string{"max-age"}, directives(func(d *Directives) { d.MaxAge, d.Invalid = 0, true })},
		{"§4.2.1 max-age with empty value is stale", []string{"max-age=, public"}, directives(func(d *Directives) {
			d.MaxAge, d.Public, d.Invalid = 0, true, true
		})},
		{"§4.2.1 invalid s-maxage is stale", []string{"s-maxage=1e3"}, directives(func(d *Directives) { d.SMaxAge, d.Invalid = 0, true })},
		{"§4.2.1 first duplicate wins", []string{"max-age=60, max-age=120"}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 60*s, true
		})},
		{"§4.2.1 first duplicate wins across lines", []string{"max-age=60", "max-age=5"}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 60*s, true
		})},
		{"§4.2.1 invalid first duplicate wins", []string{"max-age=x, max-age=60"}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 0, true
		})},
		{"§4.2.1 identical duplicate is valid", []string{"max-age=60, max-age=60"}, directives(func(d *Directives) { d.MaxAge = 60 * s })},
		{"§5.2.1.1 request max-age=0", []string{"max-age=0"}, directives(func(d *Directives) { d.MaxAge = 0 })},
		{"§5.2.1.2 max-stale without value", []string{"max-stale"}, directives(func(d *Directives) { d.MaxStale = MaxStaleAny })},
		{"§5.2.1.2 max-stale with value", []string{"max-stale=30"}, directives(func(d *Directives) { d.MaxStale = 30 * s })},
		{"§5.2.1.2 invalid max-stale accepts no staleness", []string{"max-stale=x"}, directives(func(d *Directives) {
			d.MaxStale, d.Invalid = 0, true
		})},
		{"§5.2.1.3 min-fresh", []string{"min-fresh=20"}, directives(func(d *Directives) { d.MinFresh = 20 * s })},
		{"§5.2.1.4 request no-cache", []string{"no-cache"}, directives(func(d *Directives) { d.NoCache = true })},
		{"§5.2.1.5 request no-store", []string{"no-store"}, directives(func(d *Directives) { d.NoStore = true })},
		{"§5.2.1.7 only-if-cached", []string{"only-if-cached"}, directives(func(d *Directives) { d.OnlyIfCached = true })},
		{"§5.2.2.2 must-revalidate", []string{"must-revalidate"}, directives(func(d *Directives) { d.MustRevalidate = true })},
		{"§5.2.2.3 must-understand", []string{"must-understand, no-store"}, directives(func(d *Directives) {
			d.MustUnderstand, d.NoStore = true, true
		})},
		{"§5.2.2.6 no-transform", []string{"no-transform"}, directives(func(d *Directives) { d.NoTransform = true })},
		{"§5.2.2.8 proxy-revalidate", []string{"proxy-revalidate"}, directives(func(d *Directives) { d.ProxyRevalidate = true })},
		{"RFC 8246 immutable", []string{"immutable"}, directives(func(d *Directives) { d.Immutable = true })},
		{"RFC 5861 stale-while-revalidate and stale-if-error", []string{"stale-while-revalidate=30, stale-if-error=600"}, directives(func(d *Directives) {
			d.StaleWhileRevalidate, d.StaleIfError = 30*s, 600*s
		})},
		{"§5.2.3 unknown directives ignored, quoted commas kept", []string{`foo, bar="baz, max-age=1", max-age=5`}, directives(func(d *Directives) {
			d.MaxAge = 5 * s
		})},
		{"§5.2 quoted-pair does not end the string", []string{`foo="a\", max-age=1", max-age=2`}, directives(func(d *Directives) {
			d.MaxAge = 2 * s
		})},
		{"§5.2 quoted-pair unescaped in field list", []string{`no-cache="X-\A"`}, directives(func(d *Directives) {
			d.NoCacheFields = []string{"X-A"}
		})},
		{"§5.2 stray quote is invalid", []string{`max-age=60, foo="bar`}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 60*s, true
		})},
		{"§5.2 stray quote ends at its line", []string{`foo="bar, max-age=10`, "public"}, directives(func(d *Directives) {
			d.Public, d.Invalid = true, true
		})},
		{"§5.2 junk after argument makes max-age stale", []string{"max-age=60 junk, public"}, directives(func(d *Directives) {
			d.MaxAge, d.Public, d.Invalid = 0, true, true
		})},
		{"§5.2 malformed member skipped past its quoted commas", []string{`foo bar="a, max-age=1", max-age=2`}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 2*s, true
		})},
		{"§5.2 junk after quoted argument", []string{`max-age="60"x`}, directives(func(d *Directives) { d.MaxAge, d.Invalid = 0, true })},
		{"§4.2.1 malformed no-store still applies", []string{"no-store junk"}, directives(func(d *Directives) {
			d.NoStore, d.Invalid = true, true
		})},
		{"§4.2.1 malformed private is unqualified", []string{`private="X-A`}, directives(func(d *Directives) {
			d.Private, d.Invalid = true, true
		})},
		{"§4.2.1 malformed public ignored", []string{"public junk"}, directives(func(d *Directives) { d.Invalid = true })},
		{"§5.2 argument on argument-less directive", []string{"no-store=1"}, directives(func(d *Directives) {
			d.NoStore, d.Invalid = true, true
		})},
		{"§5.2 member not starting with a token", []string{`"x", max-age=1`}, directives(func(d *Directives) {
			d.MaxAge, d.Invalid = 1*s, true
		})},
		{"§5.2 lone equals sign", []string{"=, public"}, directives(func(d *Directives) { d.Public, d.Invalid = true, true })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ParseCacheControl(tt.lines); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCacheControl(%q) =\n%+v; want\n%+v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseCacheControlAllocs(t *testing.T) {
	lines := []string{"max-age=3600, public, stale-while-revalidate=60"}
	if n := testing.AllocsPerRun(100, func() { ParseCacheControl(lines) }); n != 0 {
		t.Errorf("ParseCacheControl(%q) allocates %v times; want 0", lines, n)
	}
}

func TestParseCacheControlDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	lines := []string{`no-cache="x-a"`, "MAX-AGE=1"}
	orig := slices.Clone(lines)
	ParseCacheControl(lines)
	if !slices.Equal(lines, orig) {
		t.Errorf("ParseCacheControl modified its input: %q; want %q", lines, orig)
	}
}

// checkDirectives checks the invariants every parse result holds.
func checkDirectives(t *testing.T, lines []string, d Directives) {
	t.Helper()
	for name, v := range map[string]time.Duration{
		"MaxAge": d.MaxAge, "SMaxAge": d.SMaxAge, "MinFresh": d.MinFresh,
		"StaleWhileRevalidate": d.StaleWhileRevalidate, "StaleIfError": d.StaleIfError,
	} {
		if v != Absent && (v < 0 || v > maxDelta || v%time.Second != 0) {
			t.Errorf("ParseCacheControl(%q).%s = %v; want Absent or whole seconds in [0, 2^31s]", lines, name, v)
		}
	}
	if v := d.MaxStale; v != Absent && v != MaxStaleAny && (v < 0 || v > maxDelta) {
		t.Errorf("ParseCacheControl(%q).MaxStale = %v; want Absent, MaxStaleAny or in [0, 2^31s]", lines, v)
	}
	for _, fields := range [][]string{d.NoCacheFields, d.PrivateFields} {
		for i, f := range fields {
			if !isToken(f) || f != http.CanonicalHeaderKey(f) || slices.Contains(fields[:i], f) {
				t.Errorf("ParseCacheControl(%q) field %q: want a unique canonical token", lines, f)
			}
		}
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"", "max-age=60", "max-age=60, public", `no-cache="Set-Cookie, X-Foo"`,
		`private="a\"b", s-maxage=10`, "max-stale", "max-stale=5, min-fresh=1",
		"stale-while-revalidate=30, stale-if-error=99999999999999999999",
		`max-age="60`, "max-age=-1, max-age=1", "NO-STORE , must-understand",
		`foo="bar,baz", ,, =`, "max-age = 7\t,\tno-cache=x-a",
	} {
		f.Add(s, "public")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		lines := []string{a, b}
		d := ParseCacheControl(lines)
		if d2 := ParseCacheControl(lines); !reflect.DeepEqual(d, d2) {
			t.Fatalf("ParseCacheControl(%q) is not deterministic: %+v then %+v", lines, d, d2)
		}
		checkDirectives(t, lines, d)
		// Without quotes, lines are independent lists: joining them with
		// a comma changes nothing (RFC 9110 §5.3).
		if !strings.Contains(a, `"`) && !strings.Contains(b, `"`) {
			joined := []string{a + ", " + b}
			if dj := ParseCacheControl(joined); !reflect.DeepEqual(d, dj) {
				t.Errorf("ParseCacheControl(%q) = %+v; ParseCacheControl(%q) = %+v; want equal", lines, d, joined, dj)
			}
		}
	})
}

func BenchmarkParseCacheControl(b *testing.B) {
	lines := []string{"public, max-age=3600, stale-while-revalidate=60, stale-if-error=600"}
	b.ReportAllocs()
	for b.Loop() {
		ParseCacheControl(lines)
	}
}
