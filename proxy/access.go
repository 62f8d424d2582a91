package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// accessRecord collects what the access log line of one request needs
// beyond what the handler returns: the status and bytes written, and the
// time spent waiting for the upstream. It exists only when the access log
// is on.
type accessRecord struct {
	http.ResponseWriter
	status   int
	bytes    int64
	upstream time.Duration
}

type accessKey struct{}

func (a *accessRecord) WriteHeader(code int) {
	if a.status == 0 && code >= 200 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessRecord) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	n, err := a.ResponseWriter.Write(p)
	a.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush,
// Hijack for CONNECT).
func (a *accessRecord) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// recordUpstream adds d to the upstream time of the request ctx belongs
// to, when the access log is on.
func recordUpstream(ctx context.Context, d time.Duration) {
	if a, ok := ctx.Value(accessKey{}).(*accessRecord); ok {
		a.upstream += d
	}
}

// logAccess writes the access log line of one request.
func (h *Handler) logAccess(a *accessRecord, r *http.Request, rt *route, res Result, d time.Duration) {
	h.access.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("route", rt.name),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", a.status),
		slog.String("cache", res.String()),
		slog.Int64("bytes", a.bytes),
		slog.Duration("duration", d),
		slog.Duration("upstream", a.upstream),
		slog.String("client", r.RemoteAddr),
	)
}
