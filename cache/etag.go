package cache

// ETag is a parsed entity-tag (RFC 9110 §8.8.3).
type ETag struct {
	Weak bool
	// Opaque is the opaque-tag including its double quotes, e.g. `"v1"`.
	Opaque string
}

// ParseETag parses one entity-tag such as `"xyz"` or `W/"xyz"`. It reports
// false when s is not a valid entity-tag (unquoted, bad characters).
func ParseETag(s string) (ETag, bool) {
	panic("TODO")
}

// String returns the wire form, W/"..." for weak tags.
func (t ETag) String() string { panic("TODO") }

// StrongMatch is strong comparison (RFC 9110 §8.8.3.2): both strong and
// the opaque-tags are identical.
func StrongMatch(a, b ETag) bool { panic("TODO") }

// WeakMatch is weak comparison: the opaque-tags are identical, weakness
// ignored.
func WeakMatch(a, b ETag) bool { panic("TODO") }

// MatchNoneMatch evaluates an If-None-Match field value against the stored
// entity-tag etag (raw wire form, may be "" for none) with weak comparison
// (RFC 9110 §13.1.2). It reports true when the condition is FALSE, i.e. one
// of the listed tags matches (or the field is "*" and a representation
// exists): the caller then answers 304. Lists (`"a", W/"b"`) and several
// field lines (already joined with ", ") are handled; commas inside
// opaque-tags do not split.
func MatchNoneMatch(field string, etag string) bool { panic("TODO") }

// ParseETagList parses a comma-separated list of entity-tags (the value of
// If-None-Match or If-Match). It returns ok=false if any member is invalid.
// "*" is reported through star.
func ParseETagList(field string) (tags []ETag, star bool, ok bool) { panic("TODO") }
