package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const examplePath = "../../config.example.toml"

// loadString loads a configuration from TOML text through the same path as
// -config, with the given extra flags.
func loadString(t *testing.T, doc string, args ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := parseFlags(append([]string{"-config", path}, args...), nil)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	return loadConfig(f)
}

func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	f, err := parseFlags([]string{"-config", examplePath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f)
	if err != nil {
		t.Fatalf("loadConfig(%s):\n%v", examplePath, err)
	}

	// Everything but the routes is documented as the default.
	d := defaultConfig()
	d.applyDefaults()
	if c.Mode != "reverse" || c.Listen != d.Listen || c.AdminListen != d.AdminListen || c.Name != d.Name {
		t.Errorf("top level = %q %q %q %q; want reverse %q %q %q", c.Mode, c.Listen, c.AdminListen, c.Name, d.Listen, d.AdminListen, d.Name)
	}
	for name, pair := range map[string][2]any{
		"[server]":   {c.Server, d.Server},
		"[upstream]": {c.Upstream, d.Upstream},
		"[cache]":    {c.Cache, d.Cache},
		"[forward]":  {c.Forward, d.Forward},
		"[log]":      {c.Log, d.Log},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("example %s = %+v; want the defaults %+v", name, pair[0], pair[1])
		}
	}

	if len(c.Routes) != 2 {
		t.Fatalf("example has %d routes; want 2", len(c.Routes))
	}
	// The first route sets every key, to its default where there is one.
	r := c.Routes[0]
	if r.Host != "" || r.PathPrefix != defaultPathPrefix {
		t.Errorf("route[0] host, path_prefix = %q, %q; want the defaults %q, %q", r.Host, r.PathPrefix, "", defaultPathPrefix)
	}
	if got, want := r.policy(), defaultPolicy().policy(); got != want {
		t.Errorf("route[0] policy = %+v; want the defaults %+v", got, want)
	}
	if got := c.Routes[1].policy().DefaultTTL; got != 10*time.Minute {
		t.Errorf("route[1].default_ttl = %v; want 10m", got)
	}
}

// TestExampleConfigNamesEveryKey checks that config.example.toml sets every
// key Config has (so that each is documented), by decoding the example into
// a generic map and comparing key sets.
func TestExampleConfigNamesEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var missing []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for _, k := range tomlKeys(typ) {
			ft, _ := fieldByTag(typ, k)
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() && ft != reflect.TypeFor[Size]() {
				walk(k+".", ft)
				continue
			}
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				walk(k+".", ft.Elem())
				continue
			}
			if !strings.Contains(text, "\n"+k+" = ") {
				missing = append(missing, prefix+k)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	if len(missing) > 0 {
		t.Errorf("config.example.toml does not set %v", missing)
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	t.Parallel()
	f, err := parseFlags(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f)
	if err != nil {
		t.Fatalf("loadConfig() = %v", err)
	}
	if c.Mode != "forward" {
		t.Errorf("mode with no config and no -upstream = %q; want forward", c.Mode)
	}
	if want := []string{"127.0.0.0/8", "::1/128"}; !reflect.DeepEqual(c.Forward.AllowClients, want) {
		t.Errorf("forward.allow_clients = %v; want loopback only %v", c.Forward.AllowClients, want)
	}
	if c.Listen != "127.0.0.1:8080" || c.AdminListen != "127.0.0.1:9090" {
		t.Errorf("listen, admin_listen = %q, %q; want 127.0.0.1:8080, 127.0.0.1:9090", c.Listen, c.AdminListen)
	}
}

func TestModeDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		args      []string
		want      string
	}{
		{"empty file", "", nil, "forward"},
		{"file without routes", "[log]\nlevel = \"debug\"\n", nil, "forward"},
		{"file with a route", "[[route]]\nname = \"a\"\nupstream = \"http://o\"\n", nil, "reverse"},
		{"-upstream", "", []string{"-upstream", "http://o"}, "reverse"},
		{"-upstream over forward", "mode = \"forward\"\n", []string{"-upstream", "http://o"}, "reverse"},
		{"explicit forward", "mode = \"forward\"\n", nil, "forward"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadString(t, tt.doc, tt.args...)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if c.Mode != tt.want {
				t.Errorf("mode = %q; want %q", c.Mode, tt.want)
			}
		})
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	t.Parallel()
	const doc = `
listen = "127.0.0.1:1111"
admin_listen = "127.0.0.1:2222"
[[route]]
name = "a"
upstream = "http://a.internal"
[[route]]
name = "b"
path_prefix = "/b"
upstream = "http://b.internal"
`
	c, err := loadString(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1111" || c.AdminListen != "127.0.0.1:2222" || len(c.Routes) != 2 {
		t.Fatalf("file alone: listen %q admin %q %d routes; want the file's", c.Listen, c.AdminListen, len(c.Routes))
	}

	c, err = loadString(t, doc, "-listen", "127.0.0.1:3333", "-admin-listen", "127.0.0.1:4444", "-upstream", "https://o.internal/base")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:3333" || c.AdminListen != "127.0.0.1:4444" {
		t.Errorf("listen, admin_listen = %q, %q; want the flags' 127.0.0.1:3333, 127.0.0.1:4444", c.Listen, c.AdminListen)
	}
	want := RouteConfig{Name: "default", PathPrefix: "/", Upstream: "https://o.internal/base", PolicyConfig: defaultPolicy()}
	if len(c.Routes) != 1 || !reflect.DeepEqual(c.Routes[0], want) {
		t.Errorf("routes = %+v; want only %+v", c.Routes, want)
	}
}

func TestPolicyKeysDefaultPerRoute(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, `
[cache]
max_bytes = 1000000000
[[route]]
name = "off"
upstream = "http://o"
default_ttl = "0s"
max_heuristic_ttl = "0s"
max_object_size = "1GB"
cache_per_credential = true
[[route]]
name = "unset"
path_prefix = "/u"
upstream = "http://o"
`)
	if err != nil {
		t.Fatal(err)
	}
	off, unset := c.Routes[0].policy(), c.Routes[1].policy()
	if off.DefaultTTL != 0 || off.MaxHeuristicTTL != 0 || off.MaxObjectSize != 1e9 || !off.PerCredential {
		t.Errorf("route off policy = %+v; want 0s, 0s, 1e9, true as written", off)
	}
	if want := defaultPolicy().policy(); unset != want {
		t.Errorf("route unset policy = %+v; want the defaults %+v", unset, want)
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	const route = "[[route]]\nname = \"a\"\nupstream = \"http://o\"\n"
	tests := []struct {
		name string
		doc  string
		args []string
		want []string // substrings, each expected on a line of its own
	}{
		{"unknown top-level key", "lisen = \"x:1\"\n",
			nil, []string{`config: line 1: lisen: unknown key; the top level takes mode, listen, admin_listen, name`}},
		{"unknown keys in tables", "[server]\nreed_timeout = \"1s\"\n[[route]]\nname = \"a\"\nupstream = \"http://o\"\nttl = \"1s\"\n",
			nil, []string{
				`config: line 2: server.reed_timeout: unknown key; [server] takes read_header_timeout, read_timeout,`,
				`config: line 6: route.ttl: unknown key; [[route]] takes name, host, path_prefix, upstream, default_ttl,`,
			}},
		{"unknown table", "[cach]\nmax_bytes = \"1MiB\"\n",
			nil, []string{`config: line 1: cach: unknown key`}},
		{"bad duration", "[server]\nread_timeout = \"30\"\n",
			nil, []string{`config: line 2: server.read_timeout: "30" is not a duration: want a number with a unit`}},
		{"duration as integer", "[server]\nread_timeout = 30\nwrite_timeout = 1.5\n[[route]]\nname = \"a\"\nupstream = \"http://o\"\ndefault_ttl = 60\n",
			nil, []string{
				`config: server.read_timeout: must be a duration string like "30s", not a TOML integer`,
				`config: server.write_timeout: must be a duration string like "30s", not a TOML float`,
				`config: route[0].default_ttl: must be a duration string like "30s", not a TOML integer`,
			}},
		{"bad size", "[cache]\nmax_bytes = \"256M\"\n",
			nil, []string{`config: line 2: cache.max_bytes: "256M" is not a size: want a whole number with an optional unit`}},
		{"size as negative integer", "[cache]\nmax_bytes = -1\n",
			nil, []string{`config: cache.max_bytes: "-1" is not a size: want a whole number`}},
		{"size as float", "[cache]\nmax_bytes = 1.5\n",
			nil, []string{`config: cache.max_bytes: must be a size string like "256MiB", not a TOML float`}},
		{"string for integer", "[server]\nmax_header_bytes = \"64KiB\"\n",
			nil, []string{`server.max_header_bytes: must be an integer, not a TOML string`}},
		{"string for array", "[forward]\nallow_clients = \"10.0.0.0/8\"\n",
			nil, []string{`forward.allow_clients: must be an array of strings, not a TOML string`}},
		{"syntax error", "listen = \"x\nname = \"y\"\n",
			nil, []string{`config: line 1: `}},
		{"upstream scheme", route + "[[route]]\nname = \"b\"\npath_prefix = \"/b\"\nupstream = \"ftp://x\"\n",
			nil, []string{`config: route[1].upstream: "ftp://x" must be an http:// or https:// URL`}},
		{"upstream without host", "[[route]]\nname = \"a\"\nupstream = \"http:///x\"\n",
			nil, []string{`config: route[0].upstream: "http:///x" has no host`}},
		{"upstream query", "[[route]]\nname = \"a\"\nupstream = \"http://o/?a=1\"\n",
			nil, []string{`route[0].upstream: "http://o/?a=1" must not have a query`}},
		{"upstream fragment", "[[route]]\nname = \"a\"\nupstream = \"http://o/#x\"\n",
			nil, []string{`route[0].upstream: "http://o/#x" must not have a fragment`}},
		{"upstream credentials", "[[route]]\nname = \"a\"\nupstream = \"http://u:secret@o/\"\n",
			nil, []string{`route[0].upstream: "http://u:xxxxx@o/" must not hold credentials`}},
		{"upstream missing", "[[route]]\nname = \"a\"\n",
			nil, []string{`config: route[0].upstream: is required`}},
		{"upstream flag", "",
			[]string{"-upstream", "api.internal:8080"}, []string{`-upstream: "api.internal:8080" must be an http:// or https:// URL`}},
		{"duplicate route", route + route,
			nil, []string{
				`config: route[1].name: "a" is already the name of route[0]`,
				`config: route[1]: host "" and path_prefix "/" are already those of route[0] ("a")`,
			}},
		{"duplicate host case-insensitive", "[[route]]\nname = \"a\"\nhost = \"API.example.com\"\nupstream = \"http://o\"\n[[route]]\nname = \"b\"\nhost = \"api.example.com\"\nupstream = \"http://o\"\n",
			nil, []string{`config: route[1]: host "api.example.com" and path_prefix "/" are already those of route[0] ("a")`}},
		{"bad route name", "[[route]]\nname = \"My API\"\nupstream = \"http://o\"\n",
			nil, []string{`config: route[0].name: "My API" must match [a-z0-9_-]+`}},
		{"missing route name", "[[route]]\nupstream = \"http://o\"\n",
			nil, []string{`config: route[0].name: is required`}},
		{"bad violation action", "[[route]]\nname = \"a\"\nupstream = \"http://o\"\non_framing_violation = \"drop\"\n",
			nil, []string{`config: route[0].on_framing_violation: "drop" must be "repair" or "reject"`}},
		{"unknown violation rule", "[[route]]\nname = \"a\"\nupstream = \"http://o\"\non_violation = { \"204-bdy\" = \"reject\" }\n",
			nil, []string{`config: route[0].on_violation: "204-bdy" is not a rule; the rules are 204-content-length, 204-transfer-encoding, 204-body`}},
		{"bad per-rule action", "[forward]\non_violation = { \"etag-syntax\" = \"ignore\" }\n",
			nil, []string{`config: forward.on_violation.etag-syntax: "ignore" must be "repair" or "reject"`}},
		{"memory limit below the cache", "[cache]\nmax_bytes = \"256MiB\"\n[runtime]\nmemory_limit = \"128MiB\"\n",
			nil, []string{`config: runtime.memory_limit: "128MiB" must be 0 (the Go runtime's default) or larger than cache.max_bytes ("256MiB")`}},
		{"negative evidence", "[violations]\nevidence_per_route = -1\n",
			nil, []string{`config: violations.evidence_per_route: -1 must be between 0 (keep none) and 10000`}},
		{"bad proxy name", "name = \"cache proxy\"\n",
			nil, []string{`config: name: "cache proxy" must be a letter followed by`}},
		{"bad host", "[[route]]\nname = \"a\"\nhost = \"http://x\"\nupstream = \"http://o\"\n",
			nil, []string{`config: route[0].host: "http://x" must be "" (any host), a host like`}},
		{"host with port", "[[route]]\nname = \"a\"\nhost = \"x.example:8080\"\nupstream = \"http://o\"\n",
			nil, []string{`config: route[0].host: "x.example:8080" must not include a port`}},
		{"bad path prefix", "[[route]]\nname = \"a\"\npath_prefix = \"api\"\nupstream = \"http://o\"\n",
			nil, []string{`config: route[0].path_prefix: "api" must start with "/"`}},
		{"negative ttl", "[[route]]\nname = \"a\"\nupstream = \"http://o\"\ndefault_ttl = \"-1m\"\nmax_heuristic_ttl = \"-1s\"\n",
			nil, []string{
				`config: route[0].default_ttl: "-1m0s" must not be negative ("0s" turns the default lifetime off)`,
				`config: route[0].max_heuristic_ttl: "-1s" must not be negative`,
			}},
		{"max_object_size over max_bytes", "[cache]\nmax_bytes = \"1MiB\"\n[[route]]\nname = \"a\"\nupstream = \"http://o\"\nmax_object_size = \"2MiB\"\n",
			nil, []string{`config: route[0].max_object_size: "2MiB" must not be larger than cache.max_bytes ("1MiB")`}},
		{"default max_object_size over max_bytes", "[cache]\nmax_bytes = \"512KiB\"\n",
			nil, []string{`config: forward.max_object_size: "1MiB" must not be larger than cache.max_bytes ("512KiB")`}},
		{"zero max_object_size", "[forward]\nmax_object_size = \"0B\"\n",
			nil, []string{`config: forward.max_object_size: "0B" must be greater than 0`}},
		{"zero max_bytes", "[cache]\nmax_bytes = \"0\"\n",
			nil, []string{`config: cache.max_bytes: "0B" must be greater than 0`}},
		{"bad CIDR", "[forward]\nallow_clients = [\"10.0.0.0/8\", \"10.0.0.0\", \"192.168.1.1/16\"]\n",
			nil, []string{
				`config: forward.allow_clients[1]: "10.0.0.0" is not a CIDR prefix`,
				`config: forward.allow_clients[2]: "192.168.1.1/16" has address bits set past its length: write "192.168.0.0/16"`,
			}},
		{"bad port", "[forward]\nconnect_ports = [443, 0, 70000]\n",
			nil, []string{
				`config: forward.connect_ports[1]: 0 is not a port (1 to 65535)`,
				`config: forward.connect_ports[2]: 70000 is not a port (1 to 65535)`,
			}},
		{"bad mode", "mode = \"transparent\"\n",
			nil, []string{`config: mode: "transparent" must be "reverse" or "forward"`}},
		{"reverse without routes", "mode = \"reverse\"\n",
			nil, []string{`config: mode: "reverse" needs at least one [[route]]`}},
		{"forward with routes", "mode = \"forward\"\n" + route,
			nil, []string{`config: mode: "forward" takes no [[route]] (1 given)`}},
		{"bad listen in file", "listen = \"8080\"\n",
			nil, []string{`config: listen: "8080" is not host:port`}},
		{"bad listen flag", "",
			[]string{"-listen", "abc"}, []string{`-listen: "abc" is not host:port`}},
		{"bad admin-listen flag", "",
			[]string{"-admin-listen", "127.0.0.1:99999"}, []string{`-admin-listen: "127.0.0.1:99999" is not host:port`}},
		{"same listeners", "listen = \"127.0.0.1:7000\"\nadmin_listen = \"127.0.0.1:7000\"\n",
			nil, []string{`config: admin_listen: "127.0.0.1:7000" is also listen`}},
		{"zero upstream timeout", "[upstream]\ndial_timeout = \"0s\"\nmax_idle_conns_per_host = 0\n",
			nil, []string{
				`config: upstream.dial_timeout: "0s" must be greater than 0`,
				`config: upstream.max_idle_conns_per_host: 0 must be greater than 0`,
			}},
		{"negative server timeout", "[server]\nwrite_timeout = \"-5s\"\nmax_header_bytes = -1\n",
			nil, []string{
				`config: server.write_timeout: "-5s" must not be negative (0s means no limit)`,
				`config: server.max_header_bytes: -1 must be greater than 0`,
			}},
		{"bad log", "[log]\nlevel = \"verbose\"\nformat = \"xml\"\n",
			nil, []string{
				`config: log.level: "verbose" must be "debug", "info", "warn" or "error"`,
				`config: log.format: "xml" must be "text" or "json"`,
			}},
		{"negative expected entries", "[cache]\nexpected_entries = -1\n",
			nil, []string{`config: cache.expected_entries: -1 must not be negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadString(t, tt.doc, tt.args...)
			if err == nil {
				t.Fatalf("load succeeded with %+v; want problems %q", c, tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problem lines; want %d:\n%s", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, w)
				}
				if !found {
					t.Errorf("problems:\n%s\nwant a line containing %q", err, w)
				}
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	t.Parallel()
	f, err := parseFlags([]string{"-config", filepath.Join(t.TempDir(), "nope.toml")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = loadConfig(f)
	if err == nil || !strings.HasPrefix(err.Error(), "-config: open ") {
		t.Errorf("loadConfig with a missing file = %v; want a -config: open ... problem", err)
	}
}
