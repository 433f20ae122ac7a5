// Package crashtest kills a real process in the middle of the persister's
// commits, for each durable engine, and checks what the engine reopens with
// against the tree digest: it must be exactly the tree after some txn, named
// by the engine's lastZxid, and no older than what the process had reported
// durable.
package crashtest

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/txngen"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/pebble"
	"github.com/zkobserver/zkobserver/storage/storagetest"
)

const (
	envDir    = "CRASHTEST_DIR"
	envEngine = "CRASHTEST_ENGINE"
	seed      = 7
)

var engines = map[string]func(dir string) (storage.Engine, error){
	"bolt":   func(dir string) (storage.Engine, error) { return bolt.Open(dir, bolt.Options{}) },
	"pebble": func(dir string) (storage.Engine, error) { return pebble.Open(dir, pebble.Options{}) },
}

func genOptions() txngen.Options { return txngen.Options{Parents: 200} }

func TestPersistCrashBolt(t *testing.T)   { runCrash(t, "bolt", "TestPersistCrashBolt") }
func TestPersistCrashPebble(t *testing.T) { runCrash(t, "pebble", "TestPersistCrashPebble") }

// runCrash is the parent (or, under the env vars, the child).
func runCrash(t *testing.T, engine, testName string) {
	if dir := os.Getenv(envDir); dir != "" {
		if os.Getenv(envEngine) == engine {
			child(engine, dir)
		}
		return
	}
	dir := filepath.Join(t.TempDir(), "data")
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	// digests of the reference run, by zxid, extended as needed.
	ref := tree.New(tree.Options{})
	digests := map[int64]int64{0: ref.Digest()}
	g := txngen.New(seed, genOptions())
	refUpTo := func(zxid int64) {
		for ref.LastZxid() < zxid {
			ref.Apply(g.Next())
			digests[ref.LastZxid()] = ref.Digest()
		}
	}
	for kill := 0; kill < 10; kill++ {
		// Kill at a random moment: after some durable reports, then up to
		// 3 ms more of commits in flight.
		reported := storagetest.KillChildAfter(t, testName, []string{envDir + "=" + dir, envEngine + "=" + engine},
			"durable", 1+r.Intn(40), time.Duration(r.Intn(3000))*time.Microsecond)
		eng, err := engines[engine](dir)
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		tr, meta, err := persist.LoadTree(eng, tree.Options{})
		eng.Close()
		if err != nil {
			t.Fatalf("kill %d: load: %v", kill, err)
		}
		refUpTo(meta.LastZxid)
		want, ok := digests[meta.LastZxid]
		if !ok || tr.Digest() != want || tr.LastZxid() != meta.LastZxid {
			t.Fatalf("kill %d: reopened at %#x with digest %d; the tree after that txn has %d (a txn boundary: %v)", kill, meta.LastZxid, tr.Digest(), want, ok)
		}
		if meta.LastZxid < reported {
			t.Fatalf("kill %d: reopened at %#x, but %#x was reported durable", kill, meta.LastZxid, reported)
		}
		t.Logf("kill %d: reopened at %#x (reported durable %#x), digest matches", kill, meta.LastZxid, reported)
	}
}

// child loads the store, fast-forwards the stream past its zxid, and
// applies txns through the persister (batch policy) forever, printing the
// durable zxid whenever it moves.
func child(engine, dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	eng, err := engines[engine](dir)
	if err != nil {
		fail(err)
	}
	tr, meta, err := persist.LoadTree(eng, tree.Options{})
	if err != nil {
		fail(err)
	}
	p := persist.New(eng, meta.LastZxid, persist.Options{Policy: persist.SyncBatch, MaxTxns: 50, MaxDelay: time.Millisecond})
	tr.SetRecorder(p)
	g := txngen.New(seed, genOptions())
	x := g.Next()
	for x.Header.Zxid <= meta.LastZxid {
		x = g.Next()
	}
	w := bufio.NewWriter(os.Stdout)
	last := p.DurableZxid()
	for {
		tr.Apply(x)
		if err := p.Err(); err != nil {
			fail(err)
		}
		if d := p.DurableZxid(); d != last {
			last = d
			fmt.Fprintf(w, "durable %x\n", d)
			w.Flush()
		}
		x = g.Next()
	}
}
