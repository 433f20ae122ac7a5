// Package restoretest holds the damaged Java data directories that every
// restore test (the library's and the CLI's) must refuse, built from the
// golden files in snapshot/testdata/java.
package restoretest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
)

// GoldenDir returns the directory of the golden Java 3.8 files: a
// standalone server's snapshots (plain, gz, snappy; with and without digest
// blocks) and logs.
func GoldenDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "snapshot", "testdata", "java")
}

// DataDir copies the golden files, minus those named in drop, into
// <tempdir>/version-2 and returns the tempdir (a Java dataDir).
func DataDir(t testing.TB, drop ...string) string {
	t.Helper()
	dataDir := t.TempDir()
	vdir := filepath.Join(dataDir, snapshot.VersionDir)
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(GoldenDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if slices.Contains(drop, e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(GoldenDir(), e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(vdir, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dataDir
}

// Bad is one damaged data directory.
type Bad struct {
	Name string
	// Make damages the golden files copied into vdir (a version-2
	// directory) and returns the path the error must name: the damaged
	// file, or vdir itself when the damage is that files are missing.
	Make func(t testing.TB, vdir string) string
	// Want is the sentinel the error must wrap.
	Want error
}

// Bads are the damaged directories a restore must refuse, each with one
// error naming the file and, for damage inside a file, the byte offset.
var Bads = []Bad{
	{
		Name: "truncated snapshot",
		Make: func(t testing.TB, vdir string) string {
			p := keepSnapshot(t, vdir, "snapshot.41")
			rewrite(t, p, func(b []byte) []byte { return b[:len(b)/2] })
			return p
		},
		Want: snapshot.ErrTruncated,
	},
	{
		Name: "wrong magic",
		Make: func(t testing.TB, vdir string) string {
			p := keepSnapshot(t, vdir, "snapshot.41")
			rewrite(t, p, func(b []byte) []byte { b[0] = 'X'; return b })
			return p
		},
		Want: snapshot.ErrBadMagic,
	},
	{
		Name: "checksum mismatch",
		Make: func(t testing.TB, vdir string) string {
			p := keepSnapshot(t, vdir, "snapshot.41")
			rewrite(t, p, func(b []byte) []byte {
				b[secondNodeEnd(t, b)-60+7] ^= 0x01 // a node's czxid: only the seal notices
				return b
			})
			return p
		},
		Want: snapshot.ErrChecksum,
	},
	{
		Name: "gap between snapshot and log",
		Make: func(t testing.TB, vdir string) string {
			keepSnapshot(t, vdir, "snapshot.41")
			remove(t, filepath.Join(vdir, "log.42"))
			return filepath.Join(vdir, "log.46")
		},
		Want: snapshot.ErrGap,
	},
	{
		Name: "gap between logs",
		Make: func(t testing.TB, vdir string) string {
			keepSnapshot(t, vdir, "snapshot.2d")
			remove(t, filepath.Join(vdir, "log.3e"))
			return filepath.Join(vdir, "log.42")
		},
		Want: snapshot.ErrGap,
	},
	{
		Name: "corrupt record in the middle of a log",
		Make: func(t testing.TB, vdir string) string {
			keepSnapshot(t, vdir, "snapshot.1a")
			p := filepath.Join(vdir, "log.1c")
			offs := EntryOffsets(t, p)
			rewrite(t, p, func(b []byte) []byte { b[offs[len(offs)/2]+12+snapshot.TxnHeaderSize+2] ^= 0x40; return b })
			return p
		},
		Want: snapshot.ErrChecksum,
	},
	{
		Name: "digest mismatch",
		Make: func(t testing.TB, vdir string) string {
			keepSnapshot(t, vdir, "snapshot.1a")
			p := filepath.Join(vdir, "log.1c")
			rewrite(t, p, func(b []byte) []byte { return withWrongDigest(t, b, p) })
			return p
		},
		Want: snapshot.ErrDigestMismatch,
	},
	{
		Name: "empty directory",
		Make: func(t testing.TB, vdir string) string {
			m, _ := filepath.Glob(filepath.Join(vdir, "*"))
			for _, f := range m {
				remove(t, f)
			}
			return vdir
		},
		Want: snapshot.ErrNoSnapshot,
	},
	{
		Name: "logs without snapshot",
		Make: func(t testing.TB, vdir string) string {
			keepSnapshot(t, vdir, "")
			return vdir
		},
		Want: snapshot.ErrNoSnapshot,
	},
}

// keepSnapshot removes every snapshot of vdir except keep and returns its
// path.
func keepSnapshot(t testing.TB, vdir, keep string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(vdir, "snapshot.*"))
	for _, f := range m {
		if filepath.Base(f) != keep {
			remove(t, f)
		}
	}
	return filepath.Join(vdir, keep)
}

func remove(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func rewrite(t testing.TB, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// secondNodeEnd returns the offset just past the second node record of an
// uncompressed snapshot file.
func secondNodeEnd(t testing.TB, b []byte) int {
	t.Helper()
	br := snapshot.NewBodyReader(bytes.NewReader(b[snapshot.FileHeaderSize:]), nil)
	var n snapshot.Node
	for i := 0; i < 2; i++ {
		if err := br.Next(&n); err != nil {
			t.Fatal(err)
		}
	}
	return snapshot.FileHeaderSize + int(br.Offset())
}

// EntryOffsets returns the frame offsets of a log file's entries.
func EntryOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	lf, err := snapshot.OpenLogFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	var offs []int64
	for {
		e, err := lf.Next()
		if err == io.EOF {
			return offs
		}
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, e.Offset)
	}
}

// withWrongDigest returns log bytes in which the first entry with a digest
// from the middle of the file on records a different digest, its checksum
// recomputed so that only the digest check can notice.
func withWrongDigest(t testing.TB, b []byte, path string) []byte {
	t.Helper()
	offs := EntryOffsets(t, path)
	for _, off := range offs[len(offs)/2:] {
		n := int64(jute.NewDecoder(b[off+8:off+12], 0).Int())
		raw := b[off+12 : off+12+n]
		txn, err := proto.DecodeTxn(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		if txn.Digest == nil {
			continue
		}
		raw[len(raw)-1] ^= 0x01
		copy(b[off:], snapshot.AppendEntryFrame(nil, raw))
		return b
	}
	t.Fatalf("%s: no entry with a digest", path)
	return nil
}

// Listing renders a tree for comparisons: its zxid and digest, the
// snapshot.DumpTree listing, and the session table.
func Listing(t testing.TB, tr *tree.DataTree) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "zxid %#x digest %d\n", tr.LastZxid(), tr.Digest())
	if err := snapshot.DumpTree(&b, tr); err != nil {
		t.Fatal(err)
	}
	tr.View(func(v tree.View) {
		ss := v.Sessions()
		for _, id := range slices.Sorted(maps.Keys(ss)) {
			fmt.Fprintf(&b, "session %#x timeout %d\n", id, ss[id])
		}
	})
	return b.String()
}

// EngineListing renders what eng holds: its meta and the Listing of its
// tree.
func EngineListing(t testing.TB, eng storage.Engine) string {
	t.Helper()
	tr, meta, err := persist.LoadTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("meta %+v\n", meta) + Listing(t, tr)
}

// CheckError requires err to be bad's error: wrapping bad.Want, on one
// line, naming file and, when file is a file, a byte offset.
func CheckError(t testing.TB, err error, bad Bad, file string) {
	t.Helper()
	if !errors.Is(err, bad.Want) {
		t.Fatalf("error %v, want %v", err, bad.Want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, file) {
		t.Fatalf("error %q: not one line naming %s", msg, file)
	}
	if st, err := os.Stat(file); err == nil && !st.IsDir() && !strings.Contains(msg, "offset ") {
		t.Fatalf("error %q names no byte offset", msg)
	}
}

// LastLogged returns the zxid of the last txn in the logs of dir and the
// last digest Java logged with a txn, read independently of restore.
func LastLogged(t testing.TB, dir string) (zxid, digest int64) {
	t.Helper()
	logs, err := snapshot.OpenLogs(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	for {
		e, err := logs.Next()
		if err == io.EOF {
			return zxid, digest
		}
		if err != nil {
			t.Fatal(err)
		}
		txn, err := proto.DecodeTxn(e.Raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		zxid = e.Zxid
		if txn.Digest != nil {
			digest = txn.Digest.TreeDigest
		}
	}
}
