package rotest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// outage is how long the quorum is down in TestQuorumLoss (issue 7,
// acceptance 1).
const outage = 30 * time.Second

const readers = 8

// TestQuorumLoss is issue 7's acceptances 1 and 2 against a real ensemble:
// two of three voters stopped for 30 s while 8 kazoo read-only clients
// (local sessions) read continuously from zkobserver, then brought back.
func TestQuorumLoss(t *testing.T) {
	e := startEnsemble(t)
	z := startObserver(t, voters(e, nil), 21)
	ids := javaIDs(e)
	w := writer(t, e.Node(ids[0]).ClientAddr)
	var paths []string
	must(t, create(w, "/ro", ""), "create /ro")
	for i := range readers {
		p := fmt.Sprintf("/ro/k%d", i)
		must(t, create(w, p, "v0"), "create "+p)
		paths = append(paths, p)
	}
	k := startKazoo(t)
	for i := range readers {
		m := k.mustOK(map[string]any{"cmd": "open", "name": fmt.Sprintf("r%d", i), "hosts": z.addr, "read_only": true,
			"paths": paths}, 30*time.Second)
		if m["client_state"] != "CONNECTED" {
			t.Fatalf("reader %d: %v", i, m)
		}
	}
	// A read-only client whose ephemeral create upgrades its local session
	// to a global one.
	k.mustOK(map[string]any{"cmd": "open", "name": "upgraded", "hosts": z.addr, "read_only": true}, 30*time.Second)
	k.mustOK(map[string]any{"cmd": "create_ephemeral", "name": "upgraded", "path": "/ro/eph"}, 30*time.Second)
	if got := z.srv.Counters(); got.LocalSessionsCreated != readers+1 || got.LocalSessionsUpgraded != 1 {
		t.Fatalf("counters %+v: want %d local sessions, one upgraded", got, readers+1)
	}
	upgradedSession := infoOf(k.mustOK(map[string]any{"cmd": "info", "name": "upgraded"}, 10*time.Second)).Session
	raw := dialReadOnly(t, z.addr)
	if raw.resp.ReadOnly {
		t.Fatal("read-only flag in a ConnectResponse while the observer follows a leader")
	}
	before := readCounts(t, k)

	// The outage: two voters stopped, the third has no quorum.
	down := time.Now()
	for _, id := range ids[1:] {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	if st := raw.waitState(1, 30*time.Second); st != proto.StateConnectedReadOnly {
		t.Fatalf("first state event %d, want ConnectedReadOnly (%d)", st, proto.StateConnectedReadOnly)
	}
	t.Logf("read-only %v after the voters were stopped", time.Since(down).Round(time.Millisecond))
	if got := strings.TrimSpace(word(t, z.addr, "isro")); got != "ro" {
		t.Fatalf("isro = %q during the outage, want ro", got)
	}
	if !strings.Contains(word(t, z.addr, "srvr"), "Mode: read-only") || mntrValue(t, z.addr, "zk_read_only") != "1" {
		t.Fatalf("srvr/mntr do not show read-only mode:\n%s", word(t, z.addr, "srvr"))
	}
	// Writes of a kept client: NotReadOnly.
	if m := k.do(map[string]any{"cmd": "write", "name": "r0", "path": "/ro/k0", "data": "during"}, 30*time.Second); m["error"] != "NotReadOnlyCallError" {
		t.Fatalf("write during the outage: %v, want NotReadOnlyCallError", m)
	}
	if h := raw.call(proto.OpSync, &proto.SyncRequest{Path: "/ro"}); h.Err != proto.ErrNotReadOnly {
		t.Fatalf("sync during the outage: %+v, want NOTREADONLY", h)
	}
	// The upgraded client was disconnected and comes back read-only, with
	// its session.
	up := infoOf(k.mustOK(map[string]any{"cmd": "wait_state", "name": "upgraded", "state": "CONNECTED_RO", "timeout": 30}, 40*time.Second))
	if up.Session != upgradedSession || !slices.Contains(up.States, "SUSPENDED") {
		t.Fatalf("upgraded client: %v (session before %s)", up, upgradedSession)
	}
	// A new read-only client connects; a client that is not read-only is
	// refused.
	// (It stays idle: kazoo looks for a writable server only when it
	// pings, and it pings only an idle connection.)
	k.mustOK(map[string]any{"cmd": "open", "name": "late", "hosts": z.addr, "read_only": true}, 30*time.Second)
	if m := infoOf(k.mustOK(map[string]any{"cmd": "info", "name": "late"}, 10*time.Second)); m.ClientState != "CONNECTED_RO" {
		t.Fatalf("new read-only client during the outage: %v", m)
	}
	if m := k.mustOK(map[string]any{"cmd": "get", "name": "late", "path": "/ro/k0"}, 10*time.Second); m["data"] != "v0" {
		t.Fatalf("new read-only client's read: %v", m)
	}
	if m := k.do(map[string]any{"cmd": "open", "name": "rw", "hosts": z.addr, "read_only": false, "timeout": 3}, 30*time.Second); m["ok"] != false {
		t.Fatalf("a client that is not read-only connected during the outage: %v", m)
	}
	// A watch set during the outage, for acceptance 2.
	k.mustOK(map[string]any{"cmd": "watch", "name": "r1", "path": "/ro/k1"}, 10*time.Second)
	if z.srv.Mode() != server.ModeReadOnly {
		t.Fatalf("mode %v during the outage", z.srv.Mode())
	}
	time.Sleep(time.Until(down.Add(outage))) // the outage lasts its full length: not a synchronisation
	during := readCounts(t, k)

	// Quorum back.
	up1 := time.Now()
	for _, id := range ids[1:] {
		if err := e.Restart(id); err != nil {
			t.Fatal(err)
		}
	}
	if st := raw.waitState(2, 60*time.Second); st != proto.StateSyncConnected {
		t.Fatalf("second state event %d, want SyncConnected (%d)", st, proto.StateSyncConnected)
	}
	t.Logf("serving again %v after the voters were restarted", time.Since(up1).Round(time.Millisecond))
	if got := strings.TrimSpace(word(t, z.addr, "isro")); got != "rw" {
		t.Fatalf("isro = %q after the outage, want rw", got)
	}
	after := readCounts(t, k)
	var okOutage, failed, disconnects int
	for i := range readers {
		name := fmt.Sprintf("r%d", i)
		okOutage += during[name].OK - before[name].OK
		failed += after[name].Failed
		disconnects += len(after[name].States) // SUSPENDED or LOST (a reconnect adds CONNECTED)
		if c := after[name]; c.Failed != 0 || len(c.States) != 0 || len(c.Regress) != 0 {
			t.Errorf("reader %s: %v", name, c)
		}
	}
	t.Logf("read availability during the %v outage: %d of %d reads answered (%.2f%%), %d connection state changes on the %d readers",
		outage, okOutage, okOutage+failed, 100*float64(okOutage)/float64(max(1, okOutage+failed)), disconnects, readers)
	if okOutage < readers*100 {
		t.Fatalf("only %d reads during the outage", okOutage)
	}
	// Writes succeed again; the watch set during the outage fires for a
	// change made now.
	k.mustOK(map[string]any{"cmd": "write", "name": "r0", "path": "/ro/k0", "data": "after"}, 30*time.Second)
	// (A new session: the old one's only server dropped it with the quorum,
	// and go-zookeeper may have given up on it.)
	if _, err := writer(t, e.Node(ids[0]).ClientAddr).Set("/ro/k1", []byte("after"), -1); err != nil {
		t.Fatal(err)
	}
	evs := k.waitEvents(1, 30*time.Second)
	if evs[0].Name != "r1" || evs[0].Path != "/ro/k1" || evs[0].Type != "CHANGED" {
		t.Fatalf("watch events %v", evs)
	}
	// The client that connected read-only finds the observer writable
	// again (kazoo's own probe) and reconnects.
	k.mustOK(map[string]any{"cmd": "wait_state", "name": "late", "state": "CONNECTED", "timeout": 60}, 70*time.Second)
}

// readCounts returns every client's counters.
func readCounts(t *testing.T, k *kazoo) map[string]clientInfo {
	t.Helper()
	out := map[string]clientInfo{}
	for i := range readers {
		name := fmt.Sprintf("r%d", i)
		out[name] = infoOf(k.mustOK(map[string]any{"cmd": "info", "name": name}, 10*time.Second))
	}
	return out
}

// javaIDs returns the voters' ids, the leader's last (so that stopping the
// last two always stops the leader too).
func javaIDs(e *ensemble.Ensemble) []int {
	var ids []int
	var leader int
	for _, n := range e.Nodes() {
		if n.Role != ensemble.RoleParticipant {
			continue
		}
		if m, err := e.Mode(nilCtx(), n.ID); err == nil && m == "leader" {
			leader = n.ID
			continue
		}
		ids = append(ids, n.ID)
	}
	return append(ids, leader)
}

func create(c *zk.Conn, path, data string) error {
	_, err := c.Create(path, []byte(data), 0, zk.WorldACL(zk.PermAll))
	return err
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
