package compliance

import (
	"net/http"
	"slices"
	"testing"
)

const date = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestCheckHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    HeaderCheck
		want []Violation
	}{
		{
			name: "RFC 9110 §15.3.1: compliant 200",
			c:    HeaderCheck{Method: "GET", Status: 200, Header: hdr("Date", date, "ETag", `"v1"`, "Cache-Control", "public, max-age=60")},
		},
		{
			name: "RFC 9110 §15.3.5: compliant 204",
			c:    HeaderCheck{Method: "PUT", Status: 204, Header: hdr("Date", date)},
		},
		{
			name: "RFC 9110 §15.4.5: 304 with the ETag asked for",
			c:    HeaderCheck{Method: "GET", Status: 304, Header: hdr("Date", date, "ETag", `W/"v1"`), ExpectETag: true},
		},
		{
			name: "RFC 9110 §15.4.5: 304 without ETag",
			c:    HeaderCheck{Method: "GET", Status: 304, Header: hdr("Date", date), ExpectETag: true},
			want: []Violation{{Rule: NotModifiedMissingETag, Detail: "no ETag on a 304 to If-None-Match"}},
		},
		{
			name: "RFC 9110 §15.4.5: 304 without ETag to If-Modified-Since",
			c:    HeaderCheck{Method: "GET", Status: 304, Header: hdr("Date", date)},
		},
		{
			name: "RFC 9110 §15.4.5: 200 without ETag is not 304-missing-etag",
			c:    HeaderCheck{Method: "GET", Status: 200, Header: hdr("Date", date), ExpectETag: true},
		},
		{
			name: "RFC 9110 §8.8.3: unquoted ETag",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "abc")},
			want: []Violation{{Rule: ETagSyntax, Detail: "ETag: abc (not quoted)"}},
		},
		{
			name: "RFC 9110 §8.8.3: unquoted weak ETag",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "W/abc")},
			want: []Violation{{Rule: ETagSyntax, Detail: "ETag: W/abc (not quoted)"}},
		},
		{
			name: "RFC 9110 §8.8.3: lower-case weak indicator",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `w/"abc"`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: w/"abc" (weak indicator not W/)`}},
		},
		{
			name: "RFC 9110 §8.8.3: space inside the opaque-tag",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `"a b"`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "a b" (character " " not allowed)`}},
		},
		{
			name: "RFC 9110 §8.8.3: no closing quote",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `"abc`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "abc (no closing quote)`}},
		},
		{
			name: "RFC 9110 §8.8.3: a list of entity-tags",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `"a", "b"`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "a", "b" (a list, not one entity-tag)`}},
		},
		{
			name: "RFC 9110 §8.8.3: text after the closing quote",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `"a"b`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "a"b (text after the closing quote)`}},
		},
		{
			name: "RFC 9110 §8.8.3: two ETag fields",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", `"a"`, "ETag", `"b"`)},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "a", "b" (more than one field)`}},
		},
		{
			name: "RFC 9110 §8.8.3: empty ETag",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "")},
			want: []Violation{{Rule: ETagSyntax, Detail: "ETag:  (empty)"}},
		},
		{
			name: "RFC 9110 §8.8.3: empty opaque-tag",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "\"\"")},
		},
		{
			name: "RFC 9110 §8.8.3: obs-text is an etagc",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "W/\"caf\xc3\xa9\"")},
		},
		{
			name: "RFC 9110 §8.8.3: control byte escaped in the detail",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", "\"a\x01\"")},
			want: []Violation{{Rule: ETagSyntax, Detail: `ETag: "\"a\x01\"" (character "\x01" not allowed)`}},
		},
		{
			name: "RFC 9110 §6.6.1: 200 without Date",
			c:    HeaderCheck{Status: 200, Header: hdr()},
			want: []Violation{{Rule: DateMissing, Detail: "no Date on a 200"}},
		},
		{
			name: "RFC 9110 §6.6.1: 304 without Date",
			c:    HeaderCheck{Status: 304, Header: hdr("ETag", `"v"`)},
			want: []Violation{{Rule: DateMissing, Detail: "no Date on a 304"}},
		},
		{
			name: "RFC 9110 §6.6.1: 404 without Date",
			c:    HeaderCheck{Status: 404, Header: nil},
			want: []Violation{{Rule: DateMissing, Detail: "no Date on a 404"}},
		},
		{
			name: "RFC 9110 §6.6.1: 1xx without Date is exempt",
			c:    HeaderCheck{Status: 103, Header: hdr()},
		},
		{
			name: "RFC 9110 §6.6.1: 5xx without Date is exempt",
			c:    HeaderCheck{Status: 503, Header: hdr()},
		},
		{
			name: "RFC 9111 §5.2: unparseable max-age",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "max-age=ten")},
			want: []Violation{{Rule: CacheControlSyntax, Detail: "Cache-Control: max-age=ten (unparseable)"}},
		},
		{
			name: "RFC 9111 §5.2: unterminated quote",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", `private="Set-Cookie`)},
			want: []Violation{{Rule: CacheControlSyntax, Detail: `Cache-Control: private="Set-Cookie (unparseable)`}},
		},
		{
			name: "RFC 9111 §5.2: duplicate max-age with another value, over two lines",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "max-age=60", "Cache-Control", "max-age=600")},
			want: []Violation{{Rule: CacheControlSyntax, Detail: "Cache-Control: max-age=60, max-age=600 (unparseable)"}},
		},
		{
			name: "RFC 9111 §5.2.2.6: public with private",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "public, private")},
			want: []Violation{{Rule: CacheControlSyntax, Detail: "Cache-Control: public, private (public with private)"}},
		},
		{
			name: "RFC 9111 §5.2.2.7: public with a qualified private",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", `public, private="Set-Cookie"`)},
		},
		{
			name: "RFC 9111 §4.2.1: no-store with max-age is redundant, not contradictory",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")},
		},
		{
			name: "RFC 9111 §5.2.2.5: no-store with s-maxage and a bad value",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "no-store, s-maxage=x")},
			want: []Violation{{Rule: CacheControlSyntax, Detail: "Cache-Control: no-store, s-maxage=x (unparseable)"}},
		},
		{
			name: "RFC 9111 §5.2: unknown directives and empty members are fine",
			c:    HeaderCheck{Status: 200, Header: hdr("Date", date, "Cache-Control", "no-store, ,foo=\"bar\", must-understand")},
		},
		{
			name: "every header rule at once, in table order",
			c:    HeaderCheck{Status: 304, Header: hdr("Cache-Control", "public,private"), ExpectETag: true},
			want: []Violation{
				{Rule: NotModifiedMissingETag, Detail: "no ETag on a 304 to If-None-Match"},
				{Rule: DateMissing, Detail: "no Date on a 304"},
				{Rule: CacheControlSyntax, Detail: "Cache-Control: public,private (public with private)"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CheckHeader(tc.c)
			if !slices.EqualFunc(got, tc.want, equalViolation) {
				t.Errorf("CheckHeader(%d %v) = %+v; want %+v", tc.c.Status, tc.c.Header, got, tc.want)
			}
			for _, v := range got {
				if v.Rule.Severity() != Header {
					t.Errorf("CheckHeader reports %q, severity %q; want header rules only", v.Rule, v.Rule.Severity())
				}
			}
		})
	}
}

// hdr builds a header from name, value pairs, adding each.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestCheckHeaderLongValueCapped(t *testing.T) {
	t.Parallel()
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'a'
	}
	vs := CheckHeader(HeaderCheck{Status: 200, Header: hdr("Date", date, "ETag", string(long))})
	if len(vs) != 1 || len(vs[0].Detail) > 100 {
		t.Fatalf("CheckHeader(long ETag) = %+v; want one etag-syntax with a short Detail", vs)
	}
}
