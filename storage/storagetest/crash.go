package storagetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/storage"
)

const (
	envCrashDir  = "STORAGETEST_CRASH_DIR"
	envCrashSeed = "STORAGETEST_CRASH_SEED"
	crashSeed    = 42
	// corruptionSeed is the stream of the corruption test.
	corruptionSeed = 11
)

// CrashOptions tunes RunCrash.
type CrashOptions struct {
	// Kills is how many times the child is killed (default 20).
	Kills int
}

// RunCrash is the crash test: a child process (this test binary, re-run
// with testName) opens the engine and commits a deterministic stream of
// batches, syncing every third one and printing the zxid of each synced
// commit; the parent SIGKILLs it at a random moment, reopens the store and
// requires exactly the state after some batch, no older than the last one
// reported synced. It repeats on the same store, the child resuming where
// the store stands.
//
// When the suite's environment variables are set, RunCrash is the child:
// it never returns normally.
func RunCrash(t *testing.T, h Harness, testName string, opts CrashOptions) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		crashChild(h, dir)
		return
	}
	if !h.Durable {
		t.Fatal("RunCrash needs a durable engine")
	}
	if opts.Kills == 0 {
		opts.Kills = 20
	}
	dir := Dir(t)
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	for kill := 0; kill < opts.Kills; kill++ {
		after := 1 + r.Intn(60)
		// The kill lands anywhere in the commits that follow the last
		// synced one read, not always right after it.
		delay := time.Duration(r.Intn(2000)) * time.Microsecond
		synced := KillChildAfter(t, testName, []string{envCrashDir + "=" + dir, envCrashSeed + "=" + strconv.Itoa(crashSeed)}, "synced", after, delay)
		e, err := h.Open(dir)
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		st, err := ReadState(e)
		e.Close()
		if err != nil {
			t.Fatalf("kill %d: load: %v", kill, err)
		}
		if st.Meta.LastZxid < synced {
			t.Fatalf("kill %d: store at zxid %#x, but %#x was reported synced", kill, st.Meta.LastZxid, synced)
		}
		m, ok := modelAt(crashSeed, st.Meta.LastZxid)
		if !ok {
			t.Fatalf("kill %d: store at zxid %#x, which no batch ends at", kill, st.Meta.LastZxid)
		}
		if d := Diff(st, m.State()); d != "" {
			t.Fatalf("kill %d: store at zxid %#x differs from the state after that batch:\n%s", kill, st.Meta.LastZxid, d)
		}
		t.Logf("kill %d after %d synced commits: reopened at %#x (last synced %#x), %d nodes", kill, after, st.Meta.LastZxid, synced, len(st.Nodes))
	}
}

// modelAt replays the stream of seed until a batch ends at zxid.
func modelAt(seed, zxid int64) (*Model, bool) {
	m := NewModel()
	g := NewGen(seed)
	for m.Meta.LastZxid < zxid {
		m.Apply(g.Next())
	}
	return m, m.Meta.LastZxid == zxid
}

// KillChildAfter re-runs this test binary as a child process (only
// testName, with env added to the environment), reads its stdout until n
// lines "<marker> <hex zxid>" have come, lets it run delay more, kills it
// with SIGKILL and returns the last zxid it reported. A child that stops
// before n reports fails the test. Crash tests of engines and of the
// persister share it.
func KillChildAfter(t *testing.T, testName string, env []string, marker string, n int, delay time.Duration) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}()
	var last int64
	seen := 0
	sc := bufio.NewScanner(out)
	for seen < n && sc.Scan() {
		line := sc.Text()
		if z, ok := strings.CutPrefix(line, marker+" "); ok {
			v, err := strconv.ParseInt(z, 16, 64)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			last = v
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < n {
		t.Fatalf("the child stopped after %d of %d %q reports (its stderr is above)", seen, n, marker)
	}
	go io.Copy(io.Discard, out)
	time.Sleep(delay) // fault injection: the kill lands while it keeps committing
	return last
}

// crashChild commits forever; the parent kills it.
func crashChild(h Harness, dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	e, err := h.Open(dir)
	if err != nil {
		fail(err)
	}
	m, err := e.Meta()
	if err != nil {
		fail(err)
	}
	g := NewGen(crashSeed)
	var b *storage.Batch
	for b = g.Next(); b.LastZxid <= m.LastZxid; b = g.Next() {
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		sync := i%3 == 0
		if err := e.Commit(b, sync); err != nil {
			fail(err)
		}
		if sync {
			fmt.Fprintf(w, "synced %x\n", b.LastZxid)
			w.Flush()
		}
		b = g.Next()
	}
}

// testCorruption damages every file of a closed store in turn (truncation,
// flipped bytes) and requires that opening and loading either fails with
// ErrCorrupt naming the file, or yields exactly the state after one of the
// committed batches: the original (the damage hit unused space) or an
// earlier one, whole (a log tail cut off, as after a crash). Never a mix.
func testCorruption(t *testing.T, h Harness) {
	dir := Dir(t)
	e := open(t, h, dir)
	m := NewModel()
	commitN(t, e, m, NewGen(corruptionSeed), 120)
	b := &storage.Batch{LastZxid: m.Meta.LastZxid + 1}
	m.Apply(b)
	if err := e.Commit(b, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening a store may rewrite it (an LSM replays its log into new
	// files and drops the old ones), so every damage starts from a copy of
	// the pristine store.
	pristine := readTree(t, dir)
	var files []string
	for rel, content := range pristine {
		if len(content) > 0 {
			files = append(files, filepath.Join(dir, rel))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("the engine wrote no files")
	}
	r := rand.New(rand.NewSource(12))
	detected := 0
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		orig := pristine[rel]
		damages := map[string][]byte{"truncated to half": orig[:len(orig)/2]}
		for i := 0; i < 6; i++ {
			c := append([]byte(nil), orig...)
			off := r.Intn(len(c))
			c[off] ^= 0xff
			damages[fmt.Sprintf("byte %d flipped", off)] = c
		}
		for what, content := range damages {
			writeTree(t, dir, pristine)
			if err := os.WriteFile(f, content, 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := openAndRead(h, dir)
			switch {
			case err == nil:
				want := m
				if st.Meta.LastZxid != m.Meta.LastZxid {
					var ok bool
					if want, ok = modelAt(corruptionSeed, st.Meta.LastZxid); !ok {
						t.Fatalf("%s %s: opened at zxid %#x, which no batch ends at", rel, what, st.Meta.LastZxid)
					}
				}
				if d := Diff(st, want.State()); d != "" {
					t.Fatalf("%s %s: opened without error but the state is no committed state:\n%s", rel, what, d)
				}
			case errors.Is(err, storage.ErrCorrupt):
				if !strings.Contains(err.Error(), filepath.Base(f)) && !strings.Contains(err.Error(), dir) {
					t.Fatalf("%s %s: the error does not name the file: %v", rel, what, err)
				}
				detected++
			default:
				t.Fatalf("%s %s: want ErrCorrupt or the intact state, got %v", rel, what, err)
			}
		}
	}
	if detected == 0 {
		t.Fatal("no damage was ever detected")
	}
	t.Logf("%d files damaged in %d ways each; %d damages detected, the rest hit unused space", len(files), 7, detected)
}

// readTree returns the content of every regular file under dir by relative
// path, and nil for every directory.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	tree := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			tree[rel] = nil
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tree[rel] = append([]byte{}, b...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// writeTree makes dir hold exactly tree (see readTree).
func writeTree(t *testing.T, dir string, tree map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	rels := make([]string, 0, len(tree))
	for rel := range tree {
		rels = append(rels, rel)
	}
	sort.Strings(rels) // a directory before what it holds
	for _, rel := range rels {
		p := filepath.Join(dir, rel)
		var err error
		if content := tree[rel]; content == nil {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, content, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func openAndRead(h Harness, dir string) (st *State, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	e, err := h.Open(dir)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return ReadState(e)
}
