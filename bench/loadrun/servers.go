package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverCPU and clientCPU are the cores the servers and wrk are pinned to.
const (
	serverCPU = "1"
	clientCPU = "0"
)

// bench holds the state of one benchmark run. It is not safe for concurrent
// use.
type bench struct {
	opts     *options
	dir      string // temporary directory, removed at the end
	out      io.Writer
	progress io.Writer
	client   *http.Client

	proxyBin, originBin, goproxyBin string

	origin  *proc
	targets []*target // in the order of opts.targets
	procs   []*proc   // everything started, in start order

	// Filled by the phases for the final sections.
	medians   map[runKey]summary
	keysRatio float64 // many keys ÷ one key, when -keys ran
}

// target is one server measured: the origin itself or a cache in front of it.
type target struct {
	name string
	url  string // http://127.0.0.1:port, no trailing slash
	proc *proc
}

// proc is a server process the benchmark started. It runs in a process group
// of its own (so that nginx's worker is stopped with its master, and Ctrl-C
// in the terminal reaches only the benchmark, which stops it), and gets
// SIGTERM if the benchmark dies.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	url    string // base URL of its traffic listener
	admin  string // base URL of its admin listener, for the proxy
}

func (b *bench) build(ctx context.Context) error {
	b.proxyBin = filepath.Join(b.dir, "proxy")
	b.originBin = filepath.Join(b.dir, "origin")
	b.goproxyBin = filepath.Join(b.dir, "goproxy")
	for _, bin := range []struct{ out, pkg string }{{b.proxyBin, "./cmd/proxy"}, {b.originBin, "./bench/origin"}, {b.goproxyBin, "./bench/goproxy"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin.out, bin.pkg)
		cmd.Dir = b.opts.repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", bin.pkg, err, out)
		}
	}
	return nil
}

// checkTools reports the programs the benchmark needs that are missing.
func checkTools() error {
	var missing []string
	for _, t := range []string{"wrk", "nginx", "haproxy", "taskset", "go"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run bench/setup first", strings.Join(missing, ", "))
	}
	return nil
}

// start runs argv pinned to the server CPU, its output in dir/name.log.
func (b *bench) start(name string, argv ...string) (*proc, error) {
	logPath := filepath.Join(b.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", serverCPU}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	b.procs = append(b.procs, p)
	return p, nil
}

// stop ends p and every process of its group: SIGTERM, then SIGKILL for
// whatever is left after 5 s.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // a worker left behind, or a hung leader
	<-p.exited
}

// stopAll stops every process started, the last started first.
func (b *bench) stopAll() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
	b.procs = nil
}

// logTail is the end of p's output, for error messages.
func (p *proc) logTail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return strings.TrimSpace(string(data))
}

// freePort returns a port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}

// waitReady polls url until it answers with want, p exits, or 15 s pass.
func (b *bench) waitReady(ctx context.Context, p *proc, url string, want int) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := b.client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at start-up:\n%s", p.name, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after 15s (last error: %v):\n%s", p.name, url, err, p.logTail())
		}
	}
}

func (b *bench) startOrigin(ctx context.Context) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := b.start("origin", b.originBin, "-listen", addr)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	return p, b.waitReady(ctx, p, p.url+"/_count", http.StatusOK)
}

// startGoProxy starts bench/goproxy, the minimal net/http proxy, in front
// of the origin.
func (b *bench) startGoProxy(ctx context.Context) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := b.start("goproxy", b.goproxyBin, "-listen", addr, "-upstream", b.origin.url)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	return p, b.waitReady(ctx, p, p.url+"/_count", http.StatusOK)
}

// startTargets starts the caches named in -targets in front of the origin.
func (b *bench) startTargets(ctx context.Context) error {
	for _, name := range b.opts.targets {
		var p *proc
		var err error
		switch name {
		case "origin":
			p = b.origin
		case "proxy":
			p, err = b.startProxy(ctx, "proxy", proxyConfig(0, 0, ""))
		case "nginx":
			p, err = b.startNginx(ctx)
		case "haproxy":
			p, err = b.startHAProxy(ctx)
		case "goproxy":
			p, err = b.startGoProxy(ctx)
		}
		if err != nil {
			return err
		}
		b.targets = append(b.targets, &target{name: name, url: p.url, proc: p})
	}
	return nil
}

// proxyConfig is the proxy's TOML configuration: quiet logs and a short
// shutdown grace; with maxBytes > 0 a cache of that size; with a route
// upstream (instead of -upstream) a default_ttl of an hour, so that a long
// fill does not outlive the 204s' default lifetime of a minute.
func proxyConfig(maxBytes int64, expected int, routeUpstream string) string {
	var s strings.Builder
	s.WriteString("[server]\nshutdown_grace = \"1s\"\n\n[log]\nlevel = \"warn\"\n")
	if maxBytes > 0 {
		fmt.Fprintf(&s, "\n[cache]\nmax_bytes = \"%dMiB\"\nexpected_entries = %d\n", maxBytes>>20, expected)
	}
	if routeUpstream != "" {
		fmt.Fprintf(&s, "\n[[route]]\nname = \"default\"\nupstream = %q\ndefault_ttl = \"1h\"\n", routeUpstream)
	}
	return s.String()
}

// startProxy starts the proxy built from the working tree with config; unless
// config has a route, it runs with -upstream, as the README shows.
func (b *bench) startProxy(ctx context.Context, name, config string) (*proc, error) {
	cfgPath := filepath.Join(b.dir, name+".toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{b.proxyBin, "-config", cfgPath, "-listen", addr, "-admin-listen", admin}
	if !strings.Contains(config, "[[route]]") {
		args = append(args, "-upstream", b.origin.url)
	}
	p, err := b.start(name, args...)
	if err != nil {
		return nil, err
	}
	p.url, p.admin = "http://"+addr, "http://"+admin
	return p, b.waitReady(ctx, p, p.admin+"/readyz", http.StatusOK)
}

// nginxConf is nginx as a caching reverse proxy configured like the proxy:
// one worker, keep-alive both sides, the 204 (which carries no freshness
// information) kept for a minute like the proxy's default_ttl, revalidation
// with the stored validators, no access log. Two settings are left as they
// are for nginx's sake: tcp_nopush is off (with sendfile on, over loopback,
// it stalls every 64 KiB response for 44 ms, a delayed-ACK wait), and
// proxy_cache_lock is off (nginx's default: on, every request for the
// uncacheable /nocache waits for the previous one's lock, 8k req/s instead
// of 59k).
const nginxConf = `# generated by bench/loadrun
%[1]s
worker_processes 1;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;

    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy_temp;
    fastcgi_temp_path %[2]s/fastcgi_temp;
    uwsgi_temp_path %[2]s/uwsgi_temp;
    scgi_temp_path %[2]s/scgi_temp;

    proxy_cache_path %[2]s/cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;

    upstream origin {
        server %[3]s;
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen %[4]s;

        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_valid 200 204 1m;
            proxy_cache_revalidate on;
            add_header X-Cache-Status $upstream_cache_status;
        }
    }
}
`

func (b *bench) startNginx(ctx context.Context) (*proc, error) {
	dir := filepath.Join(b.dir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// As root, nginx's worker would switch to "nobody", which cannot write
	// the cache in our directory: keep it as the current user.
	userLine := ""
	if os.Geteuid() == 0 {
		userLine = "user root root;"
		if u, err := user.Current(); err == nil {
			if g, err := user.LookupGroupId(u.Gid); err == nil {
				userLine = fmt.Sprintf("user %s %s;", u.Username, g.Name)
			}
		}
	}
	conf := fmt.Sprintf(nginxConf, userLine, dir, strings.TrimPrefix(b.origin.url, "http://"), addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := b.start("nginx", "nginx", "-p", dir+"/", "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	return p, b.waitReady(ctx, p, p.url+"/_count", http.StatusOK)
}

// haproxyConf is HAProxy with its cache in front of the origin: one thread,
// keep-alive both sides, a 64 MB cache taking objects up to 1 MiB.
const haproxyConf = `# generated by bench/loadrun
global
    nbthread 1
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
    option http-keep-alive
    http-reuse always

cache bench
    total-max-size 64
    max-object-size 1048576
    max-age 3600

frontend fe
    bind %[1]s
    default_backend be

backend be
    http-request cache-use bench
    http-response cache-store bench
    server origin %[2]s
`

func (b *bench) startHAProxy(ctx context.Context) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(b.dir, "haproxy.cfg")
	conf := fmt.Sprintf(haproxyConf, addr, strings.TrimPrefix(b.origin.url, "http://"))
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := b.start("haproxy", "haproxy", "-db", "-f", confPath)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	return p, b.waitReady(ctx, p, p.url+"/_count", http.StatusOK)
}

// newClient is the harness's own HTTP client: loopback only, never through
// a proxy from the environment, no connection reuse.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   5 * time.Second,
	}
}

// originCount is the number of requests the origin has served.
func (b *bench) originCount() (int64, error) {
	resp, err := b.client.Get(b.origin.url + "/_count")
	if err != nil {
		return 0, fmt.Errorf("origin /_count: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("origin /_count: %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}

// warmUp requests url twice so that a cache holds it.
func (b *bench) warmUp(url string) error {
	for range 2 {
		resp, err := b.client.Get(url)
		if err != nil {
			return fmt.Errorf("warm-up %s: %w", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("warm-up %s: status %d", url, resp.StatusCode)
		}
	}
	return nil
}

// scrape reads the named unlabelled series from a Prometheus text page.
func (b *bench) scrape(url string, names ...string) (map[string]float64, error) {
	resp, err := b.client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	got := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", url, name, err)
		}
		got[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			return got, fmt.Errorf("%s: no series %s", url, n)
		}
	}
	return got, nil
}

// procMem is the peak resident set of one process.
type procMem struct {
	target string
	pid    int
	comm   string
	hwmKB  int64
}

// groupPIDs lists the processes of process group pgid, with the fields of
// their /proc/<pid>/stat that follow the command name.
func groupPIDs(pgid int) map[int][]string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int][]string)
	want := strconv.Itoa(pgid)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 || f[2] != want {
			continue
		}
		out[pid] = f
	}
	return out
}

// proxyTarget is the matrix's proxy, or nil.
func (b *bench) proxyTarget() *target {
	for _, t := range b.targets {
		if t.name == "proxy" {
			return t
		}
	}
	return nil
}

// ours reports whether pgid is the process group of a server started.
func (b *bench) ours(pgid int) bool {
	for _, p := range b.procs {
		if p.cmd.Process.Pid == pgid {
			return true
		}
	}
	return false
}

// peakRSS reads VmHWM of every process in p's process group (nginx's
// master, worker and cache manager; the others alone).
func (p *proc) peakRSS() ([]procMem, error) {
	var out []procMem
	for pid := range groupPIDs(p.cmd.Process.Pid) {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		m := procMem{target: p.name, pid: pid}
		title, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "Name":
				m.comm = strings.TrimSpace(v)
			case "VmHWM":
				m.hwmKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
		// nginx names its processes in their title: "nginx: worker process".
		if t, ok := strings.CutPrefix(string(bytes.ReplaceAll(title, []byte{0}, []byte{' '})), m.comm+": "); ok {
			if i := strings.Index(t, " process"); i > 0 {
				m.comm += " " + t[:i]
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New(p.name + ": no process left to read")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out, nil
}
