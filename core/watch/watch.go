// Package watch is the server-side watch manager: ZooKeeper 3.8's two watch
// tables (data watches and child watches, Java's DataTree.dataWatches and
// childWatches, each a server/watch/WatchManager) with their standard,
// persistent and persistent-recursive modes, the triggers the DataTree fires
// while it applies txns, removal (checkWatches 17, removeWatches 18,
// connection close), re-registration on reconnect (setWatches 101,
// setWatches2 105) and the statistics behind the wchs, wchc and wchp
// four-letter words.
//
// Semantics follow Java 3.8 exactly, including its quirks (see Manager).
//
// Concurrency: one mutex guards both tables. Registrations come from
// connection goroutines, normally inside tree.DataTree.View (the tree's read
// lock), so a read and its watch are atomic with respect to applies;
// Trigger comes from the applier while it holds the tree's write lock.
// Trigger calls must therefore be serialized by the caller (the tree's write
// lock does that): the per-connection order of events is the order of the
// Trigger calls, and the delete rule (see Trigger) relies on consecutive
// calls. Every method may be called from any goroutine.
//
// Watchers are called (Process) with the Manager's mutex held; they must
// not block and must not call back into the Manager.
package watch

import (
	"strings"
	"sync"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// Watcher is one client connection as the watch manager sees it (Java's
// ServerCnxn in its role of Watcher). Watches belong to the connection, not
// the session: a reconnecting client re-registers them with SetWatches.
//
// A Watcher is a map key: its dynamic type must be comparable, and two
// connections must be different keys (use a pointer type).
type Watcher interface {
	// Process queues the notification ev (Type 1..4, State SyncConnected,
	// Path the server path) for the connection. It is called with the
	// Manager's mutex held, from Trigger (the applier, which also holds the
	// tree's write lock) or from SetWatches (a connection goroutine, usually
	// inside a tree View). It must not block (enqueue and return; a
	// connection whose queue is full should be marked for closing rather
	// than waited for) and must not call any Manager method.
	Process(ev proto.WatcherEvent)
	// SessionID is the session of the connection, for wchc and wchp. It is
	// called with the Manager's mutex held and must be cheap.
	SessionID() int64
}

// StaleWatcher is a Watcher that can tell it is closing. Registrations of a
// stale watcher are ignored, as Java's WatchManager.addWatch ignores a
// ServerCnxn whose isStale() is true; that closes the race between
// RemoveWatcher on connection close and a registration still in flight on
// another goroutine. Stale is called with the Manager's mutex held and must
// not block.
type StaleWatcher interface {
	Watcher
	Stale() bool
}

// Mode is how a watch stays registered (Java's WatcherMode).
type Mode uint8

// Watch modes.
const (
	// Standard watches (getData, exists, getChildren) fire once and are
	// removed when they fire.
	Standard Mode = iota
	// Persistent watches (addWatch mode 0) stay after firing and see the
	// events of their own path in both tables.
	Persistent
	// PersistentRecursive watches (addWatch mode 1) stay after firing and
	// see the events of their path and every descendant, except
	// NodeChildrenChanged.
	PersistentRecursive
)

func (m Mode) String() string {
	switch m {
	case Standard:
		return "STANDARD"
	case Persistent:
		return "PERSISTENT"
	case PersistentRecursive:
		return "PERSISTENT_RECURSIVE"
	}
	return "Mode(?)"
}

// ModeFromAddWatch maps the mode of an addWatch request (106) to a Mode. ok
// is false for anything but 0 (PERSISTENT) and 1 (PERSISTENT_RECURSIVE):
// Java's WatcherMode.fromZooDef throws, and FinalRequestProcessor answers
// the request with a header-only MARSHALLINGERROR (-5) reply.
func ModeFromAddWatch(mode int32) (m Mode, ok bool) {
	switch mode {
	case proto.AddWatchModePersistent:
		return Persistent, true
	case proto.AddWatchModePersistentRecursive:
		return PersistentRecursive, true
	}
	return Standard, false
}

// WatcherType selects the table(s) of checkWatches (17) and removeWatches
// (18) (Java's Watcher.WatcherType; 3.8 knows only these three).
type WatcherType int32

// Watcher types.
const (
	Children WatcherType = WatcherType(proto.WatcherTypeChildren) // the child table
	Data     WatcherType = WatcherType(proto.WatcherTypeData)     // the data table
	Any      WatcherType = WatcherType(proto.WatcherTypeAny)      // both tables
)

// ParseWatcherType checks a wire WatcherType. ok is false for anything but
// 1..3: Java 3.8's WatcherType.fromInt throws and FinalRequestProcessor
// answers MARSHALLINGERROR (-5). (The types 4 and 5 of ZOOKEEPER-4471 exist
// only from 3.9 on.)
func ParseWatcherType(t int32) (WatcherType, bool) {
	switch WatcherType(t) {
	case Children, Data, Any:
		return WatcherType(t), true
	}
	return 0, false
}

// table is one Java WatchManager: watchTable and the watcher modes in one
// map (a (watcher, path) pair has one mode per table), watch2Paths, and the
// number of recursive entries (WatcherModeManager.recursiveQty).
type table struct {
	// paths maps a path to its watchers and their mode. Never holds an
	// empty inner map.
	paths map[string]map[Watcher]Mode
	// byWatcher is Java's watch2Paths. As in Java, a watcher keeps its
	// (possibly empty) entry until RemoveWatcher: standard watches that
	// fire and removeWatches take paths out of the set but leave the
	// entry, and wchs counts it as a connection watching.
	byWatcher map[Watcher]map[string]struct{}
	recursive int
}

func newTable() table {
	return table{paths: make(map[string]map[Watcher]Mode), byWatcher: make(map[Watcher]map[string]struct{})}
}

// add is WatchManager.addWatch: the last registration of a (watcher, path)
// pair sets its mode, so a standard registration downgrades a persistent
// one (the 3.8 behaviour ZOOKEEPER-4466 changed in 3.9).
func (t *table) add(path string, w Watcher, mode Mode) {
	ws := t.paths[path]
	if ws == nil {
		ws = make(map[Watcher]Mode, 1)
		t.paths[path] = ws
	}
	old, had := ws[w]
	ws[w] = mode
	if had && old == PersistentRecursive {
		t.recursive--
	}
	if mode == PersistentRecursive {
		t.recursive++
	}
	ps := t.byWatcher[w]
	if ps == nil {
		ps = make(map[string]struct{})
		t.byWatcher[w] = ps
	}
	ps[path] = struct{}{}
}

// remove is WatchManager.removeWatcher(path, watcher).
func (t *table) remove(path string, w Watcher) bool {
	ps := t.byWatcher[w]
	if _, ok := ps[path]; !ok {
		return false
	}
	delete(ps, path)
	ws := t.paths[path]
	mode, ok := ws[w]
	if !ok {
		return false
	}
	t.drop(path, ws, w, mode)
	return true
}

// drop deletes w from ws (= t.paths[path]) and the path's entry when it
// becomes empty. It does not touch byWatcher.
func (t *table) drop(path string, ws map[Watcher]Mode, w Watcher, mode Mode) {
	delete(ws, w)
	if len(ws) == 0 {
		delete(t.paths, path)
	}
	if mode == PersistentRecursive {
		t.recursive--
	}
}

// removeWatcher is WatchManager.removeWatcher(watcher).
func (t *table) removeWatcher(w Watcher) {
	ps, ok := t.byWatcher[w]
	if !ok {
		return
	}
	delete(t.byWatcher, w)
	for p := range ps {
		if ws := t.paths[p]; ws != nil {
			if mode, ok := ws[w]; ok {
				t.drop(p, ws, w, mode)
			}
		}
	}
}

// contains is WatchManager.containsWatcher. Java walks the path (and its
// parents when recursive watches exist) and answers true at the path itself
// if any watcher at all is registered there, or at any level if the
// caller's own mode on exactly this path is recursive; since a mode entry
// exists only for a registered watcher, that reduces to "the path has a
// watch in this table", whoever owns it (the 3.8 behaviour: the owner is not
// checked).
func (t *table) contains(path string) bool {
	return len(t.paths[path]) > 0
}

// size is WatchManager.size: the number of (path, watcher) entries.
func (t *table) size() int {
	n := 0
	for _, ws := range t.paths {
		n += len(ws)
	}
	return n
}

// Manager holds the data and child watch tables of one server.
//
// Java 3.8 behaviours it keeps (DataTree, WatchManager, WatcherModeManager):
//   - exists registers in the data table whether or not the node exists;
//     getData and getChildren register only for an existing node (the
//     caller decides: it calls AddDataWatch / AddChildWatch only then).
//   - addWatch registers in both tables. A (connection, path) pair has one
//     mode per table, the last registered: a standard registration on a
//     persistently watched path makes that table's watch one-shot.
//   - A connection gets at most one copy of each fired event per table
//     trigger, however many of its watches match.
//   - Recursive watches fire for their path and all descendants, never for
//     NodeChildrenChanged; persistent and standard watches fire only for
//     their exact path.
//   - A deleted node's child-table NodeDeleted skips the connections the
//     data table's NodeDeleted just notified (their child watches are still
//     consumed).
//   - wchs/wchc/wchp report the data table only; WatchCount (mntr's
//     zk_watch_count) counts both.
type Manager struct {
	mu    sync.Mutex
	data  table
	child table

	// fired is Trigger's scratch list of watchers to notify.
	fired []Watcher
	// deleted records the watchers the data table's NodeDeleted on
	// deletedPath notified (Java's WatcherOrBitSet "processed"), for the
	// child table's NodeDeleted on the same path that follows at once.
	deletedPath  string
	deleted      []Watcher
	deletedValid bool
}

// New returns an empty Manager.
func New() *Manager {
	return &Manager{data: newTable(), child: newTable()}
}

func stale(w Watcher) bool {
	s, ok := w.(StaleWatcher)
	return ok && s.Stale()
}

// AddDataWatch registers a standard watch of w on path in the data table:
// getData with watch=true (existing node) and exists with watch=true
// (whether the node exists or not). Call it inside the tree View that read
// the node. Ignored if w is stale.
func (m *Manager) AddDataWatch(path string, w Watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !stale(w) {
		m.data.add(path, w, Standard)
	}
}

// AddChildWatch registers a standard watch of w on path in the child table:
// getChildren / getChildren2 with watch=true on an existing node. Call it
// inside the tree View that read the node. Ignored if w is stale.
func (m *Manager) AddChildWatch(path string, w Watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !stale(w) {
		m.child.add(path, w, Standard)
	}
}

// AddWatch is addWatch (106) (DataTree.addWatch): w watches path in both
// tables with mode, whether or not the node exists. Use ModeFromAddWatch
// for the wire mode. Ignored if w is stale.
func (m *Manager) AddWatch(path string, w Watcher, mode Mode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !stale(w) {
		m.data.add(path, w, mode)
		m.child.add(path, w, mode)
	}
}

// Trigger fires the watches of one table for an event, as Java's
// WatchManager.triggerWatch; its signature is tree.Trigger's, so
// tree.DataTree.SetTrigger(m.Trigger) wires it.
//
// It is called by the applier with the tree's write lock held, and must not
// be called concurrently with itself. It takes the Manager's mutex, calls
// Process on each notified watcher, and never blocks otherwise.
//
// Rules (WatchManager.triggerWatch 3.8): the watchers registered on path
// fire (standard ones are removed, persistent ones stay); when the table
// holds recursive watches, every ancestor of path is consulted too and its
// recursive watchers fire unless ev is NodeChildrenChanged (a recursive
// watch on path itself also skips NodeChildrenChanged); each watcher is
// notified once. A child-table NodeDeleted on the path of the data-table
// NodeDeleted that immediately preceded it skips the watchers that one
// notified (DataTree.deleteNode passes the data table's result as the
// suppress set), after consuming their standard watches all the same.
func (m *Manager) Trigger(ev tree.EventType, path string, childTable bool) {
	m.TriggerACL(ev, path, childTable, nil)
}

// ReadChecker is implemented by watchers that may see an event only with
// READ permission on its node, as a Java server checks since ZOOKEEPER-4799
// (CVE-2024-23944: 3.8.4, and Debian's 3.8.0 carries the fix). CanRead is
// called under the Manager's lock and must not block.
type ReadChecker interface {
	CanRead(acl []proto.ACL) bool
}

// TriggerACL is Trigger with the ACL list of the event's node (matching
// tree.Trigger): a watcher that is a ReadChecker without READ on acl does
// not get the event, but its watch is consumed all the same (Java removes
// the watch before it checks). A nil acl (the null list of the built-in
// nodes) is readable by all.
func (m *Manager) TriggerACL(ev tree.EventType, path string, childTable bool, acl []proto.ACL) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &m.data
	if childTable {
		t = &m.child
	}
	suppress := childTable && ev == tree.EventNodeDeleted && m.deletedValid && m.deletedPath == path
	fired := m.collect(t, ev, path)
	if suppress && len(fired) > 0 {
		fired = subtract(fired, m.deleted)
	}
	if m.deletedValid {
		clear(m.deleted)
		m.deleted = m.deleted[:0]
		m.deletedValid = false
	}
	if !childTable && ev == tree.EventNodeDeleted && len(fired) > 0 {
		m.deleted = append(m.deleted, fired...)
		m.deletedPath = path
		m.deletedValid = true
	}
	if len(fired) == 0 {
		return
	}
	e := proto.WatcherEvent{Type: int32(ev), State: proto.StateSyncConnected, Path: path}
	for i, w := range fired {
		fired[i] = nil // do not keep connections alive through the scratch list
		if acl != nil {
			if rc, ok := w.(ReadChecker); ok && !rc.CanRead(acl) {
				continue
			}
		}
		w.Process(e)
	}
}

// collect is the registration walk of triggerWatch: it returns the distinct
// watchers to notify (in m.fired) and removes the standard watches that
// fire.
func (m *Manager) collect(t *table, ev tree.EventType, path string) []Watcher {
	fired := m.fired[:0]
	levels := 0
	p := path
	for {
		if ws := t.paths[p]; ws != nil {
			n := len(fired)
			leaf := p == path
			for w, mode := range ws {
				switch {
				case mode == PersistentRecursive:
					if ev != tree.EventNodeChildrenChanged {
						fired = append(fired, w)
					}
				case leaf:
					fired = append(fired, w)
					if mode == Standard {
						delete(ws, w)
						delete(t.byWatcher[w], p)
					}
				}
			}
			if len(ws) == 0 {
				delete(t.paths, p)
			}
			if len(fired) > n {
				levels++
			}
		}
		if t.recursive == 0 || p == "/" {
			break
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		if i == 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
	if levels > 1 {
		fired = dedup(fired)
	}
	m.fired = fired
	return fired
}

// smallSet is the size up to which dedup and subtract compare pairs rather
// than build a map (interface comparisons are far cheaper than map inserts
// for the handful of watchers a trigger usually fires).
const smallSet = 32

// dedup removes repeated watchers from fired, in place, keeping the first
// of each.
func dedup(fired []Watcher) []Watcher {
	out := fired[:0]
	if len(fired) <= smallSet {
	next:
		for _, w := range fired {
			for _, o := range out {
				if o == w {
					continue next
				}
			}
			out = append(out, w)
		}
	} else {
		seen := make(map[Watcher]struct{}, len(fired))
		for _, w := range fired {
			if _, dup := seen[w]; !dup {
				seen[w] = struct{}{}
				out = append(out, w)
			}
		}
	}
	clear(fired[len(out):])
	return out
}

// subtract removes from fired (in place) the watchers in drop.
func subtract(fired, drop []Watcher) []Watcher {
	out := fired[:0]
	if len(fired) <= smallSet && len(drop) <= smallSet {
	next:
		for _, w := range fired {
			for _, d := range drop {
				if w == d {
					continue next
				}
			}
			out = append(out, w)
		}
	} else {
		skip := make(map[Watcher]struct{}, len(drop))
		for _, d := range drop {
			skip[d] = struct{}{}
		}
		for _, w := range fired {
			if _, ok := skip[w]; !ok {
				out = append(out, w)
			}
		}
	}
	clear(fired[len(out):])
	return out
}

// RemoveWatch removes w's watch on path from the table(s) typ selects,
// whatever its mode (DataTree.removeWatch; Any tries both tables). It
// reports whether anything was removed.
func (m *Manager) RemoveWatch(path string, typ WatcherType, w Watcher) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	removed := false
	if typ == Children || typ == Any {
		removed = m.child.remove(path, w)
	}
	if typ == Data || typ == Any {
		if m.data.remove(path, w) {
			removed = true
		}
	}
	return removed
}

// ContainsWatch is DataTree.containsWatcher for checkWatches: in 3.8 it is
// true when any connection (not necessarily w) has a watch registered
// exactly on path in the table(s) typ selects. w is accepted for the day a
// stricter check is wanted; 3.8 ignores the owner in effect.
func (m *Manager) ContainsWatch(path string, typ WatcherType, w Watcher) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_ = w
	return ((typ == Children || typ == Any) && m.child.contains(path)) ||
		((typ == Data || typ == Any) && m.data.contains(path))
}

// RemoveWatches answers removeWatches (18) as Java's FinalRequestProcessor
// does: ErrOK when a watch was removed, ErrNoWatcher when none matched,
// ErrMarshallingError for a type other than 1..3 (nothing removed). The
// reply is header-only in every case.
func (m *Manager) RemoveWatches(req *proto.RemoveWatchesRequest, w Watcher) proto.ErrCode {
	return answer(req.Type, func(typ WatcherType) bool { return m.RemoveWatch(req.Path, typ, w) })
}

// CheckWatches answers checkWatches (17) as Java's FinalRequestProcessor
// does: ErrOK when ContainsWatch is true, ErrNoWatcher otherwise,
// ErrMarshallingError for a type other than 1..3. Nothing is changed.
func (m *Manager) CheckWatches(req *proto.CheckWatchesRequest, w Watcher) proto.ErrCode {
	return answer(req.Type, func(typ WatcherType) bool { return m.ContainsWatch(req.Path, typ, w) })
}

// answer maps a checkWatches / removeWatches outcome to the reply's error.
func answer(wireType int32, found func(WatcherType) bool) proto.ErrCode {
	typ, ok := ParseWatcherType(wireType)
	switch {
	case !ok:
		return proto.ErrMarshallingError
	case !found(typ):
		return proto.ErrNoWatcher
	}
	return proto.ErrOK
}

// RemoveWatcher drops every watch of w in both tables (DataTree.removeCnxn),
// when its connection closes. A StaleWatcher should report stale before
// this is called, so that no registration in flight re-adds it.
func (m *Manager) RemoveWatcher(w Watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data.removeWatcher(w)
	m.child.removeWatcher(w)
}
