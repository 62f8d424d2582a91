package main

import (
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// proxyOptions converts a validated c into the handler's options. The
// caller sets Transport, Observer and Logger.
func (c *Config) proxyOptions() (proxy.Options, error) {
	o := proxy.Options{
		Mode:           proxy.Mode(c.Mode),
		Name:           c.Name,
		FillTimeout:    c.Upstream.FillTimeout.Duration,
		StaleRetention: c.Cache.StaleRetention.Duration,
		Forward: proxy.ForwardOptions{
			ConnectPorts: append([]int(nil), c.Forward.ConnectPorts...),
			DialTimeout:  c.Forward.DialTimeout.Duration,
			Policy:       c.Forward.policy(),
			Compliance:   c.Forward.compliance(),
		},
		Evidence:             c.Violations.EvidencePerRoute,
		ViolationLogInterval: c.Violations.LogInterval.Duration,
	}
	if o.Evidence == 0 {
		o.Evidence = -1 // the file's 0 keeps none; proxy's 0 means its default
	}
	for _, s := range c.Forward.AllowClients {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return proxy.Options{}, fmt.Errorf("forward.allow_clients: %w", err)
		}
		o.Forward.AllowClients = append(o.Forward.AllowClients, p)
	}
	for i, r := range c.Routes {
		u, err := url.Parse(r.Upstream)
		if err != nil {
			return proxy.Options{}, fmt.Errorf("route[%d].upstream: %w", i, err)
		}
		o.Routes = append(o.Routes, proxy.Route{
			Name:       r.Name,
			Host:       r.Host,
			PathPrefix: r.PathPrefix,
			Upstream:   u,
			Policy:     r.policy(),
			Compliance: r.compliance(),
		})
	}
	return o, nil
}

// policy converts p, with its defaults applied, into a cache.Policy.
func (p PolicyConfig) policy() cache.Policy {
	p.fill()
	return cache.Policy{
		DefaultTTL:      p.DefaultTTL.Duration,
		MaxHeuristicTTL: p.MaxHeuristicTTL.Duration,
		PerCredential:   p.CachePerCredential,
		MaxObjectSize:   p.MaxObjectSize.Bytes,
	}
}

// compliance converts p's violation keys, with defaults applied and
// validated, into a proxy.CompliancePolicy.
func (p PolicyConfig) compliance() proxy.CompliancePolicy {
	p.fill()
	c := proxy.CompliancePolicy{}
	c.Framing, _ = parseAction(p.OnFramingViolation)
	c.Header, _ = parseAction(p.OnHeaderViolation)
	for rule, a := range p.OnViolation {
		if c.Rules == nil {
			c.Rules = make(map[compliance.Rule]proxy.Action)
		}
		c.Rules[compliance.Rule(rule)], _ = parseAction(a)
	}
	return c
}

// transportOptions converts c's [upstream] table.
func (c *Config) transportOptions() proxy.TransportOptions {
	return proxy.TransportOptions{
		DialTimeout:           c.Upstream.DialTimeout.Duration,
		ResponseHeaderTimeout: c.Upstream.ResponseHeaderTimeout.Duration,
		IdleConnTimeout:       c.Upstream.IdleConnTimeout.Duration,
		MaxIdleConnsPerHost:   c.Upstream.MaxIdleConnsPerHost,
	}
}

// storeOptions converts c's [cache] table.
func (c *Config) storeOptions() cache.StoreOptions {
	return cache.StoreOptions{
		MaxBytes:        c.Cache.MaxBytes.Bytes,
		ExpectedEntries: c.Cache.ExpectedEntries,
	}
}

// newServer returns an http.Server for h with c's [server] settings. Its
// ErrorLog goes to errorLog.
func (c *Config) newServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.Server.ReadHeaderTimeout.Duration,
		ReadTimeout:       c.Server.ReadTimeout.Duration,
		WriteTimeout:      c.Server.WriteTimeout.Duration,
		IdleTimeout:       c.Server.IdleTimeout.Duration,
		MaxHeaderBytes:    c.Server.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
