package main

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// runKey names one cell of the matrix.
type runKey struct {
	conns    int
	endpoint string
	target   string
}

// pause between two runs lets closed connections settle.
const pause = 300 * time.Millisecond

func (b *bench) runCount() int {
	n := 0
	for _, ep := range b.opts.endpoints {
		for _, t := range b.targets {
			if measured(t.name, ep) {
				n++
			}
		}
	}
	return b.opts.rounds * len(b.opts.conns) * n
}

func (b *bench) estimate() time.Duration {
	return time.Duration(b.runCount()) * (b.opts.duration + pause + 100*time.Millisecond)
}

// runMatrix runs every target on every endpoint at every connection count,
// once per round. Within a round the targets take turns on each endpoint,
// starting with a different one each round so that no target always runs
// first (or right after the same neighbour).
func (b *bench) runMatrix(ctx context.Context) (map[runKey][]result, error) {
	res := make(map[runKey][]result)
	n, total := 0, b.runCount()
	for round := 0; round < b.opts.rounds; round++ {
		for _, conns := range b.opts.conns {
			for _, ep := range b.opts.endpoints {
				for i := range b.targets {
					t := b.targets[(i+round)%len(b.targets)]
					if !measured(t.name, ep) {
						continue
					}
					n++
					r, err := b.measure(ctx, t, ep, conns)
					if err != nil {
						return nil, fmt.Errorf("round %d, %d connections, %s %s: %w", round+1, conns, t.name, ep, err)
					}
					k := runKey{conns, ep, t.name}
					res[k] = append(res[k], r)
					fmt.Fprintf(b.progress, "[%3d/%d] round %d  c=%-3d %-9s %-8s %9.0f req/s  p50 %-9s p99 %-9s origin +%-7d other cpu %.2f%s\n",
						n, total, round+1, conns, ep, t.name, r.rps, fmtDur(r.p50), fmtDur(r.p99), r.originReqs, r.otherCPU, errSuffix(r))
				}
			}
		}
	}
	return res, nil
}

func errSuffix(r result) string {
	if r.errors == 0 {
		return ""
	}
	return "  ERRORS: " + r.errText
}

// measure is one wrk run of t on ep. On a hit endpoint a cache is warmed
// up first.
func (b *bench) measure(ctx context.Context, t *target, ep string, conns int) (result, error) {
	warm := ""
	if ep != missEndpoint && t.name != "origin" {
		warm = t.url + ep
	}
	return b.runCounted(ctx, wrkRun{url: t.url + ep, conns: conns, duration: b.opts.duration}, warm)
}

// runCounted runs w, after requesting warm twice (unless it is ""), with the
// origin's request count read before and after. A run during which other
// processes took more than busyOther cores is run again, up to -retries
// times, after a wait; the least disturbed attempt is kept.
func (b *bench) runCounted(ctx context.Context, w wrkRun, warm string) (result, error) {
	w.ours = b.ours
	var best result
	for attempt := 1; ; attempt++ {
		if warm != "" {
			if err := b.warmUp(warm); err != nil {
				return result{}, err
			}
		}
		before, err := b.originCount()
		if err != nil {
			return result{}, err
		}
		r, err := runWrk(ctx, w)
		if err != nil {
			return result{}, err
		}
		after, err := b.originCount()
		if err != nil {
			return result{}, err
		}
		r.originReqs = after - before
		if attempt == 1 || r.otherCPU < best.otherCPU {
			best = r
		}
		best.attempts = attempt
		wait := pause
		done := r.otherCPU <= busyOther || attempt > b.opts.retries
		if !done {
			wait = retryWait
			fmt.Fprintf(b.progress, "        disturbed: other processes took %.2f cores during %s (%.0f req/s); again in %v\n",
				r.otherCPU, w.url, r.rps, retryWait)
		}
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(wait):
		}
		if done {
			return best, nil
		}
	}
}

// retryWait is the wait before running a disturbed run again.
const retryWait = 3 * time.Second

// summary is the median over the rounds of one cell.
type summary struct {
	rps            float64
	rpsMin, rpsMax float64
	p50, p99       time.Duration
	wrkCPU, srvCPU float64
	otherCPU       float64 // the most in any run
	retried        int     // runs made again because others disturbed them
	originReqs     int64   // median per run
	originMax      int64   // most in any run
	requests       int64   // median per run
	errors         int64   // over all runs
	runs           int
}

func summarize(rs []result) summary {
	s := summary{runs: len(rs)}
	for i, r := range rs {
		if i == 0 || r.rps < s.rpsMin {
			s.rpsMin = r.rps
		}
		s.rpsMax = max(s.rpsMax, r.rps)
	}
	s.rps = median(rs, func(r result) float64 { return r.rps })
	s.p50 = time.Duration(median(rs, func(r result) float64 { return float64(r.p50) }))
	s.p99 = time.Duration(median(rs, func(r result) float64 { return float64(r.p99) }))
	s.wrkCPU = median(rs, func(r result) float64 { return r.wrkCPU })
	s.srvCPU = median(rs, func(r result) float64 { return r.serverCPU })
	s.originReqs = int64(median(rs, func(r result) float64 { return float64(r.originReqs) }))
	s.requests = int64(median(rs, func(r result) float64 { return float64(r.requests) }))
	for _, r := range rs {
		s.errors += r.errors
		s.originMax = max(s.originMax, r.originReqs)
		s.otherCPU = max(s.otherCPU, r.otherCPU)
		s.retried += r.attempts - 1
	}
	return s
}

// median of f over rs; the mean of the two middle values for an even count.
func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
