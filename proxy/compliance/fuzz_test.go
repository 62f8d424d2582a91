package compliance

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cacheproxy/cacheproxy/cache"
)

// fuzzMethods are the methods a fuzzed Begin picks from.
var fuzzMethods = [...]string{"GET", "HEAD", "CONNECT", "DELETE"}

// FuzzFramer feeds random bytes, with Begins at random offsets, once in
// whole pieces and again cut at random places and one byte at a time: the
// Framer never panics, keeps the Feed contract, and the bytes it passes
// on, the rules it reports and whether it poisons do not depend on the
// cuts.
func FuzzFramer(f *testing.F) {
	for _, tc := range framerCases {
		data, begins, atEOF := encodeScript(tc.steps)
		f.Add(data, begins, []byte{1, 7, 3}, atEOF)
	}
	f.Add([]byte(clean204+smuggled), []byte{0, 0, 0}, []byte{80}, false)
	f.Fuzz(func(t *testing.T, data, begins, cuts []byte, atEOF bool) {
		steps := decodeScript(data, begins, atEOF)
		want, _ := run(t, steps, whole)
		if got, _ := run(t, steps, cutter(cuts)); !equalOutcome(got, want) {
			t.Fatalf("cut by %v: %+v; whole: %+v", cuts, got, want)
		}
		if len(data) <= 4096 {
			if got, _ := run(t, steps, bytewise); !equalOutcome(got, want) {
				t.Fatalf("one byte at a time: %+v; whole: %+v", got, want)
			}
		}
	})
}

// encodeScript turns steps whose only EOF is the last into FuzzFramer's
// arguments: the bytes fed, and for each Begin 2 bytes of offset and
// 1 of method.
func encodeScript(steps []step) (data, begins []byte, atEOF bool) {
	for _, s := range steps {
		switch {
		case s.begin != "":
			m := byte(max(0, slices.Index(fuzzMethods[:], s.begin))) // others frame as GET
			begins = append(begins, byte(len(data)>>8), byte(len(data)), m)
		case s.eof:
			atEOF = true
		default:
			data = append(data, s.data...)
		}
	}
	return data, begins, atEOF
}

// decodeScript is the reverse of encodeScript, for any input.
func decodeScript(data, begins []byte, atEOF bool) []step {
	type at struct{ off, method int }
	var bs []at
	for i := 0; i+2 < len(begins); i += 3 {
		off := (int(begins[i])<<8 | int(begins[i+1])) % (len(data) + 1)
		bs = append(bs, at{off, int(begins[i+2]) % len(fuzzMethods)})
	}
	slices.SortStableFunc(bs, func(a, b at) int { return cmp.Compare(a.off, b.off) })
	var steps []step
	prev := 0
	for _, b := range bs {
		if b.off > prev {
			steps = append(steps, feed(string(data[prev:b.off])))
			prev = b.off
		}
		steps = append(steps, begin(fuzzMethods[b.method]))
	}
	if prev < len(data) {
		steps = append(steps, feed(string(data[prev:])))
	}
	if atEOF {
		steps = append(steps, eof())
	}
	return steps
}

// cutter returns a split function cutting data into pieces whose lengths
// cycle through cuts (each 1 to 256).
func cutter(cuts []byte) func(string) []string {
	i := 0
	return func(s string) []string {
		var parts []string
		for len(s) > 0 {
			k := len(s)
			if len(cuts) > 0 {
				k = min(k, int(cuts[i%len(cuts)])+1)
				i++
			}
			parts = append(parts, s[:k])
			s = s[k:]
		}
		return parts
	}
}

// FuzzCheckHeader checks CheckHeader on random fields against what each
// rule says, independently computed.
func FuzzCheckHeader(f *testing.F) {
	f.Add(200, `"v1"`, date, "public, max-age=60", "", false)
	f.Add(304, "", date, "", "", true)
	f.Add(404, "abc", "", "no-store, max-age=0", "private", false)
	f.Add(204, `W/"x"`, date, `private="Set-Cookie`, "max-age=1", false)
	f.Add(103, "w/\"\x01", "", "s-maxage=1, no-store", "public", true)
	f.Fuzz(func(t *testing.T, status int, etag, dateValue, cc1, cc2 string, expect bool) {
		h := http.Header{}
		if etag != "" {
			h.Set("ETag", etag)
		}
		if dateValue != "" {
			h.Set("Date", dateValue)
		}
		var cc []string
		for _, v := range []string{cc1, cc2} {
			if v != "" {
				h.Add("Cache-Control", v)
				cc = append(cc, v)
			}
		}
		c := HeaderCheck{Method: "GET", Status: status, Header: h, ExpectETag: expect}
		vs := CheckHeader(c)

		var want []Rule
		if status == 304 && expect && etag == "" {
			want = append(want, NotModifiedMissingETag)
		}
		if _, ok := cache.ParseETag(strings.Trim(etag, " \t")); etag != "" && !ok {
			want = append(want, ETagSyntax)
		}
		if status >= 200 && status < 500 && dateValue == "" {
			want = append(want, DateMissing)
		}
		if len(cc) > 0 {
			d := cache.ParseCacheControl(cc)
			if d.Invalid || d.Public && d.Private {
				want = append(want, CacheControlSyntax)
			}
		}
		var got []Rule
		for _, v := range vs {
			got = append(got, v.Rule)
			if v.Detail == "" || len(v.Detail) > 400 || v.Stray != nil || v.StrayLen != 0 {
				t.Errorf("violation %+v: want a short Detail and no stray evidence", v)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("CheckHeader(%+v) rules = %q; want %q", c, got, want)
		}
	})
}
