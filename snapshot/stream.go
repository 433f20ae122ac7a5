package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/zkobserver/zkobserver/core/jute"
)

// Buffer sizes. Reads of fixed-size fields and of short strings are served
// from the bufio buffer without copying; larger buffers are read directly
// into their own allocation.
const (
	readBufSize     = 1 << 20 // bufio buffer over the logical stream
	fileBufSize     = 1 << 18 // bufio buffer under a decompressor
	exactAllocLimit = 1 << 18 // above this, grow allocations as data arrives
	writeBufSize    = 1 << 16 // bufio buffer of writers
)

// minBufSize is the smallest bufio buffer rd works with (it peeks whole
// fixed-size records).
const minBufSize = 256

// sizeOf returns the number of bytes left in r when that is cheap to know.
func sizeOf(r io.Reader) (int64, bool) {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len()), true
	case *os.File:
		if st, err := x.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := x.Seek(0, io.SeekCurrent); err == nil {
				return st.Size() - pos, true
			}
		}
	}
	return 0, false
}

// bufSize picks a buffer size for reading size bytes (ratio times that for
// compressed input), between minBufSize and limit: small inputs do not pay
// for large buffers.
func bufSize(r io.Reader, ratio int64, limit int) int {
	n, ok := sizeOf(r)
	if !ok {
		return limit
	}
	return int(max(int64(minBufSize), min(int64(limit), (n+1)*ratio)))
}

// rd reads jute primitives from a bufio.Reader, counting the offset and
// (optionally) maintaining an Adler-32 of every byte consumed. The first
// error is sticky: after it every method returns zero values.
type rd struct {
	br      *bufio.Reader
	off     int64
	maxLen  int
	hashing bool
	sum     adler
	err     error
	file    string
	what    string // current Op for errors
}

func newRd(br *bufio.Reader, maxLen int, checksum bool) *rd {
	return &rd{br: br, maxLen: maxLen, hashing: checksum, sum: newAdler()}
}

// fail records err at offset off unless an error is already recorded.
func (r *rd) fail(off int64, err error) {
	if r.err == nil {
		r.err = &Error{File: r.file, Offset: off, Op: r.what, Err: err}
	}
}

// readErr classifies an error met while n bytes were needed and have
// arrived.
func readErr(err error, n, have int) error {
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: need %d bytes, input ended after %d", ErrTruncated, n, have)
	}
	return err
}

// peek returns the next n bytes (n <= buffer size) without consuming them.
func (r *rd) peek(n int) []byte {
	if r.err != nil {
		return nil
	}
	b, err := r.br.Peek(n)
	if len(b) < n {
		r.fail(r.off, readErr(err, n, len(b)))
		return nil
	}
	return b
}

// consume hashes and discards b, which must be the start of a peek result.
func (r *rd) consume(b []byte) {
	if r.hashing {
		r.sum.update(b)
	}
	r.br.Discard(len(b))
	r.off += int64(len(b))
}

// atEOF reports whether the stream ends here. Any error other than a clean
// end is recorded.
func (r *rd) atEOF() bool {
	if r.err != nil {
		return false
	}
	b, err := r.br.Peek(1)
	if len(b) == 1 {
		return false
	}
	if err == io.EOF {
		return true
	}
	r.fail(r.off, readErr(err, 1, 0))
	return false
}

func (r *rd) int32() int32 {
	b := r.peek(4)
	if b == nil {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(b))
	r.consume(b[:4])
	return v
}

func (r *rd) int64() int64 {
	b := r.peek(8)
	if b == nil {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(b))
	r.consume(b[:8])
	return v
}

// length reads a jute buffer/string length: -1 for null, an error for other
// negative values or values above the limit.
func (r *rd) length() int {
	start := r.off
	n := r.int32()
	switch {
	case r.err != nil:
		return -1
	case n == -1:
		return -1
	case n < -1:
		r.fail(start, fmt.Errorf("%w: %w: %d", ErrCorrupt, jute.ErrBadLength, n))
		return -1
	case int(n) > r.maxLen:
		r.fail(start, fmt.Errorf("%w: %w: %d > %d", ErrCorrupt, jute.ErrTooLarge, n, r.maxLen))
		return -1
	}
	return int(n)
}

// count reads a vector or table count that must not be negative.
func (r *rd) count() int {
	start := r.off
	n := r.int32()
	if r.err == nil && n < 0 {
		r.fail(start, fmt.Errorf("%w: negative count %d", ErrCorrupt, n))
		return 0
	}
	return int(n)
}

// bytes reads n bytes into a new slice owned by the caller (see readGrow).
func (r *rd) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	start := r.off
	buf, err := readGrow(r.br, n)
	if err != nil {
		r.fail(start, readErr(err, n, len(buf)))
		return nil
	}
	if r.hashing {
		r.sum.update(buf)
	}
	r.off += int64(n)
	return buf
}

// readGrow reads exactly n bytes from br into a new slice. Large reads grow
// their allocation as data arrives, so a bogus length on a short input
// costs little. On error it returns what was read and the error from br.
func readGrow(br io.Reader, n int) ([]byte, error) {
	if n <= exactAllocLimit {
		buf := make([]byte, n)
		m, err := io.ReadFull(br, buf)
		return buf[:m], err
	}
	buf := make([]byte, 0, exactAllocLimit)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			c := min(2*cap(buf), n)
			if n-c < c/2 { // close to the end: allocate exactly
				c = n
			}
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// buffer reads a jute buffer: nil for null, a new non-nil slice otherwise.
func (r *rd) buffer() []byte {
	n := r.length()
	if n < 0 {
		return nil
	}
	return r.bytes(n)
}

// ustring reads a jute ustring; ok is false for null.
func (r *rd) ustring() (s string, ok bool) {
	n := r.length()
	if n < 0 {
		return "", false
	}
	if n <= r.br.Size() {
		b := r.peek(n)
		if b == nil {
			return "", false
		}
		s = string(b[:n])
		r.consume(b[:n])
		return s, true
	}
	b := r.bytes(n)
	if b == nil {
		return "", false
	}
	return string(b), true
}

// slash reads the ustring "/" that ends the node list and every seal.
func (r *rd) slash() {
	start := r.off
	b := r.peek(5)
	if b == nil {
		return
	}
	if b[0] != 0 || b[1] != 0 || b[2] != 0 || b[3] != 1 || b[4] != '/' {
		r.fail(start, fmt.Errorf(`%w: expected the string "/" (00000001 2f), found % x`, ErrCorrupt, b[:5]))
		return
	}
	r.consume(b[:5])
}

// checksum returns the Adler-32 of every byte consumed so far.
func (r *rd) checksum() uint32 { return r.sum.sum() }
