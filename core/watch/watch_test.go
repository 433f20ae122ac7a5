package watch

import (
	"slices"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

const (
	wtChildren = proto.WatcherTypeChildren
	wtData     = proto.WatcherTypeData
	wtAny      = proto.WatcherTypeAny
)

// TestTriggerRules pins WatchManager.triggerWatch and DataTree's trigger
// order (createNode, deleteNode, setData) of Java 3.8. Each case: the
// registrations, then the txns (or raw triggers, or more requests), then
// the events each connection must have received, in order, and the
// watches left in the data (D) and child (C) tables.
func TestTriggerRules(t *testing.T) {
	cases := []struct {
		name string
		reg  []step
		trig []step
		want map[int][]string
		left []string
	}{
		{
			name: "getData watch is one-shot",
			reg:  []step{getData(1, "/a")},
			trig: []step{setData("/a"), setData("/a")},
			want: map[int][]string{1: {"Changed /a"}},
		},
		{
			name: "the same watcher registered twice gets one event",
			reg:  []step{getData(1, "/a"), exists(1, "/a")},
			trig: []step{setData("/a")},
			want: map[int][]string{1: {"Changed /a"}},
		},
		{
			name: "every watching connection is notified",
			reg:  []step{getData(1, "/a"), getData(2, "/a"), getData(3, "/b")},
			trig: []step{setData("/a")},
			want: map[int][]string{1: {"Changed /a"}, 2: {"Changed /a"}},
			left: []string{"D /b 3 STANDARD"},
		},
		{
			name: "exists on a missing node then create",
			reg:  []step{exists(1, "/a"), getChildren(2, "/")},
			trig: []step{create("/a"), create("/a/b"), setData("/a")},
			want: map[int][]string{1: {"Created /a"}, 2: {"Children /"}},
		},
		{
			name: "child watch: child list changes only, not data",
			reg:  []step{getChildren(1, "/a")},
			trig: []step{setData("/a"), create("/a/b"), create("/a/c")},
			want: map[int][]string{1: {"Children /a"}},
		},
		{
			name: "standard watch on an ancestor does not fire",
			reg:  []step{getData(1, "/a"), getChildren(1, "/"), addWatch(2, "/x", PersistentRecursive)},
			trig: []step{create("/a/b"), setData("/a/b")},
			want: map[int][]string{},
			left: []string{"C / 1 STANDARD", "C /x 2 PERSISTENT_RECURSIVE", "D /a 1 STANDARD", "D /x 2 PERSISTENT_RECURSIVE"},
		},
		{
			name: "delete: data table, child table without the connections already notified, then the parent",
			reg: []step{
				getData(1, "/a"), getChildren(1, "/a"), // both tables: one NodeDeleted
				getChildren(2, "/a"), // child table only
				exists(3, "/a"),      // data table only
				getChildren(4, "/"),  // parent
				getData(5, "/"),      // parent's data: nothing
			},
			trig: []step{del("/a")},
			want: map[int][]string{1: {"Deleted /a"}, 2: {"Deleted /a"}, 3: {"Deleted /a"}, 4: {"Children /"}},
			left: []string{"D / 5 STANDARD"},
		},
		{
			name: "delete: a suppressed child watch is consumed all the same",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a")},
			trig: []step{fire(tree.EventNodeDeleted, "/a", false), fire(tree.EventNodeDeleted, "/a", true)},
			want: map[int][]string{1: {"Deleted /a"}},
		},
		{
			name: "suppression applies only right after the data-table NodeDeleted of the same path",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a"), getData(1, "/b"), getChildren(1, "/b")},
			trig: []step{
				fire(tree.EventNodeDeleted, "/a", false),
				fire(tree.EventNodeDeleted, "/b", true), // other path: not suppressed
				fire(tree.EventNodeDeleted, "/a", true), // not consecutive: not suppressed
			},
			want: map[int][]string{1: {"Deleted /a", "Deleted /b", "Deleted /a"}},
			left: []string{"D /b 1 STANDARD"},
		},
		{
			name: "recursive watch on the root: create, change, delete of every node, never NodeChildrenChanged",
			reg:  []step{addWatch(1, "/", PersistentRecursive)},
			trig: []step{create("/a"), create("/a/b"), setData("/a/b"), setData("/"), del("/a/b"), del("/a")},
			want: map[int][]string{1: {"Created /a", "Created /a/b", "Changed /a/b", "Changed /", "Deleted /a/b", "Deleted /a"}},
			left: []string{"C / 1 PERSISTENT_RECURSIVE", "D / 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "recursive watch on a deep path: its subtree only (not a sibling with the same prefix)",
			reg:  []step{addWatch(1, "/a/b/c", PersistentRecursive)},
			trig: []step{
				create("/a/b/c"), create("/a/b/c/d"), create("/a/b/c/d/e"), setData("/a/b/c/d/e"),
				create("/a/b/cx"), setData("/a/b"), create("/a/b/x"), del("/a/b/c/d/e"),
			},
			want: map[int][]string{1: {"Created /a/b/c", "Created /a/b/c/d", "Created /a/b/c/d/e", "Changed /a/b/c/d/e", "Deleted /a/b/c/d/e"}},
			left: []string{"C /a/b/c 1 PERSISTENT_RECURSIVE", "D /a/b/c 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "recursive watches on several ancestors: one event",
			reg:  []step{addWatch(1, "/", PersistentRecursive), addWatch(1, "/a", PersistentRecursive), addWatch(2, "/a", PersistentRecursive)},
			trig: []step{create("/a/b")},
			want: map[int][]string{1: {"Created /a/b"}, 2: {"Created /a/b"}},
			left: []string{
				"C / 1 PERSISTENT_RECURSIVE", "C /a 1 PERSISTENT_RECURSIVE", "C /a 2 PERSISTENT_RECURSIVE",
				"D / 1 PERSISTENT_RECURSIVE", "D /a 1 PERSISTENT_RECURSIVE", "D /a 2 PERSISTENT_RECURSIVE",
			},
		},
		{
			name: "persistent watch: data and child events of its path, survives deletion",
			reg:  []step{addWatch(1, "/p", Persistent)},
			trig: []step{
				create("/p"), create("/p/c"), setData("/p"), setData("/p/c"), create("/p/c/d"),
				del("/p/c/d"), del("/p/c"), del("/p"), create("/p"),
			},
			want: map[int][]string{1: {"Created /p", "Children /p", "Changed /p", "Children /p", "Deleted /p", "Created /p"}},
			left: []string{"C /p 1 PERSISTENT", "D /p 1 PERSISTENT"},
		},
		{
			name: "persistent watch on the parent sees NodeChildrenChanged, a recursive one does not",
			reg:  []step{addWatch(1, "/", Persistent), addWatch(2, "/", PersistentRecursive)},
			trig: []step{create("/a")},
			want: map[int][]string{1: {"Children /"}, 2: {"Created /a"}},
			left: []string{
				"C / 1 PERSISTENT", "C / 2 PERSISTENT_RECURSIVE", "D / 1 PERSISTENT", "D / 2 PERSISTENT_RECURSIVE",
			},
		},
		{
			name: "3.8: a standard registration after a persistent one makes that table one-shot",
			reg:  []step{addWatch(1, "/p", Persistent), getData(1, "/p")},
			trig: []step{setData("/p"), setData("/p"), create("/p/c"), create("/p/d")},
			want: map[int][]string{1: {"Changed /p", "Children /p", "Children /p"}},
			left: []string{"C /p 1 PERSISTENT"},
		},
		{
			name: "a persistent registration after a standard one replaces it: no extra event",
			reg:  []step{getData(1, "/p"), getChildren(1, "/p"), addWatch(1, "/p", Persistent)},
			trig: []step{setData("/p"), setData("/p")},
			want: map[int][]string{1: {"Changed /p", "Changed /p"}},
			left: []string{"C /p 1 PERSISTENT", "D /p 1 PERSISTENT"},
		},
		{
			name: "recursive on the root and a standard watch on the path: one event, the standard one consumed",
			reg:  []step{addWatch(1, "/", PersistentRecursive), getData(1, "/a")},
			trig: []step{setData("/a")},
			want: map[int][]string{1: {"Changed /a"}},
			left: []string{"C / 1 PERSISTENT_RECURSIVE", "D / 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "recursive on the root and persistent on the path: one event",
			reg:  []step{addWatch(1, "/", PersistentRecursive), addWatch(1, "/a", Persistent)},
			trig: []step{setData("/a"), del("/a")},
			want: map[int][]string{1: {"Changed /a", "Deleted /a"}},
			left: []string{"C / 1 PERSISTENT_RECURSIVE", "C /a 1 PERSISTENT", "D / 1 PERSISTENT_RECURSIVE", "D /a 1 PERSISTENT"},
		},
		{
			name: "3.8: getChildren on a recursively watched path makes its child-table entry standard",
			reg:  []step{addWatch(1, "/a", PersistentRecursive), getChildren(1, "/a")},
			trig: []step{create("/a/b"), create("/a/c")},
			want: map[int][]string{1: {"Created /a/b", "Children /a", "Created /a/c"}},
			left: []string{"D /a 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "a recursive watch left only in the child table fires NodeDeleted alone",
			reg:  []step{addWatch(1, "/", PersistentRecursive), removeWatches(1, "/", wtData, proto.ErrOK)},
			trig: []step{create("/a"), setData("/a"), del("/a")},
			want: map[int][]string{1: {"Deleted /a"}},
			left: []string{"C / 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "removeWatches Data: the data watch only",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a")},
			trig: []step{removeWatches(1, "/a", wtData, proto.ErrOK), removeWatches(1, "/a", wtData, proto.ErrNoWatcher), setData("/a"), create("/a/b")},
			want: map[int][]string{1: {"Children /a"}},
		},
		{
			name: "removeWatches Children: the child watch only",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a")},
			trig: []step{removeWatches(1, "/a", wtChildren, proto.ErrOK), removeWatches(1, "/a", wtChildren, proto.ErrNoWatcher), create("/a/b"), setData("/a")},
			want: map[int][]string{1: {"Changed /a"}},
		},
		{
			name: "removeWatches Any: both tables; OK when either had one",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a"), getChildren(1, "/b")},
			trig: []step{
				removeWatches(1, "/a", wtAny, proto.ErrOK), removeWatches(1, "/b", wtAny, proto.ErrOK),
				removeWatches(1, "/a", wtAny, proto.ErrNoWatcher), setData("/a"), create("/a/x"), create("/b/x"),
			},
			want: map[int][]string{},
		},
		{
			name: "removeWatches of a persistent watch: Data leaves the child half",
			reg:  []step{addWatch(1, "/p", Persistent)},
			trig: []step{removeWatches(1, "/p", wtData, proto.ErrOK), setData("/p"), create("/p/c"), create("/p/d")},
			want: map[int][]string{1: {"Children /p", "Children /p"}},
			left: []string{"C /p 1 PERSISTENT"},
		},
		{
			name: "removeWatches of a recursive watch: Any removes it and ends the ancestor walk",
			reg:  []step{addWatch(1, "/r", PersistentRecursive)},
			trig: []step{create("/r/a"), removeWatches(1, "/r", wtAny, proto.ErrOK), create("/r/b")},
			want: map[int][]string{1: {"Created /r/a"}},
		},
		{
			name: "removeWatches: only the caller's watch, on the exact path",
			reg:  []step{getData(2, "/a"), addWatch(1, "/", PersistentRecursive)},
			trig: []step{
				removeWatches(1, "/a", wtAny, proto.ErrNoWatcher), // 2's watch, and 1's is on "/"
				removeWatches(3, "/a", wtData, proto.ErrNoWatcher),
				setData("/a"),
			},
			want: map[int][]string{1: {"Changed /a"}, 2: {"Changed /a"}},
			left: []string{"C / 1 PERSISTENT_RECURSIVE", "D / 1 PERSISTENT_RECURSIVE"},
		},
		{
			name: "removeWatches and checkWatches with a type 3.8 does not know: MARSHALLINGERROR, nothing removed",
			reg:  []step{getData(1, "/a")},
			trig: []step{
				removeWatches(1, "/a", 4, proto.ErrMarshallingError), removeWatches(1, "/a", 0, proto.ErrMarshallingError),
				checkWatches(1, "/a", 5, proto.ErrMarshallingError), setData("/a"),
			},
			want: map[int][]string{1: {"Changed /a"}},
		},
		{
			name: "checkWatches: any connection's watch on the exact path, in the selected table; nothing removed",
			reg:  []step{getData(2, "/a"), getChildren(2, "/c"), addWatch(3, "/r", PersistentRecursive)},
			trig: []step{
				checkWatches(1, "/a", wtData, proto.ErrOK), // owner not checked (3.8)
				checkWatches(1, "/a", wtAny, proto.ErrOK),
				checkWatches(1, "/a", wtChildren, proto.ErrNoWatcher),
				checkWatches(2, "/c", wtChildren, proto.ErrOK),
				checkWatches(2, "/c", wtData, proto.ErrNoWatcher),
				checkWatches(3, "/r", wtAny, proto.ErrOK),
				checkWatches(3, "/r/x", wtAny, proto.ErrNoWatcher), // below a recursive watch: no
				checkWatches(2, "/b", wtAny, proto.ErrNoWatcher),
				setData("/a"),
			},
			want: map[int][]string{2: {"Changed /a"}},
			left: []string{"C /c 2 STANDARD", "C /r 3 PERSISTENT_RECURSIVE", "D /r 3 PERSISTENT_RECURSIVE"},
		},
		{
			name: "closing a connection drops all its watches",
			reg:  []step{getData(1, "/a"), getChildren(1, "/a"), addWatch(1, "/", PersistentRecursive), getData(2, "/a")},
			trig: []step{closeConn(1), setData("/a"), create("/a/b")},
			want: map[int][]string{2: {"Changed /a"}},
		},
		{
			name: "a stale connection registers nothing",
			reg: []step{
				{"mark 1 stale", func(h *harness) { h.c(1).stale = true }},
				getData(1, "/a"), getChildren(1, "/a"), addWatch(1, "/", PersistentRecursive),
			},
			trig: []step{setData("/a"), create("/a/b")},
			want: map[int][]string{},
		},
		{
			name: "NodeChildrenChanged of the root",
			reg:  []step{getChildren(1, "/"), addWatch(2, "/", PersistentRecursive)},
			trig: []step{create("/a"), create("/b")},
			want: map[int][]string{1: {"Children /"}, 2: {"Created /a", "Created /b"}},
			left: []string{"C / 2 PERSISTENT_RECURSIVE", "D / 2 PERSISTENT_RECURSIVE"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for _, s := range tc.reg {
				s.do(h)
			}
			for _, s := range tc.trig {
				s.do(h)
			}
			for i, c := range h.conns {
				if want := tc.want[i]; !slices.Equal(c.events, want) {
					t.Errorf("connection %d got %q, want %q", i, c.events, want)
				}
			}
			for i := range tc.want {
				if _, ok := h.conns[i]; !ok {
					t.Errorf("connection %d never used", i)
				}
			}
			if got := h.m.registrations(); !slices.Equal(got, tc.left) {
				t.Errorf("left %q, want %q", got, tc.left)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[int32]Mode{0: Persistent, 1: PersistentRecursive} {
		if m, ok := ModeFromAddWatch(in); !ok || m != want {
			t.Errorf("ModeFromAddWatch(%d) = %v, %v", in, m, ok)
		}
	}
	for _, in := range []int32{-1, 2, 3} {
		if _, ok := ModeFromAddWatch(in); ok {
			t.Errorf("ModeFromAddWatch(%d) accepted", in)
		}
	}
	for in, want := range map[int32]WatcherType{1: Children, 2: Data, 3: Any} {
		if w, ok := ParseWatcherType(in); !ok || w != want {
			t.Errorf("ParseWatcherType(%d) = %v, %v", in, w, ok)
		}
	}
	for _, in := range []int32{0, 4, 5, -1} {
		if _, ok := ParseWatcherType(in); ok {
			t.Errorf("ParseWatcherType(%d) accepted", in)
		}
	}
}
