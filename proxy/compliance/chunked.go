package compliance

import "math"

// Chunked transfer coding (RFC 9112 §7.1):
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//
// Chunk lines must end in CRLF: unlike header lines, a bare LF is not
// accepted (RFC 9112 §2.2 allows it outside message bodies only; Go's
// client rejects it too), nor a CR anywhere else in the line. Extensions
// are skipped without a syntax check, as Go's client does.

// chunkLine consumes a chunk-size line from p[i:] and returns where it
// stopped: past the line, at the end of p, or at the byte that poisoned.
func (f *Framer) chunkLine(p []byte, i int) int {
	for ; i < len(p); i++ {
		c := p[i]
		f.csLen++
		if f.csLen > maxChunkLine {
			f.poison()
			return i
		}
		switch f.cs {
		case csSize:
			if h, ok := unhex(c); ok {
				if f.remain > math.MaxInt64>>4 {
					f.poison() // chunk size overflows
					return i
				}
				f.remain = f.remain<<4 | int64(h)
				f.csDigits++
				continue
			}
			if f.csDigits == 0 {
				f.poison()
				return i
			}
			fallthrough
		case csBWS:
			switch c {
			case ' ', '\t':
				f.cs = csBWS
			case ';':
				f.cs = csExt
			case '\r':
				f.cs = csLF
			default:
				f.poison()
				return i
			}
		case csExt:
			switch c {
			case '\r':
				f.cs = csLF
			case '\n':
				f.poison()
				return i
			}
		case csLF:
			if c != '\n' {
				f.poison()
				return i
			}
			f.cs, f.csLen, f.csDigits = csSize, 0, 0
			if f.remain == 0 {
				f.state, f.headBytes = stTrailer, 0 // last-chunk
			} else {
				f.state = stChunkData
			}
			return i + 1
		}
	}
	return i
}

// chunkEnd consumes the CRLF after chunk data from p[i:]; f.cs is csSize
// before the CR and csLF before the LF.
func (f *Framer) chunkEnd(p []byte, i int) int {
	for ; i < len(p); i++ {
		switch {
		case f.cs == csSize && p[i] == '\r':
			f.cs = csLF
		case f.cs == csLF && p[i] == '\n':
			f.state, f.cs, f.csLen, f.csDigits = stChunkLine, csSize, 0, 0
			return i + 1
		default:
			f.poison()
			return i
		}
	}
	return i
}
