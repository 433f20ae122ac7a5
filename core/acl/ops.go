package acl

import "github.com/zkobserver/zkobserver/core/proto"

// Target says which znode's ACL a request is checked against.
type Target uint8

const (
	// TargetNone: no permission check at all.
	TargetNone Target = iota
	// TargetNode: the znode at the request's path.
	TargetNode
	// TargetParent: the parent of the request's path.
	TargetParent
	// TargetConfigNode: /zookeeper/config, whatever the request says.
	TargetConfigNode
	// TargetEachOp: every sub-op by its own opcode's Requirement.
	TargetEachOp
)

// ConfigNode is the znode reconfig is checked against (ZooDefs.CONFIG_NODE).
const ConfigNode = "/zookeeper/config"

// Requirement is the permission check of one opcode in ZooKeeper 3.8.0:
// any bit of Perm on Target's ACL (Check). When the znode to check does not
// exist the answer is NONODE, before the permission is looked at.
type Requirement struct {
	Target Target
	Perm   int32
}

// requirements: PrepRequestProcessor.pRequest2Txn for writes (and check),
// FinalRequestProcessor.processRequest for reads.
var requirements = map[proto.OpCode]Requirement{
	// writes (prep step, on the pending state)
	proto.OpCreate:          {TargetParent, proto.PermCreate},
	proto.OpCreate2:         {TargetParent, proto.PermCreate},
	proto.OpCreateContainer: {TargetParent, proto.PermCreate},
	proto.OpCreateTTL:       {TargetParent, proto.PermCreate},
	proto.OpDelete:          {TargetParent, proto.PermDelete},
	proto.OpSetData:         {TargetNode, proto.PermWrite},
	proto.OpSetACL:          {TargetNode, proto.PermAdmin},
	proto.OpCheck:           {TargetNode, proto.PermRead},
	proto.OpReconfig:        {TargetConfigNode, proto.PermWrite},
	proto.OpMulti:           {TargetEachOp, 0},
	// reads (final step, on the tree)
	proto.OpGetData:              {TargetNode, proto.PermRead},
	proto.OpGetChildren:          {TargetNode, proto.PermRead},
	proto.OpGetChildren2:         {TargetNode, proto.PermRead},
	proto.OpGetAllChildrenNumber: {TargetNode, proto.PermRead},
	proto.OpGetACL:               {TargetNode, proto.PermRead | proto.PermAdmin},
	proto.OpMultiRead:            {TargetEachOp, 0},
	// no check
	proto.OpExists:          {},
	proto.OpSync:            {},
	proto.OpPing:            {},
	proto.OpSetWatches:      {},
	proto.OpSetWatches2:     {},
	proto.OpCheckWatches:    {},
	proto.OpRemoveWatches:   {},
	proto.OpAddWatch:        {},
	proto.OpGetEphemerals:   {},
	proto.OpWhoAmI:          {},
	proto.OpAuth:            {},
	proto.OpSASL:            {},
	proto.OpCreateSession:   {},
	proto.OpCloseSession:    {},
	proto.OpDeleteContainer: {}, // only the leader's container manager sends it
}

// Required returns the permission check of op, and false for an opcode
// ZooKeeper 3.8 does not serve. See the package documentation for where the
// check falls among each request's other checks.
func Required(op proto.OpCode) (Requirement, bool) {
	r, ok := requirements[op]
	return r, ok
}
