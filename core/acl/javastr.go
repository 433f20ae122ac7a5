package acl

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Helpers that reproduce the java.lang behaviour the authentication
// providers rely on: new String(bytes) decoding, String.split,
// Integer.parseInt and String.hashCode.

// javaDecodeUTF8 decodes b as Java's UTF-8 decoder does when it builds a
// String: each maximal ill-formed subpart becomes one U+FFFD (Unicode's
// "maximal subpart" practice, which the JDK follows), where Go's range loop
// would substitute every byte separately.
func javaDecodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]rune, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, r)
			i += size
			continue
		}
		i += maximalSubpart(b[i:])
		out = append(out, utf8.RuneError)
	}
	return string(out)
}

// maximalSubpart is the length (>= 1) of the ill-formed prefix of b, which
// starts with an invalid sequence: a lead byte followed by the continuation
// bytes that could still have completed it.
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 && (x < lo || x > hi) || k > 0 && (x < 0x80 || x > 0xBF) {
			break
		}
		n++
	}
	return n
}

// javaSplit is String.split(String.valueOf(sep), limit) for a separator that
// is not a regex metacharacter. limit 0 drops trailing empty strings (an
// input that is all separators yields no parts); a negative limit keeps
// them; a positive limit caps the number of parts.
func javaSplit(s string, sep byte, limit int) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != sep {
			continue
		}
		if limit > 0 && len(parts) == limit-1 {
			break
		}
		parts = append(parts, s[start:i])
		start = i + 1
	}
	if len(parts) == 0 {
		return []string{s} // no separator: the input itself, even if empty
	}
	parts = append(parts, s[start:])
	if limit == 0 {
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
	}
	return parts
}

// javaParseInt is Integer.parseInt(s) (radix 10): an optional '+' or '-'
// then at least one decimal digit, where a digit is any BMP character of
// Unicode category Nd (Character.digit works on UTF-16 units, so digits
// outside the BMP are not digits); values outside int32 are rejected.
func javaParseInt(s string) (int32, bool) {
	runes := []rune(s)
	if len(runes) == 0 {
		return 0, false
	}
	neg := false
	if runes[0] == '-' || runes[0] == '+' {
		neg = runes[0] == '-'
		runes = runes[1:]
		if len(runes) == 0 {
			return 0, false
		}
	}
	var v int64
	for _, r := range runes {
		d, ok := decimalValue(r)
		if !ok {
			return 0, false
		}
		v = v*10 + int64(d)
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -1<<31 {
		return 0, false
	}
	return int32(v), true
}

// decimalValue is Character.digit(r, 10) for a BMP rune. Unicode assigns
// Nd digits in contiguous runs of whole 0..9 blocks, so the value is the
// distance from the start of the run, modulo 10.
func decimalValue(r rune) (int, bool) {
	if r > 0xFFFF || !unicode.IsDigit(r) {
		return 0, false
	}
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	start := r
	for start > 0 && unicode.IsDigit(start-1) {
		start--
	}
	return int(r-start) % 10, true
}

// javaStringHash is String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over the
// UTF-16 code units, in int32 arithmetic.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + r1
			h = 31*h + r2
			continue
		}
		h = 31*h + r
	}
	return h
}
