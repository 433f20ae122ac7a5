package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/ensemble/zkjava"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// exportJVMFlags and exportProps apply to every Java server of the export
// proof: TTL nodes need extended types, and the sessions that own
// ephemerals must outlive the restarts (tickTime 200 ms would cap session
// timeouts at 4 s).
var (
	exportJVMFlags = []string{"-Dzookeeper.extendedTypesEnabled=true"}
	exportProps    = map[string]string{"maxSessionTimeout": "120000"}
)

// TestExportServedByJava is the proof of `snapshot export`: a tree with
// every kind of node is made through a real Java server, rebuilt from that
// server's files, installed into an engine, read back from the engine and
// exported; a fresh Java 3.8 server started on a dataDir holding only the
// export (and epoch files) must serve the same tree, node by node (data,
// Stat, ACL), and report at load the zxid and digest of our tree with no
// digest mismatch. Pebble's export is loaded by a quorum peer (which
// checks the epoch files), bolt's by a standalone server.
func TestExportServedByJava(t *testing.T) {
	ensemble.Require(t)
	src := ensemble.Start(t, ensemble.Options{Voters: 1, JVMFlags: exportJVMFlags, Properties: exportProps})
	leader, err := src.WaitForLeader(waitCtx(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	exportWorkload(t, leader.ClientAddr)
	want := readTree(t, leader.ClientAddr)
	// Stopped with the ephemerals' session still open: the files keep it.
	if err := src.Stop(leader.ID); err != nil {
		t.Fatal(err)
	}
	r := replayDataDir(t, leader.VersionDir())
	if !sameTree(t, leader.ID, treeAsClientSees(r.tree), want) {
		t.Fatal("the tree rebuilt from the Java server's files differs from what its clients read")
	}
	var meta storage.Meta
	meta.LastZxid = r.tree.LastZxid()
	var err1, err2 error
	meta.AcceptedEpoch, err1 = snapshot.ReadEpochFile(filepath.Join(leader.VersionDir(), snapshot.AcceptedEpochFile))
	meta.CurrentEpoch, err2 = snapshot.ReadEpochFile(filepath.Join(leader.VersionDir(), snapshot.CurrentEpochFile))
	if err1 != nil || err2 != nil || meta.CurrentEpoch == 0 {
		t.Fatalf("source epochs %+v: %v %v", meta, err1, err2)
	}

	engines := []struct {
		name       string
		open       func(dir string) (storage.Engine, error)
		standalone bool
	}{
		{"pebble", func(d string) (storage.Engine, error) { return pebble.Open(d, pebble.Options{}) }, false},
		{"bolt", func(d string) (storage.Engine, error) { return bolt.Open(d, bolt.Options{}) }, true},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			tr, gotMeta := installAndReload(t, e.open, r.tree, meta)
			if gotMeta != meta {
				t.Fatalf("engine meta %+v, want %+v", gotMeta, meta)
			}
			var exp snapshot.Exported
			java := ensemble.Start(t, ensemble.Options{
				Standalone: e.standalone, Voters: 1, JVMFlags: exportJVMFlags, Properties: exportProps,
				Prepare: func(n *ensemble.Node) error {
					var err error
					exp, err = snapshot.ExportDataDir(n.DataDir, tr, snapshot.DataDirOptions{
						Epochs: &storage.Epochs{Accepted: gotMeta.AcceptedEpoch, Current: gotMeta.CurrentEpoch}, NoSync: true})
					if err != nil {
						return err
					}
					return onlyExport(n.VersionDir(), exp)
				},
			})
			n := java.Node(1)
			log, err := n.ReadLog()
			if err != nil {
				t.Fatal(err)
			}
			load, ok := zkjava.ParseSnapshotLoad([]byte(log))
			if !ok {
				t.Fatalf("no 'Snapshot loaded' line in %s", n.LogFile)
			}
			if load.Zxid != tr.LastZxid() || load.Digest != tr.Digest() {
				t.Fatalf("Java loaded zxid %#x digest %d; the exported tree is at %#x with digest %d", load.Zxid, load.Digest, tr.LastZxid(), tr.Digest())
			}
			if zkjava.DigestMismatch([]byte(log)) {
				t.Fatalf("Java reports a digest mismatch (see %s)", n.LogFile)
			}
			got := readTree(t, n.ClientAddr)
			if !sameTree(t, n.ID, got, want) {
				t.Fatalf("Java serves a different tree from the export %s", exp.Path)
			}
			t.Logf("%s: %d znodes, %d sessions at zxid %#x exported (%d bytes); Java loaded it in %d ms with digest %d",
				e.name, exp.Nodes, exp.Sessions, exp.Zxid, exp.Bytes, load.Millis, load.Digest)
		})
	}
}

// installAndReload installs t into a fresh engine with meta, closes it,
// and reopens it to load the tree an export reads.
func installAndReload(t *testing.T, open func(string) (storage.Engine, error), t0 *tree.DataTree, meta storage.Meta) (*tree.DataTree, storage.Meta) {
	t.Helper()
	dir := t.TempDir()
	eng, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := persist.Install(eng, t0, meta); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if eng, err = open(dir); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tr, m, err := snapshot.LoadEngineTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	return tr, m
}

// onlyExport checks that vdir holds the exported snapshot and the epoch
// files and nothing else.
func onlyExport(vdir string, exp snapshot.Exported) error {
	ents, err := os.ReadDir(vdir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{snapshot.AcceptedEpochFile, snapshot.CurrentEpochFile, filepath.Base(exp.Path)}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		return fmt.Errorf("%s holds %v, want %v", vdir, names, want)
	}
	return nil
}

// exportWorkload makes a tree with every kind of node: persistent with
// null, empty, small and 64 KiB data; sequential; ephemeral and
// ephemeral-sequential owned by a session that stays open; containers with
// and without children; TTL and TTL-sequential; world, digest, auth and
// ip ACLs; nodes changed by setData, setACL and a child's delete.
func exportWorkload(t *testing.T, addr string) {
	a := connect(t, addr, time.Minute, nil)
	if err := a.AddAuth("digest", []byte(user+":"+password)); err != nil {
		t.Fatal(err)
	}
	b := connect(t, addr, 30*time.Second, nil) // a session without ephemerals
	open := zk.WorldACL(zk.PermAll)
	large := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	create := func(c *zk.Conn, path string, data []byte, flags int32, acl []zk.ACL) string {
		t.Helper()
		p, err := c.Create(path, data, flags, acl)
		must(err, "create "+path)
		return p
	}
	create(a, "/e", nil, 0, open)
	create(a, "/e/empty", []byte{}, 0, open)
	create(a, "/e/data", []byte("hello"), 0, open)
	create(b, "/e/large", large, 0, open)
	var seqs []string
	for i := range 3 {
		seqs = append(seqs, create(a, "/e/seq-", []byte{byte(i)}, zk.FlagSequence, open))
	}
	create(a, "/e/eph", []byte("e"), zk.FlagEphemeral, open)
	create(a, "/e/eseq-", nil, zk.FlagEphemeral|zk.FlagSequence, open)
	_, err := a.CreateContainer("/e/box", []byte("c"), zk.FlagContainer, open)
	must(err, "create container")
	create(a, "/e/box/item", nil, 0, open)
	_, err = a.CreateContainer("/e/emptybox", nil, zk.FlagContainer, open)
	must(err, "create empty container")
	_, err = a.CreateTTL("/e/ttl", []byte("t"), zk.FlagTTL, open, time.Hour)
	must(err, "create TTL")
	_, err = a.CreateTTL("/e/ttlseq-", []byte("t"), zk.FlagPersistentSequentialWithTTL, open, time.Hour)
	must(err, "create TTL sequential")
	create(b, "/e/secure", []byte("s"), 0, digestACL)
	create(a, "/e/secure/auth", nil, 0, zk.AuthACL(zk.PermAll))
	create(b, "/e/mixed", []byte("m"), 0, mixedACL)
	create(b, "/e/read", []byte("r"), 0, readACL)
	create(b, "/e/many", nil, 0, open)
	for i := range 100 {
		create(b, fmt.Sprintf("/e/many/n%03d", i), []byte(fmt.Sprint(i)), 0, open)
	}
	st, err := b.Set("/e/large", large[:1000], 0)
	must(err, "setData")
	_, err = b.Set("/e/large", large[:2000], st.Version)
	must(err, "setData again")
	_, err = a.SetACL("/e/data", mixedACL, -1)
	must(err, "setACL")
	must(a.Delete(seqs[1], -1), "delete")
}
