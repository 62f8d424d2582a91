package cache

import (
	"net/http"
	"slices"
	"strings"
)

// absentVary is the normalized value of a Vary field the request did not
// send. Field values cannot hold NUL, so it never equals a sent value.
const absentVary = "\x00absent"

// VaryFields returns the canonical field names listed in the Vary field
// lines of h (RFC 9110 §12.5.5), in order, without duplicates. A "*" member
// is returned as "*".
func VaryFields(h http.Header) []string {
	var fields []string
	for _, line := range h.Values("Vary") {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			if f = trimOWS(f); f == "" {
				continue
			}
			if f != "*" {
				f = http.CanonicalHeaderKey(f)
			}
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	return fields
}

// VaryValues returns, for each name in fields, the normalized value the
// request sent: its field lines joined with ", ", with whitespace around
// commas and at the ends removed (RFC 9111 §4.1 allows such normalization).
// A missing field yields "\x00absent", so that absent and empty differ.
//
// For example the lines "gzip , br" and "zstd" normalize to "gzip,br,zstd".
func VaryValues(fields []string, reqHeader http.Header) []string {
	if len(fields) == 0 {
		return nil
	}
	values := make([]string, len(fields))
	for i, f := range fields {
		values[i] = normalizeVary(reqHeader.Values(f))
	}
	return values
}

// normalizeVary returns the normalized value of a request field's lines:
// the comma-separated pieces of all lines, each trimmed of OWS, joined
// with ",".
func normalizeVary(lines []string) string {
	switch {
	case len(lines) == 0:
		return absentVary
	case len(lines) == 1 && isNormalVary(lines[0]):
		return lines[0]
	}
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteByte(',')
		}
		for first := true; ; first = false {
			piece, rest, more := strings.Cut(line, ",")
			if !first {
				b.WriteByte(',')
			}
			b.WriteString(trimOWS(piece))
			if !more {
				break
			}
			line = rest
		}
	}
	return b.String()
}

// isNormalVary reports whether a single line is already normalized: no
// OWS at its ends or next to a comma.
func isNormalVary(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\t' {
			if i == 0 || i == len(s)-1 || s[i-1] == ',' || s[i+1] == ',' {
				return false
			}
		}
	}
	return true
}

// varyEqual reports whether normalizeVary(lines) == stored, without
// allocating: pieces never hold commas, so the stored value splits back
// into the same pieces.
func varyEqual(lines []string, stored string) bool {
	if len(lines) == 0 {
		return stored == absentVary
	}
	if stored == absentVary {
		return false
	}
	rest, done := stored, false
	for _, line := range lines {
		for {
			piece, lineRest, more := strings.Cut(line, ",")
			if done {
				return false
			}
			var sp string
			var ok bool
			sp, rest, ok = strings.Cut(rest, ",")
			done = !ok
			if trimOWS(piece) != sp {
				return false
			}
			if !more {
				break
			}
			line = lineRest
		}
	}
	return done
}
