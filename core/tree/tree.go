// Package tree is the DataTree: the znodes of one ZooKeeper server, with
// ZooKeeper 3.8's txn apply semantics and its incrementally kept tree digest.
//
// Concurrency: any number of readers and one applier. Readers use View (or
// the single-read helpers, which call it); Apply and the load methods take
// the tree's write lock for the duration of one txn. A reader that looks at a
// node and registers a watch inside the same View cannot miss an apply in
// between: the apply's watch events are delivered (to the Trigger set with
// SetTrigger) while it holds the write lock.
//
// Ownership: the tree keeps the byte slices of the txns it applies and of
// the nodes it loads (data, ACL lists); callers must not modify them
// afterwards. Slices handed out by the tree are never modified by it either
// (setData replaces a node's data slice, it does not write into it), so
// readers may keep them.
package tree

import (
	"fmt"
	"strings"
	"sync"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Built-in paths.
const (
	ZookeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)

// Special ephemeralOwner values.
const (
	// ContainerOwner marks a container node.
	ContainerOwner int64 = -1 << 63
	// ttlMask marks a TTL node (top byte 0xff) when extended types are on.
	ttlMask int64 = -1 << 56 // 0xff00000000000000
	// ttlReservedMask must be zero in a TTL owner.
	ttlReservedMask int64 = 0x00ffff0000000000
	// MaxTTL is the largest TTL, in ms.
	MaxTTL int64 = 0xffffffffff
)

// NodeKind classifies a node by its ephemeralOwner (EphemeralType in Java).
type NodeKind uint8

// Node kinds.
const (
	Persistent NodeKind = iota
	Ephemeral
	Container
	TTL
)

// Node is one znode. Nodes returned by the tree must be treated as
// read-only; their fields change only under the tree's write lock, so read
// them inside View.
type Node struct {
	Data []byte
	// ACL is the index of the node's ACL list in the tree's ACL cache;
	// OpenACLIndex for a null list.
	ACL      int64
	Stat     proto.StatPersisted
	children map[string]struct{}
	digest   uint32
}

// NumChildren returns the number of children.
func (n *Node) NumChildren() int { return len(n.children) }

// Children returns the child names, in no particular order, in a new
// non-nil slice.
func (n *Node) Children() []string {
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	return out
}

// Options configures a DataTree.
type Options struct {
	// ExtendedTypes is Java's zookeeper.extendedTypesEnabled: only then is an
	// ephemeralOwner with top byte 0xff a TTL node.
	ExtendedTypes bool
}

// EventType is a watch event type (Watcher.Event.EventType).
type EventType int32

// Event types the server sends.
const (
	EventNodeCreated         EventType = 1
	EventNodeDeleted         EventType = 2
	EventNodeDataChanged     EventType = 3
	EventNodeChildrenChanged EventType = 4
)

// Trigger receives the watch triggers of each apply, in Java's order, while
// the applier holds the write lock. Path is a client path ("/" for the
// root). For a delete, Java fires NodeDeleted on the data table and then on
// the child table (skipping connections already notified), then
// NodeChildrenChanged on the parent; Trigger gets one NodeDeleted call with
// ChildTable false and one with ChildTable true, so a watch manager can mirror
// that exactly. acl is the ACL list of the node the event is about (the
// parent's for NodeChildrenChanged; nil for the null list of the built-in
// nodes): a Java server delivers an event only to connections with READ on
// it (ZOOKEEPER-4799, CVE-2024-23944, in 3.8.4 and in Debian's 3.8.0).
type Trigger func(ev EventType, path string, childTable bool, acl []proto.ACL)

// Recorder receives every change Apply makes to persisted state, while the
// applier holds the write lock, and then EndTxn with the txn's zxid (at
// most once per Apply; txn boundaries are the only places a persister may
// cut a batch). Paths use the tree's keys ("" for the root). acl is nil
// for a node with the null ACL list (the built-in nodes). A Recorder
// must copy what it keeps from n (its Stat) at the time of the call; n.Data
// and acl are immutable and may be kept. Recorder methods must not call
// back into the tree. Local bookkeeping that is rebuilt at load (quota
// statistics) is not reported.
type Recorder interface {
	NodeChanged(path string, n *Node, acl []proto.ACL)
	NodeDeleted(path string)
	SessionChanged(id int64, timeout int32)
	SessionClosed(id int64)
	EndTxn(zxid int64)
}

// DataTree is the in-memory tree of znodes plus the session table.
type DataTree struct {
	mu         sync.RWMutex
	opts       Options
	nodes      map[string]*Node // key: path, root as ""
	acls       aclCache
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	sessions   map[int64]int32
	quotas     map[string]struct{} // paths with a quota (Java's pTrie)
	lastZxid   int64
	digest     uint64
	dataSize   int64 // sum of len(key)+len(data) over the nodes, kept as they change
	trigger    Trigger
	rec        Recorder
	digester   digester // guarded by mu (writers)
}

// New returns a tree as a fresh Java server has it: the root, /zookeeper,
// /zookeeper/quota and /zookeeper/config (READ_ACL_UNSAFE, aversion -1),
// lastZxid 0.
func New(opts Options) *DataTree {
	t := &DataTree{opts: opts}
	t.reset()
	t.putNode("", &Node{Data: []byte{}, ACL: OpenACLIndex})
	t.addBuiltin(ZookeeperPath, OpenACLIndex, 0)
	t.addBuiltin(QuotaPath, OpenACLIndex, 0)
	cfg := t.addBuiltin(ConfigPath, OpenACLIndex, 0)
	// Java's addConfigNode: setACL(READ_ACL_UNSAFE, version -1).
	t.setACLLocked(ConfigPath, cfg, proto.ReadACLUnsafe, -1)
	return t
}

func (t *DataTree) addBuiltin(path string, acl int64, owner int64) *Node {
	n := &Node{Data: []byte{}, ACL: acl}
	n.Stat.EphemeralOwner = owner
	parent := t.nodes[parentOf(path)]
	t.addChild(parent, childOf(path))
	t.putNode(path, n)
	return n
}

func (t *DataTree) reset() {
	t.nodes = make(map[string]*Node)
	t.acls = newACLCache()
	t.ephemerals = make(map[int64]map[string]struct{})
	t.containers = make(map[string]struct{})
	t.ttls = make(map[string]struct{})
	t.sessions = make(map[int64]int32)
	t.quotas = make(map[string]struct{})
	t.lastZxid = 0
	t.digest = 0
	t.dataSize = 0
}

// SetTrigger installs the receiver of watch triggers (nil for none). It
// must be called before the tree is shared.
func (t *DataTree) SetTrigger(tr Trigger) { t.trigger = tr }

// SetRecorder installs the receiver of persisted-state changes (nil for
// none). It must be called before the tree is shared.
func (t *DataTree) SetRecorder(r Recorder) { t.rec = r }

// aclOf returns n's ACL list (nil for the null list).
func (t *DataTree) aclOf(n *Node) []proto.ACL {
	if n.ACL == OpenACLIndex {
		return nil
	}
	acl, _ := t.acls.lookup(n.ACL)
	return acl
}

// changed reports a node change to the recorder. A node with the null ACL
// list (OpenACLIndex) is reported with acl nil.
func (t *DataTree) changed(path string, n *Node) {
	if t.rec != nil {
		var acl []proto.ACL
		if n.ACL != OpenACLIndex {
			acl, _ = t.acls.lookup(n.ACL)
		}
		t.rec.NodeChanged(path, n, acl)
	}
}

func (t *DataTree) fire(ev EventType, path string, childTable bool, acl []proto.ACL) {
	if t.trigger == nil {
		return
	}
	if path == "" {
		path = "/"
	}
	t.trigger(ev, path, childTable, acl)
}

// key maps a client path to the node map's key (the root is "").
func key(path string) string {
	if path == "/" {
		return ""
	}
	return path
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ""
	}
	return path[:i]
}

func childOf(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

// Kind classifies an ephemeralOwner under the tree's options.
func (t *DataTree) Kind(owner int64) NodeKind {
	if t.opts.ExtendedTypes && owner&ttlMask == ttlMask && owner&ttlReservedMask == 0 {
		return TTL
	}
	switch {
	case owner == ContainerOwner:
		return Container
	case owner == 0:
		return Persistent
	}
	return Ephemeral
}

// TTLOwner returns the ephemeralOwner of a TTL node.
func TTLOwner(ttl int64) int64 { return ttlMask | (ttl & MaxTTL) }

// putNode inserts n under path, counting its digest.
func (t *DataTree) putNode(path string, n *Node) {
	n.digest = t.digester.node(path, n.Data, &n.Stat)
	t.putDigested(path, n)
}

// putDigested is putNode for a node whose digest is already set.
func (t *DataTree) putDigested(path string, n *Node) {
	t.digest += uint64(n.digest)
	t.dataSize += int64(len(path) + len(n.Data))
	t.nodes[path] = n
}

// preChange / postChange bracket a change of n's digest inputs.
func (t *DataTree) preChange(n *Node) { t.digest -= uint64(n.digest) }

func (t *DataTree) postChange(path string, n *Node) {
	n.digest = t.digester.node(path, n.Data, &n.Stat)
	t.digest += uint64(n.digest)
}

// restat updates the digests after a change of n's stored stat alone (its
// path and data unchanged) from old, without reading path or data.
func (t *DataTree) restat(path string, n *Node, old *proto.StatPersisted) {
	if strings.HasPrefix(path, zookeeperSubtree) {
		return // counts 0 whatever its stat
	}
	t.digest -= uint64(n.digest)
	n.digest = t.digester.restat(n.digest, old, &n.Stat)
	t.digest += uint64(n.digest)
}

func (t *DataTree) addChild(parent *Node, name string) {
	if parent.children == nil {
		parent.children = make(map[string]struct{}, 1)
	}
	parent.children[name] = struct{}{}
}

func (t *DataTree) indexOwner(path string, owner int64) {
	switch t.Kind(owner) {
	case Container:
		t.containers[path] = struct{}{}
	case TTL:
		t.ttls[path] = struct{}{}
	case Ephemeral:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
	}
}

func (t *DataTree) unindexOwner(path string, owner int64) {
	switch t.Kind(owner) {
	case Container:
		delete(t.containers, path)
	case TTL:
		delete(t.ttls, path)
	case Ephemeral:
		if set := t.ephemerals[owner]; set != nil {
			delete(set, path)
		}
	}
}

// Digest returns the tree digest as Java reports it (a signed 64-bit sum).
func (t *DataTree) Digest() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int64(t.digest)
}

// LastZxid returns the zxid of the last applied txn.
func (t *DataTree) LastZxid() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lastZxid
}

// String describes the tree for logs.
func (t *DataTree) String() string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return fmt.Sprintf("DataTree{nodes=%d zxid=0x%x digest=%d}", len(t.nodes), t.lastZxid, int64(t.digest))
}
