package compliance

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestAllRules(t *testing.T) {
	t.Parallel()
	rules := AllRules()
	if len(rules) != NumRules {
		t.Fatalf("len(AllRules()) = %d; want NumRules = %d", len(rules), NumRules)
	}
	for i, r := range rules {
		if got := r.Index(); got != i {
			t.Errorf("%q.Index() = %d; want %d", r, got, i)
		}
		if got := r.Severity(); got != Framing && got != Header {
			t.Errorf("%q.Severity() = %q; want framing or header", r, got)
		}
		if got := r.Reference(); !strings.HasPrefix(got, "RFC 91") {
			t.Errorf("%q.Reference() = %q; want RFC sections", r, got)
		}
	}
	// A new slice each call: callers may keep and change theirs.
	rules[0] = "changed"
	if got := AllRules()[0]; got != NoContentLength {
		t.Errorf("AllRules()[0] after changing an earlier result = %q; want %q", got, NoContentLength)
	}
}

func TestUnknownRule(t *testing.T) {
	t.Parallel()
	for _, r := range []Rule{"", "204", "204-Body", "content-length-mismatch "} {
		if got := r.Index(); got != -1 {
			t.Errorf("%q.Index() = %d; want -1", r, got)
		}
		if got := r.Severity(); got != "" {
			t.Errorf("%q.Severity() = %q; want \"\"", r, got)
		}
		if got := r.Reference(); got != "" {
			t.Errorf("%q.Reference() = %q; want \"\"", r, got)
		}
	}
}

// TestRulesMatchPackageTable keeps the methods and the table in the
// package doc (which docs/compliance.md and DESIGN.md follow) in step.
func TestRulesMatchPackageTable(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("rules.go")
	if err != nil {
		t.Fatal(err)
	}
	var table []Rule
	for line := range strings.Lines(string(src)) {
		fields := strings.Fields(strings.TrimPrefix(line, "//\t"))
		if !strings.HasPrefix(line, "//\t") || len(fields) < 3 || fields[0] == "rule" {
			continue
		}
		r := Rule(fields[0])
		table = append(table, r)
		if got := string(r.Severity()); got != fields[1] {
			t.Errorf("%q.Severity() = %q; the package table says %q", r, got, fields[1])
		}
		if ref := r.Reference(); !strings.HasSuffix(strings.TrimSpace(line), ref) {
			t.Errorf("%q.Reference() = %q; the package table says %q", r, ref, strings.TrimSpace(line))
		}
	}
	if !slices.Equal(table, AllRules()) {
		t.Errorf("package table rules = %q; AllRules() = %q", table, AllRules())
	}
}
