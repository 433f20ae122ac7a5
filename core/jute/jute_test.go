package jute

import (
	"bytes"
	"testing"
)

// TestStringLikeJava: strings are written as Java's BinaryOutputArchive
// writes them, one UTF-16 code unit at a time: code points above U+FFFF
// become two 3-byte surrogates; everything else is written as it is.
func TestStringLikeJava(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{0, 0, 0, 0}},
		{"/a", []byte{0, 0, 0, 2, '/', 'a'}},
		{"é€", []byte{0, 0, 0, 5, 0xc3, 0xa9, 0xe2, 0x82, 0xac}},                             // 2- and 3-byte UTF-8 unchanged
		{"/😀", []byte{0, 0, 0, 7, '/', 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}},                  // U+1F600 = D83D DE00
		{"\xed\xa0\xbd\xed\xb8\x80", []byte{0, 0, 0, 6, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}}, // already CESU-8 (as decoded from Java): unchanged
		{"a\xf0\x9f", []byte{0, 0, 0, 3, 'a', 0xf0, 0x9f}},                                   // a cut 4-byte sequence: as it is
		{"\U0010FFFFx", []byte{0, 0, 0, 7, 0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf, 'x'}},         // the last code point
	} {
		e := NewEncoder(nil)
		e.String(c.in)
		if !bytes.Equal(e.Bytes(), c.want) {
			t.Errorf("%q: % x, want % x", c.in, e.Bytes(), c.want)
		}
	}
}

// TestJavaStrings: with SetJavaStrings, strings decode as Java's UTF-8
// decoder with replacement decodes them; without, bytes stay as they are.
func TestJavaStrings(t *testing.T) {
	for _, c := range []struct{ in, java string }{
		{"/a", "/a"},
		{"/é😀", "/é😀"}, // valid UTF-8, 4-byte sequences included
		{"/\xed\xa0\xbd\xed\xb8\x80", "/\uFFFD\uFFFD"}, // CESU-8: one U+FFFD per encoded surrogate
		{"a\x80b", "a\uFFFDb"},
		{"a\xf0\x9f", "a\uFFFD\uFFFD"},
	} {
		e := NewEncoder(nil)
		e.Raw([]byte{0, 0, 0, byte(len(c.in))})
		e.Raw([]byte(c.in))
		for _, java := range []bool{false, true} {
			d := NewDecoder(e.Bytes(), 0)
			d.SetJavaStrings(java)
			got, want := d.String(), c.in
			if java {
				want = c.java
			}
			if got != want || d.Err() != nil {
				t.Errorf("%q (java %v): %q, want %q (%v)", c.in, java, got, want, d.Err())
			}
		}
	}
}
