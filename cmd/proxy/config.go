package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the proxy's configuration: the TOML file (-config), decoded
// strictly over [defaultConfig], then the flags, then [Config.applyDefaults],
// then [Config.Validate]. config.example.toml mirrors it field for field.
type Config struct {
	// Mode is "reverse" (routes to configured upstreams) or "forward"
	// (clients set HTTP_PROXY). "" means reverse if there is a route,
	// else forward.
	Mode string `toml:"mode"`
	// Listen is the traffic listener's host:port.
	Listen string `toml:"listen"`
	// AdminListen is the admin listener's host:port (/metrics, /healthz,
	// /readyz).
	AdminListen string `toml:"admin_listen"`
	// Name identifies the proxy in Cache-Status and Via; an HTTP token.
	Name string `toml:"name"`

	Server     ServerConfig     `toml:"server"`
	Upstream   UpstreamConfig   `toml:"upstream"`
	Cache      CacheConfig      `toml:"cache"`
	Forward    ForwardConfig    `toml:"forward"`
	Log        LogConfig        `toml:"log"`
	Violations ViolationsConfig `toml:"violations"`
	Admin      AdminConfig      `toml:"admin"`
	Runtime    RuntimeConfig    `toml:"runtime"`
	Routes     []RouteConfig    `toml:"route"`

	// setBy maps a key (as problems name it, "listen", "route[0].upstream")
	// to the flag that set it, so that a problem names the flag.
	setBy map[string]string
}

// ServerConfig is the [server] table: the traffic listener's http.Server.
// The admin listener uses the same timeouts.
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading a request's header section.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included. 0 means
	// no limit.
	ReadTimeout Duration `toml:"read_timeout"`
	// WriteTimeout bounds writing a response, from the end of the request
	// header. 0 means no limit.
	WriteTimeout Duration `toml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. 0 means
	// read_timeout is used.
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's header section.
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// ShutdownGrace is how long in-flight requests may run after
	// SIGINT/SIGTERM before their connections are closed.
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// HitLoop serves plain GET and HEAD requests in proxy.HitServer's own
	// loop (fresh hits without per-request allocations) instead of
	// net/http's server.
	HitLoop bool `toml:"hit_loop"`
}

// UpstreamConfig is the [upstream] table: the transport to upstreams.
type UpstreamConfig struct {
	// DialTimeout bounds connecting to an upstream.
	DialTimeout Duration `toml:"dial_timeout"`
	// ResponseHeaderTimeout bounds waiting for an upstream's response
	// header.
	ResponseHeaderTimeout Duration `toml:"response_header_timeout"`
	// IdleConnTimeout closes idle upstream connections.
	IdleConnTimeout Duration `toml:"idle_conn_timeout"`
	// MaxIdleConnsPerHost is the idle connections kept per upstream host.
	MaxIdleConnsPerHost int `toml:"max_idle_conns_per_host"`
	// FillTimeout bounds an upstream fetch that fills the cache on behalf
	// of collapsed requests or a background revalidation.
	FillTimeout Duration `toml:"fill_timeout"`
}

// CacheConfig is the [cache] table: the in-memory store.
type CacheConfig struct {
	// MaxBytes is the capacity: what stored responses cost (bodies,
	// fields, keys and per-entry bookkeeping, cache.EntryOverhead).
	MaxBytes Size `toml:"max_bytes"`
	// ExpectedEntries sizes the admission counters. 0 means max_bytes /
	// 4096, at least 1000.
	ExpectedEntries int64 `toml:"expected_entries"`
	// StaleRetention is how long a stale entry with a validator is kept
	// for revalidation.
	StaleRetention Duration `toml:"stale_retention"`
}

// ForwardConfig is the [forward] table: forward mode.
type ForwardConfig struct {
	// AllowClients lists the client networks (CIDR) allowed to use the
	// proxy. An empty list means loopback only.
	AllowClients []string `toml:"allow_clients"`
	// ConnectPorts lists the ports CONNECT may reach. An empty list means
	// 443 only.
	ConnectPorts []int `toml:"connect_ports"`
	// DialTimeout bounds dialling a CONNECT target.
	DialTimeout Duration `toml:"dial_timeout"`
	// PolicyConfig is the cache policy of forwarded requests.
	PolicyConfig
}

// ViolationsConfig is the [violations] table: what is kept and logged of
// upstream responses that break HTTP rules.
type ViolationsConfig struct {
	// EvidencePerRoute is how many recent violating exchanges each route
	// keeps for GET /violations on the admin listener. 0 keeps none.
	EvidencePerRoute int `toml:"evidence_per_route"`
	// LogInterval rate-limits violation logs: at most one line per route
	// and rule per interval.
	LogInterval Duration `toml:"log_interval"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
	// Access is the access log on standard output: off, text or json.
	Access string `toml:"access"`
}

// RuntimeConfig is the [runtime] table: the Go runtime's settings.
type RuntimeConfig struct {
	// MemoryLimit is the soft memory limit of the process (GOMEMLIMIT,
	// runtime/debug.SetMemoryLimit). 0 leaves the runtime's own (the
	// GOMEMLIMIT environment variable, else none).
	MemoryLimit Size `toml:"memory_limit"`
}

// AdminConfig is the [admin] table: what the admin listener offers
// besides /metrics, /healthz, /readyz and /violations.
type AdminConfig struct {
	// PurgeToken, when not empty, is the bearer token POST /purge needs.
	PurgeToken string `toml:"purge_token"`
	// SurrogateKeyHeader is the response field whose space-separated tags
	// POST /purge?tag= matches.
	SurrogateKeyHeader string `toml:"surrogate_key_header"`
	// Pprof serves /debug/pprof/ when true.
	Pprof bool `toml:"pprof"`
}

// RouteConfig is one [[route]].
type RouteConfig struct {
	// Name labels the route's metrics and logs: [a-z0-9_-]+, unique.
	Name string `toml:"name"`
	// Host is "" (any host), an exact host, or "*.example.com" (any
	// subdomain of example.com).
	Host string `toml:"host"`
	// PathPrefix matches request paths at a segment boundary. "" means "/".
	PathPrefix string `toml:"path_prefix"`
	// Upstream is the http:// or https:// URL requests are sent to.
	Upstream string `toml:"upstream"`
	// PolicyConfig is the route's cache policy.
	PolicyConfig
}

// PolicyConfig is a cache policy, the keys a [[route]] and [forward] share.
// A nil field was not set; applyDefaults fills it in.
type PolicyConfig struct {
	// DefaultTTL is the lifetime of heuristically cacheable responses
	// (204 included) without freshness information. 0 turns it off.
	DefaultTTL *Duration `toml:"default_ttl"`
	// MaxHeuristicTTL caps the Last-Modified heuristic. 0 turns the
	// heuristic off.
	MaxHeuristicTTL *Duration `toml:"max_heuristic_ttl"`
	// MaxObjectSize is the largest body stored; larger ones stream
	// through uncached.
	MaxObjectSize *Size `toml:"max_object_size"`
	// CachePerCredential stores responses to requests with Authorization
	// as variants only the same credential may reuse.
	CachePerCredential bool `toml:"cache_per_credential"`
	// OnFramingViolation and OnHeaderViolation say what to do with an
	// upstream response that breaks a rule of that severity: "repair" or
	// "reject". "" means repair.
	OnFramingViolation string `toml:"on_framing_violation"`
	OnHeaderViolation  string `toml:"on_header_violation"`
	// OnViolation overrides the action of single rules, by rule id.
	OnViolation map[string]string `toml:"on_violation"`
}

// Defaults that are not those of a zero Config.
const (
	defaultListen      = "127.0.0.1:8080"
	defaultAdminListen = "127.0.0.1:9090"
	defaultName        = "cacheproxy"
	defaultRouteName   = "default" // the route -upstream makes
	defaultPathPrefix  = "/"
)

// defaultConfig returns the configuration a file is decoded over: every
// default except those applyDefaults fills in (mode, policies, route path
// prefixes), which depend on what the file holds.
func defaultConfig() *Config {
	return &Config{
		Listen:      defaultListen,
		AdminListen: defaultAdminListen,
		Name:        defaultName,
		Server: ServerConfig{
			ReadHeaderTimeout: Duration{10 * time.Second},
			ReadTimeout:       Duration{60 * time.Second},
			WriteTimeout:      Duration{60 * time.Second},
			IdleTimeout:       Duration{120 * time.Second},
			MaxHeaderBytes:    64 << 10,
			ShutdownGrace:     Duration{30 * time.Second},
			HitLoop:           true,
		},
		Upstream: UpstreamConfig{
			DialTimeout:           Duration{5 * time.Second},
			ResponseHeaderTimeout: Duration{30 * time.Second},
			IdleConnTimeout:       Duration{90 * time.Second},
			MaxIdleConnsPerHost:   256,
			FillTimeout:           Duration{60 * time.Second},
		},
		Cache: CacheConfig{
			MaxBytes:       Size{256 << 20},
			StaleRetention: Duration{time.Hour},
		},
		Forward: ForwardConfig{
			AllowClients: []string{"127.0.0.0/8", "::1/128"},
			ConnectPorts: []int{443},
			DialTimeout:  Duration{10 * time.Second},
		},
		Log:   LogConfig{Level: "info", Format: "text", Access: "off"},
		Admin: AdminConfig{SurrogateKeyHeader: "Surrogate-Key"},
		Violations: ViolationsConfig{
			EvidencePerRoute: 32,
			LogInterval:      Duration{10 * time.Second},
		},
	}
}

// defaultPolicy returns the policy a route or [forward] gets for the keys
// it does not set.
func defaultPolicy() PolicyConfig {
	return PolicyConfig{
		DefaultTTL:         &Duration{time.Minute},
		MaxHeuristicTTL:    &Duration{24 * time.Hour},
		MaxObjectSize:      &Size{1 << 20},
		OnFramingViolation: "repair",
		OnHeaderViolation:  "repair",
	}
}

// applyDefaults fills in what depends on the rest of the configuration:
// the mode, each policy key left unset, and empty route path prefixes.
func (c *Config) applyDefaults() {
	if c.Mode == "" {
		c.Mode = "forward"
		if len(c.Routes) > 0 {
			c.Mode = "reverse"
		}
	}
	c.Forward.PolicyConfig.fill()
	for i := range c.Routes {
		c.Routes[i].PolicyConfig.fill()
		if c.Routes[i].PathPrefix == "" {
			c.Routes[i].PathPrefix = defaultPathPrefix
		}
	}
}

// fill sets p's unset keys to their defaults.
func (p *PolicyConfig) fill() {
	d := defaultPolicy()
	if p.DefaultTTL == nil {
		p.DefaultTTL = d.DefaultTTL
	}
	if p.MaxHeuristicTTL == nil {
		p.MaxHeuristicTTL = d.MaxHeuristicTTL
	}
	if p.MaxObjectSize == nil {
		p.MaxObjectSize = d.MaxObjectSize
	}
	if p.OnFramingViolation == "" {
		p.OnFramingViolation = d.OnFramingViolation
	}
	if p.OnHeaderViolation == "" {
		p.OnHeaderViolation = d.OnHeaderViolation
	}
	if len(p.OnViolation) == 0 {
		p.OnViolation = nil // on_violation = {} is the default: none
	}
}

// decodeConfig decodes the TOML document data strictly over c: a key c has
// no field for is an error. Each problem is reported on a line of its own
// with its line number and key.
func decodeConfig(data []byte, c *Config) error {
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(c)
	if err == nil {
		return nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		errs := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			errs = append(errs, decodeProblem(e, unknownKeyMessage(e.Key())))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		return decodeProblem(de, decodeMessage(de))
	}
	// go-toml hands a number given for a Duration or Size to
	// UnmarshalText and returns its error without a position: find the key.
	var doc map[string]any
	if toml.Unmarshal(data, &doc) == nil {
		if errs := unitProblems(doc, reflect.TypeFor[Config](), ""); len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	return &problem{msg: err.Error()}
}

// unitProblems walks the generically decoded document doc along t and
// reports each Duration given as other than a string and each Size given
// as other than a string or a valid integer.
func unitProblems(doc map[string]any, t reflect.Type, prefix string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		v := doc[k]
		ft, ok := fieldByTag(t, k)
		if !ok {
			continue
		}
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		key := prefix + k
		switch {
		case ft == reflect.TypeFor[Duration]():
			if _, ok := v.(string); !ok {
				errs = append(errs, &problem{key: key, msg: fmt.Sprintf("must be %s, not a TOML %s", describeType(ft), tomlKind(v))})
			}
		case ft == reflect.TypeFor[Size]():
			switch v := v.(type) {
			case string:
			case int64:
				if _, err := parseSize(fmt.Sprint(v)); err != nil {
					errs = append(errs, &problem{key: key, msg: err.Error()})
				}
			default:
				errs = append(errs, &problem{key: key, msg: fmt.Sprintf("must be %s, not a TOML %s", describeType(ft), tomlKind(v))})
			}
		case ft.Kind() == reflect.Struct:
			if m, ok := v.(map[string]any); ok {
				errs = append(errs, unitProblems(m, ft, key+".")...)
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			if a, ok := v.([]any); ok {
				for i, e := range a {
					if m, ok := e.(map[string]any); ok {
						errs = append(errs, unitProblems(m, ft.Elem(), fmt.Sprintf("%s[%d].", key, i))...)
					}
				}
			}
		}
	}
	return errs
}

// tomlKind names the TOML type of a generically decoded value.
func tomlKind(v any) string {
	switch v.(type) {
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return "date or time"
}

// decodeProblem returns the problem at de's position and key.
func decodeProblem(de *toml.DecodeError, msg string) *problem {
	line, _ := de.Position()
	return &problem{line: line, key: strings.Join(de.Key(), "."), msg: msg}
}

// unknownKeyMessage says that key is unknown and which keys its table
// takes.
func unknownKeyMessage(key toml.Key) string {
	if len(key) == 0 {
		return "unknown key"
	}
	table, where := reflect.TypeFor[Config](), "the top level"
	if len(key) > 1 {
		t, ok := fieldType(table, key[:len(key)-1])
		if !ok {
			return "unknown key"
		}
		table = t
		if t.Kind() == reflect.Slice {
			table = t.Elem()
			where = "[[" + strings.Join(key[:len(key)-1], ".") + "]]"
		} else {
			where = "[" + strings.Join(key[:len(key)-1], ".") + "]"
		}
	}
	if table.Kind() != reflect.Struct {
		return fmt.Sprintf("unknown key: %s is not a table", strings.Join(key[:len(key)-1], "."))
	}
	return fmt.Sprintf("unknown key; %s takes %s", where, strings.Join(tomlKeys(table), ", "))
}

// decodeMessage rewords a decoding error for the user: type mismatches say
// what the key takes, in TOML terms rather than Go's.
func decodeMessage(de *toml.DecodeError) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	got, ok := strings.CutPrefix(msg, "cannot decode TOML ")
	if !ok {
		return msg
	}
	got, _, ok = strings.Cut(got, " into ")
	if !ok {
		return msg
	}
	t, ok := fieldType(reflect.TypeFor[Config](), de.Key())
	if !ok {
		return msg
	}
	return fmt.Sprintf("must be %s, not a TOML %s", describeType(t), got)
}

// fieldType returns the type of the field that key names in t, descending
// through tables, arrays of tables and embedded structs.
func fieldType(t reflect.Type, key []string) (reflect.Type, bool) {
	for _, k := range key {
		if t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := fieldByTag(t, k)
		if !ok {
			return nil, false
		}
		t = f
	}
	return t, true
}

// fieldByTag returns the type of t's field whose toml tag is name,
// including fields of embedded structs.
func fieldByTag(t reflect.Type, name string) (reflect.Type, bool) {
	for f := range t.Fields() {
		if f.Anonymous {
			if ft, ok := fieldByTag(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name && f.IsExported() {
			return f.Type, true
		}
	}
	return nil, false
}

// tomlKeys lists the toml tags of t's fields, embedded structs flattened.
func tomlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if f.Anonymous {
			keys = append(keys, tomlKeys(f.Type)...)
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" && f.IsExported() {
			keys = append(keys, tag)
		}
	}
	return keys
}

// describeType says in TOML terms what a field of type t takes.
func describeType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration string like "30s"`
	case reflect.TypeFor[Size]():
		return `a size string like "256MiB"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Struct:
		return "a table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables"
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}
