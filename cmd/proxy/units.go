package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a time.Duration written in TOML as a string that
// time.ParseDuration accepts: "30s", "5m", "1h30m", "0s". (It is a struct
// so that a bare TOML integer, which would otherwise decode as
// nanoseconds, is a type error.)
type Duration struct {
	time.Duration `toml:"-"`
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: want a number with a unit (ns, us, ms, s, m, h), like \"30s\" or \"1h30m\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a number of bytes written in TOML as a string: a whole number
// with an optional unit, "B", decimal "KB", "MB", "GB", "TB" (powers of
// 1000) or binary "KiB", "MiB", "GiB", "TiB" (powers of 1024). A space may
// separate number and unit: "256MiB", "1 GB", "4096". A TOML integer is a
// number of bytes.
type Size struct {
	Bytes int64 `toml:"-"`
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := parseSize(string(b))
	if err != nil {
		return err
	}
	s.Bytes = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String formats s with the largest unit that divides it exactly, binary
// units first: 268435456 is "256MiB", 1000000 is "1MB", 1000 is "1KB",
// 1001 is "1001B". parseSize reads it back to the same value.
func (s Size) String() string {
	n := s.Bytes
	if n != 0 {
		for _, u := range sizeUnits() {
			if u.mult > 1 && n%u.mult == 0 {
				return strconv.FormatInt(n/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// sizeUnit is one unit parseSize accepts.
type sizeUnit struct {
	name string
	mult int64
}

// sizeUnits lists the units, binary before decimal, largest first within
// each, which is the order String prefers them in.
func sizeUnits() [9]sizeUnit {
	return [...]sizeUnit{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"B", 1},
	}
}

// sizeForm says what parseSize accepts, for error messages.
const sizeForm = `want a whole number with an optional unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), like "256MiB"`

// parseSize parses a Size's text form (see Size).
func parseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size: %s", s, sizeForm)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large a size: the maximum is %d bytes", s, int64(math.MaxInt64))
	}
	unit := s[i:]
	if len(unit) > 1 && unit[0] == ' ' {
		unit = unit[1:]
	}
	mult := int64(1)
	if unit != "" {
		mult = 0
		for _, u := range sizeUnits() {
			if u.name == unit {
				mult = u.mult
				break
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("%q is not a size: %s", s, sizeForm)
		}
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large a size: the maximum is %d bytes", s, int64(math.MaxInt64))
	}
	return n * mult, nil
}
