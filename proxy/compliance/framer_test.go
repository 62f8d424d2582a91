package compliance

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestFramer(t *testing.T) {
	t.Parallel()
	for _, tc := range framerCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.want
			if tc.passedAll {
				want.passed = fedBytes(tc.steps)
			}
			got, _ := run(t, tc.steps, whole)
			if !equalOutcome(got, want) {
				t.Errorf("got %+v; want %+v", got, want)
			}
		})
	}
}

// TestFramerSplits is the property that makes the Framer usable on a
// socket: how reads cut the stream changes nothing.
func TestFramerSplits(t *testing.T) {
	t.Parallel()
	for _, tc := range framerCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, _ := run(t, tc.steps, whole)
			checkSplits(t, tc.steps, want)
		})
	}
}

func fedBytes(steps []step) int {
	n := 0
	for _, s := range steps {
		n += len(s.data)
	}
	return n
}

func TestFramerEvidence(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2*MaxEvidence)
	tests := []struct {
		name  string
		steps []step
		want  []Violation
	}{
		{
			name:  "RFC 9110 §8.6: 204 fields",
			steps: []step{begin("GET"), feed("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nTransfer-Encoding:  chunked \r\n\r\n")},
			want: []Violation{
				{Rule: NoContentLength, Detail: "Content-Length: 0"},
				{Rule: NoContentTransferEncoding, Detail: "Transfer-Encoding: chunked"},
			},
		},
		{
			name:  "RFC 9110 §8.6: control bytes are escaped",
			steps: []step{begin("GET"), feed("HTTP/1.1 204 No Content\r\nContent-Length: 0\x01\r\n\r\n")},
			want:  []Violation{{Rule: NoContentLength, Detail: `Content-Length: "0\x01"`}},
		},
		{
			name:  "RFC 9110 §15.3.5: smuggled response",
			steps: []step{begin("GET"), feed(clean204 + smuggled)},
			want: []Violation{{
				Rule: NoContentBody, Detail: "78 bytes after the header section",
				Stray: []byte(smuggled), StrayLen: int64(len(smuggled)),
			}},
		},
		{
			name:  "RFC 9112 §6.3: 304 body, evidence capped",
			steps: []step{begin("GET"), feed(clean304), feed(long)},
			want: []Violation{{
				Rule: NotModifiedBody, Detail: "512 bytes after the header section",
				Stray: []byte(long[:MaxEvidence]), StrayLen: int64(len(long)),
			}},
		},
		{
			name:  "RFC 9112 §6.3: head body",
			steps: []step{begin("HEAD"), feed(head200 + "hello")},
			want: []Violation{{
				Rule: HeadBody, Detail: "5 bytes after the header section",
				Stray: []byte("hello"), StrayLen: 5,
			}},
		},
		{
			name:  "RFC 9112 §6.3: long body",
			steps: []step{begin("GET"), feed(ok200 + "!!")},
			want: []Violation{{
				Rule: ContentLengthMismatch, Detail: "2 bytes past Content-Length 5",
				Stray: []byte("!!"), StrayLen: 2,
			}},
		},
		{
			name:  "RFC 9112 §6.3: short body",
			steps: []step{begin("GET"), feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"), eof()},
			want:  []Violation{{Rule: ContentLengthMismatch, Detail: "body 5 bytes, Content-Length 100"}},
		},
		{
			name:  "RFC 9112 §7.1: long chunked body",
			steps: []step{begin("GET"), feed(chunked + "2\r\nok\r\n0\r\n\r\nmore")},
			want: []Violation{{
				Rule: ContentLengthMismatch, Detail: "4 bytes after the last chunk",
				Stray: []byte("more"), StrayLen: 4,
			}},
		},
		{
			name:  "RFC 9112 §7.1: short chunked body",
			steps: []step{begin("GET"), feed(chunked + "2\r\nok\r\n5\r\nabc"), eof()},
			want:  []Violation{{Rule: ContentLengthMismatch, Detail: "chunked body cut short after 5 bytes"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := run(t, tc.steps, whole)
			if !slices.EqualFunc(got, tc.want, equalViolation) {
				t.Errorf("violations = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func equalViolation(a, b Violation) bool {
	return a.Rule == b.Rule && a.Detail == b.Detail && bytes.Equal(a.Stray, b.Stray) && a.StrayLen == b.StrayLen
}

// TestFramerHeaderViolationsFirst: the Feed that completes a 204's header
// section reports its field violations before anything about its body.
func TestFramerHeaderViolationsFirst(t *testing.T) {
	t.Parallel()
	f := NewFramer()
	f.Begin("GET")
	head := "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
	n, vs, poisoned := f.Feed([]byte(head + "abc"))
	if n != len(head) || !poisoned || len(vs) != 2 || vs[0].Rule != NoContentLength || vs[1].Rule != NoContentBody {
		t.Fatalf("Feed = %d, %+v, %v; want %d, [204-content-length 204-body], true", n, vs, poisoned, len(head))
	}
	// The evidence is a copy: the caller reuses its buffer.
	if string(vs[1].Stray) != "abc" {
		t.Errorf("Stray = %q; want %q", vs[1].Stray, "abc")
	}
}

func TestFramerIdle(t *testing.T) {
	t.Parallel()
	f := NewFramer()
	check := func(when string, want bool) {
		t.Helper()
		if got := f.Idle(); got != want {
			t.Errorf("Idle() %s = %v; want %v", when, got, want)
		}
	}
	feed := func(s string) {
		t.Helper()
		if n, vs, poisoned := f.Feed([]byte(s)); n != len(s) || vs != nil || poisoned {
			t.Fatalf("Feed(%q) = %d, %v, %v; want %d, nil, false", s, n, vs, poisoned, len(s))
		}
	}
	check("on a new connection", true)
	f.Begin("GET")
	check("after Begin", false)
	feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
	check("inside the body", false)
	feed("ok")
	check("after the body", true)
	f.Begin("HEAD")
	feed("HTTP/1.1 100 Continue\r\n\r\n")
	check("after an interim response", false)
	feed(head200)
	check("after a HEAD response", true)
	f.Begin("GET")
	feed("HTTP/1.1 200 OK\r\n\r\nstream")
	check("inside a body read until close", false)
	if vs := f.EOF(); vs != nil {
		t.Errorf("EOF() = %v; want nil", vs)
	}
	check("after the end of a body read until close", true)

	f = NewFramer()
	f.Begin("GET")
	f.Feed([]byte(clean204 + "x"))
	check("when poisoned", false)
}

// TestFramerPoisonedIsSticky: once poisoned, nothing passes and nothing
// more is reported, whatever comes.
func TestFramerPoisonedIsSticky(t *testing.T) {
	t.Parallel()
	f := NewFramer()
	f.Begin("GET")
	if _, _, poisoned := f.Feed([]byte(ok200 + "x")); !poisoned {
		t.Fatal("Feed with a long body: not poisoned")
	}
	for i := 0; i < 3; i++ {
		f.Begin("GET")
		if n, vs, poisoned := f.Feed([]byte(ok200)); n != 0 || vs != nil || !poisoned {
			t.Errorf("Feed after poison = %d, %v, %v; want 0, nil, true", n, vs, poisoned)
		}
		if n, vs, poisoned := f.Feed(nil); n != 0 || vs != nil || !poisoned {
			t.Errorf("Feed(nil) after poison = %d, %v, %v; want 0, nil, true", n, vs, poisoned)
		}
	}
	if vs := f.EOF(); vs != nil {
		t.Errorf("EOF() after poison = %v; want nil", vs)
	}
}

// TestFramerHeaderCap: a header section past 1 MiB poisons at the byte
// that crosses the cap, however the stream is cut.
func TestFramerHeaderCap(t *testing.T) {
	t.Parallel()
	head := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 1100)
	for _, chunk := range []int{len(head), 4096, 1000, 7} {
		f := NewFramer()
		f.Begin("GET")
		total := 0
		poisoned := false
		for p := []byte(head); len(p) > 0 && !poisoned; {
			k := min(chunk, len(p))
			var n int
			n, _, poisoned = f.Feed(p[:k])
			total += n
			p = p[k:]
		}
		if !poisoned || total != maxHeadBytes {
			t.Errorf("chunks of %d: passed %d, poisoned %v; want %d, true", chunk, total, poisoned, maxHeadBytes)
		}
	}
}

// TestFramerHeaderCapAfterInterim: the cap counts interim responses, and
// the status line check never looks past it.
func TestFramerHeaderCapAfterInterim(t *testing.T) {
	t.Parallel()
	const head = "HTTP/1.1 103 Early Hints\r\nX-Pad: "
	interim := head + strings.Repeat("a", maxHeadBytes-3-len(head)-4) + "\r\n\r\n"
	for _, tail := range []string{"HTTP/1.1 200 OK\r\n", "HTXP", "HTTXP"} {
		want := maxHeadBytes
		if tail == "HTXP" {
			want = maxHeadBytes - 1
		}
		for name, split := range map[string]func(string) []string{"whole": whole, "bytewise": bytewise} {
			got, _ := run(t, []step{begin("GET"), feed(interim), feed(tail)}, split)
			if got.passed != want || !got.poisoned {
				t.Errorf("%s, tail %q: passed %d, poisoned %v; want %d, true", name, tail, got.passed, got.poisoned, want)
			}
		}
	}
}

func TestFramerBigHeaderUnderCap(t *testing.T) {
	t.Parallel()
	resp := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 64<<10) + "\r\nContent-Length: 2\r\n\r\nok"
	steps := []step{begin("GET"), feed(resp)}
	want := outcome{passed: len(resp), idle: true}
	for name, split := range map[string]func(string) []string{"whole": whole, "bytewise": bytewise} {
		if got, _ := run(t, steps, split); !equalOutcome(got, want) {
			t.Errorf("%s: %+v; want %+v", name, got, want)
		}
	}
}

func TestParseContentLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{" 42\t", 42, true},
		{"5, 5", 5, true},
		{"5,,5,", 5, true},
		{"999999999999999999", 999999999999999999, true},
		{"", 0, false},
		{",", 0, false},
		{"5, 6", 0, false},
		{"+5", 0, false},
		{"5 5", 0, false},
		{"0x10", 0, false},
		{"1000000000000000000", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseContentLength([]byte(tc.in))
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseContentLength(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFramerZeroValue(t *testing.T) {
	t.Parallel()
	var f Framer
	if !f.Idle() {
		t.Error("zero Framer: Idle() = false; want true")
	}
	for range 2 {
		f.Begin("GET")
		if n, vs, poisoned := f.Feed([]byte(ok200)); n != len(ok200) || vs != nil || poisoned {
			t.Fatalf("zero Framer: Feed = %d, %v, %v; want %d, nil, false", n, vs, poisoned, len(ok200))
		}
	}
	if !f.Idle() {
		t.Error("zero Framer after two exchanges: Idle() = false; want true")
	}
}
