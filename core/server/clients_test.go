package server_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/proto"
)

// TestGoZookeeper drives zkobserver with go-zookeeper connected only to it:
// every create mode, reads, writes, watches, multi, sync and the usual
// errors, with ephemerals checked on a Java server.
func TestGoZookeeper(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{})
	c, _ := connect(t, []string{z.addr}, 10*time.Second)
	java, _ := connect(t, []string{e.ClientAddrs()[0]}, 10*time.Second)
	acl := zk.WorldACL(zk.PermAll)

	t.Run("create modes", func(t *testing.T) {
		p, err := c.Create("/p", []byte("data"), 0, acl)
		must(t, err, "create")
		if p != "/p" {
			t.Fatalf("create returned %q", p)
		}
		seq, err := c.Create("/p/s-", nil, zk.FlagSequence, acl)
		must(t, err, "create sequential")
		if seq != "/p/s-0000000000" {
			t.Fatalf("sequential: %q", seq)
		}
		eph, err := c.Create("/p/e", []byte("x"), zk.FlagEphemeral, acl)
		must(t, err, "create ephemeral")
		_, err = c.Create("/p/es-", nil, zk.FlagEphemeral|zk.FlagSequence, acl)
		must(t, err, "create ephemeral sequential")
		_, err = c.CreateContainer("/cont", nil, zk.FlagTTL&0|4, acl)
		must(t, err, "create container")
		_, err = c.CreateTTL("/ttl", nil, zk.FlagTTL, acl, time.Hour)
		must(t, err, "create TTL")
		// The ephemeral is visible on a Java server with this session as owner.
		_, err = java.Sync(eph)
		must(t, err, "sync on java")
		_, st, err := java.Get(eph)
		must(t, err, "get ephemeral on java")
		if st.EphemeralOwner != c.SessionID() {
			t.Fatalf("ephemeral owner %#x, want %#x", st.EphemeralOwner, c.SessionID())
		}
	})

	t.Run("reads and writes", func(t *testing.T) {
		data, st, err := c.Get("/p")
		must(t, err, "get")
		if string(data) != "data" || st.Version != 0 || st.NumChildren != 3 {
			t.Fatalf("get: %q %+v", data, st)
		}
		st2, err := c.Set("/p", []byte("v2"), st.Version)
		must(t, err, "set")
		if st2.Version != 1 || st2.Mzxid <= st.Mzxid {
			t.Fatalf("set stat %+v", st2)
		}
		// Read-your-write: the read after the write sees it.
		data, _, err = c.Get("/p")
		must(t, err, "get after set")
		if string(data) != "v2" {
			t.Fatalf("read after write: %q", data)
		}
		ok, _, err := c.Exists("/p")
		must(t, err, "exists")
		if !ok {
			t.Fatal("exists /p false")
		}
		ok, _, err = c.Exists("/nope")
		must(t, err, "exists missing")
		if ok {
			t.Fatal("exists /nope true")
		}
		kids, _, err := c.Children("/p")
		must(t, err, "children")
		if len(kids) != 3 {
			t.Fatalf("children %v", kids)
		}
		acls, _, err := c.GetACL("/p")
		must(t, err, "getACL")
		if len(acls) != 1 || acls[0].Perms != zk.PermAll {
			t.Fatalf("acl %v", acls)
		}
		_, err = c.SetACL("/cont", zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermCreate|zk.PermDelete), -1)
		must(t, err, "setACL")
		p, err := c.Sync("/p")
		must(t, err, "sync")
		if p != "/p" {
			t.Fatalf("sync path %q", p)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, _, err := c.Get("/nope"); !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("get missing: %v", err)
		}
		if _, err := c.Create("/p", nil, 0, acl); !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("create existing: %v", err)
		}
		if _, err := c.Set("/p", nil, 42); !errors.Is(err, zk.ErrBadVersion) {
			t.Fatalf("set bad version: %v", err)
		}
		if err := c.Delete("/p", -1); !errors.Is(err, zk.ErrNotEmpty) {
			t.Fatalf("delete non-empty: %v", err)
		}
		if err := c.Delete("/nope", -1); !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("delete missing: %v", err)
		}
		if _, err := c.Create("/nope/x", nil, 0, acl); !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("create under missing: %v", err)
		}
		// The session still works after errors.
		_, _, err := c.Get("/p")
		must(t, err, "get after errors")
	})

	t.Run("watches", func(t *testing.T) {
		_, _, ch, err := c.GetW("/p")
		must(t, err, "getW")
		_, err = java.Set("/p", []byte("from java"), -1)
		must(t, err, "set on java")
		if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDataChanged || ev.Path != "/p" {
			t.Fatalf("data watch: %+v", ev)
		}
		_, _, ch, err = c.ChildrenW("/p")
		must(t, err, "childrenW")
		_, err = java.Create("/p/k", nil, 0, acl)
		must(t, err, "create on java")
		if ev := waitEvent(t, ch); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/p" {
			t.Fatalf("child watch: %+v", ev)
		}
		ok, _, ch, err := c.ExistsW("/w")
		must(t, err, "existsW")
		if ok {
			t.Fatal("/w exists")
		}
		_, err = c.Create("/w", nil, 0, acl) // our own write: event before reply
		must(t, err, "create /w")
		select {
		case ev := <-ch:
			if ev.Type != zk.EventNodeCreated {
				t.Fatalf("exist watch: %+v", ev)
			}
		default:
			t.Fatal("the watch event did not precede the create's reply")
		}
		_, _, ch, err = c.GetW("/w")
		must(t, err, "getW /w")
		must(t, c.Delete("/w", -1), "delete /w")
		select {
		case ev := <-ch:
			if ev.Type != zk.EventNodeDeleted {
				t.Fatalf("delete watch: %+v", ev)
			}
		default:
			t.Fatal("the delete event did not precede the delete's reply")
		}
	})

	t.Run("multi", func(t *testing.T) {
		res, err := c.Multi(
			&zk.CreateRequest{Path: "/m1", Data: []byte("1"), Acl: acl},
			&zk.SetDataRequest{Path: "/m1", Data: []byte("2"), Version: 0},
			&zk.CheckVersionRequest{Path: "/m1", Version: 1},
			&zk.CreateRequest{Path: "/m2", Acl: acl, Flags: zk.FlagEphemeral},
		)
		must(t, err, "multi")
		if len(res) != 4 || res[0].String != "/m1" || res[1].Stat == nil || res[1].Stat.Version != 1 {
			t.Fatalf("multi results %+v", res)
		}
		res, err = c.Multi(
			&zk.CreateRequest{Path: "/m3", Acl: acl},
			&zk.SetDataRequest{Path: "/zz", Version: -1},
			&zk.DeleteRequest{Path: "/m1", Version: -1},
		)
		if !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("failing multi: %v %+v", err, res)
		}
		if ok, _, _ := c.Exists("/m3"); ok {
			t.Fatal("failed multi left /m3")
		}
		data, _, err := c.Get("/m1")
		must(t, err, "get /m1")
		if !bytes.Equal(data, []byte("2")) {
			t.Fatalf("/m1 = %q", data)
		}
	})

	t.Run("close removes ephemerals", func(t *testing.T) {
		c2, _ := connect(t, []string{z.addr}, 10*time.Second)
		_, err := c2.Create("/gone", nil, zk.FlagEphemeral, acl)
		must(t, err, "create ephemeral")
		c2.Close()
		_, err = java.Sync("/")
		must(t, err, "sync")
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, _, err := java.Exists("/gone")
			must(t, err, "exists on java")
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("ephemeral of the closed session still there")
			}
			time.Sleep(20 * time.Millisecond) // polling real state under a deadline
		}
		if ok, _, _ := c.Exists("/gone"); ok {
			t.Fatal("zkobserver still shows the ephemeral")
		}
	})
}

// TestPersistentWatch uses addWatch (go-zookeeper has no API for it).
func TestPersistentWatch(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{})
	r := dialRaw(t, z.addr)
	if resp := r.handshake(&proto.ConnectRequest{TimeOut: 10000, HasReadOnly: true}); resp.SessionID == 0 || !resp.HasReadOnly {
		t.Fatalf("handshake %+v", resp)
	}
	xid := r.request(proto.OpAddWatch, &proto.AddWatchRequest{Path: "/r", Mode: proto.AddWatchModePersistentRecursive})
	if h, _, _ := r.reply(xid); h.Err != 0 {
		t.Fatalf("addWatch: %v", h.Err)
	}
	java, _ := connect(t, []string{e.ClientAddrs()[1]}, 10*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/r", "/r/a", "/r/a/b"} {
		_, err := java.Create(p, nil, 0, acl)
		must(t, err, "create %s", p)
	}
	var got []proto.WatcherEvent
	for len(got) < 3 {
		xid := r.request(proto.OpPing)
		_, _, evs := r.reply(xid)
		got = append(got, evs...)
		if len(got) < 3 {
			time.Sleep(20 * time.Millisecond) // polling for events under the frame deadline
		}
	}
	for i, p := range []string{"/r", "/r/a", "/r/a/b"} {
		if got[i].Type != proto.EventNodeCreated || got[i].Path != p {
			t.Fatalf("event %d: %+v", i, got[i])
		}
	}
}
