package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkRun is one wrk invocation.
type wrkRun struct {
	url      string
	conns    int
	duration time.Duration
	script   string   // Lua script, or ""
	args     []string // the script's arguments
	// stop, if set, is polled every 250 ms; when it reports true wrk is
	// interrupted (SIGINT), which ends the run early with its results.
	stop func() bool
	// ours, if set, tells the process groups of the servers; the run then
	// measures the CPU that every other process took (otherCPU).
	ours func(pgid int) bool
}

// result is what one run measured.
type result struct {
	rps        float64
	p50, p99   time.Duration
	requests   int64
	errors     int64   // non-2xx/3xx responses plus socket errors
	errText    string  // wrk's lines about them
	wrkCPU     float64 // wrk's CPU time over wall time (1 = one core busy)
	serverCPU  float64 // busy fraction of the server core during the run
	otherCPU   float64 // cores used by processes other than wrk and the servers
	attempts   int     // runs made to get this one (see runCounted)
	originReqs int64   // requests that reached the origin during the run
	stdout     string
}

// runWrk runs wrk pinned to the client core, one thread, and parses its
// report.
func runWrk(ctx context.Context, w wrkRun) (result, error) {
	args := []string{"-c", clientCPU, "wrk", "-t1", "-c" + strconv.Itoa(w.conns),
		"-d" + strconv.Itoa(int(w.duration/time.Second)) + "s", "--timeout", "5s", "--latency"}
	if w.script != "" {
		args = append(args, "-s", w.script)
	}
	args = append(args, w.url)
	if len(w.args) > 0 {
		args = append(append(args, "--"), w.args...)
	}
	// The run is bounded by -d; the context bounds it again should wrk hang.
	ctx, cancel := context.WithTimeout(ctx, w.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "taskset", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	cpuBefore, cpuErr := cpuTimes(serverCPU)
	var othersBefore map[int]uint64
	if w.ours != nil {
		othersBefore = otherTicks(w.ours)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("wrk: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	if w.stop != nil {
		tick := time.NewTicker(250 * time.Millisecond)
	loop:
		for {
			select {
			case err = <-waited:
				break loop
			case <-tick.C:
				if w.stop() {
					cmd.Process.Signal(os.Interrupt)
					err = <-waited
					break loop
				}
			}
		}
		tick.Stop()
	} else {
		err = <-waited
	}
	wall := time.Since(start)
	cpuAfter, cpuErr2 := cpuTimes(serverCPU)
	var othersAfter map[int]uint64
	if w.ours != nil {
		wrkPID := cmd.Process.Pid
		othersAfter = otherTicks(func(pgid int) bool { return pgid == wrkPID || w.ours(pgid) })
	}
	if ctx.Err() != nil {
		return result{}, fmt.Errorf("wrk %s: %w", w.url, ctx.Err())
	}
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s%s", w.url, err, stdout.String(), stderr.String())
	}
	r, err := parseWrk(stdout.String())
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s%s", w.url, err, stdout.String(), stderr.String())
	}
	if st := cmd.ProcessState; st != nil && wall > 0 {
		r.wrkCPU = float64(st.UserTime()+st.SystemTime()) / float64(wall)
	}
	if cpuErr == nil && cpuErr2 == nil && cpuAfter.total > cpuBefore.total {
		r.serverCPU = float64(cpuAfter.busy-cpuBefore.busy) / float64(cpuAfter.total-cpuBefore.total)
	}
	if w.ours != nil && wall > 0 {
		var other uint64
		for pid, after := range othersAfter {
			if before := othersBefore[pid]; after > before {
				other += after - before
			}
		}
		// A parent reaping a long-lived child during the run adds all of the
		// child's time at once: cap at the machine's cores.
		r.otherCPU = min(float64(other)/(wall.Seconds()*clockTicks), float64(runtime.NumCPU()))
	}
	return r, nil
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	reSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePercent  = regexp.MustCompile(`^\s*(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
)

// parseWrk reads req/s, the request count, errors and the 50th and 99th
// latency percentiles from wrk's --latency report.
func parseWrk(out string) (result, error) {
	var r result
	r.stdout = out
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	var errText []string
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.errors += n
		errText = append(errText, strings.TrimSpace(m[0]))
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.errors += n
		}
		errText = append(errText, strings.TrimSpace(m[0]))
	}
	r.errText = strings.Join(errText, "; ")

	inDist := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Latency Distribution") {
			inDist = true
			continue
		}
		if !inDist {
			continue
		}
		m := rePercent.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				inDist = false
			}
			continue
		}
		d, err := parseWrkDuration(m[2], m[3])
		if err != nil {
			return r, err
		}
		switch m[1] {
		case "50":
			r.p50 = d
		case "99":
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no 50%%/99%% latency in wrk's output (was --latency given?)")
	}
	return r, nil
}

// parseWrkDuration reads wrk's "123.45us", "1.20ms", "2.00s", "1.50m".
func parseWrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("latency %s%s: %w", num, unit, err)
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(v * float64(scale)), nil
}

// otherTicks is the CPU time (user and system, its own and that of its
// reaped children, in clock ticks) of every user process but this one and
// those of the groups ours reports. Kernel threads are left out: they carry
// the loopback traffic's soft interrupts, part of the measured load.
func otherTicks(ours func(pgid int) bool) map[int]uint64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	out := make(map[int]uint64, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		// After the command name: state(0) ppid pgrp session tty_nr tpgid
		// flags(6) minflt cminflt majflt cmajflt utime(11) stime cutime cstime.
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 15 {
			continue
		}
		pgid, _ := strconv.Atoi(f[2])
		flags, _ := strconv.ParseUint(f[6], 10, 64)
		const pfKthread = 0x00200000
		if flags&pfKthread != 0 || ours(pgid) {
			continue
		}
		var n uint64
		for _, v := range f[11:15] {
			t, _ := strconv.ParseUint(v, 10, 64)
			n += t
		}
		out[pid] = n
	}
	return out
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/<pid>/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuStat is one line of /proc/stat, in clock ticks.
type cpuStat struct {
	busy  uint64 // all but idle and iowait
	total uint64
}

// cpuTimes reads core cpu ("1"), or all cores (""), from /proc/stat.
func cpuTimes(cpu string) (cpuStat, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "cpu"+cpu {
			continue
		}
		var s cpuStat
		// user nice system idle iowait irq softirq steal; guest is in user.
		for i, v := range f[1:9] {
			n, _ := strconv.ParseUint(v, 10, 64)
			s.total += n
			if i != 3 && i != 4 {
				s.busy += n
			}
		}
		return s, nil
	}
	return cpuStat{}, fmt.Errorf("/proc/stat: no cpu%s", cpu)
}
