package observer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// TestRestoredObserverSyncsByDiff: a store seeded with `restore` from a
// copy of a follower's dataDir (taken while the follower was stopped)
// starts from that zxid, and the leader brings it up to date with a DIFF,
// not a SNAP; the observer then equals the leader.
func TestRestoredObserverSyncsByDiff(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{}}, Properties: map[string]string{"snapCount": "100"}})
	leader, err := e.WaitForLeader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := zktest.Connect(t, leader.ClientAddr, 10*time.Second, nil)
	write := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			if _, err := c.Create(fmt.Sprintf("/%s%03d", prefix, i), []byte(prefix), 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				t.Fatal(err)
			}
		}
	}
	write("before", 250) // several snapshots and logs at snapCount 100
	var follower *ensemble.Node
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant && n.ID != leader.ID {
			follower = n
			break
		}
	}
	if err := e.Stop(follower.ID); err != nil {
		t.Fatal(err)
	}
	copyDir := filepath.Join(t.TempDir(), "datadir")
	if err := os.CopyFS(copyDir, os.DirFS(follower.DataDir)); err != nil {
		t.Fatal(err)
	}
	if err := e.Restart(follower.ID); err != nil {
		t.Fatal(err)
	}
	write("after", 40) // behind the copy, within the leader's committed log

	eng, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() }) // after the observer stops (cleanups run last-in first-out)
	sum, err := snapshot.Restore(copyDir, eng, snapshot.RestoreOptions{Tree: tree.Options{ExtendedTypes: true}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Zxid == 0 || sum.Epochs.Current == 0 {
		t.Fatalf("restored %+v", sum)
	}
	o := startObserver(t, e, e.Extras()[0].ID, eng)
	rep := waitSynced(t, o, o.NextSync())
	if rep.Mode != learner.SyncDiff || rep.From != sum.Zxid || rep.Txns < 40 {
		t.Fatalf("first sync of the restored store: %+v (restored zxid %#x)", rep, sum.Zxid)
	}
	zxid := quiesceZxid(t, leader)
	waitZxid(t, o, zxid)
	if got, want := o.Tree().Digest(), logDigest(t, leader, zxid); got != want {
		t.Errorf("digest at %#x: ours %d, leader's %d", zxid, got, want)
	}
}
