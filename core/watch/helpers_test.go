package watch

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// conn is a test Watcher that records what it is sent.
type conn struct {
	id     int64
	stale  bool
	events []string
}

func (c *conn) Process(ev proto.WatcherEvent) {
	if ev.State != proto.StateSyncConnected {
		panic(fmt.Sprintf("state %d", ev.State))
	}
	c.events = append(c.events, evString(tree.EventType(ev.Type), ev.Path))
}
func (c *conn) SessionID() int64 { return c.id }
func (c *conn) Stale() bool      { return c.stale }

var evNames = map[tree.EventType]string{
	tree.EventNodeCreated:         "Created",
	tree.EventNodeDeleted:         "Deleted",
	tree.EventNodeDataChanged:     "Changed",
	tree.EventNodeChildrenChanged: "Children",
}

func evString(ev tree.EventType, path string) string { return evNames[ev] + " " + path }

// harness is a Manager plus numbered connections (session id = number).
type harness struct {
	t     *testing.T
	m     *Manager
	conns map[int]*conn
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, m: New(), conns: map[int]*conn{}}
}

func (h *harness) c(i int) *conn {
	if h.conns[i] == nil {
		h.conns[i] = &conn{id: int64(i)}
	}
	return h.conns[i]
}

// step is one registration, trigger or removal in a table-driven case.
type step struct {
	name string
	do   func(h *harness)
}

func getData(w int, p string) step {
	return step{fmt.Sprintf("getData(%s) by %d", p, w), func(h *harness) { h.m.AddDataWatch(p, h.c(w)) }}
}

// exists registers like getData; the name says which request it stands for.
func exists(w int, p string) step {
	return step{fmt.Sprintf("exists(%s) by %d", p, w), func(h *harness) { h.m.AddDataWatch(p, h.c(w)) }}
}

func getChildren(w int, p string) step {
	return step{fmt.Sprintf("getChildren(%s) by %d", p, w), func(h *harness) { h.m.AddChildWatch(p, h.c(w)) }}
}

func addWatch(w int, p string, mode Mode) step {
	return step{fmt.Sprintf("addWatch(%s, %v) by %d", p, mode, w), func(h *harness) { h.m.AddWatch(p, h.c(w), mode) }}
}

// removeWatches sends removeWatches (18) and checks the answer.
func removeWatches(w int, p string, typ int32, want proto.ErrCode) step {
	return step{fmt.Sprintf("removeWatches(%s, %d) by %d", p, typ, w), func(h *harness) {
		h.t.Helper()
		if got := h.m.RemoveWatches(&proto.RemoveWatchesRequest{Path: p, Type: typ}, h.c(w)); got != want {
			h.t.Errorf("removeWatches(%s, %d) by %d = %v, want %v", p, typ, w, got, want)
		}
	}}
}

// checkWatches sends checkWatches (17) and checks the answer.
func checkWatches(w int, p string, typ int32, want proto.ErrCode) step {
	return step{fmt.Sprintf("checkWatches(%s, %d) by %d", p, typ, w), func(h *harness) {
		h.t.Helper()
		if got := h.m.CheckWatches(&proto.CheckWatchesRequest{Path: p, Type: typ}, h.c(w)); got != want {
			h.t.Errorf("checkWatches(%s, %d) by %d = %v, want %v", p, typ, w, got, want)
		}
	}}
}

func closeConn(w int) step {
	return step{fmt.Sprintf("close %d", w), func(h *harness) { h.c(w).stale = true; h.m.RemoveWatcher(h.c(w)) }}
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// The triggers of each txn, in the order DataTree fires them.

func create(p string) step {
	return step{"create " + p, func(h *harness) {
		h.m.Trigger(tree.EventNodeCreated, p, false)
		h.m.Trigger(tree.EventNodeChildrenChanged, parent(p), true)
	}}
}

func del(p string) step {
	return step{"delete " + p, func(h *harness) {
		h.m.Trigger(tree.EventNodeDeleted, p, false)
		h.m.Trigger(tree.EventNodeDeleted, p, true)
		h.m.Trigger(tree.EventNodeChildrenChanged, parent(p), true)
	}}
}

func setData(p string) step {
	return step{"setData " + p, func(h *harness) { h.m.Trigger(tree.EventNodeDataChanged, p, false) }}
}

// fire is one raw Trigger call.
func fire(ev tree.EventType, p string, childTable bool) step {
	return step{fmt.Sprintf("trigger %s child=%v", evString(ev, p), childTable), func(h *harness) { h.m.Trigger(ev, p, childTable) }}
}

// registrations lists both tables as sorted "D|C path conn MODE" lines.
func (m *Manager) registrations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, tb := range []struct {
		name string
		t    *table
	}{{"D", &m.data}, {"C", &m.child}} {
		rec := 0
		for p, ws := range tb.t.paths {
			if len(ws) == 0 {
				out = append(out, "empty inner map at "+p)
			}
			for w, mode := range ws {
				out = append(out, fmt.Sprintf("%s %s %d %v", tb.name, p, w.SessionID(), mode))
				if mode == PersistentRecursive {
					rec++
				}
				if _, ok := tb.t.byWatcher[w][p]; !ok {
					out = append(out, fmt.Sprintf("%s %s %d missing from byWatcher", tb.name, p, w.SessionID()))
				}
			}
		}
		for w, ps := range tb.t.byWatcher {
			for p := range ps {
				if _, ok := tb.t.paths[p][w]; !ok {
					out = append(out, fmt.Sprintf("%s %s %d only in byWatcher", tb.name, p, w.SessionID()))
				}
			}
		}
		if rec != tb.t.recursive {
			out = append(out, fmt.Sprintf("%s recursive count %d, have %d", tb.name, tb.t.recursive, rec))
		}
	}
	slices.Sort(out)
	return out
}
