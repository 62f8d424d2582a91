// Command memrun measures cacheproxy's memory bound. It starts
// bench/origin and the proxy (both built from this checkout) with
// cache.max_bytes set to -max-bytes, writes -factor times that through
// the proxy in distinct objects whose sizes cycle from a 204 to 1 MiB,
// and keeps asking for a small hot set meanwhile. It prints the proxy's
// RSS (baseline, sampled, peak) against the bound 1.5 × max_bytes +
// baseline, the evictions the proxy counted, and the hot set's hit ratio
// over the run.
//
//	go run ./bench/memrun                    # 64 MiB cache, 10× written
//	go run ./bench/memrun -memory-limit 160MiB
//
// All traffic goes to 127.0.0.1; the run is bounded by -timeout.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	maxMiB := flag.Int64("max-bytes-mib", 64, "cache.max_bytes, in MiB")
	factor := flag.Int64("factor", 10, "write this many times max_bytes through the proxy")
	hot := flag.Int("hot", 50, "size of the hot set (1 KiB objects asked for throughout)")
	workers := flag.Int("workers", 8, "concurrent clients")
	memLimit := flag.String("memory-limit", "0", "runtime.memory_limit for the proxy (e.g. 160MiB); 0 leaves Go's default")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *maxMiB<<20, *factor, *hot, *workers, *memLimit); err != nil {
		fmt.Fprintln(os.Stderr, "memrun:", err)
		os.Exit(1)
	}
}

// sizes returns the object sizes the workload cycles through; 0 is a 204.
func sizes() [6]int64 { return [6]int64{0, 1 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20} }

func run(ctx context.Context, maxBytes, factor int64, hot, workers int, memLimit string) error {
	dir, err := os.MkdirTemp("", "memrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, pkg := range []string{"cmd/proxy", "bench/origin"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, filepath.Base(pkg)), "./"+pkg).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build ./%s: %v\n%s", pkg, err, out)
		}
	}
	originAddr, proxyAddr, adminAddr := freePort(), freePort(), freePort()
	origin := exec.CommandContext(ctx, filepath.Join(dir, "origin"), "-listen", originAddr)
	origin.Stderr = io.Discard
	if err := origin.Start(); err != nil {
		return err
	}
	defer func() { origin.Process.Kill(); origin.Wait() }()

	conf := filepath.Join(dir, "proxy.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`listen = %q
admin_listen = %q
[cache]
max_bytes = "%dMiB"
[runtime]
memory_limit = %q
[log]
level = "warn"
[[route]]
name = "mem"
upstream = "http://%s"
max_object_size = "2MiB"
`, proxyAddr, adminAddr, maxBytes>>20, memLimit, originAddr)), 0o600)
	proxy := exec.CommandContext(ctx, filepath.Join(dir, "proxy"), "-config", conf)
	proxy.Stderr = os.Stderr
	if err := proxy.Start(); err != nil {
		return err
	}
	defer func() { proxy.Process.Kill(); proxy.Wait() }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + 1}}
	if err := waitUp(ctx, client, "http://"+adminAddr+"/readyz"); err != nil {
		return err
	}
	pid := proxy.Process.Pid

	// Warm the hot set, then take the baseline.
	get := func(path string) (hit bool, err error) {
		resp, err := client.Get("http://" + proxyAddr + path)
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return strings.Contains(resp.Header.Get("Cache-Status"), "; hit"), nil
	}
	for i := range hot {
		if _, err := get(fmt.Sprintf("/bytes/1024?hot=%d", i)); err != nil {
			return err
		}
	}
	baseline := procKiB(pid, "VmRSS")
	fmt.Printf("cache.max_bytes %d MiB, writing %d MiB in objects of 0 (204) to 1 MiB, hot set %d, %d clients, runtime.memory_limit %s\n",
		maxBytes>>20, factor*maxBytes>>20, hot, workers, memLimit)
	fmt.Printf("baseline RSS %.1f MiB (after start and the hot set)\n\n", float64(baseline)/1024)
	fmt.Printf("%-12s %-10s %-14s %-10s\n", "written MiB", "RSS MiB", "hot hit ratio", "errors")

	var written, next, errs atomic.Int64
	var hotHits, hotAsks atomic.Int64
	target := factor * maxBytes
	windows := int64(10)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards the printing of a window
	window := int64(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if written.Load() >= target {
					return
				}
				size := sizes()[i%6]
				if _, err := get(fmt.Sprintf("/bytes/%d?k=%d", size, i)); err != nil {
					errs.Add(1)
					continue
				}
				total := written.Add(size)
				if i%4 == int64(w%4) { // a quarter of requests ask for the hot set
					hit, err := get(fmt.Sprintf("/bytes/1024?hot=%d", i%int64(hot)))
					if err == nil {
						hotAsks.Add(1)
						if hit {
							hotHits.Add(1)
						}
					}
				}
				mu.Lock()
				if total >= (window+1)*target/windows {
					window++
					h, a := hotHits.Swap(0), hotAsks.Swap(0)
					ratio := 0.0
					if a > 0 {
						ratio = float64(h) / float64(a)
					}
					fmt.Printf("%-12d %-10.1f %-14.3f %-10d\n", total>>20, float64(procKiB(pid, "VmRSS"))/1024, ratio, errs.Load())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("stopped after %d MiB: %w", written.Load()>>20, ctx.Err())
	}
	peak := procKiB(pid, "VmHWM")
	bound := 1.5*float64(maxBytes)/(1<<10) + float64(baseline)
	verdict := "within"
	if float64(peak) > bound {
		verdict = "OVER"
	}
	fmt.Printf("\npeak RSS (VmHWM) %.1f MiB; bound 1.5 × %d MiB + baseline = %.1f MiB: %s\n",
		float64(peak)/1024, maxBytes>>20, bound/1024, verdict)
	m, err := scrape(client, "http://"+adminAddr+"/metrics")
	if err != nil {
		return err
	}
	for _, name := range []string{"cacheproxy_cache_bytes", "cacheproxy_cache_entries", "cacheproxy_cache_insertions_total",
		"cacheproxy_cache_evictions_total", "cacheproxy_cache_sets_rejected_total", "cacheproxy_cache_sets_dropped_total"} {
		fmt.Printf("%-38s %s\n", name, m[name])
	}
	return nil
}

// procKiB reads a "kB" field (VmRSS, VmHWM) of /proc/pid/status.
func procKiB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// scrape reads the unlabelled samples of a /metrics page.
func scrape(c *http.Client, url string) (map[string]string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			out[f[0]] = f[1]
		}
	}
	return out, sc.Err()
}

// waitUp polls url until it answers 200, within ctx.
func waitUp(ctx context.Context, c *http.Client, url string) error {
	for {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the proxy did not become ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort returns a loopback address with a port free a moment ago.
func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
