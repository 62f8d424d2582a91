package cache

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	// The upstream's Content-Length is never stored: for a status that has
	// a body, Content-Length holds the stored body's length, so that a
	// response served from the entry needs no formatting.
	Header Fields
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

// EntryOverhead is the fixed cost charged per entry on top of its body
// and field lines, for the structures that hold it: the Entry, its
// Resource, the Store's index and ristretto's bookkeeping.
// FieldLineOverhead is charged per stored field value (and name), for the
// strings that point at them. TestEntryCostCoversHeap checks both against
// what the Go heap really holds.
const (
	EntryOverhead     = 832
	FieldLineOverhead = 40
)

// NewEntry builds the entry for a response (status, header, body) to
// request req, sent at requestTime and received at responseTime, under
// policy p. credential is the request's CredentialHash when stored per
// credential, "" otherwise. header is not modified: the entry holds a
// filtered copy. Age is taken from header's Age field.
//
// body is held, not copied: the caller must not modify it afterwards. req
// may be nil (no Vary values then). An invalid or missing Date is replaced
// by responseTime (RFC 9110 §6.6.1); an invalid Age counts as 0.
func NewEntry(req *http.Request, status int, header http.Header, body []byte, credential string, requestTime, responseTime time.Time, p Policy) *Entry {
	cc := ResponseDirectives(header)
	stored := make(http.Header, len(header)+1)
	copyStored(stored, header, nil)
	dropQualified(stored, cc)
	date := setDate(stored, header, responseTime)
	if status != http.StatusNoContent && status != http.StatusNotModified && status >= 200 {
		stored["Content-Length"] = []string{strconv.Itoa(len(body))}
	}

	var reqHeader http.Header
	if req != nil {
		reqHeader = req.Header
	}
	e := &Entry{
		Status:       status,
		Header:       NewFields(stored),
		Body:         body,
		CC:           cc,
		Date:         date,
		Credential:   credential,
		RequestTime:  requestTime,
		ResponseTime: responseTime,
		Lifetime:     FreshnessLifetime(status, header, cc, date, p),
	}
	e.Vary = VaryFields(stored)
	e.VaryValues = VaryValues(e.Vary, reqHeader)
	e.setDerived(header)
	return e
}

// Freshen returns a copy of e updated by a 304 response's header fields
// (RFC 9111 §3.2, §4.3.4): each field in h replaces the stored one, except
// Content-Length, hop-by-hop fields, Set-Cookie and the others NewEntry
// never stores; age and lifetime are recomputed from the new times.
//
// Vary is not updated either: the entry's variant was selected by the
// stored Vary and the request that produced it, which the stored response
// depends on (§3.2). A 304 without a valid Date is dated responseTime.
func (e *Entry) Freshen(h http.Header, requestTime, responseTime time.Time, p Policy) *Entry {
	merged := e.Header.Header()
	copyStored(merged, h, func(name string) bool { return name == "Vary" })
	cc := ResponseDirectives(merged)
	dropQualified(merged, cc)
	date := setDate(merged, h, responseTime)

	ne := *e
	ne.Header = NewFields(merged)
	ne.CC = cc
	ne.Date = date
	ne.RequestTime = requestTime
	ne.ResponseTime = responseTime
	ne.Lifetime = FreshnessLifetime(e.Status, merged, cc, date, p)
	ne.setDerived(h)
	return &ne
}

// setDerived sets ETag, LastModified, CorrectedInitialAge and Size from
// e.Header, e.Date and the times; ageHeader is the received header that
// carried the Age field.
func (e *Entry) setDerived(ageHeader http.Header) {
	e.ETag = ""
	if v := e.Header.Get("ETag"); v != "" {
		if _, ok := ParseETag(v); ok {
			e.ETag = v
		}
	}
	e.LastModified = time.Time{}
	if lm, ok := ParseHTTPDate(e.Header.Get("Last-Modified")); ok {
		e.LastModified = lm
	}
	e.CorrectedInitialAge = correctedInitialAge(ageHeader.Get("Age"), e.Date, e.RequestTime, e.ResponseTime)
	e.Size = entrySize(&e.Header, e.Body)
}

// correctedInitialAge is corrected_initial_age of RFC 9111 §4.2.3:
//
//	apparent_age = max(0, response_time - date_value)
//	response_delay = response_time - request_time
//	corrected_age_value = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//
// An absent or invalid Age is 0; a negative response delay (clocks out of
// order) is 0.
func correctedInitialAge(ageField string, date, requestTime, responseTime time.Time) time.Duration {
	// A list ("7200, 0") is not valid Age syntax; its first member is what
	// a recipient that joins field lines would have seen first.
	ageField, _, _ = strings.Cut(ageField, ",")
	ageValue, ok := parseDeltaSeconds(strings.TrimSpace(ageField))
	if !ok {
		ageValue = 0
	}
	apparent := max(responseTime.Sub(date), 0)
	delay := max(responseTime.Sub(requestTime), 0)
	return max(apparent, addSat(ageValue, delay))
}

// setDate makes sure stored has a valid Date: the one in received when it
// parses (already copied), else responseTime. It returns the date.
func setDate(stored, received http.Header, responseTime time.Time) time.Time {
	if date, ok := ParseHTTPDate(received.Get("Date")); ok {
		return date
	}
	stored["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	return responseTime
}

// copyStored copies into dst the fields of src a shared cache stores,
// each replacing the field of the same name in dst: all but hop-by-hop
// fields, those named in src's Connection, Set-Cookie, Set-Cookie2, Age
// and Content-Length, and those for which skip reports true.
func copyStored(dst, src http.Header, skip func(name string) bool) {
	var conn []string
	for _, line := range src.Values("Connection") {
		appendFieldList(&conn, line)
	}
	for name, values := range src {
		if len(values) == 0 {
			continue
		}
		name = http.CanonicalHeaderKey(name)
		if neverStored(name) || slices.Contains(conn, name) || skip != nil && skip(name) {
			continue
		}
		dst[name] = slices.Clone(values)
	}
}

// neverStored reports whether a shared cache never stores the field named
// name (canonical): hop-by-hop fields (RFC 9110 §7.6.1), cookies, Age
// (recomputed) and Content-Length (the body's length is kept).
func neverStored(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Proxy-Authenticate",
		"Proxy-Authorization", "Proxy-Authentication-Info",
		"Set-Cookie", "Set-Cookie2", "Age", "Content-Length":
		return true
	}
	return false
}

// dropQualified deletes the fields named by qualified no-cache and private
// (RFC 9111 §5.2.2.4, §5.2.2.7).
func dropQualified(h http.Header, cc Directives) {
	for _, f := range cc.NoCacheFields {
		delete(h, f)
	}
	for _, f := range cc.PrivateFields {
		delete(h, f)
	}
}

// entrySize is EntryOverhead plus the body and, for every stored value,
// its length, its name's length and FieldLineOverhead.
func entrySize(h *Fields, body []byte) int64 {
	return EntryOverhead + int64(len(body)) + h.lineBytes()
}

// KeyCost is what holding key costs the Store, on top of the Resource's
// own Cost: its bytes, rounded up to the 16-byte allocation size.
func KeyCost(key string) int64 { return int64(len(key)+15) &^ 15 }

// addSat adds non-negative durations, saturating at the largest Duration.
func addSat(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// CurrentAge is current_age of RFC 9111 §4.2.3 at now:
// corrected_initial_age + (now - response_time). A now before the
// response time counts as no resident time.
func (e *Entry) CurrentAge(now time.Time) time.Duration {
	return addSat(e.CorrectedInitialAge, max(now.Sub(e.ResponseTime), 0))
}

// TTL is Lifetime minus CurrentAge: positive while fresh.
func (e *Entry) TTL(now time.Time) time.Duration { return e.Lifetime - e.CurrentAge(now) }

// Matches reports whether e may answer a request with header reqHeader and
// credential hash credential (RFC 9111 §4.1): every Vary field's
// normalized value equals the stored one, Vary is not "*", and the
// credential matches. It does not allocate.
func (e *Entry) Matches(reqHeader http.Header, credential string) bool {
	if e.Credential != credential || len(e.VaryValues) != len(e.Vary) {
		return false
	}
	for i, name := range e.Vary {
		if name == "*" || !varyEqual(reqHeader.Values(name), e.VaryValues[i]) {
			return false
		}
	}
	return true
}

// sameVariant reports whether a and b are the same variant of a resource:
// same credential, Vary names and values.
func sameVariant(a, b *Entry) bool {
	return a.Credential == b.Credential && slices.Equal(a.Vary, b.Vary) && slices.Equal(a.VaryValues, b.VaryValues)
}

// Resource holds the stored variants of one primary key, newest first. It
// is immutable; With returns a new one.
type Resource struct {
	Variants []*Entry
	// Uncacheable marks a key whose last answer could not be stored: until
	// the marker expires, requests for it go upstream without waiting on
	// each other (hit-for-miss), and a storable answer replaces it. A
	// marker has no variants.
	Uncacheable bool

	key string    // set by Store.Set, for the Store's index
	one [1]*Entry // Variants' array when there is one: no allocation of its own
}

// MaxVariants bounds the variants kept per primary key; the oldest goes.
const MaxVariants = 16

// Select returns the newest variant that Matches the request, or nil.
//
// Newest is the latest Date (RFC 9111 §4.1), the earlier in Variants on a
// tie. r may be nil.
func (r *Resource) Select(reqHeader http.Header, credential string) *Entry {
	if r == nil {
		return nil
	}
	var best *Entry
	for _, v := range r.Variants {
		if v != nil && v.Matches(reqHeader, credential) && (best == nil || v.Date.After(best.Date)) {
			best = v
		}
	}
	return best
}

// With returns a new Resource holding e first, followed by the variants of
// r that e does not replace (same Vary names and values and credential
// replace), at most MaxVariants. If old is non-nil it is also dropped
// (the variant e freshens). r may be nil.
func (r *Resource) With(e *Entry, old *Entry) *Resource {
	if e != nil && (r == nil || len(r.Variants) == 0) {
		nr := &Resource{}
		nr.one[0] = e
		nr.Variants = nr.one[:]
		return nr
	}
	var vs []*Entry
	if r != nil {
		vs = make([]*Entry, 0, min(len(r.Variants)+1, MaxVariants))
	}
	if e != nil {
		vs = append(vs, e)
	}
	if r != nil {
		for _, v := range r.Variants {
			if len(vs) == MaxVariants {
				break
			}
			if v == nil || v == e || v == old || e != nil && sameVariant(v, e) {
				continue
			}
			vs = append(vs, v)
		}
	}
	nr := &Resource{Variants: vs}
	if len(vs) == 1 {
		nr.one[0] = vs[0]
		nr.Variants = nr.one[:]
	}
	return nr
}

// ByETag returns the variant with credential whose ETag weakly matches
// etag (raw wire form), or nil.
func (r *Resource) ByETag(etag string, credential string) *Entry {
	want, ok := ParseETag(etag)
	if !ok || r == nil {
		return nil
	}
	for _, v := range r.Variants {
		if v == nil || v.Credential != credential {
			continue
		}
		if have, ok := ParseETag(v.ETag); ok && WeakMatch(want, have) {
			return v
		}
	}
	return nil
}

// ETags returns the ETags of the variants with credential, newest first,
// without duplicates: what a revalidation sends in If-None-Match.
func (r *Resource) ETags(credential string) []string {
	if r == nil {
		return nil
	}
	var tags []string
	for _, v := range r.Variants {
		if v != nil && v.Credential == credential && v.ETag != "" && !slices.Contains(tags, v.ETag) {
			tags = append(tags, v.ETag)
		}
	}
	return tags
}

// Cost is the sum of the variants' Size.
func (r *Resource) Cost() int64 {
	if r == nil {
		return 0
	}
	if len(r.Variants) == 0 {
		return EntryOverhead // a marker: its bookkeeping
	}
	var n int64
	for _, v := range r.Variants {
		if v != nil {
			n += v.Size
		}
	}
	return n
}
