package learner

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// A fake leader: the test plays the leader's side of the protocol, byte by
// byte, for what a real 3.8 leader cannot be made to do.

const fakeTimeout = 10 * time.Second

// fakeLeader listens on a loopback quorum port.
type fakeLeader struct {
	t  *testing.T
	ln net.Listener
}

func newFakeLeader(t *testing.T) *fakeLeader {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeLeader{t: t, ln: ln}
}

func (f *fakeLeader) peer() Peer { return Peer{SID: 1, QuorumAddr: f.ln.Addr().String()} }

// accept waits for the learner's next connection.
func (f *fakeLeader) accept() *leaderConn {
	f.t.Helper()
	f.ln.(*net.TCPListener).SetDeadline(time.Now().Add(fakeTimeout))
	c, err := f.ln.Accept()
	if err != nil {
		f.t.Fatalf("fake leader: accept: %v", err)
	}
	f.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(fakeTimeout))
	return &leaderConn{t: f.t, c: c, pr: proto.NewPacketReader(bufio.NewReader(c), 0)}
}

// leaderConn is the leader's end of one learner connection.
type leaderConn struct {
	t  *testing.T
	c  net.Conn
	pr *proto.PacketReader
}

func (l *leaderConn) read(want proto.PacketType) *proto.QuorumPacket {
	l.t.Helper()
	p, err := l.pr.Read()
	if err != nil {
		l.t.Fatalf("fake leader: reading %v: %v", want, err)
	}
	if p.Type != want {
		l.t.Fatalf("fake leader: got %v (zxid %#x), want %v", p.Type, p.Zxid, want)
	}
	return p
}

func (l *leaderConn) send(typ proto.PacketType, zxid int64, data []byte) {
	l.t.Helper()
	e := jute.NewEncoder(nil)
	(&proto.QuorumPacket{Type: typ, Zxid: zxid, Data: data}).Encode(e)
	l.write(e.Bytes())
}

func (l *leaderConn) write(b []byte) {
	l.t.Helper()
	if _, err := l.c.Write(b); err != nil {
		l.t.Fatalf("fake leader: write: %v", err)
	}
}

// handshake reads OBSERVERINFO, answers LEADERINFO for epoch, and returns
// the ACKEPOCH.
func (l *leaderConn) handshake(epoch int64) (info *proto.QuorumPacket, ack *proto.QuorumPacket) {
	l.t.Helper()
	info = l.read(proto.PacketObserverInfo)
	l.send(proto.PacketLeaderInfo, proto.MakeZxid(epoch, 0), binary.BigEndian.AppendUint32(nil, proto.ProtocolVersion))
	return info, l.read(proto.PacketAckEpoch)
}

// expectClosed waits for the learner to close the connection.
func (l *leaderConn) expectClosed() {
	l.t.Helper()
	p, err := l.pr.Read()
	if err == nil {
		l.t.Fatalf("fake leader: got %v, want the learner to close the connection", p.Type)
	}
}

// snapBody is the snapshot a SNAP streams: root, /zookeeper, /a with data.
func snapBody(t *testing.T, zxid int64) []byte {
	t.Helper()
	var b strings.Builder
	w := snapshot.NewBodyWriter(&b)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteSessions(nil))
	must(w.WriteACLs(nil))
	for _, n := range []snapshot.Node{
		{Path: "", Data: []byte{}, ACL: snapshot.OpenACLIndex},
		{Path: "/zookeeper", Data: []byte{}, ACL: snapshot.OpenACLIndex},
		{Path: "/a", Data: []byte("from the snap"), ACL: snapshot.OpenACLIndex,
			Stat: proto.StatPersisted{Czxid: zxid, Mzxid: zxid, Pzxid: zxid}},
	} {
		must(w.WriteNode(&n))
	}
	must(w.End())
	must(w.WriteSignature())
	return []byte(b.String())
}

// recSink records what the learner hands over, and resets its position on
// TRUNC as an observer must (learner.Observer's contract).
type recSink struct {
	mu       sync.Mutex
	pos      Position
	snaps    []int64
	trees    []*tree.DataTree
	disc     []error
	reports  []SyncReport
	uptodate chan SyncReport
}

func newRecSink(pos Position) *recSink {
	return &recSink{pos: pos, uptodate: make(chan SyncReport, 8)}
}

func (s *recSink) Position() Position { s.mu.Lock(); defer s.mu.Unlock(); return s.pos }
func (s *recSink) AcceptEpoch(e int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos.AcceptedEpoch = e
	return nil
}
func (s *recSink) Diff(int64) error { return nil }
func (s *recSink) Snap(zxid int64, t *tree.DataTree) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos.LastZxid = zxid
	s.snaps = append(s.snaps, zxid)
	s.trees = append(s.trees, t)
	return nil
}
func (s *recSink) Txn(txn *proto.Txn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos.LastZxid = txn.Header.Zxid
	return nil
}
func (s *recSink) NewLeader(e int64, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos.CurrentEpoch = e
	return nil
}
func (s *recSink) UpToDate(r SyncReport) error {
	s.mu.Lock()
	s.reports = append(s.reports, r)
	s.mu.Unlock()
	s.uptodate <- r
	return nil
}

// Touches returns nil: the learner must still send a non-null buffer.
func (s *recSink) Touches([]byte) []byte       { return nil }
func (s *recSink) Connected(Peer, func(error)) {}
func (s *recSink) Disconnected(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disc = append(s.disc, err)
	var trunc *TruncError
	if errors.As(err, &trunc) {
		s.pos.LastZxid = 0 // the observer drops its state
	}
}

func fakeConfig(t *testing.T, f *fakeLeader) *Config {
	return &Config{
		Ensemble: Ensemble{Voters: []Peer{f.peer()}, TickTime: 100 * time.Millisecond, InitLimit: 20, SyncLimit: 20},
		SID:      5,
		Logger:   zerolog.New(zerolog.NewTestWriter(t)),
	}
}

// pingReply sends a PING and checks the reply echoes its zxid with a
// non-null (here empty) buffer: a 3.8 leader's handler throws on null.
func (l *leaderConn) pingReply(zxid int64) {
	l.t.Helper()
	l.send(proto.PacketPing, zxid, nil)
	p := l.read(proto.PacketPing)
	if p.Zxid != zxid {
		l.t.Errorf("PING reply zxid %#x, want %#x", p.Zxid, zxid)
	}
	if p.Data == nil {
		l.t.Errorf("PING reply carries null data (a 3.8 leader throws NullPointerException on it)")
	} else if len(p.Data) != 0 {
		l.t.Errorf("PING reply data %x, want empty (no sessions)", p.Data)
	}
}

// TestTruncResetsAndSnaps: a TRUNC ends the session with *TruncError; the
// observer resets, and the next session reports zxid 0 and gets a SNAP.
func TestTruncResetsAndSnaps(t *testing.T) {
	f := newFakeLeader(t)
	cfg := fakeConfig(t, f)
	const had = 0x100000005
	sink := newRecSink(Position{LastZxid: had, AcceptedEpoch: 1, CurrentEpoch: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, sink, sink, Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()

	// Session 1: epoch 2 is new, so ACKEPOCH carries currentEpoch 1.
	l := f.accept()
	info, ack := l.handshake(2)
	if info.Zxid != proto.MakeZxid(1, 0) {
		t.Errorf("OBSERVERINFO zxid %#x, want acceptedEpoch<<32", info.Zxid)
	}
	var li proto.LearnerInfo
	if err := jute.Unmarshal(info.Data, &li); err != nil || li.ServerID != 5 || li.ProtocolVersion != proto.ProtocolVersion || li.ConfigVersion != 0 {
		t.Errorf("LearnerInfo %+v (%v)", li, err)
	}
	if ack.Zxid != had || binary.BigEndian.Uint32(ack.Data) != 1 {
		t.Errorf("ACKEPOCH zxid %#x epoch %x, want %#x and 1", ack.Zxid, ack.Data, had)
	}
	l.send(proto.PacketTrunc, 0x100000003, nil)
	l.expectClosed()

	// Session 2: epoch 2 already accepted (-1); the position is reset.
	l = f.accept()
	info, ack = l.handshake(2)
	if info.Zxid != proto.MakeZxid(2, 0) {
		t.Errorf("second OBSERVERINFO zxid %#x, want 2<<32", info.Zxid)
	}
	if ack.Zxid != 0 || int32(binary.BigEndian.Uint32(ack.Data)) != -1 {
		t.Errorf("ACKEPOCH after TRUNC: zxid %#x epoch %x, want 0 and -1", ack.Zxid, ack.Data)
	}
	snapZxid := proto.MakeZxid(2, 7)
	l.send(proto.PacketSnap, snapZxid, nil)
	l.write(snapBody(t, snapZxid))
	l.send(proto.PacketNewLeader, proto.MakeZxid(2, 0), []byte("server.1=127.0.0.1:1:2:participant\nversion=0"))
	if a := l.read(proto.PacketAck); a.Zxid != proto.MakeZxid(2, 0) {
		t.Errorf("NEWLEADER ACK zxid %#x", a.Zxid)
	}
	l.pingReply(snapZxid) // during sync, after the NEWLEADER ACK
	l.send(proto.PacketUpToDate, -1, nil)
	if a := l.read(proto.PacketAck); a.Zxid != proto.MakeZxid(2, 0) {
		t.Errorf("UPTODATE ACK zxid %#x", a.Zxid)
	}
	var rep SyncReport
	select {
	case rep = <-sink.uptodate:
	case <-time.After(fakeTimeout):
		t.Fatal("no UpToDate")
	}
	if rep.Mode != SyncSnap || rep.From != 0 || rep.SnapZxid != snapZxid || rep.Epoch != 2 {
		t.Errorf("sync report %+v", rep)
	}
	l.pingReply(snapZxid + 1) // steady state

	sink.mu.Lock()
	defer sink.mu.Unlock()
	var trunc *TruncError
	if len(sink.disc) != 1 || !errors.As(sink.disc[0], &trunc) || trunc.Zxid != 0x100000003 {
		t.Errorf("disconnects %v, want one *TruncError at 0x100000003", sink.disc)
	}
	if len(sink.trees) != 1 {
		t.Fatalf("%d snaps", len(sink.trees))
	}
	sink.trees[0].View(func(v tree.View) {
		if n, ok := v.Node("/a"); !ok || string(n.Data) != "from the snap" || v.LastZxid() != snapZxid {
			t.Errorf("snap tree: /a %v %v, zxid %#x", n, ok, v.LastZxid())
		}
	})
	if sink.pos.CurrentEpoch != 2 || sink.pos.AcceptedEpoch != 2 {
		t.Errorf("epochs %+v", sink.pos)
	}
}

// TestGarbageAfterUpToDate: bytes that are no packet, after a completed
// sync, end the session with an error that says what was wrong.
func TestGarbageAfterUpToDate(t *testing.T) {
	f := newFakeLeader(t)
	cfg := fakeConfig(t, f)
	sink := newRecSink(Position{})
	c, err := net.Dial("tcp", f.peer().QuorumAddr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Follow(context.Background(), cfg, c, f.peer(), sink) }()

	l := f.accept()
	l.handshake(1)
	l.send(proto.PacketDiff, proto.MakeZxid(1, 0), nil)
	l.send(proto.PacketNewLeader, proto.MakeZxid(1, 0), nil)
	l.read(proto.PacketAck)
	l.send(proto.PacketUpToDate, -1, nil)
	l.read(proto.PacketAck)
	l.pingReply(proto.MakeZxid(1, 0))
	// An HTTP error page where a packet should be: type 0x48545450, then a
	// zxid of "/1.1 400", then a data length of " Bad" (541 MB).
	l.write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	select {
	case err = <-done:
	case <-time.After(fakeTimeout):
		t.Fatal("the session survived garbage")
	}
	if err == nil || !errors.Is(err, jute.ErrTooLarge) || !strings.Contains(err.Error(), "541221220") {
		t.Fatalf("Follow after garbage: %v", err)
	}
	t.Logf("error: %v", err)
	l.expectClosed()
	if len(sink.reports) != 1 || sink.reports[0].Mode != SyncDiff {
		t.Errorf("reports %+v", sink.reports)
	}
}
