// Package memory is the reference storage engine: everything in maps, no
// durability. It can simulate a crash that loses what was committed
// without sync (see Crash), so the persister and the observer can be tested
// against the storage contract without a disk.
package memory

import (
	"sort"
	"sync"

	"github.com/zkobserver/zkobserver/storage"
)

// Engine is the in-memory engine. Safe for concurrent use as storage.Engine
// requires.
type Engine struct {
	mu       sync.RWMutex
	closed   bool
	nodes    map[string]*storage.Node
	sessions map[int64]int32
	meta     storage.Meta
	install  *installer
	// undo records, per path / session, the value before the first unsynced
	// commit that changed it (nil: absent), and the meta of the last
	// synced commit; Crash rolls back to it.
	undoNodes    map[string]*storage.Node
	undoSessions map[int64]*int32
	undoMeta     *storage.Meta
}

var _ storage.Engine = (*Engine)(nil)

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		nodes:        make(map[string]*storage.Node),
		sessions:     make(map[int64]int32),
		undoNodes:    make(map[string]*storage.Node),
		undoSessions: make(map[int64]*int32),
	}
}

func key(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// Meta implements storage.Engine.
func (e *Engine) Meta() (storage.Meta, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.Meta{}, storage.ErrClosed
	}
	return e.meta, nil
}

// Load implements storage.Engine.
func (e *Engine) Load(v storage.Visitor) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.ErrClosed
	}
	paths := make([]string, 0, len(e.nodes))
	for p := range e.nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := v.Node(cloneNode(e.nodes[p])); err != nil {
			return err
		}
	}
	ids := make([]int64, 0, len(e.sessions))
	for id := range e.sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if err := v.Session(storage.Session{ID: id, Timeout: e.sessions[id]}); err != nil {
			return err
		}
	}
	return nil
}

// cloneNode copies the node struct; data and ACL slices are immutable and
// shared.
func cloneNode(n *storage.Node) *storage.Node {
	c := *n
	return &c
}

// Get implements storage.Engine.
func (e *Engine) Get(path string) (*storage.Node, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, storage.ErrClosed
	}
	n, ok := e.nodes[key(path)]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return cloneNode(n), nil
}

// Commit implements storage.Engine.
func (e *Engine) Commit(b *storage.Batch, sync bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return storage.ErrClosed
	case e.install != nil:
		return storage.ErrInstallActive
	case b.LastZxid < e.meta.LastZxid:
		return storage.ErrStaleZxid
	}
	// Undo records are needed only for what a crash may lose: commits
	// without sync. A synced commit makes everything before it durable.
	undo := !sync
	if undo && e.undoMeta == nil {
		m := e.meta
		e.undoMeta = &m
	}
	for _, p := range b.Deletes {
		if undo {
			e.saveNode(key(p))
		}
		delete(e.nodes, key(p))
	}
	for _, n := range b.Puts {
		k := key(n.Path)
		if undo {
			e.saveNode(k)
		}
		n.Path = k
		e.nodes[k] = n
	}
	for _, s := range b.Sessions {
		if undo {
			e.saveSession(s.ID)
		}
		e.sessions[s.ID] = s.Timeout
	}
	for _, id := range b.SessionDeletes {
		if undo {
			e.saveSession(id)
		}
		delete(e.sessions, id)
	}
	e.meta.LastZxid = b.LastZxid
	if b.Epochs != nil {
		e.meta.AcceptedEpoch, e.meta.CurrentEpoch = b.Epochs.Accepted, b.Epochs.Current
	}
	if sync {
		e.clearUndo()
	}
	return nil
}

func (e *Engine) saveNode(k string) {
	if _, saved := e.undoNodes[k]; !saved {
		e.undoNodes[k] = e.nodes[k] // nil when absent
	}
}

func (e *Engine) saveSession(id int64) {
	if _, saved := e.undoSessions[id]; !saved {
		if to, ok := e.sessions[id]; ok {
			e.undoSessions[id] = &to
		} else {
			e.undoSessions[id] = nil
		}
	}
}

func (e *Engine) clearUndo() {
	if len(e.undoNodes) > 0 {
		e.undoNodes = make(map[string]*storage.Node)
	}
	if len(e.undoSessions) > 0 {
		e.undoSessions = make(map[int64]*int32)
	}
	e.undoMeta = nil
}

// Crash simulates a power loss: every commit made with sync false since the
// last synced commit is undone (whole batches only), an install that was
// not committed is dropped, and the engine is open again.
func (e *Engine) Crash() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, n := range e.undoNodes {
		if n == nil {
			delete(e.nodes, k)
		} else {
			e.nodes[k] = n
		}
	}
	for id, to := range e.undoSessions {
		if to == nil {
			delete(e.sessions, id)
		} else {
			e.sessions[id] = *to
		}
	}
	if e.undoMeta != nil {
		e.meta = *e.undoMeta
	}
	e.clearUndo()
	e.install = nil
	e.closed = false
}

// BeginInstall implements storage.Engine.
func (e *Engine) BeginInstall() (storage.Installer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, storage.ErrClosed
	case e.install != nil:
		return nil, storage.ErrInstallActive
	}
	e.install = &installer{e: e, nodes: make(map[string]*storage.Node), sessions: make(map[int64]int32)}
	return e.install, nil
}

type installer struct {
	e        *Engine
	nodes    map[string]*storage.Node
	sessions map[int64]int32
	done     bool
}

func (in *installer) Put(n *storage.Node) error {
	if in.done {
		return storage.ErrClosed
	}
	c := *n // n may be reused by the caller
	c.Path = key(n.Path)
	in.nodes[c.Path] = &c
	return nil
}

func (in *installer) PutSession(s storage.Session) error {
	if in.done {
		return storage.ErrClosed
	}
	in.sessions[s.ID] = s.Timeout
	return nil
}

func (in *installer) Delete(path string) error {
	if in.done {
		return storage.ErrClosed
	}
	delete(in.nodes, key(path))
	return nil
}

func (in *installer) DeleteSession(id int64) error {
	if in.done {
		return storage.ErrClosed
	}
	delete(in.sessions, id)
	return nil
}

func (in *installer) Commit(meta storage.Meta) error {
	e := in.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.done || e.install != in || e.closed {
		return storage.ErrClosed
	}
	in.done = true
	e.install = nil
	e.nodes, e.sessions = in.nodes, in.sessions
	meta.NeedsResync = false
	e.meta = meta
	e.clearUndo() // an install is durable
	return nil
}

func (in *installer) Abort() error {
	e := in.e
	e.mu.Lock()
	defer e.mu.Unlock()
	in.done = true
	if e.install == in {
		e.install = nil
	}
	return nil
}

// Reset implements storage.Engine.
func (e *Engine) Reset() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return storage.ErrClosed
	}
	e.nodes = make(map[string]*storage.Node)
	e.sessions = make(map[int64]int32)
	e.meta = storage.Meta{AcceptedEpoch: e.meta.AcceptedEpoch, CurrentEpoch: e.meta.CurrentEpoch}
	e.install = nil
	e.clearUndo()
	return nil
}

// Close implements storage.Engine. A closed memory engine keeps its state;
// Crash reopens it.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}
