package cache

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// newTestStore returns a Store closed when the test ends.
func newTestStore(t testing.TB, o StoreOptions) *Store {
	t.Helper()
	s, err := NewStore(o)
	if err != nil {
		t.Fatalf("NewStore(%+v): %v", o, err)
	}
	t.Cleanup(s.Close)
	return s
}

// sizedResource returns a Resource of one entry whose Size is size.
func sizedResource(size int64) *Resource {
	return &Resource{Variants: []*Entry{{Status: 204, Size: size}}}
}

func TestStoreSetGet(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, StoreOptions{MaxBytes: 1 << 20})
	e := NewEntry(nil, 204, http.Header{"Etag": {`"a"`}}, nil, "", t0(), t0(), Policy{})
	r := (*Resource)(nil).With(e, nil)
	if !s.Set("http://a.com/x", r, time.Hour) {
		t.Fatalf("Set(http://a.com/x) = false; want true")
	}
	s.Wait()
	if got, ok := s.Get("http://a.com/x"); !ok || got != r {
		t.Errorf("Get(http://a.com/x) = %p, %v; want %p, true", got, ok, r)
	}
	if got, ok := s.Get("http://a.com/y"); ok || got != nil {
		t.Errorf("Get(http://a.com/y) = %v, %v; want nil, false", got, ok)
	}
	if m := s.Metrics(); m.Hits() != 1 || m.Misses() != 1 {
		t.Errorf("Metrics hits, misses = %d, %d; want 1, 1", m.Hits(), m.Misses())
	}
	if got := s.MaxCost(); got != 1<<20 {
		t.Errorf("MaxCost() = %d; want %d", got, 1<<20)
	}

	s.Delete("http://a.com/x")
	if _, ok := s.Get("http://a.com/x"); ok {
		t.Errorf("Get after Delete found the resource; want none")
	}
}

func TestStoreSetWithoutTTL(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, StoreOptions{MaxBytes: 1 << 20})
	// ristretto discards a negative TTL; the Store treats it as no bound.
	for _, ttl := range []time.Duration{0, -time.Second} {
		key := fmt.Sprint("k", ttl)
		r := sizedResource(600)
		s.Set(key, r, ttl)
		s.Wait()
		if got, ok := s.Get(key); !ok || got != r {
			t.Errorf("Get(%q) after Set with ttl %v = %v, %v; want the resource", key, ttl, got, ok)
		}
	}
	if s.Set("nil", nil, 0) {
		t.Errorf("Set(nil resource) = true; want false")
	}
}

func TestStoreCapacity(t *testing.T) {
	t.Parallel()
	const maxBytes = 10_000
	s := newTestStore(t, StoreOptions{MaxBytes: maxBytes, ExpectedEntries: 100})
	const n, size = 40, 1000
	for i := range n {
		s.Set(fmt.Sprint("k", i), sizedResource(size), 0)
		s.Wait()
	}
	var present, cost int64
	for i := range n {
		if r, ok := s.Get(fmt.Sprint("k", i)); ok {
			present++
			cost += r.Cost()
		}
	}
	if present == 0 || present >= n || cost > maxBytes {
		t.Errorf("after %d sets of %d bytes into %d: %d present costing %d; want some, not all, at most %d bytes", n, size, maxBytes, present, cost, maxBytes)
	}
	if m := s.Metrics(); m.KeysEvicted()+m.SetsRejected() == 0 {
		t.Errorf("Metrics: no evictions or rejections; want some")
	}

	s.Set("huge", sizedResource(maxBytes+1), 0)
	s.Wait()
	if _, ok := s.Get("huge"); ok {
		t.Errorf("Get(huge) found a resource larger than the capacity; want none")
	}
}

func TestNewStoreValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    StoreOptions
		want string
	}{
		{"zero max bytes", StoreOptions{}, "cache: max bytes must be > 0, got 0"},
		{"negative max bytes", StoreOptions{MaxBytes: -1}, "cache: max bytes must be > 0, got -1"},
		{"negative expected entries", StoreOptions{MaxBytes: 1, ExpectedEntries: -5}, "cache: expected entries must be >= 0, got -5"},
		{"too many expected entries", StoreOptions{MaxBytes: 1, ExpectedEntries: 1<<28 + 1}, "cache: expected entries must be <= 268435456, got 268435457"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewStore(tt.o)
			if err == nil {
				s.Close()
				t.Fatalf("NewStore(%+v) = nil error; want %q", tt.o, tt.want)
			}
			if err.Error() != tt.want || s != nil {
				t.Errorf("NewStore(%+v) = %v, %q; want nil, %q", tt.o, s, err, tt.want)
			}
		})
	}
}

func BenchmarkStoreGet(b *testing.B) {
	s := newTestStore(b, StoreOptions{MaxBytes: 1 << 20})
	s.Set("http://api.example.com/v1/items?page=2", benchResource(), 0)
	s.Wait()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Get("http://api.example.com/v1/items?page=2"); !ok {
			b.Fatal("Get = false")
		}
	}
}
