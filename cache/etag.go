package cache

import "strings"

// ETag is a parsed entity-tag (RFC 9110 §8.8.3).
type ETag struct {
	Weak bool
	// Opaque is the opaque-tag including its double quotes, e.g. `"v1"`.
	Opaque string
}

// ParseETag parses one entity-tag such as `"xyz"` or `W/"xyz"`. It reports
// false when s is not a valid entity-tag (unquoted, bad characters).
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// s must be exactly one entity-tag: no surrounding whitespace.
func ParseETag(s string) (ETag, bool) {
	t, rest, ok := scanETag(s)
	if !ok || rest != "" {
		return ETag{}, false
	}
	return t, true
}

// scanETag scans the entity-tag at the start of s and returns the rest.
func scanETag(s string) (ETag, string, bool) {
	var t ETag
	if strings.HasPrefix(s, "W/") {
		t.Weak = true
		s = s[2:]
	}
	if len(s) < 2 || s[0] != '"' {
		return ETag{}, s, false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			t.Opaque = s[:i+1]
			return t, s[i+1:], true
		}
		if !isETagChar(c) {
			return ETag{}, s, false
		}
	}
	return ETag{}, s, false
}

// isETagChar reports whether c is an etagc.
func isETagChar(c byte) bool {
	return c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80
}

// String returns the wire form, W/"..." for weak tags.
func (t ETag) String() string {
	if t.Weak {
		return "W/" + t.Opaque
	}
	return t.Opaque
}

// StrongMatch is strong comparison (RFC 9110 §8.8.3.2): both strong and
// the opaque-tags are identical.
func StrongMatch(a, b ETag) bool {
	return !a.Weak && !b.Weak && a.Opaque == b.Opaque
}

// WeakMatch is weak comparison: the opaque-tags are identical, weakness
// ignored.
func WeakMatch(a, b ETag) bool { return a.Opaque == b.Opaque }

// MatchNoneMatch evaluates an If-None-Match field value against the stored
// entity-tag etag (raw wire form, may be "" for none) with weak comparison
// (RFC 9110 §13.1.2). It reports true when the condition is FALSE, i.e. one
// of the listed tags matches (or the field is "*" and a representation
// exists): the caller then answers 304. Lists (`"a", W/"b"`) and several
// field lines (already joined with ", ") are handled; commas inside
// opaque-tags do not split.
//
// The caller holds a stored representation, so "*" matches even when etag
// is "". A field that is not a valid list (see [ParseETagList]) is not
// evaluated and reports false: the request is then answered as if
// unconditional, which is always safe. It does not allocate.
func MatchNoneMatch(field string, etag string) bool {
	stored, haveStored := ParseETag(etag)
	matched := false
	for {
		t, star, rest, found, ok := nextListMember(field)
		if !ok {
			return false
		}
		if !found {
			return matched
		}
		if star || haveStored && WeakMatch(t, stored) {
			matched = true
		}
		field = rest
	}
}

// ParseETagList parses a comma-separated list of entity-tags (the value of
// If-None-Match or If-Match). It returns ok=false if any member is invalid.
// "*" is reported through star.
//
// Empty list elements are skipped (RFC 9110 §5.6.1); a "*" member is
// accepted anywhere in the list, as joining several field lines can put it
// there. On failure tags is nil and star false.
func ParseETagList(field string) (tags []ETag, star bool, ok bool) {
	for {
		t, isStar, rest, found, valid := nextListMember(field)
		if !valid {
			return nil, false, false
		}
		if !found {
			return tags, star, true
		}
		if isStar {
			star = true
		} else {
			tags = append(tags, t)
		}
		field = rest
	}
}

// nextListMember scans the next member of an entity-tag list. found is
// false at the end of the list; ok is false on a syntax error.
func nextListMember(s string) (t ETag, star bool, rest string, found, ok bool) {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == ',') {
		s = s[1:]
	}
	if s == "" {
		return ETag{}, false, "", false, true
	}
	if s[0] == '*' {
		star, rest = true, s[1:]
	} else {
		var valid bool
		if t, rest, valid = scanETag(s); !valid {
			return ETag{}, false, "", false, false
		}
	}
	rest = trimLeftOWS(rest)
	if rest != "" && rest[0] != ',' {
		return ETag{}, false, "", false, false
	}
	return t, star, rest, true, true
}
