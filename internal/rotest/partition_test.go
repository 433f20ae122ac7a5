package rotest

import (
	"fmt"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// TestPartition is issue 7's acceptance 3: only the observer is cut off
// from the ensemble (a black-hole proxy in front of every voter's quorum
// port) while the ensemble keeps writing. Reads go on from the stale tree;
// on heal the observer syncs by DIFF and every watch set during the
// partition fires once, in zxid order; no read ever sees a state older than
// one its client already saw.
func TestPartition(t *testing.T) {
	e := startEnsemble(t)
	proxies := map[int]string{}
	var ps []*proxy
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			p := startProxy(t, n.QuorumAddr)
			ps = append(ps, p)
			proxies[n.ID] = p.addr()
		}
	}
	z := startObserver(t, voters(e, proxies), 22)
	w := writer(t, e.Node(javaIDs(e)[0]).ClientAddr)
	const nodes = 10
	var paths []string
	must(t, create(w, "/p", ""), "create /p")
	for i := range nodes {
		p := fmt.Sprintf("/p/w%d", i)
		must(t, create(w, p, "v0"), "create "+p)
		paths = append(paths, p)
	}
	k := startKazoo(t)
	const readers = 4
	for i := range readers {
		k.mustOK(map[string]any{"cmd": "open", "name": fmt.Sprintf("r%d", i), "hosts": z.addr, "read_only": true, "paths": paths}, 30*time.Second)
	}
	raw := dialReadOnly(t, z.addr)

	for _, p := range ps {
		p.partition()
	}
	if st := raw.waitState(1, 30*time.Second); st != proto.StateConnectedReadOnly {
		t.Fatalf("first state event %d, want ConnectedReadOnly", st)
	}
	cutZxid := z.o.Tree().LastZxid()
	// Watches set during the partition, by two of the readers.
	watchers := []string{"r0", "r1"}
	for _, name := range watchers {
		for _, p := range paths {
			k.mustOK(map[string]any{"cmd": "watch", "name": name, "path": p}, 10*time.Second)
		}
	}
	// The ensemble writes on: every watched node in order, and more.
	var order []string
	for _, p := range paths {
		if _, err := w.Set(p, []byte("v1"), -1); err != nil {
			t.Fatal(err)
		}
		order = append(order, p)
	}
	for i := range 50 {
		must(t, create(w, fmt.Sprintf("/p/more%d", i), "x"), "create")
	}
	// Reads go on from the stale tree.
	if m := k.mustOK(map[string]any{"cmd": "get", "name": "r2", "path": paths[0]}, 10*time.Second); m["data"] != "v0" {
		t.Fatalf("read during the partition: %v, want the stale v0", m)
	}
	if got := z.o.Tree().LastZxid(); got != cutZxid {
		t.Fatalf("tree moved from %#x to %#x during the partition", cutZxid, got)
	}
	if evs := k.events(); len(evs) != 0 {
		t.Fatalf("watch events during the partition: %v", evs)
	}

	for _, p := range ps {
		p.heal()
	}
	if st := raw.waitState(2, 60*time.Second); st != proto.StateSyncConnected {
		t.Fatalf("second state event %d, want SyncConnected", st)
	}
	if rep := z.o.LastSync(); rep.Mode != learner.SyncDiff {
		t.Fatalf("resync after the partition was %v, want DIFF (%+v)", rep.Mode, rep)
	}
	evs := k.waitEvents(len(watchers)*nodes, 30*time.Second)
	for _, name := range watchers {
		var got []string
		for _, ev := range evs {
			if ev.Name == name {
				if ev.Type != "CHANGED" {
					t.Fatalf("event %+v", ev)
				}
				got = append(got, ev.Path)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(order) {
			t.Fatalf("%s's watch events %v, want each path once in zxid order %v", name, got, order)
		}
	}
	if m := k.mustOK(map[string]any{"cmd": "get", "name": "r2", "path": paths[0]}, 10*time.Second); m["data"] != "v1" {
		t.Fatalf("read after the heal: %v, want v1", m)
	}
	for i := range readers {
		c := infoOf(k.mustOK(map[string]any{"cmd": "info", "name": fmt.Sprintf("r%d", i)}, 10*time.Second))
		if c.Failed != 0 || len(c.Regress) != 0 || len(c.States) != 0 || c.OK == 0 {
			t.Errorf("reader r%d: %v", i, c)
		}
	}
	if evs := k.events(); len(evs) != len(watchers)*nodes {
		t.Fatalf("%d watch events, want %d (once each): %v", len(evs), len(watchers)*nodes, evs)
	}
}
