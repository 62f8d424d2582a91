// Package compliance is cacheproxy's HTTP rule engine: it decides whether
// a response breaks one of the rules in the table below, from what was
// actually on the wire (Framer) and from its header fields (CheckHeader).
// It is pure: no I/O, no logging, no metrics. The proxy runs it on every
// upstream response; tests run it on every response the proxy writes.
//
//	rule                   severity  what the sender did                          reference
//	204-content-length     header    204 with a Content-Length field              RFC 9110 §8.6
//	204-transfer-encoding  framing   204 with Transfer-Encoding                   RFC 9112 §6.1
//	204-body               framing   bytes after a 204's header section           RFC 9110 §15.3.5, RFC 9112 §6.3
//	304-body               framing   bytes after a 304's header section           RFC 9112 §6.3
//	304-missing-etag       header    304 without the ETag a 200 would carry       RFC 9110 §15.4.5
//	head-body              framing   bytes after a HEAD response's header section RFC 9112 §6.3
//	etag-syntax            header    ETag that is not an entity-tag               RFC 9110 §8.8.3
//	date-missing           header    no Date on a 2xx, 3xx or 4xx                 RFC 9110 §6.6.1
//	content-length-mismatch framing  body shorter or longer than Content-Length   RFC 9112 §6.3
//	cache-control-syntax   header    unparseable or contradictory Cache-Control   RFC 9111 §5.2
//
// Framing violations mean the bytes on the connection no longer line up
// with responses: the connection must be closed, never reused. Header
// violations are about fields that must not be there, or must be and are
// not.
package compliance

// Rule identifies one rule. Its string is the metric label value and the
// Cache-Status detail: stable, dashboards depend on it.
type Rule string

// The rules, as in the package table.
const (
	NoContentLength           Rule = "204-content-length"
	NoContentTransferEncoding Rule = "204-transfer-encoding"
	NoContentBody             Rule = "204-body"
	NotModifiedBody           Rule = "304-body"
	NotModifiedMissingETag    Rule = "304-missing-etag"
	HeadBody                  Rule = "head-body"
	ETagSyntax                Rule = "etag-syntax"
	DateMissing               Rule = "date-missing"
	ContentLengthMismatch     Rule = "content-length-mismatch"
	CacheControlSyntax        Rule = "cache-control-syntax"
)

// NumRules is the number of rules; Rule.Index is in [0, NumRules).
const NumRules = 10

// AllRules returns every rule, in table order (a new slice each call).
func AllRules() []Rule {
	return []Rule{
		NoContentLength,
		NoContentTransferEncoding,
		NoContentBody,
		NotModifiedBody,
		NotModifiedMissingETag,
		HeadBody,
		ETagSyntax,
		DateMissing,
		ContentLengthMismatch,
		CacheControlSyntax,
	}
}

// Index returns r's position in AllRules, or -1 for an unknown rule.
func (r Rule) Index() int {
	switch r {
	case NoContentLength:
		return 0
	case NoContentTransferEncoding:
		return 1
	case NoContentBody:
		return 2
	case NotModifiedBody:
		return 3
	case NotModifiedMissingETag:
		return 4
	case HeadBody:
		return 5
	case ETagSyntax:
		return 6
	case DateMissing:
		return 7
	case ContentLengthMismatch:
		return 8
	case CacheControlSyntax:
		return 9
	}
	return -1
}

// Severity says whether a rule is about framing or header fields.
type Severity string

const (
	// Framing: bytes on the connection are in doubt; close it.
	Framing Severity = "framing"
	// Header: a field that must not be there, or must be and is not.
	Header Severity = "header"
)

// Severity returns r's severity (see the package table), or "" for an
// unknown rule.
func (r Rule) Severity() Severity {
	switch r {
	case NoContentTransferEncoding, NoContentBody, NotModifiedBody, HeadBody, ContentLengthMismatch:
		return Framing
	case NoContentLength, NotModifiedMissingETag, ETagSyntax, DateMissing, CacheControlSyntax:
		return Header
	}
	return ""
}

// Reference returns the RFC sections r comes from, e.g. "RFC 9110 §8.6",
// or "" for an unknown rule.
func (r Rule) Reference() string {
	switch r {
	case NoContentLength:
		return "RFC 9110 §8.6"
	case NoContentTransferEncoding:
		return "RFC 9112 §6.1"
	case NoContentBody:
		return "RFC 9110 §15.3.5, RFC 9112 §6.3"
	case NotModifiedBody, HeadBody, ContentLengthMismatch:
		return "RFC 9112 §6.3"
	case NotModifiedMissingETag:
		return "RFC 9110 §15.4.5"
	case ETagSyntax:
		return "RFC 9110 §8.8.3"
	case DateMissing:
		return "RFC 9110 §6.6.1"
	case CacheControlSyntax:
		return "RFC 9111 §5.2"
	}
	return ""
}

// MaxEvidence caps the stray bytes a Violation keeps.
const MaxEvidence = 256

// Violation is one broken rule in one response.
type Violation struct {
	Rule Rule
	// Detail is a short human-readable account, e.g. `Content-Length: 5`,
	// `ETag: abc (not quoted)`, `12 bytes after the header section`,
	// `body 10 bytes, Content-Length 100`.
	Detail string
	// Stray holds the first bytes (at most MaxEvidence) of data that did
	// not belong to any response (204-body, 304-body, head-body, a body
	// longer than Content-Length); StrayLen counts all of them seen by the
	// time the violation was reported.
	Stray    []byte
	StrayLen int64
}
