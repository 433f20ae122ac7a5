package watch

import (
	"slices"
	"sync"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// applier applies txns with consecutive zxids to a tree wired to a Manager.
type applier struct {
	t    *testing.T
	tr   *tree.DataTree
	zxid int64
}

func (a *applier) apply(typ proto.OpCode, body jute.Record, session int64) {
	a.t.Helper()
	a.zxid++
	res := a.tr.Apply(&proto.Txn{Header: proto.TxnHeader{ClientID: session, Cxid: 1, Zxid: a.zxid, Time: a.zxid, Type: typ}, Body: body})
	if res.Err != proto.ErrOK {
		a.t.Fatalf("txn %d type %d: %v", a.zxid, typ, res.Err)
	}
}

func (a *applier) create(path string, ephemeralOwner int64) {
	a.t.Helper()
	a.apply(proto.OpCreate, &proto.CreateTxn{Path: path, ACL: proto.OpenACLUnsafe, Ephemeral: ephemeralOwner != 0, ParentCVersion: -1}, ephemeralOwner)
}

// TestWithTree wires the Manager to a real DataTree (SetTrigger) and
// registers inside View, as the client-protocol server will: the tree's own
// trigger order (create, delete, setData, closeSession's ephemerals) gives
// the events Java sends.
func TestWithTree(t *testing.T) {
	tr := tree.New(tree.Options{})
	m := New()
	tr.SetTrigger(m.TriggerACL)
	a := &applier{t: t, tr: tr}
	c1, c2, c3, c4 := &conn{id: 1}, &conn{id: 2}, &conn{id: 3}, &conn{id: 4}

	// exists(/a, watch) on a missing node, getChildren(/, watch), a
	// recursive watch on /a and a persistent one on /a.
	tr.View(func(v tree.View) {
		if _, ok := v.Node("/a"); ok {
			t.Fatal("/a exists")
		}
		m.AddDataWatch("/a", c1)
		if _, ok := v.Node("/"); !ok {
			t.Fatal("no root")
		}
		m.AddChildWatch("/", c2)
	})
	m.AddWatch("/a", c3, PersistentRecursive)
	m.AddWatch("/a", c4, Persistent)

	a.apply(proto.OpCreateSession, &proto.CreateSessionTxn{TimeOut: 30000}, 0x55)
	a.create("/a", 0)
	a.create("/a/b", 0)
	a.create("/a/e", 0x55)
	a.apply(proto.OpSetData, &proto.SetDataTxn{Path: "/a/b", Data: []byte("x"), Version: 1}, 0x55)

	// getData(/a/b) and getChildren(/a/b) by c1: one NodeDeleted when /a/b goes.
	tr.View(func(v tree.View) {
		if _, ok := v.Node("/a/b"); ok {
			m.AddDataWatch("/a/b", c1)
			m.AddChildWatch("/a/b", c1)
		}
	})
	a.apply(proto.OpDelete, &proto.DeleteTxn{Path: "/a/b"}, 0x55)
	a.apply(proto.OpCloseSession, &proto.CloseSessionTxn{Paths2Delete: []string{"/a/e"}}, 0x55)

	want := map[*conn][]string{
		c1: {"Created /a", "Deleted /a/b"},
		c2: {"Children /"},
		c3: {"Created /a", "Created /a/b", "Created /a/e", "Changed /a/b", "Deleted /a/b", "Deleted /a/e"},
		c4: {"Created /a", "Children /a", "Children /a", "Children /a", "Children /a"},
	}
	for c, w := range want {
		if !slices.Equal(c.events, w) {
			t.Errorf("connection %d got %q, want %q", c.id, c.events, w)
		}
	}

	// A reconnect of c1 with relative zxid = the create of /a: /a's data
	// is unchanged since (register), its children changed (event), /a/b is
	// gone (event), /a/e would be created if missing (register).
	var created int64
	tr.View(func(v tree.View) {
		n, _ := v.Node("/a")
		created = n.Stat.Czxid
	})
	c1.events = nil
	tr.View(func(v tree.View) {
		m.SetWatches(&proto.SetWatches2{
			RelativeZxid: created,
			DataWatches:  []string{"/a", "/a/b"},
			ExistWatches: []string{"/a/e"},
			ChildWatches: []string{"/a"},
		}, c1, TreeLookup(v))
	})
	if want := []string{"Deleted /a/b", "Children /a"}; !slices.Equal(c1.events, want) {
		t.Errorf("SetWatches events %q, want %q", c1.events, want)
	}
	c1.events = nil
	a.create("/a/e", 0)
	a.apply(proto.OpSetData, &proto.SetDataTxn{Path: "/a", Data: []byte("y"), Version: 1}, 0x55)
	if want := []string{"Created /a/e", "Changed /a"}; !slices.Equal(c1.events, want) {
		t.Errorf("after SetWatches got %q, want %q", c1.events, want)
	}
}

// lockedConn is a Watcher safe for concurrent use, for the race test.
type lockedConn struct {
	id int64
	mu sync.Mutex
	n  int
}

func (c *lockedConn) Process(proto.WatcherEvent) { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *lockedConn) SessionID() int64           { return c.id }

// TestConcurrent runs registrations inside Views, removals, reports and
// closes on several goroutines while txns are applied, for -race, and
// checks the read-then-watch guarantee: a getData watch set on version v
// fires exactly once, for the setData that makes version v+1.
func TestConcurrent(t *testing.T) {
	tr := tree.New(tree.Options{})
	m := New()
	tr.SetTrigger(m.TriggerACL)
	a := &applier{t: t, tr: tr}
	a.create("/w", 0)

	const readers, iterations = 4, 300
	conns := make([]*lockedConn, readers)
	var wg sync.WaitGroup
	for r := range readers {
		conns[r] = &lockedConn{id: int64(r + 1)}
		wg.Add(1)
		go func(c *lockedConn) {
			defer wg.Done()
			for i := range iterations {
				tr.View(func(v tree.View) {
					if _, ok := v.Node("/w"); ok {
						m.AddDataWatch("/w", c)
						m.AddChildWatch("/w", c)
					}
					m.AddDataWatch("/missing", c)
				})
				switch i % 7 {
				case 3:
					m.RemoveWatches(&proto.RemoveWatchesRequest{Path: "/w", Type: proto.WatcherTypeAny}, c)
				case 5:
					m.AddWatch("/", c, PersistentRecursive)
				case 6:
					m.RemoveWatcher(c)
				}
				m.CheckWatches(&proto.CheckWatchesRequest{Path: "/w", Type: proto.WatcherTypeData}, c)
				_ = m.Summary()
				_ = m.ByPath()
				_ = m.BySession()
			}
		}(conns[r])
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// Apply until every reader has finished, so both sides overlap.
	rounds := 0
	for running := true; running; rounds++ {
		select {
		case <-done:
			running = false
		default:
		}
		a.apply(proto.OpSetData, &proto.SetDataTxn{Path: "/w", Data: []byte{byte(rounds)}, Version: int32(rounds + 1)}, 0)
		if rounds%50 == 0 {
			a.create("/w/c", 0)
			a.apply(proto.OpDelete, &proto.DeleteTxn{Path: "/w/c"}, 0)
		}
	}
	events := 0
	for _, c := range conns {
		events += c.n
	}
	if events == 0 {
		t.Error("no events delivered while readers were watching")
	}

	// The exact guarantee, single reader: read + watch in a View, then each
	// txn fires the watch it must.
	c := &conn{id: 99}
	for i := range 20 {
		tr.View(func(v tree.View) {
			if _, ok := v.Node("/w"); ok {
				m.AddDataWatch("/w", c)
			}
		})
		a.apply(proto.OpSetData, &proto.SetDataTxn{Path: "/w", Data: []byte{byte(i)}, Version: int32(rounds + i + 1)}, 0)
		if len(c.events) != i+1 {
			t.Fatalf("after %d setData: %d events", i+1, len(c.events))
		}
	}
}
