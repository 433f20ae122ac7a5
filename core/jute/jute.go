// Package jute implements the binary encoding ZooKeeper uses on the wire and
// on disk (Apache Jute's BinaryInputArchive / BinaryOutputArchive).
//
// Every integer is big-endian two's complement. A buffer or ustring is an int
// length followed by that many bytes; a vector is an int count followed by its
// elements. Length -1 means null, which is distinct from empty (length 0).
// Records are their fields concatenated, with no header, tag or padding.
//
// Null and empty stay distinct through this package:
//   - buffers: Decoder.Buffer returns nil for null and a non-nil empty slice
//     for empty; Encoder.Buffer writes -1 for a nil slice and 0 for an empty one.
//   - vectors: Decoder.VectorLen reports null separately from a zero count;
//     records keep null vectors as nil slices and empty ones as non-nil.
//   - ustrings: Decoder.String refuses a null string (ErrNullString), because
//     a Go string cannot be null; fields that may legitimately be null on the
//     wire use Decoder.NullableString and keep the null flag beside the value.
//
// Decoders never panic on malformed input: every read is bounds-checked and the
// first failure is kept as a sticky error (see Decoder.Err).
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxBuffer is the default of Java's jute.maxbuffer system property.
const DefaultMaxBuffer = 0xfffff

// DefaultMaxLength is the largest buffer or string length Java's reader
// accepts by default: jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize,
// both of which default to 0xfffff.
const DefaultMaxLength = 2 * DefaultMaxBuffer

// Decode errors. They are wrapped with the byte offset where they happened;
// test with errors.Is.
var (
	// ErrShort means the input ended in the middle of a field.
	ErrShort = errors.New("jute: input truncated")
	// ErrBadLength means a buffer, string or vector length below -1.
	ErrBadLength = errors.New("jute: negative length")
	// ErrTooLarge means a length above the decoder's limit, or a vector
	// count larger than the remaining input could possibly hold.
	ErrTooLarge = errors.New("jute: length exceeds limit")
	// ErrNullString means a null ustring where the record does not allow one.
	ErrNullString = errors.New("jute: null string")
	// ErrTrailing means bytes left over after a record that must fill its
	// input exactly.
	ErrTrailing = errors.New("jute: trailing bytes after record")
)

// Decoder reads jute primitives from a byte slice.
//
// Slices returned by Buffer alias the decoder's input: the caller must copy
// them if it keeps them beyond the life of the input, or owns the input.
// After the first error every method returns a zero value and Err reports
// that error; callers may decode a whole record and check Err once.
type Decoder struct {
	buf    []byte
	off    int
	maxLen int
	err    error
	// javaStrings: strings are decoded as a Java server decodes them
	// (see SetJavaStrings).
	javaStrings bool
}

// SetJavaStrings makes d decode strings as Java's BinaryInputArchive
// does (new String(bytes, UTF_8)): bytes that are not valid UTF-8 become
// U+FFFD, one per malformed sequence, and a 3-byte encoded surrogate (the
// "CESU-8" a Java client writes for a code point above U+FFFF) counts as one
// malformed sequence. A server decoding client requests wants this, so that
// it sees the strings a Java server would; file and quorum decoders keep
// the bytes as they are (byte-exact re-encoding).
func (d *Decoder) SetJavaStrings(on bool) { d.javaStrings = on }

// NewDecoder returns a Decoder over b. maxLen is the largest buffer or
// string length accepted; 0 means DefaultMaxLength.
func NewDecoder(b []byte, maxLen int) *Decoder {
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	return &Decoder{buf: b, maxLen: maxLen}
}

// Reset makes d read b from the start, clearing any error.
func (d *Decoder) Reset(b []byte) {
	d.buf, d.off, d.err = b, 0, nil
}

// Err returns the first error the decoder met, or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes have been consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Rest returns the unread bytes (aliasing the input) and consumes them.
func (d *Decoder) Rest() []byte {
	if d.err != nil {
		return nil
	}
	b := d.buf[d.off:]
	d.off = len(d.buf)
	return b
}

// HasPrefix reports whether the unread input starts with p.
func (d *Decoder) HasPrefix(p []byte) bool {
	return d.err == nil && len(d.buf)-d.off >= len(p) && string(d.buf[d.off:d.off+len(p)]) == string(p)
}

// Skip consumes n bytes.
func (d *Decoder) Skip(n int) { d.take(n) }

// Fail records err (wrapped with the current offset) unless an error is
// already recorded. Records use it for their own validation failures.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at offset %d: %w", d.off, err)
	}
}

// Finish records ErrTrailing if any input is left; it returns Err.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.Fail(fmt.Errorf("%w: %d bytes", ErrTrailing, len(d.buf)-d.off))
	}
	return d.err
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf)-d.off {
		d.Fail(ErrShort)
		return nil
	}
	b := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a boolean; any non-zero byte is true, as in Java.
func (d *Decoder) Bool() bool { return d.Byte() != 0 }

// Int reads a 4-byte int.
func (d *Decoder) Int() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads an 8-byte long.
func (d *Decoder) Long() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// length reads a buffer/string length and checks it against the limit.
// It returns -1 for null.
func (d *Decoder) length() int {
	n := d.Int()
	switch {
	case d.err != nil:
		return -1
	case n == -1:
		return -1
	case n < -1:
		d.Fail(fmt.Errorf("%w: %d", ErrBadLength, n))
		return -1
	case int(n) > d.maxLen:
		d.Fail(fmt.Errorf("%w: %d > %d", ErrTooLarge, n, d.maxLen))
		return -1
	}
	return int(n)
}

// Buffer reads a buffer: nil for null, a non-nil slice otherwise (empty for
// length 0). The result aliases the input.
func (d *Decoder) Buffer() []byte {
	n := d.length()
	if n < 0 {
		return nil
	}
	return d.take(n)
}

// String reads a ustring that must not be null.
func (d *Decoder) String() string {
	s, ok := d.NullableString()
	if !ok && d.err == nil {
		d.Fail(ErrNullString)
	}
	return s
}

// NullableString reads a ustring; ok is false for a null string.
func (d *Decoder) NullableString() (s string, ok bool) {
	n := d.length()
	if n < 0 {
		return "", false
	}
	b := d.take(n)
	if b == nil {
		return "", false
	}
	if d.javaStrings && !utf8.Valid(b) {
		return javaDecode(b), true
	}
	return string(b), true
}

// javaDecode turns b into valid UTF-8 the way Java's UTF-8 decoder with
// replacement does: each malformed byte, and each 3-byte encoded surrogate,
// becomes U+FFFD.
func javaDecode(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		if b[i] == 0xed && i+2 < len(b) && b[i+1] >= 0xa0 && b[i+1] <= 0xbf && b[i+2]&0xc0 == 0x80 {
			out = utf8.AppendRune(out, utf8.RuneError)
			i += 3
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// VectorLen reads a vector count. null is true for count -1 (n is then 0).
// minElem is the smallest encoded size of one element; a count whose
// elements could not fit in the remaining input is rejected with
// ErrTooLarge, so callers may preallocate n elements safely.
func (d *Decoder) VectorLen(minElem int) (n int, null bool) {
	c := d.Int()
	switch {
	case d.err != nil:
		return 0, true
	case c == -1:
		return 0, true
	case c < -1:
		d.Fail(fmt.Errorf("%w: vector count %d", ErrBadLength, c))
		return 0, true
	}
	if minElem < 1 {
		minElem = 1
	}
	if int64(c)*int64(minElem) > int64(d.Remaining()) {
		d.Fail(fmt.Errorf("%w: vector of %d elements with %d bytes left", ErrTooLarge, c, d.Remaining()))
		return 0, true
	}
	return int(c), false
}

// StringVector reads a vector<ustring> whose elements must not be null.
// A null vector is returned as nil, an empty one as a non-nil empty slice.
func (d *Decoder) StringVector() []string {
	n, null := d.VectorLen(4)
	if null {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.String()
		if d.err != nil {
			return nil
		}
	}
	return v
}

// Encoder appends jute primitives to a byte slice. The zero value is ready
// to use. Encoding never fails.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to b (which may be nil).
func NewEncoder(b []byte) *Encoder { return &Encoder{buf: b} }

// Bytes returns the encoded bytes. The slice is owned by the Encoder until
// the next write.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes written.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the Encoder, keeping its storage.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Byte writes one byte.
func (e *Encoder) Byte(v byte) { e.buf = append(e.buf, v) }

// Bool writes 1 for true, 0 for false.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// Int writes a 4-byte int.
func (e *Encoder) Int(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }

// Long writes an 8-byte long.
func (e *Encoder) Long(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }

// Buffer writes a buffer: -1 for nil, otherwise the length and bytes.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.buf = append(e.buf, b...)
}

// String writes a non-null ustring.
func (e *Encoder) String(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xf0 {
			e.javaString(s)
			return
		}
	}
	e.Int(int32(len(s)))
	e.buf = append(e.buf, s...)
}

// javaString writes s as Java's BinaryOutputArchive does: one UTF-16 code
// unit at a time, so a code point above U+FFFF (4 bytes in UTF-8) becomes
// its two surrogates, 3 bytes each ("CESU-8"). Everything else, invalid
// bytes included, is written as it is.
func (e *Encoder) javaString(s string) {
	at := len(e.buf)
	e.Int(0) // the length, patched below
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if size != 4 {
			e.buf = append(e.buf, s[i:i+size]...)
			i += size
			continue
		}
		hi, lo := utf16.EncodeRune(r)
		e.buf = append(e.buf, surrogateBytes(hi)...)
		e.buf = append(e.buf, surrogateBytes(lo)...)
		i += size
	}
	binary.BigEndian.PutUint32(e.buf[at:], uint32(len(e.buf)-at-4))
}

// surrogateBytes is the 3-byte encoding of a UTF-16 surrogate code unit.
func surrogateBytes(u rune) []byte {
	return []byte{0xe0 | byte(u>>12), 0x80 | byte(u>>6)&0x3f, 0x80 | byte(u)&0x3f}
}

// NullableString writes s, or a null string (-1) when ok is false.
func (e *Encoder) NullableString(s string, ok bool) {
	if !ok {
		e.Int(-1)
		return
	}
	e.String(s)
}

// VectorLen writes a vector count, or -1 when null is true.
func (e *Encoder) VectorLen(n int, null bool) {
	if null {
		e.Int(-1)
		return
	}
	e.Int(int32(n))
}

// StringVector writes a vector<ustring>; a nil slice is written as null.
func (e *Encoder) StringVector(v []string) {
	e.VectorLen(len(v), v == nil)
	for _, s := range v {
		e.String(s)
	}
}

// Raw appends b unchanged.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

// Record is implemented by every jute record.
//
// Encode appends the record's bytes. Decode reads the record's fields from
// d; it returns d.Err() so that callers may also check the error later.
// Decoded byte slices alias d's input.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder) error
}

// Marshal returns the encoding of r in a new slice.
func Marshal(r Record) []byte {
	var e Encoder
	r.Encode(&e)
	return e.buf
}

// Unmarshal decodes r from b, which must hold exactly one record, with the
// default length limit. Byte slices in r alias b.
func Unmarshal(b []byte, r Record) error {
	d := NewDecoder(b, 0)
	r.Decode(d)
	return d.Finish()
}
