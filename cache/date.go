package cache

import (
	"strings"
	"time"
)

// ParseHTTPDate parses an HTTP-date (RFC 9110 §5.6.7) strictly: the
// preferred IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the obsolete
// rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date ("Sun Nov
// 6 08:49:37 1994") forms, with exactly the spaces and digits the grammar
// allows. net/http's ParseTime is more lenient (doubled spaces, one-digit
// hours); a cache must treat such values as invalid, so that, for example,
// a malformed Expires means "already expired" (RFC 9111 §5.3). Names are
// read in any case.
func ParseHTTPDate(s string) (time.Time, bool) {
	var layout string
	switch {
	case len(s) == 29 && s[3] == ',':
		// Sun, 06 Nov 1994 08:49:37 GMT
		if !fixed(s, "Ull, NN Ull NNNN NN:NN:NN GMT") {
			return time.Time{}, false
		}
		layout = "Mon, 02 Jan 2006 15:04:05 GMT"
	case len(s) == 24 && s[3] == ' ':
		// Sun Nov  6 08:49:37 1994 (day padded with a space) or Nov 16
		if !fixed(s[:8], "Ull Ull ") || !(s[8] == ' ' || isDigit(s[8])) || !fixed(s[9:], "N NN:NN:NN NNNN") {
			return time.Time{}, false
		}
		layout = "Mon Jan _2 15:04:05 2006"
	default:
		// Sunday, 06-Nov-94 08:49:37 GMT
		i := strings.Index(s, ", ")
		if i < 6 || i > 9 || !fixed(s[:i], "U"+strings.Repeat("l", i-1)) || !fixed(s[i:], ", NN-Ull-NN NN:NN:NN GMT") {
			return time.Time{}, false
		}
		layout = "Monday, 02-Jan-06 15:04:05 GMT"
	}
	if strings.HasSuffix(layout, "GMT") {
		s = s[:len(s)-3] + "GMT" // time.Parse reads names in any case, not the zone
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// fixed reports whether s has the shape of pattern: N is a digit, U and l
// a letter (the grammar's names are case-sensitive, but a lenient reading
// of their case loses nothing and is what caches do), and anything else
// itself, compared case-insensitively.
func fixed(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; pattern[i] {
		case 'N':
			if !isDigit(c) {
				return false
			}
		case 'U', 'l':
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		default:
			if c|0x20 != pattern[i]|0x20 {
				return false
			}
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
