package storagetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
)

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, h) })
	t.Run("CommitLoad", func(t *testing.T) { testCommitLoad(t, h) })
	t.Run("StaleZxid", func(t *testing.T) { testStaleZxid(t, h) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, h) })
	t.Run("Install", func(t *testing.T) { testInstall(t, h) })
	t.Run("InstallDeletes", func(t *testing.T) { testInstallDeletes(t, h) })
	t.Run("InstallInterrupted", func(t *testing.T) { testInstallInterrupted(t, h) })
	t.Run("Reset", func(t *testing.T) { testReset(t, h) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, h) })
	if h.Durable {
		t.Run("ForeignDir", func(t *testing.T) { testForeignDir(t, h) })
		t.Run("Corruption", func(t *testing.T) { testCorruption(t, h) })
	}
}

func open(t *testing.T, h Harness, dir string) storage.Engine {
	t.Helper()
	e, err := h.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// reopen restarts e: close and open again, or the harness's simulation.
func reopen(t *testing.T, h Harness, e storage.Engine, dir string) storage.Engine {
	t.Helper()
	if h.Reopen != nil {
		return h.Reopen(e)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return open(t, h, dir)
}

func mustState(t *testing.T, e storage.Engine) *State {
	t.Helper()
	st, err := ReadState(e)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return st
}

func expect(t *testing.T, e storage.Engine, m *Model) {
	t.Helper()
	if d := Diff(mustState(t, e), m.State()); d != "" {
		t.Fatalf("engine state differs from the model:\n%s", d)
	}
}

// commitN commits n generated batches to e and m, with sync every other one.
func commitN(t *testing.T, e storage.Engine, m *Model, g *Gen, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := g.Next()
		m.Apply(b)
		if err := e.Commit(b, i%2 == 0); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
}

func testEmpty(t *testing.T, h Harness) {
	e := open(t, h, Dir(t))
	expect(t, e, NewModel())
	if _, err := e.Get("/nothing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
}

func testCommitLoad(t *testing.T, h Harness) {
	e := open(t, h, Dir(t))
	m := NewModel()
	// The edge cases first: root, null vs empty data, null strings in ACLs.
	b := &storage.Batch{LastZxid: 5, Epochs: &storage.Epochs{Accepted: 3, Current: 2}, Puts: []*storage.Node{
		{Path: "", Data: []byte{}}, // the null ACL list of the built-in nodes
		{Path: "/open", Data: []byte("o"), ACL: proto.OpenACLUnsafe},
		{Path: "/noacl", Data: []byte("o"), ACL: []proto.ACL{}},
		{Path: "/null", ACL: acls[4]},
		{Path: "/empty", Data: []byte{}, ACL: acls[3], Stat: proto.StatPersisted{Czxid: -1, EphemeralOwner: -1 << 63}},
	}, Sessions: []storage.Session{{ID: -5, Timeout: 30000}}}
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	expect(t, e, m)
	for _, p := range []string{"/", "/null", "/empty"} {
		n, err := e.Get(p)
		if err != nil || n.Path != p {
			t.Fatalf("get %s: %+v %v", p, n, err)
		}
	}
	if n, _ := e.Get("/null"); n.Data != nil {
		t.Fatal("null data came back non-null")
	}
	if n, _ := e.Get("/empty"); n.Data == nil {
		t.Fatal("empty data came back null")
	}
	commitN(t, e, m, NewGen(1), 300)
	expect(t, e, m)
	// An empty batch moves the zxid only.
	b = &storage.Batch{LastZxid: m.Meta.LastZxid + 10}
	m.Apply(b)
	if err := e.Commit(b, false); err != nil {
		t.Fatal(err)
	}
	expect(t, e, m)
}

func testStaleZxid(t *testing.T, h Harness) {
	e := open(t, h, Dir(t))
	m := NewModel()
	commitN(t, e, m, NewGen(2), 10)
	err := e.Commit(&storage.Batch{LastZxid: m.Meta.LastZxid - 1, Deletes: []string{"/p0"}}, true)
	if !errors.Is(err, storage.ErrStaleZxid) {
		t.Fatalf("stale commit: %v", err)
	}
	expect(t, e, m)
}

func testReopen(t *testing.T, h Harness) {
	dir := Dir(t)
	e := open(t, h, dir)
	m := NewModel()
	g := NewGen(3)
	commitN(t, e, m, g, 100)
	// The last commit synced, so everything survives.
	b := g.Next()
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	e = reopen(t, h, e, dir)
	expect(t, e, m)
	commitN(t, e, m, g, 50)
	b = g.Next()
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	e = reopen(t, h, e, dir)
	expect(t, e, m)
}

// installState stages the content of m2 into e.
func installState(t *testing.T, in storage.Installer, m2 *Model) {
	t.Helper()
	var c storage.Node // one value reused for every Put: engines must not keep it
	for _, n := range m2.State().Nodes {
		c = *n
		if err := in.Put(&c); err != nil {
			t.Fatal(err)
		}
	}
	for id, to := range m2.Sessions {
		if err := in.PutSession(storage.Session{ID: id, Timeout: to}); err != nil {
			t.Fatal(err)
		}
	}
}

func testInstall(t *testing.T, h Harness) {
	dir := Dir(t)
	e := open(t, h, dir)
	old := NewModel()
	commitN(t, e, old, NewGen(4), 50)
	next := NewModel()
	commitModel(next, NewGen(5), 80)
	next.Meta = storage.Meta{LastZxid: 0x500000000, AcceptedEpoch: 5, CurrentEpoch: 5}

	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(&storage.Batch{LastZxid: old.Meta.LastZxid + 1}, true); !errors.Is(err, storage.ErrInstallActive) {
		t.Fatalf("commit during install: %v", err)
	}
	installState(t, in, next)
	expect(t, e, old) // nothing visible before the switch
	if err := in.Commit(next.Meta); err != nil {
		t.Fatal(err)
	}
	expect(t, e, next)
	e = reopen(t, h, e, dir)
	expect(t, e, next)

	// Abort keeps the old state; commits work again afterwards.
	in, err = e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	installState(t, in, old)
	if err := in.Abort(); err != nil {
		t.Fatal(err)
	}
	expect(t, e, next)
	commitN(t, e, next, NewGen(6).From(next.Meta.LastZxid), 5)
	expect(t, e, next)
}

// testInstallDeletes: within an install the last Put or Delete of a path
// (or session) wins, whatever the order, and deleting what was never put
// is no error.
func testInstallDeletes(t *testing.T, h Harness) {
	dir := Dir(t)
	e := open(t, h, dir)
	next := NewModel()
	commitModel(next, NewGen(9), 60)
	next.Meta = storage.Meta{LastZxid: 0x900000000, AcceptedEpoch: 9, CurrentEpoch: 9}
	extra := NewModel()
	commitModel(extra, NewGen(10), 40) // other paths and sessions
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	installState(t, in, extra)
	installState(t, in, next)
	for p := range extra.Nodes {
		if _, keep := next.Nodes[p]; keep {
			continue
		}
		if err := in.Delete(p); err != nil {
			t.Fatal(err)
		}
	}
	for id := range extra.Sessions {
		if _, keep := next.Sessions[id]; !keep {
			if err := in.DeleteSession(id); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Delete then put again: the put wins; deleting the unknown is fine.
	for _, n := range next.State().Nodes {
		if err := in.Delete(n.Path); err != nil {
			t.Fatal(err)
		}
		c := *n
		if err := in.Put(&c); err != nil {
			t.Fatal(err)
		}
		break
	}
	if err := in.Delete("/never/put"); err != nil {
		t.Fatal(err)
	}
	if err := in.DeleteSession(0x7fffffff0001); err != nil {
		t.Fatal(err)
	}
	if err := in.Commit(next.Meta); err != nil {
		t.Fatal(err)
	}
	expect(t, e, next)
	e = reopen(t, h, e, dir)
	expect(t, e, next)
}

// commitModel applies n generated batches to a model only.
func commitModel(m *Model, g *Gen, n int) {
	for i := 0; i < n; i++ {
		m.Apply(g.Next())
	}
}

// testInstallInterrupted restarts the engine at every step of an install;
// it must come back with the old state, the new state, or empty and flagged
// NeedsResync, never a mix.
func testInstallInterrupted(t *testing.T, h Harness) {
	next := NewModel()
	commitModel(next, NewGen(8), 40)
	next.Meta = storage.Meta{LastZxid: 0x700000000, AcceptedEpoch: 7, CurrentEpoch: 7}
	total := len(next.Nodes)
	for _, cut := range []int{0, 1, total / 2, total, -1} { // -1: after Commit
		dir := Dir(t)
		e := open(t, h, dir)
		old := NewModel()
		commitN(t, e, old, NewGen(7), 30)
		b := &storage.Batch{LastZxid: old.Meta.LastZxid + 1}
		old.Apply(b)
		if err := e.Commit(b, true); err != nil {
			t.Fatal(err)
		}
		in, err := e.BeginInstall()
		if err != nil {
			t.Fatal(err)
		}
		nodes := next.State().Nodes
		n := cut
		if cut < 0 {
			n = len(nodes)
		}
		for _, node := range nodes[:n] {
			c := *node
			if err := in.Put(&c); err != nil {
				t.Fatal(err)
			}
		}
		want := old
		if cut < 0 {
			installState(t, in, next)
			if err := in.Commit(next.Meta); err != nil {
				t.Fatal(err)
			}
			want = next
		}
		e = reopen(t, h, e, dir)
		st := mustState(t, e)
		switch {
		case Diff(st, want.State()) == "":
		case st.Meta.NeedsResync && len(st.Nodes) == 0 && len(st.Sessions) == 0 && st.Meta.LastZxid == 0:
		default:
			t.Fatalf("install cut after %d of %d puts: reopened state is neither old, new nor empty+resync:\n%s", cut, total, Diff(st, want.State()))
		}
	}
}

func testReset(t *testing.T, h Harness) {
	dir := Dir(t)
	e := open(t, h, dir)
	m := NewModel()
	commitN(t, e, m, NewGen(9), 40)
	b := &storage.Batch{LastZxid: m.Meta.LastZxid + 1, Epochs: &storage.Epochs{Accepted: 9, Current: 8}}
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	want := NewModel()
	want.Meta = storage.Meta{AcceptedEpoch: 9, CurrentEpoch: 8}
	expect(t, e, want)
	e = reopen(t, h, e, dir)
	expect(t, e, want)
	commitN(t, e, want, NewGen(10), 5)
	expect(t, e, want)
}

func testClosed(t *testing.T, h Harness) {
	e, err := h.Open(Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(&storage.Batch{LastZxid: 1}, true); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("commit after close: %v", err)
	}
	if _, err := e.Meta(); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("meta after close: %v", err)
	}
}

// testForeignDir: a directory with someone else's files is refused and left
// untouched.
func testForeignDir(t *testing.T, h Harness) {
	dir := Dir(t)
	stranger := filepath.Join(dir, "snapshot.1a")
	if err := os.WriteFile(stranger, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := h.Open(dir)
	if err == nil {
		e.Close()
		t.Fatal("opened a directory holding a foreign file")
	}
	if !errors.Is(err, storage.ErrForeign) {
		t.Fatalf("want ErrForeign, got %v", err)
	}
	if b, err := os.ReadFile(stranger); err != nil || string(b) != "not ours" {
		t.Fatalf("foreign file changed: %q %v", b, err)
	}
}
