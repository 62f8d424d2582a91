package main

import (
	"io"
	"log"
	"net/netip"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/cache"
	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

func TestProxyOptions(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, `
name = "edge-1"
[upstream]
dial_timeout = "2s"
response_header_timeout = "15s"
idle_conn_timeout = "1m"
max_idle_conns_per_host = 64
fill_timeout = "45s"
[cache]
max_bytes = "1GiB"
expected_entries = 50000
stale_retention = "2h"
[forward]
allow_clients = ["10.0.0.0/8"]
[[route]]
name = "api"
host = "*.example.com"
path_prefix = "/v1"
upstream = "https://api.internal:8443/base"
default_ttl = "30s"
max_heuristic_ttl = "1h"
max_object_size = "4MiB"
cache_per_credential = true
on_header_violation = "reject"
on_violation = { "204-body" = "reject", "date-missing" = "repair" }
[[route]]
name = "rest"
upstream = "http://rest.internal"
`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.proxyOptions()
	if err != nil {
		t.Fatalf("proxyOptions: %v", err)
	}
	defaults := cache.Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: 24 * time.Hour, MaxObjectSize: 1 << 20}
	want := proxy.Options{
		Mode: proxy.Reverse,
		Routes: []proxy.Route{
			{
				Name:       "api",
				Host:       "*.example.com",
				PathPrefix: "/v1",
				Upstream:   &url.URL{Scheme: "https", Host: "api.internal:8443", Path: "/base"},
				Policy:     cache.Policy{DefaultTTL: 30 * time.Second, MaxHeuristicTTL: time.Hour, PerCredential: true, MaxObjectSize: 4 << 20},
				Compliance: proxy.CompliancePolicy{Header: proxy.Reject, Rules: map[compliance.Rule]proxy.Action{
					compliance.NoContentBody: proxy.Reject, compliance.DateMissing: proxy.Repair}},
			},
			{
				Name:       "rest",
				PathPrefix: "/",
				Upstream:   &url.URL{Scheme: "http", Host: "rest.internal"},
				Policy:     defaults,
			},
		},
		Forward: proxy.ForwardOptions{
			AllowClients: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			ConnectPorts: []int{443},
			DialTimeout:  10 * time.Second,
			Policy:       defaults,
		},
		Name:                 "edge-1",
		FillTimeout:          45 * time.Second,
		Evidence:             32,
		ViolationLogInterval: 10 * time.Second,
		StaleRetention:       2 * time.Hour,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("proxyOptions() =\n%+v\nwant\n%+v", got, want)
	}

	if got, want := c.transportOptions(), (proxy.TransportOptions{
		DialTimeout:           2 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		IdleConnTimeout:       time.Minute,
		MaxIdleConnsPerHost:   64,
	}); got != want {
		t.Errorf("transportOptions() = %+v; want %+v", got, want)
	}
	if got, want := c.storeOptions(), (cache.StoreOptions{MaxBytes: 1 << 30, ExpectedEntries: 50000}); got != want {
		t.Errorf("storeOptions() = %+v; want %+v", got, want)
	}
}

func TestProxyOptionsForwardDefaults(t *testing.T) {
	t.Parallel()
	f, err := parseFlags(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.proxyOptions()
	if err != nil {
		t.Fatal(err)
	}
	want := proxy.ForwardOptions{
		AllowClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		ConnectPorts: []int{443},
		DialTimeout:  10 * time.Second,
		Policy:       cache.Policy{DefaultTTL: time.Minute, MaxHeuristicTTL: 24 * time.Hour, MaxObjectSize: 1 << 20},
	}
	if got.Mode != proxy.Forward || len(got.Routes) != 0 || !reflect.DeepEqual(got.Forward, want) {
		t.Errorf("proxyOptions() = mode %q, routes %v, forward %+v; want forward, none, %+v", got.Mode, got.Routes, got.Forward, want)
	}
	if got.Name != "cacheproxy" || got.FillTimeout != time.Minute || got.StaleRetention != time.Hour {
		t.Errorf("proxyOptions() name, fill, retention = %q, %v, %v; want cacheproxy, 1m, 1h", got.Name, got.FillTimeout, got.StaleRetention)
	}
	if got, want := c.storeOptions(), (cache.StoreOptions{MaxBytes: 256 << 20}); got != want {
		t.Errorf("storeOptions() = %+v; want %+v", got, want)
	}
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	c := defaultConfig()
	errLog := log.New(io.Discard, "", 0)
	s := c.newServer(nil, errLog)
	if s.ReadHeaderTimeout != 10*time.Second || s.ReadTimeout != time.Minute || s.WriteTimeout != time.Minute ||
		s.IdleTimeout != 2*time.Minute || s.MaxHeaderBytes != 65536 || s.ErrorLog != errLog {
		t.Errorf("newServer() = %+v; want the [server] defaults", s)
	}
}
