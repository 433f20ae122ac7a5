package tree

import (
	"sort"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
)

// View is a consistent read-only look at the tree, valid only inside the
// function passed to DataTree.View. No txn is applied while a View is open.
type View struct {
	t *DataTree
}

// View runs fn with the tree read-locked. fn must not call Apply or any other
// method that takes the write lock, and must not keep v after it returns.
func (t *DataTree) View(fn func(v View)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn(View{t})
}

// Node returns the node at a client path ("/" for the root).
func (v View) Node(path string) (*Node, bool) {
	n, ok := v.t.nodes[key(path)]
	return n, ok
}

// ACL returns the ACL list of n. The slice must not be modified. It is nil
// only for a node whose ACL a fuzzy snapshot lost and no replayed txn has
// restored yet (see DanglingACLs).
func (v View) ACL(n *Node) []proto.ACL {
	acls, _ := v.t.acls.lookup(n.ACL)
	return acls
}

// Stat returns the client-visible stat of n.
func (v View) Stat(n *Node) proto.Stat { return v.t.clientStat(n) }

// LastZxid returns the zxid of the last applied txn.
func (v View) LastZxid() int64 { return v.t.lastZxid }

// ApproximateDataSize returns Java's approximateDataSize of the tree: the
// sum of path and data lengths over the nodes (the root's path is "").
func (v View) ApproximateDataSize() int64 { return v.t.dataSize }

// EphemeralCount returns the number of ephemeral nodes (not containers or
// TTL nodes).
func (v View) EphemeralCount() int {
	n := 0
	for _, set := range v.t.ephemerals {
		n += len(set)
	}
	return n
}

// Digest returns the tree digest.
func (v View) Digest() int64 { return int64(v.t.digest) }

// NodeCount returns the number of znodes, the root included.
func (v View) NodeCount() int { return len(v.t.nodes) }

// DanglingACLs counts nodes whose ACL list is unknown (see View.ACL). After a
// complete sync it is 0; anything else means a damaged snapshot.
func (v View) DanglingACLs() int {
	n := 0
	for _, node := range v.t.nodes {
		if node.ACL == danglingACLIndex {
			n++
		}
	}
	return n
}

// Kind classifies n.
func (v View) Kind(n *Node) NodeKind { return v.t.Kind(n.Stat.EphemeralOwner) }

// Ephemerals returns the paths of session's ephemerals, sorted.
func (v View) Ephemerals(session int64) []string {
	set := v.t.ephemerals[session]
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Sessions returns a copy of the session table (id -> timeout ms).
func (v View) Sessions() map[int64]int32 {
	out := make(map[int64]int32, len(v.t.sessions))
	for id, to := range v.t.sessions {
		out[id] = to
	}
	return out
}

// Containers returns the paths of container nodes, sorted.
func (v View) Containers() []string { return sortedKeys(v.t.containers) }

// TTLs returns the paths of TTL nodes, sorted.
func (v View) TTLs() []string { return sortedKeys(v.t.ttls) }

// CountDescendants returns the number of nodes strictly below path
// (getAllChildrenNumber).
func (v View) CountDescendants(path string) int {
	if path == "/" || path == "" {
		return len(v.t.nodes) - 1
	}
	prefix := path + "/"
	n := 0
	for p := range v.t.nodes {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// Walk visits every node in pre-order (a parent before its children),
// children in sorted order; the root's path is "". It stops when fn returns
// false.
func (v View) Walk(fn func(path string, n *Node) bool) {
	v.walk("", v.t.nodes[""], fn)
}

func (v View) walk(path string, n *Node, fn func(string, *Node) bool) bool {
	if n == nil {
		return true
	}
	if !fn(path, n) {
		return false
	}
	names := n.Children()
	sort.Strings(names)
	for _, c := range names {
		cp := path + "/" + c
		if !v.walk(cp, v.t.nodes[cp], fn) {
			return false
		}
	}
	return true
}

// ACLTable returns the ACL cache entries (index -> list) for snapshot
// writing, in index order.
func (v View) ACLTable(fn func(idx int64, acls []proto.ACL)) {
	idxs := make([]int64, 0, len(v.t.acls.byIndex))
	for i := range v.t.acls.byIndex {
		idxs = append(idxs, i)
	}
	sort.Slice(idxs, func(a, b int) bool { return idxs[a] < idxs[b] })
	for _, i := range idxs {
		fn(i, v.t.acls.byIndex[i])
	}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NodeCount returns the number of znodes.
func (t *DataTree) NodeCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.nodes)
}
