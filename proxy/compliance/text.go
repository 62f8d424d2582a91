package compliance

import "strconv"

// maxDetailValue caps a field value quoted in a Violation's Detail.
const maxDetailValue = 64

// printable returns s for a Detail: cut to maxDetailValue bytes, quoted
// with Go escapes when it holds anything but printable ASCII, so that
// logs and JSON never carry raw control bytes from an upstream.
func printable(s string) string {
	cut := len(s) > maxDetailValue
	if cut {
		s = s[:maxDetailValue]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			s = strconv.Quote(s)
			break
		}
	}
	if cut {
		s += "..."
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// unhex returns the value of the hex digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	return trimRightOWS(b)
}

func trimRightOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals the lower-case ASCII string lower,
// ignoring ASCII case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// lastMember returns the last non-empty member of the comma-separated
// list b, without OWS (RFC 9110 §5.6.1: empty members are ignored).
func lastMember(b []byte) ([]byte, bool) {
	for len(b) > 0 {
		end := len(b)
		start := end
		for start > 0 && b[start-1] != ',' {
			start--
		}
		if m := trimOWS(b[start:end]); len(m) > 0 {
			return m, true
		}
		if start == 0 {
			break
		}
		b = b[:start-1]
	}
	return nil, false
}

// maxContentLengthDigits keeps a Content-Length within int64.
const maxContentLengthDigits = 18

// parseContentLength parses a Content-Length field value: a decimal
// number, or a list of identical ones (RFC 9110 §8.6, `5, 5`).
func parseContentLength(b []byte) (int64, bool) {
	n := int64(-1)
	for len(b) > 0 {
		end := 0
		for end < len(b) && b[end] != ',' {
			end++
		}
		m := trimOWS(b[:end])
		if end < len(b) {
			b = b[end+1:]
		} else {
			b = nil
		}
		if len(m) == 0 {
			continue
		}
		if len(m) > maxContentLengthDigits {
			return 0, false
		}
		var v int64
		for _, c := range m {
			if !isDigit(c) {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		if n >= 0 && v != n {
			return 0, false
		}
		n = v
	}
	return n, n >= 0
}
