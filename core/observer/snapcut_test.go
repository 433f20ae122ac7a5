package observer

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// cutProxy sits between the observer and the leader's quorum port. It
// passes traffic through, or cuts one connection after a number of bytes
// from the leader and then holds: it accepts and at once closes every
// connection until released.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu       sync.Mutex
	cutAfter int64 // bytes leader -> observer to pass before the cut; 0: no cut
	hold     bool
	conns    []net.Conn
	accepted chan struct{} // one token per accepted connection
	cut      chan struct{} // closed at the cut
	wg       sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln, target: target, accepted: make(chan struct{}, 1000), cut: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// cutNext makes the next connection end after n bytes from the leader.
func (p *cutProxy) cutNext(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter = n
}

// release lets connections through again.
func (p *cutProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = false
}

// waitAccepts waits for n more accepted connections.
func (p *cutProxy) waitAccepts(n int) {
	p.t.Helper()
	for range n {
		select {
		case <-p.accepted:
		case <-time.After(30 * time.Second):
			p.t.Fatal("proxy: no connection from the observer")
		}
	}
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		hold, cut := p.hold, p.cutAfter
		if cut > 0 {
			p.cutAfter, p.hold = 0, true
		}
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		p.accepted <- struct{}{}
		if hold {
			c.Close()
			continue
		}
		l, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, l)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(l, c)
			l.Close()
		}()
		go func() {
			defer p.wg.Done()
			if cut > 0 {
				io.CopyN(c, l, cut)
				c.Close()
				l.Close()
				close(p.cut)
				return
			}
			io.Copy(c, l)
			c.Close()
		}()
	}
}

// storedState is the zxid and digest of the tree an engine holds.
func storedState(t *testing.T, eng storage.Engine) (int64, int64) {
	t.Helper()
	tr, _, err := persist.LoadTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	return tr.LastZxid(), tr.Digest()
}

// TestSnapForcedAndCut runs against a leader with
// zookeeper.forceSnapshotSync=true, through a proxy on its quorum port:
// a restart that would otherwise DIFF takes the SNAP path and ends equal to
// the leader; a connection cut inside the snapshot body leaves the tree and
// the engine exactly as they were, and the next sync repairs everything.
func TestSnapForcedAndCut(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{
		ExtraServers: []ensemble.ServerSpec{{}},
		JVMFlags:     []string{"-Dzookeeper.forceSnapshotSync=true"},
	})
	sid := e.Extras()[0].ID
	seedTree(t, e, seedZnodes, seedBytes)
	leader, err := e.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	px := newCutProxy(t, leader.QuorumAddr)
	le := ensembleOf(e)
	le.Voters = []learner.Peer{{SID: int64(leader.ID), QuorumAddr: px.addr()}}
	eng, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })

	// matches checks an observer against the leader at quiesce. (Reading
	// the leader's tree through a client adds session txns after it.)
	matches := func(o *running) int64 {
		t.Helper()
		zxid := quiesceZxid(t, leader)
		waitZxid(t, o, zxid)
		if got, want := o.Tree().Digest(), logDigest(t, leader, zxid); got != want || o.Tree().LastZxid() != zxid {
			t.Fatalf("at %#x: digest %d, leader's %d (observer at %#x)", zxid, got, want, o.Tree().LastZxid())
		}
		if !zktest.SameTree(t, sid, zktest.TreeAsClientSees(o.Tree()), zktest.ReadTree(t, leader.ClientAddr)) {
			t.Fatal("trees differ")
		}
		return zxid
	}

	// A first observer syncs (SNAP from 0) and stops.
	o := startObserverOn(t, le, sid, eng)
	if rep := waitSynced(t, o, o.NextSync()); rep.Mode != learner.SyncSnap || rep.From != 0 {
		t.Fatalf("first sync %+v", rep)
	}
	px.waitAccepts(1)
	had := matches(o)
	o.stop(t)
	zxid, digest := storedState(t, eng)
	if want := logDigest(t, leader, zxid); zxid < had || digest != want {
		t.Fatalf("stored %#x digest %d after a clean stop; observer was at %#x, leader's digest there %d", zxid, digest, had, want)
	}

	// The ensemble moves on: a restart would be a DIFF but for the flag.
	writeSome(t, e, "/between", 50)

	// The next session is cut inside the snapshot body.
	const cutAt = 300_000 // of about 1 MB of snapshot
	px.cutNext(cutAt)
	o = startObserverOn(t, le, sid, eng)
	px.waitAccepts(1)
	select {
	case <-px.cut:
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy never cut the SNAP")
	}
	px.waitAccepts(1) // the observer is back: the cut session is over
	if z, d := o.Tree().LastZxid(), o.Tree().Digest(); z != zxid || d != digest {
		t.Errorf("after the cut the tree is at %#x digest %d, was %#x %d", z, d, zxid, digest)
	}
	if m := o.Metrics().Snapshot(); m.SnapCount != 0 || m.State == Observing {
		t.Errorf("after the cut: %+v", m)
	}
	o.stop(t)
	if z, d := storedState(t, eng); z != zxid || d != digest {
		t.Errorf("after the cut the engine holds %#x digest %d, held %#x %d", z, d, zxid, digest)
	}

	// Traffic flows again: the next start resyncs by SNAP from its zxid.
	px.release()
	o = startObserverOn(t, le, sid, eng)
	rep := waitSynced(t, o, o.NextSync())
	if rep.Mode != learner.SyncSnap || rep.From != zxid {
		t.Errorf("resync %+v, want a SNAP from %#x", rep, zxid)
	}
	now := matches(o)
	o.stop(t)
	if z, d := storedState(t, eng); z < now || d != logDigest(t, leader, z) {
		t.Errorf("engine at %#x digest %d after the resync; observer was at %#x", z, d, now)
	}
	log, err := leader.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Sending snapshot last zxid of peer is 0x%x,", zxid); !strings.Contains(log, want) {
		t.Errorf("leader log lacks %q", want)
	}
	t.Logf("stored %#x before the cut; resync %+v", zxid, rep)
}
