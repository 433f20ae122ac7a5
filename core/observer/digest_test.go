package observer

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// digestLeader is a fake leader for what a real one never does: send a txn
// whose digest disagrees with the tree it describes.
type digestLeader struct {
	t     *testing.T
	ln    net.Listener
	tree  *tree.DataTree // the leader's state
	epoch int64
	peers chan int64 // the zxid each session's ACKEPOCH reported
}

func (l *digestLeader) send(w *bufio.Writer, typ proto.PacketType, zxid int64, data []byte) {
	p := proto.QuorumPacket{Type: typ, Zxid: zxid, Data: data}
	w.Write(jute.Marshal(&p))
	w.Flush()
}

// commit applies a create to the leader's tree and returns it as an INFORM
// payload carrying the digest after it, plus skew.
func (l *digestLeader) commit(path string, skew int64) (int64, []byte) {
	zxid := l.tree.LastZxid() + 1
	txn := &proto.Txn{
		Header: proto.TxnHeader{ClientID: 1, Zxid: zxid, Time: time.Now().UnixMilli(), Type: proto.OpCreate},
		Body:   &proto.CreateTxn{Path: path, Data: []byte(path), ACL: proto.OpenACLUnsafe, ParentCVersion: -1},
	}
	if rc := l.tree.Apply(txn); rc.Err != 0 {
		l.t.Errorf("fake leader: create %s: %v", path, rc.Err)
	}
	txn.Digest = &proto.TxnDigest{Version: digestVersion, TreeDigest: l.tree.Digest() + skew}
	return zxid, jute.Marshal(txn)
}

// serve runs sessions: each syncs the observer (SNAP from zxid 0, else
// DIFF) and informs it of one good txn; the first session then sends a txn
// with a wrong digest.
func (l *digestLeader) serve() {
	for session := 0; ; session++ {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.session(c, session)
	}
}

func (l *digestLeader) session(c net.Conn, session int) {
	defer c.Close()
	pr := proto.NewPacketReader(bufio.NewReaderSize(c, 1<<16), 0)
	w := bufio.NewWriter(c)
	expect := func(typ proto.PacketType) *proto.QuorumPacket {
		p, err := pr.Read()
		if err != nil || p.Type != typ {
			l.t.Errorf("fake leader, session %d: want %v, got %v (%v)", session, typ, p, err)
			return nil
		}
		return p
	}
	if expect(proto.PacketObserverInfo) == nil {
		return
	}
	l.send(w, proto.PacketLeaderInfo, proto.MakeZxid(l.epoch, 0), binary.BigEndian.AppendUint32(nil, proto.ProtocolVersion))
	ack := expect(proto.PacketAckEpoch)
	if ack == nil {
		return
	}
	l.peers <- ack.Zxid
	if ack.Zxid == 0 {
		l.send(w, proto.PacketSnap, l.tree.LastZxid(), nil)
		if err := snapshot.WriteSNAPBody(w, l.tree); err != nil {
			l.t.Error(err)
			return
		}
	} else {
		l.send(w, proto.PacketDiff, l.tree.LastZxid(), nil)
	}
	zxid, txn := l.commit(fmtPath("/good", session), 0)
	l.send(w, proto.PacketInform, zxid, txn)
	l.send(w, proto.PacketNewLeader, proto.MakeZxid(l.epoch, 0), []byte("version=0"))
	expect(proto.PacketAck)
	l.send(w, proto.PacketUpToDate, -1, nil)
	expect(proto.PacketAck)
	if session == 0 {
		// One leader digest off, then right again: the leader's own
		// misprediction, as 3.8 leaders produce now and then; no resync.
		zxid, txn := l.commit("/once", 1)
		l.send(w, proto.PacketInform, zxid, txn)
		zxid, txn = l.commit("/fine", 0)
		l.send(w, proto.PacketInform, zxid, txn)
		// Then digestStrikes in a row: a diverged tree.
		for i := 0; i < digestStrikes; i++ {
			zxid, txn := l.commit(fmtPath("/bad", i), 1)
			l.send(w, proto.PacketInform, zxid, txn)
		}
	}
	// Until the observer hangs up (or the test ends).
	io.Copy(io.Discard, c)
}

func fmtPath(p string, n int) string { return p + string(rune('0'+n)) }

// TestDigestMismatchResyncs: every leader digest that differs from the
// tree's is counted and logged; a single one followed by agreement is the
// leader's (no resync), while digestStrikes in a row mean a diverged tree:
// it is dropped and the observer syncs again from zxid 0 (a SNAP), ending
// equal to the leader.
func TestDigestMismatchResyncs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &digestLeader{t: t, ln: ln, tree: tree.New(tree.Options{}), epoch: 1, peers: make(chan int64, 8)}
	for i := 0; i < 3; i++ {
		l.commit(fmtPath("/seed", i), 0)
	}
	go l.serve()

	o, err := New(Config{
		Learner: learner.Config{SID: 9, Ensemble: learner.Ensemble{
			Voters:   []learner.Peer{{SID: 1, QuorumAddr: ln.Addr().String()}},
			TickTime: 100 * time.Millisecond, InitLimit: 20, SyncLimit: 20,
		}},
		Engine:  memory.New(),
		Backoff: learner.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond},
		Logger:  zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A clock that advances 3 s at every reading: the three differences in
	// a row then span digestStreak.
	clock := time.Unix(1_800_000_000, 0)
	o.now = func() time.Time { clock = clock.Add(3 * time.Second); return clock }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for i, want := range []int64{0, 0} {
		select {
		case got := <-l.peers:
			if got != want {
				t.Fatalf("session %d reported zxid %#x, want %#x (the mismatch must reset the state)", i, got, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no session %d", i)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for o.Metrics().Snapshot().SnapCount < 2 || o.Tree().LastZxid() < l.tree.LastZxid() {
		if time.Now().After(deadline) {
			t.Fatalf("observer at %#x after the resync, metrics %+v", o.Tree().LastZxid(), o.Metrics().Snapshot())
		}
		time.Sleep(5 * time.Millisecond) // polling the observer's state
	}
	m := o.Metrics().Snapshot()
	if m.DigestMismatches != 1+digestStrikes || m.State != Observing {
		t.Errorf("metrics %+v", m)
	}
	if got, want := o.Tree().Digest(), l.tree.Digest(); got != want {
		t.Errorf("digest after the resync %d, leader's %d", got, want)
	}
}

// TestDigestStreak: the tree counts as diverged only after digestStrikes
// differences in a row spread over digestStreak; a burst that the leader's
// pipeline explains (milliseconds) does not count, however many.
func TestDigestStreak(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name string
		at   []time.Duration // when each difference in the streak comes
		want []bool
	}{
		{"one", []time.Duration{0}, []bool{false}},
		{"burst of three", []time.Duration{0, time.Millisecond, 2 * time.Millisecond}, []bool{false, false, false}},
		{"burst of ten", []time.Duration{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []bool{false, false, false, false, false, false, false, false, false, false}},
		{"three over the streak", []time.Duration{0, 2 * time.Second, digestStreak}, []bool{false, false, true}},
		{"two over a long time", []time.Duration{0, time.Hour}, []bool{false, false}},
		{"burst, then still differing later", []time.Duration{0, 1, 2, digestStreak + 2}, []bool{false, false, false, true}},
	} {
		var d digestStreakState
		for i, at := range c.at {
			if got := d.mismatch(t0.Add(at)); got != c.want[i] {
				t.Errorf("%s: difference %d at %v: diverged %v, want %v", c.name, i, at, got, c.want[i])
			}
		}
	}
}

// TestProbeSkipsBogusAcceptor: a voter whose quorum port accepts and
// closes at once (not the leader: a leader still establishing, or another
// process on the port) does not keep the observer from the real leader:
// after it fails the handshake it is tried last.
func TestProbeSkipsBogusAcceptor(t *testing.T) {
	bogus, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bogus.Close()
	go func() {
		for {
			c, err := bogus.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &digestLeader{t: t, ln: ln, tree: tree.New(tree.Options{}), epoch: 1, peers: make(chan int64, 8)}
	l.commit("/seed", 0)
	go l.serve()
	o, err := New(Config{
		Learner: learner.Config{SID: 9, Ensemble: learner.Ensemble{
			Voters: []learner.Peer{
				{SID: 1, QuorumAddr: bogus.Addr().String()},
				{SID: 2, QuorumAddr: ln.Addr().String()},
			},
			TickTime: 100 * time.Millisecond, InitLimit: 20, SyncLimit: 20,
		}},
		Engine:  memory.New(),
		Backoff: learner.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond},
		Logger:  zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	synced := o.NextSync()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-synced:
	case <-time.After(20 * time.Second):
		t.Fatal("never synced with the real leader behind a bogus acceptor")
	}
	if got := o.LastSync().Leader.SID; got != 2 {
		t.Fatalf("synced with sid %d, want 2", got)
	}
}
