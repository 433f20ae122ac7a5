package observer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// ensembleOf describes the harness's voters to the learner.
func ensembleOf(e *ensemble.Ensemble) learner.Ensemble {
	o := e.Options()
	le := learner.Ensemble{
		TickTime:  time.Duration(o.TickTime) * time.Millisecond,
		InitLimit: o.InitLimit, SyncLimit: o.SyncLimit,
	}
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			le.Voters = append(le.Voters, learner.Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr})
		}
	}
	return le
}

// running is an observer run by a test.
type running struct {
	*Observer
	cancel context.CancelFunc
	done   chan error
}

func startObserver(t *testing.T, e *ensemble.Ensemble, sid int, eng storage.Engine) *running {
	t.Helper()
	return startObserverOn(t, ensembleOf(e), sid, eng)
}

// startObserverOn runs an observer of the ensemble le describes (e.g. with
// a proxy's address for the leader's quorum port).
func startObserverOn(t *testing.T, le learner.Ensemble, sid int, eng storage.Engine) *running {
	t.Helper()
	if le.InitLimit == 0 {
		le.InitLimit, le.SyncLimit = 10, 5
	}
	o, err := New(Config{
		Learner: learner.Config{Ensemble: le, SID: int64(sid), Tree: tree.Options{ExtendedTypes: true}},
		Engine:  eng,
		Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Int("observer", sid).Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Observer: o, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- o.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("observer Run: %v", err)
	}
}

// waitSynced waits for the observer's next UPTODATE (or its first, if it
// already had one).
func waitSynced(t *testing.T, r *running, ch <-chan struct{}) learner.SyncReport {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("observer not synced after 60s (state %v)", r.State())
	}
	return r.LastSync()
}

var srvrZxid = regexp.MustCompile(`Zxid: (0x[0-9a-f]+)`)

// serverZxid returns a Java server's last processed zxid (srvr).
func serverZxid(t *testing.T, e *ensemble.Ensemble, id int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := e.FourLetter(ctx, id, "srvr")
	if err != nil {
		t.Fatalf("srvr on %d: %v", id, err)
	}
	m := srvrZxid.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("srvr on %d: no zxid in %q", id, out)
	}
	z, _ := strconv.ParseInt(m[1][2:], 16, 64)
	return z
}

// waitZxid waits until the observer has applied zxid.
func waitZxid(t *testing.T, r *running, zxid int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.Tree().LastZxid() < zxid {
		if time.Now().After(deadline) {
			t.Fatalf("observer at %#x, want %#x", r.Tree().LastZxid(), zxid)
		}
		time.Sleep(10 * time.Millisecond) // polling real state under a deadline
	}
}

// logDigest returns the digest the Java server logged with its txn at
// zxid (every 3.8 log entry carries the tree digest after that txn).
func logDigest(t *testing.T, n *ensemble.Node, zxid int64) int64 {
	t.Helper()
	lr, err := snapshot.OpenLogs(filepath.Join(n.DataDir, "version-2"), zxid, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	for {
		ent, err := lr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("server %d: no log entry for %#x", n.ID, zxid)
		}
		if err != nil {
			t.Fatal(err)
		}
		if ent.Zxid != zxid {
			continue
		}
		txn, err := proto.DecodeTxn(ent.Raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		if txn.Digest == nil {
			t.Fatalf("server %d: txn %#x has no digest", n.ID, zxid)
		}
		return txn.Digest.TreeDigest
	}
}

// writeLoad runs clients writing through the Java servers until stop is
// closed; it returns the number of writes made.
func writeLoad(t *testing.T, e *ensemble.Ensemble, clients int, stop <-chan struct{}) func() int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for c := 0; c < clients; c++ {
		conn := zktest.Connect(t, e.ClientAddrs()[c%len(e.ClientAddrs())], 10*time.Second, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := fmt.Sprintf("/load%d", c)
			if _, err := conn.Create(base, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				t.Errorf("create %s: %v", base, err)
				return
			}
			n := 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					total += n
					mu.Unlock()
					return
				default:
				}
				p := fmt.Sprintf("%s/n%d", base, i%50)
				var err error
				switch i % 4 {
				case 0, 1:
					_, err = conn.Create(p, []byte(p), 0, zk.WorldACL(zk.PermAll))
					if errors.Is(err, zk.ErrNodeExists) {
						_, err = conn.Set(p, []byte("again"), -1)
					}
				case 2:
					_, err = conn.Set(p, make([]byte, i%700), -1)
				case 3:
					err = conn.Delete(p, -1)
				}
				if err != nil && !errors.Is(err, zk.ErrNoNode) {
					t.Errorf("%s: %v", p, err)
					return
				}
				n++
			}
		}()
	}
	return func() int { wg.Wait(); return total }
}

// TestFreshObserverSnapsAndTracks: a fresh observer joins a real 3-voter
// ensemble under write load, gets a SNAP, tracks the load, and at quiesce
// holds the leader's zxid, digest and tree.
func TestFreshObserverSnapsAndTracks(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{}}})
	obsNode := e.Extras()[0]
	stop := make(chan struct{})
	wait := writeLoad(t, e, 3, stop)

	o := startObserver(t, e, obsNode.ID, memory.New())
	rep := waitSynced(t, o, o.NextSync())
	if rep.Mode != learner.SyncSnap {
		t.Errorf("fresh observer synced by %v, want SNAP", rep.Mode)
	}
	// Keep writing while the observer observes.
	start := o.Metrics().Snapshot().TxnsApplied
	for o.Metrics().Snapshot().TxnsApplied-start < 500 {
		select {
		case <-time.After(30 * time.Second):
			t.Fatal("observer applies nothing")
		case <-time.After(20 * time.Millisecond):
		}
	}
	close(stop)
	writes := wait()
	leader, err := e.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	zxid := quiesceZxid(t, leader)
	waitZxid(t, o, zxid)
	if got, want := o.Tree().Digest(), logDigest(t, leader, zxid); got != want {
		t.Errorf("digest at %#x: ours %d, leader's %d", zxid, got, want)
	}
	m := o.Metrics().Snapshot()
	if m.DigestMismatches != 0 || m.SnapCount != 1 || m.State != Observing {
		t.Errorf("metrics %+v", m)
	}
	if !zktest.SameTree(t, obsNode.ID, zktest.TreeAsClientSees(o.Tree()), zktest.ReadTree(t, leader.ClientAddr)) {
		t.Error("trees differ")
	}
	t.Logf("%d client writes; sync %+v; %d txns applied after it", writes, rep, m.TxnsApplied)
}
