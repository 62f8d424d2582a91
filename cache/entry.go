package cache

import (
	"net/http"
	"time"
)

// Entry is one stored response. It is immutable once built: nothing may
// modify an Entry or the Header and Body it holds; [Entry.Freshen] returns
// a new one.
type Entry struct {
	Status int
	// Header holds the stored fields: the upstream's end-to-end fields less
	// hop-by-hop ones (and those named in Connection), Set-Cookie,
	// Set-Cookie2, Age, and fields named by qualified no-cache or private
	// (RFC 9111 §3.1, §5.2.2.4, §5.2.2.7). A Date is added if missing.
	// Content-Length is never stored (the body's length is).
	Header http.Header
	Body   []byte

	// Parsed once at construction.
	CC           Directives
	ETag         string    // raw ETag field value if it parses, else ""
	LastModified time.Time // zero if absent or invalid
	Date         time.Time // Date field, or ResponseTime if absent/invalid

	// Vary holds the canonical names from Vary ("*" possible) and
	// VaryValues the request's normalized values for them (see VaryValues).
	Vary       []string
	VaryValues []string
	// Credential is CredentialHash of the request's Authorization when the
	// entry was stored per credential, "" otherwise.
	Credential string

	RequestTime  time.Time // when the request that produced it was sent
	ResponseTime time.Time // when its response was received
	// CorrectedInitialAge is corrected_initial_age of RFC 9111 §4.2.3.
	CorrectedInitialAge time.Duration
	// Lifetime is the freshness lifetime (FreshnessLifetime).
	Lifetime time.Duration
	// Size is the cost charged to the Store: body, header names and values,
	// and a fixed per-entry overhead.
	Size int64
}

// EntryOverhead is the fixed cost charged per entry on top of its header
// and body bytes, for the structures that hold it.
const EntryOverhead = 512

// NewEntry builds the entry for a response (status, header, body) to
// request req, sent at requestTime and received at responseTime, under
// policy p. credential is the request's CredentialHash when stored per
// credential, "" otherwise. header is not modified: the entry holds a
// filtered copy. Age is taken from header's Age field.
func NewEntry(req *http.Request, status int, header http.Header, body []byte, credential string, requestTime, responseTime time.Time, p Policy) *Entry {
	panic("TODO")
}

// Freshen returns a copy of e updated by a 304 response's header fields
// (RFC 9111 §3.2, §4.3.4): each field in h replaces the stored one, except
// Content-Length, hop-by-hop fields, Set-Cookie and the others NewEntry
// never stores; age and lifetime are recomputed from the new times.
func (e *Entry) Freshen(h http.Header, requestTime, responseTime time.Time, p Policy) *Entry {
	panic("TODO")
}

// CurrentAge is current_age of RFC 9111 §4.2.3 at now.
func (e *Entry) CurrentAge(now time.Time) time.Duration { panic("TODO") }

// TTL is Lifetime minus CurrentAge: positive while fresh.
func (e *Entry) TTL(now time.Time) time.Duration { panic("TODO") }

// Matches reports whether e may answer a request with header reqHeader and
// credential hash credential (RFC 9111 §4.1): every Vary field's
// normalized value equals the stored one, Vary is not "*", and the
// credential matches.
func (e *Entry) Matches(reqHeader http.Header, credential string) bool { panic("TODO") }

// Resource holds the stored variants of one primary key, newest first. It
// is immutable; With returns a new one.
type Resource struct {
	Variants []*Entry
}

// MaxVariants bounds the variants kept per primary key; the oldest goes.
const MaxVariants = 16

// Select returns the newest variant that Matches the request, or nil.
func (r *Resource) Select(reqHeader http.Header, credential string) *Entry { panic("TODO") }

// With returns a new Resource holding e first, followed by the variants of
// r that e does not replace (same Vary names and values and credential
// replace), at most MaxVariants. If old is non-nil it is also dropped
// (the variant e freshens). r may be nil.
func (r *Resource) With(e *Entry, old *Entry) *Resource { panic("TODO") }

// ByETag returns the variant with credential whose ETag weakly matches
// etag (raw wire form), or nil.
func (r *Resource) ByETag(etag string, credential string) *Entry { panic("TODO") }

// ETags returns the ETags of the variants with credential, newest first,
// without duplicates: what a revalidation sends in If-None-Match.
func (r *Resource) ETags(credential string) []string { panic("TODO") }

// Cost is the sum of the variants' Size.
func (r *Resource) Cost() int64 { panic("TODO") }
