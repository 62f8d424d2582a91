package cache

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Absent is the value of a duration directive that is not present.
const Absent time.Duration = -1

// MaxStaleAny is the value of MaxStale when the request carries max-stale
// without a value: any staleness is acceptable (RFC 9111 §5.2.1.2).
const MaxStaleAny time.Duration = math.MaxInt64

// maxDeltaSeconds is the clamp for delta-seconds values (RFC 9111 §1.2.2).
const maxDeltaSeconds = 1 << 31

// maxDelta is maxDeltaSeconds as a Duration.
const maxDelta = maxDeltaSeconds * time.Second

// Directives is a parsed Cache-Control field (RFC 9111 §5.2), request or
// response. The zero value is not meaningful; use [ParseCacheControl].
type Directives struct {
	NoStore         bool
	NoCache         bool // unqualified no-cache only
	Private         bool // unqualified private only
	Public          bool
	MustRevalidate  bool
	ProxyRevalidate bool
	MustUnderstand  bool
	NoTransform     bool
	Immutable       bool
	OnlyIfCached    bool

	// NoCacheFields and PrivateFields hold the canonical field names of the
	// qualified forms (no-cache="Set-Cookie, X-Foo"). When only the
	// qualified form is present, NoCache and Private stay false.
	NoCacheFields []string
	PrivateFields []string

	// Duration directives are Absent when missing. Values are whole
	// seconds; values past 2^31 seconds are clamped to 2^31 (§1.2.2).
	MaxAge               time.Duration
	SMaxAge              time.Duration
	MinFresh             time.Duration
	MaxStale             time.Duration // MaxStaleAny when given without a value
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration

	// Invalid reports that some directive could not be parsed (a bad
	// delta-seconds, a stray quote, a duplicate with a different value).
	// Freshness directives with invalid values are treated as 0 (stale),
	// as §4.2.1 encourages; the first of duplicates wins.
	Invalid bool

	// Targeted reports directives taken from a targeted field
	// (CDN-Cache-Control, RFC 9213) instead of Cache-Control: Expires is
	// then ignored as well.
	Targeted bool
}

// ResponseDirectives returns the directives that govern how this cache
// stores and reuses a response with header h. A valid, non-empty
// CDN-Cache-Control field targets caches like this one: its directives
// are used and Cache-Control and Expires are ignored (RFC 9213 §2.1); an
// empty one, or one that is not a Structured Field Dictionary with Integer
// durations, is ignored, as if absent (§2.2). Otherwise the
// Cache-Control field's directives apply.
func ResponseDirectives(h http.Header) Directives {
	if t := h["Cdn-Cache-Control"]; len(t) > 0 && validTargeted(t) {
		if d := ParseCacheControl(t); !d.Invalid {
			d.Targeted = true
			return d
		}
	}
	return ParseCacheControl(h["Cache-Control"])
}

// ParseCacheControl parses the field lines of a Cache-Control header
// (http.Header values, possibly several lines, each a comma-separated list).
// Directive names are case-insensitive; unknown directives are ignored.
// It never fails: see Directives.Invalid.
//
// Arguments are accepted in token and quoted-string form alike (§5.2:
// max-age="60" is max-age=60). A malformed member (an unterminated quote,
// junk after the argument, a missing argument) sets Invalid; when it names
// a duration directive that directive takes 0, when it names no-store,
// no-cache, private, must-revalidate or proxy-revalidate that directive
// applies (unqualified), and other malformed members are ignored, so that
// the most restrictive reading wins (§4.2.1). A qualified no-cache or
// private whose list holds no valid field name counts as the unqualified
// form.
func ParseCacheControl(lines []string) Directives {
	d := Directives{
		MaxAge:               Absent,
		SMaxAge:              Absent,
		MinFresh:             Absent,
		MaxStale:             Absent,
		StaleWhileRevalidate: Absent,
		StaleIfError:         Absent,
	}
	for _, line := range lines {
		for line != "" {
			var m member
			m, line = nextMember(line)
			if m.name == "" && m.ok {
				continue // empty list element, allowed by the #rule
			}
			d.apply(m)
		}
	}
	return d
}

// member is one scanned list member of a Cache-Control line.
type member struct {
	name   string // as sent; "" when the member did not start with a token
	arg    string // unescaped argument
	hasArg bool
	ok     bool // well-formed
}

// apply records m in d.
func (d *Directives) apply(m member) {
	if !m.ok {
		d.Invalid = true
	}
	name := m.name
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	switch name {
	case "max-age":
		d.setDuration(&d.MaxAge, m, 0)
	case "s-maxage":
		d.setDuration(&d.SMaxAge, m, 0)
	case "min-fresh":
		d.setDuration(&d.MinFresh, m, 0)
	case "max-stale":
		d.setDuration(&d.MaxStale, m, MaxStaleAny)
	case "stale-while-revalidate":
		d.setDuration(&d.StaleWhileRevalidate, m, 0)
	case "stale-if-error":
		d.setDuration(&d.StaleIfError, m, 0)
	case "no-cache":
		d.setQualified(&d.NoCache, &d.NoCacheFields, m)
	case "private":
		d.setQualified(&d.Private, &d.PrivateFields, m)
	case "no-store":
		d.setFlag(&d.NoStore, m, true)
	case "must-revalidate":
		d.setFlag(&d.MustRevalidate, m, true)
	case "proxy-revalidate":
		d.setFlag(&d.ProxyRevalidate, m, true)
	case "public":
		d.setFlag(&d.Public, m, false)
	case "must-understand":
		d.setFlag(&d.MustUnderstand, m, false)
	case "no-transform":
		d.setFlag(&d.NoTransform, m, false)
	case "immutable":
		d.setFlag(&d.Immutable, m, false)
	case "only-if-cached":
		d.setFlag(&d.OnlyIfCached, m, false)
	}
}

// setDuration records a delta-seconds directive. bare is the value when the
// directive comes without an argument; 0 means an argument is required.
// The first occurrence wins; a later one with another value sets Invalid.
func (d *Directives) setDuration(field *time.Duration, m member, bare time.Duration) {
	var v time.Duration
	switch {
	case !m.ok:
		v = 0
	case !m.hasArg && bare != 0:
		v = bare
	case !m.hasArg:
		d.Invalid = true
		v = 0
	default:
		var ok bool
		if v, ok = parseDeltaSeconds(m.arg); !ok {
			d.Invalid = true
			v = 0
		}
	}
	if *field == Absent {
		*field = v
	} else if *field != v {
		d.Invalid = true
	}
}

// setQualified records no-cache or private, bare or with a field list.
func (d *Directives) setQualified(flag *bool, fields *[]string, m member) {
	if !m.ok || !m.hasArg {
		*flag = true
		return
	}
	n := len(*fields)
	if !appendFieldList(fields, m.arg) {
		d.Invalid = true
	}
	if len(*fields) == n {
		*flag = true // no usable field name: the restrictive reading
	}
}

// setFlag records an argument-less directive. A malformed member still
// sets restrictive flags only.
func (d *Directives) setFlag(flag *bool, m member, restrictive bool) {
	if !m.ok && !restrictive {
		return
	}
	if m.hasArg {
		d.Invalid = true // these directives take no argument
	}
	*flag = true
}

// appendFieldList appends the canonical names of the comma-separated field
// names in s to fields, skipping duplicates. It reports false when a member
// is not a token (that member is skipped).
func appendFieldList(fields *[]string, s string) bool {
	ok := true
	for s != "" {
		var f string
		f, s, _ = strings.Cut(s, ",")
		f = trimOWS(f)
		if f == "" {
			continue
		}
		if !isToken(f) {
			ok = false
			continue
		}
		f = http.CanonicalHeaderKey(f)
		if !slices.Contains(*fields, f) {
			*fields = append(*fields, f)
		}
	}
	return ok
}

// nextMember scans one member of a Cache-Control list at the start of s and
// returns it with the rest of s after the member's terminating comma.
//
//	cache-directive = token [ "=" ( token / quoted-string ) ]
//
// OWS around "=" is tolerated.
func nextMember(s string) (member, string) {
	s = trimLeftOWS(s)
	if s == "" {
		return member{ok: true}, ""
	}
	if s[0] == ',' {
		return member{ok: true}, s[1:]
	}
	i := tokenLen(s)
	if i == 0 {
		return member{}, skipMember(s)
	}
	m := member{name: s[:i]}
	s = trimLeftOWS(s[i:])
	if s == "" {
		m.ok = true
		return m, ""
	}
	if s[0] == ',' {
		m.ok = true
		return m, s[1:]
	}
	if s[0] != '=' {
		return m, skipMember(s)
	}
	m.hasArg = true
	s = trimLeftOWS(s[1:])
	if s != "" && s[0] == '"' {
		arg, rest, ok := scanQuoted(s)
		if !ok {
			return m, ""
		}
		m.arg, s = arg, rest
	} else {
		i = tokenLen(s)
		if i == 0 {
			return m, skipMember(s)
		}
		m.arg, s = s[:i], s[i:]
	}
	s = trimLeftOWS(s)
	if s == "" {
		m.ok = true
		return m, ""
	}
	if s[0] == ',' {
		m.ok = true
		return m, s[1:]
	}
	return m, skipMember(s)
}

// skipMember returns s after the next comma outside a quoted-string, or ""
// when there is none.
func skipMember(s string) string {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return s[i+1:]
		}
	}
	return ""
}

// scanQuoted scans the quoted-string at the start of s (s[0] is '"') and
// returns its unescaped content and the rest of s. It reports false when
// the closing quote is missing.
func scanQuoted(s string) (content, rest string, ok bool) {
	escaped := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			content = s[1:i]
			if escaped {
				content = unescapeQuoted(content)
			}
			return content, s[i+1:], true
		}
	}
	return "", "", false
}

// unescapeQuoted removes the backslashes of quoted-pairs.
func unescapeQuoted(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseDeltaSeconds parses delta-seconds (1*DIGIT), clamping at 2^31
// seconds (RFC 9111 §1.2.2).
func parseDeltaSeconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	return time.Duration(min(n, maxDeltaSeconds)) * time.Second, true
}

// tokenLen returns the length of the token at the start of s.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return i
		}
	}
	return len(s)
}

// isToken reports whether s is a non-empty token (RFC 9110 §5.6.2).
func isToken(s string) bool { return s != "" && tokenLen(s) == len(s) }

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// hasUpper reports whether s holds an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// trimOWS removes optional whitespace (SP, HTAB) at both ends of s.
func trimOWS(s string) string {
	s = trimLeftOWS(s)
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// trimLeftOWS removes optional whitespace at the start of s.
func trimLeftOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}
