// Command proxy is cacheproxy, a caching HTTP proxy.
//
//	proxy -upstream http://api.internal:8080      # reverse mode, one route
//	proxy -config cacheproxy.toml                 # routes and settings from a file
//	proxy                                         # forward mode, loopback clients
//
// Flags: -upstream URL, -listen ADDR (127.0.0.1:8080), -admin-listen ADDR
// (127.0.0.1:9090), -config FILE, -version. Flags override the file; every
// file setting is described in config.example.toml. The admin listener
// serves /metrics, /healthz and /readyz.
//
// Exit status: 0 after a clean shutdown (SIGINT, SIGTERM) or -version; 1
// when it cannot start or serve (an address in use); 2 for bad flags or
// configuration, with one line per problem on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// baseVersion is the version of a build without module version
// information (go build in a checkout); `go install
// github.com/cacheproxy/cacheproxy/cmd/proxy@vX` reports vX instead.
const baseVersion = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling so that a
	// second one kills a shutdown that hangs.
	context.AfterFunc(ctx, stop)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup)
	stop()
	os.Exit(code)
}

// run is the program: it parses args, loads the configuration and serves
// until ctx is cancelled, then shuts down gracefully; each value on hup
// reloads the configuration. It returns the exit status. Problems with
// flags or configuration are written to stderr one per line; logs go to
// stderr too, the access log to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	f, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.version {
		fmt.Fprintf(stdout, "cacheproxy %s %s\n", version(), runtime.Version())
		return 0
	}
	cfg, err := loadConfig(f)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, env{flags: f, logger: logger, stdout: stdout, hup: hup}); err != nil {
		logger.Error("exiting", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// version returns the module version the binary was built from, or
// baseVersion when there is none.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return baseVersion
}

// newLogger returns the slog logger c describes, writing to w.
func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo // Validate allows only valid levels
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
