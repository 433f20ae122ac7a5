package snapshot

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSnapshotBody feeds arbitrary bytes to a BodyReader (the SNAP stream
// format). It must never panic, and whatever it accepts must re-encode to
// exactly the bytes it consumed.
func FuzzSnapshotBody(f *testing.F) {
	// Small seeds keep the fuzzer's minimization of new inputs quick.
	for _, p := range smallGolden(f, "snapshot.*", 600) {
		b := logical(f, p)
		lay := snapshotLayout(f, b)
		f.Add(b[FileHeaderSize:lay.bodyEnd])
		f.Add(append(bytes.Clone(b[FileHeaderSize:lay.bodyEnd]), "\x00\x00\x00\x0aBenWasHere"...))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '/'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewBodyReader(bytes.NewReader(data), nil)
		var w bytes.Buffer
		bw := NewBodyWriter(&w)
		sessions, err := r.Sessions()
		if err != nil {
			checkErr(t, err)
			return
		}
		bw.WriteSessions(sessions)
		acls, err := r.ACLs()
		if err != nil {
			checkErr(t, err)
			return
		}
		bw.WriteACLs(acls)
		for {
			var n Node
			err := r.Next(&n)
			if err == io.EOF {
				break
			}
			if err != nil {
				checkErr(t, err)
				return
			}
			if err := bw.WriteNode(&n); err != nil {
				t.Fatal(err)
			}
		}
		if err := bw.End(); err != nil {
			t.Fatal(err)
		}
		if consumed := data[:r.Offset()]; !bytes.Equal(w.Bytes(), consumed) {
			t.Fatalf("re-encoding differs from the %d bytes consumed", len(consumed))
		}
		if err := r.ReadSignature(); err != nil {
			checkErr(t, err)
		}
	})
}

// FuzzSnapshotFile feeds arbitrary bytes to the snapshot file reader; the
// first byte picks the compression. Accepted uncompressed input must
// re-encode to the same bytes.
func FuzzSnapshotFile(f *testing.F) {
	// Small seeds keep the fuzzer's minimization of new inputs quick: the
	// small Java files, and the smallest tree through our compressors.
	for _, p := range smallGolden(f, "snapshot.*", 600) {
		f.Add(append([]byte{byte(CompressionForName(p))}, readFile(f, p)...))
	}
	s0, err := ReadSnapshot(filepath.Join(javaDir, "snapshot.0"), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []Compression{CompressionGzip, CompressionSnappy} {
		f.Add(append([]byte{byte(c)}, reencode(f, s0, c)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := Compression(data[0] % 3)
		in := data[1:]
		s, err := readSnapshotBytes(in, c, nil)
		if err != nil {
			checkErr(t, err)
			return
		}
		out := reencode(t, s, CompressionNone)
		if c == CompressionNone && !bytes.HasPrefix(in, out) {
			t.Fatalf("re-encoding differs from the input")
		}
		if c != CompressionSnappy {
			return // gzip's writer is too slow for fuzzing; see TestGoldenSnapshots
		}
		back, err := readSnapshotBytes(reencode(t, s, c), c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(reencode(t, back, CompressionNone), out) {
			t.Fatal("round trip through our own writer differs")
		}
	})
}

// FuzzLogFile feeds arbitrary bytes to a LogFile. It must never panic;
// every entry returned must re-encode to the frame it was read from.
func FuzzLogFile(f *testing.F) {
	for _, p := range smallGolden(f, "log.*", 600) {
		b := readFile(f, p)
		f.Add(b)
		f.Add(b[:len(b)*2/3])
		f.Add(append(bytes.Clone(b), make([]byte, 64)...))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := NewLogFileReader(bytes.NewReader(data), "fuzz", nil)
		if err != nil {
			checkErr(t, err)
			return
		}
		prevEnd := int64(FileHeaderSize)
		for {
			e, err := l.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkErr(t, err)
				return
			}
			frame := AppendEntryFrame(nil, e.Raw)
			if e.Offset != prevEnd || !bytes.Equal(frame, data[e.Offset:e.Offset+int64(len(frame))]) {
				t.Fatalf("entry at %d does not re-encode to its frame", e.Offset)
			}
			prevEnd = e.Offset + int64(len(frame))
		}
		if end, why := l.End(); why == EndNone || (why != EndTruncated && end != prevEnd) || end > int64(len(data)) {
			t.Fatalf("End() = %d, %v after entries ending at %d", end, why, prevEnd)
		}
	})
}

// smallGolden returns the golden files matching pattern of at most max
// bytes.
func smallGolden(f *testing.F, pattern string, max int64) []string {
	var out []string
	for _, p := range javaFiles(f, pattern) {
		if st, err := os.Stat(p); err == nil && st.Size() <= max {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		f.Fatalf("no golden %s of at most %d bytes", pattern, max)
	}
	return out
}

// checkErr checks that a decoding error is an *Error wrapping one of the
// package's content sentinels.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	for _, s := range []error{ErrTruncated, ErrCorrupt, ErrChecksum, ErrBadMagic, ErrCompression, ErrBadSignature} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}
