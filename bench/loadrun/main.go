// Command loadrun is the side-by-side load benchmark behind bench/run.
//
// It builds the proxy and the origin from the working tree, starts the
// origin, the proxy, nginx (proxy_cache) and HAProxy (cache) on 127.0.0.1,
// every server pinned to CPU 1, and measures each of them, and the origin
// alone as the baseline, with wrk pinned to CPU 0 (one thread), at 64
// connections and at 1, over several rounds with the targets interleaved.
// It prints the medians (req/s, p50, p99), each target's ratio to the
// origin, the proxy's ratios to nginx and HAProxy, how many requests of
// each run reached the origin (a hit must not), and the peak RSS of every
// server process. With -keys N it also fills a fresh proxy with N distinct
// keys and compares hit throughput over them with a single key.
//
// Every process it starts runs in a process group of its own and is stopped
// when the benchmark ends, fails or is interrupted; the temporary directory
// (binaries, configurations, nginx's cache, logs) is removed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options is the command line.
type options struct {
	duration     time.Duration // -duration: of one wrk run
	rounds       int           // -rounds
	conns        []int         // -conns
	endpoints    []string      // -endpoints
	targets      []string      // -targets
	keys         int           // -keys: 0 skips the many-keys phase
	keysOnly     bool          // -keys-only
	warm         time.Duration // -warm: cap on the many-keys fill
	keysDuration time.Duration // -keys-duration
	retries      int           // -retries
	repo         string        // -repo
}

// allEndpoints are the endpoints of bench/origin measured; all but
// missEndpoint are hits once a cache holds them.
func allEndpoints() []string { return []string{"/204", "/200-1k", "/200-64k", missEndpoint} }

// allTargets are the servers measured, the origin alone included.
// goproxy, a bare httputil.ReverseProxy, is measured on the miss path only.
func allTargets() []string { return []string{"origin", "proxy", "nginx", "haproxy", "goproxy"} }

// measured reports whether target runs on endpoint: goproxy caches
// nothing, so it runs on the miss endpoint only.
func measured(target, endpoint string) bool { return target != "goproxy" || endpoint == missEndpoint }

const missEndpoint = "/nocache"

func main() {
	opts, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func parseOptions(args []string, usage io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadrun", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintf(usage, "Usage: bench/run [flags]\n\n"+
			"Runs the side-by-side load benchmark (origin, proxy, nginx, haproxy, goproxy on CPU %s; wrk on CPU %s)\n"+
			"and prints the tables on standard output. Run bench/setup once first.\n\nFlags:\n", serverCPU, clientCPU)
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one wrk run (whole seconds)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each round runs every target once per endpoint and connection count")
	conns := fs.String("conns", "64,1", "comma-separated wrk connection counts")
	endpoints := fs.String("endpoints", strings.Join(allEndpoints(), ","), "comma-separated endpoints")
	targets := fs.String("targets", strings.Join(allTargets(), ","), "comma-separated targets")
	fs.IntVar(&o.keys, "keys", 0, "also measure hits over this many distinct keys (/204?k=N) against one key, on a fresh proxy; 0 skips it")
	fs.BoolVar(&o.keysOnly, "keys-only", false, "run only the -keys phase")
	fs.DurationVar(&o.keysDuration, "keys-duration", 10*time.Second, "length of one wrk run in the -keys phase (a filled heap makes the Go GC cycles long: short runs are noisy)")
	fs.DurationVar(&o.warm, "warm", 2*time.Minute, "cap on the time spent filling the cache with -keys keys")
	fs.IntVar(&o.retries, "retries", 3, "run again, up to this many times, a run during which other processes took more than 0.15 cores")
	fs.StringVar(&o.repo, "repo", ".", "root of the cacheproxy module (built from its working tree)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var problems []error
	if o.duration < time.Second || o.duration%time.Second != 0 {
		problems = append(problems, fmt.Errorf("-duration %v: want whole seconds, at least 1s", o.duration))
	}
	if o.rounds < 1 {
		problems = append(problems, fmt.Errorf("-rounds %d: want at least 1", o.rounds))
	}
	for _, s := range splitList(*conns) {
		var n int
		if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 1 || fmt.Sprint(n) != s {
			problems = append(problems, fmt.Errorf("-conns: %q is not a positive integer", s))
			continue
		}
		o.conns = append(o.conns, n)
	}
	o.endpoints = splitList(*endpoints)
	for _, e := range o.endpoints {
		if !contains(allEndpoints(), e) {
			problems = append(problems, fmt.Errorf("-endpoints: %q is not one of %s", e, strings.Join(allEndpoints(), ", ")))
		}
	}
	o.targets = splitList(*targets)
	for _, t := range o.targets {
		if !contains(allTargets(), t) {
			problems = append(problems, fmt.Errorf("-targets: %q is not one of %s", t, strings.Join(allTargets(), ", ")))
		}
	}
	if o.retries < 0 {
		problems = append(problems, fmt.Errorf("-retries %d: want 0 or more", o.retries))
	}
	if o.keys < 0 {
		problems = append(problems, fmt.Errorf("-keys %d: want 0 or more", o.keys))
	}
	if o.keysOnly && o.keys == 0 {
		problems = append(problems, errors.New("-keys-only needs -keys N"))
	}
	if o.keysDuration < time.Second || o.keysDuration%time.Second != 0 {
		problems = append(problems, fmt.Errorf("-keys-duration %v: want whole seconds, at least 1s", o.keysDuration))
	}
	if o.warm < time.Second || o.warm%time.Second != 0 {
		problems = append(problems, fmt.Errorf("-warm %v: want whole seconds, at least 1s", o.warm))
	}
	if !o.keysOnly && (len(o.conns) == 0 || len(o.endpoints) == 0 || len(o.targets) == 0) {
		problems = append(problems, errors.New("nothing to measure: -conns, -endpoints and -targets must not be empty"))
	}
	return o, errors.Join(problems...)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// run sets up the temporary directory and the servers, runs the phases and
// prints the report on out; progress goes to progress. Everything it starts
// is stopped, and the directory removed, before it returns.
func run(ctx context.Context, o *options, out, progress io.Writer) (err error) {
	if err := checkTools(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cacheproxy-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b := &bench{opts: o, dir: dir, out: out, progress: progress, client: newClient()}
	defer b.stopAll()

	fmt.Fprintf(progress, "building the proxy and the origin from %s\n", o.repo)
	if err := b.build(ctx); err != nil {
		return err
	}
	printHeader(out, o, b)

	origin, err := b.startOrigin(ctx)
	if err != nil {
		return err
	}
	b.origin = origin

	if !o.keysOnly {
		if err := b.startTargets(ctx); err != nil {
			return err
		}
		fmt.Fprintf(progress, "%d runs of %v each (about %v)\n", b.runCount(), o.duration, b.estimate().Round(time.Second))
		res, err := b.runMatrix(ctx)
		if err != nil {
			return err
		}
		b.report(res)
	}
	if o.keys > 0 {
		kr, err := b.runKeys(ctx)
		if err != nil {
			return err
		}
		b.reportKeys(kr)
	}
	if !o.keysOnly {
		b.reportTargets()
	}
	b.reportRSS()
	return nil
}
