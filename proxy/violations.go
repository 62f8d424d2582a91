package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// violationError is why a response was rejected: it broke a rule whose
// action is Reject.
type violationError struct {
	v compliance.Violation
}

func (e *violationError) Error() string {
	return "proxy: upstream response breaks " + string(e.v.Rule) + ": " + e.v.Detail
}

// rejection returns the first violation in vs that rt's policy rejects.
func (rt *route) rejection(vs []compliance.Violation) error {
	for _, v := range vs {
		if rt.compliance.Action(v.Rule) == Reject {
			return &violationError{v: v}
		}
	}
	return nil
}

// repair makes the fields of an upstream response that broke header rules
// safe to forward and store: an ETag that is not an entity-tag is dropped
// (it could never validate anything). Framing is repaired on the wire
// (stray bytes never pass) and by finishForwarded (no Content-Length or
// Transfer-Encoding on a 204 or 304). It returns the rule to name in
// Cache-Status detail, "" when vs is empty.
func repair(h http.Header, vs []compliance.Violation) string {
	for _, v := range vs {
		if v.Rule == compliance.ETagSyntax {
			delete(h, "Etag")
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return string(vs[0].Rule)
}

// Evidence is one violating exchange, as GET /violations shows it: what an
// operator pastes into a bug report for the upstream's owners.
type Evidence struct {
	Time      time.Time           `json:"time"`
	Rule      compliance.Rule     `json:"rule"`
	Severity  compliance.Severity `json:"severity"`
	Reference string              `json:"reference"`
	Action    string              `json:"action"`
	Detail    string              `json:"detail"`
	Status    int                 `json:"status,omitempty"`
	Request   string              `json:"request"`
	// Headers holds the response's framing and caching fields: the
	// offending ones are among them.
	Headers    map[string][]string `json:"headers,omitempty"`
	StrayBytes int64               `json:"stray_bytes,omitempty"`
	// Stray is the start of the bytes that belonged to no response, with
	// non-printable bytes escaped as in a Go string literal (\r, \x00).
	Stray string `json:"stray,omitempty"`
}

// evidenceFields are the response fields Evidence keeps.
func isEvidenceField(k string) bool {
	switch k {
	case "Content-Length", "Transfer-Encoding", "Etag", "Cache-Control", "Date", "Expires", "Last-Modified", "Content-Type":
		return true
	}
	return false
}

// report counts v, logs it (rate-limited) and keeps its evidence.
func (h *Handler) report(rt *route, ex *exchange, status int, header http.Header, v compliance.Violation) {
	rt.obs.Violation(v.Rule)
	now := h.now()
	action := rt.compliance.Action(v.Rule)
	if rt.evidence != nil {
		e := Evidence{
			Time:       now.UTC(),
			Rule:       v.Rule,
			Severity:   v.Rule.Severity(),
			Reference:  v.Rule.Reference(),
			Action:     action.String(),
			Detail:     v.Detail,
			Status:     status,
			Request:    ex.method + " " + ex.target,
			StrayBytes: v.StrayLen,
		}
		for k, vals := range header {
			if isEvidenceField(k) {
				if e.Headers == nil {
					e.Headers = make(map[string][]string)
				}
				e.Headers[k] = vals
			}
		}
		if len(v.Stray) > 0 {
			q := strconv.Quote(string(v.Stray))
			e.Stray = q[1 : len(q)-1]
		}
		rt.evidence.add(e)
	}
	if ok, suppressed := rt.logs.allow(v.Rule, now); ok {
		h.log.Warn("upstream broke an HTTP rule", "route", rt.name, "rule", string(v.Rule),
			"severity", string(v.Rule.Severity()), "action", action.String(), "status", status,
			"method", ex.method, "path", ex.target, "detail", v.Detail, "suppressed", suppressed)
	}
}

// evidenceRing keeps the most recent Evidence of one route. It is safe
// for concurrent use.
type evidenceRing struct {
	// mu guards buf, next and full.
	mu   sync.Mutex
	buf  []Evidence
	next int
	full bool
}

func newEvidenceRing(n int) *evidenceRing {
	if n <= 0 {
		return nil
	}
	return &evidenceRing{buf: make([]Evidence, n)}
}

func (r *evidenceRing) add(e Evidence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the kept Evidence, oldest first.
func (r *evidenceRing) list() []Evidence {
	if r == nil {
		return []Evidence{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]Evidence{}, r.buf[:r.next]...)
	}
	return append(append([]Evidence{}, r.buf[r.next:]...), r.buf[:r.next]...)
}

// logLimiter lets one log line per rule through per interval and counts
// the ones it holds back. It is safe for concurrent use.
type logLimiter struct {
	every time.Duration
	// mu guards last and suppressed.
	mu         sync.Mutex
	last       [compliance.NumRules]time.Time
	suppressed [compliance.NumRules]int
}

// allow reports whether a line for rule may be logged at now, and how many
// were held back since the last one.
func (l *logLimiter) allow(rule compliance.Rule, now time.Time) (bool, int) {
	i := rule.Index()
	if i < 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last[i].IsZero() && now.Sub(l.last[i]) < l.every {
		l.suppressed[i]++
		return false, 0
	}
	n := l.suppressed[i]
	l.last[i], l.suppressed[i] = now, 0
	return true, n
}

// ViolationsHandler serves the recent violating exchanges of every route
// as JSON, oldest first: {"routes": {"api": [Evidence, ...]}}. Mount it on
// the admin listener (GET /violations).
func (h *Handler) ViolationsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		out := struct {
			Routes map[string][]Evidence `json:"routes"`
		}{Routes: h.Evidence()}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	})
}

// Evidence returns the recent violating exchanges of every route, oldest
// first, keyed by route name: what ViolationsHandler serves.
func (h *Handler) Evidence() map[string][]Evidence {
	out := make(map[string][]Evidence)
	for _, rt := range h.routes() {
		out[rt.name] = rt.evidence.list()
	}
	return out
}

// routes returns every route of h.
func (h *Handler) routes() []*route {
	if h.router != nil {
		return h.router.routes
	}
	return []*route{h.fwdRoute}
}
