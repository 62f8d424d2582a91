package cache

import (
	"strings"
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	t.Parallel()
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"RFC 9110 §5.6.7 IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"RFC 9110 §5.6.7 rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"RFC 9110 §5.6.7 asctime-date", "Sun Nov  6 08:49:37 1994", true},
		{"RFC 9110 §5.6.7 doubled space is invalid", "Sun, 06 Nov  1994 08:49:37 GMT", false},
		{"RFC 9110 §5.6.7 one-digit hour is invalid", "Sun, 06 Nov 1994 8:49:37 GMT", false},
		{"RFC 9110 §5.6.7 one-digit day is invalid", "Sun, 6 Nov 1994 08:49:37 GMT", false},
		{"RFC 9110 §5.6.7 zone read in any case", "Sun, 06 Nov 1994 08:49:37 gMT", true},
		{"RFC 9110 §5.6.7 other zone", "Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"RFC 9111 §5.3 zero", "0", false},
		{"empty", "", false},
		{"RFC 9110 §5.6.7 month read in any case", "Sun, 06 NOV 1994 08:49:37 GMT", true},
		{"RFC 9110 §5.6.7 weekday read in any case", "sUN, 06 Nov 1994 08:49:37 GMT", true},
		{"RFC 9110 §5.6.7 bad month", "Sun, 06 Foo 1994 08:49:37 GMT", false},
		{"RFC 9110 §5.6.7 hour out of range", "Sun, 06 Nov 1994 25:49:37 GMT", false},
		{"RFC 9110 §5.6.7 trailing space", "Sun, 06 Nov 1994 08:49:37 GMT ", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseHTTPDate(tc.in)
			if ok != tc.ok || (ok && !got.Equal(want)) {
				t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v, %v", tc.in, got, ok, want, tc.ok)
			}
		})
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT")
	f.Add("Sunday, 06-Nov-94 08:49:37 GMT")
	f.Add("Sun Nov  6 08:49:37 1994")
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseHTTPDate(s)
		if !ok {
			return
		}
		// What parses as IMF-fixdate formats back to itself.
		if len(s) == 29 && s[3] == ',' {
			if back := tm.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"); !strings.EqualFold(back[5:], s[5:]) {
				t.Errorf("ParseHTTPDate(%q) = %v, which formats as %q", s, tm, back)
			}
		}
	})
}
