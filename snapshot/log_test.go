package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
)

// Txn types used in the golden logs.
const (
	typeCreate        = 1
	typeDelete        = 2
	typeSetData       = 5
	typeSetACL        = 7
	typeMulti         = 14
	typeCreateCont    = 19
	typeCreateTTL     = 21
	typeError         = -1
	typeCreateSession = -10
	typeCloseSession  = -11
)

func readLogBytes(t testing.TB, b []byte) ([]Entry, *LogFile, error) {
	t.Helper()
	l, err := NewLogFileReader(bytes.NewReader(b), "mem", nil)
	if err != nil {
		return nil, nil, err
	}
	var out []Entry
	for {
		e, err := l.Next()
		if err == io.EOF {
			return out, l, nil
		}
		if err != nil {
			return out, l, err
		}
		out = append(out, e)
	}
}

func readLogPath(t testing.TB, path string) []Entry {
	t.Helper()
	l, err := OpenLogFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out []Entry
	for {
		e, err := l.Next()
		if err == io.EOF {
			if _, why := l.End(); why != EndEOF && why != EndZero {
				t.Errorf("%s: ended with %v", path, why)
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func TestGoldenLogs(t *testing.T) {
	var all []Entry
	for _, path := range javaFiles(t, "log.*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw := readFile(t, path)
			entries := readLogPath(t, path)
			if len(entries) == 0 {
				t.Fatal("no entries")
			}
			// The file is named after its first zxid.
			if z, _ := ParseZxidFromName(filepath.Base(path), LogPrefix); entries[0].Zxid != z {
				t.Errorf("first zxid %#x, name says %#x", entries[0].Zxid, z)
			}
			// Every frame re-encodes to the identical bytes, and so does
			// the whole (unpadded) file.
			var buf bytes.Buffer
			w := NewLogWriter(&buf, LogHeader)
			for _, e := range entries {
				frame := AppendEntryFrame(nil, e.Raw)
				if !bytes.Equal(frame, raw[e.Offset:e.Offset+int64(len(frame))]) {
					t.Errorf("entry %#x at %d re-encodes differently", e.Zxid, e.Offset)
				}
				if e.File != path {
					t.Errorf("entry file %q", e.File)
				}
				if binary.BigEndian.Uint64(e.Raw[12:]) != uint64(e.Zxid) || int32(binary.BigEndian.Uint32(e.Raw[28:])) != e.Type {
					t.Errorf("header fields do not match Raw")
				}
				if err := w.Append(e.Raw); err != nil {
					t.Fatal(err)
				}
			}
			w.Flush()
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("re-encoded file differs (%d vs %d bytes)", buf.Len(), len(raw))
			}
			all = append(all, entries...)
		})
	}
	// Across files: zxids 1, 2, 3, ... without gaps, in name order once
	// the files are sorted by zxid.
	byZxid := map[int64]Entry{}
	for _, e := range all {
		byZxid[e.Zxid] = e
	}
	for z := int64(1); z <= int64(len(all)); z++ {
		if _, ok := byZxid[z]; !ok {
			t.Errorf("zxid %#x missing", z)
		}
	}
	// Entry shapes the spec describes.
	count := map[int32]int{}
	for _, e := range all {
		count[e.Type]++
		switch e.Type {
		case typeError:
			// ErrorTxn{int err} and no TxnDigest.
			if len(e.Raw) != TxnHeaderSize+4 {
				t.Errorf("error txn %#x: %d bytes", e.Zxid, len(e.Raw))
			}
		case typeCreateSession:
			// timeout, plus a 12-byte digest unless digests were off.
			if n := len(e.Raw); n != 48 && n != 36 {
				t.Errorf("createSession %#x: %d bytes", e.Zxid, n)
			}
		}
	}
	for _, typ := range []int32{typeCreate, typeDelete, typeSetData, typeSetACL, typeMulti, typeCreateCont,
		typeCreateTTL, typeError, typeCreateSession, typeCloseSession} {
		if count[typ] == 0 {
			t.Errorf("no txn of type %d in the golden logs", typ)
		}
	}
	// The closeSession of the session that owned /e1 lists it.
	var found bool
	for _, e := range all {
		if e.Type == typeCloseSession && bytes.Contains(e.Raw, []byte("\x00\x00\x00\x01\x00\x00\x00\x03/e1")) {
			found = true
		}
	}
	if !found {
		t.Error("no closeSession deleting /e1")
	}
}

func TestPaddedLog(t *testing.T) {
	src := javaFiles(t, "log.*")[0]
	want := readLogPath(t, src)
	raw := readFile(t, src)
	p := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// Java extends the file to 16 + 64 MiB with a sparse zero tail.
	if err := os.Truncate(p, 16+64<<20); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLogFile(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var n int
	for {
		e, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Raw, want[n].Raw) {
			t.Errorf("entry %d differs", n)
		}
		n++
	}
	end, why := l.End()
	if n != len(want) || why != EndZero || end != int64(len(raw)) {
		t.Errorf("%d entries, end %d %v; want %d, %d %v", n, end, why, len(want), len(raw), EndZero)
	}
}

func TestLogTruncation(t *testing.T) {
	path := javaFiles(t, "log.*")[0]
	full := readFile(t, path)
	entries := readLogPath(t, path)
	for cut := 0; cut <= len(full); cut++ {
		got, l, err := readLogBytes(t, full[:cut])
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		// Exactly the entries whose frame fits.
		want := 0
		end := int64(FileHeaderSize)
		if cut < FileHeaderSize {
			end = 0
		}
		for _, e := range entries {
			fe := e.Offset + int64(len(e.Raw)) + entryFrameOverhead
			if fe <= int64(cut) {
				want++
				end = fe
			}
		}
		if len(got) != want {
			t.Fatalf("cut %d: %d entries, want %d", cut, len(got), want)
		}
		gotEnd, why := l.End()
		wantWhy := EndTruncated
		if cut >= FileHeaderSize && int64(cut) == end {
			wantWhy = EndEOF
		}
		if gotEnd != end || why != wantWhy {
			t.Fatalf("cut %d: end %d %v, want %d %v", cut, gotEnd, why, end, wantWhy)
		}
	}
}

func TestLogFlippedBytes(t *testing.T) {
	path := javaFiles(t, "log.*")[0]
	full := readFile(t, path)
	entries := readLogPath(t, path)
	for off := FileHeaderSize; off < len(full); off++ {
		b := bytes.Clone(full)
		b[off] ^= 0x5a
		got, l, err := readLogBytes(t, b)
		// Which entry and which part of its frame.
		var e Entry
		for _, x := range entries {
			if int64(off) >= x.Offset {
				e = x
			}
		}
		rel := int64(off) - e.Offset
		switch {
		case rel < 8 || (rel >= 12 && rel < 12+int64(len(e.Raw))):
			// Checksum or payload: a hard checksum error at the entry.
			if !errors.Is(err, ErrChecksum) || asError(t, err).Offset != e.Offset || asError(t, err).File != "mem" {
				t.Fatalf("flip at %d (entry at %d): %v", off, e.Offset, err)
			}
			if !strings.HasPrefix(err.Error(), "mem: offset ") {
				t.Fatalf("message %q", err)
			}
			if _, err2 := l.Next(); err2 != err {
				t.Fatalf("error not sticky")
			}
		case rel == 12+int64(len(e.Raw)):
			// The 'B' marker: Java treats this as a partial last txn.
			if _, why := l.End(); err != nil || why != EndNoMarker || (len(got) > 0 && got[len(got)-1].Zxid >= e.Zxid) {
				t.Fatalf("flip of marker at %d: %v %v", off, err, why)
			}
		default:
			// Length: an error, or a stop before this entry.
			if err == nil && len(got) > 0 && got[len(got)-1].Zxid >= e.Zxid {
				t.Fatalf("flip of length at %d: read on", off)
			}
		}
	}
}

func TestLogBadFrames(t *testing.T) {
	hdr := jute.Marshal(&LogHeader)
	hdrTxn := make([]byte, TxnHeaderSize)
	frame := func(sum uint64, n int32, rest ...byte) []byte {
		b := binary.BigEndian.AppendUint64(bytes.Clone(hdr), sum)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		return append(b, rest...)
	}
	good := AppendEntryFrame(bytes.Clone(hdr), hdrTxn)
	for _, c := range []struct {
		name    string
		in      []byte
		entries int
		why     EndReason
		err     []error
	}{
		{"empty file", nil, 0, EndTruncated, nil},
		{"header only", hdr, 0, EndEOF, nil},
		{"one entry", good, 1, EndEOF, nil},
		{"zero tail", append(bytes.Clone(good), make([]byte, 100)...), 1, EndZero, nil},
		{"length -1", frame(0, -1), 0, EndNull, nil},
		{"length -2", frame(0, -2), 0, EndNone, []error{ErrCorrupt, jute.ErrBadLength}},
		{"length over limit", frame(0, jute.DefaultMaxLength+1), 0, EndNone, []error{ErrCorrupt, jute.ErrTooLarge}},
		{"length at limit, short file", frame(0, jute.DefaultMaxLength, 1, 2, 3), 0, EndTruncated, nil},
		{"short entry", AppendEntryFrame(bytes.Clone(hdr), []byte{1, 2, 3}), 0, EndNone, []error{ErrCorrupt}},
		{"no marker", append(bytes.Clone(good[:len(good)-1]), 'C'), 0, EndNoMarker, nil},
		{"bad checksum, no marker", frame(1, 32, append(make([]byte, 32), 0)...), 0, EndNoMarker, nil},
		{"checksum high bits", frame(1<<32|1, 32, append(make([]byte, 32), 'B')...), 0, EndNone, []error{ErrChecksum}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, l, err := readLogBytes(t, c.in)
			for _, w := range c.err {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want %v", err, w)
				}
			}
			if c.err == nil && err != nil {
				t.Errorf("got %v", err)
			}
			if len(got) != c.entries {
				t.Errorf("%d entries", len(got))
			}
			if _, why := l.End(); why != c.why {
				t.Errorf("end %v, want %v", why, c.why)
			}
		})
	}
	// Bad magic: a snapshot is not a log.
	_, err := NewLogFileReader(bytes.NewReader(readFile(t, filepath.Join(javaDir, "snapshot.0"))), "x", nil)
	if !errors.Is(err, ErrBadMagic) {
		t.Errorf("bad magic: %v", err)
	}
	var buf bytes.Buffer
	if err := NewLogWriter(&buf, LogHeader).Append(make([]byte, 31)); !errors.Is(err, ErrUsage) {
		t.Errorf("short Append: %v", err)
	}
}

func TestLogReader(t *testing.T) {
	dir := t.TempDir()
	var all []Entry
	for _, p := range javaFiles(t, "log.*") {
		copyFile(t, p, filepath.Join(dir, filepath.Base(p)))
	}
	// A padded copy of every file would read the same; pad one.
	names, err := ListLogs(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(names[1].Path, 16+1<<20)
	os.WriteFile(filepath.Join(dir, "snapshot.0"), readFile(t, filepath.Join(javaDir, "snapshot.0")), 0o644)
	os.WriteFile(filepath.Join(dir, "log.zz"), []byte("junk"), 0o644)
	for _, n := range names {
		all = append(all, readLogPath(t, n.Path)...)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Zxid != all[i-1].Zxid+1 {
			t.Fatalf("golden logs not contiguous at %#x", all[i].Zxid)
		}
	}
	last := all[len(all)-1].Zxid
	for from := int64(0); from <= last+1; from++ {
		r, err := OpenLogs(dir, from, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Selection (B2.4): newest file starting below from, and all
		// later ones.
		files := r.Files()
		if files[0].Zxid >= from && files[0].Name != names[0].Name {
			t.Errorf("from %#x: starts at %s", from, files[0].Name)
		}
		if len(files) > 1 && files[1].Zxid < from {
			t.Errorf("from %#x: reads %s needlessly", from, files[0].Name)
		}
		var got []int64
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Zxid)
		}
		r.Close()
		want := max(from, 1)
		if int64(len(got)) != last-want+1 || (len(got) > 0 && got[0] != want) {
			t.Errorf("from %#x: got %d entries starting %v", from, len(got), got[:min(len(got), 1)])
		}
	}
	// A hard error in a later file stops the reader with that file's name.
	b := readFile(t, names[2].Path)
	b[40] ^= 1
	os.WriteFile(names[2].Path, b, 0o644)
	r, _ := OpenLogs(dir, 0, nil)
	defer r.Close()
	var n int
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, ErrChecksum) || !strings.HasPrefix(err.Error(), names[2].Path+": offset 16: ") {
		t.Errorf("after %d entries: %v", n, err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Error("LogReader error not sticky")
	}
}

func TestSelectLogs(t *testing.T) {
	mk := func(zs ...int64) []FileName {
		var out []FileName
		for _, z := range zs {
			out = append(out, FileName{Name: LogFileName(z), Zxid: z})
		}
		return out
	}
	names := mk(1, 7, 0xf)
	for _, c := range []struct {
		from  int64
		first int64
	}{{0, 1}, {1, 1}, {2, 1}, {7, 1}, {8, 7}, {0xf, 7}, {0x10, 0xf}, {0x100, 0xf}} {
		got := SelectLogs(names, c.from)
		if got[0].Zxid != c.first {
			t.Errorf("from %#x: first %#x, want %#x", c.from, got[0].Zxid, c.first)
		}
	}
	if got := SelectLogs(nil, 5); len(got) != 0 {
		t.Error(got)
	}
}
