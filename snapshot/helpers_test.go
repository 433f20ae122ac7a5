package snapshot

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang/snappy"
)

const javaDir = "testdata/java"

// assemble builds bytes from a hex-dump-like description: whitespace
// separated hex groups and "quoted" ASCII strings.
func assemble(t testing.TB, parts ...string) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		for len(p) > 0 {
			p = strings.TrimLeft(p, " \t\n")
			if p == "" {
				break
			}
			if p[0] == '"' {
				end := strings.IndexByte(p[1:], '"')
				out = append(out, p[1:end+1]...)
				p = p[end+2:]
				continue
			}
			end := strings.IndexAny(p, " \t\n")
			if end < 0 {
				end = len(p)
			}
			b, err := hex.DecodeString(p[:end])
			if err != nil {
				t.Fatalf("assemble %q: %v", p[:end], err)
			}
			out = append(out, b...)
			p = p[end:]
		}
	}
	return out
}

func zeros(n int) string { return strings.Repeat("00", n) }

// javaFiles returns the golden files matching pattern, sorted by name.
func javaFiles(t testing.TB, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(javaDir, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no golden files %s: %v", pattern, err)
	}
	return m
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logical returns the uncompressed content of a snapshot file, decoded
// independently of the package's readers.
func logical(t testing.TB, path string) []byte {
	t.Helper()
	raw := readFile(t, path)
	switch CompressionForName(path) {
	case CompressionGzip:
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	case CompressionSnappy:
		if !bytes.HasPrefix(raw, []byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")) {
			t.Fatalf("%s: unexpected snappy-java header % x", path, raw[:16])
		}
		var out []byte
		for p := raw[16:]; len(p) > 0; {
			n := int(binary.BigEndian.Uint32(p))
			blk, err := snappy.Decode(nil, p[4:4+n])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, blk...)
			p = p[4+n:]
		}
		return out
	}
	return raw
}

// layout locates the seals of a logical snapshot stream.
type layout struct {
	bodyEnd   int // end of the "/" terminator = offset of seal #1
	seal1End  int
	seal2     int // -1 if no digest block
	nodeStats [][2]int
}

func snapshotLayout(t testing.TB, b []byte) layout {
	t.Helper()
	br := NewBodyReader(bytes.NewReader(b[FileHeaderSize:]), nil)
	var l layout
	if _, err := br.Sessions(); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ACLs(); err != nil {
		t.Fatal(err)
	}
	for {
		var n Node
		err := br.Next(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		end := FileHeaderSize + int(br.Offset())
		l.nodeStats = append(l.nodeStats, [2]int{end - 60, end})
	}
	l.bodyEnd = FileHeaderSize + int(br.Offset())
	l.seal1End = l.bodyEnd + 13
	l.seal2 = -1
	if len(b) > l.seal1End {
		l.seal2 = l.seal1End + 20
	}
	return l
}

// reencode writes s back as an uncompressed snapshot stream.
func reencode(t testing.TB, s *Snapshot, c Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewSnapshotWriter(&buf, s.Header, c)
	if err := w.WriteSessions(s.Sessions); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteACLs(s.ACLs); err != nil {
		t.Fatal(err)
	}
	for i := range s.Nodes {
		if err := w.WriteNode(&s.Nodes[i]); err != nil {
			t.Fatal(err)
		}
	}
	var d *ZxidDigest
	if s.Digest.Present {
		d = &s.Digest
	}
	if err := w.Close(d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readSnapshotBytes(b []byte, c Compression, opts *Options) (*Snapshot, error) {
	s, err := NewSnapshotReader(bytes.NewReader(b), c, "mem", opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return readAll(s)
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.WriteFile(dst, readFile(t, src), 0o644); err != nil {
		t.Fatal(err)
	}
}
