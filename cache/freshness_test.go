package cache

import (
	"net/http"
	"testing"
	"time"
)

// t0 is the fixed time tests are anchored at.
func t0() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) }

// httpDate formats t as an HTTP-date.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func TestFreshnessLifetime(t *testing.T) {
	t.Parallel()
	p := Policy{DefaultTTL: 5 * time.Minute, MaxHeuristicTTL: time.Hour}
	tests := []struct {
		name   string
		status int
		header http.Header
		p      Policy
		want   time.Duration
	}{
		{"§4.2.1 s-maxage overrides max-age", 200, http.Header{"Cache-Control": {"max-age=100, s-maxage=10"}}, p, 10 * time.Second},
		{"§4.2.1 s-maxage=0 overrides max-age", 200, http.Header{"Cache-Control": {"max-age=100, s-maxage=0"}}, p, 0},
		{"§4.2.1 max-age overrides Expires", 200, http.Header{"Cache-Control": {"max-age=100"}, "Expires": {httpDate(t0().Add(time.Hour))}}, p, 100 * time.Second},
		{"§4.2.1 Expires minus Date", 200, http.Header{"Expires": {httpDate(t0().Add(90 * time.Second))}}, p, 90 * time.Second},
		{"§4.2.1 Expires in the past is expired", 200, http.Header{"Expires": {httpDate(t0().Add(-time.Hour))}}, p, 0},
		{"§5.3 invalid Expires means already expired", 200, http.Header{"Expires": {"0"}}, p, 0},
		{"§5.3 empty Expires means already expired", 204, http.Header{"Expires": {""}}, p, 0},
		{"§4.2.1 first Expires line used", 200, http.Header{"Expires": {httpDate(t0().Add(time.Minute)), httpDate(t0().Add(time.Hour))}}, p, time.Minute},
		{"§5.3 obsolete rfc850 date format accepted", 200, http.Header{"Expires": {t0().Add(time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT")}}, p, time.Minute},
		{"§5.3 obsolete asctime date format accepted", 200, http.Header{"Expires": {t0().Add(time.Minute).Format(time.ANSIC)}}, p, time.Minute},
		{"§5.3 malformed Expires (doubled space) means already expired", 200, http.Header{"Expires": {"Tue, 04 Mar  2025 05:08:07 GMT"}}, p, 0},
		{"RFC 9213 §2.1 CDN-Cache-Control overrides Cache-Control and Expires", 200, http.Header{"Cdn-Cache-Control": {"max-age=30"}, "Cache-Control": {"max-age=600"}, "Expires": {httpDate(t0().Add(time.Hour))}}, p, 30 * time.Second},
		{"RFC 9213 §2.1 CDN-Cache-Control without max-age ignores Expires", 200, http.Header{"Cdn-Cache-Control": {"public"}, "Expires": {httpDate(t0().Add(time.Hour))}}, p, 5 * time.Minute},
		{"RFC 9213 §2.2 empty CDN-Cache-Control is ignored", 200, http.Header{"Cdn-Cache-Control": {""}, "Cache-Control": {"max-age=600"}}, p, 10 * time.Minute},
		{"RFC 9213 §2.2 unparseable CDN-Cache-Control is ignored", 200, http.Header{"Cdn-Cache-Control": {"max-age=x"}, "Cache-Control": {"max-age=600"}}, p, 10 * time.Minute},
		{"§1.2.2 Expires far ahead clamped at 2^31 s", 200, http.Header{"Expires": {"Fri, 01 Jan 9999 00:00:00 GMT"}}, p, 1 << 31 * time.Second},
		{"§4.2.1 invalid max-age is stale, not heuristic", 200, http.Header{"Cache-Control": {"max-age=abc"}}, p, 0},
		{"§4.2.1 explicit freshness for an error status", 500, http.Header{"Cache-Control": {"max-age=30"}}, p, 30 * time.Second},
		{"§4.2.2 10% of Date minus Last-Modified", 200, http.Header{"Last-Modified": {httpDate(t0().Add(-5 * time.Hour))}}, p, 30 * time.Minute},
		{"§4.2.2 Last-Modified heuristic capped", 200, http.Header{"Last-Modified": {httpDate(t0().Add(-100 * time.Hour))}}, p, time.Hour},
		{"§4.2.2 Last-Modified heuristic below DefaultTTL wins", 200, http.Header{"Last-Modified": {httpDate(t0().Add(-10 * time.Second))}}, p, time.Second},
		{"§4.2.2 Last-Modified after Date falls back to DefaultTTL", 200, http.Header{"Last-Modified": {httpDate(t0().Add(time.Hour))}}, p, 5 * time.Minute},
		{"§4.2.2 invalid Last-Modified falls back to DefaultTTL", 200, http.Header{"Last-Modified": {"yesterday"}}, p, 5 * time.Minute},
		{"§4.2.2 heuristic off: DefaultTTL", 200, http.Header{"Last-Modified": {httpDate(t0().Add(-5 * time.Hour))}}, Policy{DefaultTTL: time.Minute}, time.Minute},
		{"§4.2.2 204 gets the default lifetime", 204, http.Header{}, p, 5 * time.Minute},
		{"§4.2.2 204 with ETag gets the default lifetime", 204, http.Header{"Etag": {`"a"`}}, p, 5 * time.Minute},
		{"§4.2.2 no DefaultTTL and no Last-Modified", 204, http.Header{}, Policy{MaxHeuristicTTL: time.Hour}, 0},
		{"§4.2.2 203 heuristically cacheable", 203, http.Header{}, p, 5 * time.Minute},
		{"§4.2.2 300 heuristically cacheable", 300, http.Header{}, p, 5 * time.Minute},
		{"§4.2.2 302 not heuristically cacheable", 302, http.Header{"Last-Modified": {httpDate(t0().Add(-5 * time.Hour))}}, p, 0},
		{"§4.2.2 302 public gets a heuristic", 302, http.Header{"Cache-Control": {"public"}}, p, 5 * time.Minute},
		{"§4.2.2 404 gets no heuristic", 404, http.Header{"Last-Modified": {httpDate(t0().Add(-5 * time.Hour))}}, p, 0},
		{"§4.2.2 public 500 gets no heuristic", 500, http.Header{"Cache-Control": {"public"}}, p, 0},
		{"§4.2.2 qualified no-cache does not stop a heuristic", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie"`}}, p, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := ResponseDirectives(tt.header)
			if got := FreshnessLifetime(tt.status, tt.header, cc, t0(), tt.p); got != tt.want {
				t.Errorf("FreshnessLifetime(%d, %v) = %v; want %v", tt.status, tt.header, got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name        string
		date        string // "" for none
		age         string // "" for none
		requestTime time.Time
		initial     time.Duration // want CorrectedInitialAge
	}{
		{"§4.2.3 no Age, no delay", httpDate(t0()), "", t0(), 0},
		{"§4.2.3 response delay counts", httpDate(t0()), "", t0().Add(-2 * s), 2 * s},
		{"§4.2.3 Age plus response delay", httpDate(t0()), "100", t0().Add(-2 * s), 102 * s},
		{"§4.2.3 apparent age wins when larger", httpDate(t0().Add(-50 * s)), "10", t0().Add(-1 * s), 50 * s},
		{"§4.2.3 corrected age wins when larger", httpDate(t0().Add(-50 * s)), "60", t0().Add(-1 * s), 61 * s},
		{"§4.2.3 Date ahead of response time: apparent age 0", httpDate(t0().Add(time.Hour)), "5", t0(), 5 * s},
		{"§4.2.3 missing Date: apparent age 0", "", "7", t0(), 7 * s},
		{"§5.1 invalid Age counts as 0", httpDate(t0()), "abc", t0(), 0},
		{"§5.1 negative Age counts as 0", httpDate(t0()), "-5", t0(), 0},
		{"§1.2.2 huge Age clamped at 2^31 s", httpDate(t0()), "99999999999999999999", t0(), 1 << 31 * s},
		{"§4.2.3 request after response: no delay", httpDate(t0()), "3", t0().Add(time.Minute), 3 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.date != "" {
				h.Set("Date", tt.date)
			}
			if tt.age != "" {
				h.Set("Age", tt.age)
			}
			e := NewEntry(nil, 200, h, nil, "", tt.requestTime, t0(), Policy{})
			if e.CorrectedInitialAge != tt.initial {
				t.Errorf("NewEntry(Date %q, Age %q).CorrectedInitialAge = %v; want %v", tt.date, tt.age, e.CorrectedInitialAge, tt.initial)
			}
			// current_age = corrected_initial_age + resident_time
			if got, want := e.CurrentAge(t0().Add(30*s)), tt.initial+30*s; got != want {
				t.Errorf("CurrentAge(response time + 30s) = %v; want %v", got, want)
			}
			if got := e.CurrentAge(t0().Add(-time.Hour)); got != tt.initial {
				t.Errorf("CurrentAge(before response time) = %v; want %v", got, tt.initial)
			}
		})
	}
}

func TestTTL(t *testing.T) {
	t.Parallel()
	h := http.Header{"Date": {httpDate(t0())}, "Age": {"10"}, "Cache-Control": {"max-age=60"}}
	e := NewEntry(nil, 200, h, nil, "", t0(), t0(), Policy{})
	tests := []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"§4.2 fresh on receipt", t0(), 50 * time.Second},
		{"§4.2 fresh later", t0().Add(20 * time.Second), 30 * time.Second},
		{"§4.2 stale", t0().Add(80 * time.Second), -30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := e.TTL(tt.now); got != tt.want {
				t.Errorf("TTL(%v) = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}

// entryAt returns an entry with response directives cc and lifetime,
// received at t0() with age 0.
func entryAt(cc string, lifetime time.Duration) *Entry {
	return &Entry{
		CC:           ParseCacheControl([]string{cc}),
		Date:         t0(),
		RequestTime:  t0(),
		ResponseTime: t0(),
		Lifetime:     lifetime,
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name     string
		respCC   string
		lifetime time.Duration
		reqCC    string
		elapsed  time.Duration // now - response time
		want     Use
	}{
		{"§4.2 fresh", "max-age=60", 60 * s, "", 10 * s, UseFresh},
		{"§4.2 fresh just before the lifetime ends", "max-age=60", 60 * s, "", 60*s - 1, UseFresh},
		{"§4.2 stale when age equals lifetime", "max-age=60", 60 * s, "", 60 * s, UseValidate},
		{"§4.2.4 stale without permission validates", "max-age=60", 60 * s, "", 90 * s, UseValidate},
		{"§4.2 zero lifetime is stale", "", 0, "", 0, UseValidate},
		{"§5.2.2.4 response no-cache validates a fresh entry", "no-cache, max-age=60", 60 * s, "", 1 * s, UseValidate},
		{"§5.2.2.4 qualified no-cache does not force validation", `no-cache="Set-Cookie", max-age=60`, 60 * s, "", 1 * s, UseFresh},
		{"§5.2.1.4 request no-cache validates a fresh entry", "max-age=60", 60 * s, "no-cache", 1 * s, UseValidate},
		{"§5.2.1.1 request max-age exceeded", "max-age=100", 100 * s, "max-age=20", 30 * s, UseValidate},
		{"§5.2.1.1 request max-age met", "max-age=100", 100 * s, "max-age=20", 20 * s, UseFresh},
		{"§5.2.1.1 request max-age=0 validates", "max-age=100", 100 * s, "max-age=0", 1 * s, UseValidate},
		{"§5.2.1.1 max-age without max-stale refuses stale", "max-age=60, stale-while-revalidate=60", 60 * s, "max-age=100", 90 * s, UseValidate},
		{"§5.2.1.1 max-age with max-stale accepts stale", "max-age=60", 60 * s, "max-age=100, max-stale=60", 90 * s, UseStale},
		{"§5.2.1.3 min-fresh not met", "max-age=60", 60 * s, "min-fresh=20", 50 * s, UseValidate},
		{"§5.2.1.3 min-fresh met", "max-age=60", 60 * s, "min-fresh=5", 50 * s, UseFresh},
		{"§5.2.1.3 min-fresh refuses stale even with max-stale", "max-age=60", 60 * s, "min-fresh=0, max-stale", 90 * s, UseValidate},
		{"§5.2.1.2 max-stale accepts", "max-age=60", 60 * s, "max-stale=60", 90 * s, UseStale},
		{"§5.2.1.2 max-stale bound included", "max-age=60", 60 * s, "max-stale=30", 90 * s, UseStale},
		{"§5.2.1.2 max-stale exceeded", "max-age=60", 60 * s, "max-stale=10", 90 * s, UseValidate},
		{"§5.2.1.2 max-stale without value accepts any staleness", "max-age=60", 60 * s, "max-stale", 1000 * time.Hour, UseStale},
		{"§5.2.2.2 must-revalidate forbids max-stale", "max-age=60, must-revalidate", 60 * s, "max-stale", 90 * s, UseValidate},
		{"§5.2.2.8 proxy-revalidate forbids max-stale", "max-age=60, proxy-revalidate", 60 * s, "max-stale", 90 * s, UseValidate},
		{"§5.2.2.10 s-maxage forbids max-stale", "s-maxage=60", 60 * s, "max-stale", 90 * s, UseValidate},
		{"§5.2.2.2 must-revalidate leaves fresh use", "max-age=60, must-revalidate", 60 * s, "", 10 * s, UseFresh},
		{"RFC 5861 §3 within stale-while-revalidate", "max-age=60, stale-while-revalidate=30", 60 * s, "", 80 * s, UseStaleWhileRevalidate},
		{"RFC 5861 §3 stale-while-revalidate bound included", "max-age=60, stale-while-revalidate=30", 60 * s, "", 90 * s, UseStaleWhileRevalidate},
		{"RFC 5861 §3 past stale-while-revalidate", "max-age=60, stale-while-revalidate=30", 60 * s, "", 91 * s, UseValidate},
		{"RFC 5861 §3 stale-while-revalidate before max-stale", "max-age=60, stale-while-revalidate=30", 60 * s, "max-stale", 80 * s, UseStaleWhileRevalidate},
		{"RFC 5861 §3 max-stale past stale-while-revalidate", "max-age=60, stale-while-revalidate=30", 60 * s, "max-stale", 200 * s, UseStale},
		{"RFC 5861 §3 must-revalidate forbids stale-while-revalidate", "max-age=60, stale-while-revalidate=30, must-revalidate", 60 * s, "", 80 * s, UseValidate},
		{"RFC 5861 §3 s-maxage forbids stale-while-revalidate", "s-maxage=60, stale-while-revalidate=30", 60 * s, "", 80 * s, UseValidate},
		{"RFC 5861 §3 no-cache forbids stale-while-revalidate", "no-cache, max-age=60, stale-while-revalidate=30", 60 * s, "", 80 * s, UseValidate},
		{"RFC 5861 §3 request no-cache forbids stale-while-revalidate", "max-age=60, stale-while-revalidate=30", 60 * s, "no-cache", 80 * s, UseValidate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := entryAt(tt.respCC, tt.lifetime)
			req := ParseCacheControl([]string{tt.reqCC})
			if got := Decide(e, req, t0().Add(tt.elapsed)); got != tt.want {
				t.Errorf("Decide(%q lifetime %v, request %q, age %v) = %v; want %v", tt.respCC, tt.lifetime, tt.reqCC, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestDecideWithAgeHeader(t *testing.T) {
	t.Parallel()
	// §4.2.3: an upstream Age counts toward the current age.
	h := http.Header{"Date": {httpDate(t0())}, "Age": {"50"}, "Cache-Control": {"max-age=60"}}
	e := NewEntry(nil, 200, h, nil, "", t0(), t0(), Policy{})
	if got := Decide(e, ParseCacheControl(nil), t0().Add(5*time.Second)); got != UseFresh {
		t.Errorf("Decide(Age 50, max-age=60, +5s) = %v; want %v", got, UseFresh)
	}
	if got := Decide(e, ParseCacheControl(nil), t0().Add(10*time.Second)); got != UseValidate {
		t.Errorf("Decide(Age 50, max-age=60, +10s) = %v; want %v", got, UseValidate)
	}
}

func TestStaleIfError(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name    string
		respCC  string
		reqCC   string
		elapsed time.Duration
		want    bool
	}{
		{"RFC 5861 §4 response window covers staleness", "max-age=60, stale-if-error=60", "", 90 * s, true},
		{"RFC 5861 §4 response window bound included", "max-age=60, stale-if-error=60", "", 120 * s, true},
		{"RFC 5861 §4 response window exceeded", "max-age=60, stale-if-error=60", "", 121 * s, false},
		{"RFC 5861 §4 request window covers staleness", "max-age=60", "stale-if-error=100", 90 * s, true},
		{"RFC 5861 §4 request window exceeded", "max-age=60", "stale-if-error=10", 90 * s, false},
		{"RFC 5861 §4 either window suffices", "max-age=60, stale-if-error=10", "stale-if-error=100", 90 * s, true},
		{"RFC 5861 §4 no window", "max-age=60", "", 90 * s, false},
		{"RFC 5861 §4 fresh entry counts as staleness 0", "max-age=60, stale-if-error=0", "", 10 * s, true},
		{"§5.2.2.2 must-revalidate forbids stale-if-error", "max-age=60, stale-if-error=60, must-revalidate", "", 90 * s, false},
		{"§5.2.2.8 proxy-revalidate forbids stale-if-error", "max-age=60, stale-if-error=60, proxy-revalidate", "", 90 * s, false},
		{"§5.2.2.10 s-maxage forbids stale-if-error", "s-maxage=60, stale-if-error=60", "stale-if-error=60", 90 * s, false},
		{"§4.2.4 no-cache forbids stale-if-error", "no-cache, max-age=60, stale-if-error=60", "", 90 * s, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := ParseCacheControl([]string{tt.respCC})
			e := entryAt(tt.respCC, cc.MaxAge)
			if cc.SMaxAge != Absent {
				e.Lifetime = cc.SMaxAge
			}
			req := ParseCacheControl([]string{tt.reqCC})
			if got := StaleIfError(e, req, t0().Add(tt.elapsed)); got != tt.want {
				t.Errorf("StaleIfError(%q, request %q, age %v) = %v; want %v", tt.respCC, tt.reqCC, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestUseString(t *testing.T) {
	t.Parallel()
	for u, want := range map[Use]string{
		UseFresh:                "fresh",
		UseStale:                "stale",
		UseStaleWhileRevalidate: "stale-while-revalidate",
		UseValidate:             "validate",
		Use(99):                 "unknown",
	} {
		if got := u.String(); got != want {
			t.Errorf("Use(%d).String() = %q; want %q", int(u), got, want)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	h := http.Header{
		"Date":          {httpDate(t0())},
		"Age":           {"5"},
		"Cache-Control": {"public, max-age=60, stale-while-revalidate=30"},
	}
	e := NewEntry(nil, 200, h, nil, "", t0(), t0(), Policy{})
	req := ParseCacheControl([]string{"max-stale=10"})
	now := t0().Add(80 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		Decide(e, req, now)
	}
}
