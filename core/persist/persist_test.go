package persist

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/txngen"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// dump renders a tree for comparison: every node with data, ACL and stat,
// the sessions, the zxid and the digest.
func dump(tr *tree.DataTree) string {
	var b strings.Builder
	tr.View(func(v tree.View) {
		v.Walk(func(p string, n *tree.Node) bool {
			fmt.Fprintf(&b, "%q %x %v %v %+v\n", p, n.Data, n.Data == nil, v.ACL(n), n.Stat)
			return true
		})
		ss := v.Sessions()
		ids := make([]int64, 0, len(ss))
		for id := range ss {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			fmt.Fprintf(&b, "session %x %d\n", id, ss[id])
		}
		fmt.Fprintf(&b, "zxid %x digest %d\n", v.LastZxid(), v.Digest())
	})
	return b.String()
}

// TestPersistedTreeEqualsLive: for every policy, a stream applied through
// the persister reloads to exactly the live tree.
func TestPersistedTreeEqualsLive(t *testing.T) {
	for _, pol := range []Policy{SyncAlways, SyncBatch, SyncNone} {
		t.Run(pol.String(), func(t *testing.T) {
			eng := memory.New()
			live, _, err := LoadTree(eng, tree.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p := New(eng, 0, Options{Policy: pol, MaxTxns: 64})
			live.SetRecorder(p)
			g := txngen.New(1, txngen.Options{Parents: 30})
			for i := 0; i < 5000; i++ {
				live.Apply(g.Next())
			}
			p.SetEpochs(3, 2)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if p.DurableZxid() != live.LastZxid() {
				t.Fatalf("durable %#x, live %#x", p.DurableZxid(), live.LastZxid())
			}
			loaded, meta, err := LoadTree(eng, tree.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if meta.AcceptedEpoch != 3 || meta.CurrentEpoch != 2 {
				t.Fatalf("meta %+v", meta)
			}
			if got, want := dump(loaded), dump(live); got != want {
				t.Fatalf("reloaded tree differs from the live one")
			}
		})
	}
}

// TestCrashLeavesATxnBoundary: after a crash that loses unsynced commits, the
// reloaded tree is exactly the tree after some txn (its digest and zxid
// match that txn), never older than the durable zxid reported before the
// crash.
func TestCrashLeavesATxnBoundary(t *testing.T) {
	for _, pol := range []Policy{SyncBatch, SyncNone} {
		t.Run(pol.String(), func(t *testing.T) {
			for round := 0; round < 5; round++ {
				mem := memory.New()
				eng := &mortalEngine{Engine: mem}
				live, _, err := LoadTree(eng, tree.Options{})
				if err != nil {
					t.Fatal(err)
				}
				p := New(eng, 0, Options{Policy: pol, MaxTxns: 50, MaxDelay: time.Millisecond})
				live.SetRecorder(p)
				digests := map[int64]int64{0: live.Digest()}
				g := txngen.New(int64(round), txngen.Options{Parents: 20})
				for i := 0; i < 2000+round*311; i++ {
					live.Apply(g.Next())
					digests[live.LastZxid()] = live.Digest()
				}
				durable := p.DurableZxid()
				eng.die() // the process is gone: no commit lands from now on
				mem.Crash()
				loaded, meta, err := LoadTree(mem, tree.Options{})
				if err != nil {
					t.Fatal(err)
				}
				d, ok := digests[meta.LastZxid]
				if !ok || loaded.Digest() != d {
					t.Fatalf("reloaded at %#x with digest %d; that txn's digest is %d (known %v)", meta.LastZxid, loaded.Digest(), d, ok)
				}
				if pol != SyncNone && meta.LastZxid < durable {
					t.Fatalf("reloaded at %#x, below the durable %#x", meta.LastZxid, durable)
				}
				p.Close()
			}
		})
	}
}

// mortalEngine stops committing, as a killed process would, once die is
// called (it waits for a commit in flight).
type mortalEngine struct {
	storage.Engine
	mu   sync.Mutex
	dead bool
}

var errDead = errors.New("process killed")

func (m *mortalEngine) Commit(b *storage.Batch, sync bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errDead
	}
	return m.Engine.Commit(b, sync)
}

func (m *mortalEngine) die() {
	m.mu.Lock()
	m.dead = true
	m.mu.Unlock()
}

// slowEngine blocks every Commit until released, counting commits.
type slowEngine struct {
	storage.Engine
	release chan struct{}
	commits atomic.Int32
	fail    error
}

func (s *slowEngine) Commit(b *storage.Batch, sync bool) error {
	<-s.release
	s.commits.Add(1)
	if s.fail != nil {
		return s.fail
	}
	return s.Engine.Commit(b, sync)
}

// TestBackPressure: with the engine stalled, the applier is stopped after
// one committing and one sealed batch, instead of buffering without bound.
func TestBackPressure(t *testing.T) {
	eng := &slowEngine{Engine: memory.New(), release: make(chan struct{})}
	live := tree.New(tree.Options{})
	p := New(eng, 0, Options{Policy: SyncBatch, MaxTxns: 10, MaxDelay: time.Hour})
	live.SetRecorder(p)
	g := txngen.New(2, txngen.Options{Parents: 5})
	var applied atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			live.Apply(g.Next())
			applied.Add(1)
		}
	}()
	// The applier stalls: it cannot get past 2 full batches (one
	// committing, one sealed) plus the open one.
	for p.Stats().Stalls == 0 {
		select {
		case <-done:
			t.Fatal("the applier finished 100 txns against a stalled engine")
		default:
			runtime.Gosched()
		}
	}
	if n := applied.Load(); n > 30 {
		t.Fatalf("applier ran %d txns ahead of a stalled engine", n)
	}
	close(eng.release)
	<-done
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p.DurableZxid() != live.LastZxid() {
		t.Fatalf("durable %#x live %#x", p.DurableZxid(), live.LastZxid())
	}
}

// TestEngineErrorIsFatal: a failed commit stops the persister, Err reports
// it, and the applier is never blocked afterwards.
func TestEngineErrorIsFatal(t *testing.T) {
	boom := errors.New("disk on fire")
	eng := &slowEngine{Engine: memory.New(), release: make(chan struct{}), fail: boom}
	close(eng.release)
	live := tree.New(tree.Options{})
	p := New(eng, 0, Options{Policy: SyncAlways})
	live.SetRecorder(p)
	g := txngen.New(3, txngen.Options{Parents: 5})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 500; i++ {
			live.Apply(g.Next())
		}
	}()
	wg.Wait()
	if err := p.Flush(); !errors.Is(err, boom) {
		t.Fatalf("flush: %v", err)
	}
	if !errors.Is(p.Err(), boom) || p.DurableZxid() != 0 {
		t.Fatalf("err %v durable %#x", p.Err(), p.DurableZxid())
	}
	p.Close()
}
