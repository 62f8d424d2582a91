package cache

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestNewEntryFiltersHeader(t *testing.T) {
	t.Parallel()
	header := http.Header{
		"Cache-Control":             {`max-age=60, no-cache="X-Secret", private="x-priv"`},
		"Connection":                {"X-Hop, close"},
		"X-Hop":                     {"1"},
		"Proxy-Connection":          {"keep-alive"},
		"Keep-Alive":                {"timeout=5"},
		"Te":                        {"trailers"},
		"Trailer":                   {"X-T"},
		"Transfer-Encoding":         {"chunked"},
		"Upgrade":                   {"h2c"},
		"Proxy-Authenticate":        {"Basic"},
		"Proxy-Authorization":       {"Basic x"},
		"Proxy-Authentication-Info": {"x"},
		"Set-Cookie":                {"a=1", "b=2"},
		"Set-Cookie2":               {"c=3"},
		"Age":                       {"3"},
		"Content-Length":            {"99"}, // the upstream's: never stored
		"X-Secret":                  {"s"},
		"X-Priv":                    {"p"},
		"Content-Type":              {"text/plain"},
		"Etag":                      {`"v1"`},
		"Vary":                      {"accept-encoding"},
		"X-Keep":                    {"a", "b"},
		"Date":                      {httpDate(t0())},
	}
	orig := header.Clone()
	req := &http.Request{Header: http.Header{"Accept-Encoding": {"gzip"}}}
	body := []byte("hello")
	e := NewEntry(req, 200, header, body, "", t0(), t0(), Policy{})

	want := http.Header{
		"Cache-Control":  {`max-age=60, no-cache="X-Secret", private="x-priv"`},
		"Content-Length": {"5"}, // the stored body's length
		"Content-Type":   {"text/plain"},
		"Etag":           {`"v1"`},
		"Vary":           {"accept-encoding"},
		"X-Keep":         {"a", "b"},
		"Date":           {httpDate(t0())},
	}
	if got := e.Header.Header(); !reflect.DeepEqual(got, want) {
		t.Errorf("NewEntry header =\n%v; want\n%v", got, want)
	}
	if !reflect.DeepEqual(header, orig) {
		t.Errorf("NewEntry modified its header argument: %v; want %v", header, orig)
	}
	header["X-Keep"][0] = "changed"
	if got := e.Header.Values("X-Keep")[0]; got != "a" {
		t.Errorf("stored X-Keep = %q after the caller changed its header; want %q (a copy)", got, "a")
	}
	if e.ETag != `"v1"` {
		t.Errorf("ETag = %q; want %q", e.ETag, `"v1"`)
	}
	if !reflect.DeepEqual(e.Vary, []string{"Accept-Encoding"}) || !reflect.DeepEqual(e.VaryValues, []string{"gzip"}) {
		t.Errorf("Vary, VaryValues = %q, %q; want [Accept-Encoding], [gzip]", e.Vary, e.VaryValues)
	}
	if e.Lifetime != 60*time.Second {
		t.Errorf("Lifetime = %v; want 60s", e.Lifetime)
	}
	if e.CorrectedInitialAge != 3*time.Second {
		t.Errorf("CorrectedInitialAge = %v; want 3s (from the Age field, which is not stored)", e.CorrectedInitialAge)
	}
	wantSize := int64(EntryOverhead + len(body))
	for name, values := range want {
		for _, v := range values {
			wantSize += int64(len(name)+len(v)) + FieldLineOverhead
		}
	}
	if e.Size != wantSize {
		t.Errorf("Size = %d; want %d", e.Size, wantSize)
	}
	if nc := NewEntry(nil, 204, http.Header{"Content-Length": {"5"}}, nil, "", t0(), t0(), Policy{}); nc.Header.Has("Content-Length") {
		t.Errorf("204 entry stores Content-Length %q; want none (RFC 9110 §8.6)", nc.Header.Values("Content-Length"))
	}
}

func TestNewEntryFields(t *testing.T) {
	t.Parallel()
	lm := t0().Add(-time.Hour)
	tests := []struct {
		name     string
		header   http.Header
		wantDate time.Time
		dateHdr  string
		etag     string
		lm       time.Time
	}{
		{"RFC 9110 §6.6.1 Date kept", http.Header{"Date": {httpDate(t0().Add(-time.Minute))}}, t0().Add(-time.Minute), httpDate(t0().Add(-time.Minute)), "", time.Time{}},
		{"RFC 9110 §6.6.1 missing Date added", http.Header{}, t0(), httpDate(t0()), "", time.Time{}},
		{"RFC 9110 §6.6.1 invalid Date replaced", http.Header{"Date": {"soon"}}, t0(), httpDate(t0()), "", time.Time{}},
		{"RFC 9110 §8.8.3 weak ETag kept", http.Header{"Etag": {`W/"x"`}}, t0(), httpDate(t0()), `W/"x"`, time.Time{}},
		{"RFC 9110 §8.8.3 invalid ETag not parsed", http.Header{"Etag": {`x`}}, t0(), httpDate(t0()), "", time.Time{}},
		{"RFC 9110 §8.8.2 Last-Modified parsed", http.Header{"Last-Modified": {httpDate(lm)}}, t0(), httpDate(t0()), "", lm},
		{"RFC 9110 §8.8.2 invalid Last-Modified is zero", http.Header{"Last-Modified": {"never"}}, t0(), httpDate(t0()), "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := NewEntry(nil, 200, tt.header, nil, "", t0(), t0(), Policy{})
			if !e.Date.Equal(tt.wantDate) || e.Header.Get("Date") != tt.dateHdr {
				t.Errorf("Date = %v, header %q; want %v, %q", e.Date, e.Header.Get("Date"), tt.wantDate, tt.dateHdr)
			}
			if e.ETag != tt.etag {
				t.Errorf("ETag = %q; want %q", e.ETag, tt.etag)
			}
			if !e.LastModified.Equal(tt.lm) {
				t.Errorf("LastModified = %v; want %v", e.LastModified, tt.lm)
			}
		})
	}
}

func TestFreshen(t *testing.T) {
	t.Parallel()
	req := &http.Request{Header: http.Header{"Accept": {"text/plain"}}}
	stored := http.Header{
		"Cache-Control": {"max-age=10"},
		"Content-Type":  {"text/plain"},
		"Etag":          {`"v1"`},
		"X-A":           {"1"},
		"X-Gone":        {"g"},
		"Vary":          {"Accept"},
		"Date":          {httpDate(t0())},
	}
	e := NewEntry(req, 200, stored, []byte("body"), "cred", t0(), t0(), Policy{})
	before := e.Header.Header()

	reqTime, respTime := t0().Add(time.Hour), t0().Add(time.Hour+time.Second)
	notModified := http.Header{
		"Cache-Control":  {`max-age=100, no-cache="X-Gone"`},
		"X-A":            {"2"},
		"X-New":          {"n"},
		"Content-Length": {"0"},
		"Set-Cookie":     {"s=1"},
		"Connection":     {"X-Hop"},
		"X-Hop":          {"h"},
		"Age":            {"5"},
		"Vary":           {"Cookie"},
		"Date":           {httpDate(respTime)},
	}
	f := e.Freshen(notModified, reqTime, respTime, Policy{})

	want := http.Header{
		"Cache-Control":  {`max-age=100, no-cache="X-Gone"`},
		"Content-Length": {"4"}, // the stored body's, whatever the 304 says
		"Content-Type":   {"text/plain"},
		"Etag":           {`"v1"`},
		"X-A":            {"2"},
		"X-New":          {"n"},
		"Vary":           {"Accept"},
		"Date":           {httpDate(respTime)},
	}
	if got := f.Header.Header(); !reflect.DeepEqual(got, want) {
		t.Errorf("Freshen header =\n%v; want\n%v", got, want)
	}
	if got := e.Header.Header(); !reflect.DeepEqual(got, before) {
		t.Errorf("Freshen modified the original entry's header: %v; want %v", got, before)
	}
	if f.Lifetime != 100*time.Second || e.Lifetime != 10*time.Second {
		t.Errorf("Lifetime after Freshen = %v (original %v); want 100s (10s)", f.Lifetime, e.Lifetime)
	}
	// §4.2.3 with the 304's times: Age 5 + response delay 1s.
	if f.CorrectedInitialAge != 6*time.Second {
		t.Errorf("CorrectedInitialAge after Freshen = %v; want 6s", f.CorrectedInitialAge)
	}
	if !f.RequestTime.Equal(reqTime) || !f.ResponseTime.Equal(respTime) || !f.Date.Equal(respTime) {
		t.Errorf("times after Freshen = %v, %v, Date %v; want %v, %v, %v", f.RequestTime, f.ResponseTime, f.Date, reqTime, respTime, respTime)
	}
	if got := Decide(f, ParseCacheControl(nil), respTime.Add(time.Minute)); got != UseFresh {
		t.Errorf("Decide(freshened, +1m) = %v; want %v", got, UseFresh)
	}
	if string(f.Body) != "body" || f.Status != 200 || f.Credential != "cred" || !reflect.DeepEqual(f.VaryValues, []string{"text/plain"}) {
		t.Errorf("Freshen changed body, status, credential or Vary values: %q %d %q %q", f.Body, f.Status, f.Credential, f.VaryValues)
	}
	if f.Size != entrySize(&f.Header, f.Body) {
		t.Errorf("Size after Freshen = %d; want %d", f.Size, entrySize(&f.Header, f.Body))
	}
}

func TestFreshenWithoutDate(t *testing.T) {
	t.Parallel()
	// §4.3.4: a 304 without Date is dated when received, so the stored
	// response's old Date does not make it stale at once.
	e := NewEntry(nil, 204, http.Header{"Date": {httpDate(t0())}, "Cache-Control": {"max-age=60"}, "Etag": {`"a"`}}, nil, "", t0(), t0(), Policy{})
	later := t0().Add(time.Hour)
	f := e.Freshen(http.Header{"Etag": {`"a"`}}, later, later, Policy{})
	if got := f.Header.Get("Date"); got != httpDate(later) {
		t.Errorf("Date after Freshen = %q; want %q", got, httpDate(later))
	}
	if got := Decide(f, ParseCacheControl(nil), later.Add(time.Second)); got != UseFresh {
		t.Errorf("Decide(freshened without Date) = %v; want %v", got, UseFresh)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	mk := func(vary string, reqHeader http.Header, cred string) *Entry {
		h := http.Header{}
		if vary != "" {
			h.Set("Vary", vary)
		}
		return NewEntry(&http.Request{Header: reqHeader}, 200, h, nil, cred, t0(), t0(), Policy{})
	}
	gzip := http.Header{"Accept-Encoding": {"gzip, br"}}
	tests := []struct {
		name string
		e    *Entry
		req  http.Header
		cred string
		want bool
	}{
		{"§4.1 no Vary matches any request", mk("", gzip, ""), http.Header{}, "", true},
		{"§4.1 same value", mk("Accept-Encoding", gzip, ""), http.Header{"Accept-Encoding": {"gzip, br"}}, "", true},
		{"§4.1 normalized value", mk("Accept-Encoding", gzip, ""), http.Header{"Accept-Encoding": {"gzip", " br "}}, "", true},
		{"§4.1 different value", mk("Accept-Encoding", gzip, ""), http.Header{"Accept-Encoding": {"br"}}, "", false},
		{"§4.1 absent vs present", mk("Accept-Encoding", http.Header{}, ""), gzip, "", false},
		{"§4.1 absent vs absent", mk("Accept-Encoding", http.Header{}, ""), http.Header{}, "", true},
		{"§4.1 absent vs empty", mk("Accept-Encoding", http.Header{}, ""), http.Header{"Accept-Encoding": {""}}, "", false},
		{"§4.1 Vary: * never matches", mk("*", http.Header{}, ""), http.Header{}, "", false},
		{"§4.1 several fields all must match", mk("Accept-Encoding, Origin", http.Header{"Accept-Encoding": {"gzip"}, "Origin": {"a"}}, ""), http.Header{"Accept-Encoding": {"gzip"}, "Origin": {"b"}}, "", false},
		{"§3.5 same credential", mk("", nil, "h1"), http.Header{}, "h1", true},
		{"§3.5 other credential", mk("", nil, "h1"), http.Header{}, "h2", false},
		{"§3.5 per-credential entry never for anonymous", mk("", nil, "h1"), http.Header{}, "", false},
		{"§3.5 shared entry not for a credential lookup", mk("", nil, ""), http.Header{}, "h1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.e.Matches(tt.req, tt.cred); got != tt.want {
				t.Errorf("Matches(%v, %q) with Vary %q = %q = %v; want %v", tt.req, tt.cred, tt.e.Vary, tt.e.VaryValues, got, tt.want)
			}
		})
	}
}

// variant returns an entry with Vary: Accept for request value accept,
// dated t0() plus age.
func variant(accept, etag, cred string, age time.Duration) *Entry {
	h := http.Header{"Vary": {"Accept"}, "Date": {httpDate(t0().Add(age))}}
	if etag != "" {
		h.Set("Etag", etag)
	}
	req := &http.Request{Header: http.Header{"Accept": {accept}}}
	return NewEntry(req, 200, h, []byte(accept), cred, t0().Add(age), t0().Add(age), Policy{})
}

func TestResourceWith(t *testing.T) {
	t.Parallel()
	a1 := variant("a", `"1"`, "", 0)
	b1 := variant("b", `"2"`, "", 0)
	r := (*Resource)(nil).With(a1, nil).With(b1, nil)
	if !reflect.DeepEqual(r.Variants, []*Entry{b1, a1}) {
		t.Fatalf("With(a1).With(b1).Variants = %v; want [b1 a1]", r.Variants)
	}

	t.Run("§4.3.4 same variant replaced", func(t *testing.T) {
		t.Parallel()
		a2 := variant("a", `"3"`, "", time.Minute)
		got := r.With(a2, nil)
		if !reflect.DeepEqual(got.Variants, []*Entry{a2, b1}) {
			t.Errorf("With(a2).Variants = %v; want [a2 b1]", got.Variants)
		}
		if !reflect.DeepEqual(r.Variants, []*Entry{b1, a1}) {
			t.Errorf("With modified the original Resource: %v", r.Variants)
		}
	})
	t.Run("§4.1 other variants kept", func(t *testing.T) {
		t.Parallel()
		c := variant("c", `"4"`, "", 0)
		if got := r.With(c, nil); !reflect.DeepEqual(got.Variants, []*Entry{c, b1, a1}) {
			t.Errorf("With(c).Variants = %v; want [c b1 a1]", got.Variants)
		}
	})
	t.Run("§3.5 other credential is another variant", func(t *testing.T) {
		t.Parallel()
		ac := variant("a", `"1"`, "h1", 0)
		if got := r.With(ac, nil); !reflect.DeepEqual(got.Variants, []*Entry{ac, b1, a1}) {
			t.Errorf("With(a for h1).Variants = %v; want [ac b1 a1]", got.Variants)
		}
	})
	t.Run("§4.3.4 old variant dropped", func(t *testing.T) {
		t.Parallel()
		fresh := b1.Freshen(http.Header{"X-New": {"1"}}, t0(), t0(), Policy{})
		if got := r.With(fresh, b1); !reflect.DeepEqual(got.Variants, []*Entry{fresh, a1}) {
			t.Errorf("With(fresh, b1).Variants = %v; want [fresh a1]", got.Variants)
		}
	})
	t.Run("§4.3.4 old dropped even when another variant", func(t *testing.T) {
		t.Parallel()
		c := variant("c", `"1"`, "", 0)
		if got := r.With(c, a1); !reflect.DeepEqual(got.Variants, []*Entry{c, b1}) {
			t.Errorf("With(c, a1).Variants = %v; want [c b1]", got.Variants)
		}
	})
	t.Run("MaxVariants bound drops the oldest", func(t *testing.T) {
		t.Parallel()
		var res *Resource
		var all []*Entry
		for i := range MaxVariants + 4 {
			e := variant(fmt.Sprint(i), "", "", 0)
			all = append(all, e)
			res = res.With(e, nil)
		}
		if len(res.Variants) != MaxVariants {
			t.Fatalf("len(Variants) = %d; want %d", len(res.Variants), MaxVariants)
		}
		if res.Variants[0] != all[len(all)-1] || res.Variants[MaxVariants-1] != all[4] {
			t.Errorf("Variants run from %q to %q; want newest %q to %q", res.Variants[0].Body, res.Variants[MaxVariants-1].Body, all[len(all)-1].Body, all[4].Body)
		}
	})
}

func TestResourceSelect(t *testing.T) {
	t.Parallel()
	older := variant("a", `"1"`, "", 0)
	noVary := NewEntry(nil, 200, http.Header{"Date": {httpDate(t0().Add(time.Minute))}}, []byte("any"), "", t0(), t0(), Policy{})
	other := variant("b", `"2"`, "", 0)
	r := &Resource{Variants: []*Entry{older, noVary, other}}
	tests := []struct {
		name   string
		accept string
		cred   string
		want   *Entry
	}{
		{"§4.1 newest match by Date wins", "a", "", noVary},
		{"§4.1 match without Vary", "z", "", noVary},
		{"§3.5 no match for a credential", "a", "h1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.Select(http.Header{"Accept": {tt.accept}}, tt.cred); got != tt.want {
				t.Errorf("Select(Accept %q, %q) = %v; want %v", tt.accept, tt.cred, got, tt.want)
			}
		})
	}
	t.Run("§4.1 only matching variant", func(t *testing.T) {
		t.Parallel()
		r := &Resource{Variants: []*Entry{older, other}}
		if got := r.Select(http.Header{"Accept": {"b"}}, ""); got != other {
			t.Errorf("Select(Accept b) = %v; want %v", got, other)
		}
		if got := r.Select(http.Header{"Accept": {"c"}}, ""); got != nil {
			t.Errorf("Select(Accept c) = %v; want nil", got)
		}
	})
	t.Run("§4.1 tie keeps list order", func(t *testing.T) {
		t.Parallel()
		first, second := variant("a", `"x"`, "", 0), variant("a", `"y"`, "", 0)
		r := &Resource{Variants: []*Entry{first, second}}
		if got := r.Select(http.Header{"Accept": {"a"}}, ""); got != first {
			t.Errorf("Select on a Date tie = %q; want the first in Variants", got.ETag)
		}
	})
	if got := (*Resource)(nil).Select(http.Header{}, ""); got != nil {
		t.Errorf("nil Resource Select = %v; want nil", got)
	}
}

func TestResourceByETag(t *testing.T) {
	t.Parallel()
	a := variant("a", `W/"1"`, "", 0)
	b := variant("b", `"2"`, "", 0)
	c := variant("c", `"2"`, "h1", 0)
	r := &Resource{Variants: []*Entry{a, b, c}}
	tests := []struct {
		name string
		etag string
		cred string
		want *Entry
	}{
		{"§4.3.4 weak comparison, strong 304 tag", `"1"`, "", a},
		{"§4.3.4 weak comparison, weak 304 tag", `W/"2"`, "", b},
		{"§3.5 credential selects", `"2"`, "h1", c},
		{"§4.3.4 no match", `"3"`, "", nil},
		{"§4.3.4 invalid tag", `2`, "", nil},
		{"§4.3.4 empty tag", ``, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.ByETag(tt.etag, tt.cred); got != tt.want {
				t.Errorf("ByETag(%q, %q) = %v; want %v", tt.etag, tt.cred, got, tt.want)
			}
		})
	}
}

func TestResourceETags(t *testing.T) {
	t.Parallel()
	r := &Resource{Variants: []*Entry{
		variant("a", `"1"`, "", 0),
		variant("b", "", "", 0),
		variant("c", `"2"`, "", 0),
		variant("d", `"1"`, "", 0),
		variant("e", `"3"`, "h1", 0),
	}}
	if got, want := r.ETags(""), []string{`"1"`, `"2"`}; !reflect.DeepEqual(got, want) {
		t.Errorf("ETags(\"\") = %q; want %q", got, want)
	}
	if got, want := r.ETags("h1"), []string{`"3"`}; !reflect.DeepEqual(got, want) {
		t.Errorf("ETags(h1) = %q; want %q", got, want)
	}
	if got := (*Resource)(nil).ETags(""); got != nil {
		t.Errorf("nil Resource ETags = %q; want nil", got)
	}
}

func TestResourceCost(t *testing.T) {
	t.Parallel()
	a, b := variant("a", "", "", 0), variant("bb", "", "", 0)
	r := &Resource{Variants: []*Entry{a, b}}
	if got, want := r.Cost(), a.Size+b.Size; got != want || a.Size <= EntryOverhead {
		t.Errorf("Cost() = %d; want %d (sizes %d, %d above %d)", got, want, a.Size, b.Size, EntryOverhead)
	}
	if got := (*Resource)(nil).Cost(); got != 0 {
		t.Errorf("nil Resource Cost = %d; want 0", got)
	}
}

func TestSelectAllocs(t *testing.T) {
	r := benchResource()
	req := http.Header{"Accept-Encoding": {"gzip, br"}, "Accept": {"application/json"}}
	if n := testing.AllocsPerRun(100, func() { r.Select(req, "") }); n != 0 {
		t.Errorf("Select allocates %v times; want 0", n)
	}
}

// benchResource holds four variants on Accept-Encoding and Accept.
func benchResource() *Resource {
	var r *Resource
	for _, enc := range []string{"identity", "gzip", "br", "gzip, br"} {
		req := &http.Request{Header: http.Header{"Accept-Encoding": {enc}, "Accept": {"application/json"}}}
		h := http.Header{"Vary": {"Accept-Encoding, Accept"}, "Date": {httpDate(t0())}, "Etag": {`"` + enc + `"`}}
		r = r.With(NewEntry(req, 200, h, []byte("{}"), "", t0(), t0(), Policy{}), nil)
	}
	return r
}

func BenchmarkResourceSelect(b *testing.B) {
	r := benchResource()
	req := http.Header{"Accept-Encoding": {"gzip, br"}, "Accept": {"application/json"}}
	b.ReportAllocs()
	for b.Loop() {
		if r.Select(req, "") == nil {
			b.Fatal("Select = nil")
		}
	}
}

func TestCorrectedInitialAge(t *testing.T) {
	t.Parallel()
	date := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		name string
		age  string
		want time.Duration
	}{
		{"RFC 9111 §4.2.3 Age value", "60", 60 * time.Second},
		{"RFC 9111 §5.1 invalid Age ignored", "abc", 0},
		{"RFC 9111 §5.1 list: the first member counts", "7200, 0", 7200 * time.Second},
		{"RFC 9111 §5.1 list: a small first member counts", "0, 7200", 0},
		{"RFC 9111 §5.1 negative Age ignored", "-5", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := correctedInitialAge(tc.age, date, date, date); got != tc.want {
				t.Errorf("correctedInitialAge(%q) = %v; want %v", tc.age, got, tc.want)
			}
		})
	}
}
