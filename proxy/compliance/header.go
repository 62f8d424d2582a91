package compliance

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/cacheproxy/cacheproxy/cache"
)

// HeaderCheck describes one response for CheckHeader.
type HeaderCheck struct {
	Method string // of the request
	Status int
	Header http.Header
	// ExpectETag is set when a 304 answers a request whose validator was
	// an entity-tag (If-None-Match was sent): the 304 must then carry the
	// ETag a 200 would (RFC 9110 §15.4.5).
	ExpectETag bool
}

// CheckHeader returns the header violations of a response:
//   - etag-syntax: an ETag field that is not one entity-tag (RFC 9110
//     §8.8.3: `"..."` or `W/"..."`, etagc characters only),
//   - date-missing: no Date field on a 2xx, 3xx or 4xx (RFC 9110 §6.6.1:
//     an origin with a clock must send it; 1xx and 5xx are exempt),
//   - cache-control-syntax: a Cache-Control that cache.ParseCacheControl
//     marks Invalid, or that contradicts itself (public with private;
//     no-store with max-age is redundant, not a contradiction),
//   - 304-missing-etag: a 304 without ETag when c.ExpectETag.
//
// 204-content-length and 204-transfer-encoding are the Framer's: Go's
// client drops Transfer-Encoding from the fields it returns.
//
// Violations come in table order.
func CheckHeader(c HeaderCheck) []Violation {
	var vs []Violation
	etags := c.Header.Values("Etag")
	if c.Status == http.StatusNotModified && c.ExpectETag && len(etags) == 0 {
		vs = append(vs, Violation{Rule: NotModifiedMissingETag, Detail: "no ETag on a 304 to If-None-Match"})
	}
	if len(etags) > 0 {
		if problem := etagProblem(etags); problem != "" {
			vs = append(vs, Violation{
				Rule:   ETagSyntax,
				Detail: "ETag: " + printable(strings.Join(etags, ", ")) + " (" + problem + ")",
			})
		}
	}
	if c.Status >= 200 && c.Status < 500 && len(c.Header.Values("Date")) == 0 {
		vs = append(vs, Violation{Rule: DateMissing, Detail: "no Date on a " + itoa(int64(c.Status))})
	}
	if cc := c.Header.Values("Cache-Control"); len(cc) > 0 {
		if problem := cacheControlProblem(cc); problem != "" {
			vs = append(vs, Violation{
				Rule:   CacheControlSyntax,
				Detail: "Cache-Control: " + printable(strings.Join(cc, ", ")) + " (" + problem + ")",
			})
		}
	}
	return vs
}

// etagProblem says what keeps the ETag field lines from being exactly one
// entity-tag (RFC 9110 §8.8.3), or "" when they are one.
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
func etagProblem(lines []string) string {
	if len(lines) > 1 {
		return "more than one field"
	}
	s := strings.Trim(lines[0], " \t")
	if _, ok := cache.ParseETag(s); ok {
		return ""
	}
	switch {
	case s == "":
		return "empty"
	case strings.HasPrefix(s, "w/"):
		return "weak indicator not W/"
	}
	s = strings.TrimPrefix(s, "W/")
	if s == "" || s[0] != '"' {
		return "not quoted"
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "no closing quote"
	}
	for i := 1; i <= end; i++ {
		if c := s[i]; !(c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80) {
			return "character " + strconv.Quote(string(rune(c))) + " not allowed"
		}
	}
	if rest := strings.TrimLeft(s[end+2:], " \t"); rest != "" && rest[0] == ',' {
		return "a list, not one entity-tag"
	}
	return "text after the closing quote"
}

// cacheControlProblem says why the Cache-Control field lines are
// unparseable or contradict themselves, or returns "".
func cacheControlProblem(lines []string) string {
	d := cache.ParseCacheControl(lines)
	var problems []string
	if d.Invalid {
		problems = append(problems, "unparseable")
	}
	if d.Public && d.Private {
		problems = append(problems, "public with private")
	}
	// no-store with max-age (the common "no-cache, no-store, max-age=0,
	// must-revalidate") is redundant, not contradictory: the most
	// restrictive directive applies (RFC 9111 §4.2.1).
	return strings.Join(problems, "; ")
}
