package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
)

// The snappy-java stream format (xerial SnappyOutputStream/SnappyCodec) that
// Java uses for snapshot.*.snappy files. It is not the Snappy framing
// format: a 16-byte header (8 magic bytes, int version, int minimum
// compatible version), then chunks of int compressedLength + one raw Snappy
// block. A second header may appear where a chunk length is expected
// (concatenated streams); snappy-java skips it, and so do we.

// snappyJavaMagic is the magic that starts a snappy-java stream.
var snappyJavaMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	snappyJavaHeaderSize = 16
	snappyJavaVersion    = 1
	// snappyJavaBlockSize is SnappyOutputStream's default block size.
	snappyJavaBlockSize = 32 << 10
	// snappyMaxDecoded bounds one chunk's decoded size. Java writes 32 KiB
	// blocks; the bound only protects against hostile input.
	snappyMaxDecoded = 4 << 20
)

// snappyMagicHead is the first four magic bytes read as a chunk length.
var snappyMagicHead = binary.BigEndian.Uint32(snappyJavaMagic)

// snappyJavaReader decodes a snappy-java stream. Errors wrap ErrBadMagic,
// ErrCompression or ErrTruncated (as plain errors; the caller adds the
// offset in the uncompressed stream).
type snappyJavaReader struct {
	r    io.Reader
	comp []byte
	buf  []byte // decoded chunk
	pos  int
	err  error
}

func newSnappyJavaReader(r io.Reader) (*snappyJavaReader, error) {
	s := &snappyJavaReader{r: r}
	if err := s.readHeader(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// readHeader reads a stream header; have holds bytes of it already read.
func (s *snappyJavaReader) readHeader(have []byte) error {
	var h [snappyJavaHeaderSize]byte
	n := copy(h[:], have)
	if m, err := io.ReadFull(s.r, h[n:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: snappy stream header: %d of %d bytes", ErrTruncated, n+m, snappyJavaHeaderSize)
		}
		return err
	}
	if !bytes.Equal(h[:8], snappyJavaMagic) {
		return fmt.Errorf("%w: not a snappy-java stream (starts % x)", ErrBadMagic, h[:8])
	}
	if v := int32(binary.BigEndian.Uint32(h[8:])); v < snappyJavaVersion {
		return fmt.Errorf("%w: snappy-java stream version %d", ErrCompression, v)
	}
	return nil
}

func (s *snappyJavaReader) Read(p []byte) (int, error) {
	for s.pos == len(s.buf) {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.nextChunk()
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	return n, nil
}

// nextChunk decodes the next chunk into s.buf. It returns io.EOF at a clean
// end of stream.
func (s *snappyJavaReader) nextChunk() error {
	var lb [4]byte
	n, err := io.ReadFull(s.r, lb[:])
	switch {
	case err == io.EOF:
		return io.EOF
	case err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: snappy chunk length: %d of 4 bytes", ErrTruncated, n)
	case err != nil:
		return err
	}
	u := binary.BigEndian.Uint32(lb[:])
	if u == snappyMagicHead {
		return s.readHeader(lb[:])
	}
	l := int32(u)
	if l <= 0 || int(l) > snappy.MaxEncodedLen(snappyMaxDecoded) {
		return fmt.Errorf("%w: snappy chunk length %d", ErrCompression, l)
	}
	// Read as data arrives rather than trusting the length for the
	// allocation.
	want := int(l)
	s.comp = s.comp[:0]
	for len(s.comp) < want {
		if len(s.comp) == cap(s.comp) {
			nb := make([]byte, len(s.comp), min(want, max(2*cap(s.comp), 64<<10)))
			copy(nb, s.comp)
			s.comp = nb
		}
		m, err := s.r.Read(s.comp[len(s.comp):min(cap(s.comp), want)])
		s.comp = s.comp[:len(s.comp)+m]
		if err != nil && len(s.comp) < want {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: snappy chunk: %d of %d bytes", ErrTruncated, len(s.comp), want)
			}
			return err
		}
	}
	dl, err := snappy.DecodedLen(s.comp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCompression, err)
	}
	if dl > snappyMaxDecoded {
		return fmt.Errorf("%w: snappy chunk decodes to %d bytes", ErrCompression, dl)
	}
	if cap(s.buf) < dl {
		s.buf = make([]byte, dl)
	}
	out, err := snappy.Decode(s.buf[:cap(s.buf)], s.comp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCompression, err)
	}
	s.buf, s.pos = out, 0
	return nil
}

// snappyJavaWriter writes a snappy-java stream with 32 KiB blocks.
type snappyJavaWriter struct {
	w      io.Writer
	block  []byte
	out    []byte
	header bool
	err    error
}

func newSnappyJavaWriter(w io.Writer) *snappyJavaWriter {
	return &snappyJavaWriter{w: w, block: make([]byte, 0, snappyJavaBlockSize)}
}

func (s *snappyJavaWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.err == nil {
		m := copy(s.block[len(s.block):cap(s.block)], p)
		s.block = s.block[:len(s.block)+m]
		p = p[m:]
		if len(s.block) == cap(s.block) {
			s.flushBlock()
		}
	}
	if s.err != nil {
		return 0, s.err
	}
	return n, nil
}

func (s *snappyJavaWriter) writeHeader() {
	if s.header || s.err != nil {
		return
	}
	var h [snappyJavaHeaderSize]byte
	copy(h[:], snappyJavaMagic)
	binary.BigEndian.PutUint32(h[8:], snappyJavaVersion)
	binary.BigEndian.PutUint32(h[12:], snappyJavaVersion)
	_, s.err = s.w.Write(h[:])
	s.header = true
}

func (s *snappyJavaWriter) flushBlock() {
	s.writeHeader()
	if len(s.block) == 0 || s.err != nil {
		return
	}
	need := 4 + snappy.MaxEncodedLen(len(s.block))
	if cap(s.out) < need {
		s.out = make([]byte, need)
	}
	enc := snappy.Encode(s.out[4:need], s.block)
	binary.BigEndian.PutUint32(s.out, uint32(len(enc)))
	_, s.err = s.w.Write(s.out[:4+len(enc)])
	s.block = s.block[:0]
}

// Close writes any buffered data (and the header, even for an empty
// stream). It does not close the underlying writer.
func (s *snappyJavaWriter) Close() error {
	s.flushBlock()
	return s.err
}
