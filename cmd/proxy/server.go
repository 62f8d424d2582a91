package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// env is what run hands serve besides the configuration.
type env struct {
	flags  *flags           // to load the configuration again on reload
	logger *slog.Logger     // logs, on stderr
	stdout io.Writer        // the access log
	hup    <-chan os.Signal // reload requests (SIGHUP); nil: none
}

// serve builds the proxy that cfg describes, serves traffic and admin
// requests until ctx is cancelled, then shuts down: readiness goes false,
// both servers stop accepting and in-flight requests get
// server.shutdown_grace to finish, then the handlers and the store are
// closed. Both addresses are bound first, so that one in use fails before
// anything else is built. Each signal on e.hup reloads the configuration.
func serve(ctx context.Context, cfg *Config, e env) error {
	logger := e.logger
	if ml := cfg.Runtime.MemoryLimit.Bytes; ml > 0 {
		debug.SetMemoryLimit(ml)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("traffic listener: %w", err)
	}
	defer ln.Close()
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	defer adminLn.Close()

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fmt.Errorf("register process collector: %w", err)
	}
	if err := metrics.RegisterBuildInfo(reg, version()); err != nil {
		return err
	}
	m, err := metrics.New(reg)
	if err != nil {
		return err
	}

	store, err := cache.NewStore(cfg.storeOptions())
	if err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	defer store.Close()
	if err := reg.Register(metrics.NewStoreCollector(store)); err != nil {
		return fmt.Errorf("register store collector: %w", err)
	}

	a := &app{cfg: cfg, store: store, m: m, logger: logger,
		access: newAccessLogger(cfg.Log.Access, e.stdout), transport: proxy.NewTransport(cfg.transportOptions())}
	h, err := a.newHandler(cfg, a.transport)
	if err != nil {
		return err
	}
	a.live.Store(h)
	defer a.close()

	var ready atomic.Bool
	srv := cfg.newServer(http.HandlerFunc(a.serveHTTP), slog.NewLogLogger(logger.With("server", "traffic").Handler(), slog.LevelWarn))
	admin := cfg.newServer(newAdminHandler(adminDeps{
		reg:        reg,
		ready:      &ready,
		violations: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.live.Load().ViolationsHandler().ServeHTTP(w, r) }),
		purge:      newPurgeHandler(store, cfg.Admin.PurgeToken, cfg.Admin.SurrogateKeyHeader, logger),
		status:     newStatusHandler(reg, func() map[string][]proxy.Evidence { return a.live.Load().Evidence() }),
		pprof:      cfg.Admin.Pprof,
		logger:     logger,
	}), slog.NewLogLogger(logger.With("server", "admin").Handler(), slog.LevelWarn))

	var traffic server = srv
	if cfg.Server.HitLoop && proxy.Mode(cfg.Mode) != proxy.Forward {
		// Forward mode's absolute-form requests are never the loop's.
		traffic = &proxy.HitServer{Server: srv, Fresh: a.serveFresh}
	}
	errc := make(chan error, 2)
	go func() { errc <- traffic.Serve(ln) }()
	go func() { errc <- admin.Serve(adminLn) }()
	ready.Store(true)
	logger.Info("listening", startAttrs(cfg, ln.Addr(), adminLn.Addr())...)

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			serveErr = fmt.Errorf("serve: %w", err)
			break loop
		case <-e.hup:
			a.reload(e.flags)
		}
	}

	ready.Store(false)
	grace := a.cfg.Server.ShutdownGrace.Duration
	logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	shutdown(sctx, traffic, "traffic", logger)
	shutdown(sctx, admin, "admin", logger)
	return serveErr // the deferred calls close the handlers, then the store
}

// app holds what a reload replaces and what it keeps: the store (and so
// the cache), the metrics and the listeners stay; the proxy handler and,
// when [upstream] changed, the transport are rebuilt.
type app struct {
	store  *cache.Store
	m      *metrics.Metrics
	logger *slog.Logger
	access *slog.Logger // nil: no access log

	live atomic.Pointer[proxy.Handler] // the handler serving traffic

	// mu guards cfg, transport, retired and closers (reloads, shutdown).
	mu        sync.Mutex
	cfg       *Config
	transport *proxy.Transport
	retired   []*time.Timer // each closes a replaced handler after the grace
	closers   []func()      // what those timers run
}

func (a *app) serveHTTP(w http.ResponseWriter, r *http.Request) {
	a.live.Load().ServeHTTP(w, r)
}

// serveFresh is the hit loop's entry (proxy.HitServer.Fresh).
func (a *app) serveFresh(w http.ResponseWriter, r *http.Request) http.Handler {
	return a.live.Load().ServeFresh(w, r)
}

// newHandler builds the proxy handler cfg describes over the app's store.
func (a *app) newHandler(cfg *Config, tr *proxy.Transport) (*proxy.Handler, error) {
	opts, err := cfg.proxyOptions()
	if err != nil {
		return nil, err
	}
	opts.Transport = tr
	opts.Observer = a.m
	opts.Logger = a.logger
	opts.AccessLog = a.access
	h, err := proxy.New(a.store, opts)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return h, nil
}

// reload loads the configuration again (the same flags, the file read
// anew). An invalid configuration, or one that changes what only a
// restart can (the listeners, [server], [cache], [log], [admin],
// [runtime]), is
// refused with one log line per problem and the running one keeps
// serving. Otherwise the new handler takes the traffic at once, the cache
// is kept, and the old handler finishes its in-flight requests and is
// closed after server.shutdown_grace.
func (a *app) reload(f *flags) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cfg, err := loadConfig(f)
	if err == nil {
		err = restartOnly(a.cfg, cfg)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			a.logger.Error("reload refused", "problem", line)
		}
		a.logger.Error("reload refused: the running configuration keeps serving")
		return
	}
	tr := a.transport
	if cfg.Upstream != a.cfg.Upstream {
		tr = proxy.NewTransport(cfg.transportOptions())
	}
	h, err := a.newHandler(cfg, tr)
	if err != nil {
		a.logger.Error("reload refused", "problem", err.Error())
		a.logger.Error("reload refused: the running configuration keeps serving")
		return
	}
	old, oldTr := a.live.Swap(h), a.transport
	closeOld := func() {
		old.Close()
		if oldTr != tr {
			oldTr.CloseIdleConnections()
		}
	}
	a.retired = append(a.retired, time.AfterFunc(cfg.Server.ShutdownGrace.Duration, closeOld))
	a.closers = append(a.closers, closeOld)
	a.cfg, a.transport = cfg, tr
	a.logger.Info("reloaded", "mode", cfg.Mode, "routes", len(cfg.Routes))
}

// close closes the live handler and every replaced one not closed yet.
func (a *app) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, t := range a.retired {
		if t.Stop() {
			a.closers[i]()
		}
	}
	if err := a.live.Load().Close(); err != nil {
		a.logger.Warn("closing proxy", "err", err)
	}
}

// restartOnly reports the settings that differ between old and cfg and
// that a reload cannot change, one problem per key.
func restartOnly(old, cfg *Config) error {
	var errs []error
	changed := func(key string, differ bool) {
		if differ {
			errs = append(errs, &problem{key: key, msg: "changed; restart the proxy to apply it (a reload keeps the listeners, the cache and the logs)"})
		}
	}
	changed("listen", old.Listen != cfg.Listen)
	changed("admin_listen", old.AdminListen != cfg.AdminListen)
	changed("server", old.Server != cfg.Server)
	changed("cache", old.Cache != cfg.Cache)
	changed("log", old.Log != cfg.Log)
	changed("admin", old.Admin != cfg.Admin)
	changed("runtime", old.Runtime != cfg.Runtime)
	return errors.Join(errs...)
}

// newAccessLogger returns the access logger format describes ("off",
// "text", "json"), writing to w, or nil for off.
func newAccessLogger(format string, w io.Writer) *slog.Logger {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil))
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return nil
}

// server is what serves a listener: an *http.Server, or the
// *proxy.HitServer in front of one.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// shutdown stops srv gracefully until ctx ends, then closes the
// connections still open.
func shutdown(ctx context.Context, srv server, name string, logger *slog.Logger) {
	err := srv.Shutdown(ctx)
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown grace ended; closing connections still open", "server", name)
	} else {
		logger.Warn("shutdown", "server", name, "err", err)
	}
	srv.Close()
}

// startAttrs describes what serve started, for the "listening" log line:
// the bound addresses (so that port 0 can be read back), the mode, and the
// routes ("name host/prefix -> upstream") or forward mode's clients and
// CONNECT ports.
func startAttrs(cfg *Config, listen, admin net.Addr) []any {
	attrs := []any{
		"version", version(),
		"mode", cfg.Mode,
		"listen", listen.String(),
		"admin_listen", admin.String(),
	}
	if cfg.Mode == "forward" {
		return append(attrs, "allow_clients", cfg.Forward.AllowClients, "connect_ports", cfg.Forward.ConnectPorts)
	}
	routes := make([]string, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		host := r.Host
		if host == "" {
			host = "*"
		}
		routes = append(routes, fmt.Sprintf("%s %s%s -> %s", r.Name, host, r.PathPrefix, r.Upstream))
	}
	return append(attrs, "routes", routes)
}
