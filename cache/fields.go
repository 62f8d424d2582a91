package cache

import (
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
)

// Fields is a stored response's header fields in a compact, immutable
// form: two heap objects whatever the number of fields, where an
// [http.Header] takes a map, a slice per field and a string per value.
// The garbage collector's marking work grows with the objects a cache
// holds, so with a million entries this is what keeps the collector from
// slowing every request (docs/performance.md).
//
// Names are canonical (as [http.CanonicalHeaderKey] makes them), sorted
// and distinct; each has at least one value. The zero Fields is empty.
// The slices Values and At return are shared with every reader and have
// no spare capacity: appending to one copies it, and nothing may modify
// one in place.
type Fields struct {
	// kv holds the n names, then every field's values in name order. Its
	// strings all point into one block of bytes.
	kv []string
	// ends is the head of that block: n little-endian uint32s, ends[i]
	// being the index in kv just past field i's values. Field i's values
	// start at ends[i-1], or at n for the first.
	ends string
}

// NewFields returns the compact form of h: its fields that have at least
// one value. Names that canonicalize alike are merged, their values in
// no particular order.
func NewFields(h http.Header) Fields {
	for name := range h {
		if http.CanonicalHeaderKey(name) != name {
			c := make(http.Header, len(h))
			for name, values := range h {
				k := http.CanonicalHeaderKey(name)
				c[k] = append(c[k], values...)
			}
			h = c
			break
		}
	}
	names := make([]string, 0, len(h))
	lines, size := 0, 0
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		names = append(names, name)
		lines += 1 + len(values)
		size += len(name)
		for _, v := range values {
			size += len(v)
		}
	}
	if len(names) == 0 {
		return Fields{}
	}
	slices.Sort(names)
	n := len(names)

	var b strings.Builder
	b.Grow(4*n + size)
	var end [4]byte
	e := n
	for _, name := range names {
		e += len(h[name])
		binary.LittleEndian.PutUint32(end[:], uint32(e))
		b.Write(end[:])
	}
	for _, name := range names {
		b.WriteString(name)
	}
	for _, name := range names {
		for _, v := range h[name] {
			b.WriteString(v)
		}
	}
	block := b.String()

	kv := make([]string, lines)
	off, k := 4*n, 0
	for _, name := range names {
		kv[k] = block[off : off+len(name)]
		off += len(name)
		k++
	}
	for _, name := range names {
		for _, v := range h[name] {
			kv[k] = block[off : off+len(v)]
			off += len(v)
			k++
		}
	}
	return Fields{kv: kv, ends: block[:4*n]}
}

// Len returns the number of fields (distinct names).
func (f *Fields) Len() int { return len(f.ends) / 4 }

// end returns the index in kv just past field i's values.
func (f *Fields) end(i int) int {
	e := f.ends[4*i : 4*i+4]
	return int(uint32(e[0]) | uint32(e[1])<<8 | uint32(e[2])<<16 | uint32(e[3])<<24)
}

// At returns field i's name and values, 0 <= i < Len(), in name order.
func (f *Fields) At(i int) (name string, values []string) {
	start := f.Len()
	if i > 0 {
		start = f.end(i - 1)
	}
	end := f.end(i)
	return f.kv[i], f.kv[start:end:end]
}

// index returns the field named name (canonical), or -1.
func (f *Fields) index(name string) int {
	n := f.Len()
	i, ok := slices.BinarySearch(f.kv[:n], name)
	if !ok {
		return -1
	}
	return i
}

// Values returns the values of the field named name, nil if absent. name
// is canonicalized when it is not found as given, as [http.Header.Values]
// does.
func (f *Fields) Values(name string) []string {
	i := f.index(name)
	if i < 0 {
		if c := http.CanonicalHeaderKey(name); c != name {
			i = f.index(c)
		}
		if i < 0 {
			return nil
		}
	}
	_, v := f.At(i)
	return v
}

// Get returns the first value of the field named name, "" if absent.
func (f *Fields) Get(name string) string {
	if v := f.Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Has reports whether the field named name is present.
func (f *Fields) Has(name string) bool { return f.Values(name) != nil }

// Header returns the fields as a new [http.Header] the caller owns.
func (f *Fields) Header() http.Header {
	h := make(http.Header, f.Len())
	for i := range f.Len() {
		name, values := f.At(i)
		h[name] = slices.Clone(values)
	}
	return h
}

// lineBytes returns what every field line costs: each value's length,
// its name's and FieldLineOverhead.
func (f *Fields) lineBytes() int64 {
	var n int64
	for i := range f.Len() {
		name, values := f.At(i)
		for _, v := range values {
			n += int64(len(name)+len(v)) + FieldLineOverhead
		}
	}
	return n
}
