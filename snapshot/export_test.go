package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

var exportTreeOpts = tree.Options{ExtendedTypes: true}

// goldenTree restores the golden Java data directory (persistent,
// sequential, ephemeral, container and TTL nodes, several ACLs, a live
// session).
func goldenTree(t *testing.T) *tree.DataTree {
	t.Helper()
	tr, _, err := RestoreTree(javaDir, RestoreOptions{Tree: exportTreeOpts})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// loadTreeFile loads a snapshot file into a tree at zxid, as Java does.
func loadTreeFile(t *testing.T, path string, zxid int64) *tree.DataTree {
	t.Helper()
	s, err := OpenSnapshotFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr, err := LoadTree(s, zxid, exportTreeOpts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// flatNode is a node with its ACL list resolved, for comparing trees.
type flatNode struct {
	Data    []byte
	NilData bool
	ACL     []proto.ACL
	Stat    proto.StatPersisted
}

func flatten(tr *tree.DataTree) (map[string]flatNode, map[int64]int32) {
	out := map[string]flatNode{}
	var sessions map[int64]int32
	tr.View(func(v tree.View) {
		v.Walk(func(p string, n *tree.Node) bool {
			out[p] = flatNode{Data: n.Data, NilData: n.Data == nil, ACL: v.ACL(n), Stat: n.Stat}
			return true
		})
		sessions = v.Sessions()
	})
	return out, sessions
}

// requireSameTree compares nodes (data and its null-ness, stored stat, ACL
// list), sessions, zxid and digest.
func requireSameTree(t *testing.T, got, want *tree.DataTree) {
	t.Helper()
	gn, gs := flatten(got)
	wn, ws := flatten(want)
	if !reflect.DeepEqual(gn, wn) {
		for p, w := range wn {
			if g, ok := gn[p]; !ok || !reflect.DeepEqual(g, w) {
				t.Errorf("%q: got %+v (present %v), want %+v", p, g, ok, w)
			}
		}
		for p := range gn {
			if _, ok := wn[p]; !ok {
				t.Errorf("extra %q", p)
			}
		}
		t.FailNow()
	}
	if !reflect.DeepEqual(gs, ws) {
		t.Fatalf("sessions %v, want %v", gs, ws)
	}
	if got.LastZxid() != want.LastZxid() || got.Digest() != want.Digest() {
		t.Fatalf("zxid %#x digest %d, want %#x %d", got.LastZxid(), got.Digest(), want.LastZxid(), want.Digest())
	}
}

// TestExportRoundTrip exports the golden tree with every compression,
// reads the file back with the package's own reader and requires the same
// tree, a digest block {zxid, 2, digest}, and a digest block equal to the
// sum of the node digests of what the file holds.
func TestExportRoundTrip(t *testing.T) {
	orig := goldenTree(t)
	var kinds [4]int
	orig.View(func(v tree.View) {
		v.Walk(func(_ string, n *tree.Node) bool { kinds[v.Kind(n)]++; return true })
		if len(v.Sessions()) == 0 {
			t.Fatal("golden tree has no session")
		}
	})
	for k, c := range kinds {
		if c == 0 {
			t.Fatalf("golden tree has no node of kind %d: %v", k, kinds)
		}
	}
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			res, err := ExportDataDir(dir, orig, DataDirOptions{Compression: c, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			wantPath := filepath.Join(dir, VersionDir, SnapshotFileName(orig.LastZxid(), c))
			if res.Path != wantPath || res.Zxid != orig.LastZxid() {
				t.Fatalf("exported %s at %#x, want %s at %#x", res.Path, res.Zxid, wantPath, orig.LastZxid())
			}
			if err := QuickCheck(res.Path); err != nil {
				t.Fatal(err)
			}
			s, err := ReadSnapshot(res.Path, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := ZxidDigest{Present: true, Zxid: orig.LastZxid(), Version: proto.DigestVersion, Digest: orig.Digest()}
			if s.Digest != want || res.Digest != want {
				t.Fatalf("digest block %+v (reported %+v), want %+v", s.Digest, res.Digest, want)
			}
			if s.Header != SnapHeader || len(s.Nodes) != res.Nodes || len(s.Sessions) != res.Sessions {
				t.Fatalf("header %+v, %d nodes, %d sessions; reported %+v", s.Header, len(s.Nodes), len(s.Sessions), res)
			}
			var sum int64
			for _, n := range s.Nodes {
				sum += int64(tree.NodeDigest(n.Path, n.Data, &n.Stat))
			}
			if sum != s.Digest.Digest {
				t.Fatalf("node digests of the file sum to %d, its digest block says %d", sum, s.Digest.Digest)
			}
			if st, _ := os.Stat(res.Path); st == nil || st.Size() != res.Bytes {
				t.Fatalf("reported %d bytes, file %v", res.Bytes, st)
			}
			requireSameTree(t, loadTreeFile(t, res.Path, res.Zxid), orig)
		})
	}
}

// TestExportFreshTreeIsJavasSnapshot0: the export of a fresh tree is, byte
// for byte, the snapshot.0 a fresh Java 3.8 server writes (spec B1.2).
func TestExportFreshTreeIsJavasSnapshot0(t *testing.T) {
	var buf bytes.Buffer
	res, err := WriteTree(&buf, tree.New(tree.Options{}), CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	if want := specSnapshot0(t); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("export of a fresh tree:\n%x\nJava's snapshot.0:\n%x", buf.Bytes(), want)
	}
	if res.Nodes != 4 || res.Zxid != 0 || res.Digest.Zxid != 0 {
		t.Fatalf("reported %+v", res)
	}
}

func TestExportFileName(t *testing.T) {
	tr := goldenTree(t)
	dir := t.TempDir()
	if _, err := ExportFile(filepath.Join(dir, "snapshot.1"), tr, false); !errors.Is(err, ErrBadName) {
		t.Fatalf("snapshot.1 for a tree at %#x: %v, want ErrBadName", tr.LastZxid(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.1.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("left a temporary file: %v", err)
	}
	// Any other name is taken as given; the extension picks compression.
	res, err := ExportFile(filepath.Join(dir, "tree.gz"), tr, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(res.Path); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("tree.gz is not gzip")
	}
	// The error of an unwritable path names it.
	if _, err := ExportFile(filepath.Join(dir, "missing", "snapshot.0"), tree.New(tree.Options{}), false); err == nil {
		t.Fatal("export into a missing directory succeeded")
	}
}

func TestExportDataDirEpochs(t *testing.T) {
	tr := tree.New(tree.Options{})
	tr.Apply(&proto.Txn{Header: proto.TxnHeader{Zxid: proto.MakeZxid(3, 1), Type: proto.OpCreate},
		Body: &proto.CreateTxn{Path: "/a", Data: []byte("x"), ACL: proto.OpenACLUnsafe, ParentCVersion: 1}})
	dir := t.TempDir()
	for _, e := range []storage.Epochs{{Accepted: 3, Current: 2}, {Accepted: 2, Current: 3}} {
		if _, err := ExportDataDir(dir, tr, DataDirOptions{Epochs: &e, NoSync: true}); !errors.Is(err, ErrEpochs) {
			t.Fatalf("epochs %+v for zxid %#x: %v, want ErrEpochs", e, tr.LastZxid(), err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused export wrote %v", ents)
	}
	res, err := ExportDataDir(dir, tr, DataDirOptions{Epochs: &storage.Epochs{Accepted: 4, Current: 3}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(dir, VersionDir)
	for name, want := range map[string]int64{AcceptedEpochFile: 4, CurrentEpochFile: 3} {
		if got, err := ReadEpochFile(filepath.Join(vdir, name)); err != nil || got != want {
			t.Fatalf("%s: %d %v, want %d", name, got, err, want)
		}
	}
	if filepath.Base(res.Path) != "snapshot.300000001" {
		t.Fatalf("exported %s", res.Path)
	}
	// A second export into the same dataDir is refused: Java would pick
	// the newest snapshot or replay logs over it.
	if _, err := ExportDataDir(dir, tr, DataDirOptions{NoSync: true}); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("export into a used dataDir: %v", err)
	}
}

func TestLoadEngineTree(t *testing.T) {
	eng := memory.New()
	if _, _, err := LoadEngineTree(eng, exportTreeOpts); !errors.Is(err, ErrNothingToExport) {
		t.Fatalf("fresh store: %v, want ErrNothingToExport", err)
	}
	if _, err := eng.Get("/"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("LoadEngineTree wrote to a fresh store: %v", err)
	}
	orig := goldenTree(t)
	meta := storage.Meta{LastZxid: orig.LastZxid(), AcceptedEpoch: 1, CurrentEpoch: 1}
	if err := persist.Install(eng, orig, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := LoadEngineTree(eng, exportTreeOpts)
	if err != nil {
		t.Fatal(err)
	}
	if gotMeta != meta {
		t.Fatalf("meta %+v, want %+v", gotMeta, meta)
	}
	// The engine loses ACL numbering (it keeps lists); everything a
	// client or Java sees is the same.
	requireSameTree(t, got, orig)
}
