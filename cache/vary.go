package cache

import "net/http"

// VaryFields returns the canonical field names listed in the Vary field
// lines of h (RFC 9110 §12.5.5), in order, without duplicates. A "*" member
// is returned as "*".
func VaryFields(h http.Header) []string { panic("TODO") }

// VaryValues returns, for each name in fields, the normalized value the
// request sent: its field lines joined with ", ", with whitespace around
// commas and at the ends removed (RFC 9111 §4.1 allows such normalization).
// A missing field yields "\x00absent", so that absent and empty differ.
func VaryValues(fields []string, reqHeader http.Header) []string { panic("TODO") }
