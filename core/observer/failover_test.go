package observer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// TestLeaderKilled: the leader dies (SIGKILL) while the observer follows
// it; the observer finds the newly elected leader, resyncs by DIFF, and
// matches it: zxid, digest and client view.
func TestLeaderKilled(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{}}})
	sid := e.Extras()[0].ID
	o := startObserver(t, e, sid, memory.New())
	waitSynced(t, o, o.NextSync())
	old, err := e.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	writeSome(t, e, "/before", 50)
	waitZxid(t, o, serverZxid(t, e, old.ID))

	resynced := o.NextSync()
	if err := e.Kill(old.ID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := waitSynced(t, o, resynced)
	if rep.Leader.SID != int64(leader.ID) || o.Leader() != int64(leader.ID) {
		t.Fatalf("observer synced with %d (following %d), new leader is %d", rep.Leader.SID, o.Leader(), leader.ID)
	}
	if rep.Mode != learner.SyncDiff || rep.From == 0 {
		t.Errorf("resync after failover: %+v, want a DIFF from the observer's zxid", rep)
	}
	if rep.Epoch <= int64(uint64(rep.From)>>32) {
		t.Errorf("new leader's epoch %d, observer's zxid %#x: want a later epoch", rep.Epoch, rep.From)
	}

	writeSome(t, e, "/after", 50)
	zxid := quiesceZxid(t, leader)
	waitZxid(t, o, zxid)
	if got, want := o.Tree().Digest(), logDigest(t, leader, zxid); got != want {
		t.Errorf("digest at %#x: ours %d, new leader's %d", zxid, got, want)
	}
	if !zktest.SameTree(t, sid, zktest.TreeAsClientSees(o.Tree()), zktest.ReadTree(t, leader.ClientAddr)) {
		t.Error("trees differ")
	}
	m := o.Metrics().Snapshot()
	if m.DigestMismatches != 0 || m.SnapCount != 1 || m.DiffCount != 1 || m.State != Observing {
		t.Errorf("metrics %+v", m)
	}
	t.Logf("old leader %d, new leader %d; resync %+v", old.ID, leader.ID, rep)
}

// writeSome creates n znodes under base through a running Java server.
func writeSome(t *testing.T, e *ensemble.Ensemble, base string, n int) {
	t.Helper()
	c := zktest.Connect(t, e.ClientAddrs()[0], 10*time.Second, nil)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create(base, nil, 0, acl); err != nil {
		t.Fatalf("create %s: %v", base, err)
	}
	for i := 0; i < n; i++ {
		if _, err := c.Create(fmt.Sprintf("%s/n%d", base, i), []byte(base), 0, acl); err != nil {
			t.Fatalf("create under %s: %v", base, err)
		}
	}
	c.Close()
}
