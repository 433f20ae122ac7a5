package difftest

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// call is one request of a step, with paths already mapped to a target.
type call struct {
	xid int32 // 0 = next ordinary xid
	op  proto.OpCode
	req jute.Record
	zk  zxidKind
}

// builder makes the requests of a step for one namespace prefix; the same
// builder is applied to both sides, so the requests differ only in paths.
type builder func(prefix string) []call

// step is one operation of the stream.
type step struct {
	kind  string
	desc  string // the requests in logical form
	pair  int    // mirrored session pair, or -1 for the exact readers
	build builder
	// write: the step makes txns, so the barrier runs after it.
	write bool
	// reconnect: move the session(s) to a new connection and send
	// SetWatches2 (relativeZxid = boundary[relIdx]) with these logical paths.
	reconnect bool
	relIdx    int
	watches   [5][]string
	// closeSession: close the pair's sessions and open new ones.
	closeSession bool
	// addAuth: digest user:password to add on both sides.
	addAuth string
	// readerCall and readerPath: a step of the exact readers, sent for the
	// logical path in both namespaces.
	readerCall func(q string) call
	readerPath string
}

// Digest identities used by the stream.
var users = []string{"alice", "bob", "carol"}

func digestID(user string) string {
	sum := sha1.Sum([]byte(user + ":" + user + "-pw"))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func authPacket(user string) *proto.AuthPacket {
	return &proto.AuthPacket{Scheme: "digest", Auth: []byte(user + ":" + user + "-pw")}
}

// pairAuth is the digest auth each pair's sessions get when opened: pair 0
// none, then alice, bob, alice+bob, repeating.
func pairAuth(pair int) []string {
	switch pair % 4 {
	case 1:
		return []string{"alice"}
	case 2:
		return []string{"bob"}
	case 3:
		return []string{"alice", "bob"}
	}
	return nil
}

// model is the generator's idea of the mirrored namespace, refreshed from
// the A side's replies. It only steers the choice of paths and versions
// towards interesting requests; it is never an oracle.
type model struct {
	nodes   map[string]bool // logical paths believed to exist ("/" is the namespace root)
	list    []string
	dirty   bool
	version map[string]int32
}

func newModel() *model {
	return &model{nodes: map[string]bool{"/": true}, version: map[string]int32{}}
}

func (m *model) add(p string) {
	if !m.nodes[p] {
		m.nodes[p], m.dirty = true, true
	}
}

func (m *model) remove(p string) {
	if p != "/" && m.nodes[p] {
		delete(m.nodes, p)
		delete(m.version, p)
		m.dirty = true
	}
}

func (m *model) existing() []string {
	if m.dirty || m.list == nil {
		m.list = m.list[:0]
		for p := range m.nodes {
			m.list = append(m.list, p)
		}
		slices.Sort(m.list)
		m.dirty = false
	}
	return m.list
}

type gen struct {
	r           *rand.Rand
	m           *model
	pairs       int
	noReconnect bool
}

func (g *gen) pct(p int) bool { return g.r.IntN(100) < p }

func (g *gen) name() string { return fmt.Sprintf("n%d", g.r.IntN(6)) }

func join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// path picks a logical path: mostly existing nodes or new children of them,
// sometimes a random or an invalid one.
func (g *gen) path() string {
	ex := g.m.existing()
	switch n := g.r.IntN(100); {
	case n < 50:
		return ex[g.r.IntN(len(ex))]
	case n < 85:
		p := ex[g.r.IntN(len(ex))]
		if strings.Count(p, "/") >= 4 {
			p = "/"
		}
		return join(p, g.name())
	case n < 97:
		return join(join("/", g.name()), g.name())
	}
	return []string{"/n0/", "/n0//n1", "/n0/./x", "/n0/..", "/n0/\x01", "/n0/\ue000", "/\U0001F600"}[g.r.IntN(7)]
}

// createPath is path, except that the namespace root is never created: a
// sequential create of it would make a sibling of the namespace whose
// sequence number comes from the shared parent.
func (g *gen) createPath() string {
	p := g.path()
	if p == "/" {
		p = join(p, g.name())
	}
	return p
}

func mapPath(prefix, p string) string {
	if p == "/" {
		return prefix
	}
	return prefix + p
}

func (g *gen) data() []byte {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, g.r.IntN(24))
	for i := range b {
		b[i] = byte('a' + g.r.IntN(26))
	}
	return b
}

func (g *gen) acl() []proto.ACL {
	world := func(perms int32) proto.ACL { return proto.ACL{Perms: perms, ID: proto.WorldAnyone} }
	dig := func(perms int32, u string) proto.ACL {
		return proto.ACL{Perms: perms, ID: proto.Id{Scheme: "digest", ID: digestID(u)}}
	}
	ip := func(perms int32, a string) proto.ACL {
		return proto.ACL{Perms: perms, ID: proto.Id{Scheme: "ip", ID: a}}
	}
	switch n := g.r.IntN(100); {
	case n < 55:
		return proto.OpenACLUnsafe
	case n < 60:
		return proto.ReadACLUnsafe
	case n < 66:
		return []proto.ACL{dig(proto.PermAll, "alice"), world(proto.PermRead)}
	case n < 71:
		return []proto.ACL{dig(proto.PermAll, "bob")}
	case n < 76:
		return proto.CreatorAllACL // INVALIDACL on sessions without digest auth
	case n < 81:
		return []proto.ACL{ip(proto.PermAll, "127.0.0.1")}
	case n < 85:
		return []proto.ACL{ip(proto.PermAll, "10.1.2.0/24"), world(proto.PermRead | proto.PermCreate)}
	case n < 88:
		return []proto.ACL{world(proto.PermAll), world(proto.PermAll), dig(proto.PermRead|proto.PermAdmin, "carol")}
	case n < 91:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.Id{Scheme: "world", ID: "bob"}}}
	case n < 94:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.Id{Scheme: "digest", ID: "nocolon"}}}
	case n < 97:
		return []proto.ACL{}
	}
	return []proto.ACL{ip(proto.PermAll, "not-an-ip")}
}

func (g *gen) version(p string) int32 {
	switch g.r.IntN(10) {
	case 0, 1, 2, 3, 4:
		return -1
	case 5:
		return g.r.Int32N(3)
	}
	return g.m.version[p]
}

// createFlags: valid modes 0..3, 4 (a container when sent with opcode 19,
// a persistent node with opcode 1/15: Appendix D), and invalid 9.
func (g *gen) createFlags() int32 { return []int32{0, 0, 0, 1, 2, 3, 4, 9}[g.r.IntN(8)] }

func (g *gen) ttl() int64 {
	if g.pct(10) {
		return 0 // BADARGUMENTS
	}
	return 1_000_000 + g.r.Int64N(1_000_000_000)
}

// one returns a single-request step that maps every path.
func one(kind string, pair int, write bool, op proto.OpCode, mk func(mp func(string) string) jute.Record) step {
	zk := zxidGlobal
	if write {
		zk = zxidMirrored
	}
	b := func(prefix string) []call {
		return []call{{op: op, req: mk(func(p string) string { return mapPath(prefix, p) }), zk: zk}}
	}
	return step{kind: kind, pair: pair, write: write, build: b, desc: describe(b("")[0])}
}

func describe(c call) string {
	if c.req == nil {
		return c.op.String()
	}
	if m, ok := c.req.(*proto.MultiRequest); ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%v[", c.op)
		for i, o := range m.Ops {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%v %+v", o.Type, o.Op)
		}
		b.WriteString("]")
		return b.String()
	}
	return fmt.Sprintf("%v %+v", c.op, c.req)
}

// next returns the next step of the stream.
func (g *gen) next(boundaries int) step {
	pair := g.r.IntN(g.pairs)
	n := g.r.IntN(1000)
	p := g.path()
	if n < 150 {
		p = g.createPath()
	}
	switch {
	case n < 60:
		f := g.createFlags()
		d, a := g.data(), g.acl()
		return one("create", pair, true, proto.OpCreate, func(mp func(string) string) jute.Record {
			return &proto.CreateRequest{Path: mp(p), Data: d, ACL: a, Flags: f}
		})
	case n < 110:
		f := []int32{0, 1, 2, 3}[g.r.IntN(4)]
		d, a := g.data(), g.acl()
		return one("create2", pair, true, proto.OpCreate2, func(mp func(string) string) jute.Record {
			return &proto.CreateRequest{Path: mp(p), Data: d, ACL: a, Flags: f}
		})
	case n < 130:
		d, a := g.data(), g.acl()
		return one("createContainer", pair, true, proto.OpCreateContainer, func(mp func(string) string) jute.Record {
			return &proto.CreateRequest{Path: mp(p), Data: d, ACL: a, Flags: 4}
		})
	case n < 150:
		f := []int32{5, 6}[g.r.IntN(2)]
		d, a, ttl := g.data(), g.acl(), g.ttl()
		return one("createTTL", pair, true, proto.OpCreateTTL, func(mp func(string) string) jute.Record {
			return &proto.CreateTTLRequest{Path: mp(p), Data: d, ACL: a, Flags: f, TTL: ttl}
		})
	case n < 210:
		v := g.version(p)
		return one("delete", pair, true, proto.OpDelete, func(mp func(string) string) jute.Record {
			return &proto.DeleteRequest{Path: mp(p), Version: v}
		})
	case n < 280:
		d, v := g.data(), g.version(p)
		return one("setData", pair, true, proto.OpSetData, func(mp func(string) string) jute.Record {
			return &proto.SetDataRequest{Path: mp(p), Data: d, Version: v}
		})
	case n < 320:
		w := g.pct(50)
		return one("exists", pair, false, proto.OpExists, func(mp func(string) string) jute.Record {
			return &proto.ExistsRequest{Path: mp(p), Watch: w}
		})
	case n < 370:
		w := g.pct(50)
		return one("getData", pair, false, proto.OpGetData, func(mp func(string) string) jute.Record {
			return &proto.GetDataRequest{Path: mp(p), Watch: w}
		})
	case n < 400:
		w := g.pct(50)
		return one("getChildren", pair, false, proto.OpGetChildren, func(mp func(string) string) jute.Record {
			return &proto.GetChildrenRequest{Path: mp(p), Watch: w}
		})
	case n < 430:
		w := g.pct(50)
		return one("getChildren2", pair, false, proto.OpGetChildren2, func(mp func(string) string) jute.Record {
			return &proto.GetChildren2Request{Path: mp(p), Watch: w}
		})
	case n < 450:
		return one("getACL", pair, false, proto.OpGetACL, func(mp func(string) string) jute.Record {
			return &proto.GetACLRequest{Path: mp(p)}
		})
	case n < 475:
		a, v := g.acl(), int32(-1)
		if g.pct(30) {
			v = g.r.Int32N(3)
		}
		return one("setACL", pair, true, proto.OpSetACL, func(mp func(string) string) jute.Record {
			return &proto.SetACLRequest{Path: mp(p), ACL: a, Version: v}
		})
	case n < 485:
		return one("getAllChildrenNumber", pair, false, proto.OpGetAllChildrenNumber, func(mp func(string) string) jute.Record {
			return &proto.GetAllChildrenNumberRequest{Path: mp(p)}
		})
	case n < 495:
		all := g.pct(30)
		return one("getEphemerals", pair, false, proto.OpGetEphemerals, func(mp func(string) string) jute.Record {
			if all {
				return &proto.GetEphemeralsRequest{PrefixPath: "/"}
			}
			return &proto.GetEphemeralsRequest{PrefixPath: mp(p)}
		})
	case n < 545:
		ops := g.multiOps()
		return one("multi", pair, true, proto.OpMulti, func(mp func(string) string) jute.Record {
			return &proto.MultiRequest{Ops: mapOps(ops, mp)}
		})
	case n < 565:
		var ops []proto.MultiOp
		for range 1 + g.r.IntN(4) {
			q := g.path()
			if g.pct(50) {
				ops = append(ops, proto.MultiOp{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: q, Watch: g.pct(30)}})
			} else {
				ops = append(ops, proto.MultiOp{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: q, Watch: g.pct(30)}})
			}
		}
		return one("multiRead", pair, false, proto.OpMultiRead, func(mp func(string) string) jute.Record {
			return &proto.MultiRequest{Ops: mapOps(ops, mp)}
		})
	case n < 569:
		return one("multi(empty)", pair, true, proto.OpMulti, func(func(string) string) jute.Record {
			return &proto.MultiRequest{}
		})
	case n < 573:
		ops := []proto.MultiOp{
			{Type: proto.OpSetData, Op: &proto.SetDataRequest{Path: p, Data: []byte("x"), Version: -1}},
			{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: p}},
		}
		return one("multi(mixed read+write)", pair, true, proto.OpMulti, func(mp func(string) string) jute.Record {
			return &proto.MultiRequest{Ops: mapOps(ops, mp)}
		})
	case n < 590:
		return one("sync", pair, false, proto.OpSync, func(mp func(string) string) jute.Record {
			return &proto.SyncRequest{Path: mp(p)}
		})
	case n < 620:
		mode := int32(g.r.IntN(2))
		return one("addWatch", pair, false, proto.OpAddWatch, func(mp func(string) string) jute.Record {
			return &proto.AddWatchRequest{Path: mp(p), Mode: mode}
		})
	case n < 640:
		t := int32(1 + g.r.IntN(3))
		return one("removeWatches", pair, false, proto.OpRemoveWatches, func(mp func(string) string) jute.Record {
			return &proto.RemoveWatchesRequest{Path: mp(p), Type: t}
		})
	case n < 660:
		t := int32(1 + g.r.IntN(3))
		return one("checkWatches", pair, false, proto.OpCheckWatches, func(mp func(string) string) jute.Record {
			return &proto.CheckWatchesRequest{Path: mp(p), Type: t}
		})
	case n < 668:
		return one("whoAmI", pair, false, proto.OpWhoAmI, func(func(string) string) jute.Record { return nil })
	case n < 671:
		u := users[g.r.IntN(len(users))]
		return step{kind: "auth", pair: pair, addAuth: u, desc: "auth digest " + u}
	case n < 679 && !g.noReconnect:
		return g.reconnect(pair, boundaries)
	case n < 685:
		return step{kind: "closeSession", pair: pair, closeSession: true, write: true, desc: "closeSession, then a new session"}
	case n < 688:
		return one("reconfig", pair, true, proto.OpReconfig, func(func(string) string) jute.Record {
			return &proto.ReconfigRequest{JoiningServers: "", LeavingServers: "", NullNewMembers: true, CurConfigID: -1}
		})
	}
	return g.readerStep(p, boundaries)
}

// multiOps makes 1-5 write sub-ops, often failing somewhere.
func (g *gen) multiOps() []proto.MultiOp {
	var ops []proto.MultiOp
	for range 1 + g.r.IntN(5) {
		q := g.path()
		k := g.r.IntN(6)
		if k <= 1 {
			q = g.createPath()
		}
		switch k {
		case 0:
			ops = append(ops, proto.MultiOp{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: q, Data: g.data(), ACL: g.acl(), Flags: g.createFlags()}})
		case 1:
			if g.pct(50) {
				ops = append(ops, proto.MultiOp{Type: proto.OpCreateTTL, Op: &proto.CreateTTLRequest{Path: q, Data: g.data(), ACL: proto.OpenACLUnsafe, Flags: 5, TTL: g.ttl()}})
			} else {
				ops = append(ops, proto.MultiOp{Type: proto.OpCreate2, Op: &proto.CreateRequest{Path: q, Data: g.data(), ACL: proto.OpenACLUnsafe, Flags: []int32{0, 2, 4}[g.r.IntN(3)]}})
			}
		case 2:
			ops = append(ops, proto.MultiOp{Type: proto.OpDelete, Op: &proto.DeleteRequest{Path: q, Version: g.version(q)}})
		case 3, 4:
			ops = append(ops, proto.MultiOp{Type: proto.OpSetData, Op: &proto.SetDataRequest{Path: q, Data: g.data(), Version: g.version(q)}})
		case 5:
			ops = append(ops, proto.MultiOp{Type: proto.OpCheck, Op: &proto.CheckVersionRequest{Path: q, Version: g.version(q)}})
		}
	}
	return ops
}

// mapOps copies multi sub-ops with their paths mapped.
func mapOps(ops []proto.MultiOp, mp func(string) string) []proto.MultiOp {
	out := make([]proto.MultiOp, len(ops))
	for i, o := range ops {
		var r jute.Record
		switch q := o.Op.(type) {
		case *proto.CreateRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.CreateTTLRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.DeleteRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.SetDataRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.CheckVersionRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.GetDataRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		case *proto.GetChildrenRequest:
			c := *q
			c.Path = mp(c.Path)
			r = &c
		default:
			panic(fmt.Sprintf("difftest: sub-op %T", o.Op))
		}
		out[i] = proto.MultiOp{Type: o.Type, Op: r}
	}
	return out
}

// watchLists picks logical paths for the five lists of SetWatches2.
func (g *gen) watchLists() (w [5][]string) {
	for i := range w {
		for range g.r.IntN(3) {
			w[i] = append(w[i], g.path())
		}
	}
	return w
}

func (g *gen) reconnect(pair, boundaries int) step {
	return step{kind: "reconnect+setWatches2", pair: pair, reconnect: true, relIdx: g.r.IntN(boundaries),
		watches: g.watchLists(), desc: "reconnect, setWatches2"}
}

// readerStep is a read by the exact readers, of the logical path in both
// namespaces (so that both targets' readers hold the same watches).
func (g *gen) readerStep(p string, boundaries int) step {
	var mk func(q string) call
	kind := ""
	w := g.pct(40)
	switch g.r.IntN(10) {
	case 0, 1:
		kind, mk = "exists", func(q string) call { return call{op: proto.OpExists, req: &proto.ExistsRequest{Path: q, Watch: w}} }
	case 2, 3:
		kind, mk = "getData", func(q string) call { return call{op: proto.OpGetData, req: &proto.GetDataRequest{Path: q, Watch: w}} }
	case 4:
		kind, mk = "getChildren2", func(q string) call {
			return call{op: proto.OpGetChildren2, req: &proto.GetChildren2Request{Path: q, Watch: w}}
		}
	case 5:
		kind, mk = "getACL", func(q string) call { return call{op: proto.OpGetACL, req: &proto.GetACLRequest{Path: q}} }
	case 6:
		kind, mk = "getAllChildrenNumber", func(q string) call {
			return call{op: proto.OpGetAllChildrenNumber, req: &proto.GetAllChildrenNumberRequest{Path: q}}
		}
	case 7:
		mode := int32(g.r.IntN(2))
		kind, mk = "addWatch", func(q string) call {
			return call{op: proto.OpAddWatch, req: &proto.AddWatchRequest{Path: q, Mode: mode}}
		}
	case 8:
		t := int32(1 + g.r.IntN(3))
		kind, mk = "removeWatches", func(q string) call {
			return call{op: proto.OpRemoveWatches, req: &proto.RemoveWatchesRequest{Path: q, Type: t}}
		}
	default:
		if g.pct(50) && !g.noReconnect {
			s := g.reconnect(-1, boundaries)
			s.kind = "reader " + s.kind
			return s
		}
		kind, mk = "multiRead", func(q string) call {
			return call{op: proto.OpMultiRead, req: &proto.MultiRequest{Ops: []proto.MultiOp{
				{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: q}},
				{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: q}},
			}}}
		}
	}
	return step{kind: "reader " + kind, pair: -1, desc: describe(mk(p)) + " (in both namespaces)", readerCall: mk, readerPath: p}
}
