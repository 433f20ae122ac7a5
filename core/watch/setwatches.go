package watch

import (
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// NodeLookup is what SetWatches needs to know about the tree: the mzxid and
// pzxid of the node at a path (Java's DataTree.getNode, so "/" and "" both
// name the root), ok false when there is none. Implementations must not
// block; TreeLookup adapts a tree.View.
type NodeLookup interface {
	NodeZxids(path string) (mzxid, pzxid int64, ok bool)
}

// TreeLookup returns a NodeLookup over v, valid only while v is (inside
// the function passed to tree.DataTree.View).
func TreeLookup(v tree.View) NodeLookup { return viewLookup{v} }

type viewLookup struct{ v tree.View }

func (l viewLookup) NodeZxids(path string) (int64, int64, bool) {
	n, ok := l.v.Node(path)
	if !ok {
		return 0, 0, false
	}
	return n.Stat.Mzxid, n.Stat.Pzxid, true
}

// SetWatches re-registers w's watches after a reconnect: setWatches (101)
// and setWatches2 (105) (DataTree.setWatches 3.8). For opcode 101 pass its
// three lists with the persistent ones nil. Run it inside the tree View
// whose TreeLookup is nodes, so that no txn is applied between the
// comparisons and the registrations; it takes the Manager's mutex, calls
// w.Process for the events it decides on, and does not block otherwise.
//
// Per path, in list order, data then exist then child then persistent then
// recursive lists, against relative zxid z = req.RelativeZxid:
//   - data watch: node missing → NodeDeleted; mzxid > z → NodeDataChanged;
//     else a standard data watch is registered;
//   - exist watch: node exists → NodeCreated (no zxid comparison); else a
//     standard data watch is registered;
//   - child watch: node missing → NodeDeleted; pzxid > z →
//     NodeChildrenChanged; else a standard child watch is registered;
//   - persistent and persistent-recursive watches are registered in both
//     tables (child table first, as Java does), whether the node exists or
//     not; no event.
//
// A watch whose event is sent is consumed (not registered). Events are
// sent even if w is stale (Java checks staleness only when registering).
// The reply ({-8, lastZxid, 0}, header only) goes after these events.
func (m *Manager) SetWatches(req *proto.SetWatches2, w Watcher, nodes NodeLookup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	z := req.RelativeZxid
	dead := stale(w)
	m.reregister(&m.data, req.DataWatches, tree.EventNodeDataChanged, false, z, w, dead, nodes)
	for _, p := range req.ExistWatches {
		if _, _, ok := nodes.NodeZxids(p); ok {
			send(w, tree.EventNodeCreated, p)
		} else if !dead {
			m.data.add(p, w, Standard)
		}
	}
	m.reregister(&m.child, req.ChildWatches, tree.EventNodeChildrenChanged, true, z, w, dead, nodes)
	if dead {
		return
	}
	for _, p := range req.PersistentWatches {
		m.child.add(p, w, Persistent)
		m.data.add(p, w, Persistent)
	}
	for _, p := range req.PersistentRecursiveWatches {
		m.child.add(p, w, PersistentRecursive)
		m.data.add(p, w, PersistentRecursive)
	}
}

// reregister handles SetWatches' data list (t = data table, changed =
// NodeDataChanged, compared with mzxid) or child list (child table,
// NodeChildrenChanged, pzxid).
func (m *Manager) reregister(t *table, paths []string, changed tree.EventType, byPzxid bool, z int64, w Watcher, dead bool, nodes NodeLookup) {
	for _, p := range paths {
		mz, pz, ok := nodes.NodeZxids(p)
		if byPzxid {
			mz = pz
		}
		switch {
		case !ok:
			send(w, tree.EventNodeDeleted, p)
		case mz > z:
			send(w, changed, p)
		case !dead:
			t.add(p, w, Standard)
		}
	}
}

func send(w Watcher, ev tree.EventType, path string) {
	w.Process(proto.WatcherEvent{Type: int32(ev), State: proto.StateSyncConnected, Path: path})
}
