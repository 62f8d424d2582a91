package cache

import (
	"fmt"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// StoreOptions configures a Store.
type StoreOptions struct {
	// MaxBytes is the capacity: the sum of stored Resource costs
	// (Resource.Cost) ristretto keeps below. Required, > 0.
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
	c, err := ristretto.NewCache(&ristretto.Config[string, *Resource]{
		NumCounters: 10 * n,
		MaxCost:     o.MaxBytes,
		BufferItems: 64,
		Metrics:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: new ristretto cache: %w", err)
	}
	return &Store{c: c}, nil
}

// Get returns the Resource stored under key.
func (s *Store) Get(key string) (*Resource, bool) { return s.c.Get(key) }

// Set stores r under key with cost r.Cost(); ttl > 0 bounds how long
// ristretto keeps it (an eviction bound only: freshness is computed by
// Decide). It reports whether the write was accepted into the buffer.
// A ttl <= 0 sets no bound; a nil r is not stored.
func (s *Store) Set(key string, r *Resource, ttl time.Duration) bool {
	if r == nil {
		return false
	}
	return s.c.SetWithTTL(key, r, r.Cost(), max(ttl, 0))
}

// Delete removes key.
func (s *Store) Delete(key string) { s.c.Del(key) }

// Wait blocks until buffered writes are applied. For tests only.
func (s *Store) Wait() { s.c.Wait() }

// Metrics returns ristretto's counters (hits, misses, keys added/evicted,
// cost added/evicted, sets dropped/rejected), read at scrape time.
func (s *Store) Metrics() *ristretto.Metrics { return s.c.Metrics }

// MaxCost returns the configured capacity in bytes.
func (s *Store) MaxCost() int64 { return s.c.MaxCost() }

// Close stops ristretto's goroutines. The Store is unusable afterwards.
func (s *Store) Close() { s.c.Close() }
