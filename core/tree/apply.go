package tree

import (
	"github.com/zkobserver/zkobserver/core/proto"
)

// Result is the outcome of applying one txn (ProcessTxnResult in Java).
// Applying never fails as a whole: Err carries the code a local client would
// get, and the tree is changed exactly as Java's DataTree would change it.
type Result struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Type     proto.OpCode
	// Err is the txn's result: the error of an error txn, NONODE or
	// NODEEXISTS when a replay finds the tree ahead of the txn, or for a
	// multi the first non-zero sub-result.
	Err proto.ErrCode
	// Path is the path the txn names (final, with any sequence suffix).
	Path string
	// Stat is the client-visible stat after create2/createContainer/
	// createTTL, setData and setACL, when HasStat is true (not for create,
	// other types, or on error).
	Stat    proto.Stat
	HasStat bool
	// Multi holds one result per sub-txn of a multi.
	Multi []Result
}

// Apply applies one txn, exactly as ZooKeeper 3.8's DataTree.processTxn (with
// the session-table handling of FileTxnSnapLog.processTransaction): the tree
// takes every value from the txn, never from local counters, so replaying
// txns that a fuzzy snapshot already contains converges on the same tree.
// Afterwards LastZxid is max(LastZxid, txn zxid). The tree keeps txn's byte
// slices.
func (t *DataTree) Apply(txn *proto.Txn) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch txn.Header.Type {
	case proto.OpCreateSession:
		if b, ok := txn.Body.(*proto.CreateSessionTxn); ok {
			t.sessions[txn.Header.ClientID] = b.TimeOut
			if t.rec != nil {
				t.rec.SessionChanged(txn.Header.ClientID, b.TimeOut)
			}
		}
	case proto.OpCloseSession:
		if _, ok := t.sessions[txn.Header.ClientID]; ok && t.rec != nil {
			t.rec.SessionClosed(txn.Header.ClientID)
		}
		delete(t.sessions, txn.Header.ClientID)
	}
	rc := t.process(&txn.Header, txn.Header.Type, txn.Body)
	if txn.Header.Zxid > t.lastZxid {
		t.lastZxid = txn.Header.Zxid
	}
	if t.rec != nil {
		t.rec.EndTxn(t.lastZxid)
	}
	return rc
}

// process applies one txn or sub-txn of type typ (the header's type for a
// whole txn). It must be called with the write lock held.
func (t *DataTree) process(h *proto.TxnHeader, typ proto.OpCode, body any) Result {
	rc := Result{ClientID: h.ClientID, Cxid: h.Cxid, Zxid: h.Zxid, Type: typ}
	switch typ {
	case proto.OpCreate, proto.OpCreate2:
		b, ok := body.(*proto.CreateTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		owner := int64(0)
		if b.Ephemeral {
			owner = h.ClientID
		}
		var n *Node
		rc.Err, n = t.createNode(b.Path, b.Data, b.ACL, owner, b.ParentCVersion, h.Zxid, h.Time)
		if typ == proto.OpCreate2 {
			rc.setStat(t, n)
		} else {
			// Java repairs the parent after a create that a fuzzy
			// snapshot already holds (only for type create).
			if rc.Err == proto.ErrNodeExists {
				if !t.setCversionPzxid(parentOf(b.Path), b.ParentCVersion, h.Zxid) {
					rc.Err = proto.ErrNoNode
				}
			}
		}
	case proto.OpCreateTTL:
		b, ok := body.(*proto.CreateTTLTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		var n *Node
		rc.Err, n = t.createNode(b.Path, b.Data, b.ACL, TTLOwner(b.TTL), b.ParentCVersion, h.Zxid, h.Time)
		rc.setStat(t, n)
	case proto.OpCreateContainer:
		b, ok := body.(*proto.CreateContainerTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		var n *Node
		rc.Err, n = t.createNode(b.Path, b.Data, b.ACL, ContainerOwner, b.ParentCVersion, h.Zxid, h.Time)
		rc.setStat(t, n)
	case proto.OpDelete, proto.OpDeleteContainer:
		b, ok := body.(*proto.DeleteTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		rc.Err = t.deleteNode(b.Path, h.Zxid)
	case proto.OpSetData, proto.OpReconfig:
		b, ok := body.(*proto.SetDataTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		var n *Node
		rc.Err, n = t.setData(b.Path, b.Data, b.Version, h.Zxid, h.Time)
		rc.setStat(t, n)
	case proto.OpSetACL:
		b, ok := body.(*proto.SetACLTxn)
		if !ok {
			return badBody(rc)
		}
		rc.Path = b.Path
		n := t.nodes[key(b.Path)]
		if n == nil {
			rc.Err = proto.ErrNoNode
			break
		}
		t.setACLLocked(key(b.Path), n, b.ACL, b.Version)
		rc.setStat(t, n)
	case proto.OpCloseSession:
		var paths []string
		hasList := false
		if b, ok := body.(*proto.CloseSessionTxn); ok {
			paths, hasList = b.Paths2Delete, true
		}
		t.killSession(h.ClientID, h.Zxid, paths, hasList)
	case proto.OpError:
		if b, ok := body.(*proto.ErrorTxn); ok {
			rc.Err = b.Err
		}
	case proto.OpCheck:
		if b, ok := body.(*proto.CheckVersionTxn); ok {
			rc.Path = b.Path
		}
	case proto.OpMulti:
		b, ok := body.(*proto.MultiTxn)
		if !ok {
			return badBody(rc)
		}
		t.processMulti(h, b, &rc)
	case proto.OpCreateSession:
		// The session table is kept by Apply; no tree change.
	}
	return rc
}

// setStat records n's client stat in the result (nothing for a nil node).
func (rc *Result) setStat(t *DataTree, n *Node) {
	if n != nil {
		rc.Stat, rc.HasStat = t.clientStat(n), true
	}
}

// badBody is the result of a txn whose body does not match its type. Java
// would throw a ClassCastException and stop; the decoder in package proto
// never produces such a txn.
func badBody(rc Result) Result {
	rc.Err = proto.ErrMarshallingError
	return rc
}

// processMulti applies a multi all-or-nothing: if any sub-txn is an error,
// every sub-txn becomes an error (0 before the first error, -2 after it) and
// nothing changes.
func (t *DataTree) processMulti(h *proto.TxnHeader, m *proto.MultiTxn, rc *Result) {
	failed := false
	for _, s := range m.Txns {
		if s.Type == proto.OpError {
			failed = true
			break
		}
	}
	rc.Multi = make([]Result, 0, len(m.Txns))
	postFailed := false
	for _, s := range m.Txns {
		typ, body := s.Type, any(s.Body)
		if typ == proto.OpError {
			postFailed = true
		} else if failed {
			code := proto.ErrOK
			if postFailed {
				code = proto.ErrRuntimeInconsistency
			}
			typ, body = proto.OpError, &proto.ErrorTxn{Err: code}
		}
		sub := t.process(h, typ, body)
		rc.Multi = append(rc.Multi, sub)
		if sub.Err != proto.ErrOK && rc.Err == proto.ErrOK {
			rc.Err = sub.Err
		}
	}
}

// createNode is DataTree.createNode. parentCVersion -1 means "parent's
// stored cversion + 1".
func (t *DataTree) createNode(path string, data []byte, acl []proto.ACL, owner int64, parentCVersion int32, zxid, time int64) (proto.ErrCode, *Node) {
	parentKey, name := parentOf(path), childOf(path)
	parent := t.nodes[parentKey]
	if parent == nil {
		return proto.ErrNoNode, nil
	}
	// Java converts the ACL before the existence check, so a replayed
	// create that finds its node keeps a reference on the ACL.
	aclIdx := t.acls.convert(acl)
	// One hash of the child name serves as existence check and insert.
	if parent.children == nil {
		parent.children = make(map[string]struct{}, 1)
	}
	before := len(parent.children)
	parent.children[name] = struct{}{}
	if len(parent.children) == before {
		// The node this very txn created, taken by a fuzzy snapshot with
		// an ACL index the snapshot's table may not have (or may give to
		// another list): it gets its list back, with the reference just
		// taken. Java keeps the stale index here.
		if n := t.nodes[path]; n != nil && n.Stat.Czxid == zxid && n.ACL != aclIdx {
			t.acls.removeUsage(n.ACL)
			n.ACL = aclIdx
			t.changed(path, n)
		}
		return proto.ErrNodeExists, nil
	}
	if parentCVersion == -1 {
		parentCVersion = parent.Stat.Cversion + 1
	}
	if parentCVersion > parent.Stat.Cversion {
		old := parent.Stat
		parent.Stat.Cversion = parentCVersion
		parent.Stat.Pzxid = zxid
		t.restat(parentKey, parent, &old)
	}
	t.changed(parentKey, parent)
	n := &Node{Data: data, ACL: aclIdx, Stat: proto.StatPersisted{
		Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: time, Mtime: time, EphemeralOwner: owner,
	}}
	// The node map holds a path exactly when its parent lists the child
	// (Apply and Loader both keep that), so the child check above stands
	// for a lookup here.
	t.putNode(path, n)
	t.indexOwner(path, owner)
	t.changed(path, n)
	t.quotaNodeCreated(parentKey, name)
	t.quotaChanged(path, int64(len(data)), 1)
	if t.trigger != nil {
		t.fire(EventNodeCreated, path, false, t.aclOf(n))
		t.fire(EventNodeChildrenChanged, parentKey, true, t.aclOf(parent))
	}
	return proto.ErrOK, n
}

// deleteNode is DataTree.deleteNode: the parent's pzxid is raised (never
// its cversion) even when the child is already gone.
func (t *DataTree) deleteNode(path string, zxid int64) proto.ErrCode {
	parentKey, name := parentOf(path), childOf(path)
	parent := t.nodes[parentKey]
	if parent == nil {
		return proto.ErrNoNode
	}
	delete(parent.children, name)
	if zxid > parent.Stat.Pzxid {
		old := parent.Stat
		parent.Stat.Pzxid = zxid
		t.restat(parentKey, parent, &old)
	}
	t.changed(parentKey, parent)
	n := t.nodes[path]
	if n == nil {
		return proto.ErrNoNode
	}
	delete(t.nodes, path)
	t.dataSize -= int64(len(path) + len(n.Data))
	if t.rec != nil {
		t.rec.NodeDeleted(path)
	}
	t.digest -= uint64(n.digest)
	var acl []proto.ACL // the deleted node's, for its watch events
	if t.trigger != nil {
		acl = t.aclOf(n)
	}
	t.acls.removeUsage(n.ACL)
	t.unindexOwner(path, n.Stat.EphemeralOwner)
	t.quotaNodeDeleted(parentKey, name)
	t.quotaChanged(path, -int64(len(n.Data)), -1)
	if t.trigger != nil {
		t.fire(EventNodeDeleted, path, false, acl)
		t.fire(EventNodeDeleted, path, true, acl)
		t.fire(EventNodeChildrenChanged, parentKey, true, t.aclOf(parent))
	}
	return proto.ErrOK
}

func (t *DataTree) setData(path string, data []byte, version int32, zxid, time int64) (proto.ErrCode, *Node) {
	k := key(path)
	n := t.nodes[k]
	if n == nil {
		return proto.ErrNoNode, nil
	}
	old := len(n.Data)
	t.preChange(n)
	n.Data = data
	t.dataSize += int64(len(data) - old)
	n.Stat.Mtime = time
	n.Stat.Mzxid = zxid
	n.Stat.Version = version
	t.postChange(k, n)
	t.changed(k, n)
	t.quotaChanged(k, int64(len(data)-old), 0)
	if t.trigger != nil {
		t.fire(EventNodeDataChanged, k, false, t.aclOf(n))
	}
	return proto.ErrOK, n
}

// setACLLocked is DataTree.setACL on an existing node.
func (t *DataTree) setACLLocked(k string, n *Node, acl []proto.ACL, version int32) {
	t.acls.removeUsage(n.ACL)
	old := n.Stat
	n.Stat.Aversion = version
	n.ACL = t.acls.convert(acl)
	t.restat(k, n, &old)
	t.changed(k, n)
}

// setCversionPzxid is DataTree.setCversionPzxid; false means no such node.
func (t *DataTree) setCversionPzxid(k string, cversion int32, zxid int64) bool {
	n := t.nodes[k]
	if n == nil {
		return false
	}
	if cversion == -1 {
		cversion = n.Stat.Cversion + 1
	}
	if cversion > n.Stat.Cversion {
		old := n.Stat
		n.Stat.Cversion = cversion
		n.Stat.Pzxid = zxid
		t.restat(k, n, &old)
		t.changed(k, n)
	}
	return true
}

// killSession deletes a closed session's ephemerals: first the txn's list
// (when it has one), then whatever else the local index holds for the
// session. Missing nodes are ignored.
func (t *DataTree) killSession(session, zxid int64, paths []string, hasList bool) {
	local := t.ephemerals[session]
	delete(t.ephemerals, session)
	if hasList {
		for _, p := range paths {
			t.deleteNode(p, zxid)
			delete(local, p)
		}
	}
	for p := range local {
		t.deleteNode(p, zxid)
	}
}

// ClientStat returns n's client-visible stat: cversion as 2×stored −
// numChildren, dataLength, numChildren, and ephemeralOwner 0 for containers
// and TTL nodes. Call it inside View.
func (t *DataTree) ClientStat(n *Node) proto.Stat { return t.clientStat(n) }

func (t *DataTree) clientStat(n *Node) proto.Stat {
	owner := n.Stat.EphemeralOwner
	if t.Kind(owner) != Ephemeral {
		owner = 0
	}
	nc := int32(len(n.children))
	return proto.Stat{
		Czxid:          n.Stat.Czxid,
		Mzxid:          n.Stat.Mzxid,
		Ctime:          n.Stat.Ctime,
		Mtime:          n.Stat.Mtime,
		Version:        n.Stat.Version,
		Cversion:       n.Stat.Cversion*2 - nc,
		Aversion:       n.Stat.Aversion,
		EphemeralOwner: owner,
		DataLength:     int32(len(n.Data)),
		NumChildren:    nc,
		Pzxid:          n.Stat.Pzxid,
	}
}
