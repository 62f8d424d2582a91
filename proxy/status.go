package proxy

import (
	"strconv"
	"sync/atomic"
)

// cacheStatus is this proxy's member of the Cache-Status field (RFC 9211).
type cacheStatus struct {
	hit       bool
	fwd       string // "", "uri-miss", "vary-miss", "miss", "request", "stale", "method", "bypass"
	fwdStatus int    // 0: not sent
	ttl       int64
	hasTTL    bool
	stored    bool
	collapsed bool
	detail    string // an sf-token
}

// format renders the member, e.g. `cacheproxy; hit; ttl=42` or
// `cacheproxy; fwd=uri-miss; fwd-status=204; stored`.
func (s cacheStatus) format(name string) string {
	b := make([]byte, 0, 64)
	b = append(b, name...)
	if s.hit {
		b = append(b, "; hit"...)
	}
	if s.fwd != "" {
		b = append(b, "; fwd="...)
		b = append(b, s.fwd...)
	}
	if s.fwdStatus != 0 {
		b = append(b, "; fwd-status="...)
		b = strconv.AppendInt(b, int64(s.fwdStatus), 10)
	}
	if s.hasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, s.ttl, 10)
	}
	if s.stored {
		b = append(b, "; stored"...)
	}
	if s.collapsed {
		b = append(b, "; collapsed"...)
	}
	if s.detail != "" {
		b = append(b, "; detail="...)
		b = append(b, s.detail...)
	}
	return string(b)
}

// plainHit reports a fresh hit with nothing else to say, whose member the
// handler keeps ready per ttl (headerMemo).
func (s cacheStatus) plainHit() bool {
	return s.hit && s.hasTTL && s.fwd == "" && s.fwdStatus == 0 && !s.stored && !s.collapsed && s.detail == ""
}

// memoSize bounds the integers headerMemo keeps values for: ages and ttls
// up to about 68 minutes; larger ones are formatted per request.
const memoSize = 4096

// headerMemo keeps the single-value header slices the hit path sends over
// and over, so that they are formatted once: Age values and the
// Cache-Status member of a plain hit, by their number of seconds. Each
// slot is filled on first use. It is safe for concurrent use; the slices
// it returns are shared and never modified.
type headerMemo struct {
	ages [memoSize]atomic.Pointer[[]string]
	hits [memoSize]atomic.Pointer[[]string]
}

// age returns the Age field value for secs.
func (m *headerMemo) age(secs int64) []string {
	if secs < 0 || secs >= memoSize {
		return []string{strconv.FormatInt(secs, 10)}
	}
	if v := m.ages[secs].Load(); v != nil {
		return *v
	}
	v := []string{strconv.FormatInt(secs, 10)}
	m.ages[secs].Store(&v)
	return v
}

// hitStatus returns the Cache-Status value of a plain hit with ttl.
func (m *headerMemo) hitStatus(name string, ttl int64) []string {
	format := func() []string { return []string{cacheStatus{hit: true, hasTTL: true, ttl: ttl}.format(name)} }
	if ttl < 0 || ttl >= memoSize {
		return format()
	}
	if v := m.hits[ttl].Load(); v != nil {
		return *v
	}
	v := format()
	m.hits[ttl].Store(&v)
	return v
}
