package cache

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestEntryCostCoversHeap checks that what the Store charges for an
// entry (Resource.Cost plus the key) is at least what holding it costs
// the Go heap: the entry, its fields and body, the Resource, the key, the
// Store's index and ristretto's own bookkeeping. Without that, a cache
// of small objects outgrows max_bytes (issue 5, item 4).
//
// It is not parallel: other tests allocating at the same time would be
// counted.
func TestEntryCostCoversHeap(t *testing.T) {
	const n = 20000
	tests := []struct {
		name   string
		header http.Header
		body   []byte
	}{
		{"204 with an ETag", http.Header{"Etag": {`"204-v1"`}, "Date": {"Wed, 25 Nov 2026 09:35:02 GMT"}}, nil},
		{"200 JSON, typical API fields", http.Header{
			"Etag":           {`"5f2c-1a"`},
			"Date":           {"Wed, 25 Nov 2026 09:35:02 GMT"},
			"Content-Type":   {"application/json; charset=utf-8"},
			"Cache-Control":  {"public, max-age=60"},
			"Last-Modified":  {"Tue, 24 Nov 2026 10:00:00 GMT"},
			"Vary":           {"Accept-Encoding"},
			"X-Request-Id":   {"0123456789abcdef"},
			"Content-Length": {"128"},
		}, []byte(strings.Repeat("j", 128))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, StoreOptions{MaxBytes: 1 << 30, ExpectedEntries: n})
			req := &http.Request{Header: http.Header{"Accept-Encoding": {"gzip"}}}
			keys := make([]string, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var cost int64
			for i := range keys {
				key := fmt.Sprintf("http://api.example.com/v1/items/%d", i)
				keys[i] = key
				body := append([]byte(nil), tt.body...)
				e := NewEntry(req, 200, tt.header, body, "", t0(), t0(), Policy{})
				r := (*Resource)(nil).With(e, nil)
				cost += r.Cost() + KeyCost(key)
				for !s.Set(key, r, time.Hour) {
					s.Wait() // the write buffer was full
				}
				if i%1000 == 999 {
					s.Wait()
				}
			}
			s.Wait()
			if got := s.Len(); got != n {
				t.Fatalf("Len() = %d after %d sets; want all stored", got, n)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d entries: heap %d B/entry, cost %d B/entry (EntryOverhead %d)", n, heap/n, cost/n, EntryOverhead)
			if heap > cost {
				t.Errorf("the heap holds %d B per entry, the Store charges %d: raise EntryOverhead by at least %d", heap/n, cost/n, (heap-cost)/n+1)
			}
			if over := float64(cost) / float64(heap); over > 1.25 {
				t.Errorf("the Store charges %.2f× what the heap holds per entry (%d B, %d B): the accounting is no longer honest, lower EntryOverhead", over, cost/n, heap/n)
			}
			runtime.KeepAlive(keys)
		})
	}
}
