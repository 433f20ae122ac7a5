package pebble

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/storagetest"
)

var harness = storagetest.Harness{
	Open: func(dir string) (storage.Engine, error) {
		e, err := Open(dir, Options{})
		if err != nil {
			return nil, err // not a nil *Engine in a non-nil interface
		}
		return e, nil
	},
	Durable: true,
}

func TestConformance(t *testing.T) { storagetest.Run(t, harness) }

func TestCrash(t *testing.T) {
	storagetest.RunCrash(t, harness, "TestCrash", storagetest.CrashOptions{Kills: 20})
}

func mustOpen(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// commitModel commits n generated batches (synced) to e and m.
func commitModel(t *testing.T, e *Engine, m *storagetest.Model, g *storagetest.Gen, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := g.Next()
		m.Apply(b)
		if err := e.Commit(b, true); err != nil {
			t.Fatal(err)
		}
	}
}

func expectState(t *testing.T, e storage.Engine, m *storagetest.Model) {
	t.Helper()
	st, err := storagetest.ReadState(e)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if d := storagetest.Diff(st, m.State()); d != "" {
		t.Fatalf("state differs:\n%s", d)
	}
}

// entries lists dir's names, sorted.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	sort.Strings(names)
	return names
}

func expectEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	if got := entries(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, want)
	}
}

// installModel installs m's content into e with m's meta.
func installModel(t *testing.T, e *Engine, m *storagetest.Model) storage.Installer {
	t.Helper()
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.State().Nodes {
		c := *n
		if err := in.Put(&c); err != nil {
			t.Fatal(err)
		}
	}
	for id, to := range m.Sessions {
		if err := in.PutSession(storage.Session{ID: id, Timeout: to}); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// TestGenerations: a fresh store is generation 1; an install and a reset
// each switch to the next generation and remove the old one; CURRENT names
// the live one.
func TestGenerations(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000001")
	old := storagetest.NewModel()
	commitModel(t, e, old, storagetest.NewGen(1), 30)

	next := storagetest.NewModel()
	g := storagetest.NewGen(2)
	for i := 0; i < 40; i++ {
		next.Apply(g.Next())
	}
	next.Meta = storage.Meta{LastZxid: 0x300000000, AcceptedEpoch: 3, CurrentEpoch: 3}
	in := installModel(t, e, next)
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000001", "gen-000002") // staged
	expectState(t, e, old)
	if err := in.Commit(next.Meta); err != nil {
		t.Fatal(err)
	}
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000002")
	if b, _ := os.ReadFile(filepath.Join(dir, "CURRENT")); !strings.HasPrefix(string(b), "gen-000002 ") {
		t.Fatalf("CURRENT holds %q", b)
	}
	expectState(t, e, next)
	// Commits go to the new generation.
	commitModel(t, e, next, storagetest.NewGen(3).From(next.Meta.LastZxid), 10)

	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000003")
	empty := storagetest.NewModel()
	empty.Meta = storage.Meta{AcceptedEpoch: next.Meta.AcceptedEpoch, CurrentEpoch: next.Meta.CurrentEpoch}
	expectState(t, e, empty)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = mustOpen(t, dir)
	expectState(t, e, empty)

	// Abort removes the staged generation.
	in = installModel(t, e, next)
	if err := in.Abort(); err != nil {
		t.Fatal(err)
	}
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000003")
	if err := in.Put(&storage.Node{Path: "/late"}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("put after abort: %v", err)
	}
	// Close drops a staged install too.
	installModel(t, e, next)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000003")
}

// copyDir copies the regular files and directories of src to dst: the
// image a crash at this moment would leave (synced or not alike).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedSwitch opens images of a store taken at each step of an
// install: staging under way, CURRENT.tmp written but not renamed, CURRENT
// flipped but the old generation not yet removed. Each reopens at the old
// or the new state, with the leftovers removed.
func TestInterruptedSwitch(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "live")
	e := mustOpen(t, dir)
	old := storagetest.NewModel()
	commitModel(t, e, old, storagetest.NewGen(4), 30)
	next := storagetest.NewModel()
	g := storagetest.NewGen(5)
	for i := 0; i < 30; i++ {
		next.Apply(g.Next())
	}
	next.Meta = storage.Meta{LastZxid: 0x500000000, AcceptedEpoch: 5, CurrentEpoch: 5}

	in := installModel(t, e, next)
	staging := filepath.Join(root, "staging")
	copyDir(t, dir, staging)
	// The flip's temporary file, written but not renamed.
	tmp := filepath.Join(root, "tmp")
	copyDir(t, dir, tmp)
	if err := os.WriteFile(filepath.Join(tmp, "CURRENT.tmp"), currentContent(2), 0o644); err != nil {
		t.Fatal(err)
	}
	oldGen := filepath.Join(root, "oldgen")
	copyDir(t, filepath.Join(dir, "gen-000001"), oldGen)
	if err := in.Commit(next.Meta); err != nil {
		t.Fatal(err)
	}
	// Flipped, the old generation still there.
	flipped := filepath.Join(root, "flipped")
	copyDir(t, dir, flipped)
	copyDir(t, oldGen, filepath.Join(flipped, "gen-000001"))
	e.Close()

	for _, c := range []struct {
		dir  string
		want *storagetest.Model
		gen  string
	}{{staging, old, "gen-000001"}, {tmp, old, "gen-000001"}, {flipped, next, "gen-000002"}} {
		e := mustOpen(t, c.dir)
		expectState(t, e, c.want)
		expectEntries(t, c.dir, "CURRENT", "LOCK", c.gen)
		e.Close()
	}
}

// TestFreshLeftovers: a first Open that crashed before writing CURRENT
// left a generation behind; the next Open starts a fresh store.
func TestFreshLeftovers(t *testing.T) {
	dir := storagetest.Dir(t)
	if err := os.MkdirAll(filepath.Join(dir, "gen-000001"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gen-000001", "000001.log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := mustOpen(t, dir)
	expectState(t, e, storagetest.NewModel())
	expectEntries(t, dir, "CURRENT", "LOCK", "gen-000001")
}

// TestForeign: anything but the engine's own names is refused, untouched.
func TestForeign(t *testing.T) {
	for _, name := range []string{"zkobserver.bolt", "snapshot.1a", "gen-1", "MANIFEST-000001", "gen-000002"} {
		dir := storagetest.Dir(t)
		if name == "gen-000002" { // a generation's name, but a file
			os.WriteFile(filepath.Join(dir, "CURRENT"), currentContent(2), 0o644)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("not ours"), 0o644); err != nil {
			t.Fatal(err)
		}
		before := entries(t, dir)
		e, err := Open(dir, Options{})
		if err == nil {
			e.Close()
			t.Fatalf("%s: opened", name)
		}
		if !errors.Is(err, storage.ErrForeign) || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: %v", name, err)
		}
		if after := entries(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Fatalf("%s: directory changed: %v -> %v", name, before, after)
		}
	}
}

// TestCorruptCurrent: a CURRENT that does not check out, or names a
// missing generation, is corruption, and nothing is removed.
func TestCorruptCurrent(t *testing.T) {
	for _, content := range []string{"gen-000001 00000000\n", "gen-0000", "", "gen-000009 " + strings.TrimPrefix(string(currentContent(9)), "gen-000009 ")} {
		dir := storagetest.Dir(t)
		e := mustOpen(t, dir)
		commitModel(t, e, storagetest.NewModel(), storagetest.NewGen(6), 5)
		e.Close()
		if err := os.WriteFile(filepath.Join(dir, "CURRENT"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, Options{})
		if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), filepath.Join(dir, "CURRENT")) {
			t.Fatalf("CURRENT %q: %v", content, err)
		}
		expectEntries(t, dir, "CURRENT", "LOCK", "gen-000001")
	}
}

// TestCorruptValue: a value whose CRC fails is reported by Get and Load as
// corruption naming the store, never returned.
func TestCorruptValue(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	m := storagetest.NewModel()
	commitModel(t, e, m, storagetest.NewGen(7), 20)
	e.Close()
	// Damage one node's value behind the engine's back.
	db, err := pebble.Open(filepath.Join(dir, "gen-000001"), &pebble.Options{ErrorIfNotExists: true, FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for p := range m.Nodes {
		path = p
		break
	}
	v := storage.AppendNodeValue(nil, m.Nodes[path])
	v[len(v)/2] ^= 1
	if err := db.Set(appendNodeKey(nil, path), v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e = mustOpen(t, dir)
	if _, err := e.Get(path); !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("get: %v", err)
	}
	if _, err := storagetest.ReadState(e); !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("load: %v", err)
	}
}

// TestLockSameProcess: a second Open of an open store fails with
// ErrLocked; after Close it succeeds.
func TestLockSameProcess(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	e.Close()
	mustOpen(t, dir)
}

const envLockChild = "PEBBLE_TEST_LOCK_DIR"

// TestLockOtherProcess: a store held by another process gives ErrLocked,
// and opens once that process is gone.
func TestLockOtherProcess(t *testing.T) {
	if dir := os.Getenv(envLockChild); dir != "" {
		// The child: hold the store until stdin closes.
		e, err := Open(dir, Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("open")
		io.Copy(io.Discard, os.Stdin)
		e.Close()
		os.Exit(0)
	}
	dir := storagetest.Dir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOtherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envLockChild+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "open\n" {
		t.Fatalf("child said %q", line)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("open while another process holds the store: %v", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir)
}

// TestCheckpoint: a checkpoint is a store of this engine holding the
// committed state.
func TestCheckpoint(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	m := storagetest.NewModel()
	g := storagetest.NewGen(8)
	commitModel(t, e, m, g, 50)
	b := g.Next() // unsynced, but committed: in the checkpoint
	m.Apply(b)
	if err := e.Commit(b, false); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "cp")
	if err := e.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	if err := e.Checkpoint(cp); err == nil {
		t.Fatal("checkpoint into a non-empty directory")
	}
	commitModel(t, e, storagetest.NewModel(), g, 5) // not in the checkpoint
	c := mustOpen(t, cp)
	expectState(t, c, m)
}

// TestCompact: overwritten and deleted values are dropped by Compact.
func TestCompact(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	data := make([]byte, 1000)
	zxid := int64(0)
	for round := 0; round < 20; round++ {
		b := &storage.Batch{}
		for i := 0; i < 500; i++ {
			zxid++
			b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/n%d", i), Data: data, ACL: proto.OpenACLUnsafe})
		}
		b.LastZxid = zxid
		if err := e.Commit(b, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	e.Close() // obsolete files are deleted by then
	e = mustOpen(t, dir)
	du, err := e.DiskBytes()
	if err != nil {
		t.Fatal(err)
	}
	// 500 live nodes of ~1.1 KB; 20 times that was written. Generous: WAL
	// files are kept for reuse.
	if du > 4<<20 {
		t.Fatalf("%d bytes on disk after compaction", du)
	}
	t.Logf("%d bytes on disk for 500 nodes of 1000 B", du)
}

// TestConcurrentGet: Get runs alongside commits, installs and resets (run
// with -race).
func TestConcurrentGet(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir)
	m := storagetest.NewModel()
	g := storagetest.NewGen(9)
	commitModel(t, e, m, g, 20)
	var paths []string
	for p := range m.Nodes {
		paths = append(paths, p)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n, err := e.Get(paths[i%len(paths)])
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("get: %v", err)
					return
				}
				if err == nil && n.Path != paths[i%len(paths)] {
					t.Errorf("get %s: %s", paths[i%len(paths)], n.Path)
					return
				}
				if _, err := e.Meta(); err != nil {
					t.Errorf("meta: %v", err)
					return
				}
			}
		}()
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 20; i++ {
			b := g.Next()
			m.Apply(b)
			if err := e.Commit(b, i%4 == 0); err != nil {
				t.Fatal(err)
			}
		}
		m.Meta.LastZxid++
		in := installModel(t, e, m)
		if err := in.Commit(m.Meta); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}

// TestLoadStops: a visitor's error ends Load and is returned as is.
func TestLoadStops(t *testing.T) {
	e := mustOpen(t, storagetest.Dir(t))
	b := &storage.Batch{LastZxid: 1}
	for i := 0; i < 3*loadChunkNodes; i++ {
		b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/n%05d", i), ACL: proto.OpenACLUnsafe})
	}
	if err := e.Commit(b, false); err != nil {
		t.Fatal(err)
	}
	stopErr := errors.New("enough")
	seen := 0
	err := e.Load(storage.Visitor{Node: func(*storage.Node) error {
		if seen++; seen == 10 {
			return stopErr
		}
		return nil
	}})
	if err != stopErr || seen != 10 {
		t.Fatalf("load: %v after %d nodes", err, seen)
	}
	// The engine is still usable.
	if err := e.Commit(&storage.Batch{LastZxid: 2}, true); err != nil {
		t.Fatal(err)
	}
}

// TestCounts: the estimate is exact after an install, and follows commits
// roughly.
func TestCounts(t *testing.T) {
	e := mustOpen(t, storagetest.Dir(t))
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := in.Put(&storage.Node{Path: fmt.Sprintf("/n%04d", i), ACL: proto.OpenACLUnsafe}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		if err := in.PutSession(storage.Session{ID: int64(i), Timeout: 5000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Commit(storage.Meta{LastZxid: 1000}); err != nil {
		t.Fatal(err)
	}
	nodes, sessions, err := e.Counts()
	// A store this small is one sstable: the sessions and the meta record
	// count with the nodes.
	if err != nil || nodes+sessions < 1020 || nodes+sessions > 1021 {
		t.Fatalf("counts after install: %d nodes, %d sessions, %v", nodes, sessions, err)
	}
	b := &storage.Batch{LastZxid: 1001}
	for i := 1000; i < 1500; i++ {
		b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/n%04d", i), ACL: proto.OpenACLUnsafe})
	}
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	if nodes, sessions, err = e.Counts(); err != nil || nodes+sessions < 1520 || nodes+sessions > 1521 {
		t.Fatalf("counts after compaction: %d nodes, %d sessions, %v", nodes, sessions, err)
	}
}
