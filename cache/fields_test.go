package cache

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    http.Header
		want  http.Header // what Header() returns
		names []string    // At's order
	}{
		{"empty", http.Header{}, http.Header{}, nil},
		{"nil", nil, http.Header{}, nil},
		{"fields without values are dropped", http.Header{"Etag": {`"a"`}, "X-Empty": {}}, http.Header{"Etag": {`"a"`}}, []string{"Etag"}},
		{
			"several values keep their order (RFC 9110 §5.3)",
			http.Header{"Vary": {"Accept", "Accept-Encoding"}, "Date": {"Wed, 25 Nov 2026 09:35:02 GMT"}, "Cache-Control": {"max-age=60", "public"}},
			http.Header{"Vary": {"Accept", "Accept-Encoding"}, "Date": {"Wed, 25 Nov 2026 09:35:02 GMT"}, "Cache-Control": {"max-age=60", "public"}},
			[]string{"Cache-Control", "Date", "Vary"},
		},
		{"empty values are kept", http.Header{"X-A": {""}, "X-B": {"", "b"}}, http.Header{"X-A": {""}, "X-B": {"", "b"}}, []string{"X-A", "X-B"}},
		{"non-canonical names are canonicalized", http.Header{"etag": {`"a"`}, "x-thing": {"1"}}, http.Header{"Etag": {`"a"`}, "X-Thing": {"1"}}, []string{"Etag", "X-Thing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := NewFields(tt.in)
			if got := f.Header(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Header() = %v; want %v", got, tt.want)
			}
			if got := f.Len(); got != len(tt.names) {
				t.Errorf("Len() = %d; want %d", got, len(tt.names))
			}
			var names []string
			for i := range f.Len() {
				name, values := f.At(i)
				names = append(names, name)
				if !slices.Equal(values, tt.want[name]) {
					t.Errorf("At(%d) = %q, %q; want %q", i, name, values, tt.want[name])
				}
				if cap(values) != len(values) {
					t.Errorf("At(%d) values have spare capacity %d: an append would write into the shared block", i, cap(values)-len(values))
				}
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("At names = %q; want %q (sorted)", names, tt.names)
			}
			for name, values := range tt.want {
				if got := f.Values(name); !slices.Equal(got, values) {
					t.Errorf("Values(%q) = %q; want %q", name, got, values)
				}
				if got := f.Values(strings.ToLower(name)); !slices.Equal(got, values) {
					t.Errorf("Values(%q) = %q; want %q (names are case-insensitive, RFC 9110 §5.1)", strings.ToLower(name), got, values)
				}
				if got := f.Get(name); got != values[0] {
					t.Errorf("Get(%q) = %q; want %q", name, got, values[0])
				}
				if !f.Has(name) {
					t.Errorf("Has(%q) = false; want true", name)
				}
			}
			if f.Has("X-Absent") || f.Values("X-Absent") != nil || f.Get("X-Absent") != "" {
				t.Errorf("X-Absent found; want absent")
			}
		})
	}
}

func TestFieldsMergesNamesThatCanonicalizeAlike(t *testing.T) {
	t.Parallel()
	f := NewFields(http.Header{"X-A": {"1"}, "x-a": {"2"}, "X-a": {"3"}})
	got := slices.Clone(f.Values("X-A"))
	slices.Sort(got)
	if f.Len() != 1 || !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("Len() = %d, Values(X-A) = %q; want 1 field with 1, 2, 3", f.Len(), got)
	}
}

func TestFieldsCopiesItsInput(t *testing.T) {
	t.Parallel()
	h := http.Header{"Etag": {`"a"`}}
	f := NewFields(h)
	h["Etag"][0] = `"changed"`
	h["X-New"] = []string{"1"}
	if got := f.Get("Etag"); got != `"a"` || f.Has("X-New") {
		t.Errorf("after changing the input, Get(Etag) = %q, Has(X-New) = %v; want \"a\", false", got, f.Has("X-New"))
	}
	v := f.Values("Etag")
	_ = append(v, "appended")
	if got := f.Values("Etag"); len(got) != 1 {
		t.Errorf("an append to Values changed the stored field: %q", got)
	}
}

func TestFieldsAllocations(t *testing.T) {
	h := http.Header{"Etag": {`"a"`}, "Date": {"Wed, 25 Nov 2026 09:35:02 GMT"}, "Vary": {"Accept", "Accept-Encoding"}, "Content-Type": {"application/json"}}
	var f Fields
	// NewFields also allocates its sorted names, garbage once it returns;
	// what it keeps is the block and the strings pointing into it.
	if n := testing.AllocsPerRun(100, func() { f = NewFields(h) }); n > 3 {
		t.Errorf("NewFields allocates %v objects; want at most 3 (names, block, strings)", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		for i := range f.Len() {
			_, _ = f.At(i)
		}
		_ = f.Values("Via")
		_ = f.Values("Etag")
	}); n != 0 {
		t.Errorf("reading Fields allocates %v objects; want 0 (the hit path reads them)", n)
	}
}

// FuzzFields checks that any header survives NewFields as Header() and
// Values report it.
func FuzzFields(f *testing.F) {
	f.Add("Etag: \"a\"\nDate: Wed, 25 Nov 2026 09:35:02 GMT\nVary: Accept\nVary: Accept-Encoding\n")
	f.Add("x-a: 1\nX-A: 2\nX-Empty:\n")
	f.Fuzz(func(t *testing.T, lines string) {
		h := http.Header{}
		for line := range strings.SplitSeq(lines, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" {
				continue
			}
			h[name] = append(h[name], strings.TrimSpace(value))
		}
		want := http.Header{}
		for name, values := range h {
			k := http.CanonicalHeaderKey(name)
			want[k] = append(want[k], values...)
		}
		fs := NewFields(h)
		got := fs.Header()
		if len(got) != len(want) {
			t.Fatalf("Header() has %d fields; want %d: %q from %q", len(got), len(want), got, want)
		}
		for name, values := range want {
			g := slices.Clone(got[name])
			w := slices.Clone(values)
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("Header()[%q] = %q; want %q (in some order)", name, got[name], values)
			}
			if v := fs.Values(name); !slices.Equal(v, got[name]) {
				t.Errorf("Values(%q) = %q; Header() has %q", name, v, got[name])
			}
		}
	})
}
