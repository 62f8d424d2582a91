package compliance

import (
	"slices"
	"testing"
)

// step is one event on a connection: a Begin (method set), a Feed (data),
// or the end of the connection (eof).
type step struct {
	begin string
	data  string
	eof   bool
}

func begin(method string) step { return step{begin: method} }
func feed(data string) step    { return step{data: data} }
func eof() step                { return step{eof: true} }

// outcome is what a script does to a Framer, independent of how its Feeds
// were split.
type outcome struct {
	passed   int // total of the n Feed returned
	rules    []Rule
	poisoned bool
	idle     bool
}

// run plays steps on a new Framer, splitting each Feed's data with split,
// and checks the Feed contract on the way. It also returns the
// violations themselves.
func run(t testing.TB, steps []step, split func(string) []string) (outcome, []Violation) {
	t.Helper()
	f := NewFramer()
	var o outcome
	var all []Violation
	for _, s := range steps {
		switch {
		case s.begin != "":
			f.Begin(s.begin)
		case s.eof:
			all = append(all, f.EOF()...)
		default:
			for _, part := range split(s.data) {
				p := []byte(part)
				wasPoisoned := o.poisoned
				n, vs, poisoned := f.Feed(p)
				checkFeed(t, p, n, vs, poisoned, wasPoisoned)
				o.passed += n
				o.poisoned = poisoned
				all = append(all, vs...)
			}
		}
	}
	for _, v := range all {
		o.rules = append(o.rules, v.Rule)
	}
	o.idle = f.Idle()
	return o, all
}

// checkFeed checks one Feed's results against its contract.
func checkFeed(t testing.TB, p []byte, n int, vs []Violation, poisoned, wasPoisoned bool) {
	t.Helper()
	if n < 0 || n > len(p) {
		t.Fatalf("Feed(%q) n = %d; want in [0, %d]", p, n, len(p))
	}
	if n < len(p) && !poisoned {
		t.Fatalf("Feed(%q) = %d, not poisoned; want n == len(p) unless poisoned", p, n)
	}
	if wasPoisoned && (n != 0 || vs != nil || !poisoned) {
		t.Fatalf("Feed after poison = %d, %v, %v; want 0, nil, true", n, vs, poisoned)
	}
	for _, v := range vs {
		if v.Rule.Index() < 0 {
			t.Fatalf("Feed(%q) reports unknown rule %q", p, v.Rule)
		}
		if len(v.Stray) > MaxEvidence || v.StrayLen < int64(len(v.Stray)) {
			t.Fatalf("Feed(%q) evidence: %d stray bytes kept, StrayLen %d", p, len(v.Stray), v.StrayLen)
		}
		if v.Detail == "" {
			t.Fatalf("Feed(%q): %s with no Detail", p, v.Rule)
		}
	}
}

// whole feeds each step's data in one piece.
func whole(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// bytewise feeds each step's data one byte at a time.
func bytewise(s string) []string {
	parts := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		parts[i] = s[i : i+1]
	}
	return parts
}

// splitAt returns a split function that cuts the data of the step-th feed
// at k.
func splitAt(feedIndex, k int) func(string) []string {
	i := -1
	return func(s string) []string {
		i++
		if i != feedIndex || k <= 0 || k >= len(s) {
			return whole(s)
		}
		return []string{s[:k], s[k:]}
	}
}

func equalOutcome(a, b outcome) bool {
	return a.passed == b.passed && a.poisoned == b.poisoned && a.idle == b.idle && slices.Equal(a.rules, b.rules)
}

// checkSplits checks that every way of cutting the script's feeds in two,
// and feeding one byte at a time, gives the outcome of whole feeds.
func checkSplits(t *testing.T, steps []step, want outcome) {
	t.Helper()
	if got, _ := run(t, steps, bytewise); !equalOutcome(got, want) {
		t.Errorf("one byte at a time: %+v; want %+v", got, want)
	}
	feedIndex := 0
	for _, s := range steps {
		if s.begin != "" || s.eof {
			continue
		}
		for k := 1; k < len(s.data); k++ {
			if got, _ := run(t, steps, splitAt(feedIndex, k)); !equalOutcome(got, want) {
				t.Errorf("feed %d cut at %d (%q | %q): %+v; want %+v",
					feedIndex, k, s.data[:k], s.data[k:], got, want)
			}
		}
		feedIndex++
	}
}
