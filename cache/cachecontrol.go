package cache

import (
	"math"
	"time"
)

// Absent is the value of a duration directive that is not present.
const Absent time.Duration = -1

// MaxStaleAny is the value of MaxStale when the request carries max-stale
// without a value: any staleness is acceptable (RFC 9111 §5.2.1.2).
const MaxStaleAny time.Duration = math.MaxInt64

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
}

// ParseCacheControl parses the field lines of a Cache-Control header
// (http.Header values, possibly several lines, each a comma-separated list).
// Directive names are case-insensitive; unknown directives are ignored.
// It never fails: see Directives.Invalid.
func ParseCacheControl(lines []string) Directives {
	panic("TODO")
}
