package rotest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/proto"
)

// TestForcedSnapAfterOutage is issue 7's acceptance 4: the quorum comes
// back with leaders that force a SNAP (-Dzookeeper.forceSnapshotSync=true).
// A SNAP replaces the tree, so no watch could be fired correctly: every
// connection, the read-only ones included, is dropped, and the clients
// reconnect and see the new tree.
func TestForcedSnapAfterOutage(t *testing.T) {
	e := startEnsemble(t)
	z := startObserver(t, voters(e, nil), 23)
	ids := javaIDs(e)
	w := writer(t, e.Node(ids[0]).ClientAddr)
	must(t, create(w, "/s", "old"), "create /s")
	k := startKazoo(t)
	const readers = 3
	for i := range readers {
		k.mustOK(map[string]any{"cmd": "open", "name": fmt.Sprintf("r%d", i), "hosts": z.addr, "read_only": true, "paths": []string{"/s"}}, 30*time.Second)
	}
	raw := dialReadOnly(t, z.addr)
	for _, id := range ids {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	if st := raw.waitState(1, 30*time.Second); st != proto.StateConnectedReadOnly {
		t.Fatalf("first state event %d, want ConnectedReadOnly", st)
	}
	synced := z.o.NextSync()
	for _, id := range ids {
		if err := e.Restart(id, "-Dzookeeper.forceSnapshotSync=true"); err != nil {
			t.Fatal(err)
		}
	}
	// A new session: a server admits one only once it serves, i.e. with
	// the quorum back (the old one may have given up on its only server).
	if _, err := writer(t, e.Node(ids[0]).ClientAddr).Set("/s", []byte("new"), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-synced:
	case <-time.After(60 * time.Second):
		t.Fatal("observer not synced after the quorum came back")
	}
	if rep := z.o.LastSync(); rep.Mode != learner.SyncSnap {
		t.Fatalf("resync was %v, want the forced SNAP", rep.Mode)
	}
	// The read-only connection was dropped, not told SyncConnected.
	select {
	case _, open := <-raw.reps:
		if open {
			t.Fatal("a reply on the raw connection after the SNAP")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the raw read-only connection survived the SNAP")
	}
	if got := raw.statesSeen(); !slices.Equal(got, []int32{proto.StateConnectedReadOnly}) {
		t.Fatalf("state events %v, want only ConnectedReadOnly", got)
	}
	for i := range readers {
		name := fmt.Sprintf("r%d", i)
		k.mustOK(map[string]any{"cmd": "wait_reconnect", "name": name, "timeout": 60}, 70*time.Second)
		m := k.mustOK(map[string]any{"cmd": "get", "name": name, "path": "/s"}, 30*time.Second)
		if m["data"] != "new" {
			t.Fatalf("%s reads %v after the SNAP, want the new tree", name, m)
		}
		if c := infoOf(k.mustOK(map[string]any{"cmd": "info", "name": name}, 10*time.Second)); len(c.Regress) != 0 {
			t.Fatalf("%s: %v", name, c)
		}
	}
}
