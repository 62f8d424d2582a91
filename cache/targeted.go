package cache

import "strings"

// Targeted fields (RFC 9213) are Structured Field Dictionaries (RFC 8941
// §3.2). This file checks that syntax strictly; ResponseDirectives ignores
// a targeted field that fails it (RFC 9213 §2.2).

// validTargeted reports whether the joined field lines are a valid
// Dictionary whose duration directives (max-age, s-maxage,
// stale-while-revalidate, stale-if-error) are Integers.
func validTargeted(lines []string) bool {
	s := strings.Join(lines, ", ")
	i := skipSP(s, 0)
	if i == len(s) {
		return false // empty: ignored
	}
	for {
		key, j, ok := sfKey(s, i)
		if !ok {
			return false
		}
		i = j
		if i < len(s) && s[i] == '=' {
			kind, j, ok := sfItemOrInnerList(s, i+1)
			if !ok {
				return false
			}
			switch key {
			case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
				if kind != sfInteger {
					return false
				}
			}
			i = j
		}
		if i, ok = sfParams(s, i); !ok {
			return false
		}
		i = skipOWS(s, i)
		if i == len(s) {
			return true
		}
		if s[i] != ',' {
			return false
		}
		i = skipOWS(s, i+1)
		if i == len(s) {
			return false // trailing comma
		}
	}
}

type sfKind int

const (
	sfInteger sfKind = iota
	sfOther
)

// sfKey parses key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func sfKey(s string, i int) (string, int, bool) {
	if i >= len(s) || !(s[i] >= 'a' && s[i] <= 'z' || s[i] == '*') {
		return "", i, false
	}
	j := i + 1
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || isDigit(s[j]) || strings.IndexByte("_-.*", s[j]) >= 0) {
		j++
	}
	return s[i:j], j, true
}

// sfParams parses *( ";" *SP key [ "=" bare-item ] ).
func sfParams(s string, i int) (int, bool) {
	for i < len(s) && s[i] == ';' {
		_, j, ok := sfKey(s, skipSP(s, i+1))
		if !ok {
			return i, false
		}
		i = j
		if i < len(s) && s[i] == '=' {
			if _, i, ok = sfBareItem(s, i+1); !ok {
				return i, false
			}
		}
	}
	return i, true
}

// sfItemOrInnerList parses a bare item or an inner list, with parameters.
func sfItemOrInnerList(s string, i int) (sfKind, int, bool) {
	if i < len(s) && s[i] == '(' {
		i++
		for {
			i = skipSP(s, i)
			if i < len(s) && s[i] == ')' {
				j, ok := sfParams(s, i+1)
				return sfOther, j, ok
			}
			_, j, ok := sfBareItem(s, i)
			if !ok {
				return sfOther, i, false
			}
			if i, ok = sfParams(s, j); !ok || i >= len(s) || (s[i] != ' ' && s[i] != ')') {
				return sfOther, i, false
			}
		}
	}
	return sfBareItem(s, i)
}

// sfBareItem parses an Integer, Decimal, String, Token, Byte Sequence or
// Boolean (RFC 8941 §4.2.3.1).
func sfBareItem(s string, i int) (sfKind, int, bool) {
	if i >= len(s) {
		return sfOther, i, false
	}
	switch c := s[i]; {
	case c == '-' || isDigit(c):
		return sfNumber(s, i)
	case c == '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
				if j >= len(s) || (s[j] != '"' && s[j] != '\\') {
					return sfOther, j, false
				}
			case '"':
				return sfOther, j + 1, true
			default:
				if s[j] < 0x20 || s[j] > 0x7e {
					return sfOther, j, false
				}
			}
		}
		return sfOther, len(s), false
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		j := i + 1
		for j < len(s) && (isTchar(s[j]) || s[j] == ':' || s[j] == '/') {
			j++
		}
		return sfOther, j, true
	case c == ':':
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || isDigit(s[j]) || strings.IndexByte("+/=", s[j]) >= 0) {
			j++
		}
		if j >= len(s) || s[j] != ':' {
			return sfOther, j, false
		}
		return sfOther, j + 1, true
	case c == '?':
		if i+1 < len(s) && (s[i+1] == '0' || s[i+1] == '1') {
			return sfOther, i + 2, true
		}
	}
	return sfOther, i, false
}

// sfNumber parses an Integer (at most 15 digits) or a Decimal (at most 12
// integer and 3 fractional digits).
func sfNumber(s string, i int) (sfKind, int, bool) {
	if s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	n := i - start
	if n == 0 {
		return sfOther, i, false
	}
	if i < len(s) && s[i] == '.' {
		fstart := i + 1
		i = fstart
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if n > 12 || i == fstart || i-fstart > 3 {
			return sfOther, i, false
		}
		return sfOther, i, true
	}
	return sfInteger, i, n <= 15
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func skipSP(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
