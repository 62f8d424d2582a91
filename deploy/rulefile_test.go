package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readRules parses rules.yml.
func readRules(t *testing.T) []rule {
	t.Helper()
	src, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseRules(string(src))
	if err != nil {
		t.Fatalf("%s: %v", rulesPath, err)
	}
	return rules
}

// recordedNames returns the names of the recording rules.
func recordedNames(rules []rule) []string {
	var names []string
	for _, r := range rules {
		if r.kind == "record" {
			names = append(names, r.name)
		}
	}
	return names
}

var (
	severityRE   = regexp.MustCompile(`^\s+severity:\s*(\S+)\s*$`)
	annotationRE = regexp.MustCompile(`^\s+(summary|description):\s*\S`)
	recordNameRE = regexp.MustCompile(`^[a-z_]+:cacheproxy_[a-z0-9_]+:[a-z0-9_]+$`)
	testExprRE   = regexp.MustCompile(`^\s*- expr:\s*(.+?)\s*$`)
	testAlertRE  = regexp.MustCompile(`^\s*- alertname:\s*(\S+)\s*$`)
	expAlertsRE  = regexp.MustCompile(`^\s*exp_alerts:\s*(\[\])?\s*$`)
)

// TestRulesFile checks the rules' conventions and that rules_test.yml
// covers each of them: every recording rule is queried by a
// promql_expr_test, every alert is expected both firing and not firing.
func TestRulesFile(t *testing.T) {
	t.Parallel()
	rules := readRules(t)
	src, err := os.ReadFile(rulesTestPath)
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}    // recording rules a promql_expr_test queries
	firing := map[string]bool{}    // alerts some test expects to fire
	notFiring := map[string]bool{} // alerts some test expects silent
	var alert string
	for _, line := range strings.Split(string(src), "\n") {
		if m := testExprRE.FindStringSubmatch(line); m != nil {
			expr, err := yamlScalar(m[1])
			if err != nil {
				t.Fatalf("%s: %v", rulesTestPath, err)
			}
			sels, err := parseSelectors(expr)
			if err != nil {
				t.Fatalf("%s: %q: %v", rulesTestPath, expr, err)
			}
			for _, s := range sels {
				tested[s.name] = true
			}
		}
		if m := testAlertRE.FindStringSubmatch(line); m != nil {
			alert = m[1]
		}
		if m := expAlertsRE.FindStringSubmatch(line); m != nil && alert != "" {
			if m[1] == "" {
				firing[alert] = true
			} else {
				notFiring[alert] = true
			}
		}
	}

	names := map[string]bool{}
	for _, r := range rules {
		if names[r.name] {
			t.Errorf("line %d: %s defined twice", r.line, r.name)
		}
		names[r.name] = true
		switch r.kind {
		case "record":
			if !recordNameRE.MatchString(r.name) {
				t.Errorf("line %d: recording rule %s; want level:cacheproxy_metric:operations", r.line, r.name)
			}
			if !tested[r.name] {
				t.Errorf("%s: no promql_expr_test in %s checks its value", r.name, rulesTestPath)
			}
		case "alert":
			if !strings.HasPrefix(r.name, "Cacheproxy") {
				t.Errorf("line %d: alert %s; want a name starting with Cacheproxy", r.line, r.name)
			}
			severity := ""
			annotations := map[string]bool{}
			for _, l := range r.lines {
				if m := severityRE.FindStringSubmatch(l); m != nil {
					severity = m[1]
				}
				if m := annotationRE.FindStringSubmatch(l); m != nil {
					annotations[m[1]] = true
				}
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, severity) {
				t.Errorf("alert %s: severity %q; want critical, warning or info", r.name, severity)
			}
			if !annotations["summary"] || !annotations["description"] {
				t.Errorf("alert %s: annotations %v; want summary and description", r.name, annotations)
			}
			if !firing[r.name] || !notFiring[r.name] {
				t.Errorf("alert %s: %s expects it firing %v, not firing %v; want both", r.name, rulesTestPath, firing[r.name], notFiring[r.name])
			}
		}
	}
}
