package server_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
)

// firstHost is a go-zookeeper HostProvider that tries first before the
// others (go-zookeeper shuffles the servers it is given).
type firstHost struct {
	first   string
	servers []string
	next    int
}

func (h *firstHost) Init(servers []string) error {
	h.servers = []string{h.first}
	for _, s := range servers {
		if s != h.first {
			h.servers = append(h.servers, s)
		}
	}
	return nil
}
func (h *firstHost) Len() int { return len(h.servers) }
func (h *firstHost) Next() (string, bool) {
	s := h.servers[h.next%len(h.servers)]
	h.next++
	return s, h.next%len(h.servers) == 0
}
func (h *firstHost) Connected() {}

func connectFirst(t *testing.T, first string, others ...string) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, events, err := zk.Connect(append([]string{first}, others...), 4*time.Second, zk.WithLogger(quietLogger{}), zk.WithLogInfo(false),
		zk.WithHostProvider(&firstHost{first: first}))
	must(t, err, "connect")
	t.Cleanup(c.Close)
	waitState(t, events, zk.StateHasSession)
	if c.Server() != first {
		t.Fatalf("connected to %s, want %s", c.Server(), first)
	}
	return c, events
}

// TestSessionMovesBetweenServers: a session opened on zkobserver continues on
// a Java follower after zkobserver is killed, and the other way round, with
// its ephemerals.
func TestSessionMovesBetweenServers(t *testing.T) {
	e := startEnsemble(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := e.WaitForLeader(ctx)
	must(t, err, "leader")
	var follower int
	for _, n := range e.Nodes() {
		if n.ID != leader.ID {
			follower = n.ID
			break
		}
	}
	java := e.Node(follower).ClientAddr
	acl := zk.WorldACL(zk.PermAll)

	// zkobserver -> Java.
	z := startObs(t, e, obsOpts{sid: 10})
	c, events := connectFirst(t, z.addr, java)
	id := c.SessionID()
	_, err = c.Create("/move-a", nil, zk.FlagEphemeral, acl)
	must(t, err, "create ephemeral on zkobserver")
	z.stop()
	waitState(t, events, zk.StateHasSession)
	if c.Server() != java || c.SessionID() != id {
		t.Fatalf("after the kill: server %s session %#x, want %s %#x", c.Server(), c.SessionID(), java, id)
	}
	_, st, err := c.Get("/move-a")
	must(t, err, "ephemeral after moving to Java")
	if st.EphemeralOwner != id {
		t.Fatalf("owner %#x", st.EphemeralOwner)
	}
	_, err = c.Create("/move-a2", nil, zk.FlagEphemeral, acl)
	must(t, err, "write on Java")

	// Java -> zkobserver.
	z2 := startObs(t, e, obsOpts{sid: 11})
	c2, events2 := connectFirst(t, java, z2.addr)
	id2 := c2.SessionID()
	_, err = c2.Create("/move-b", nil, zk.FlagEphemeral, acl)
	must(t, err, "create ephemeral on Java")
	must(t, e.Kill(follower), "kill follower")
	waitState(t, events2, zk.StateHasSession)
	if c2.Server() != z2.addr || c2.SessionID() != id2 {
		t.Fatalf("after the kill: server %s session %#x, want %s %#x", c2.Server(), c2.SessionID(), z2.addr, id2)
	}
	_, st, err = c2.Get("/move-b")
	must(t, err, "ephemeral after moving to zkobserver")
	if st.EphemeralOwner != id2 {
		t.Fatalf("owner %#x", st.EphemeralOwner)
	}
	// The revalidation made this observer the session's owner: writes work.
	_, err = c2.Create("/move-b2", nil, zk.FlagEphemeral, acl)
	must(t, err, "write on zkobserver after the move")
	must(t, c2.Delete("/move-b", -1), "delete after the move")
}

// TestHandshake covers the raw handshake rules: the readOnly byte echoed
// only when sent, wrong passwords refused, the zxid-ahead refusal, local
// sessions and their upgrade by a write.
func TestHandshake(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 12})
	java, _ := connect(t, []string{e.ClientAddrs()[0]}, 10*time.Second)

	t.Run("old client", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		resp := r.handshake(&proto.ConnectRequest{TimeOut: 1})
		if resp.HasReadOnly || resp.SessionID>>56 != 12 || resp.TimeOut != 400 {
			t.Fatalf("%+v", resp)
		}
		pw := session.GeneratePasswd(resp.SessionID)
		if string(resp.Passwd) != string(pw[:]) {
			t.Fatal("password is not Java's")
		}
	})
	t.Run("zxid ahead", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.write(proto.AppendFrame(nil, &proto.ConnectRequest{LastZxidSeen: 1 << 60, TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true}))
		r.expectClosed()
	})
	t.Run("wrong password", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		resp := r.handshake(&proto.ConnectRequest{TimeOut: 4000, HasReadOnly: true})
		r2 := dialRaw(t, z.addr)
		bad := r2.handshake(&proto.ConnectRequest{SessionID: resp.SessionID, TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true})
		if bad.SessionID != 0 || bad.TimeOut != 0 || len(bad.Passwd) != 16 || !bad.HasReadOnly || bad.ReadOnly {
			t.Fatalf("refusal %+v", bad)
		}
		r2.expectClosed()
		// The wrong reconnect still kicked the first connection off.
		r.expectClosed()
	})
	t.Run("expired session", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		const gone = int64(10)<<56 | 0xbad
		pw := session.GeneratePasswd(gone)
		resp := r.handshake(&proto.ConnectRequest{SessionID: gone, TimeOut: 4000, Passwd: pw[:], HasReadOnly: true})
		if resp.SessionID != 0 || resp.TimeOut != 0 {
			t.Fatalf("unknown session accepted: %+v", resp)
		}
		r.expectClosed()
	})
	t.Run("local session upgraded by a write", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		resp := r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		id := resp.SessionID
		if ss, ok := z.srv.Sessions().Get(id); !ok || ss.State != session.Local {
			t.Fatalf("session %#x not local: %+v", id, ss)
		}
		xid := r.request(proto.OpCreate, &proto.CreateRequest{Path: "/local-eph", ACL: proto.OpenACLUnsafe, Flags: 1})
		if h, _, _ := r.reply(xid); h.Err != 0 {
			t.Fatalf("create from a local session: %v", h.Err)
		}
		if ss, _ := z.srv.Sessions().Get(id); ss.State != session.Global {
			t.Fatalf("session not upgraded: %v", ss.State)
		}
		_, err := java.Sync("/")
		must(t, err, "sync")
		_, st, err := java.Get("/local-eph")
		must(t, err, "the upgraded session's ephemeral on Java")
		if st.EphemeralOwner != id {
			t.Fatalf("owner %#x, want %#x", st.EphemeralOwner, id)
		}
		// closeSession through the leader removes it.
		xid = r.request(proto.OpCloseSession)
		if h, _, _ := r.reply(xid); h.Err != 0 {
			t.Fatalf("close: %v", h.Err)
		}
		r.expectClosed()
		_, err = java.Sync("/")
		must(t, err, "sync")
		if ok, _, _ := java.Exists("/local-eph"); ok {
			t.Fatal("ephemeral survived closeSession")
		}
	})
	t.Run("local session closed locally", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		resp := r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		xid := r.request(proto.OpGetData, &proto.GetDataRequest{Path: "/"})
		if h, _, _ := r.reply(xid); h.Err != 0 {
			t.Fatalf("getData: %v", h.Err)
		}
		xid = r.request(proto.OpCloseSession)
		if h, _, _ := r.reply(xid); h.Err != 0 {
			t.Fatalf("close: %v", h.Err)
		}
		r.expectClosed()
		if _, ok := z.srv.Sessions().Get(resp.SessionID); ok {
			t.Fatal("local session still in the table")
		}
	})
	t.Run("unknown opcode", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, HasReadOnly: true})
		r.write(proto.AppendFrame(nil, &proto.RequestHeader{Xid: 7, Type: 55}))
		h, _, _ := r.reply(7)
		if h.Err != proto.ErrUnimplemented || h.Zxid != -1 {
			t.Fatalf("%+v", h)
		}
		r.expectClosed()
	})
}

// TestLocalSessionPolicyNone: with --local-sessions none a read-only client
// gets a global session (createSession through the leader).
func TestLocalSessionPolicyNone(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 13, local: server.LocalNone})
	r := dialRaw(t, z.addr)
	resp := r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
	if ss, ok := z.srv.Sessions().Get(resp.SessionID); !ok || ss.State != session.Global {
		t.Fatalf("want a global session: %+v", ss)
	}
}

const kazooScript = `
import sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError, NodeExistsError, BadVersionError
addr = sys.argv[1]
zk = KazooClient(hosts=addr, timeout=10)
zk.start(timeout=15)
zk.create("/kz", b"v0")
zk.create("/kz/child", b"", ephemeral=True)
seen = []
@zk.DataWatch("/kz")
def w(data, stat):
    seen.append(data)
zk.set("/kz", b"v1")
data, stat = zk.get("/kz")
assert data == b"v1" and stat.version == 1, (data, stat)
assert zk.get_children("/kz") == ["child"]
try:
    zk.create("/kz", b"")
    raise SystemExit("no NodeExistsError")
except NodeExistsError:
    pass
try:
    zk.get("/missing")
    raise SystemExit("no NoNodeError")
except NoNodeError:
    pass
try:
    zk.set("/kz", b"x", version=9)
    raise SystemExit("no BadVersionError")
except BadVersionError:
    pass
tx = zk.transaction()
tx.create("/kz/t1", b"a")
tx.set_data("/kz", b"v2")
res = tx.commit()
assert res[0] == "/kz/t1", res
zk.sync("/kz")
zk.stop()

ro = KazooClient(hosts=addr, timeout=10, read_only=True)
ro.start(timeout=15)
sid = ro.client_id[0]
assert ro.get("/kz")[0] == b"v2"
ro.create("/kz/ro-eph", b"", ephemeral=True)
print("RO_SESSION %x" % sid)
print("OK", len(seen))
ro.stop()
`

// TestKazoo runs a kazoo scenario against zkobserver, including a
// read_only=True client that gets a local session and is upgraded by an
// ephemeral create.
func TestKazoo(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 14})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", kazooScript, z.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("kazoo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Fatalf("kazoo output: %s", out)
	}
	var sid uint64
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RO_SESSION "); ok {
			for _, ch := range rest {
				sid = sid*16 + uint64(strings.IndexRune("0123456789abcdef", ch))
			}
		}
	}
	if sid>>56 != 14 {
		t.Fatalf("read-only client's session %#x not made by this observer", sid)
	}
	// The first client got a global session, the read-only one a local
	// session that its ephemeral create upgraded.
	if got := z.srv.Counters(); got.LocalSessionsCreated != 1 || got.LocalSessionsUpgraded != 1 {
		t.Fatalf("counters %+v, want one local session, upgraded", got)
	}
	if _, ok := z.srv.Sessions().Get(int64(sid)); ok {
		t.Fatalf("session %#x still open after kazoo stopped", sid)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("kazoo timed out")
	}
}

// TestLeaderLossAndExpiry: when the leader goes, zkobserver drops its
// clients as a Java observer does; after it resyncs with the new leader the
// client's session resumes on it (REVALIDATE). A session whose client goes
// silent is expired by the leader: its ephemeral goes and a reconnect is
// refused.
func TestLeaderLossAndExpiry(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 15})
	acl := zk.WorldACL(zk.PermAll)
	c, events := connect(t, []string{z.addr}, 6*time.Second)
	id := c.SessionID()
	_, err := c.Create("/survivor", nil, zk.FlagEphemeral, acl)
	must(t, err, "create ephemeral")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	leader, err := e.WaitForLeader(ctx)
	must(t, err, "leader")
	synced := z.o.NextSync()
	must(t, e.Kill(leader.ID), "kill leader")
	waitState(t, events, zk.StateDisconnected)
	select {
	case <-synced:
	case <-ctx.Done():
		t.Fatal("observer did not resync with the new leader")
	}
	waitState(t, events, zk.StateHasSession)
	if c.SessionID() != id {
		t.Fatalf("session %#x, want %#x", c.SessionID(), id)
	}
	_, st, err := c.Get("/survivor")
	must(t, err, "ephemeral after the leader change")
	if st.EphemeralOwner != id {
		t.Fatalf("owner %#x", st.EphemeralOwner)
	}
	_, err = c.Create("/after", nil, 0, acl)
	must(t, err, "write after the leader change")

	// A client that goes silent: the leader expires its session.
	r := dialRaw(t, z.addr)
	resp := r.handshake(&proto.ConnectRequest{TimeOut: 400, HasReadOnly: true})
	xid := r.request(proto.OpCreate, &proto.CreateRequest{Path: "/silent", ACL: proto.OpenACLUnsafe, Flags: 1})
	if h, _, _ := r.reply(xid); h.Err != 0 {
		t.Fatalf("create: %v", h.Err)
	}
	r.expectClosed() // the idle connection is closed after its timeout
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, _, err := c.Exists("/silent")
		must(t, err, "exists")
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the silent session's ephemeral is still there")
		}
		time.Sleep(20 * time.Millisecond) // polling real state under a deadline
	}
	r2 := dialRaw(t, z.addr)
	pw := session.GeneratePasswd(resp.SessionID)
	if again := r2.handshake(&proto.ConnectRequest{SessionID: resp.SessionID, Passwd: pw[:], TimeOut: 4000}); again.TimeOut != 0 || again.SessionID != 0 {
		t.Fatalf("expired session accepted: %+v", again)
	}
}
