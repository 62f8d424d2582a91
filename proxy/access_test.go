package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	var buf syncBuffer
	h, err := New(newMapStore(), Options{
		Routes:    []Route{{Name: "api", Upstream: mustURL(t, o.srv.URL), Policy: defaultPolicy()}},
		AccessLog: slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(h)
	t.Cleanup(func() { front.Close(); h.Close() })
	for _, m := range []string{"GET", "GET", "PUT"} {
		req, _ := http.NewRequest(m, front.URL+"/greeting", nil)
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	lines := buf.lines(t)
	want := []struct {
		method, cache string
		status        float64
		bytes         float64
		upstream      bool
	}{
		{"GET", "miss", 200, 5, true},
		{"GET", "hit", 200, 5, false},
		{"PUT", "bypass", 200, 5, true},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d access log lines; want %d: %v", len(lines), len(want), lines)
	}
	for i, w := range want {
		l := lines[i]
		if l["msg"] != "request" || l["route"] != "api" || l["method"] != w.method || l["path"] != "/greeting" ||
			l["cache"] != w.cache || l["status"] != w.status || l["bytes"] != w.bytes {
			t.Errorf("line %d = %v; want %s %s status %v bytes %v", i, l, w.method, w.cache, w.status, w.bytes)
		}
		if up, _ := l["upstream"].(float64); (up > 0) != w.upstream {
			t.Errorf("line %d upstream = %v; want upstream time only when it went upstream (%v)", i, l["upstream"], w.upstream)
		}
	}
}
