package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cacheproxy/cacheproxy/proxy"
	"github.com/cacheproxy/cacheproxy/proxy/compliance"
)

// chromiumPath returns Debian's chromium, skipping the test when it is not
// installed, unless CACHEPROXY_REQUIRE_TOOLS=1 (CI) makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CACHEPROXY_REQUIRE_TOOLS") == "1" {
			t.Fatalf("chromium not found and CACHEPROXY_REQUIRE_TOOLS=1: %v", err)
		}
		t.Skipf("chromium not found (apt-get install chromium): %v", err)
	}
	return path
}

// dumpDOM loads url in headless chromium, lets the page run for budget of
// virtual time, and returns the DOM it then holds, serialized.
func dumpDOM(t *testing.T, chromium, url string, budget time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-crash-reporter", "--no-proxy-server",
		"--user-data-dir="+dir,
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10),
		"--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.WaitDelay = 5 * time.Second // chromium's helpers may hold stdout
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v (ctx: %v)\nstderr:\n%s", url, err, ctx.Err(), stderr.Bytes())
	}
	if stdout.Len() == 0 {
		t.Fatalf("chromium --dump-dom %s printed nothing\nstderr:\n%s", url, stderr.Bytes())
	}
	return stdout.String()
}

// domElem is an element of a dumped DOM: its attributes and its text
// content (all descendant text, as textContent reads it).
type domElem struct {
	tag      string
	attr     map[string]string
	text     strings.Builder
	children []*domElem
}

// domScriptOrStyle matches the page's own script and style elements, whose
// contents are not markup.
var domScriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b[^>]*>.*?</(script|style)>`)

// parseDOM parses chromium's serialization of a DOM (HTML with every
// element closed but the void ones) into its elements, in document order.
func parseDOM(t *testing.T, dom string) []*domElem {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(domScriptOrStyle.ReplaceAllString(dom, "")))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var all, open []*domElem
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatalf("parsing the dumped DOM: %v\n%s", err, dom)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &domElem{tag: tok.Name.Local, attr: make(map[string]string)}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			if len(open) > 0 {
				parent := open[len(open)-1]
				parent.children = append(parent.children, e)
			}
			all = append(all, e)
			open = append(open, e)
		case xml.EndElement:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case xml.CharData:
			for _, e := range open {
				e.text.Write(tok)
			}
		}
	}
}

// hasAttr reports whether e has the attribute called name.
func hasAttr(e *domElem, name string) bool {
	_, ok := e.attr[name]
	return ok
}

// statusDOM is the status page as chromium rendered it.
type statusDOM struct {
	t     *testing.T
	elems []*domElem
}

// find returns the one element whose attributes include every key=value
// of kv; the test fails if there is not exactly one.
func (d *statusDOM) find(within []*domElem, kv ...string) *domElem {
	d.t.Helper()
	var found []*domElem
	var walk func(es []*domElem)
	walk = func(es []*domElem) {
		for _, e := range es {
			match := true
			for i := 0; i+1 < len(kv); i += 2 {
				if v, ok := e.attr[kv[i]]; !ok || v != kv[i+1] {
					match = false
				}
			}
			if match {
				found = append(found, e)
			}
			walk(e.children)
		}
	}
	walk(within)
	if len(found) != 1 {
		d.t.Fatalf("the page has %d elements with %v; want 1", len(found), kv)
	}
	return found[0]
}

// roots returns the top elements of the DOM.
func (d *statusDOM) roots() []*domElem { return d.elems[:1] }

// field returns route's figure called field ("" route: a page-wide one).
func (d *statusDOM) field(route, field string) *domElem {
	d.t.Helper()
	if route == "" {
		return d.find(d.roots(), "data-field", field)
	}
	return d.find(d.roots(), "data-route", route, "data-field", field)
}

// check fails unless route's figure called field shows text and, when
// value is not "", carries data-value value.
func (d *statusDOM) check(route, field, text, value string) {
	d.t.Helper()
	e := d.field(route, field)
	if got := strings.TrimSpace(e.text.String()); got != text {
		d.t.Errorf("%s %s shows %q; want %q", route, field, got, text)
	}
	if got, ok := e.attr["data-value"]; value != "" && got != value || value == "" && ok {
		d.t.Errorf("%s %s data-value = %q (set: %v); want %q", route, field, got, ok, value)
	}
}

const (
	// statusCapacity and statusCacheBytes are the fixture's cache
	// capacity and the bytes it stores (1000+2000+4096).
	statusCapacity   = 1 << 20
	statusCacheBytes = 7096
	// statusEvidenceRequest is the request line of the newest evidence.
	statusEvidenceRequest = "GET /search?q=" + statusHostile
)

// statusServer starts a status handler on a loopback server over a
// registry with known figures and returns the page's URL. Each GET
// /status.json first records 4 more bypass requests on route api and
// moves the clock 2 s on, so that the k-th snapshot is at statusTime + 2k s
// with 3+4k bypass requests, and the page's rates are exact.
func statusServer(t *testing.T) string {
	t.Helper()
	reg, m := newStatusRegistry(t)
	api := m.Route("api")
	m.Route("static") // no traffic: no hit ratio
	statusDrive(api, proxy.ResultHit, 6)
	statusDrive(api, proxy.ResultMiss, 2)
	statusDrive(api, proxy.ResultStale, 1)
	statusDrive(api, proxy.ResultRevalidated, 1)
	statusDrive(api, proxy.ResultBypass, 3)
	statusRepeat(4, func() { api.Revalidation(proxy.OutcomeNotModified) })
	statusRepeat(2, func() { api.Revalidation(proxy.OutcomeModified) })
	api.Revalidation(proxy.OutcomeError)
	statusRepeat(3, func() { api.Violation(compliance.NoContentBody) })
	api.Violation(compliance.ETagSyntax)
	addStatusStore(t, reg, statusCapacity, 1000, 2000, 4096)

	ev := statusEvidence(compliance.NoContentBody, 2)
	ev[1].Detail = statusHostile
	ev[1].Request = statusEvidenceRequest
	ev[1].StrayBytes = 27
	ev[1].Stray = `<img src=x onerror=alert(1)>`
	evidence := map[string][]proxy.Evidence{"api": ev}

	clock := &statusClock{t: statusTime}
	h := (&statusPage{g: reg, evidence: func() map[string][]proxy.Evidence { return evidence }, now: clock.now}).handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status.json" {
			statusDrive(api, proxy.ResultBypass, 4)
			clock.advance(2 * time.Second)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	tests := []struct {
		name   string
		budget time.Duration
		// refreshed: the page fetched status.json at least twice, so it
		// shows rates; else exactly once, and rates are "—".
		refreshed bool
	}{
		{"first load shows totals and no rates", time.Second, false},
		{"refreshes show rates", 5 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := dumpDOM(t, chromium, statusServer(t), tt.budget)
			d := &statusDOM{t: t, elems: parseDOM(t, raw)}
			if len(d.elems) == 0 || d.elems[0].tag != "html" {
				t.Fatalf("dumped DOM does not start with <html>:\n%s", raw)
			}

			// Which snapshot the page shows: the k-th fetch is at
			// statusTime + 2k s.
			shown, err := time.Parse(time.RFC3339Nano, d.field("", "updated").attr["data-value"])
			if err != nil {
				t.Fatalf("the page shows no snapshot time (did its script run?): %v\n%s", err, raw)
			}
			k := int(shown.Sub(statusTime) / (2 * time.Second))
			t.Logf("the page shows the figures of fetch %d", k)
			switch {
			case tt.refreshed && k < 2:
				t.Fatalf("the page shows fetch %d; want it to have refreshed at least once", k)
			case !tt.refreshed && k != 1:
				t.Fatalf("the page shows fetch %d; want the first", k)
			}
			if e := d.field("", "error"); !hasAttr(e, "hidden") || e.text.Len() > 0 {
				t.Errorf("the page shows an error: %q", e.text.String())
			}

			// Totals and the hit ratio: (6+1+1) / (6+2+1+1).
			bypass := strconv.Itoa(3 + 4*k)
			all := strconv.Itoa(13 + 4*k)
			d.check("api", "hit-ratio", "80.0 %", "0.8")
			for _, c := range [][3]string{
				{"requests-hit", "6", "6"}, {"requests-miss", "2", "2"}, {"requests-stale", "1", "1"},
				{"requests-revalidated", "1", "1"}, {"requests-bypass", bypass, bypass}, {"requests-all", all, all},
				{"revalidations-not_modified", "4", "4"}, {"revalidations-modified", "2", "2"}, {"revalidations-error", "1", "1"},
				{"violations-204-body", "3", "3"}, {"violations-etag-syntax", "1", "1"},
			} {
				d.check("api", c[0], c[1], c[2])
			}
			rules := d.field("api", "violations")
			if got := len(rules.children); got != 2 {
				t.Errorf("api shows %d violation rows; want 2 (rules never broken left out)", got)
			}
			d.check("static", "hit-ratio", "—", "")
			d.check("static", "requests-all", "0", "0")

			// Rates: 4 bypass requests per 2 s between snapshots, nothing else.
			for _, r := range []string{"hit", "miss", "stale", "revalidated", "bypass", "all"} {
				switch {
				case !tt.refreshed:
					d.check("api", "rate-"+r, "—", "")
				case r == "bypass" || r == "all":
					d.check("api", "rate-"+r, "2.00", "2")
				default:
					d.check("api", "rate-"+r, "0.00", "0")
				}
			}
			if tt.refreshed {
				d.check("api", "rate-total", "2.00", "2")
			} else {
				d.check("api", "rate-total", "—", "")
			}

			// Cache size against capacity.
			d.check("", "cache-bytes", "6.9 KiB", strconv.Itoa(statusCacheBytes))
			d.check("", "cache-capacity", "1.0 MiB", strconv.Itoa(statusCapacity))
			d.check("", "cache-entries", "3", "3")
			d.check("", "cache-used", "0.7 %", strconv.FormatFloat(float64(statusCacheBytes)/statusCapacity, 'g', -1, 64))

			// The newest evidence first, its upstream-controlled strings
			// shown as text: the markup in them is in no element.
			row := d.find(d.roots(), "data-route", "api", "data-evidence", "0")
			cell := func(field string) string {
				t.Helper()
				return strings.TrimSpace(d.find([]*domElem{row}, "data-field", "evidence-"+field).text.String())
			}
			for _, c := range [][2]string{
				{"time", "2030-01-02 03:04:04 UTC"},
				{"rule", "204-body"},
				{"action", "repair"},
				{"status", "204"},
				{"request", statusEvidenceRequest},
				{"detail", statusHostile},
				{"stray", "27 B: <img src=x onerror=alert(1)>"},
			} {
				if got := cell(c[0]); got != c[1] {
					t.Errorf("newest evidence %s = %q; want %q", c[0], got, c[1])
				}
			}
			d.find(d.roots(), "data-route", "api", "data-evidence", "1")
			for _, e := range d.elems {
				if e.tag == "img" || e.attr["onerror"] != "" {
					t.Errorf("the page has an element <%s %v> from evidence; want evidence as text", e.tag, e.attr)
				}
			}
			if n := strings.Count(raw, "<script"); n != 1 {
				t.Errorf("the dumped DOM has %d script elements; want only the page's own", n)
			}
			if !strings.Contains(raw, "<title>cacheproxy status</title>") {
				t.Errorf("the page's title changed; evidence ran as script?\n%s", raw)
			}
		})
	}
}
