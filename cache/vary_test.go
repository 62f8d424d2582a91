package cache

import (
	"net/http"
	"reflect"
	"testing"
)

func TestVaryFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"§4.1 no Vary", nil, nil},
		{"§4.1 empty Vary", []string{""}, nil},
		{"RFC 9110 §12.5.5 canonical names", []string{"accept-encoding, ACCEPT-LANGUAGE"}, []string{"Accept-Encoding", "Accept-Language"}},
		{"RFC 9110 §12.5.5 several lines, in order", []string{"Origin", "Accept"}, []string{"Origin", "Accept"}},
		{"RFC 9110 §12.5.5 duplicates dropped", []string{"Accept, accept", "ACCEPT"}, []string{"Accept"}},
		{"RFC 9110 §5.6.1 empty elements and OWS", []string{" ,\tAccept ,, "}, []string{"Accept"}},
		{"§4.1 star kept", []string{"Accept, *"}, []string{"Accept", "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.lines != nil {
				h["Vary"] = tt.lines
			}
			if got := VaryFields(h); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("VaryFields(%q) = %q; want %q", tt.lines, got, tt.want)
			}
		})
	}
}

func TestVaryValues(t *testing.T) {
	t.Parallel()
	req := http.Header{
		"Accept-Encoding": {"gzip , br", "zstd"},
		"Accept":          {"text/html"},
		"X-Empty":         {""},
		"X-Inner":         {"  a b ,\tc  d "},
		"X-Trailing":      {"a,"},
	}
	tests := []struct {
		name  string
		field string
		want  string
	}{
		{"§4.1 single value", "Accept", "text/html"},
		{"§4.1 lines joined, OWS around commas removed", "Accept-Encoding", "gzip,br,zstd"},
		{"§4.1 inner whitespace kept", "X-Inner", "a b,c  d"},
		{"§4.1 empty element kept", "X-Trailing", "a,"},
		{"§4.1 empty differs from absent", "X-Empty", ""},
		{"§4.1 absent", "Accept-Language", "\x00absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := VaryValues([]string{tt.field}, req)
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("VaryValues(%q) = %q; want [%q]", tt.field, got, tt.want)
			}
			if !varyEqual(req.Values(tt.field), got[0]) {
				t.Errorf("varyEqual(%q, %q) = false; want true", req.Values(tt.field), got[0])
			}
		})
	}
	if got := VaryValues(nil, req); got != nil {
		t.Errorf("VaryValues(nil) = %q; want nil", got)
	}
}

func TestVaryEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lines  []string
		stored string
		want   bool
	}{
		{"§4.1 same value", []string{"gzip"}, "gzip", true},
		{"§4.1 OWS differences ignored", []string{" gzip ,br"}, "gzip,br", true},
		{"§4.1 lines vs one list", []string{"gzip", "br"}, "gzip,br", true},
		{"§4.1 order matters", []string{"br, gzip"}, "gzip,br", false},
		{"§4.1 fewer members", []string{"gzip"}, "gzip,br", false},
		{"§4.1 more members", []string{"gzip, br, zstd"}, "gzip,br", false},
		{"§4.1 absent matches absent", nil, absentVary, true},
		{"§4.1 absent does not match empty", nil, "", false},
		{"§4.1 empty does not match absent", []string{""}, absentVary, false},
		{"§4.1 two empty lines are not one", []string{"", ""}, "", false},
		{"§4.1 case is significant", []string{"GZIP"}, "gzip", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := varyEqual(tt.lines, tt.stored); got != tt.want {
				t.Errorf("varyEqual(%q, %q) = %v; want %v", tt.lines, tt.stored, got, tt.want)
			}
			if got := normalizeVary(tt.lines) == tt.stored; got != tt.want {
				t.Errorf("normalizeVary(%q) == %q is %v; want %v (varyEqual must agree)", tt.lines, tt.stored, got, tt.want)
			}
		})
	}
}

func FuzzVaryValues(f *testing.F) {
	f.Add("gzip, br", "zstd", "gzip,br,zstd")
	f.Add("", "", ",")
	f.Add(" a ,\tb", ",", "a,b,,")
	f.Fuzz(func(t *testing.T, a, b, stored string) {
		for _, lines := range [][]string{nil, {a}, {a, b}} {
			norm := normalizeVary(lines)
			if !varyEqual(lines, norm) {
				t.Errorf("varyEqual(%q, normalizeVary = %q) = false; want true", lines, norm)
			}
			if got, want := varyEqual(lines, stored), norm == stored; got != want {
				t.Errorf("varyEqual(%q, %q) = %v; want %v (normalizeVary = %q)", lines, stored, got, want, norm)
			}
		}
	})
}
