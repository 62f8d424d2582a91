package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// problem is one thing wrong with the command line or the configuration.
// Its message is one line naming the flag or TOML key and what is allowed:
//
//	-listen: "abc" is not host:port (like "127.0.0.1:8080" or ":8080")
//	config: route[1].upstream: "ftp://x" must be an http:// or https:// URL
//	config: line 7: server.reed_timeout: unknown key; [server] takes ...
type problem struct {
	line int    // line in the configuration file; 0 if not known
	key  string // a flag ("-listen") or a TOML key ("route[1].upstream"); may be ""
	msg  string
}

func (p *problem) Error() string {
	if strings.HasPrefix(p.key, "-") {
		return p.key + ": " + p.msg
	}
	var b strings.Builder
	b.WriteString("config: ")
	if p.line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.line)
	}
	if p.key != "" {
		b.WriteString(p.key + ": ")
	}
	b.WriteString(p.msg)
	return b.String()
}

// validator collects problems.
type validator struct {
	setBy map[string]string // see Config.setBy
	errs  []error
}

// add records a problem with key, or with the flag that set key.
func (v *validator) add(key, format string, args ...any) {
	if f, ok := v.setBy[key]; ok {
		key = f
	}
	v.errs = append(v.errs, &problem{key: key, msg: fmt.Sprintf(format, args...)})
}

// Validate reports every problem with c, one error per problem joined with
// errors.Join (so that Error prints one per line), or nil. It expects
// applyDefaults to have run.
func (c *Config) Validate() error {
	v := &validator{setBy: c.setBy}

	switch c.Mode {
	case "reverse":
		if len(c.Routes) == 0 {
			v.add("mode", `"reverse" needs at least one [[route]] (or -upstream URL)`)
		}
	case "forward":
		if len(c.Routes) > 0 {
			v.add("mode", `"forward" takes no [[route]] (%d given): remove them or set mode = "reverse"`, len(c.Routes))
		}
	default:
		v.add("mode", `%q must be "reverse" or "forward"`, c.Mode)
	}
	v.hostPort("listen", c.Listen)
	v.hostPort("admin_listen", c.AdminListen)
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		v.add("admin_listen", "%q is also listen: the admin listener needs an address of its own", c.AdminListen)
	}
	if !proxy.ValidName(c.Name) {
		v.add("name", "%q must be a letter followed by letters, digits and !#$%%&'*+-.^_`|~ (it names the proxy in Cache-Status and Via)", c.Name)
	}

	s := c.Server
	v.nonNegative("server.read_header_timeout", s.ReadHeaderTimeout)
	v.nonNegative("server.read_timeout", s.ReadTimeout)
	v.nonNegative("server.write_timeout", s.WriteTimeout)
	v.nonNegative("server.idle_timeout", s.IdleTimeout)
	if s.MaxHeaderBytes <= 0 {
		v.add("server.max_header_bytes", "%d must be greater than 0", s.MaxHeaderBytes)
	}
	v.nonNegative("server.shutdown_grace", s.ShutdownGrace)

	u := c.Upstream
	v.positive("upstream.dial_timeout", u.DialTimeout)
	v.positive("upstream.response_header_timeout", u.ResponseHeaderTimeout)
	v.positive("upstream.idle_conn_timeout", u.IdleConnTimeout)
	if u.MaxIdleConnsPerHost <= 0 {
		v.add("upstream.max_idle_conns_per_host", "%d must be greater than 0", u.MaxIdleConnsPerHost)
	}
	v.positive("upstream.fill_timeout", u.FillTimeout)

	if c.Cache.MaxBytes.Bytes <= 0 {
		v.add("cache.max_bytes", "%q must be greater than 0", c.Cache.MaxBytes)
	}
	if c.Cache.ExpectedEntries < 0 {
		v.add("cache.expected_entries", "%d must not be negative (0 derives it from max_bytes)", c.Cache.ExpectedEntries)
	}
	v.positive("cache.stale_retention", c.Cache.StaleRetention)

	for i, s := range c.Forward.AllowClients {
		v.prefix(fmt.Sprintf("forward.allow_clients[%d]", i), s)
	}
	for i, p := range c.Forward.ConnectPorts {
		if p < 1 || p > 65535 {
			v.add(fmt.Sprintf("forward.connect_ports[%d]", i), "%d is not a port (1 to 65535)", p)
		}
	}
	v.positive("forward.dial_timeout", c.Forward.DialTimeout)
	v.policy("forward.", c.Forward.PolicyConfig, c.Cache.MaxBytes)
	if c.Violations.EvidencePerRoute < 0 || c.Violations.EvidencePerRoute > 10000 {
		v.add("violations.evidence_per_route", "%d must be between 0 (keep none) and 10000", c.Violations.EvidencePerRoute)
	}
	if ml := c.Runtime.MemoryLimit.Bytes; ml < 0 || (ml > 0 && ml <= c.Cache.MaxBytes.Bytes) {
		v.add("runtime.memory_limit", "%q must be 0 (the Go runtime's default) or larger than cache.max_bytes (%q), which the cache fills by design", c.Runtime.MemoryLimit, c.Cache.MaxBytes)
	}
	switch c.Log.Access {
	case "off", "text", "json":
	default:
		v.add("log.access", `%q must be "off", "text" or "json"`, c.Log.Access)
	}
	if !isFieldName(c.Admin.SurrogateKeyHeader) {
		v.add("admin.surrogate_key_header", "%q must be a header field name such as \"Surrogate-Key\"", c.Admin.SurrogateKeyHeader)
	}
	if strings.ContainsAny(c.Admin.PurgeToken, " \t\r\n") {
		v.add("admin.purge_token", "must not contain white space (it is sent as \"Authorization: Bearer <token>\")")
	}
	v.positive("violations.log_interval", c.Violations.LogInterval)

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", `%q must be "debug", "info", "warn" or "error"`, c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		v.add("log.format", `%q must be "text" or "json"`, c.Log.Format)
	}

	v.routes(c.Routes, c.Cache.MaxBytes)
	return errors.Join(v.errs...)
}

// routes checks each route and that names and (host, path_prefix) pairs
// are unique.
func (v *validator) routes(routes []RouteConfig, maxBytes Size) {
	names := make(map[string]int)
	matches := make(map[[2]string]int)
	for i, r := range routes {
		key := fmt.Sprintf("route[%d].", i)
		switch {
		case r.Name == "":
			v.add(key+"name", "is required ([a-z0-9_-]+; it labels the route's metrics)")
		case !isRouteName(r.Name):
			v.add(key+"name", "%q must match [a-z0-9_-]+ (it labels the route's metrics)", r.Name)
		default:
			if j, dup := names[r.Name]; dup {
				v.add(key+"name", "%q is already the name of route[%d]", r.Name, j)
			} else {
				names[r.Name] = i
			}
		}
		if msg := checkHost(r.Host); msg != "" {
			v.add(key+"host", "%q %s", r.Host, msg)
		}
		if !strings.HasPrefix(r.PathPrefix, "/") || strings.ContainsAny(r.PathPrefix, "?# \t\r\n") {
			v.add(key+"path_prefix", `%q must start with "/" and hold no query, fragment or spaces`, r.PathPrefix)
		}
		if msg := checkUpstream(r.Upstream); msg != "" {
			v.add(key+"upstream", "%s", msg)
		}
		v.policy(key, r.PolicyConfig, maxBytes)

		m := [2]string{strings.ToLower(r.Host), r.PathPrefix}
		if j, dup := matches[m]; dup {
			v.add(fmt.Sprintf("route[%d]", i), "host %q and path_prefix %q are already those of route[%d] (%q)", r.Host, r.PathPrefix, j, routes[j].Name)
		} else {
			matches[m] = i
		}
	}
}

// policy checks the policy keys under prefix ("route[0]." or "forward.").
func (v *validator) policy(prefix string, p PolicyConfig, maxBytes Size) {
	v.actions(prefix, p)
	if p.DefaultTTL != nil && p.DefaultTTL.Duration < 0 {
		v.add(prefix+"default_ttl", `%q must not be negative ("0s" turns the default lifetime off)`, *p.DefaultTTL)
	}
	if p.MaxHeuristicTTL != nil && p.MaxHeuristicTTL.Duration < 0 {
		v.add(prefix+"max_heuristic_ttl", `%q must not be negative ("0s" turns the heuristic off)`, *p.MaxHeuristicTTL)
	}
	if s := p.MaxObjectSize; s != nil {
		switch {
		case s.Bytes <= 0:
			v.add(prefix+"max_object_size", "%q must be greater than 0", *s)
		case maxBytes.Bytes > 0 && s.Bytes > maxBytes.Bytes:
			v.add(prefix+"max_object_size", "%q must not be larger than cache.max_bytes (%q)", *s, maxBytes)
		}
	}
}

// actions checks the violation keys of a policy under prefix.
func (v *validator) actions(prefix string, p PolicyConfig) {
	for key, a := range map[string]string{"on_framing_violation": p.OnFramingViolation, "on_header_violation": p.OnHeaderViolation} {
		if _, ok := parseAction(a); !ok && a != "" {
			v.add(prefix+key, `%q must be "repair" or "reject"`, a)
		}
	}
	rules := make([]string, 0, compliance.NumRules)
	for _, r := range compliance.AllRules() {
		rules = append(rules, string(r))
	}
	for _, rule := range slices.Sorted(maps.Keys(p.OnViolation)) {
		if compliance.Rule(rule).Index() < 0 {
			v.add(prefix+"on_violation", "%q is not a rule; the rules are %s", rule, strings.Join(rules, ", "))
		}
		if _, ok := parseAction(p.OnViolation[rule]); !ok {
			v.add(prefix+"on_violation."+rule, `%q must be "repair" or "reject"`, p.OnViolation[rule])
		}
	}
}

// parseAction reads "repair" or "reject".
func parseAction(s string) (proxy.Action, bool) {
	switch s {
	case "repair":
		return proxy.Repair, true
	case "reject":
		return proxy.Reject, true
	}
	return proxy.Repair, false
}

// nonNegative checks that a duration, where 0 means "no limit", is >= 0.
func (v *validator) nonNegative(key string, d Duration) {
	if d.Duration < 0 {
		v.add(key, "%q must not be negative (0s means no limit)", d)
	}
}

// positive checks that a duration is > 0.
func (v *validator) positive(key string, d Duration) {
	if d.Duration <= 0 {
		v.add(key, "%q must be greater than 0", d)
	}
}

// hostPort checks a listen address.
func (v *validator) hostPort(key, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || !isPort(port) {
		v.add(key, `%q is not host:port (like "127.0.0.1:8080", ":8080", or port 0 for any free port)`, addr)
	}
}

// prefix checks a CIDR prefix of forward.allow_clients.
func (v *validator) prefix(key, s string) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		v.add(key, `%q is not a CIDR prefix like "10.0.0.0/8" or "::1/128"`, s)
	case p != p.Masked():
		v.add(key, "%q has address bits set past its length: write %q", s, p.Masked())
	}
}

// checkUpstream returns what is wrong with an upstream URL, or "".
func checkUpstream(s string) string {
	if s == "" {
		return "is required (an http:// or https:// URL)"
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("%q is not a URL: %v", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host", s)
	case u.User != nil:
		return fmt.Sprintf("%q must not hold credentials", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("%q must not have a query", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("%q must not have a fragment", s)
	}
	return ""
}

// checkHost returns what is wrong with a route's host, or "".
func checkHost(h string) string {
	const allowed = `must be "" (any host), a host like "api.example.com" or "10.0.0.1", or "*.example.com" (its subdomains)`
	if h == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		if !isHostName(rest) {
			return allowed
		}
		return ""
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return ""
	}
	if host, port, err := net.SplitHostPort(h); err == nil && isHostName(host) && isPort(port) {
		return "must not include a port (the port is ignored when matching)"
	}
	if !isHostName(h) {
		return allowed
	}
	return ""
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_'.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if b := label[i]; !isAlnum(b) && b != '-' && b != '_' {
				return false
			}
		}
	}
	return true
}

// isPort reports whether s is a decimal port number, 0 to 65535.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s[0] != '+' && s[0] != '-'
}

// isRouteName reports whether s matches [a-z0-9_-]+.
func isRouteName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z') && !('0' <= b && b <= '9') && b != '_' && b != '-' {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// isFieldName reports whether s is an HTTP field name (a token, RFC 9110
// §5.1).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; !isAlnum(b) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(b)) {
			return false
		}
	}
	return true
}
