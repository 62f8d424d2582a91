package cache

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// StoreOptions configures a Store.
type StoreOptions struct {
	// MaxBytes is the capacity: the sum of stored Resource costs
	// (Resource.Cost plus KeyCost of the key) ristretto keeps below.
	// Required, > 0.
	MaxBytes int64
	// ExpectedEntries sizes ristretto's admission counters (NumCounters is
	// ten times it). Zero means MaxBytes / 4096, at least 1000 and at most
	// 2^24. At most 2^28.
	ExpectedEntries int64
}

const (
	// minDefaultEntries and maxDefaultEntries bound the default of
	// ExpectedEntries.
	minDefaultEntries = 1000
	maxDefaultEntries = 1 << 24
	// maxExpectedEntries bounds ExpectedEntries: ristretto allocates about
	// 3 bytes per counter up front, 10 counters per entry.
	maxExpectedEntries = 1 << 28
)

// Store is the memory-bounded map from primary key to Resource, backed by
// ristretto with cost = bytes. It is safe for concurrent use. Set is
// asynchronous and may drop an item (ristretto's admission policy): a
// caller never assumes a write is visible.
type Store struct {
	c *ristretto.Cache[string, *Resource]

	// mu guards index: every key whose Resource ristretto may hold, for
	// the purges that cannot be answered by hashing one key (a path
	// prefix, a surrogate key). ristretto's OnExit keeps it exact:
	// evictions, expiries, rejections, replacements and deletions all
	// remove their Resource from it.
	mu    sync.Mutex
	index map[string]*Resource
}

// NewStore validates o and builds a Store.
func NewStore(o StoreOptions) (*Store, error) {
	switch {
	case o.MaxBytes <= 0:
		return nil, fmt.Errorf("cache: max bytes must be > 0, got %d", o.MaxBytes)
	case o.ExpectedEntries < 0:
		return nil, fmt.Errorf("cache: expected entries must be >= 0, got %d", o.ExpectedEntries)
	case o.ExpectedEntries > maxExpectedEntries:
		return nil, fmt.Errorf("cache: expected entries must be <= %d, got %d", maxExpectedEntries, o.ExpectedEntries)
	}
	n := o.ExpectedEntries
	if n == 0 {
		n = min(max(o.MaxBytes/4096, minDefaultEntries), maxDefaultEntries)
	}
	s := &Store{index: make(map[string]*Resource)}
	c, err := ristretto.NewCache(&ristretto.Config[string, *Resource]{
		NumCounters: 10 * n,
		MaxCost:     o.MaxBytes,
		BufferItems: 64,
		Metrics:     true,
		OnExit:      s.forget,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: new ristretto cache: %w", err)
	}
	s.c = c
	return s, nil
}

// forget removes r from the index unless its key now holds another
// Resource (a replacement exits the value it replaced).
func (s *Store) forget(r *Resource) {
	if r == nil {
		return
	}
	s.mu.Lock()
	if s.index[r.key] == r {
		delete(s.index, r.key)
	}
	s.mu.Unlock()
}

// Get returns the Resource stored under key.
func (s *Store) Get(key string) (*Resource, bool) { return s.c.Get(key) }

// Set stores r under key with cost r.Cost() + KeyCost(key); ttl > 0 bounds how long
// ristretto keeps it (an eviction bound only: freshness is computed by
// Decide). It reports whether the write was accepted into the buffer.
// A ttl <= 0 sets no bound; a nil r is not stored. r must be new: a
// Resource is stored under one key only.
func (s *Store) Set(key string, r *Resource, ttl time.Duration) bool {
	if r == nil {
		return false
	}
	r.key = key
	s.mu.Lock()
	s.index[key] = r
	s.mu.Unlock()
	if !s.c.SetWithTTL(key, r, r.Cost()+KeyCost(key), max(ttl, 0)) {
		s.forget(r) // dropped: the write buffer was full
		return false
	}
	return true
}

// Delete removes key.
func (s *Store) Delete(key string) {
	s.c.Del(key)
	s.mu.Lock()
	delete(s.index, key)
	s.mu.Unlock()
}

// Purge removes the stored responses of key and reports whether there
// were any.
func (s *Store) Purge(key string) bool {
	s.mu.Lock()
	_, ok := s.index[key]
	s.mu.Unlock()
	s.Delete(key)
	return ok
}

// PurgePrefix removes every key that starts with prefix (a primary key
// such as "https://api.example.com/v1/") and returns how many went.
func (s *Store) PurgePrefix(prefix string) int {
	return s.purgeWhere(func(key string, _ *Resource) bool { return strings.HasPrefix(key, prefix) })
}

// PurgeTag removes every key with a variant whose field (such as
// Surrogate-Key) lists tag among its space-separated values, matched
// exactly, and returns how many went.
func (s *Store) PurgeTag(field, tag string) int {
	return s.purgeWhere(func(_ string, r *Resource) bool {
		for _, e := range r.Variants {
			for _, v := range e.Header.Values(field) {
				for t := range strings.FieldsSeq(v) {
					if t == tag {
						return true
					}
				}
			}
		}
		return false
	})
}

// purgeWhere deletes the indexed keys match selects.
func (s *Store) purgeWhere(match func(key string, r *Resource) bool) int {
	var keys []string
	s.mu.Lock()
	for k, r := range s.index {
		if match(k, r) {
			keys = append(keys, k)
		}
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.Delete(k)
	}
	return len(keys)
}

// Len returns how many keys the index holds: those ristretto holds, and
// writes it has not applied yet.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// Wait blocks until buffered writes are applied. For tests only.
func (s *Store) Wait() { s.c.Wait() }

// Metrics returns ristretto's counters (hits, misses, keys added/evicted,
// cost added/evicted, sets dropped/rejected), read at scrape time.
func (s *Store) Metrics() *ristretto.Metrics { return s.c.Metrics }

// MaxCost returns the configured capacity in bytes.
func (s *Store) MaxCost() int64 { return s.c.MaxCost() }

// Close stops ristretto's goroutines. The Store is unusable afterwards.
func (s *Store) Close() { s.c.Close() }
