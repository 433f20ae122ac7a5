package rotest

import (
	"net"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/server"
)

// TestReadOnlyOpcodes: in read-only mode every request Java's
// ReadOnlyRequestProcessor refuses gets NOTREADONLY with the served zxid,
// reads are answered, a client that is not read-only is refused, and a
// local session's closeSession still works. Frame by frame, in one
// session, so the order of the answers is checked too.
func TestReadOnlyOpcodes(t *testing.T) {
	e := startEnsemble(t)
	z := startObserver(t, voters(e, nil), 24)
	ids := javaIDs(e)
	w := writer(t, e.Node(ids[0]).ClientAddr)
	must(t, create(w, "/o", "data"), "create /o")
	raw := dialReadOnly(t, z.addr)
	for _, id := range ids[1:] {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	raw.waitState(1, 30*time.Second)
	z.waitMode(t, server.ModeReadOnly, time.Second)
	served := z.o.Tree().LastZxid()
	acl := proto.OpenACLUnsafe
	for _, tc := range []struct {
		name string
		op   proto.OpCode
		req  jute.Record
		want proto.ErrCode
	}{
		{"create", proto.OpCreate, &proto.CreateRequest{Path: "/o/c", ACL: acl}, proto.ErrNotReadOnly},
		{"create ephemeral", proto.OpCreate, &proto.CreateRequest{Path: "/o/e", ACL: acl, Flags: 1}, proto.ErrNotReadOnly},
		{"create2", proto.OpCreate2, &proto.CreateRequest{Path: "/o/c", ACL: acl}, proto.ErrNotReadOnly},
		{"createContainer", proto.OpCreateContainer, &proto.CreateRequest{Path: "/o/c", ACL: acl, Flags: 4}, proto.ErrNotReadOnly},
		{"delete", proto.OpDelete, &proto.DeleteRequest{Path: "/o", Version: -1}, proto.ErrNotReadOnly},
		{"setData", proto.OpSetData, &proto.SetDataRequest{Path: "/o", Version: -1}, proto.ErrNotReadOnly},
		{"setACL", proto.OpSetACL, &proto.SetACLRequest{Path: "/o", ACL: acl, Version: -1}, proto.ErrNotReadOnly},
		{"check", proto.OpCheck, &proto.CheckVersionRequest{Path: "/o", Version: -1}, proto.ErrNotReadOnly},
		{"multi", proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{{Type: proto.OpCheck, Op: &proto.CheckVersionRequest{Path: "/o", Version: -1}}}}, proto.ErrNotReadOnly},
		{"sync", proto.OpSync, &proto.SyncRequest{Path: "/o"}, proto.ErrNotReadOnly},
		{"getData", proto.OpGetData, &proto.GetDataRequest{Path: "/o", Watch: true}, proto.ErrOK},
		{"exists missing", proto.OpExists, &proto.ExistsRequest{Path: "/o/c", Watch: true}, proto.ErrNoNode},
		{"getChildren2", proto.OpGetChildren2, &proto.GetChildren2Request{Path: "/"}, proto.ErrOK},
		{"multiRead", proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: "/o"}}}}, proto.ErrOK},
		{"whoAmI", proto.OpWhoAmI, nil, proto.ErrOK},
	} {
		h := raw.call(tc.op, tc.req)
		if h.Err != tc.want || h.Zxid != served {
			t.Errorf("%s: err %v zxid %#x, want %v zxid %#x", tc.name, h.Err, h.Zxid, tc.want, served)
		}
	}
	// A client that is not read-only is closed without an answer.
	c, err := net.DialTimeout("tcp", z.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(proto.AppendFrame(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), HasReadOnly: true}))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("a read-write client got %d bytes in read-only mode", n)
	}
	// closeSession of the local session: answered, then closed.
	if h := raw.call(proto.OpCloseSession, nil); h.Err != proto.ErrOK {
		t.Fatalf("closeSession: %+v", h)
	}
	if _, open := <-raw.reps; open {
		t.Fatal("connection open after closeSession")
	}
}

// TestReadOnlyOff: with read-only mode off (--read-only-on-quorum-loss=false)
// the observer behaves as a Java observer: losing the leader closes every
// connection, read-only ones included, and nothing is served until the
// next sync.
func TestReadOnlyOff(t *testing.T) {
	e := startEnsemble(t)
	z := startObserverRO(t, voters(e, nil), 25, false)
	raw := dialReadOnly(t, z.addr)
	ids := javaIDs(e)
	for _, id := range ids[1:] {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case _, open := <-raw.reps:
		if open {
			t.Fatal("a reply on an idle connection")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the connection survived the leader's loss")
	}
	if got := raw.statesSeen(); len(got) != 0 {
		t.Fatalf("state events %v with read-only mode off", got)
	}
	if m := z.srv.Mode(); m != server.ModeClosed {
		t.Fatalf("mode %v without a leader, read-only mode off", m)
	}
	if got := word(t, z.addr, "isro"); got != "null" {
		t.Fatalf("isro = %q, want null (Java's answer when not serving)", got)
	}
	c, err := net.DialTimeout("tcp", z.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(proto.AppendFrame(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: true, HasReadOnly: true}))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("a read-only client got %d bytes with read-only mode off", n)
	}
}
