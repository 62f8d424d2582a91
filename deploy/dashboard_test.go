package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"
)

// dashboard is the part of the Grafana dashboard model the tests read.
type dashboard struct {
	ID            *int   `json:"id"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Links         []any  `json:"links"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// queryString returns the variable's query, a string or Grafana's
// {"query": "…"} object.
func (v variable) queryString() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	err := json.Unmarshal(v.Query, &o)
	return o.Query, err
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	} `json:"gridPos"`
	Targets []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

// readDashboard decodes the dashboard and returns it with its raw bytes.
func readDashboard(t *testing.T) (*dashboard, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return &d, raw
}

// allPanels returns the dashboard's panels, those inside rows included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// queries returns every PromQL expression of the dashboard's panels, and
// the label_values(metric, label) queries of its variables as
// labelValues.
func (d *dashboard) queries() (exprs []query, labelValues []query) {
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			exprs = append(exprs, query{fmt.Sprintf("panel %d %q %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.queryString()
		labelValues = append(labelValues, query{"variable " + v.Name, q})
		if v.Definition != q {
			labelValues = append(labelValues, query{"variable " + v.Name + " definition", v.Definition})
		}
	}
	return exprs, labelValues
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	d, raw := readDashboard(t)
	if d.UID != "cacheproxy" || d.Title == "" || d.ID != nil {
		t.Errorf("uid %q, title %q, id %v; want uid cacheproxy, a title, id null", d.UID, d.Title, d.ID)
	}
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 {
		t.Errorf("schemaVersion = %d; want 39 or near (Grafana 10/11)", d.SchemaVersion)
	}
	if len(d.Links) != 0 || bytes.Contains(raw, []byte("://")) {
		t.Errorf("the dashboard links outside itself (links %v, or a URL in its text)", d.Links)
	}

	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds := vars["datasource"]
	if q, err := ds.queryString(); ds.Type != "datasource" || err != nil || q != "prometheus" {
		t.Errorf("variable datasource: type %q query %q; want a datasource variable of prometheus", ds.Type, q)
	}
	rv := vars["route"]
	if q, _ := rv.queryString(); rv.Type != "query" || q != "label_values(cacheproxy_cache_requests_total, route)" ||
		!rv.Multi || !rv.IncludeAll || rv.Datasource == nil || rv.Datasource.UID != "${datasource}" {
		t.Errorf("variable route: %+v (query %q); want label_values(cacheproxy_cache_requests_total, route) on ${datasource}, multi, include all", rv, q)
	}

	type rect struct{ x, y, w, h int }
	var placed []rect
	ids := map[int]bool{}
	for _, p := range d.allPanels() {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		gp := p.GridPos
		r := rect{gp.X, gp.Y, gp.W, gp.H}
		if r.w <= 0 || r.h <= 0 || r.x < 0 || r.x+r.w > 24 {
			t.Errorf("panel %d %q: gridPos %+v outside 24 columns", p.ID, p.Title, gp)
		}
		for _, o := range placed {
			if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
				t.Errorf("panel %d %q overlaps another at %+v", p.ID, p.Title, o)
			}
		}
		placed = append(placed, r)
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" {
			t.Errorf("panel %d: title %q, description %q; want both", p.ID, p.Title, p.Description)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %d %q: datasource %+v; want ${datasource}", p.ID, p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no query", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %d %q: target %q with expr %q; want a unique refId and an expr", p.ID, p.Title, tg.RefID, tg.Expr)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %d %q target %s: datasource %+v; want ${datasource}", p.ID, p.Title, tg.RefID, tg.Datasource)
			}
		}
	}

	// The panels the dashboard promises, by what they query.
	exprs, _ := d.queries()
	for _, want := range []struct {
		what    string
		matches *regexp.Regexp
	}{
		{"hit ratio per route, from the recording rule", regexp.MustCompile(`^route:cacheproxy_hit_ratio:rate5m\{`)},
		{"request rate by result", regexp.MustCompile(`sum by \(result\) \(rate\(cacheproxy_cache_requests_total\{`)},
		{"p50 latency hit vs miss", regexp.MustCompile(`histogram_quantile\(0\.5, sum by \(le, result\) \(rate\(cacheproxy_request_duration_seconds_bucket\{[^}]*result=~"hit\|miss"`)},
		{"p99 latency hit vs miss", regexp.MustCompile(`histogram_quantile\(0\.99, sum by \(le, result\) \(rate\(cacheproxy_request_duration_seconds_bucket\{[^}]*result=~"hit\|miss"`)},
		{"revalidation outcomes", regexp.MustCompile(`by \(outcome\) \(rate\(cacheproxy_revalidations_total`)},
		{"violations by rule and route", regexp.MustCompile(`by \(route, rule\) \(rate\(cacheproxy_upstream_violations_total`)},
		{"cache memory", regexp.MustCompile(`cacheproxy_cache_bytes\)`)},
		{"cache capacity", regexp.MustCompile(`cacheproxy_cache_capacity_bytes\)`)},
		{"evictions rate", regexp.MustCompile(`rate\(cacheproxy_cache_evictions_total`)},
		{"upstream errors by kind", regexp.MustCompile(`by \(kind\) \(rate\(cacheproxy_upstream_errors_total`)},
		{"bytes served from cache", regexp.MustCompile(`rate\(cacheproxy_cache_served_bytes_total`)},
		{"bytes saved by 304", regexp.MustCompile(`rate\(cacheproxy_revalidation_saved_bytes_total`)},
	} {
		found := false
		for _, q := range exprs {
			found = found || want.matches.MatchString(q.expr)
		}
		if !found {
			t.Errorf("no panel shows %s (a query matching %s)", want.what, want.matches)
		}
	}
}
