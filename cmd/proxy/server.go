package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/metrics"
	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serve builds the proxy that cfg describes, serves traffic and admin
// requests until ctx is cancelled, then shuts down: readiness goes false,
// both servers stop accepting and in-flight requests get
// server.shutdown_grace to finish, then the handler and the store are
// closed. Both addresses are bound first, so that one in use fails before
// anything else is built.
func serve(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	opts, err := cfg.proxyOptions()
	if err != nil {
		return err
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

	opts.Transport = proxy.NewTransport(cfg.transportOptions())
	opts.Observer = m
	opts.Logger = logger
	h, err := proxy.New(store, opts)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	defer func() {
		if err := h.Close(); err != nil {
			logger.Warn("closing proxy", "err", err)
		}
	}()

	var ready atomic.Bool
	srv := cfg.newServer(h, slog.NewLogLogger(logger.With("server", "traffic").Handler(), slog.LevelWarn))
	admin := cfg.newServer(newAdminHandler(reg, &ready, h.ViolationsHandler(), logger),
		slog.NewLogLogger(logger.With("server", "admin").Handler(), slog.LevelWarn))

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- admin.Serve(adminLn) }()
	ready.Store(true)
	logger.Info("listening", startAttrs(cfg, ln.Addr(), adminLn.Addr())...)

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveErr = fmt.Errorf("serve: %w", err)
	}

	ready.Store(false)
	grace := cfg.Server.ShutdownGrace.Duration
	logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	shutdown(sctx, srv, "traffic", logger)
	shutdown(sctx, admin, "admin", logger)
	return serveErr // the deferred calls close the handler, then the store
}

// shutdown stops srv gracefully until ctx ends, then closes the
// connections still open.
func shutdown(ctx context.Context, srv *http.Server, name string, logger *slog.Logger) {
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
