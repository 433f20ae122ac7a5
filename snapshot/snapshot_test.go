package snapshot

import (
	"bufio"
	"bytes"
	"errors"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// specSnapshot0 is the worked example of spec B1.2: the snapshot.0 a fresh
// 3.8.0 standalone server writes.
func specSnapshot0(t testing.TB) []byte {
	b := assemble(t,
		"5a4b534e 00000002 ffffffffffffffff",          // 0000 header
		"00000000",                                    // 0010 0 sessions
		"00000001 0000000000000001 00000001",          // 0014 1 ACL entry: index 1, 1 ACL:
		`00000001 00000005 "world" 00000006 "anyone"`, // perms 1, world:anyone
		"00000000",                             // 003b path "" (root)
		"00000000 ffffffffffffffff", zeros(60), // 003f data len 0, acl -1, stat 0
		`0000000a "/zookeeper" 00000000 ffffffffffffffff`, zeros(60), // 0087
		`00000011 "/zookeeper/config" 00000000 0000000000000001`, // 00dd
		zeros(32), "00000000 00000000 ffffffff", zeros(16), //      stat: aversion=-1
		`00000010 "/zookeeper/quota" 00000000 ffffffffffffffff`, zeros(60), // 013a
		`00000001 "/"`,                               // 0196 end of nodes
		`00000000b8a23b49 00000001 "/"`,              // 019b seal #1
		"0000000000000000 00000002 0000000000000000", // 01a8 digest block
		`0000000095b93d59 00000001 "/"`,              // 01bc seal #2
	)
	if len(b) != 457 {
		t.Fatalf("spec example assembles to %d bytes, want 457", len(b))
	}
	return b
}

func TestSpecExampleSnapshot0(t *testing.T) {
	b := specSnapshot0(t)
	// The offsets and both seals of the spec's dump.
	for _, c := range []struct {
		off  int
		want string
	}{{0x3b, "\x00\x00\x00\x00"}, {0x87, "\x00\x00\x00\x0a/zookeeper"}, {0xdd, "\x00\x00\x00\x11/zookeeper/config"},
		{0x13a, "\x00\x00\x00\x10/zookeeper/quota"}, {0x196, "\x00\x00\x00\x01/"}} {
		if got := string(b[c.off : c.off+len(c.want)]); got != c.want {
			t.Errorf("offset %#x: % x, want % x", c.off, got, c.want)
		}
	}
	if got := adler32.Checksum(b[:0x19b]); got != 0xb8a23b49 {
		t.Errorf("seal #1 recomputed %#x", got)
	}
	if got := adler32.Checksum(b[:0x1bc]); got != 0x95b93d59 {
		t.Errorf("seal #2 recomputed %#x", got)
	}

	s, err := readSnapshotBytes(b, CompressionNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Header != SnapHeader {
		t.Errorf("header %+v", s.Header)
	}
	if len(s.Sessions) != 0 || s.Sessions == nil {
		t.Errorf("sessions %#v", s.Sessions)
	}
	wantACL := []ACLEntry{{Index: 1, ACL: proto.ReadACLUnsafe}}
	if len(s.ACLs) != 1 || s.ACLs[0].Index != 1 || !proto.EqualACLs(s.ACLs[0].ACL, wantACL[0].ACL) {
		t.Errorf("ACLs %+v", s.ACLs)
	}
	paths := []string{"", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"}
	if len(s.Nodes) != len(paths) {
		t.Fatalf("%d nodes", len(s.Nodes))
	}
	for i, n := range s.Nodes {
		if n.Path != paths[i] || n.Data == nil || len(n.Data) != 0 {
			t.Errorf("node %d: %q data %#v", i, n.Path, n.Data)
		}
		wantACL, wantAversion := OpenACLIndex, int32(0)
		if n.Path == "/zookeeper/config" {
			wantACL, wantAversion = 1, -1
		}
		if n.ACL != wantACL || n.Stat != (proto.StatPersisted{Aversion: wantAversion}) {
			t.Errorf("node %q: acl %d stat %+v", n.Path, n.ACL, n.Stat)
		}
	}
	if s.Digest != (ZxidDigest{Present: true, Version: 2}) {
		t.Errorf("digest %+v", s.Digest)
	}
	if got := reencode(t, s, CompressionNone); !bytes.Equal(got, b) {
		t.Errorf("re-encoding differs:\n% x\n% x", got, b)
	}
	// The fresh server of gen.sh wrote exactly these bytes.
	if java := readFile(t, filepath.Join(javaDir, "snapshot.0")); !bytes.Equal(java, b) {
		t.Errorf("testdata/java/snapshot.0 differs from the spec example")
	}
}

func TestGoldenSnapshots(t *testing.T) {
	for _, path := range javaFiles(t, "snapshot.*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			name, err := ParseSnapshotName(filepath.Base(path))
			if err != nil {
				t.Fatal(err)
			}
			if err := QuickCheck(path); err != nil {
				t.Errorf("QuickCheck: %v", err)
			}
			s, err := ReadSnapshot(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Header != SnapHeader {
				t.Errorf("header %+v", s.Header)
			}
			if len(s.Nodes) < 4 || s.Nodes[0].Path != "" {
				t.Fatalf("nodes: %d, first %q", len(s.Nodes), s.Nodes[0].Path)
			}
			// Pre-order: every parent precedes its children.
			seen := map[string]bool{}
			for _, n := range s.Nodes {
				if n.Path != "" {
					parent := n.Path[:strings.LastIndexByte(n.Path, '/')]
					if !seen[parent] {
						t.Errorf("%q before its parent", n.Path)
					}
				}
				seen[n.Path] = true
			}
			// Every ACL index used is -1 or in the cache.
			acls := map[int64]bool{OpenACLIndex: true}
			for _, a := range s.ACLs {
				acls[a.Index] = true
			}
			for _, n := range s.Nodes {
				if !acls[n.ACL] {
					t.Errorf("%q uses ACL %d, not in the cache", n.Path, n.ACL)
				}
			}
			// Digest: written unless the server ran with digests disabled
			// (gen.sh phase b); its zxid is never older than the name
			// (fuzzy snapshots may be newer).
			if s.Digest.Present && s.Digest.Zxid != 0 && s.Digest.Zxid < name.Zxid {
				t.Errorf("digest zxid %#x < name zxid %#x", s.Digest.Zxid, name.Zxid)
			}

			// Re-encoding reproduces the uncompressed stream exactly, and
			// the body alone reproduces the body bytes.
			orig := logical(t, path)
			if got := reencode(t, s, CompressionNone); !bytes.Equal(got, orig) {
				t.Errorf("re-encoded snapshot differs from the original (%d vs %d bytes)", len(got), len(orig))
			}
			lay := snapshotLayout(t, orig)
			var body bytes.Buffer
			bw := NewBodyWriter(&body)
			bw.WriteSessions(s.Sessions)
			bw.WriteACLs(s.ACLs)
			for i := range s.Nodes {
				bw.WriteNode(&s.Nodes[i])
			}
			if err := bw.End(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body.Bytes(), orig[FileHeaderSize:lay.bodyEnd]) {
				t.Errorf("re-encoded body differs")
			}

			// Our compressed output reads back to the same content.
			for _, c := range []Compression{CompressionGzip, CompressionSnappy} {
				enc := reencode(t, s, c)
				back, err := readSnapshotBytes(enc, c, nil)
				if err != nil {
					t.Fatalf("%v: %v", c, err)
				}
				if got := reencode(t, back, CompressionNone); !bytes.Equal(got, orig) {
					t.Errorf("%v round trip differs", c)
				}
			}
		})
	}
}

// TestGoldenContents checks what gen.sh's workload put in the newest
// snapshots.
func TestGoldenContents(t *testing.T) {
	for _, pattern := range []string{"snapshot.*.gz", "snapshot.*.snappy"} {
		path := javaFiles(t, pattern)[0]
		s, err := ReadSnapshot(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		nodes := map[string]Node{}
		for _, n := range s.Nodes {
			nodes[n.Path] = n
		}
		sessions := map[int64]int32{}
		for _, x := range s.Sessions {
			sessions[x.ID] = x.Timeout
		}
		check := func(path string, f func(n Node) bool) {
			t.Helper()
			n, ok := nodes[path]
			if !ok {
				t.Errorf("%s: no node %q", pattern, path)
				return
			}
			if !f(n) {
				t.Errorf("%s: node %q: data %q (nil %v) acl %d stat %+v", pattern, path, n.Data, n.Data == nil, n.ACL, n.Stat)
			}
		}
		check("/nulldata", func(n Node) bool { return n.Data == nil })
		check("/n", func(n Node) bool { return n.Data != nil && len(n.Data) == 0 })
		check("/a", func(n Node) bool { return string(n.Data) == "multi" && n.Stat.Version == 2 })
		check("/\u00fcnicode", func(n Node) bool { return string(n.Data) == "d\u00e4ta \U0001F600" })
		check("/cont", func(n Node) bool { return uint64(n.Stat.EphemeralOwner) == 0x8000000000000000 })
		check("/ttl", func(n Node) bool { return uint64(n.Stat.EphemeralOwner)>>56 == 0xff })
		check("/e2", func(n Node) bool {
			_, ok := sessions[n.Stat.EphemeralOwner]
			return ok && string(n.Data) == "still here"
		})
		check("/acl", func(n Node) bool {
			for _, a := range s.ACLs {
				if a.Index == n.ACL {
					return len(a.ACL) == 2 && a.ACL[0].ID.Scheme == "digest" && a.ACL[1] == proto.ReadACLUnsafe[0]
				}
			}
			return false
		})
		for _, gone := range []string{"/a/c", "/a/b", "/m2", "/e1"} {
			if _, ok := nodes[gone]; ok {
				t.Errorf("%s: %q should not exist", pattern, gone)
			}
		}
	}
}

func TestSnapshotWithoutDigest(t *testing.T) {
	// gen.sh phase b ran with digests disabled: seal #1 is the end.
	var found bool
	for _, path := range javaFiles(t, "snapshot.*") {
		s, err := ReadSnapshot(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Digest.Present {
			continue
		}
		found = true
		b := logical(t, path)
		if l := snapshotLayout(t, b); l.seal1End != len(b) {
			t.Errorf("%s: no digest but seal #1 ends at %d of %d", path, l.seal1End, len(b))
		}
	}
	if !found {
		t.Error("no golden snapshot without a digest block")
	}
}

func TestSnapshotTruncation(t *testing.T) {
	for _, path := range []string{filepath.Join(javaDir, "snapshot.0"), javaFiles(t, "snapshot.*")[1]} {
		full := readFile(t, path)
		lay := snapshotLayout(t, full)
		for cut := 0; cut < len(full); cut++ {
			s, err := readSnapshotBytes(full[:cut], CompressionNone, nil)
			if cut == lay.seal1End {
				// A stream ending right after seal #1 is a valid snapshot
				// without digest (how pre-3.6 files look).
				if err != nil || s.Digest.Present {
					t.Errorf("%s cut at seal #1 end %d: %v", path, cut, err)
				}
				continue
			}
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%s cut at %d: got %v, want ErrTruncated", path, cut, err)
			}
			if e := asError(t, err); e.File != "mem" || e.Offset < 0 || e.Offset > int64(cut) {
				t.Fatalf("%s cut at %d: error %v", path, cut, err)
			}
		}
		// Truncated files also fail Java's quick check (except at the two
		// seal ends, which end in "/").
		dir := t.TempDir()
		for _, cut := range []int{0, 9, 100, lay.bodyEnd - 1, len(full) - 1} {
			p := filepath.Join(dir, "snapshot.1")
			os.WriteFile(p, full[:cut], 0o644)
			if err := QuickCheck(p); !errors.Is(err, ErrTruncated) {
				t.Errorf("QuickCheck cut %d: %v", cut, err)
			}
		}
	}
	// Compressed: every cut fails, or (cutting only compression framing
	// after the data) reads the whole content, as in Java.
	for _, path := range append(javaFiles(t, "snapshot.*.gz"), javaFiles(t, "snapshot.*.snappy")...) {
		full := readFile(t, path)
		want := logical(t, path)
		c := CompressionForName(path)
		for cut := 0; cut < len(full); cut++ {
			s, err := readSnapshotBytes(full[:cut], c, nil)
			if err == nil {
				if got := reencode(t, s, CompressionNone); !bytes.Equal(got, want) {
					t.Fatalf("%s cut at %d: read succeeded with different content", path, cut)
				}
				continue
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCompression) {
				t.Fatalf("%s cut at %d: %v", path, cut, err)
			}
		}
	}
}

func TestSnapshotFlippedBytes(t *testing.T) {
	path := javaFiles(t, "snapshot.*")[2]
	full := readFile(t, path)
	lay := snapshotLayout(t, full)
	inStat := map[int]bool{}
	for _, r := range lay.nodeStats {
		for i := r[0]; i < r[1]; i++ {
			inStat[i] = true
		}
	}
	for off := range full {
		b := bytes.Clone(full)
		b[off] ^= 0x5a
		_, err := readSnapshotBytes(b, CompressionNone, nil)
		if err == nil {
			t.Fatalf("flipped byte %d: no error", off)
		}
		e := asError(t, err)
		switch {
		case inStat[off]:
			if !errors.Is(err, ErrChecksum) || e.Offset != int64(lay.bodyEnd) {
				t.Fatalf("flipped stat byte %d: %v, want ErrChecksum at %d", off, err, lay.bodyEnd)
			}
		case lay.seal2 >= 0 && off >= lay.seal1End && off < lay.seal2:
			if !errors.Is(err, ErrChecksum) || e.Offset != int64(lay.seal2) {
				t.Fatalf("flipped digest byte %d: %v, want ErrChecksum at %d", off, err, lay.seal2)
			}
		case off >= lay.bodyEnd && off < lay.bodyEnd+8:
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("flipped seal byte %d: %v", off, err)
			}
		}
		if off == 100 {
			t.Logf("example: %v", err)
		}
	}
	// Compressed files: any flip fails somewhere (checksum, compression or
	// structure) or, where it hits bytes that do not change the content
	// (gzip header fields and trailer, snappy-java version fields, snappy
	// copies within runs of equal bytes), reads the same content; none
	// panics.
	for _, path := range append(javaFiles(t, "snapshot.*.gz"), javaFiles(t, "snapshot.*.snappy")...) {
		full := readFile(t, path)
		want := logical(t, path)
		c := CompressionForName(path)
		var same int
		for off := range full {
			b := bytes.Clone(full)
			b[off] ^= 0x5a
			s, err := readSnapshotBytes(b, c, nil)
			if err == nil {
				if got := reencode(t, s, CompressionNone); !bytes.Equal(got, want) {
					t.Fatalf("%s: flipped byte %d: read succeeded with different content", path, off)
				}
				same++
			}
		}
		t.Logf("%s: %d of %d flips leave the content unchanged", path, same, len(full))
	}
}

func TestSnapshotBadMagic(t *testing.T) {
	b := specSnapshot0(t)
	b[0] = 'X'
	_, err := readSnapshotBytes(b, CompressionNone, nil)
	if !errors.Is(err, ErrBadMagic) || asError(t, err).Offset != 0 {
		t.Errorf("plain: %v", err)
	}
	// A log file is not a snapshot.
	logb := readFile(t, javaFiles(t, "log.*")[0])
	if _, err := readSnapshotBytes(logb, CompressionNone, nil); !errors.Is(err, ErrBadMagic) {
		t.Errorf("log as snapshot: %v", err)
	}
	// Compressed names with uncompressed content.
	for _, c := range []Compression{CompressionGzip, CompressionSnappy} {
		if _, err := readSnapshotBytes(specSnapshot0(t), c, nil); !errors.Is(err, ErrBadMagic) {
			t.Errorf("%v: %v", c, err)
		}
	}
	// The error names the file.
	dir := t.TempDir()
	p := filepath.Join(dir, "snapshot.5")
	os.WriteFile(p, b, 0o644)
	_, err = OpenSnapshotFile(p, nil)
	if !errors.Is(err, ErrBadMagic) || !strings.HasPrefix(err.Error(), p+": offset 0: ") {
		t.Errorf("file: %v", err)
	}
}

func TestSnapshotErrorsNameFileAndOffset(t *testing.T) {
	dir := t.TempDir()
	b := bytes.Clone(readFile(t, javaFiles(t, "snapshot.*")[1]))
	lay := snapshotLayout(t, b)
	b[lay.nodeStats[1][0]] ^= 1
	p := filepath.Join(dir, SnapshotFileName(0x1a, CompressionNone))
	os.WriteFile(p, b, 0o644)
	_, err := ReadSnapshot(p, nil)
	want := p + ": offset " + strconv.Itoa(lay.bodyEnd) + ": seal #1: checksum mismatch: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant prefix %s", err, want)
	}
}

func TestFindAndNewestValidSnapshot(t *testing.T) {
	empty := t.TempDir()
	if _, err := NewestValidSnapshot(empty, nil, nil); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("empty dir: %v", err)
	}
	if got, err := FindSnapshots(empty); err != nil || len(got) != 0 {
		t.Errorf("FindSnapshots(empty) = %v, %v", got, err)
	}
	if _, err := FindSnapshots(filepath.Join(empty, "missing")); err == nil {
		t.Error("missing dir: no error")
	}

	dir := t.TempDir()
	var names []string
	for _, p := range javaFiles(t, "*") {
		copyFile(t, p, filepath.Join(dir, filepath.Base(p)))
		if strings.HasPrefix(filepath.Base(p), "snapshot.") {
			names = append(names, filepath.Base(p))
		}
	}
	// Noise: names that do not parse, a partial .tmp leftover with the
	// highest zxid, a directory.
	os.WriteFile(filepath.Join(dir, "snapshot.zz"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "snapshotX.1"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "snapshot.fff.tmp"), specSnapshot0(t)[:100], 0o644)
	os.Mkdir(filepath.Join(dir, "snapshot.ffff"), 0o755)
	os.WriteFile(filepath.Join(dir, "acceptedEpoch"), []byte("1"), 0o644)

	found, err := FindSnapshots(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(names) {
		t.Fatalf("FindSnapshots: %d files, want %d: %+v", len(found), len(names), found)
	}
	for i := 1; i < len(found); i++ {
		if found[i-1].Zxid <= found[i].Zxid {
			t.Errorf("not newest first: %+v", found)
		}
	}
	newest := found[0]

	var loaded int
	res, err := NewestValidSnapshot(dir, nil, func(s *SnapshotFile) error {
		loaded = 0
		var n Node
		for {
			err := s.Next(&n)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			loaded++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.File.Name != newest.Name || len(res.Skipped) != 0 || loaded < 4 || !res.Digest.Present {
		t.Errorf("picked %+v (loaded %d)", res, loaded)
	}

	// Corrupt the newest inside its compressed data: it still passes the
	// quick check, fails to read, and the next one wins.
	b := readFile(t, newest.Path)
	b[len(b)/2] ^= 0xff
	os.WriteFile(newest.Path, b, 0o644)
	res, err = NewestValidSnapshot(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.File.Name != found[1].Name || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Error(), newest.Name) {
		t.Errorf("after corrupting the newest: %+v", res)
	}
	// A load error also moves on.
	res, err = NewestValidSnapshot(dir, nil, func(s *SnapshotFile) error {
		if s.Path() == found[1].Path {
			return errors.New("refused")
		}
		return nil
	})
	if err != nil || res.File.Name != found[2].Name || len(res.Skipped) != 2 {
		t.Errorf("after a load error: %+v, %v", res, err)
	}
	// Nothing valid: ErrNoValidSnapshot, naming every file.
	_, err = NewestValidSnapshot(dir, nil, func(*SnapshotFile) error { return errors.New("refused") })
	if !errors.Is(err, ErrNoValidSnapshot) || strings.Count(err.Error(), "refused") != len(names) {
		t.Errorf("all refused: %v", err)
	}
}

func TestNetworkBody(t *testing.T) {
	full := specSnapshot0(t)
	lay := snapshotLayout(t, full)
	body := full[FileHeaderSize:lay.bodyEnd]
	stream := append(append(bytes.Clone(body), "\x00\x00\x00\x0aBenWasHere"...), "NEXTPACKET"...)
	br := bufio.NewReader(bytes.NewReader(stream))
	r := NewBodyReader(br, nil)
	var nodes int
	var n Node
	for {
		err := r.Next(&n) // skips sessions and ACLs
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		nodes++
	}
	if nodes != 4 || r.NodesRead() != 4 {
		t.Errorf("%d nodes", nodes)
	}
	if _, err := r.Sessions(); !errors.Is(err, ErrUsage) {
		t.Errorf("Sessions after Next: %v", err)
	}
	if err := r.ReadSignature(); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "NEXTPACKET" {
		t.Errorf("BodyReader consumed past the signature; left %q", rest)
	}

	bad := append(bytes.Clone(body), "\x00\x00\x00\x0aBenWasThere"...)
	r = NewBodyReader(bytes.NewReader(bad), nil)
	r.Sessions()
	r.ACLs()
	for r.Next(&n) == nil {
	}
	if err := r.ReadSignature(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}

	// Writer side.
	var out bytes.Buffer
	w := NewBodyWriter(&out)
	s, _ := readSnapshotBytes(full, CompressionNone, nil)
	w.WriteSessions(s.Sessions)
	w.WriteACLs(s.ACLs)
	for i := range s.Nodes {
		w.WriteNode(&s.Nodes[i])
	}
	w.End()
	if err := w.WriteSignature(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), stream[:len(stream)-len("NEXTPACKET")]) {
		t.Errorf("BodyWriter output differs")
	}
}

func TestBodyLimitsAndCorruption(t *testing.T) {
	enc := func(f func(e *jute.Encoder)) []byte {
		var e jute.Encoder
		f(&e)
		return e.Bytes()
	}
	nodeRec := func(e *jute.Encoder, path string, data []byte) {
		e.String(path)
		e.Buffer(data)
		e.Long(-1)
		(&proto.StatPersisted{}).Encode(e)
	}
	cases := []struct {
		name string
		in   []byte
		opts *Options
		want []error
	}{
		{"negative session count", enc(func(e *jute.Encoder) { e.Int(-1) }), nil, []error{ErrCorrupt}},
		{"huge session count", enc(func(e *jute.Encoder) { e.Int(0x7fffffff); e.Long(1); e.Int(2) }), nil, []error{ErrTruncated}},
		{"negative ACL count", enc(func(e *jute.Encoder) { e.Int(0); e.Int(-5) }), nil, []error{ErrCorrupt}},
		{"null ACL list", enc(func(e *jute.Encoder) { e.Int(0); e.Int(1); e.Long(1); e.Int(-1) }), nil, []error{ErrCorrupt}},
		{"huge ACL list", enc(func(e *jute.Encoder) { e.Int(0); e.Int(1); e.Long(1); e.Int(0x7fffffff) }), nil, []error{ErrTruncated}},
		{"huge ACL scheme", enc(func(e *jute.Encoder) {
			e.Int(0)
			e.Int(1)
			e.Long(1)
			e.Int(1)
			e.Int(31)
			e.Int(0x7fffffff)
		}), nil, []error{ErrCorrupt, jute.ErrTooLarge}},
		{"null path", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); e.Int(-1) }), nil, []error{ErrCorrupt}},
		{"path length -2", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); e.Int(-2) }), nil, []error{ErrCorrupt, jute.ErrBadLength}},
		{"data over limit", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); nodeRec(e, "", make([]byte, 100)); e.String("/") }), &Options{MaxLength: 99}, []error{ErrCorrupt, jute.ErrTooLarge}},
		{"data at limit", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); nodeRec(e, "", make([]byte, 100)); e.String("/") }), &Options{MaxLength: 100}, nil},
		{"data claims 2MB", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); e.String(""); e.Int(jute.DefaultMaxLength) }), nil, []error{ErrTruncated}},
		{"no terminator", enc(func(e *jute.Encoder) { e.Int(0); e.Int(0); nodeRec(e, "", nil) }), nil, []error{ErrTruncated}},
		{"empty", nil, nil, []error{ErrTruncated}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			r := NewBodyReader(bytes.NewReader(c.in), c.opts)
			_, err := r.Sessions()
			if err == nil {
				_, err = r.ACLs()
			}
			var n Node
			for err == nil {
				err = r.Next(&n)
			}
			if err == io.EOF {
				err = nil
			}
			runtime.ReadMemStats(&ms1)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want %v", err, w)
				}
			}
			if c.want == nil && err != nil {
				t.Errorf("got %v", err)
			}
			if err != nil {
				asError(t, err)
				if err2 := r.Next(&n); err2 != err {
					t.Errorf("error not sticky: %v then %v", err, err2)
				}
			}
			// Nothing is allocated from an unchecked count (1 MiB is the
			// bufio buffer; allow another 1 MiB of slack).
			if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 2<<20 {
				t.Errorf("allocated %d bytes", d)
			}
		})
	}
}

func TestWriterUsage(t *testing.T) {
	var buf bytes.Buffer
	w := NewBodyWriter(&buf)
	if err := w.WriteNode(&Node{}); !errors.Is(err, ErrUsage) {
		t.Errorf("WriteNode first: %v", err)
	}
	w.WriteSessions(nil)
	if err := w.WriteACLs([]ACLEntry{{Index: 1}}); !errors.Is(err, ErrUsage) {
		t.Errorf("nil ACL list: %v", err)
	}
	w.WriteACLs(nil)
	if err := w.WriteNode(&Node{Path: "/"}); !errors.Is(err, ErrUsage) {
		t.Errorf(`path "/": %v`, err)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNode(&Node{Path: "/x"}); !errors.Is(err, ErrUsage) {
		t.Errorf("WriteNode after End: %v", err)
	}
	// An empty body: no sessions, no ACLs, no nodes.
	if got := buf.Bytes(); !bytes.Equal(got, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '/'}) {
		t.Errorf("empty body % x", got)
	}
}

func TestSnapshotFileWriter(t *testing.T) {
	s, err := ReadSnapshot(javaFiles(t, "snapshot.*.gz")[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy} {
		w, err := CreateSnapshotFile(dir, 0x1234abcd, c, true)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteSessions(s.Sessions)
		w.WriteACLs(s.ACLs)
		for i := range s.Nodes {
			w.WriteNode(&s.Nodes[i])
		}
		if _, err := os.Stat(w.Path()); !os.IsNotExist(err) {
			t.Errorf("final file exists before Commit")
		}
		if err := w.Commit(&s.Digest); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(w.Path()) != "snapshot.1234abcd"+c.Ext() {
			t.Errorf("path %s", w.Path())
		}
		if err := QuickCheck(w.Path()); err != nil {
			t.Error(err)
		}
		back, err := ReadSnapshot(w.Path(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(reencode(t, back, CompressionNone), reencode(t, s, CompressionNone)) {
			t.Errorf("%v: content differs", c)
		}
	}
	w, _ := CreateSnapshotFile(dir, 7, CompressionNone, false)
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("left %d files", len(ents))
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix string
		zxid   int64
		ok     bool
	}{
		{"snapshot.0", "snapshot", 0, true},
		{"snapshot.1a2f", "snapshot", 0x1a2f, true},
		{"snapshot.1A2F.gz", "snapshot", 0x1a2f, true},
		{"snapshot.1a.tmp", "snapshot", 0x1a, true},
		{"snapshot.7fffffffffffffff", "snapshot", 0x7fffffffffffffff, true},
		{"snapshot.8000000000000000", "snapshot", 0, false},
		{"snapshot.-1", "snapshot", 0, false},
		{"snapshot.+1", "snapshot", 0, false},
		{"snapshot.", "snapshot", 0, false},
		{"snapshot", "snapshot", 0, false},
		{"snapshot.x1", "snapshot", 0, false},
		{"snapshots.1", "snapshot", 0, false},
		{"log.f", "log", 0xf, true},
		{"log.f", "snapshot", 0, false},
	} {
		z, ok := ParseZxidFromName(c.name, c.prefix)
		if z != c.zxid || ok != c.ok {
			t.Errorf("ParseZxidFromName(%q, %q) = %#x, %v", c.name, c.prefix, z, ok)
		}
	}
	for name, want := range map[string]Compression{
		"snapshot.1": CompressionNone, "snapshot.1.gz": CompressionGzip, "snapshot.1.GZ": CompressionGzip,
		"snapshot.1.snappy": CompressionSnappy, "snapshot.1.Snappy": CompressionSnappy,
		"snapshot.1.tmp": CompressionNone, "dir.gz/snapshot.1": CompressionNone,
	} {
		if got := CompressionForName(name); got != want {
			t.Errorf("CompressionForName(%q) = %v", name, got)
		}
	}
	if got := SnapshotFileName(0x1A2f, CompressionSnappy); got != "snapshot.1a2f.snappy" {
		t.Error(got)
	}
	if got := LogFileName(255); got != "log.ff" {
		t.Error(got)
	}
	if _, err := ParseSnapshotName("log.1"); !errors.Is(err, ErrBadName) {
		t.Error(err)
	}
}

func TestEpochFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		content string
		want    int64
		ok      bool
	}{
		{"0", 0, true}, {"12", 12, true}, {"12\n", 12, true}, {"12\r\ngarbage", 12, true},
		{"-3", -3, true}, {"", 0, false}, {"x", 0, false}, {" 1", 0, false}, {"99999999999999999999", 0, false},
	} {
		p := filepath.Join(dir, CurrentEpochFile)
		os.WriteFile(p, []byte(c.content), 0o644)
		v, err := ReadEpochFile(p)
		if c.ok && (err != nil || v != c.want) {
			t.Errorf("%q: %d, %v", c.content, v, err)
		}
		if !c.ok && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: %d, %v", c.content, v, err)
		}
	}
	p := filepath.Join(dir, AcceptedEpochFile)
	if err := WriteEpochFile(p, 42); err != nil {
		t.Fatal(err)
	}
	if b := readFile(t, p); string(b) != "42" {
		t.Errorf("wrote %q", b)
	}
	if v, err := ReadEpochFile(p); v != 42 || err != nil {
		t.Errorf("read back %d, %v", v, err)
	}
	if _, err := ReadEpochFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing: %v", err)
	}
}

func TestAdler(t *testing.T) {
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	for i := range data[50_000:60_000] {
		data[50_000+i] = 0xff // worst case for overflow
	}
	// Any split into writes gives the same sum as hash/adler32.
	for _, step := range []int{1, 3, 5551, 5552, 5553, 65536, len(data)} {
		a := newAdler()
		for p := data; len(p) > 0; {
			n := min(step, len(p))
			a.update(p[:n])
			p = p[n:]
		}
		if got, want := a.sum(), adler32.Checksum(data); got != want {
			t.Errorf("step %d: %#x, want %#x", step, got, want)
		}
	}
	if a := newAdler(); a.sum() != 1 {
		t.Errorf("empty: %#x", a.sum())
	}
}

func TestDecodeStatMatchesProto(t *testing.T) {
	st := proto.StatPersisted{Czxid: 1, Mzxid: -2, Ctime: 3 << 40, Mtime: 4, Version: -5, Cversion: 6, Aversion: -7,
		EphemeralOwner: -8 << 56, Pzxid: 9}
	b := jute.Marshal(&st)
	var got, want proto.StatPersisted
	decodeStat(&got, b)
	if err := jute.Unmarshal(b, &want); err != nil || got != want || got != st {
		t.Errorf("decodeStat %+v, proto %+v (%v)", got, want, err)
	}
}
