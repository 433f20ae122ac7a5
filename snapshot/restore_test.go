package snapshot_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/restoretest"
	. "github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/memory"
)

var restoreOpts = RestoreOptions{Tree: tree.Options{ExtendedTypes: true}}

// TestRestoreTreeJava restores the golden data directory from its newest
// snapshot (snappy) and from its oldest (snapshot.0, every txn replayed):
// both give the same tree, whose digest is the last one Java logged.
func TestRestoreTreeJava(t *testing.T) {
	dir := restoretest.DataDir(t)
	var stages []string
	opts := restoreOpts
	opts.Progress = func(p Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
		if p.Total > 0 && p.Done > p.Total {
			t.Errorf("progress %+v beyond its total", p)
		}
	}
	got, sum, err := RestoreTree(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Snapshot.Name != "snapshot.49.snappy" || len(sum.SkippedSnapshots) != 0 {
		t.Fatalf("snapshot %s, skipped %v", sum.Snapshot.Name, sum.SkippedSnapshots)
	}
	if strings.Join(stages, ",") != "snapshot,logs" {
		t.Errorf("progress stages %v", stages)
	}
	full := restoreOpts
	full.Snapshot = "snapshot.0"
	want, fsum, err := RestoreTree(dir, full)
	if err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, got, want)
	_, lastDigest := restoretest.LastLogged(t, filepath.Join(dir, VersionDir))
	if sum.Digest != lastDigest || sum.Zxid != got.LastZxid() || sum.Znodes != fsum.Znodes || sum.Sessions != fsum.Sessions {
		t.Fatalf("summary %+v; last logged digest %d", sum, lastDigest)
	}
	if fsum.Txns <= sum.Txns || fsum.TxnDigests == 0 || len(fsum.Logs) != 7 {
		t.Fatalf("from snapshot.0: %d txns (%d digests) in %d logs; from the newest %d", fsum.Txns, fsum.TxnDigests, len(fsum.Logs), sum.Txns)
	}
	// A standalone server has no epoch files: Java derives them.
	if !sum.EpochsDerived || sum.Epochs != (storage.Epochs{}) {
		t.Fatalf("epochs %+v derived %v", sum.Epochs, sum.EpochsDerived)
	}
	// The version-2 directory itself works too.
	if _, s2, err := RestoreTree(filepath.Join(dir, VersionDir), restoreOpts); err != nil || s2.Digest != sum.Digest {
		t.Fatalf("version-2 dir: %v", err)
	}
}

// TestRestoreFallsBackToOlderSnapshot damages the newest snapshot: Java
// skips it and loads the one before, and so does RestoreTree.
func TestRestoreFallsBackToOlderSnapshot(t *testing.T) {
	dir := restoretest.DataDir(t)
	vdir := filepath.Join(dir, VersionDir)
	newest := filepath.Join(vdir, "snapshot.49.snappy")
	b, err := os.ReadFile(newest)
	if err == nil {
		b[len(b)-3] ^= 0xff // inside the last snappy chunk
		err = os.WriteFile(newest, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, sum, err := RestoreTree(dir, restoreOpts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Snapshot.Name != "snapshot.45.gz" || len(sum.SkippedSnapshots) != 1 {
		t.Fatalf("snapshot %s, skipped %v", sum.Snapshot.Name, sum.SkippedSnapshots)
	}
	if e := (*Error)(nil); !errors.As(sum.SkippedSnapshots[0], &e) || e.File != newest {
		t.Fatalf("skipped error names %s", e.File)
	}
	want, _, err := RestoreTree(restoretest.DataDir(t), restoreOpts)
	if err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, got, want)
}

// TestRestoreToZxid stops the replay at every zxid of the golden logs and
// requires the same tree whichever snapshot the restore starts from.
func TestRestoreToZxid(t *testing.T) {
	dir := restoretest.DataDir(t)
	last, _ := restoretest.LastLogged(t, filepath.Join(dir, VersionDir))
	for z := int64(1); z <= last; z += 7 {
		opts := restoreOpts
		opts.ToZxid = z
		got, sum, err := RestoreTree(dir, opts)
		if err != nil {
			t.Fatalf("to %#x: %v", z, err)
		}
		if got.LastZxid() != z || sum.Snapshot.Zxid > z {
			t.Fatalf("to %#x: zxid %#x from %s", z, got.LastZxid(), sum.Snapshot.Name)
		}
		opts.Snapshot = "snapshot.0"
		want, _, err := RestoreTree(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		requireSameTree(t, got, want)
	}
	opts := restoreOpts
	opts.ToZxid = last + 1
	if _, _, err := RestoreTree(dir, opts); !errors.Is(err, ErrGap) {
		t.Fatalf("to beyond the logs: %v", err)
	}
}

// TestRestoreTornLastLog cuts the last log inside its last entry: that is
// the normal end of a log (a crash mid-write), as in Java.
func TestRestoreTornLastLog(t *testing.T) {
	dir := restoretest.DataDir(t)
	vdir := filepath.Join(dir, VersionDir)
	for _, s := range []string{"snapshot.0", "snapshot.f", "snapshot.1a", "snapshot.2d", "snapshot.3c", "snapshot.45.gz", "snapshot.49.snappy"} {
		if err := os.Remove(filepath.Join(vdir, s)); err != nil {
			t.Fatal(err)
		}
	}
	full, sum, err := RestoreTree(dir, restoreOpts)
	if err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(vdir, "log.46")
	offs := restoretest.EntryOffsets(t, last)
	b, err := os.ReadFile(last)
	if err == nil {
		err = os.WriteFile(last, b[:len(b)-3], 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, torn, err := RestoreTree(dir, restoreOpts)
	if err != nil {
		t.Fatal(err)
	}
	if torn.Zxid != full.LastZxid()-1 || torn.Txns != sum.Txns-1 || len(offs) < 2 || sum.Txns < 2 {
		t.Fatalf("torn: zxid %#x after %d txns; full %#x after %d", torn.Zxid, torn.Txns, full.LastZxid(), sum.Txns)
	}
}

// requireSameTree compares two trees' listings (nodes, stats, data, ACLs,
// sessions, zxid, digest).
func requireSameTree(t *testing.T, got, want *tree.DataTree) {
	t.Helper()
	if g, w := restoretest.Listing(t, got), restoretest.Listing(t, want); g != w {
		t.Fatalf("trees differ:\n%s\n--- want\n%s", g, w)
	}
}

// TestRestoreBadInput restores a good directory into an engine, then each
// damaged one: each fails with one line naming the file (and the byte
// offset, for damage inside a file), and the engine keeps the first
// restore's content.
func TestRestoreBadInput(t *testing.T) {
	eng := memory.New()
	if _, err := Restore(restoretest.DataDir(t), eng, restoreOpts); err != nil {
		t.Fatal(err)
	}
	before := restoretest.EngineListing(t, eng)
	for _, bad := range restoretest.Bads {
		t.Run(bad.Name, func(t *testing.T) {
			dir := restoretest.DataDir(t)
			file := bad.Make(t, filepath.Join(dir, VersionDir))
			_, err := Restore(dir, eng, restoreOpts)
			restoretest.CheckError(t, err, bad, file)
			if got := restoretest.EngineListing(t, eng); got != before {
				t.Fatalf("engine changed by a failed restore")
			}
		})
	}
}

// TestRestoreStreamsIntoEngine: the install fed while the snapshot loads,
// then corrected for what the logs changed (creates, deletes, sessions
// opened and closed, dead-session ephemerals), holds exactly the restored
// tree, from the newest snapshot and from the oldest (every txn replayed).
func TestRestoreStreamsIntoEngine(t *testing.T) {
	dir := restoretest.DataDir(t)
	for _, snap := range []string{"", "snapshot.0", "snapshot.1a"} {
		opts := restoreOpts
		opts.Snapshot = snap
		want, wsum, err := RestoreTree(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		for name, eng := range map[string]storage.Engine{"memory": memory.New(), "bolt": openBolt(t)} {
			sum, err := Restore(dir, eng, opts)
			if err != nil {
				t.Fatalf("%s from %q: %v", name, snap, err)
			}
			got, meta, err := persist.LoadTree(eng, opts.Tree)
			if err != nil {
				t.Fatal(err)
			}
			if meta.LastZxid != wsum.Zxid || sum.Digest != wsum.Digest {
				t.Fatalf("%s from %q: meta %+v summary %+v, want zxid %#x", name, snap, meta, sum, wsum.Zxid)
			}
			requireSameTree(t, got, want)
			var gs, ws map[int64]int32
			got.View(func(v tree.View) { gs = v.Sessions() })
			want.View(func(v tree.View) { ws = v.Sessions() })
			if !reflect.DeepEqual(gs, ws) {
				t.Fatalf("%s from %q: sessions %v, want %v", name, snap, gs, ws)
			}
			eng.Close()
		}
	}
}

func openBolt(t *testing.T) storage.Engine {
	e, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
