package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeStats is a StoreStats with fixed answers.
type fakeStats struct {
	m       *ristretto.Metrics
	maxCost int64
}

func (f fakeStats) Metrics() *ristretto.Metrics { return f.m }
func (f fakeStats) MaxCost() int64              { return f.maxCost }

const storeHeader = `
# HELP cacheproxy_cache_bytes Approximate size of the cache's entries in bytes (cost added minus cost evicted).
# TYPE cacheproxy_cache_bytes gauge
cacheproxy_cache_bytes %d
# HELP cacheproxy_cache_capacity_bytes Configured capacity of the in-memory cache, in bytes of stored responses.
# TYPE cacheproxy_cache_capacity_bytes gauge
cacheproxy_cache_capacity_bytes %d
# HELP cacheproxy_cache_entries Approximate number of entries in the cache (keys added minus keys evicted).
# TYPE cacheproxy_cache_entries gauge
cacheproxy_cache_entries %d
# HELP cacheproxy_cache_evictions_total Entries removed from the cache: evicted to make room, expired or deleted.
# TYPE cacheproxy_cache_evictions_total counter
cacheproxy_cache_evictions_total %d
# HELP cacheproxy_cache_insertions_total New keys added to the cache (a write replacing a stored key is not counted).
# TYPE cacheproxy_cache_insertions_total counter
cacheproxy_cache_insertions_total %d
# HELP cacheproxy_cache_sets_dropped_total Cache writes dropped because the write buffer was full.
# TYPE cacheproxy_cache_sets_dropped_total counter
cacheproxy_cache_sets_dropped_total %d
# HELP cacheproxy_cache_sets_rejected_total Cache writes refused by the admission policy.
# TYPE cacheproxy_cache_sets_rejected_total counter
cacheproxy_cache_sets_rejected_total %d
`

func TestStoreCollectorNilMetrics(t *testing.T) {
	t.Parallel()
	c := NewStoreCollector(fakeStats{maxCost: 256 << 20})
	want := fmt.Sprintf(storeHeader, 0, 256<<20, 0, 0, 0, 0, 0)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestStoreCollectorReadsAtScrapeTime(t *testing.T) {
	t.Parallel()
	rc, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters: 1000,
		MaxCost:     100,
		BufferItems: 64,
		Metrics:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	c := NewStoreCollector(fakeStats{m: rc.Metrics, maxCost: rc.MaxCost()})

	if err := testutil.CollectAndCompare(c, strings.NewReader(fmt.Sprintf(storeHeader, 0, 100, 0, 0, 0, 0, 0))); err != nil {
		t.Errorf("empty cache: %v", err)
	}

	// Fill past capacity and delete one key, so that every counter moves.
	for i := range 40 {
		rc.Set(fmt.Sprint("k", i), nil, 10)
		rc.Wait()
	}
	rc.Del("k0")
	rc.Wait()

	m := rc.Metrics
	if m.KeysEvicted() == 0 {
		t.Fatalf("KeysEvicted = 0 after overfilling; the test does not exercise evictions")
	}
	want := fmt.Sprintf(storeHeader,
		m.CostAdded()-m.CostEvicted(), 100, m.KeysAdded()-m.KeysEvicted(),
		m.KeysEvicted(), m.KeysAdded(), m.SetsDropped(), m.SetsRejected())
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Errorf("after filling: %v", err)
	}
	if got := m.CostAdded() - m.CostEvicted(); got > 100 {
		t.Errorf("cache_bytes = %d; want <= capacity 100", got)
	}
}

func TestStoreCollectorRegistersOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewStoreCollector(fakeStats{})); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := reg.Register(NewStoreCollector(fakeStats{})); err == nil {
		t.Error("registering a second store collector = nil; want an error")
	}
}

func TestFlooredDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b uint64
		want float64
	}{
		{10, 3, 7},
		{3, 3, 0},
		{3, 10, 0},
		{0, 0, 0},
	}
	for _, tt := range tests {
		if got := flooredDiff(tt.a, tt.b); got != tt.want {
			t.Errorf("flooredDiff(%d, %d) = %g; want %g", tt.a, tt.b, got, tt.want)
		}
	}
}
