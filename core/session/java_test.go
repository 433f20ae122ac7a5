package session

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// handshake sends a ConnectRequest (with the readOnly byte, as current
// clients do) to a Java server and returns its ConnectResponse. The
// connection stays open until the test ends, so a new session lives on.
func handshake(t *testing.T, addr string, id int64, passwd []byte, timeout int32) proto.ConnectResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := &proto.ConnectRequest{TimeOut: timeout, SessionID: id, Passwd: passwd, HasReadOnly: true}
	if _, err := conn.Write(proto.AppendFrame(nil, req)); err != nil {
		t.Fatal(err)
	}
	payload, err := proto.ReadFrame(conn, nil, 0)
	if err != nil {
		t.Fatalf("reading the ConnectResponse from %s: %v", addr, err)
	}
	var resp proto.ConnectResponse
	if err := resp.Decode(jute.NewDecoder(payload, 0)); err != nil {
		t.Fatal(err)
	}
	return resp
}

// checkJavaSessions opens one new session per requested timeout on the Java
// server at addr (server id sid, whose session tracker started at some
// ElapsedMillis in [before, now]) and checks every id, password and
// negotiated timeout against this package. It returns the ids.
func checkJavaSessions(t *testing.T, addr string, sid int64, before int64, tt Timeouts, requests []int32) []int64 {
	t.Helper()
	var ids []int64
	for i, req := range requests {
		resp := handshake(t, addr, 0, make([]byte, PasswdLen), req)
		id := resp.SessionID
		ids = append(ids, id)
		want := GeneratePasswd(id)
		t.Logf("sid %d: Java session %#016x timeout %d passwd %x", sid, id, resp.TimeOut, resp.Passwd)
		if string(resp.Passwd) != string(want[:]) {
			t.Errorf("session %#x: Java's password %x, ours %x", id, resp.Passwd, want)
		}
		if !CheckPasswd(id, resp.Passwd) {
			t.Errorf("CheckPasswd refuses Java's password for %#x", id)
		}
		if got := tt.Negotiate(req); resp.TimeOut != got {
			t.Errorf("requested %d: Java negotiated %d, we %d", req, resp.TimeOut, got)
		}
		if i > 0 && id != ids[0]+int64(i) {
			t.Errorf("session %d has id %#x, want the previous +1 (%#x)", i, id, ids[0]+int64(i))
		}
	}
	after := ElapsedMillis()

	// The first id is the tracker's initial id: InitialSessionID of the sid
	// and the monotonic clock Java read when the tracker started, which is
	// CLOCK_MONOTONIC here too.
	first := ids[0]
	started := int64(uint64(first)<<8) >> 24 // the 40 time bits
	if InitialSessionID(sid, started) != first {
		t.Fatalf("first id %#x is not InitialSessionID(%d, %d) = %#x", first, sid, started, InitialSessionID(sid, started))
	}
	t.Logf("sid %d: tracker started at %d ms (CLOCK_MONOTONIC), inside [%d, %d]", sid, started, before, after)
	if started < before&(1<<40-1) || started > after&(1<<40-1) {
		t.Errorf("first id %#x: time bits %d ms outside [%d, %d], when the server started", first, started, before, after)
	}
	return ids
}

// checkReconnect resumes session id on addr as a client would after a
// disconnect: with our password Java accepts it, with a wrong one it
// answers "expired" (timeout 0, id 0, zero password).
func checkReconnect(t *testing.T, addr string, id int64, timeout int32) {
	t.Helper()
	p := GeneratePasswd(id)
	if resp := handshake(t, addr, id, p[:], timeout); resp.SessionID != id || resp.TimeOut <= 0 || !CheckPasswd(id, resp.Passwd) {
		t.Errorf("reconnect to %#x with our password refused: %+v", id, resp)
	}
	p[0] ^= 0x80
	if resp := handshake(t, addr, id, p[:], timeout); resp.SessionID != 0 || resp.TimeOut != 0 {
		t.Errorf("reconnect to %#x with a wrong password accepted: %+v", id, resp)
	}
}

// kazooScript opens one session with kazoo (a real client), prints its
// client_id and negotiated timeout, and closes it.
const kazooScript = `
import sys
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[2]))
c.start(timeout=30)
sid, pw = c.client_id
print("%d %s %d" % (sid, pw.hex(), c._session_timeout))
c.stop()
c.close()
`

func TestJavaStandaloneSessions(t *testing.T) {
	before := ElapsedMillis()
	e := ensemble.Start(t, ensemble.Options{
		Standalone: true,
		Properties: map[string]string{"minSessionTimeout": "1000", "maxSessionTimeout": "7000"},
	})
	addr := e.ClientAddrs()[0]
	tt, err := NewTimeouts(int32(e.Options().TickTime), 1000, 7000)
	if err != nil {
		t.Fatal(err)
	}
	// A standalone server's tracker always uses sid 1.
	ids := checkJavaSessions(t, addr, 1, before, tt, []int32{7000, 1, 999, 1000, 2500, 7001, 1 << 30})
	checkReconnect(t, addr, ids[0], 7000)

	// kazoo's session is the next id, and its password is ours too.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", kazooScript, addr, "5").CombinedOutput()
	if err != nil {
		t.Fatalf("kazoo: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var id int64
	var passwd string
	var timeout int32
	if _, err := fmt.Sscan(lines[len(lines)-1], &id, &passwd, &timeout); err != nil {
		t.Fatalf("kazoo output %q: %v", out, err)
	}
	want := GeneratePasswd(id)
	t.Logf("kazoo: session %#016x passwd %s timeout %d", id, passwd, timeout)
	if id != ids[len(ids)-1]+1 {
		t.Errorf("kazoo's session %#x, want the next id %#x", id, ids[len(ids)-1]+1)
	}
	if passwd != fmt.Sprintf("%x", want) {
		t.Errorf("kazoo's password %s, ours %x", passwd, want)
	}
	if timeout != tt.Negotiate(5000) {
		t.Errorf("kazoo's timeout %d, ours %d", timeout, tt.Negotiate(5000))
	}
}

// In a quorum the top byte is the server's myid: the leader (1) and a Java
// observer (2), whose LearnerSessionTracker is what Table mirrors. Default
// bounds: 2× and 20× tickTime.
func TestJavaQuorumSessions(t *testing.T) {
	before := ElapsedMillis()
	e := ensemble.Start(t, ensemble.Options{Voters: 1, Observers: 1})
	tt, err := NewTimeouts(int32(e.Options().TickTime), -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range e.Nodes() {
		t.Run(fmt.Sprintf("sid%d-%s", n.ID, n.Role), func(t *testing.T) {
			ids := checkJavaSessions(t, n.ClientAddr, int64(n.ID), before, tt, []int32{4000, 100, 10_000_000, 3000})
			checkReconnect(t, n.ClientAddr, ids[0], 4000)
		})
	}
	// A session moves between servers: the other server checks our
	// password for it (an observer's check goes to the leader by REVALIDATE).
	nodes := e.Nodes()
	resp := handshake(t, nodes[0].ClientAddr, 0, make([]byte, PasswdLen), 4000)
	p := GeneratePasswd(resp.SessionID)
	if moved := handshake(t, nodes[1].ClientAddr, resp.SessionID, p[:], 4000); moved.SessionID != resp.SessionID || moved.TimeOut <= 0 {
		t.Errorf("session %#x moved to server %d with our password: %+v", resp.SessionID, nodes[1].ID, moved)
	}
}
