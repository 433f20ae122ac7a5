package tree

import (
	"errors"
	"fmt"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Load errors.
var (
	// ErrOrphan means a snapshot node whose parent did not come before it.
	ErrOrphan = errors.New("tree: node's parent missing in snapshot")
	// ErrNoRoot means a snapshot without a root node, or a second root.
	ErrNoRoot = errors.New("tree: snapshot root missing or repeated")
	// ErrLoadOrder means a Loader used out of order (nodes before ACLs are
	// complete is fine; anything after Finish is not).
	ErrLoadOrder = errors.New("tree: loader used after Finish")
)

// Loader builds a tree from a snapshot stream (sessions, ACL table, nodes in
// pre-order), as Java's DataTree.deserialize does. The tree under
// construction is private to the Loader until Finish returns it, so a failed
// or interrupted load never shows a half-built tree to readers.
type Loader struct {
	t    *DataTree
	done bool
	// The parent of the last node added: a pre-order stream mostly adds
	// siblings in a row, so this saves a map lookup per node.
	lastParentKey string
	lastParent    *Node
}

// NewLoader starts an empty tree with opts.
func NewLoader(opts Options) *Loader { return NewLoaderSize(opts, 0) }

// NewLoaderSize is NewLoader for a tree of about nodes znodes (0 if
// unknown), so that the node map never has to grow during the load.
func NewLoaderSize(opts Options, nodes int) *Loader {
	t := &DataTree{opts: opts}
	t.reset()
	if nodes > 0 {
		t.nodes = make(map[string]*Node, nodes)
	}
	return &Loader{t: t}
}

// Session adds a session with its timeout.
func (l *Loader) Session(id int64, timeout int32) { l.t.sessions[id] = timeout }

// ACL adds an ACL cache entry. The loader keeps acls.
func (l *Loader) ACL(idx int64, acls []proto.ACL) { l.t.acls.put(idx, acls) }

// Node adds a node. path is as in the snapshot ("" for the root). Its
// parent must already have been added. The loader keeps data.
func (l *Loader) Node(path string, data []byte, acl int64, st proto.StatPersisted) error {
	if l.done {
		return ErrLoadOrder
	}
	return l.add(path, &Node{Data: data, Stat: st}, acl, false)
}

// add puts n at path with the ACL cache entry acl (its usage counted once
// the checks pass); digested says n's digest is already computed.
func (l *Loader) add(path string, n *Node, acl int64, digested bool) error {
	t := l.t
	put := t.putNode
	if digested {
		put = t.putDigested
	}
	if path == "" || path == "/" {
		if _, ok := t.nodes[""]; ok {
			return fmt.Errorf("%w: %q", ErrNoRoot, path)
		}
		n.ACL = t.acls.addUsage(acl)
		put("", n)
		return nil
	}
	parentKey := parentOf(path)
	parent := l.lastParent
	if parent == nil || parentKey != l.lastParentKey {
		if parent = t.nodes[parentKey]; parent == nil {
			return fmt.Errorf("%w: parent %q of %q", ErrOrphan, parentKey, path)
		}
		l.lastParentKey, l.lastParent = parentKey, parent
	}
	name := childOf(path)
	if _, dup := parent.children[name]; dup {
		// A repeated path replaces the earlier node, as Java's map put.
		if old := t.nodes[path]; old != nil {
			t.digest -= uint64(old.digest)
			t.dataSize -= int64(len(path) + len(old.Data))
			t.unindexOwner(path, old.Stat.EphemeralOwner)
			if old == l.lastParent {
				l.lastParent = nil
			}
		}
	}
	n.ACL = t.acls.addUsage(acl)
	put(path, n)
	t.addChild(parent, name)
	t.indexOwner(path, n.Stat.EphemeralOwner)
	return nil
}

// Prepared is a node made ready, on another goroutine than the Loader's,
// for Loader.AddPrepared: its value, with its digest computed.
type Prepared struct {
	path string
	node *Node
}

// Preparer prepares nodes for a Loader that runs on another goroutine (a
// pipelined load: the digest's CRC is computed while the loader inserts
// earlier nodes). A Preparer is not safe for concurrent use; it shares
// nothing with any Loader.
type Preparer struct{ d digester }

// Prepare builds the node for path ("" or "/" for the root) with data and
// stat. The node keeps data.
func (p *Preparer) Prepare(path string, data []byte, st proto.StatPersisted) Prepared {
	if path == "/" {
		path = ""
	}
	n := &Node{Data: data, Stat: st}
	n.digest = p.d.node(path, data, &n.Stat)
	return Prepared{path: path, node: n}
}

// AddPrepared is NodeWithACL for a prepared node: same checks, same result.
// pr must not be added twice.
func (l *Loader) AddPrepared(pr Prepared, acl []proto.ACL) error {
	if l.done {
		return ErrLoadOrder
	}
	idx := l.t.acls.convert(acl)
	// The node takes its own reference in add; convert's is dropped.
	l.t.acls.removeUsageKeep(idx)
	return l.add(pr.path, pr.node, idx, true)
}

// NodeWithACL adds a node given its ACL list rather than an index (a load
// from a storage engine); nil is the null list (OpenACLIndex). The loader
// keeps data and acl.
func (l *Loader) NodeWithACL(path string, data []byte, acl []proto.ACL, st proto.StatPersisted) error {
	if l.done {
		return ErrLoadOrder
	}
	idx := l.t.acls.convert(acl)
	// Node takes its own reference below; convert's is dropped.
	l.t.acls.removeUsageKeep(idx)
	return l.Node(path, data, idx, st)
}

// Finish completes the load: it drops unused ACL entries and sets the
// tree's last zxid (for a snapshot file, the zxid in its name). The Loader
// is spent afterwards.
func (l *Loader) Finish(zxid int64) (*DataTree, error) {
	if l.done {
		return nil, ErrLoadOrder
	}
	l.done = true
	if _, ok := l.t.nodes[""]; !ok {
		return nil, ErrNoRoot
	}
	l.t.acls.purgeUnused()
	l.t.setupQuotas()
	l.t.lastZxid = zxid
	return l.t, nil
}

// ReplaceWith makes t hold src's contents (nodes, ACLs, sessions, zxid,
// digest) atomically with respect to readers. src must not be used
// afterwards. t keeps its own Trigger and options.
func (t *DataTree) ReplaceWith(src *DataTree) {
	src.mu.Lock()
	defer src.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodes, t.acls, t.ephemerals = src.nodes, src.acls, src.ephemerals
	t.containers, t.ttls, t.sessions, t.quotas = src.containers, src.ttls, src.sessions, src.quotas
	t.lastZxid, t.digest, t.dataSize = src.lastZxid, src.digest, src.dataSize
	src.reset()
}

// RemoveDeadSessionEphemerals deletes, without a txn and without firing
// watches, the ephemerals of every session not in the session table: the
// clean-up Java does after restoring a data directory (ZooKeeperServer.loadData,
// which deletes them at the tree's last zxid).
func (t *DataTree) RemoveDeadSessionEphemerals() (removed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	saved := t.trigger
	t.trigger = nil
	defer func() { t.trigger = saved }()
	defer func() {
		if removed > 0 && t.rec != nil {
			t.rec.EndTxn(t.lastZxid)
		}
	}()
	for owner, set := range t.ephemerals {
		if _, live := t.sessions[owner]; live {
			continue
		}
		delete(t.ephemerals, owner)
		for p := range set {
			if t.deleteNode(p, t.lastZxid) == proto.ErrOK {
				removed++
			}
		}
	}
	return removed
}
