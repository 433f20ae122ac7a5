package learner

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// fwdSink follows the leader and records what comes back for forwarded
// requests.
type fwdSink struct {
	pos      Position
	attached chan *Forwarder
	txns     chan *proto.Txn
	syncs    chan struct{}
	revals   chan [2]int64 // id, valid
}

func (s *fwdSink) Position() Position                  { return s.pos }
func (s *fwdSink) AcceptEpoch(e int64) error           { s.pos.AcceptedEpoch = e; return nil }
func (s *fwdSink) Diff(int64) error                    { return nil }
func (s *fwdSink) Snap(int64, *tree.DataTree) error    { return nil }
func (s *fwdSink) NewLeader(e int64, _ []byte) error   { s.pos.CurrentEpoch = e; return nil }
func (s *fwdSink) UpToDate(SyncReport) error           { return nil }
func (s *fwdSink) Touches(dst []byte) []byte           { return dst }
func (s *fwdSink) Attach(f *Forwarder)                 { s.attached <- f }
func (s *fwdSink) Detach()                             {}
func (s *fwdSink) Synced() error                       { s.syncs <- struct{}{}; return nil }
func (s *fwdSink) Txn(txn *proto.Txn) error            { s.txns <- txn; return nil }
func (s *fwdSink) Revalidated(id int64, ok bool) error { s.revals <- [2]int64{id, b2i(ok)}; return nil }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestForwardToRealLeader: createSession, a create under that session,
// sync, and REVALIDATE, forwarded to a real 3.8 leader, come back as Java's
// learner would see them: the txns INFORMed with our session id and cxid, a
// SYNC, and REVALIDATE answers for a live and an unknown session.
func TestForwardToRealLeader(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{}}})
	var ens Ensemble
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			ens.Voters = append(ens.Voters, Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr})
		}
	}
	o := e.Options()
	ens.TickTime, ens.InitLimit, ens.SyncLimit = time.Duration(o.TickTime)*time.Millisecond, o.InitLimit, o.SyncLimit
	if ens.InitLimit == 0 {
		ens.InitLimit, ens.SyncLimit = 10, 5
	}
	sid := int64(e.Extras()[0].ID)
	sink := &fwdSink{attached: make(chan *Forwarder, 1), txns: make(chan *proto.Txn, 1024), syncs: make(chan struct{}, 4), revals: make(chan [2]int64, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, leader, err := Discover(ctx, ens, sid, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, &Config{Ensemble: ens, SID: sid}, conn, leader, sink) }()
	defer func() { cancel(); <-done }()
	var f *Forwarder
	select {
	case f = <-sink.attached:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("not synced")
	}
	next := func(want proto.OpCode) *proto.Txn {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case txn := <-sink.txns:
				if txn.Header.Type == want {
					return txn
				}
			case <-deadline:
				t.Fatalf("no %v txn", want)
			}
		}
	}
	const id = int64(0x7f00000000000001) // a session id of our own making
	timeout := binary.BigEndian.AppendUint32(nil, 30000)
	if err := f.Request(id, 0, proto.OpCreateSession, timeout, nil); err != nil {
		t.Fatal(err)
	}
	if txn := next(proto.OpCreateSession); txn.Header.ClientID != id || txn.Body.(*proto.CreateSessionTxn).TimeOut != 30000 {
		t.Fatalf("createSession txn %+v %+v", txn.Header, txn.Body)
	}
	auth := []proto.Id{{Scheme: "ip", ID: "127.0.0.1"}}
	body := jute.Marshal(&proto.CreateRequest{Path: "/forwarded", Data: []byte("hi"), ACL: proto.OpenACLUnsafe, Flags: 1})
	if err := f.Request(id, 7, proto.OpCreate, body, auth); err != nil {
		t.Fatal(err)
	}
	txn := next(proto.OpCreate)
	if c := txn.Body.(*proto.CreateTxn); txn.Header.ClientID != id || txn.Header.Cxid != 7 || c.Path != "/forwarded" || !c.Ephemeral {
		t.Fatalf("create txn %+v %+v", txn.Header, c)
	}
	if err := f.Request(id, 8, proto.OpSync, jute.Marshal(&proto.SyncRequest{Path: "/"}), auth); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sink.syncs:
	case <-time.After(20 * time.Second):
		t.Fatal("no SYNC")
	}
	for _, c := range []struct {
		id    int64
		valid int64
	}{{id, 1}, {0x7f00000000000bad, 0}} {
		if err := f.Revalidate(c.id, 30000); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-sink.revals:
			if got != [2]int64{c.id, c.valid} {
				t.Fatalf("REVALIDATE %#x: %v", c.id, got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no REVALIDATE answer")
		}
	}
}
