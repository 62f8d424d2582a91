package cache

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseETag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ETag
		ok   bool
	}{
		{"§8.8.3 strong", `"xyzzy"`, ETag{Opaque: `"xyzzy"`}, true},
		{"§8.8.3 weak", `W/"xyzzy"`, ETag{Weak: true, Opaque: `"xyzzy"`}, true},
		{"§8.8.3 empty opaque-tag", `""`, ETag{Opaque: `""`}, true},
		{"§8.8.3 comma is etagc", `"a,b"`, ETag{Opaque: `"a,b"`}, true},
		{"§8.8.3 backslash is etagc, no escaping", `"a\"`, ETag{Opaque: `"a\"`}, true},
		{"§8.8.3 obs-text is etagc", "\"caf\xc3\xa9\"", ETag{Opaque: "\"caf\xc3\xa9\""}, true},
		{"§8.8.3 unquoted", `xyzzy`, ETag{}, false},
		{"§8.8.3 missing closing quote", `"xyzzy`, ETag{}, false},
		{"§8.8.3 lone quote", `"`, ETag{}, false},
		{"§8.8.3 weak prefix only", `W/`, ETag{}, false},
		{"§8.8.3 weak prefix is case-sensitive", `w/"x"`, ETag{}, false},
		{"§8.8.3 space is not etagc", `"a b"`, ETag{}, false},
		{"§8.8.3 DEL is not etagc", "\"a\x7f\"", ETag{}, false},
		{"§8.8.3 control is not etagc", "\"a\tb\"", ETag{}, false},
		{"§8.8.3 trailing data", `"a"b"`, ETag{}, false},
		{"§8.8.3 surrounding whitespace", ` "a"`, ETag{}, false},
		{"§8.8.3 empty", ``, ETag{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseETag(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseETag(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.String() != tt.in {
				t.Errorf("ParseETag(%q).String() = %q; want %q", tt.in, got.String(), tt.in)
			}
		})
	}
}

func TestETagComparison(t *testing.T) {
	t.Parallel()
	// The example table of RFC 9110 §8.8.3.2.
	tests := []struct {
		name         string
		a, b         string
		strong, weak bool
	}{
		{`§8.8.3.2 W/"1" W/"1"`, `W/"1"`, `W/"1"`, false, true},
		{`§8.8.3.2 W/"1" W/"2"`, `W/"1"`, `W/"2"`, false, false},
		{`§8.8.3.2 W/"1" "1"`, `W/"1"`, `"1"`, false, true},
		{`§8.8.3.2 "1" "1"`, `"1"`, `"1"`, true, true},
		{`§8.8.3.2 "1" "2"`, `"1"`, `"2"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := ParseETag(tt.a)
			b, _ := ParseETag(tt.b)
			if got := StrongMatch(a, b); got != tt.strong {
				t.Errorf("StrongMatch(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.strong)
			}
			if got := WeakMatch(a, b); got != tt.weak {
				t.Errorf("WeakMatch(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.weak)
			}
		})
	}
}

func TestMatchNoneMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		etag  string
		want  bool
	}{
		{"§13.1.2 same strong tag", `"a"`, `"a"`, true},
		{"§13.1.2 different tag", `"b"`, `"a"`, false},
		{"§13.1.2 weak comparison: weak request tag", `W/"a"`, `"a"`, true},
		{"§13.1.2 weak comparison: weak stored tag", `"a"`, `W/"a"`, true},
		{"§13.1.2 list, second matches", `"x", "a"`, `"a"`, true},
		{"§13.1.2 list without OWS", `"x","a"`, `"a"`, true},
		{"§13.1.2 list, none matches", `"x", W/"y"`, `"a"`, false},
		{"§13.1.2 several lines joined", `"x", W/"a"`, `W/"a"`, true},
		{"§8.8.3 comma inside opaque-tag does not split", `"1,2"`, `"1,2"`, true},
		{"§8.8.3 comma inside opaque-tag is no member boundary", `"1,2"`, `"1"`, false},
		{"§8.8.3 quoted comma list, no match on fragment", `"2,1", "3"`, `"1"`, false},
		{"§13.1.2 star matches a stored representation", `*`, `"a"`, true},
		{"§13.1.2 star matches a representation without ETag", `*`, ``, true},
		{"§13.1.2 no stored tag", `"a"`, ``, false},
		{"§13.1.2 invalid stored tag", `"a"`, `a`, false},
		{"§13.1.2 invalid member: not evaluated", `"a", bogus`, `"a"`, false},
		{"§13.1.2 unquoted request tag", `a`, `"a"`, false},
		{"§13.1.2 empty field", ``, `"a"`, false},
		{"§5.6.1 empty list elements", ` , "a" ,, `, `"a"`, true},
		{"§8.8.3 missing comma", `"a" "b"`, `"a"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MatchNoneMatch(tt.field, tt.etag); got != tt.want {
				t.Errorf("MatchNoneMatch(%q, %q) = %v; want %v", tt.field, tt.etag, got, tt.want)
			}
		})
	}
}

func TestMatchNoneMatchAllocs(t *testing.T) {
	field, etag := `"x", W/"y", "abc"`, `"abc"`
	matched := false
	if n := testing.AllocsPerRun(100, func() { matched = MatchNoneMatch(field, etag) }); n != 0 {
		t.Errorf("MatchNoneMatch(%q, %q) allocates %v times; want 0", field, etag, n)
	}
	if !matched {
		t.Errorf("MatchNoneMatch(%q, %q) = false; want true", field, etag)
	}
}

func TestParseETagList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		tags  []ETag
		star  bool
		ok    bool
	}{
		{"§13.1.2 single", `"a"`, []ETag{{Opaque: `"a"`}}, false, true},
		{"§13.1.2 list", `"a", W/"b",	"c,d"`, []ETag{{Opaque: `"a"`}, {Weak: true, Opaque: `"b"`}, {Opaque: `"c,d"`}}, false, true},
		{"§13.1.2 star", `*`, nil, true, true},
		{"§13.1.2 star from joined lines", `"a", *`, []ETag{{Opaque: `"a"`}}, true, true},
		{"§5.6.1 empty list", ``, nil, false, true},
		{"§5.6.1 empty elements", `,"a",,`, []ETag{{Opaque: `"a"`}}, false, true},
		{"§8.8.3 invalid member", `"a", b`, nil, false, false},
		{"§8.8.3 star followed by junk", `*x`, nil, false, false},
		{"§8.8.3 unterminated", `"a", "b`, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tags, star, ok := ParseETagList(tt.field)
			if !reflect.DeepEqual(tags, tt.tags) || star != tt.star || ok != tt.ok {
				t.Errorf("ParseETagList(%q) = %+v, %v, %v; want %+v, %v, %v", tt.field, tags, star, ok, tt.tags, tt.star, tt.ok)
			}
		})
	}
}

func FuzzParseETagList(f *testing.F) {
	for _, s := range []string{
		`"a"`, `W/"a"`, `*`, `"a", W/"b"`, `"a,b", "c"`, `,,"x",`, `"a" "b"`,
		`W/`, `"`, "\"\xff\"", `"a", *`, `w/"a"`, ` "a" , `,
	} {
		f.Add(s, `"a"`)
	}
	f.Fuzz(func(t *testing.T, field, etag string) {
		tags, star, ok := ParseETagList(field)
		match := MatchNoneMatch(field, etag)
		if !ok {
			if tags != nil || star || match {
				t.Fatalf("ParseETagList(%q) = %v, %v, false and MatchNoneMatch = %v; want nil, false and false", field, tags, star, match)
			}
			return
		}
		// Every member round-trips through String, and the list through
		// joining the members again.
		wire := make([]string, 0, len(tags)+1)
		for _, tag := range tags {
			back, ok := ParseETag(tag.String())
			if !ok || back != tag {
				t.Fatalf("ParseETag(%q) = %+v, %v; want %+v, true", tag.String(), back, ok, tag)
			}
			if !MatchNoneMatch(field, tag.String()) {
				t.Errorf("MatchNoneMatch(%q, %q) = false; want true (a listed tag)", field, tag.String())
			}
			wire = append(wire, tag.String())
		}
		if star {
			wire = append(wire, "*")
		}
		tags2, star2, ok2 := ParseETagList(strings.Join(wire, ", "))
		if !ok2 || star2 != star || !reflect.DeepEqual(tags2, tags) {
			t.Errorf("ParseETagList(%q) = %+v, %v, %v; want %+v, %v, true", strings.Join(wire, ", "), tags2, star2, ok2, tags, star)
		}
		// MatchNoneMatch agrees with the parsed list.
		want := star
		if stored, valid := ParseETag(etag); valid {
			for _, tag := range tags {
				want = want || WeakMatch(tag, stored)
			}
		}
		if match != want {
			t.Errorf("MatchNoneMatch(%q, %q) = %v; want %v", field, etag, match, want)
		}
		if tag, valid := ParseETag(etag); valid && tag.String() != etag {
			t.Errorf("ParseETag(%q).String() = %q; want the input", etag, tag.String())
		}
	})
}
