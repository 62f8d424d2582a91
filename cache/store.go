package cache

import (
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// StoreOptions configures a Store.
type StoreOptions struct {
	// MaxBytes is the capacity: the sum of stored Resource costs
	// (Resource.Cost) ristretto keeps below. Required, > 0.
	MaxBytes int64
	// ExpectedEntries sizes ristretto's admission counters (NumCounters is
	// ten times it). Zero means MaxBytes / 4096, at least 1000.
	ExpectedEntries int64
}

// Store is the memory-bounded map from primary key to Resource, backed by
// ristretto with cost = bytes. It is safe for concurrent use. Set is
// asynchronous and may drop an item (ristretto's admission policy): a
// caller never assumes a write is visible.
type Store struct {
	c *ristretto.Cache[string, *Resource]
}

// NewStore validates o and builds a Store.
func NewStore(o StoreOptions) (*Store, error) { panic("TODO") }

// Get returns the Resource stored under key.
func (s *Store) Get(key string) (*Resource, bool) { panic("TODO") }

// Set stores r under key with cost r.Cost(); ttl > 0 bounds how long
// ristretto keeps it (an eviction bound only: freshness is computed by
// Decide). It reports whether the write was accepted into the buffer.
func (s *Store) Set(key string, r *Resource, ttl time.Duration) bool { panic("TODO") }

// Delete removes key.
func (s *Store) Delete(key string) { panic("TODO") }

// Wait blocks until buffered writes are applied. For tests only.
func (s *Store) Wait() { panic("TODO") }

// Metrics returns ristretto's counters (hits, misses, keys added/evicted,
// cost added/evicted, sets dropped/rejected), read at scrape time.
func (s *Store) Metrics() *ristretto.Metrics { panic("TODO") }

// MaxCost returns the configured capacity in bytes.
func (s *Store) MaxCost() int64 { panic("TODO") }

// Close stops ristretto's goroutines. The Store is unusable afterwards.
func (s *Store) Close() { panic("TODO") }
