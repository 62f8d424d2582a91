package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"4096", 4096},
		{"10B", 10},
		{"512KiB", 512 << 10},
		{"1MiB", 1 << 20},
		{"256MiB", 256 << 20},
		{"2GiB", 2 << 30},
		{"1TiB", 1 << 40},
		{"1KB", 1000},
		{"1MB", 1e6},
		{"1GB", 1e9},
		{"3TB", 3e12},
		{"64 KiB", 64 << 10},
		{"8589934591GiB", 8589934591 << 30},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "MiB", "-1MiB", "1.5GiB", "256M", "256mib", "1 ", " 1", "1  MiB", "1Mib", "0x10", "1e6",
		"8589934592GiB", "99999999999999999999",
	} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, nil; want an error", in, got)
		} else if !strings.Contains(err.Error(), "size") {
			t.Errorf("parseSize(%q) error %q does not say what a size is", in, err)
		}
	}
}

func TestSizeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1001, "1001B"},
		{1000, "1KB"},
		{1024, "1KiB"},
		{1 << 20, "1MiB"},
		{256 << 20, "256MiB"},
		{1536 << 20, "1536MiB"},
		{1e9, "1GB"},
		{-5, "-5B"},
	}
	for _, tt := range tests {
		if got := (Size{tt.in}).String(); got != tt.want {
			t.Errorf("Size{%d}.String() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	t.Parallel()
	var d Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil || d.Duration != 90*time.Minute {
		t.Errorf("UnmarshalText(1h30m) = %v, %v; want 1h30m0s, nil", d, err)
	}
	if err := d.UnmarshalText([]byte("30")); err == nil || !strings.Contains(err.Error(), `like "30s"`) {
		t.Errorf("UnmarshalText(30) error = %v; want one showing the form", err)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "256MiB", "1 GB", "512KiB", "9223372036854775807", "8TiB", "1Mi", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d; want >= 0", s, n)
		}
		back, err := parseSize((Size{n}).String())
		if err != nil || back != n {
			t.Fatalf("parseSize(%q) = %d, but parseSize(%q) = %d, %v", s, n, (Size{n}).String(), back, err)
		}
	})
}
