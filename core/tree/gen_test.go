package tree

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// txnGen plays the leader: it produces a stream of valid txns against a
// reference tree, the way PrepRequestProcessor would (final paths, absolute
// versions, parentCVersion = stored cversion + 1, error txns for failures).
type txnGen struct {
	r        *rand.Rand
	ref      *DataTree
	zxid     int64
	time     int64
	sessions []int64
	nextSess int64
	// legacyClose makes a quarter of the closeSession txns bodiless, as a
	// 3.5 leader writes them. Java cannot replay those exactly over a fuzzy
	// snapshot (an ephemeral deleted mid-snapshot leaves its parent's pzxid
	// behind; the path list of 3.6+ fixed that), so the fuzzy test keeps
	// them off.
	legacyClose bool
}

func newTxnGen(seed int64, opts Options) *txnGen {
	return &txnGen{r: rand.New(rand.NewSource(seed)), ref: New(opts), zxid: 1 << 32, time: 1_700_000_000_000, nextSess: 0x0100000000000000}
}

var genACLs = [][]proto.ACL{
	proto.OpenACLUnsafe,
	proto.ReadACLUnsafe,
	{{Perms: proto.PermAll, ID: proto.Id{Scheme: "digest", ID: "u:xyz="}}},
	{{Perms: proto.PermRead | proto.PermWrite, ID: proto.Id{Scheme: "ip", ID: "127.0.0.1"}}, {Perms: proto.PermAdmin, ID: proto.WorldAnyone}},
}

func (g *txnGen) paths(filter func(string, *Node) bool) []string {
	var out []string
	g.ref.View(func(v View) {
		v.Walk(func(p string, n *Node) bool {
			if p != "" && !strings.HasPrefix(p, "/zookeeper") && filter(p, n) {
				out = append(out, p)
			}
			return true
		})
	})
	return out
}

func (g *txnGen) pick(ps []string) string { return ps[g.r.Intn(len(ps))] }

// next returns the next txn and applies it to the reference tree.
func (g *txnGen) next() *proto.Txn {
	g.zxid++
	g.time += int64(g.r.Intn(5))
	txn := &proto.Txn{Header: proto.TxnHeader{Zxid: g.zxid, Time: g.time, Cxid: int32(g.r.Intn(100))}}
	if len(g.sessions) > 0 {
		txn.Header.ClientID = g.sessions[g.r.Intn(len(g.sessions))]
	}
	switch k := g.r.Intn(20); {
	case k < 2 || len(g.sessions) == 0:
		g.nextSess++
		txn.Header.ClientID = g.nextSess
		txn.Header.Type = proto.OpCreateSession
		txn.Body = &proto.CreateSessionTxn{TimeOut: int32(4000 + g.r.Intn(30000))}
		g.sessions = append(g.sessions, g.nextSess)
	case k < 3:
		i := g.r.Intn(len(g.sessions))
		s := g.sessions[i]
		g.sessions = append(g.sessions[:i], g.sessions[i+1:]...)
		txn.Header.ClientID, txn.Header.Cxid = s, 0
		txn.Header.Type = proto.OpCloseSession
		var eph []string
		g.ref.View(func(v View) { eph = v.Ephemerals(s) })
		if g.legacyClose && g.r.Intn(4) == 0 {
			txn.Body = nil // a 3.5 leader: no paths
		} else {
			txn.Body = &proto.CloseSessionTxn{Paths2Delete: eph}
		}
	case k < 10:
		txn.Header.Type, txn.Body = g.create(txn.Header.ClientID)
	case k < 13:
		leaves := g.paths(func(_ string, n *Node) bool { return n.NumChildren() == 0 })
		if len(leaves) == 0 {
			txn.Header.Type, txn.Body = g.create(txn.Header.ClientID)
			break
		}
		txn.Header.Type = proto.OpDelete
		txn.Body = &proto.DeleteTxn{Path: g.pick(leaves)}
	case k < 16:
		all := g.paths(func(string, *Node) bool { return true })
		if len(all) == 0 || g.r.Intn(10) == 0 {
			txn.Header.Type = proto.OpSetData
			txn.Body = &proto.SetDataTxn{Path: "/", Data: g.data(), Version: g.rootVersion() + 1}
			break
		}
		p := g.pick(all)
		var ver int32
		g.ref.View(func(v View) { n, _ := v.Node(p); ver = n.Stat.Version })
		txn.Header.Type = proto.OpSetData
		txn.Body = &proto.SetDataTxn{Path: p, Data: g.data(), Version: ver + 1}
	case k < 17:
		all := g.paths(func(string, *Node) bool { return true })
		if len(all) == 0 {
			txn.Header.Type, txn.Body = proto.OpError, &proto.ErrorTxn{Err: proto.ErrNoNode}
			break
		}
		p := g.pick(all)
		var ver int32
		g.ref.View(func(v View) { n, _ := v.Node(p); ver = n.Stat.Aversion })
		txn.Header.Type = proto.OpSetACL
		txn.Body = &proto.SetACLTxn{Path: p, ACL: genACLs[g.r.Intn(len(genACLs))], Version: ver + 1}
	case k < 19:
		txn.Header.Type, txn.Body = proto.OpMulti, g.multi(txn.Header.ClientID)
	default:
		txn.Header.Type = proto.OpError
		txn.Body = &proto.ErrorTxn{Err: []proto.ErrCode{proto.ErrNodeExists, proto.ErrBadVersion, proto.ErrNoAuth}[g.r.Intn(3)]}
	}
	g.ref.Apply(txn)
	var d int64
	g.ref.View(func(v View) { d = v.Digest() })
	if txn.Header.Type != proto.OpError {
		txn.Digest = &proto.TxnDigest{Version: proto.DigestVersion, TreeDigest: d}
	}
	return txn
}

func (g *txnGen) rootVersion() int32 {
	var ver int32
	g.ref.View(func(v View) { n, _ := v.Node("/"); ver = n.Stat.Version })
	return ver
}

func (g *txnGen) data() []byte {
	switch g.r.Intn(6) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, 1+g.r.Intn(40))
	g.r.Read(b)
	return b
}

// create makes a create txn of a random kind under a random parent that
// may have children.
// create makes a create txn, or the error txn a leader would log when the
// node exists already.
func (g *txnGen) create(session int64) (proto.OpCode, jute.Record) {
	op, body := g.createBody(session)
	var exists bool
	g.ref.View(func(v View) { _, exists = v.Node(createPath(body)) })
	if exists {
		return proto.OpError, &proto.ErrorTxn{Err: proto.ErrNodeExists}
	}
	return op, body
}

func createPath(body jute.Record) string {
	switch b := body.(type) {
	case *proto.CreateTxn:
		return b.Path
	case *proto.CreateContainerTxn:
		return b.Path
	case *proto.CreateTTLTxn:
		return b.Path
	}
	return ""
}

func (g *txnGen) createBody(session int64) (proto.OpCode, jute.Record) {
	parents := append(g.paths(func(_ string, n *Node) bool { return g.ref.Kind(n.Stat.EphemeralOwner) != Ephemeral }), "")
	parent := g.pick(parents)
	var cv int32
	g.ref.View(func(v View) { n, _ := v.Node(key(parent)); cv = n.Stat.Cversion })
	name := fmt.Sprintf("%s/n%d", parent, g.r.Intn(8))
	if g.r.Intn(3) == 0 {
		name = fmt.Sprintf("%s/s-%010d", parent, cv) // sequential
	}
	acl := genACLs[g.r.Intn(len(genACLs))]
	switch g.r.Intn(6) {
	case 0:
		return proto.OpCreateContainer, &proto.CreateContainerTxn{Path: name, Data: g.data(), ACL: acl, ParentCVersion: cv + 1}
	case 1:
		return proto.OpCreateTTL, &proto.CreateTTLTxn{Path: name, Data: g.data(), ACL: acl, ParentCVersion: cv + 1, TTL: int64(1 + g.r.Intn(1e6))}
	case 2:
		return proto.OpCreate2, &proto.CreateTxn{Path: name, Data: g.data(), ACL: acl, Ephemeral: g.r.Intn(2) == 0, ParentCVersion: cv + 1}
	}
	return proto.OpCreate, &proto.CreateTxn{Path: name, Data: g.data(), ACL: acl, Ephemeral: g.r.Intn(2) == 0 && session != 0, ParentCVersion: cv + 1}
}

// multi makes a multi txn: mostly successful (a create then a setData of the
// new node), sometimes failed (the leader's shape: ops before the failure
// keep their records, the failing op and the rest become errors).
func (g *txnGen) multi(session int64) *proto.MultiTxn {
	op, body := g.createBody(session)
	if op == proto.OpCreate2 {
		op = proto.OpCreate // a leader never puts create2 in a multi
	}
	path := createPath(body)
	var exists bool
	g.ref.View(func(v View) { _, exists = v.Node(path) })
	create := proto.SubTxn{Type: op, Body: body}
	if exists || g.r.Intn(3) == 0 {
		return &proto.MultiTxn{Txns: []proto.SubTxn{
			create,
			{Type: proto.OpError, Body: &proto.ErrorTxn{Err: proto.ErrNoNode}},
			{Type: proto.OpError, Body: &proto.ErrorTxn{Err: proto.ErrRuntimeInconsistency}},
		}}
	}
	return &proto.MultiTxn{Txns: []proto.SubTxn{
		create,
		{Type: proto.OpSetData, Body: &proto.SetDataTxn{Path: path, Data: g.data(), Version: 1}},
		{Type: proto.OpCheck, Body: &proto.CheckVersionTxn{Path: path, Version: 1}},
	}}
}

// dump renders a tree canonically: every node with path, data, ACL and
// stored stat, plus sessions and the ephemeral/container/TTL indexes.
func dump(t *DataTree) string {
	var b strings.Builder
	t.View(func(v View) {
		v.Walk(func(p string, n *Node) bool {
			fmt.Fprintf(&b, "%q data=%x null=%v acl=%v stat=%+v\n", p, n.Data, n.Data == nil, v.ACL(n), n.Stat)
			return true
		})
		ss := v.Sessions()
		ids := make([]int64, 0, len(ss))
		for id := range ss {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			fmt.Fprintf(&b, "session %x %d eph=%v\n", id, ss[id], v.Ephemerals(id))
		}
		fmt.Fprintf(&b, "containers=%v ttls=%v zxid=%x digest=%d\n", v.Containers(), v.TTLs(), v.LastZxid(), v.Digest())
	})
	return b.String()
}
