package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	const out = `Running 1s test @ http://127.0.0.1:18085/nocache
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    83.81us  238.64us   4.88ms   97.82%
    Req/Sec    63.63k     3.94k   69.52k    81.82%
  Latency Distribution
     50%   52.00us
     75%   77.00us
     90%  101.00us
     99%    1.50ms
  69424 requests in 1.10s, 77.26MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  63147.06
Transfer/sec:     70.28MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatalf("parseWrk: %v", err)
	}
	if r.rps != 63147.06 {
		t.Errorf("rps = %v; want 63147.06", r.rps)
	}
	if r.p50 != 52*time.Microsecond {
		t.Errorf("p50 = %v; want 52µs", r.p50)
	}
	if r.p99 != 1500*time.Microsecond {
		t.Errorf("p99 = %v; want 1.5ms", r.p99)
	}
	if r.requests != 69424 {
		t.Errorf("requests = %d; want 69424", r.requests)
	}
	if r.errors != 10 {
		t.Errorf("errors = %d; want 10 (7 non-2xx/3xx, 3 socket)", r.errors)
	}
	if _, err := parseWrk("Running 1s test\n"); err == nil {
		t.Errorf("parseWrk(no report) = nil error; want one")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	rps := func(v ...float64) []result {
		rs := make([]result, len(v))
		for i, x := range v {
			rs[i].rps = x
		}
		return rs
	}
	get := func(r result) float64 { return r.rps }
	for _, tc := range []struct {
		in   []result
		want float64
	}{
		{rps(3, 1, 2), 2},
		{rps(4, 1, 3, 2), 2.5},
		{rps(7), 7},
		{nil, 0},
	} {
		if got := median(tc.in, get); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}
