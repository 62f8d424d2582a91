package deploy_test

// Just enough PromQL and YAML to check the queries in deploy/ against the
// metrics the proxy exports, without the Prometheus module (huge) or a YAML
// module go.mod does not require. promtool, where installed, parses both
// files properly (promtool_test.go).

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// selector is one vector selector of a PromQL expression: a metric name and
// its label matchers.
type selector struct {
	name     string
	matchers []matcher
}

// matcher is one label matcher: label op "value".
type matcher struct {
	label, op, value string
}

func (s selector) String() string {
	ms := make([]string, len(s.matchers))
	for i, m := range s.matchers {
		ms[i] = m.label + m.op + strconv.Quote(m.value)
	}
	return s.name + "{" + strings.Join(ms, ",") + "}"
}

// matcher returns the first matcher of label, if any.
func (s selector) matcher(label string) (matcher, bool) {
	for _, m := range s.matchers {
		if m.label == label {
			return m, true
		}
	}
	return matcher{}, false
}

// PromQL words that are not metric names. Keywords are case-insensitive.
var (
	promqlKeywords = []string{"and", "or", "unless", "offset", "bool", "atan2", "inf", "nan"}
	aggregators    = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
	// labelListKeywords are followed by a parenthesized list of label
	// names, not an expression (optional after group_left/group_right).
	labelListKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
)

// parseSelectors returns the vector selectors of the PromQL expression
// expr, in order: every identifier that is not a keyword, an aggregation,
// a function (followed by "(") or a label name (in matchers and in by/on
// lists), with the matchers in braces after it. Strings, comments, numbers,
// durations and the contents of brackets (ranges, Grafana's
// $__rate_interval) are skipped. It is a tokenizer, not a parser: it
// checks no grammar beyond the matchers.
func parseSelectors(expr string) ([]selector, error) {
	var sels []selector
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			_, n, err := readString(s[i:])
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			i += n
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("offset %d: unclosed [", i)
			}
			i += j + 1
		case c == '{':
			ms, n, err := readMatchers(s[i:])
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			i += n
			m, ok := selector{matchers: ms}.matcher("__name__")
			if !ok || m.op != "=" {
				return nil, fmt.Errorf("offset %d: selector without a metric name", i)
			}
			sels = append(sels, selector{name: m.value, matchers: ms})
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') { // 0.5, 1e3, 0x1f, 1h30m
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			id := s[i:j]
			i = j
			next := skipSpace(s, i)
			lower := strings.ToLower(id)
			switch {
			case slices.Contains(labelListKeywords, lower):
				if next < len(s) && s[next] == '(' {
					end := strings.IndexByte(s[next:], ')')
					if end < 0 {
						return nil, fmt.Errorf("offset %d: unclosed label list after %s", next, id)
					}
					i = next + end + 1
				}
			case slices.Contains(promqlKeywords, lower), slices.Contains(aggregators, lower):
			case next < len(s) && s[next] == '(':
				// a function call
			default:
				sel := selector{name: id}
				if next < len(s) && s[next] == '{' {
					ms, n, err := readMatchers(s[next:])
					if err != nil {
						return nil, fmt.Errorf("offset %d: %s: %w", next, id, err)
					}
					sel.matchers = ms
					i = next + n
				}
				sels = append(sels, sel)
			}
		default:
			i++
		}
	}
	return sels, nil
}

// readMatchers reads `{label op "value", …}` at the start of s and returns
// the matchers and the bytes consumed.
func readMatchers(s string) ([]matcher, int, error) {
	var ms []matcher
	i := skipSpace(s, 1)
	for {
		if i >= len(s) {
			return nil, 0, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return ms, i + 1, nil
		}
		j := i
		for j < len(s) && isIdentChar(s[j]) && s[j] != ':' {
			j++
		}
		if j == i || !isIdentStart(s[i]) {
			return nil, 0, fmt.Errorf("want a label name at %q", s[i:])
		}
		m := matcher{label: s[i:j]}
		i = skipSpace(s, j)
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s[i:], op) {
				m.op = op
				break
			}
		}
		if m.op == "" {
			return nil, 0, fmt.Errorf("want a matcher operator after %s", m.label)
		}
		i = skipSpace(s, i+len(m.op))
		if i >= len(s) || !strings.ContainsRune("\"'`", rune(s[i])) {
			return nil, 0, fmt.Errorf("want a quoted value for %s", m.label)
		}
		v, n, err := readString(s[i:])
		if err != nil {
			return nil, 0, err
		}
		m.value = v
		ms = append(ms, m)
		i = skipSpace(s, i+n)
		if i < len(s) && s[i] == ',' {
			i = skipSpace(s, i+1)
		}
	}
}

// readString reads the quoted string at the start of s ('…', "…" with Go
// escapes, or `…` raw) and returns its value and the bytes consumed.
func readString(s string) (string, int, error) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if q != '`' {
				i++
			}
		case q:
			lit := s[:i+1]
			if q == '\'' { // PromQL's single quotes escape like Go's double quotes
				lit = `"` + strings.ReplaceAll(strings.ReplaceAll(s[1:i], `\'`, `'`), `"`, `\"`) + `"`
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				return "", 0, fmt.Errorf("bad string %s: %w", s[:i+1], err)
			}
			return v, i + 1, nil
		}
	}
	return "", 0, fmt.Errorf("unterminated string %s", s)
}

func skipSpace(s string, i int) int {
	for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// rule is one rule of a Prometheus rule file.
type rule struct {
	kind  string // "record" or "alert"
	name  string
	expr  string
	line  int      // of its "- record:" or "- alert:" line, 1-based
	lines []string // its lines after that one, up to the next rule
}

var (
	ruleStartRE = regexp.MustCompile(`^\s*-\s+(record|alert):\s*(.*?)\s*$`)
	exprRE      = regexp.MustCompile(`^(\s*)expr:\s*(.*?)\s*$`)
	ruleKeyRE   = regexp.MustCompile(`^\s*(?:-\s+)?(record|alert|expr):`)
)

// parseRules reads the rules of a Prometheus rule file written in the
// shape rules.yml keeps to: each rule starts with a "- record:" or
// "- alert:" line, and its expr is a scalar on the "expr:" line or a
// literal block ("|" or "|-") indented under it. Any other placement of
// these keys is an error, so that no rule goes unchecked.
func parseRules(src string) ([]rule, error) {
	lines := strings.Split(src, "\n")
	var rules []rule
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := ruleStartRE.FindStringSubmatch(line); m != nil {
			name, err := yamlScalar(m[2])
			if err != nil || name == "" {
				return nil, fmt.Errorf("line %d: bad %s name %q", i+1, m[1], m[2])
			}
			rules = append(rules, rule{kind: m[1], name: name, line: i + 1})
			continue
		}
		m := exprRE.FindStringSubmatch(line)
		if m == nil {
			if ruleKeyRE.MatchString(line) {
				return nil, fmt.Errorf("line %d: unsupported placement: %s", i+1, strings.TrimSpace(line))
			}
			if len(rules) > 0 {
				r := &rules[len(rules)-1]
				r.lines = append(r.lines, line)
			}
			continue
		}
		if len(rules) == 0 {
			return nil, fmt.Errorf("line %d: expr outside a rule", i+1)
		}
		r := &rules[len(rules)-1]
		if r.expr != "" {
			return nil, fmt.Errorf("line %d: second expr in %s", i+1, r.name)
		}
		switch v := m[2]; {
		case v == "|" || v == "|-":
			indent := len(m[1])
			var block []string
			for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || leadingSpaces(lines[i+1]) > indent) {
				i++
				block = append(block, lines[i])
			}
			r.expr = strings.TrimSpace(dedent(block))
		case v == "" || v[0] == '|' || v[0] == '>':
			return nil, fmt.Errorf("line %d: unsupported expr form %q (use a line or a | block)", i+1, v)
		default:
			expr, err := yamlScalar(v)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			r.expr = expr
		}
		if r.expr == "" {
			return nil, fmt.Errorf("line %d: empty expr in %s", i+1, r.name)
		}
	}
	for _, r := range rules {
		if r.expr == "" {
			return nil, fmt.Errorf("line %d: %s %s has no expr", r.line, r.kind, r.name)
		}
	}
	return rules, nil
}

// yamlScalar returns the value of a one-line YAML scalar: plain (a
// trailing " #" comment removed), 'single' or "double" quoted.
func yamlScalar(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `"`):
		return strconv.Unquote(v)
	case strings.HasPrefix(v, "'"):
		if len(v) < 2 || !strings.HasSuffix(v, "'") {
			return "", fmt.Errorf("unterminated %s", v)
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v), nil
}

func leadingSpaces(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// dedent removes the indentation of the first non-blank line from every
// line of block and joins them.
func dedent(block []string) string {
	indent := -1
	for _, l := range block {
		if strings.TrimSpace(l) != "" {
			indent = leadingSpaces(l)
			break
		}
	}
	out := make([]string, len(block))
	for i, l := range block {
		if len(l) >= indent && indent >= 0 {
			l = l[indent:]
		}
		out[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(out, "\n")
}

func TestParseSelectors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, expr string
		want       []string // selector.String()
	}{
		{"plain", "up", []string{"up{}"}},
		{"matchers and range", `rate(cacheproxy_cache_requests_total{route=~"$route", result="hit"}[5m])`,
			[]string{`cacheproxy_cache_requests_total{route=~"$route",result="hit"}`}},
		{"by list and Grafana interval", `histogram_quantile(0.99, sum by (le, result) (rate(m_bucket{a="x"}[$__rate_interval])))`,
			[]string{`m_bucket{a="x"}`}},
		{"brace in string", `m{a="}", b!~'it\'s|x'}`, []string{`m{a="}",b!~"it's|x"}`}},
		{"escaped quote", `m{a="say \"hi\""}`, []string{`m{a="say \"hi\""}`}},
		{"recording rules, offset, on, group_left",
			"a:b:c < 0.5 * (a:b:c offset 1h) and on (job, route) group_left (x) sum by (job) (d{r!=\"\"}) >= 0.5",
			[]string{"a:b:c{}", "a:b:c{}", `d{r!=""}`}},
		{"upper-case keywords", "SUM BY (x) (a) AND ON() b", []string{"a{}", "b{}"}},
		{"comment", "# foo bar\nbaz # qux\n", []string{"baz{}"}},
		{"numbers", "1e3 + 0x1f + .5 + Inf + NaN", nil},
		{"name matcher", `{__name__="m", a="b"}`, []string{`m{__name__="m",a="b"}`}},
		{"functions only", "vector(1) + time()", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sels, err := parseSelectors(c.expr)
			if err != nil {
				t.Fatalf("parseSelectors(%q): %v", c.expr, err)
			}
			var got []string
			for _, s := range sels {
				got = append(got, s.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("parseSelectors(%q) = %q; want %q", c.expr, got, c.want)
			}
		})
	}
	for _, expr := range []string{`m{a="b"`, `m{a}`, `m{a=b}`, `m{a="b}`, `m[5m`, `{a="b"}`, `{__name__=~"m.*"}`, `m{1a="b"}`} {
		if sels, err := parseSelectors(expr); err == nil {
			t.Errorf("parseSelectors(%q) = %v; want an error", expr, sels)
		}
	}
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	const src = `groups:
  - name: g
    rules:
      - record: a:b:rate5m
        expr: sum(rate(x[5m])) # why
      - alert: Quoted
        expr: 'up == 0'
        labels:
          severity: warning
      - alert: Block
        expr: |
          a
            / b

          > 1
        for: 5m
`
	rules, err := parseRules(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []rule{
		{kind: "record", name: "a:b:rate5m", expr: "sum(rate(x[5m]))", line: 4},
		{kind: "alert", name: "Quoted", expr: "up == 0", line: 6},
		{kind: "alert", name: "Block", expr: "a\n  / b\n\n> 1", line: 10},
	}
	if len(rules) != len(want) {
		t.Fatalf("parseRules: %d rules; want %d", len(rules), len(want))
	}
	for i, r := range rules {
		w := want[i]
		if r.kind != w.kind || r.name != w.name || r.expr != w.expr || r.line != w.line {
			t.Errorf("rule %d = %s %q %q line %d; want %s %q %q line %d", i, r.kind, r.name, r.expr, r.line, w.kind, w.name, w.expr, w.line)
		}
	}
	if !slices.Contains(rules[1].lines, "          severity: warning") {
		t.Errorf("rule Quoted lines = %q; want its labels", rules[1].lines)
	}

	for name, bad := range map[string]string{
		"no expr":          "- record: a\n- record: b\n  expr: x\n",
		"expr first":       "- expr: x\n  record: a\n",
		"record not first": "- labels: {}\n  record: a\n  expr: x\n",
		"folded":           "- record: a\n  expr: >\n    x\n",
		"two exprs":        "- record: a\n  expr: x\n  expr: y\n",
		"orphan expr":      "expr: x\n",
		"empty block":      "- record: a\n  expr: |\n- record: b\n  expr: y\n",
	} {
		if rules, err := parseRules(bad); err == nil {
			t.Errorf("parseRules(%s) = %v; want an error", name, rules)
		}
	}
}
