package pebble

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/storagetest"
)

// TestCrashClone takes crash images of Pebble's crashable in-memory
// filesystem (everything synced, plus none, half or all of what was not)
// between commits and at every step of installs and resets, and requires
// each to reopen at a whole committed state: for commits, the state after
// some batch no older than the last synced one; during an install or a
// reset, the old state or the new one.
func TestCrashClone(t *testing.T) {
	fs := vfs.NewCrashableMem()
	const dir = "/data"
	e, err := Open(dir, Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(22, 0))
	images := 0
	// check opens a crash image taken now; ok says which states it may hold.
	check := func(what string, ok func(st *storagetest.State) string) {
		t.Helper()
		images++
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50 * rng.IntN(3), RNG: rng})
		c, err := Open(dir, Options{FS: clone})
		if err != nil {
			t.Fatalf("%s: reopen: %v", what, err)
		}
		st, err := storagetest.ReadState(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: load: %v", what, err)
		}
		if d := ok(st); d != "" {
			t.Fatalf("%s: crash image at zxid %#x:\n%s", what, st.Meta.LastZxid, d)
		}
	}
	oneOf := func(states ...*storagetest.State) func(*storagetest.State) string {
		return func(st *storagetest.State) string {
			d := ""
			for _, want := range states {
				if d = storagetest.Diff(st, want); d == "" {
					return ""
				}
			}
			return d
		}
	}

	// Commits, every third synced.
	m := storagetest.NewModel()
	g := storagetest.NewGen(21)
	byZxid := map[int64]*storagetest.State{0: m.State()}
	var synced int64
	sinceSynced := func(st *storagetest.State) string {
		want, ok := byZxid[st.Meta.LastZxid]
		switch {
		case st.Meta.LastZxid < synced:
			return fmt.Sprintf("older than the last synced commit %#x", synced)
		case !ok:
			return "no batch ends at that zxid"
		}
		return storagetest.Diff(st, want)
	}
	commit := func(n int) {
		for i := 0; i < n; i++ {
			b := g.Next()
			m.Apply(b)
			sync := i%3 == 2
			if err := e.Commit(b, sync); err != nil {
				t.Fatal(err)
			}
			byZxid[b.LastZxid] = m.State()
			if sync {
				synced = b.LastZxid
			}
			if i%5 == 0 {
				check(fmt.Sprintf("commit %d", i), sinceSynced)
			}
		}
		b := &storage.Batch{LastZxid: m.Meta.LastZxid + 1}
		m.Apply(b)
		if err := e.Commit(b, true); err != nil {
			t.Fatal(err)
		}
		synced = b.LastZxid
		byZxid[b.LastZxid] = m.State()
	}
	commit(150)

	// An install: the old state until the flip, the new one from then on.
	old := m.State()
	next := storagetest.NewModel()
	ng := storagetest.NewGen(23)
	for i := 0; i < 120; i++ {
		next.Apply(ng.Next())
	}
	next.Meta = storage.Meta{LastZxid: m.Meta.LastZxid + 1000, AcceptedEpoch: 9, CurrentEpoch: 9}
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	nodes := next.State().Nodes
	for i, n := range nodes {
		c := *n
		if err := in.Put(&c); err != nil {
			t.Fatal(err)
		}
		if i == len(nodes)/2 {
			check("install, half staged", oneOf(old))
		}
	}
	for id, to := range next.Sessions {
		if err := in.PutSession(storage.Session{ID: id, Timeout: to}); err != nil {
			t.Fatal(err)
		}
	}
	e.hook = func(step string) { check("install, "+step, oneOf(old, next.State())) }
	if err := in.Commit(next.Meta); err != nil {
		t.Fatal(err)
	}
	e.hook = nil
	check("install done", oneOf(next.State()))

	// Commits on the new generation.
	m, g = next, ng
	byZxid = map[int64]*storagetest.State{m.Meta.LastZxid: m.State()}
	synced = m.Meta.LastZxid
	g.From(m.Meta.LastZxid)
	commit(30)

	// An aborted install changes nothing.
	cur := m.State()
	in, err = e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Put(&storage.Node{Path: "/staged", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	check("install staged", oneOf(cur))
	if err := in.Abort(); err != nil {
		t.Fatal(err)
	}
	check("install aborted", oneOf(cur))

	// A reset: the old state or the empty one with the epochs.
	empty := storagetest.NewModel()
	empty.Meta = storage.Meta{AcceptedEpoch: m.Meta.AcceptedEpoch, CurrentEpoch: m.Meta.CurrentEpoch}
	e.hook = func(step string) { check("reset, "+step, oneOf(cur, empty.State())) }
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	e.hook = nil
	check("reset done", oneOf(empty.State()))
	t.Logf("%d crash images reopened", images)
}
