// Package interop proves the codec and the DataTree against a real Apache
// ZooKeeper 3.8 ensemble: its own snapshot and txn-log files, its own
// digests, and what its clients read.
package interop

import (
	"bytes"
	"hash/adler32"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/snapshot"
)

// TestJavaFilesReplay drives a real 3-voter ensemble with every kind of
// write, then, for every server, decodes its snapshot.N and log.N files,
// applies every txn to our DataTree and requires:
//   - our digest equals the digest Java recorded with every txn, and the
//     digest block of every later snapshot file when replay reaches it;
//   - every log entry and every snapshot file re-encodes to identical bytes;
//   - the final tree (paths, data, stats, ACLs) equals what a client reads
//     from the Java servers.
func TestJavaFilesReplay(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{
		Voters: 3,
		JVMFlags: []string{
			"-Dzookeeper.extendedTypesEnabled=true",
			"-Dznode.container.checkIntervalMs=200",
		},
		// Small snapCount: several snapshots and log files per server.
		Properties: map[string]string{"snapCount": "400"},
	})
	ctx := waitCtx(t, 2*time.Minute)
	leader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addrs := e.ClientAddrs()
	ops := workload(t, addrs, 1)
	want := readTree(t, leader.ClientAddr)
	lastZxid := maxZxid(want)
	// The quota's stats node is maintained locally by every server; the
	// tree comparison below covers it.
	if st, ok := want["/zookeeper/quota/app/zookeeper_stats"]; !ok || !strings.HasPrefix(string(st.Data), "count=") || string(st.Data) == "count=0,bytes=0" {
		t.Fatalf("quota stats on the leader: %q (present %v)", st.Data, ok)
	}
	for _, n := range e.Nodes() {
		// Every server has applied every txn before it stops.
		if got := readTree(t, n.ClientAddr); !sameTree(t, n.ID, got, want) {
			t.Fatalf("server %d serves a different tree than the leader", n.ID)
		}
	}
	for _, n := range e.Nodes() {
		if err := e.Stop(n.ID); err != nil {
			t.Fatal(err)
		}
	}

	total := 0
	for _, n := range e.Nodes() {
		r := replayDataDir(t, n.VersionDir())
		total += r.txns
		t.Logf("server %d: %d snapshots, %d log files, %d txns replayed (%d with a digest, all equal), %d snapshot digests checked, last zxid %#x",
			n.ID, r.snapshots, r.logs, r.txns, r.digests, r.snapDigests, r.tree.LastZxid())
		if r.digests == 0 || r.txns < ops/2 {
			t.Fatalf("server %d: only %d txns (%d with digests) for %d client ops", n.ID, r.txns, r.digests, ops)
		}
		if r.tree.LastZxid() < lastZxid {
			t.Fatalf("server %d: replay ends at %#x, clients saw %#x", n.ID, r.tree.LastZxid(), lastZxid)
		}
		for _, k := range wantKinds {
			if r.kinds[k] == 0 {
				t.Errorf("server %d: no %s txn in its log (seen: %v)", n.ID, k, r.kinds)
			}
		}
		got := treeAsClientSees(r.tree)
		if !sameTree(t, n.ID, got, want) {
			t.Fatalf("server %d: the tree rebuilt from its files differs from what clients read", n.ID)
		}
	}
	t.Logf("digest check covered %d txns on %d servers (%d client ops)", total, len(e.Nodes()), ops)
}

type replayResult struct {
	tree                                        *tree.DataTree
	snapshots, logs, txns, digests, snapDigests int
	kinds                                       map[string]int // txn kinds seen, sub-txns of multis included
}

// txnKinds names what a txn exercises, for the coverage check.
func txnKinds(txn *proto.Txn, rc tree.Result) []string {
	k := []string{txn.Header.Type.String()}
	switch b := txn.Body.(type) {
	case *proto.MultiTxn:
		if rc.Err != 0 {
			k = append(k, "multi-failed")
		}
		for _, s := range b.Txns {
			k = append(k, "multi/"+s.Type.String())
		}
	case *proto.CloseSessionTxn:
		if len(b.Paths2Delete) > 0 {
			k = append(k, "closeSession-with-paths")
		}
		if txn.Header.Cxid == 0 {
			k = append(k, "closeSession-expired")
		}
	case *proto.CreateTxn:
		if b.Ephemeral {
			k = append(k, "create-ephemeral")
		}
		if b.Data == nil {
			k = append(k, "create-null-data")
		}
	}
	return k
}

// wantKinds is every kind of txn the workload must have produced.
var wantKinds = []string{
	"create", "create2", "createContainer", "createTTL", "delete", "deleteContainer",
	"setData", "setACL", "multi", "multi-failed", "error", "createSession", "closeSession",
	"closeSession-with-paths", "closeSession-expired", "create-ephemeral", "create-null-data",
	"multi/create", "multi/createContainer", "multi/setData", "multi/check", "multi/delete", "multi/error",
}

// replayDataDir restores dir from its oldest snapshot with
// snapshot.RestoreTree (which compares our digest with every digest Java
// logged), checks the digest block of every later snapshot when the replay
// reaches its zxid, and re-encodes every file.
func replayDataDir(t *testing.T, dir string) replayResult {
	t.Helper()
	snaps, err := snapshot.FindSnapshots(dir)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("%s: no snapshots (%v)", dir, err)
	}
	// FindSnapshots lists newest first.
	oldest := snaps[len(snaps)-1]
	res := replayResult{snapshots: len(snaps), kinds: map[string]int{}}
	snapDigests := map[int64]int64{} // zxid -> digest, from snapshot files
	for _, s := range snaps {
		d := checkSnapshotReencodes(t, s.Path)
		if d.Present && d.Zxid != 0 {
			snapDigests[d.Zxid] = d.Digest
		}
	}
	logs, err := snapshot.ListLogs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snapshot.SelectLogs(logs, oldest.Zxid+1) {
		checkLogReencodes(t, f.Path)
	}
	tr, sum, err := snapshot.RestoreTree(dir, snapshot.RestoreOptions{
		Snapshot: oldest.Name,
		Tree:     tree.Options{ExtendedTypes: true},
		OnTxn: func(ent *snapshot.Entry, txn *proto.Txn, rc tree.Result, tr *tree.DataTree) error {
			if re := jute.Marshal(txn); !bytes.Equal(re, ent.Raw) {
				t.Fatalf("%s@%d (%v): txn re-encodes differently:\n%x\n%x", ent.File, ent.Offset, txn.Header.Type, re, ent.Raw)
			}
			for _, k := range txnKinds(txn, rc) {
				res.kinds[k]++
			}
			if txn.Digest != nil && txn.Digest.Version != proto.DigestVersion {
				t.Fatalf("%s@%d: digest version %d", ent.File, ent.Offset, txn.Digest.Version)
			}
			if d, ok := snapDigests[txn.Header.Zxid]; ok && txn.Header.Zxid != oldest.Zxid {
				if got := tr.Digest(); got != d {
					t.Fatalf("snapshot digest for %#x is %d, our tree's %d", txn.Header.Zxid, d, got)
				}
				res.snapDigests++
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.SnapshotDigestChecked {
		res.snapDigests++
	}
	res.tree, res.logs, res.txns, res.digests = tr, len(sum.Logs), sum.Txns, sum.TxnDigests
	return res
}

// checkSnapshotReencodes rewrites a snapshot file from its decoded records
// and requires identical bytes. It returns the file's digest block.
func checkSnapshotReencodes(t *testing.T, path string) snapshot.ZxidDigest {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.ReadSnapshot(path, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var buf bytes.Buffer
	w := snapshot.NewSnapshotWriter(&buf, s.Header, snapshot.CompressionForName(path))
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
	var d *snapshot.ZxidDigest
	if s.Digest.Present {
		d = &s.Digest
	}
	if err := w.Close(d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Fatalf("%s: re-encoded snapshot differs (%d vs %d bytes)", path, buf.Len(), len(orig))
	}
	return s.Digest
}

// checkLogReencodes rewrites a log file's header and entries and requires
// the same bytes as the file up to its last whole entry.
func checkLogReencodes(t *testing.T, path string) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := snapshot.OpenLogFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	var e jute.Encoder
	h := lf.Header()
	h.Encode(&e)
	n := 0
	for {
		ent, err := lf.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		txn, err := proto.DecodeTxn(ent.Raw, 0)
		if err != nil {
			t.Fatalf("%s@%d: %v", path, ent.Offset, err)
		}
		body := jute.Marshal(txn)
		e.Long(int64(adler32.Checksum(body)))
		e.Buffer(body)
		e.Byte(snapshot.EntryMarker)
		n++
	}
	end, _ := lf.End()
	if int64(e.Len()) != end || !bytes.Equal(e.Bytes(), orig[:end]) {
		t.Fatalf("%s: %d re-encoded entries (%d bytes) differ from the file's first %d bytes", path, n, e.Len(), end)
	}
}

// treeAsClientSees renders our tree the way readTree renders Java's.
func treeAsClientSees(tr *tree.DataTree) map[string]clientNode { return zktest.TreeAsClientSees(tr) }

// sameTree compares two client views node by node (see zktest.SameTree).
func sameTree(t *testing.T, sid int, got, want map[string]clientNode) bool {
	t.Helper()
	return zktest.SameTree(t, sid, got, want)
}

func maxZxid(m map[string]clientNode) int64 { return zktest.MaxZxid(m) }
