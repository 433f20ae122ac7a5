package tree

import (
	"github.com/zkobserver/zkobserver/core/proto"
)

// OpenACLIndex is the ACL index of a node created with a null ACL list (the
// root, /zookeeper, /zookeeper/quota). It means OPEN_ACL_UNSAFE and is never
// stored in the cache.
const OpenACLIndex int64 = -1

// danglingACLIndex marks a node loaded from a snapshot whose ACL index is
// not in the snapshot's ACL table. A fuzzy snapshot produces this when a txn
// applied during the snapshot made a new ACL list: the table was written
// before the list existed, the node after. Java keeps the dangling index
// (and fails every getACL on the node); the tree instead holds this marker,
// which no reference count sees, until the replay of that txn gives the
// node its list again (see createNode and setACL).
const danglingACLIndex int64 = -2

// aclCache mirrors Java's ReferenceCountedACLCache: every distinct ACL list
// gets an index, nodes hold the index, and an entry lives while nodes use it.
// Indices grow monotonically and are never reused, so that snapshots written
// from this tree number their ACLs as a Java server replaying the same txns
// would. Not safe for concurrent use; the DataTree's lock guards it.
type aclCache struct {
	byIndex map[int64][]proto.ACL
	byKey   map[string]int64
	refs    map[int64]int64
	next    int64  // last index handed out
	scratch []byte // key of the list being converted
}

func newACLCache() aclCache {
	return aclCache{
		byIndex: make(map[int64][]proto.ACL),
		byKey:   make(map[string]int64),
		refs:    make(map[int64]int64),
	}
}

// appendACLKey appends an exact identity of an ACL list (null-ness of
// strings included, as in Java's List.equals on ACL records) to b.
func appendACLKey(b []byte, acls []proto.ACL) []byte {
	for _, a := range acls {
		b = append(b, byte(a.Perms))
		b = appendKeyString(b, a.ID.Scheme, a.ID.NullScheme)
		b = appendKeyString(b, a.ID.ID, a.ID.NullID)
	}
	return b
}

func appendKeyString(b []byte, s string, null bool) []byte {
	if null {
		return append(b, 0xff)
	}
	n := len(s)
	b = append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(b, s...)
}

func aclKey(acls []proto.ACL) string { return string(appendACLKey(nil, acls)) }

// convert returns the index of acls, adding it if new, and takes one
// reference on it. A nil list is OpenACLIndex and takes no reference.
func (c *aclCache) convert(acls []proto.ACL) int64 {
	if acls == nil {
		return OpenACLIndex
	}
	c.scratch = appendACLKey(c.scratch[:0], acls)
	idx, ok := c.byKey[string(c.scratch)] // no allocation for the lookup
	if !ok {
		c.next++
		idx = c.next
		c.byIndex[idx] = acls
		c.byKey[string(c.scratch)] = idx
	}
	c.refs[idx]++
	return idx
}

// lookup returns the ACL list of idx. OpenACLIndex yields OPEN_ACL_UNSAFE;
// an unknown index yields nil (Java throws; callers treat it as corrupt).
func (c *aclCache) lookup(idx int64) ([]proto.ACL, bool) {
	if idx == OpenACLIndex {
		return proto.OpenACLUnsafe, true
	}
	acls, ok := c.byIndex[idx]
	return acls, ok
}

// addUsage takes a reference on an existing index (snapshot load) and
// returns the index the node should hold: danglingACLIndex for an index the
// table does not have.
func (c *aclCache) addUsage(idx int64) int64 {
	if idx == OpenACLIndex {
		return idx
	}
	if _, ok := c.byIndex[idx]; !ok {
		return danglingACLIndex
	}
	c.refs[idx]++
	return idx
}

// removeUsage drops a reference; the entry goes when none are left.
func (c *aclCache) removeUsage(idx int64) {
	if idx == OpenACLIndex || idx == danglingACLIndex {
		return
	}
	n, ok := c.refs[idx]
	if !ok {
		return
	}
	if n <= 1 {
		acls := c.byIndex[idx]
		delete(c.byKey, aclKey(acls))
		delete(c.byIndex, idx)
		delete(c.refs, idx)
		return
	}
	c.refs[idx] = n - 1
}

// removeUsageKeep drops one reference but keeps the entry even at zero (it
// is about to be referenced again).
func (c *aclCache) removeUsageKeep(idx int64) {
	if n, ok := c.refs[idx]; ok && n > 0 {
		c.refs[idx] = n - 1
	}
}

// put installs an entry read from a snapshot with no references yet.
func (c *aclCache) put(idx int64, acls []proto.ACL) {
	if acls == nil {
		acls = []proto.ACL{}
	}
	c.byIndex[idx] = acls
	c.byKey[aclKey(acls)] = idx
	if idx > c.next {
		c.next = idx
	}
}

// purgeUnused drops entries no node uses (after a snapshot load).
func (c *aclCache) purgeUnused() {
	for idx, acls := range c.byIndex {
		if c.refs[idx] <= 0 {
			delete(c.byKey, aclKey(acls))
			delete(c.byIndex, idx)
			delete(c.refs, idx)
		}
	}
}
