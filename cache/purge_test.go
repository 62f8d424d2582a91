package cache

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// tagged returns a Resource of one 204 whose Surrogate-Key is tags.
func tagged(tags string) *Resource {
	h := http.Header{}
	if tags != "" {
		h.Set("Surrogate-Key", tags)
	}
	return (*Resource)(nil).With(NewEntry(nil, 204, h, nil, "", t0(), t0(), Policy{}), nil)
}

func TestStorePurge(t *testing.T) {
	t.Parallel()
	keys := map[string]string{ // key → Surrogate-Key
		"http://api.example/users/1":    "users user-1",
		"http://api.example/users/2":    "users user-2",
		"http://api.example/usersearch": "search",
		"http://api.example/orders/1":   "orders user-1",
		"http://other.example/users/1":  "",
	}
	cases := []struct {
		name   string
		purge  func(s *Store) int
		want   int
		remain int
	}{
		{"exact key", func(s *Store) int {
			if s.Purge("http://api.example/users/1") {
				return 1
			}
			return 0
		}, 1, 4},
		{"exact key not stored", func(s *Store) int {
			if s.Purge("http://api.example/none") {
				return 1
			}
			return 0
		}, 0, 5},
		{"path prefix", func(s *Store) int { return s.PurgePrefix("http://api.example/users/") }, 2, 3},
		{"prefix is a plain string prefix, caller adds the slash", func(s *Store) int { return s.PurgePrefix("http://api.example/users") }, 3, 2},
		{"host", func(s *Store) int { return s.PurgePrefix("http://api.example/") }, 4, 1},
		{"surrogate key", func(s *Store) int { return s.PurgeTag("Surrogate-Key", "user-1") }, 2, 3},
		{"surrogate key matched exactly, not as a prefix", func(s *Store) int { return s.PurgeTag("Surrogate-Key", "user") }, 0, 5},
		{"surrogate key is not a regular expression", func(s *Store) int { return s.PurgeTag("Surrogate-Key", "user-.*") }, 0, 5},
		{"another field", func(s *Store) int { return s.PurgeTag("Xkey", "users") }, 0, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestStore(t, StoreOptions{MaxBytes: 1 << 20})
			for k, tags := range keys {
				s.Set(k, tagged(tags), time.Hour)
			}
			s.Wait()
			if got := tc.purge(s); got != tc.want {
				t.Errorf("purged %d; want %d", got, tc.want)
			}
			left := 0
			for k := range keys {
				if _, ok := s.Get(k); ok {
					left++
				}
			}
			if left != tc.remain || s.Len() != tc.remain {
				t.Errorf("left %d stored, index %d; want %d", left, s.Len(), tc.remain)
			}
		})
	}
}

// TestStoreIndexFollowsRistretto checks that the purge index forgets what
// ristretto evicts, replaces or rejects, so it never grows past what is
// stored.
func TestStoreIndexFollowsRistretto(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, StoreOptions{MaxBytes: 64 << 10})
	for i := range 200 {
		s.Set(fmt.Sprint("http://h/", i), sizedResource(4<<10), time.Hour)
		s.Wait()
	}
	stored := 0
	for i := range 200 {
		if _, ok := s.Get(fmt.Sprint("http://h/", i)); ok {
			stored++
		}
	}
	if stored == 0 || stored > 16 || s.Len() != stored {
		t.Errorf("stored %d (capacity fits 16), index %d; want the index to match what is stored", stored, s.Len())
	}
	// A replacement keeps one index entry for the key.
	s.Set("http://h/r", sizedResource(100), time.Hour)
	s.Wait()
	s.Set("http://h/r", sizedResource(200), time.Hour)
	s.Wait()
	if got, ok := s.Get("http://h/r"); ok && got.Cost() != 200 {
		t.Errorf("Get after replacement: cost %d; want 200", got.Cost())
	}
	if !s.Purge("http://h/r") {
		t.Errorf("Purge after replacement = false; want true")
	}
}
