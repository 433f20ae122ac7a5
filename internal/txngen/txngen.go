// Package txngen generates realistic, valid txn streams (what a leader would
// commit) for tests and benchmarks: creates, setData and deletes of 100 B to
// 1 KB values spread over a few thousand parents, some multis, sessions that
// come and go with ephemerals. It keeps its own small model of the tree, so
// every txn applies cleanly (no NODEEXISTS / NONODE surprises).
package txngen

import (
	"fmt"
	"math/rand"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// Options shapes the stream.
type Options struct {
	Parents  int // number of parent znodes (default 2000)
	MinData  int // smallest value (default 100)
	MaxData  int // largest value (default 1024)
	Sessions int // live sessions kept around (default 16)
}

type node struct {
	cversion int32
	version  int32
	kids     int
	owner    int64
}

// Gen is a txn generator. Not safe for concurrent use.
type Gen struct {
	r        *rand.Rand
	opts     Options
	zxid     int64
	time     int64
	nodes    map[string]*node
	leaves   []string // created children (may be stale; checked on use)
	sessions []int64
	nextSess int64
	parents  int
	seq      int64 // makes child names unique
	data     []byte
}

// New returns a generator. The first txns it returns create the parents.
func New(seed int64, opts Options) *Gen {
	if opts.Parents <= 0 {
		opts.Parents = 2000
	}
	if opts.MinData <= 0 {
		opts.MinData = 100
	}
	if opts.MaxData < opts.MinData {
		opts.MaxData = 1024
	}
	if opts.Sessions <= 0 {
		opts.Sessions = 16
	}
	g := &Gen{r: rand.New(rand.NewSource(seed)), opts: opts, zxid: 1 << 32, time: 1_750_000_000_000,
		nodes: map[string]*node{"": {}}, nextSess: 0x0100000000000000}
	g.data = make([]byte, opts.MaxData)
	g.r.Read(g.data)
	return g
}

func (g *Gen) header(typ proto.OpCode, client int64) proto.TxnHeader {
	g.zxid++
	g.time++
	return proto.TxnHeader{ClientID: client, Cxid: int32(g.zxid), Zxid: g.zxid, Time: g.time, Type: typ}
}

func (g *Gen) value() []byte {
	n := g.opts.MinData + g.r.Intn(g.opts.MaxData-g.opts.MinData+1)
	off := g.r.Intn(len(g.data) - n + 1)
	return g.data[off : off+n : off+n]
}

func (g *Gen) create(path string, data []byte, owner int64) *proto.CreateTxn {
	parent := path[:lastSlash(path)]
	p := g.nodes[parent]
	p.cversion++
	p.kids++
	g.nodes[path] = &node{owner: owner}
	return &proto.CreateTxn{Path: path, Data: data, ACL: proto.OpenACLUnsafe, Ephemeral: owner != 0, ParentCVersion: p.cversion}
}

func (g *Gen) remove(path string) {
	delete(g.nodes, path)
	g.nodes[path[:lastSlash(path)]].kids--
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return 0
}

// Next returns the next txn. Its byte slices are shared with the generator
// and must not be modified.
func (g *Gen) Next() *proto.Txn {
	// Set-up: the parents, then the sessions.
	if g.parents < g.opts.Parents {
		path := fmt.Sprintf("/app%d", g.parents)
		g.parents++
		h := g.header(proto.OpCreate, 0)
		return &proto.Txn{Header: h, Body: g.create(path, nil, 0)}
	}
	if len(g.sessions) < g.opts.Sessions {
		g.nextSess++
		g.sessions = append(g.sessions, g.nextSess)
		h := g.header(proto.OpCreateSession, g.nextSess)
		return &proto.Txn{Header: h, Body: &proto.CreateSessionTxn{TimeOut: 10000}}
	}
	sess := g.sessions[g.r.Intn(len(g.sessions))]
	switch k := g.r.Intn(100); {
	case k < 40 || len(g.leaves) < 100:
		return g.nextCreate(sess)
	case k < 75:
		path, ok := g.pickLeaf()
		if !ok {
			return g.nextCreate(sess)
		}
		n := g.nodes[path]
		n.version++
		h := g.header(proto.OpSetData, sess)
		return &proto.Txn{Header: h, Body: &proto.SetDataTxn{Path: path, Data: g.value(), Version: n.version}}
	case k < 93:
		path, ok := g.pickLeaf()
		if !ok {
			return g.nextCreate(sess)
		}
		g.remove(path)
		h := g.header(proto.OpDelete, sess)
		return &proto.Txn{Header: h, Body: &proto.DeleteTxn{Path: path}}
	case k < 98:
		// A multi: two creates and a setData under one parent.
		parent := fmt.Sprintf("/app%d", g.r.Intn(g.opts.Parents))
		g.seq += 2
		a := g.create(fmt.Sprintf("%s/m%d", parent, g.seq-1), g.value(), 0)
		b := g.create(fmt.Sprintf("%s/m%d", parent, g.seq), g.value(), 0)
		h := g.header(proto.OpMulti, sess)
		g.nodes[b.Path].version = 1
		g.leaves = append(g.leaves, a.Path, b.Path)
		return &proto.Txn{Header: h, Body: &proto.MultiTxn{Txns: []proto.SubTxn{
			{Type: proto.OpCreate, Body: a},
			{Type: proto.OpCreate, Body: b},
			{Type: proto.OpSetData, Body: &proto.SetDataTxn{Path: b.Path, Data: g.value(), Version: 1}},
		}}}
	default:
		// A session closes (with its ephemerals) and a new one starts.
		i := g.r.Intn(len(g.sessions))
		s := g.sessions[i]
		g.sessions = append(g.sessions[:i], g.sessions[i+1:]...)
		var eph []string
		for p, n := range g.nodes {
			if n.owner == s {
				eph = append(eph, p)
			}
		}
		for _, p := range eph {
			g.remove(p)
		}
		h := g.header(proto.OpCloseSession, s)
		h.Cxid = 0
		return &proto.Txn{Header: h, Body: &proto.CloseSessionTxn{Paths2Delete: eph}}
	}
}

func (g *Gen) nextCreate(sess int64) *proto.Txn {
	parent := fmt.Sprintf("/app%d", g.r.Intn(g.opts.Parents))
	g.seq++
	path := fmt.Sprintf("%s/n%d", parent, g.seq)
	owner := int64(0)
	if g.r.Intn(10) == 0 {
		owner = sess
	}
	h := g.header(proto.OpCreate, sess)
	c := g.create(path, g.value(), owner)
	if owner == 0 {
		g.leaves = append(g.leaves, path)
	}
	return &proto.Txn{Header: h, Body: c}
}

// pickLeaf returns a live persistent leaf, dropping stale entries; false
// when there is none.
func (g *Gen) pickLeaf() (string, bool) {
	for len(g.leaves) > 0 {
		i := g.r.Intn(len(g.leaves))
		p := g.leaves[i]
		if n, ok := g.nodes[p]; ok && n.owner == 0 && n.kids == 0 {
			return p, true
		}
		g.leaves[i] = g.leaves[len(g.leaves)-1]
		g.leaves = g.leaves[:len(g.leaves)-1]
	}
	return "", false
}

// Encoded returns n txns of the stream encoded as the leader sends them
// (PROPOSAL/INFORM payloads, no digest), for benchmarks that include
// decoding.
func (g *Gen) Encoded(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = jute.Marshal(g.Next())
	}
	return out
}
