package proxy

import "strconv"

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
