package metrics

import (
	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats is what the store collector reads at scrape time. *cache.Store
// satisfies it.
type StoreStats interface {
	// Metrics returns ristretto's counters. Nil is allowed and reads as
	// all zeros.
	Metrics() *ristretto.Metrics
	// MaxCost returns the store's capacity in bytes.
	MaxCost() int64
}

var _ StoreStats = (*cache.Store)(nil)

// storeCollector exports a StoreStats as const metrics built at scrape time,
// so no goroutine polls the store. It is safe for concurrent use if the
// StoreStats is.
type storeCollector struct {
	s StoreStats

	capacity     *prometheus.Desc
	entries      *prometheus.Desc
	bytes        *prometheus.Desc
	insertions   *prometheus.Desc
	evictions    *prometheus.Desc
	setsDropped  *prometheus.Desc
	setsRejected *prometheus.Desc
}

// NewStoreCollector returns a collector that reads s each time it is
// scraped and exports:
//
//   - cacheproxy_cache_capacity_bytes: s.MaxCost().
//   - cacheproxy_cache_entries: keys added minus keys evicted, floored at
//     0. It is approximate: ristretto's counters are sharded and read one
//     after another, not as a snapshot, and writes still in its buffer are
//     not counted.
//   - cacheproxy_cache_bytes: cost added minus cost evicted, floored at 0;
//     approximate in the same way.
//   - cacheproxy_cache_insertions_total: new keys ristretto applied to the
//     cache (replacing a stored key counts no insertion). Writes are
//     applied asynchronously; an entry is visible once it is counted here.
//   - cacheproxy_cache_evictions_total: keys removed from the cache, which
//     ristretto counts alike whether they made room for another entry,
//     expired or were deleted.
//   - cacheproxy_cache_sets_dropped_total: writes dropped because
//     ristretto's write buffer was full.
//   - cacheproxy_cache_sets_rejected_total: writes refused by ristretto's
//     admission policy.
//
// Register the result on the same Registerer as [New].
func NewStoreCollector(s StoreStats) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "cache", name), help, nil, nil)
	}
	return &storeCollector{
		s:            s,
		capacity:     desc("capacity_bytes", "Configured capacity of the in-memory cache, in bytes of stored responses."),
		entries:      desc("entries", "Approximate number of entries in the cache (keys added minus keys evicted)."),
		bytes:        desc("bytes", "Approximate size of the cache's entries in bytes (cost added minus cost evicted)."),
		insertions:   desc("insertions_total", "New keys added to the cache (a write replacing a stored key is not counted)."),
		evictions:    desc("evictions_total", "Entries removed from the cache: evicted to make room, expired or deleted."),
		setsDropped:  desc("sets_dropped_total", "Cache writes dropped because the write buffer was full."),
		setsRejected: desc("sets_rejected_total", "Cache writes refused by the admission policy."),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.capacity
	ch <- c.entries
	ch <- c.bytes
	ch <- c.insertions
	ch <- c.evictions
	ch <- c.setsDropped
	ch <- c.setsRejected
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.Metrics() // ristretto's getters return 0 on a nil *Metrics
	ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, float64(c.s.MaxCost()))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, flooredDiff(m.KeysAdded(), m.KeysEvicted()))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, flooredDiff(m.CostAdded(), m.CostEvicted()))
	ch <- prometheus.MustNewConstMetric(c.insertions, prometheus.CounterValue, float64(m.KeysAdded()))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(m.KeysEvicted()))
	ch <- prometheus.MustNewConstMetric(c.setsDropped, prometheus.CounterValue, float64(m.SetsDropped()))
	ch <- prometheus.MustNewConstMetric(c.setsRejected, prometheus.CounterValue, float64(m.SetsRejected()))
}

// flooredDiff returns a-b, or 0 when b > a (the counters are read one after
// the other, not as a snapshot).
func flooredDiff(a, b uint64) float64 {
	if b > a {
		return 0
	}
	return float64(a - b)
}
