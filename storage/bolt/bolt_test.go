package bolt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/storagetest"
)

var harness = storagetest.Harness{
	Open:    func(dir string) (storage.Engine, error) { return Open(dir, Options{}) },
	Durable: true,
}

func TestConformance(t *testing.T) { storagetest.Run(t, harness) }

// TestConformanceOptions runs the suite again with the non-default
// options: no fsync at all, and a fixed fill factor.
func TestConformanceOptions(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open:    func(dir string) (storage.Engine, error) { return Open(dir, Options{NoSync: true, FillPercent: 1}) },
		Durable: true,
	})
}

func TestCrash(t *testing.T) {
	storagetest.RunCrash(t, harness, "TestCrash", storagetest.CrashOptions{Kills: 20})
}

func mustOpen(t *testing.T, dir string, opts Options) *Engine {
	t.Helper()
	e, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustState(t *testing.T, e storage.Engine) *storagetest.State {
	t.Helper()
	st, err := storagetest.ReadState(e)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// commitGen commits n batches of seed's stream to e (sync every other one)
// and returns the state after each batch by its zxid.
func commitGen(t *testing.T, e storage.Engine, seed int64, n int) (*storagetest.Model, map[int64]*storagetest.State) {
	t.Helper()
	m := storagetest.NewModel()
	states := map[int64]*storagetest.State{0: m.State()}
	g := storagetest.NewGen(seed)
	for i := 0; i < n; i++ {
		b := g.Next()
		m.Apply(b)
		if err := e.Commit(b, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		states[m.Meta.LastZxid] = m.State()
	}
	b := &storage.Batch{LastZxid: m.Meta.LastZxid + 1}
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	states[m.Meta.LastZxid] = m.State()
	return m, states
}

func TestLocked(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	start := time.Now()
	_, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("lock timeout took %v", d)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir, Options{})
}

// TestLockedWhileDamaged: a file that looks damaged while another process
// holds it is reported as locked, not corrupt.
func TestLockedWhileDamaged(t *testing.T) {
	dir := storagetest.Dir(t)
	path := filepath.Join(dir, FileName)
	e := mustOpen(t, dir, Options{})
	commitGen(t, e, 1, 20)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	if err := f.Truncate(info.Size() / 2); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("open of a locked, truncated store: %v", err)
	}
}

func TestLeftoverStaging(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	m, _ := commitGen(t, e, 2, 30)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(dir, StagingName)
	for _, content := range [][]byte{[]byte("half an install"), nil} {
		if content == nil { // a whole bbolt file with other content
			src, _ := os.ReadFile(filepath.Join(dir, FileName))
			content = src[:len(src)/2]
		}
		if err := os.WriteFile(staging, content, 0o644); err != nil {
			t.Fatal(err)
		}
		e := mustOpen(t, dir, Options{})
		if _, err := os.Stat(staging); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("staging file left after open: %v", err)
		}
		if d := storagetest.Diff(mustState(t, e), m.State()); d != "" {
			t.Fatal(d)
		}
		e.Close()
	}
}

func TestForeign(t *testing.T) {
	t.Run("subdir", func(t *testing.T) {
		dir := storagetest.Dir(t)
		os.Mkdir(filepath.Join(dir, "version-2"), 0o755)
		if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrForeign) {
			t.Fatalf("got %v", err)
		}
	})
	// A bbolt file of someone else's, under our name.
	t.Run("bbolt", func(t *testing.T) {
		dir := storagetest.Dir(t)
		path := filepath.Join(dir, FileName)
		db, err := bbolt.Open(path, 0o644, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bbolt.Tx) error {
			b, _ := tx.CreateBucket([]byte("keys"))
			return b.Put([]byte("k"), []byte("v"))
		})
		db.Close()
		before, _ := os.ReadFile(path)
		if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrForeign) {
			t.Fatalf("got %v", err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatal("the foreign file changed")
		}
	})
	// One written without a stored freelist: bbolt would rebuild (and
	// write) it on a read-write open.
	t.Run("no freelist", func(t *testing.T) {
		dir := storagetest.Dir(t)
		path := filepath.Join(dir, FileName)
		db, err := bbolt.Open(path, 0o644, &bbolt.Options{NoFreelistSync: true})
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
		db.Close()
		before, _ := os.ReadFile(path)
		if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrForeign) {
			t.Fatalf("got %v", err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatal("the foreign file changed")
		}
	})
	// A newer format of ours.
	t.Run("future", func(t *testing.T) {
		dir := storagetest.Dir(t)
		e := mustOpen(t, dir, Options{})
		e.Close()
		db, err := bbolt.Open(filepath.Join(dir, FileName), 0o644, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte{0, 0, 0, 2}) })
		db.Close()
		_, err = Open(dir, Options{})
		if !errors.Is(err, storage.ErrForeign) || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("got %v", err)
		}
	})
	// A file that is not bbolt at all, under our name, is damage.
	t.Run("garbage", func(t *testing.T) {
		dir := storagetest.Dir(t)
		os.WriteFile(filepath.Join(dir, FileName), bytes.Repeat([]byte("x"), 20000), 0o644)
		_, err := Open(dir, Options{})
		if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), FileName) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestCreateCrash: a file that bbolt created but that was never
// initialised (a crash at the first Open) opens as an empty store.
func TestCreateCrash(t *testing.T) {
	dir := storagetest.Dir(t)
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	e := mustOpen(t, dir, Options{})
	if d := storagetest.Diff(mustState(t, e), storagetest.NewModel().State()); d != "" {
		t.Fatal(d)
	}
	empty := storagetest.Dir(t)
	os.WriteFile(filepath.Join(empty, FileName), nil, 0o644)
	mustOpen(t, empty, Options{})
}

// openRead opens dir and reads everything, turning a panic into a test
// failure (the engine must never panic on damage).
func openRead(t *testing.T, dir string) (st *storagetest.State, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic: %v", p)
		}
	}()
	e, err := Open(dir, Options{})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if st, err = storagetest.ReadState(e); err != nil {
		return nil, err
	}
	// Get never panics nor returns garbage; it may miss a node when the
	// damage is in a branch page's keys, which a scan does not read (see
	// the package comment).
	for _, n := range st.Nodes {
		got, err := e.Get(n.Path)
		switch {
		case err == nil:
			if d := storagetest.Diff(&storagetest.State{Nodes: []*storage.Node{got}}, &storagetest.State{Nodes: []*storage.Node{n}}); d != "" {
				t.Fatalf("get %s: %s", n.Path, d)
			}
		case !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrCorrupt):
			t.Fatalf("get %s: %v", n.Path, err)
		}
	}
	return st, nil
}

// checkDamaged requires ErrCorrupt naming the file, or one whole
// committed state.
func checkDamaged(t *testing.T, dir, what string, states map[int64]*storagetest.State) bool {
	t.Helper()
	st, err := openRead(t, dir)
	switch {
	case err == nil:
		want, ok := states[st.Meta.LastZxid]
		if !ok {
			t.Fatalf("%s: opened at zxid %#x, which no batch ends at", what, st.Meta.LastZxid)
		}
		if d := storagetest.Diff(st, want); d != "" {
			t.Fatalf("%s: opened a state that was never committed:\n%s", what, d)
		}
		return false
	case errors.Is(err, storage.ErrCorrupt):
		if !strings.Contains(err.Error(), FileName) {
			t.Fatalf("%s: the error does not name the file: %v", what, err)
		}
		return true
	default:
		t.Fatalf("%s: want ErrCorrupt or a committed state, got %v", what, err)
	}
	return false
}

// TestDamage damages every page of a store's file in several places
// (header fields, element headers, keys, values) and truncates it at many
// lengths: opening and loading must give ErrCorrupt or a committed state,
// never a panic, a fault or a mix.
func TestDamage(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	_, states := commitGen(t, e, 3, 150)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := parseMeta(orig)
	if !ok {
		t.Fatal("bad meta")
	}
	if m1, ok := parseMeta(orig[m.pageSize:]); ok && m1.txid > m.txid {
		m = m1
	}
	ps := int(m.pageSize)
	// Which pages hold something (meta, freelist, branch, leaf).
	inUse := map[int]bool{}
	db, err := bbolt.Open(path, 0o644, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bbolt.Tx) error {
		for pg := 0; pg < int(m.hwm); pg++ {
			if pi, err := tx.Page(pg); err == nil && pi != nil && pi.Type != "free" {
				for i := 0; i <= pi.OverflowCount; i++ {
					inUse[pg+i] = true
				}
			}
		}
		return nil
	})
	db.Close()
	r := rand.New(rand.NewSource(5))
	damaged, detected := 0, 0
	try := func(what string, content []byte, used bool) {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		found := checkDamaged(t, dir, what, states)
		if used {
			damaged++
			if found {
				detected++
			}
		}
	}
	for pg := 0; pg < int(m.hwm); pg++ {
		offs := []int{0, 8, 10, 12, 16, 20, 24, 28} // page header, first element
		for i := 0; i < 8; i++ {
			offs = append(offs, 16+r.Intn(ps-16))
		}
		for _, off := range offs {
			c := append([]byte(nil), orig...)
			c[pg*ps+off] ^= 1 << r.Intn(8)
			try(fmt.Sprintf("page %d byte %d", pg, off), c, inUse[pg])
		}
	}
	for _, n := range []int{0, 100, ps, 2*ps - 1, 2 * ps, 3 * ps, len(orig) / 3, len(orig) / 2, int(m.hwm)*ps - 1, len(orig) - 1} {
		if n < len(orig) {
			try(fmt.Sprintf("truncated to %d", n), orig[:n], false)
		}
	}
	t.Logf("%d of %d pages in use; of %d damages to them, %d detected, the rest harmless or an earlier state", len(inUse), m.hwm, damaged, detected)
	if detected < damaged/3 {
		t.Fatalf("only %d of %d damages to pages in use detected", detected, damaged)
	}
}

// TestKeyDamage: a damaged key (which no value CRC covers) is caught by
// the digest, and a lost entry too.
func TestKeyDamage(t *testing.T) {
	for _, what := range []string{"key", "count"} {
		t.Run(what, func(t *testing.T) {
			dir := storagetest.Dir(t)
			e := mustOpen(t, dir, Options{})
			b := &storage.Batch{LastZxid: 7}
			for i := 0; i < 10; i++ {
				b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/only-here-%d", i), Data: []byte("d"), ACL: proto.OpenACLUnsafe})
			}
			if err := e.Commit(b, true); err != nil {
				t.Fatal(err)
			}
			e.Close()
			path := filepath.Join(dir, FileName)
			c, _ := os.ReadFile(path)
			i := bytes.Index(c, []byte("/only-here-5"))
			if i < 0 || bytes.Contains(c[i+1:], []byte("/only-here-5")) {
				t.Fatal("want exactly one copy of the key in the file")
			}
			if what == "key" {
				c[i+len("/only-here-")] = '6' // now a duplicate of the next key
			} else {
				// The leaf's element count: drop the last element.
				pg := i / 4096 * 4096
				n := binary.NativeEndian.Uint16(c[pg+10:])
				binary.NativeEndian.PutUint16(c[pg+10:], n-1)
			}
			os.WriteFile(path, c, 0o644)
			if _, err := openRead(t, dir); !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("damaged %s: got %v", what, err)
			}
		})
	}
}

func TestCompact(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	r := rand.New(rand.NewSource(1))
	zxid := int64(0)
	var paths []string
	for i := 0; i < 40; i++ {
		b := &storage.Batch{}
		for j := 0; j < 100; j++ {
			zxid++
			p := fmt.Sprintf("/c/n%06d", r.Intn(1000000))
			paths = append(paths, p)
			b.Puts = append(b.Puts, &storage.Node{Path: p, Data: make([]byte, 300), ACL: proto.OpenACLUnsafe})
		}
		b.Puts = uniq(b.Puts)
		b.LastZxid = zxid
		if err := e.Commit(b, false); err != nil {
			t.Fatal(err)
		}
	}
	// Delete 90%.
	for i := 0; i < len(paths); i += 100 {
		zxid++
		b := &storage.Batch{LastZxid: zxid}
		for _, p := range paths[i : i+100] {
			if r.Intn(10) != 0 {
				b.Deletes = append(b.Deletes, p)
			}
		}
		b.Deletes = uniqPaths(b.Deletes)
		if err := e.Commit(b, false); err != nil {
			t.Fatal(err)
		}
	}
	zxid++
	if err := e.Commit(&storage.Batch{LastZxid: zxid, Sessions: []storage.Session{{ID: 9, Timeout: 10}}}, true); err != nil {
		t.Fatal(err)
	}
	before := mustState(t, e)
	size0, free0, err := e.Space()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	size1, free1, _ := e.Space()
	t.Logf("compact: %d bytes (%d free) -> %d bytes (%d free)", size0, free0, size1, free1)
	if size1 >= size0/2 || free1 > size1/4 {
		t.Fatalf("compaction did not reclaim: %d (%d free) -> %d (%d free)", size0, free0, size1, free1)
	}
	if d := storagetest.Diff(mustState(t, e), before); d != "" {
		t.Fatal(d)
	}
	// Writes go on, and it all survives a reopen.
	zxid++
	if err := e.Commit(&storage.Batch{LastZxid: zxid, Puts: []*storage.Node{{Path: "/after", ACL: proto.OpenACLUnsafe}}}, true); err != nil {
		t.Fatal(err)
	}
	e.Close()
	e = mustOpen(t, dir, Options{})
	st := mustState(t, e)
	if len(st.Nodes) != len(before.Nodes)+1 || st.Meta.LastZxid != zxid {
		t.Fatalf("after reopen: %d nodes at %#x", len(st.Nodes), st.Meta.LastZxid)
	}
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(); !errors.Is(err, storage.ErrInstallActive) {
		t.Fatalf("compact during install: %v", err)
	}
	in.Abort()
}

func uniq(ns []*storage.Node) []*storage.Node {
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		if !seen[n.Path] {
			seen[n.Path] = true
			out = append(out, n)
		}
	}
	return out
}

func uniqPaths(ps []string) []string {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// TestInstallUnordered: nodes in any order, some twice (the last wins),
// spread over many staging transactions, and the digest holds.
func TestInstallUnordered(t *testing.T) {
	defer func(n int) { installFlushBytes = n }(installFlushBytes)
	installFlushBytes = 4096
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	commitGen(t, e, 4, 20)
	want := storagetest.NewModel()
	want.Meta = storage.Meta{LastZxid: 99, AcceptedEpoch: 3, CurrentEpoch: 3}
	r := rand.New(rand.NewSource(3))
	var nodes []*storage.Node
	for i := 0; i < 2000; i++ {
		n := &storage.Node{Path: fmt.Sprintf("/u/%d", r.Intn(1500)), Data: []byte(strconv.Itoa(i)), ACL: proto.OpenACLUnsafe}
		nodes = append(nodes, n)
		c := *n
		want.Nodes[n.Path] = &c
	}
	in, err := e.BeginInstall()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := in.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		in.PutSession(storage.Session{ID: int64(i % 30), Timeout: int32(i)})
		want.Sessions[int64(i%30)] = int32(i)
	}
	if err := in.Commit(want.Meta); err != nil {
		t.Fatal(err)
	}
	if err := in.Put(nodes[0]); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("put after commit: %v", err)
	}
	if d := storagetest.Diff(mustState(t, e), want.State()); d != "" {
		t.Fatal(d)
	}
	e.Close()
	e = mustOpen(t, dir, Options{})
	if d := storagetest.Diff(mustState(t, e), want.State()); d != "" {
		t.Fatal(d)
	}
	if n, s, err := e.Counts(); err != nil || n != int64(len(want.Nodes)) || s != int64(len(want.Sessions)) {
		t.Fatalf("counts %d %d %v, want %d %d", n, s, err, len(want.Nodes), len(want.Sessions))
	}
}

// TestGetDuringWrites: Get runs concurrently with commits, installs and
// compaction (run with -race).
func TestGetDuringWrites(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	if err := e.Commit(&storage.Batch{LastZxid: 1, Puts: []*storage.Node{{Path: "/fixed", Data: []byte("x"), ACL: proto.OpenACLUnsafe}}}, true); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded: under -race on a loaded machine the writer side can
			// take minutes, and an unbounded reader loop then grows the
			// race detector's memory without limit (a make test run was
			// OOM-killed at 24 GB).
			for range 20_000 {
				select {
				case <-stop:
					return
				default:
				}
				if n, err := e.Get("/fixed"); err != nil || string(n.Data) != "x" {
					t.Errorf("get: %v %v", n, err)
					return
				}
				if _, err := e.Meta(); err != nil {
					t.Error(err)
					return
				}
				e.DiskBytes()
			}
		}()
	}
	g := storagetest.NewGen(5).From(1)
	for i := 0; i < 60; i++ {
		if err := e.Commit(g.Next(), i%3 == 0); err != nil {
			t.Fatal(err)
		}
		if i%20 == 10 {
			if err := e.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, _ := e.Meta()
	in, _ := e.BeginInstall()
	in.Put(&storage.Node{Path: "/fixed", Data: []byte("x"), ACL: proto.OpenACLUnsafe})
	if err := in.Commit(storage.Meta{LastZxid: m.LastZxid}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}

// TestLoadVisitor: a visitor's error is returned as is; a visitor's panic
// goes through; the engine works afterwards.
func TestLoadVisitor(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	m, _ := commitGen(t, e, 6, 20)
	b := &storage.Batch{LastZxid: m.Meta.LastZxid}
	for i := 0; i < 3*loadBatch; i++ {
		b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/many/%d", i), ACL: proto.OpenACLUnsafe})
	}
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	stopAt := errors.New("enough")
	seen := 0
	err := e.Load(storage.Visitor{Node: func(*storage.Node) error {
		if seen++; seen == 10 {
			return stopAt
		}
		return nil
	}})
	if err != stopAt {
		t.Fatalf("load: %v", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "visitor" {
				t.Fatalf("recovered %v", p)
			}
		}()
		e.Load(storage.Visitor{Node: func(*storage.Node) error { panic("visitor") }})
	}()
	if err := e.Load(storage.Visitor{Session: func(storage.Session) error { return stopAt }}); err != stopAt && len(m.Sessions) > 0 {
		t.Fatalf("session error: %v", err)
	}
	if err := e.Commit(&storage.Batch{LastZxid: m.Meta.LastZxid + 1}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Load(storage.Visitor{}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("load after close: %v", err)
	}
	if _, err := e.Get("/x"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

// TestFillPolicy: the adaptive split fill keeps the file small both for
// appends (sequential znodes) and for inserts at random places.
func TestFillPolicy(t *testing.T) {
	for _, seq := range []bool{true, false} {
		e := mustOpen(t, storagetest.Dir(t), Options{NoSync: true})
		r := rand.New(rand.NewSource(1))
		next := make([]int, 20)
		zxid, raw := int64(0), int64(0)
		for i := 0; i < 200; i++ {
			b := &storage.Batch{}
			for j := 0; j < 100; j++ {
				zxid++
				q := r.Intn(20)
				p := fmt.Sprintf("/queue%02d/item-%010d", q, next[q])
				next[q]++
				if !seq {
					p = fmt.Sprintf("/random/%010d", r.Int63n(1e10))
				}
				raw += int64(len(p) + 128 + 60)
				b.Puts = append(b.Puts, &storage.Node{Path: p, Data: make([]byte, 128), ACL: proto.OpenACLUnsafe})
			}
			b.Puts = uniq(b.Puts)
			b.LastZxid = zxid
			if err := e.Commit(b, false); err != nil {
				t.Fatal(err)
			}
		}
		size, _, _ := e.Space()
		ratio := float64(size) / float64(raw)
		t.Logf("sequential %v: %d bytes for %d raw: %.2f", seq, size, raw, ratio)
		if limit := map[bool]float64{true: 1.6, false: 2.2}[seq]; ratio > limit {
			t.Fatalf("sequential %v: file is %.2f times the raw size (limit %.1f)", seq, ratio, limit)
		}
	}
}

// TestNoSyncCommitsSurviveClose: commits without sync are in the file once
// Close returns.
func TestNoSyncCommitsSurviveClose(t *testing.T) {
	dir := storagetest.Dir(t)
	e := mustOpen(t, dir, Options{})
	m := storagetest.NewModel()
	g := storagetest.NewGen(8)
	for i := 0; i < 30; i++ {
		b := g.Next()
		m.Apply(b)
		if err := e.Commit(b, false); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	if d := storagetest.Diff(mustState(t, mustOpen(t, dir, Options{})), m.State()); d != "" {
		t.Fatal(d)
	}
}

// The install crash test: a child process installs state after state
// (with a commit after each) until SIGKILLed at a random moment; the
// store must reopen with one of them, whole, and without a staging file.

const envInstallDir = "BOLT_INSTALL_CRASH_DIR"

// installState is the content of install i, plus the commit after it when
// after is true.
func installState(i int64, after bool) *storagetest.Model {
	m := storagetest.NewModel()
	r := rand.New(rand.NewSource(i))
	for j := 0; j < 300+int(i%7)*50; j++ {
		p := fmt.Sprintf("/i%d/n%04d", i%3, r.Intn(5000))
		data := make([]byte, r.Intn(300))
		r.Read(data)
		m.Nodes[p] = &storage.Node{Path: p, Data: data, ACL: proto.OpenACLUnsafe, Stat: proto.StatPersisted{Mzxid: i}}
	}
	m.Sessions[i] = int32(i)
	m.Meta = storage.Meta{LastZxid: i << 32, AcceptedEpoch: i, CurrentEpoch: i}
	if after {
		m.Apply(afterBatch(i))
	}
	return m
}

func afterBatch(i int64) *storage.Batch {
	return &storage.Batch{LastZxid: i<<32 + 1, Puts: []*storage.Node{{Path: "/after", Data: []byte{byte(i)}, ACL: proto.OpenACLUnsafe}}}
}

func installChild(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "install child:", err)
		os.Exit(3)
	}
	installFlushBytes = 16 << 10
	e, err := Open(dir, Options{})
	if err != nil {
		fail(err)
	}
	m, _ := e.Meta()
	for i := m.LastZxid>>32 + 1; ; i++ {
		in, err := e.BeginInstall()
		if err != nil {
			fail(err)
		}
		next := installState(i, false)
		for _, n := range next.State().Nodes {
			if err := in.Put(n); err != nil {
				fail(err)
			}
		}
		in.PutSession(storage.Session{ID: i, Timeout: int32(i)})
		if err := in.Commit(next.Meta); err != nil {
			fail(err)
		}
		fmt.Printf("installed %d\n", i)
		if err := e.Commit(afterBatch(i), i%2 == 0); err != nil {
			fail(err)
		}
	}
}

func TestCrashInstall(t *testing.T) {
	if dir := os.Getenv(envInstallDir); dir != "" {
		installChild(dir)
		return
	}
	dir := storagetest.Dir(t)
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	last := int64(0)
	for kill := 0; kill < 8; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashInstall$", "-test.count=1")
		cmd.Env = append(os.Environ(), envInstallDir+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		want := 1 + r.Intn(3)
		seen := 0
		for seen < want && sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "installed "); ok {
				last, _ = strconv.ParseInt(v, 10, 64)
				seen++
			}
		}
		if seen < want {
			cmd.Wait()
			t.Fatalf("kill %d: the child stopped after %d installs", kill, seen)
		}
		time.Sleep(time.Duration(r.Intn(30_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		go io.Copy(io.Discard, out)
		cmd.Wait()

		e, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		if _, err := os.Stat(filepath.Join(dir, StagingName)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("kill %d: staging file left after open", kill)
		}
		st, err := storagetest.ReadState(e)
		e.Close()
		if err != nil {
			t.Fatalf("kill %d: load: %v", kill, err)
		}
		i, after := st.Meta.LastZxid>>32, st.Meta.LastZxid&1 == 1
		if i < last {
			t.Fatalf("kill %d: store at install %d, but %d was reported done", kill, i, last)
		}
		if d := storagetest.Diff(st, installState(i, after).State()); d != "" {
			t.Fatalf("kill %d: store at %#x is not install %d (after %v):\n%s", kill, st.Meta.LastZxid, i, after, d)
		}
		t.Logf("kill %d: reopened at install %d (commit after it: %v), last reported %d", kill, i, after, last)
	}
}
