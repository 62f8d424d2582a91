package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// printHeader records when, where and how the run was made.
func printHeader(out io.Writer, o *options, b *bench) {
	fmt.Fprintf(out, "cacheproxy load benchmark (bench/run)\n")
	fmt.Fprintf(out, "date:     %s\n", time.Now().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(out, "machine:  %s, %d cores (nproc), %s\n", cmdLine("uname", "-srm"), runtime.NumCPU(), cpuModel())
	fmt.Fprintf(out, "tools:    %s; %s; %s; %s\n", cmdLine("go", "version"), firstLine(cmdLine("nginx", "-v")),
		firstLine(cmdLine("haproxy", "-v")), firstLine(cmdLine("wrk", "-v")))
	rev := cmdLine("git", "-C", o.repo, "log", "-1", "--format=%h %cs %s")
	if len(rev) > 90 {
		rev = rev[:90] + "…"
	}
	dirty := cmdLine("git", "-C", o.repo, "status", "--porcelain", "--untracked-files=no")
	if dirty != "" {
		rev += " (+ uncommitted changes in the working tree)"
	}
	fmt.Fprintf(out, "proxy:    built from the working tree at %s\n", rev)
	fmt.Fprintf(out, "method:   servers (origin, proxy, nginx, haproxy, goproxy) pinned to CPU %s with taskset, wrk -t1 pinned to CPU %s;\n", serverCPU, clientCPU)
	fmt.Fprintf(out, "          wrk -t1 -c<conns> -d%v --latency per run, %d round(s), targets interleaved within each round;\n", o.duration, o.rounds)
	fmt.Fprintf(out, "          figures are medians over the rounds; hit endpoints are warmed up (2 requests) before each run;\n")
	fmt.Fprintf(out, "          the origin's request counter is read before and after each run (a hit must not reach it).\n\n")
}

func cmdLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return name + ": " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, " - ") // haproxy's banner after the version
	s = strings.TrimSuffix(strings.TrimSpace(s), "Copyright (C) 2012 Will Glozer")
	return strings.TrimSpace(s)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// fmtDur prints a latency like wrk does: 312us, 1.23ms, 1.50s.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// fmtInt prints n with thousands separators.
func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// spread is half the range of req/s over the rounds, relative to the median.
func spread(s summary) string {
	if s.runs < 2 || s.rps == 0 {
		return "-"
	}
	return fmt.Sprintf("±%.0f%%", 50*(s.rpsMax-s.rpsMin)/s.rps)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// reached is how many requests of a run reached the origin, and their share.
func reached(s summary) string {
	if s.requests == 0 {
		return fmtInt(s.originReqs)
	}
	pct := 100 * float64(s.originReqs) / float64(s.requests)
	switch {
	case s.originReqs == 0:
		return "0"
	case pct >= 99.5:
		return fmt.Sprintf("%s (100%%)", fmtInt(s.originReqs))
	default:
		return fmt.Sprintf("%s (%.2g%%)", fmtInt(s.originReqs), pct)
	}
}

// notCached reports whether a cache let more than 1% of a hit endpoint's
// requests through to the origin in some run.
func notCached(k runKey, s summary) bool {
	return k.target != "origin" && k.endpoint != missEndpoint && float64(s.originMax) > 0.01*float64(max(s.requests, 1))
}

// busyOther is the CPU (in cores) taken by other processes during a run
// above which its figures are flagged as disturbed.
const busyOther = 0.15

// flags are the warnings about a cell's runs.
func flags(s summary) string {
	var f []string
	if s.errors > 0 {
		f = append(f, fmtInt(s.errors)+" errors")
	}
	if s.wrkCPU >= 0.95 {
		f = append(f, "client-limited") // wrk's core is saturated: the server may have more to give
	}
	if s.otherCPU > busyOther {
		f = append(f, "BUSY MACHINE")
	}
	if s.retried > 0 {
		f = append(f, fmt.Sprintf("(%d run(s) repeated)", s.retried))
	}
	return strings.Join(f, " ")
}

// report prints one table per connection count, then the proxy's ratios.
func (b *bench) report(res map[runKey][]result) {
	b.medians = make(map[runKey]summary, len(res))
	for k, rs := range res {
		b.medians[k] = summarize(rs)
	}
	out := b.out
	for _, conns := range b.opts.conns {
		fmt.Fprintf(out, "== %d connection(s): wrk -t1 -c%d -d%v --latency, median of %d round(s) ==\n",
			conns, conns, b.opts.duration, b.opts.rounds)
		fmt.Fprintf(out, "%-9s %-8s %10s %5s %9s %9s %8s %20s %7s %6s %6s\n",
			"endpoint", "target", "req/s", "±", "p50", "p99", "×origin", "origin reqs/run", "wrk cpu", "cpu1", "other")
		var notes []string
		for _, ep := range b.opts.endpoints {
			originS, haveOrigin := b.medians[runKey{conns, ep, "origin"}]
			for i, t := range b.targets {
				if !measured(t.name, ep) {
					continue
				}
				k := runKey{conns, ep, t.name}
				s := b.medians[k]
				label := ""
				if i == 0 {
					label = ep
				}
				x := "n/a"
				if haveOrigin {
					x = ratio(s.rps, originS.rps)
				}
				flag := ""
				if notCached(k, s) {
					flag = "NOT CACHED"
					why := ""
					if t.name == "haproxy" && ep == "/204" {
						why = " (HAProxy's cache stores 200 responses only: configuration.txt, 6.1 \"Limitation\")"
					}
					notes = append(notes, fmt.Sprintf("%s did not answer %s from its cache%s: %s requests per run reached the origin (at most %s in one run).",
						t.name, ep, why, fmtInt(s.originReqs), fmtInt(s.originMax)))
				}
				flag = strings.TrimSpace(flag + " " + flags(s))
				fmt.Fprintf(out, "%-9s %-8s %10s %5s %9s %9s %8s %20s %6.0f%% %5.0f%% %6.2f %s\n",
					label, t.name, fmtInt(int64(s.rps+0.5)), spread(s), fmtDur(s.p50), fmtDur(s.p99), x, reached(s),
					100*s.wrkCPU, 100*s.srvCPU, s.otherCPU, flag)
			}
		}
		if contains(b.opts.endpoints, missEndpoint) {
			notes = append(notes, missEndpoint+" is the miss path: every request reaches the origin, which runs on CPU "+serverCPU+
				" too, so the server under test and the origin share that core (the origin row is the origin alone).")
		}
		for _, n := range notes {
			fmt.Fprintf(out, "  note: %s\n", n)
		}
		fmt.Fprintln(out)
		b.reportVersus(conns)
		b.reportGoProxy(conns)
	}
	fmt.Fprintf(out, "columns: ± = half the range of req/s over the rounds, relative to the median;\n")
	fmt.Fprintf(out, "         origin reqs/run = requests that reached the origin during a run (median), and their share of the run's requests;\n")
	fmt.Fprintf(out, "         wrk cpu = wrk's CPU time / wall time (at 95%% and above, flagged client-limited: CPU %s is saturated, the figure is a lower bound); cpu1 = busy share of CPU %s (the servers);\n", clientCPU, serverCPU)
	fmt.Fprintf(out, "         other = cores used by anything but wrk and the servers during a run (most in any round; BUSY MACHINE above %.2f,\n"+
		"         such a run is repeated up to -retries times after a %v wait and the least disturbed attempt kept).\n\n", busyOther, retryWait)
}

// reportVersus prints the proxy's ratios to nginx and HAProxy.
func (b *bench) reportVersus(conns int) {
	if !contains(b.opts.targets, "proxy") {
		return
	}
	var others []string
	for _, o := range []string{"nginx", "haproxy"} {
		if contains(b.opts.targets, o) {
			others = append(others, o)
		}
	}
	if len(others) == 0 {
		return
	}
	out := b.out
	fmt.Fprintf(out, "proxy vs (%d connection(s)); req/s: higher is better for the proxy, p50/p99: lower is\n", conns)
	fmt.Fprintf(out, "%-9s", "endpoint")
	for _, o := range others {
		fmt.Fprintf(out, " %14s %12s %12s", "req/s ÷"+o, "p50 ÷"+o, "p99 ÷"+o)
	}
	fmt.Fprintln(out)
	for _, ep := range b.opts.endpoints {
		p := b.medians[runKey{conns, ep, "proxy"}]
		fmt.Fprintf(out, "%-9s", ep)
		for _, o := range others {
			k := runKey{conns, ep, o}
			s := b.medians[k]
			mark := " "
			if notCached(k, s) {
				mark = "*"
			}
			fmt.Fprintf(out, " %13s%s %12s %12s", ratio(p.rps, s.rps), mark,
				ratio(float64(p.p50), float64(s.p50)), ratio(float64(p.p99), float64(s.p99)))
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "  (* the other server did not cache this endpoint: its figure is a miss path)\n\n")
}

// reportGoProxy prints the proxy's miss path against goproxy's.
func (b *bench) reportGoProxy(conns int) {
	p, okP := b.medians[runKey{conns, missEndpoint, "proxy"}]
	g, okG := b.medians[runKey{conns, missEndpoint, "goproxy"}]
	if okP && okG && g.rps > 0 {
		fmt.Fprintf(b.out, "miss path, %d connection(s): proxy ÷ goproxy (a bare httputil.ReverseProxy): req/s %s, p50 %s, p99 %s\n\n", conns,
			ratio(p.rps, g.rps), ratio(float64(p.p50), float64(g.p50)), ratio(float64(p.p99), float64(g.p99)))
	}
}

// reportTargets checks the targets of issue 5, item 2 on the medians.
func (b *bench) reportTargets() {
	if b.medians == nil || !contains(b.opts.targets, "proxy") || !contains(b.opts.targets, "nginx") {
		return
	}
	out := b.out
	fmt.Fprintf(out, "== targets (issue 5, item 2), on the medians of this run ==\n")
	check := func(ok bool, format string, args ...any) {
		mark := "FAIL"
		if ok {
			mark = "ok  "
		}
		fmt.Fprintf(out, "  %s %s\n", mark, fmt.Sprintf(format, args...))
	}
	for _, ep := range b.opts.endpoints {
		p, okP := b.medians[runKey{64, ep, "proxy"}]
		n, okN := b.medians[runKey{64, ep, "nginx"}]
		if !okP || !okN || n.rps == 0 {
			continue
		}
		r := p.rps / n.rps
		if ep == missEndpoint {
			check(r >= 0.5, "miss %s at 64 connections: proxy %.2f× nginx req/s (target ≥ 0.5)", ep, r)
			if g, ok := b.medians[runKey{64, ep, "goproxy"}]; ok && g.rps > 0 {
				check(p.rps >= g.rps, "miss %s at 64 connections: proxy %.2f× a bare httputil.ReverseProxy's req/s (no slower than a minimal net/http proxy)", ep, p.rps/g.rps)
			}
		} else {
			check(r >= 1.0, "hit %s at 64 connections: proxy %.2f× nginx req/s (target ≥ 1.0)", ep, r)
		}
	}
	for _, ep := range b.opts.endpoints {
		p, okP := b.medians[runKey{1, ep, "proxy"}]
		n, okN := b.medians[runKey{1, ep, "nginx"}]
		if ep == missEndpoint || !okP || !okN || n.p99 == 0 {
			continue
		}
		r := float64(p.p99) / float64(n.p99)
		check(r <= 1.2, "hit %s at 1 connection: proxy p99 %s = %.2f× nginx's %s (target ≤ 1.2)", ep, fmtDur(p.p99), r, fmtDur(n.p99))
	}
	for _, ep := range b.opts.endpoints {
		for _, conns := range b.opts.conns {
			p, ok := b.medians[runKey{conns, ep, "proxy"}]
			if ok && ep != missEndpoint {
				check(!notCached(runKey{conns, ep, "proxy"}, p), "hit %s at %d connection(s): %s requests per run reached the origin (at most %s)",
					ep, conns, fmtInt(p.originReqs), fmtInt(p.originMax))
			}
		}
	}
	if b.keysRatio > 0 {
		check(b.keysRatio >= 0.85, "hits over %s keys: %.2f× the single-key throughput (target ≥ 0.85)", fmtInt(int64(b.opts.keys)), b.keysRatio)
	}
	fmt.Fprintln(out)
}

// reportRSS prints the peak RSS (VmHWM) of every server process, read now,
// at the end of the run.
func (b *bench) reportRSS() {
	out := b.out
	fmt.Fprintf(out, "== peak RSS (VmHWM at the end of the run) ==\n")
	fmt.Fprintf(out, "%-10s %-20s %8s %10s\n", "target", "process", "pid", "VmHWM")
	for _, p := range b.procs {
		ms, err := p.peakRSS()
		if err != nil {
			fmt.Fprintf(out, "%-10s %v\n", p.name, err)
			continue
		}
		var total int64
		for _, m := range ms {
			total += m.hwmKB
			fmt.Fprintf(out, "%-10s %-20s %8d %7.1f MiB\n", m.target, m.comm, m.pid, float64(m.hwmKB)/1024)
		}
		if len(ms) > 1 {
			fmt.Fprintf(out, "%-10s %-20s %8s %7.1f MiB\n", p.name, "(sum)", "", float64(total)/1024)
		}
	}
	fmt.Fprintln(out)
}
