// Package cache decides what a shared HTTP cache may store and when a stored
// response may be reused, following RFC 9111 (HTTP Caching) and RFC 5861
// (stale-while-revalidate, stale-if-error).
//
// It holds cache keys and Vary matching (key.go, vary.go), Cache-Control
// parsing (cachecontrol.go), storability (storable.go), freshness and age
// (freshness.go), entity-tags (etag.go), stored responses (entry.go) and the
// memory-bounded [Store] backed by ristretto (store.go).
//
// Everything here except [Store] is a pure function of its arguments: the
// current time is always passed in as now. The package never logs and knows
// nothing of routes or metrics.
package cache
