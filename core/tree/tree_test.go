package tree

import (
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

var open = proto.OpenACLUnsafe

func txn(zxid int64, typ proto.OpCode, body jute.Record) *proto.Txn {
	return &proto.Txn{Header: proto.TxnHeader{ClientID: 0x77, Cxid: 1, Zxid: zxid, Time: 1000 + zxid, Type: typ}, Body: body}
}

func mustNode(t *testing.T, tr *DataTree, path string) (Node, proto.Stat) {
	t.Helper()
	var n Node
	var st proto.Stat
	var ok bool
	tr.View(func(v View) {
		var p *Node
		p, ok = v.Node(path)
		if ok {
			n, st = *p, v.Stat(p)
		}
	})
	if !ok {
		t.Fatalf("no node %s", path)
	}
	return n, st
}

func noNode(t *testing.T, tr *DataTree, path string) {
	t.Helper()
	tr.View(func(v View) {
		if _, ok := v.Node(path); ok {
			t.Fatalf("node %s exists", path)
		}
	})
}

// TestDigestVectors checks the digest against values a live 3.8 leader sent.
func TestDigestVectors(t *testing.T) {
	tr := New(Options{})
	if d := tr.Digest(); d != 1371985504 {
		t.Fatalf("fresh tree digest %d, want 1371985504", d)
	}
	// createSession changes nothing in the tree (first entry of a fresh log).
	tr.Apply(&proto.Txn{Header: proto.TxnHeader{ClientID: 0x100000cba3c0000, Zxid: 1, Type: proto.OpCreateSession}, Body: &proto.CreateSessionTxn{TimeOut: 30000}})
	if d := tr.Digest(); d != 1371985504 {
		t.Fatalf("after createSession %d", d)
	}
	// The [LIVE] tree of quorum spec 6.4.
	tr = New(Options{})
	tr.Apply(&proto.Txn{
		Header: proto.TxnHeader{ClientID: 1, Zxid: 0x100000002, Time: 1795611901729, Type: proto.OpCreate},
		Body:   &proto.CreateTxn{Path: "/a", Data: []byte("hello"), ACL: open, ParentCVersion: 1},
	})
	if d := tr.Digest(); d != 9442232621 {
		t.Fatalf("digest %d, want 9442232621", d)
	}
	n, _ := mustNode(t, tr, "/")
	if n.digest != 3942836307 {
		t.Fatalf("root digest %d", n.digest)
	}
	if n, _ := mustNode(t, tr, "/a"); n.digest != 4195734402 {
		t.Fatalf("/a digest %d", n.digest)
	}
	if n, _ := mustNode(t, tr, "/zookeeper"); n.digest != 1303661912 {
		t.Fatalf("/zookeeper digest %d", n.digest)
	}
}

func TestBuiltinNodes(t *testing.T) {
	tr := New(Options{})
	cases := []struct {
		path     string
		cversion int32 // client-visible
		aversion int32
		acl      []proto.ACL
	}{
		{"/", -1, 0, open},
		{"/zookeeper", -2, 0, open},
		{"/zookeeper/quota", 0, 0, open},
		{"/zookeeper/config", 0, -1, proto.ReadACLUnsafe},
	}
	for _, c := range cases {
		n, st := mustNode(t, tr, c.path)
		if st.Cversion != c.cversion || st.Aversion != c.aversion {
			t.Errorf("%s: stat %+v", c.path, st)
		}
		var acl []proto.ACL
		tr.View(func(v View) { acl = v.ACL(&n) })
		if !proto.EqualACLs(acl, c.acl) {
			t.Errorf("%s: acl %v", c.path, acl)
		}
	}
	var count, below int
	tr.View(func(v View) { count, below = v.NodeCount(), v.CountDescendants("/") })
	if count != 4 || below != 3 {
		t.Fatalf("count %d below %d", count, below)
	}
}

// TestApplySemantics is a table of txn sequences and the state they must
// leave, following DataTree.processTxn of 3.8.
func TestApplySemantics(t *testing.T) {
	type check func(t *testing.T, tr *DataTree, last Result)
	cases := []struct {
		name  string
		opts  Options
		txns  []*proto.Txn
		check check
	}{
		{"create sets parent cversion and pzxid", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpCreate2, &proto.CreateTxn{Path: "/p/c", Data: []byte("x"), ACL: open, ParentCVersion: 1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, st := mustNode(t, tr, "/p")
			if n.Stat.Cversion != 1 || n.Stat.Pzxid != 11 || st.NumChildren != 1 || st.Cversion != 1 {
				t.Fatalf("/p %+v %+v", n.Stat, st)
			}
			if !last.HasStat || last.Stat.Czxid != 11 || last.Stat.DataLength != 1 || last.Err != proto.ErrOK {
				t.Fatalf("create2 result %+v", last)
			}
		}},
		{"create result has no stat", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if last.HasStat || last.Path != "/p" {
				t.Fatalf("%+v", last)
			}
		}},
		{"create under missing parent is NONODE and changes nothing", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/x/y", ACL: open, ParentCVersion: 1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if last.Err != proto.ErrNoNode || tr.Digest() != 1371985504 || tr.LastZxid() != 10 {
				t.Fatalf("%+v digest %d", last, tr.Digest())
			}
		}},
		{"replayed create repairs the parent (type create only)", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 5}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, "/")
			if last.Err != proto.ErrNodeExists || n.Stat.Cversion != 5 || n.Stat.Pzxid != 11 {
				t.Fatalf("%+v root %+v", last, n.Stat)
			}
		}},
		{"replayed create2 does not repair the parent", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpCreate2, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 5}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, "/")
			if last.Err != proto.ErrNodeExists || n.Stat.Cversion != 1 || n.Stat.Pzxid != 10 {
				t.Fatalf("%+v root %+v", last, n.Stat)
			}
		}},
		{"lower parentCVersion does not lower cversion or pzxid", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/a", ACL: open, ParentCVersion: 4}),
			txn(11, proto.OpCreate, &proto.CreateTxn{Path: "/b", ACL: open, ParentCVersion: 2}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, "/")
			if n.Stat.Cversion != 4 || n.Stat.Pzxid != 10 || n.NumChildren() != 3 {
				t.Fatalf("root %+v", n.Stat)
			}
		}},
		{"parentCVersion -1 (CreateTxnV0) means stored+1", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/a", ACL: open, ParentCVersion: -1, V0: true}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if n, _ := mustNode(t, tr, "/"); n.Stat.Cversion != 1 || n.Stat.Pzxid != 10 {
				t.Fatalf("root %+v", n.Stat)
			}
		}},
		{"delete raises parent pzxid, never cversion", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpCreate, &proto.CreateTxn{Path: "/p/a", ACL: open, ParentCVersion: 1}),
			txn(12, proto.OpCreate, &proto.CreateTxn{Path: "/p/b", ACL: open, ParentCVersion: 2}),
			txn(13, proto.OpDelete, &proto.DeleteTxn{Path: "/p/a"}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, st := mustNode(t, tr, "/p")
			// two creates + one delete: stored 2, one child, visible 3.
			if n.Stat.Cversion != 2 || n.Stat.Pzxid != 13 || st.Cversion != 3 || st.NumChildren != 1 {
				t.Fatalf("/p %+v %+v", n.Stat, st)
			}
			noNode(t, tr, "/p/a")
		}},
		{"delete of a missing child still raises pzxid, NONODE", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(20, proto.OpDelete, &proto.DeleteTxn{Path: "/p/gone"}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if n, _ := mustNode(t, tr, "/p"); last.Err != proto.ErrNoNode || n.Stat.Pzxid != 20 {
				t.Fatalf("%+v /p %+v", last, n.Stat)
			}
		}},
		{"delete with an older zxid keeps the higher pzxid", Options{}, []*proto.Txn{
			txn(30, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(31, proto.OpCreate, &proto.CreateTxn{Path: "/p/a", ACL: open, ParentCVersion: 1}),
			txn(20, proto.OpDelete, &proto.DeleteTxn{Path: "/p/a"}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if n, _ := mustNode(t, tr, "/p"); n.Stat.Pzxid != 31 || tr.LastZxid() != 31 {
				t.Fatalf("/p %+v zxid %x", n.Stat, tr.LastZxid())
			}
		}},
		{"setData is absolute", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpSetData, &proto.SetDataTxn{Path: "/p", Data: []byte("v"), Version: 7}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, "/p")
			if n.Stat.Version != 7 || n.Stat.Mzxid != 11 || n.Stat.Mtime != 1011 || string(n.Data) != "v" || last.Stat.Version != 7 {
				t.Fatalf("%+v", n.Stat)
			}
		}},
		{"setData keeps null data null", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", Data: []byte("x"), ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpSetData, &proto.SetDataTxn{Path: "/p", Data: nil, Version: 1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if n, st := mustNode(t, tr, "/p"); n.Data != nil || st.DataLength != 0 {
				t.Fatalf("data %v", n.Data)
			}
		}},
		{"setData on missing node", Options{}, []*proto.Txn{
			txn(10, proto.OpSetData, &proto.SetDataTxn{Path: "/none", Version: 1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if last.Err != proto.ErrNoNode || last.HasStat {
				t.Fatalf("%+v", last)
			}
		}},
		{"setACL sets aversion and list, no other stat", Options{}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/p", ACL: open, ParentCVersion: 1}),
			txn(11, proto.OpSetACL, &proto.SetACLTxn{Path: "/p", ACL: genACLs[2], Version: 3}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, "/p")
			var acl []proto.ACL
			tr.View(func(v View) { acl = v.ACL(&n) })
			if n.Stat.Aversion != 3 || n.Stat.Mzxid != 10 || !proto.EqualACLs(acl, genACLs[2]) {
				t.Fatalf("%+v %v", n.Stat, acl)
			}
		}},
		{"ephemeral, container and TTL owners", Options{ExtendedTypes: true}, []*proto.Txn{
			txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/e", ACL: open, Ephemeral: true, ParentCVersion: 1}),
			txn(11, proto.OpCreateContainer, &proto.CreateContainerTxn{Path: "/c", ACL: open, ParentCVersion: 2}),
			txn(12, proto.OpCreateTTL, &proto.CreateTTLTxn{Path: "/t", ACL: open, ParentCVersion: 3, TTL: 123456}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			e, est := mustNode(t, tr, "/e")
			c, cst := mustNode(t, tr, "/c")
			tt, tst := mustNode(t, tr, "/t")
			if e.Stat.EphemeralOwner != 0x77 || est.EphemeralOwner != 0x77 {
				t.Fatalf("ephemeral %+v", e.Stat)
			}
			if c.Stat.EphemeralOwner != ContainerOwner || cst.EphemeralOwner != 0 {
				t.Fatalf("container %+v", c.Stat)
			}
			if uint64(tt.Stat.EphemeralOwner) != 0xFF0000000001E240 || tst.EphemeralOwner != 0 {
				t.Fatalf("ttl %x", tt.Stat.EphemeralOwner)
			}
			tr.View(func(v View) {
				if !reflect.DeepEqual(v.Ephemerals(0x77), []string{"/e"}) || !reflect.DeepEqual(v.Containers(), []string{"/c"}) || !reflect.DeepEqual(v.TTLs(), []string{"/t"}) {
					t.Fatalf("indexes %v %v %v", v.Ephemerals(0x77), v.Containers(), v.TTLs())
				}
			})
		}},
		{"TTL owner without extended types is an ephemeral of a dead session", Options{}, []*proto.Txn{
			txn(12, proto.OpCreateTTL, &proto.CreateTTLTxn{Path: "/t", ACL: open, ParentCVersion: 1, TTL: 5}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			_, st := mustNode(t, tr, "/t")
			if uint64(st.EphemeralOwner) != 0xFF00000000000005 {
				t.Fatalf("visible owner %x", st.EphemeralOwner)
			}
			if n := tr.RemoveDeadSessionEphemerals(); n != 1 {
				t.Fatalf("removed %d", n)
			}
			noNode(t, tr, "/t")
		}},
		{"successful multi applies every op under one zxid", Options{}, []*proto.Txn{
			txn(10, proto.OpMulti, &proto.MultiTxn{Txns: []proto.SubTxn{
				{Type: proto.OpCreate, Body: &proto.CreateTxn{Path: "/m", ACL: open, ParentCVersion: 1}},
				{Type: proto.OpCreate, Body: &proto.CreateTxn{Path: "/m/a", ACL: open, ParentCVersion: 1}},
				{Type: proto.OpSetData, Body: &proto.SetDataTxn{Path: "/m", Data: []byte("d"), Version: 1}},
				{Type: proto.OpCheck, Body: &proto.CheckVersionTxn{Path: "/m", Version: 1}},
			}}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			a, _ := mustNode(t, tr, "/m/a")
			m, _ := mustNode(t, tr, "/m")
			if a.Stat.Czxid != 10 || m.Stat.Mzxid != 10 || m.Stat.Version != 1 || last.Err != proto.ErrOK || len(last.Multi) != 4 {
				t.Fatalf("%+v %+v %+v", a.Stat, m.Stat, last)
			}
		}},
		{"failed multi applies nothing", Options{}, []*proto.Txn{
			txn(10, proto.OpMulti, &proto.MultiTxn{Txns: []proto.SubTxn{
				{Type: proto.OpCreate, Body: &proto.CreateTxn{Path: "/m1", ACL: open, ParentCVersion: 1}},
				{Type: proto.OpError, Body: &proto.ErrorTxn{Err: proto.ErrNoNode}},
				{Type: proto.OpSetData, Body: &proto.SetDataTxn{Path: "/", Version: 1}},
			}}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			noNode(t, tr, "/m1")
			codes := []proto.ErrCode{}
			for _, r := range last.Multi {
				codes = append(codes, r.Err)
			}
			if last.Err != proto.ErrNoNode || !reflect.DeepEqual(codes, []proto.ErrCode{0, proto.ErrNoNode, proto.ErrRuntimeInconsistency}) {
				t.Fatalf("%v %v", last.Err, codes)
			}
			if tr.Digest() != 1371985504 || tr.LastZxid() != 10 {
				t.Fatalf("digest %d", tr.Digest())
			}
		}},
		{"closeSession with its path list", Options{}, []*proto.Txn{
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 9, Type: proto.OpCreateSession}, Body: &proto.CreateSessionTxn{TimeOut: 4000}},
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 10, Type: proto.OpCreate}, Body: &proto.CreateTxn{Path: "/e1", ACL: open, Ephemeral: true, ParentCVersion: 1}},
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 11, Type: proto.OpCreate}, Body: &proto.CreateTxn{Path: "/e2", ACL: open, Ephemeral: true, ParentCVersion: 2}},
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 12, Type: proto.OpCloseSession}, Body: &proto.CloseSessionTxn{Paths2Delete: []string{"/e1"}}},
		}, func(t *testing.T, tr *DataTree, last Result) {
			// /e2 was not in the list: Java deletes it as a local leftover.
			noNode(t, tr, "/e1")
			noNode(t, tr, "/e2")
			tr.View(func(v View) {
				if len(v.Sessions()) != 0 || len(v.Ephemerals(5)) != 0 {
					t.Fatalf("sessions %v", v.Sessions())
				}
			})
			if n, _ := mustNode(t, tr, "/"); n.Stat.Pzxid != 12 || n.Stat.Cversion != 2 {
				t.Fatalf("root %+v", n.Stat)
			}
		}},
		{"closeSession without a body (3.5 leader)", Options{}, []*proto.Txn{
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 9, Type: proto.OpCreateSession}, Body: &proto.CreateSessionTxn{TimeOut: 4000}},
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 10, Type: proto.OpCreate}, Body: &proto.CreateTxn{Path: "/e1", ACL: open, Ephemeral: true, ParentCVersion: 1}},
			{Header: proto.TxnHeader{ClientID: 6, Zxid: 11, Type: proto.OpCreate}, Body: &proto.CreateTxn{Path: "/other", ACL: open, Ephemeral: true, ParentCVersion: 2}},
			{Header: proto.TxnHeader{ClientID: 5, Zxid: 12, Type: proto.OpCloseSession}},
		}, func(t *testing.T, tr *DataTree, last Result) {
			noNode(t, tr, "/e1")
			mustNode(t, tr, "/other")
		}},
		{"error txn changes nothing but the zxid", Options{}, []*proto.Txn{
			txn(10, proto.OpError, &proto.ErrorTxn{Err: proto.ErrBadVersion}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if last.Err != proto.ErrBadVersion || tr.LastZxid() != 10 || tr.Digest() != 1371985504 {
				t.Fatalf("%+v", last)
			}
		}},
		{"top-level check is a no-op", Options{}, []*proto.Txn{
			txn(10, proto.OpCheck, &proto.CheckVersionTxn{Path: "/", Version: 0}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			if last.Err != proto.ErrOK || tr.LastZxid() != 10 || tr.Digest() != 1371985504 {
				t.Fatalf("%+v", last)
			}
		}},
		{"reconfig sets /zookeeper/config, digest unchanged", Options{}, []*proto.Txn{
			txn(10, proto.OpReconfig, &proto.SetDataTxn{Path: ConfigPath, Data: []byte("server.1=x\nversion=1"), Version: -1}),
		}, func(t *testing.T, tr *DataTree, last Result) {
			n, _ := mustNode(t, tr, ConfigPath)
			if string(n.Data) != "server.1=x\nversion=1" || n.Stat.Version != -1 || tr.Digest() != 1371985504 {
				t.Fatalf("%+v", n.Stat)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := New(c.opts)
			var last Result
			for _, x := range c.txns {
				last = tr.Apply(x)
			}
			c.check(t, tr, last)
			assertDigestConsistent(t, tr)
		})
	}
}

// assertDigestConsistent recomputes the digest from scratch and compares it
// with the incrementally kept one.
func assertDigestConsistent(t *testing.T, tr *DataTree) {
	t.Helper()
	tr.View(func(v View) {
		var sum uint64
		for p, n := range v.t.nodes {
			sum += uint64(NodeDigest(p, n.Data, &n.Stat))
		}
		if int64(sum) != v.Digest() {
			t.Fatalf("incremental digest %d, recomputed %d", v.Digest(), int64(sum))
		}
		// The other counters the tree keeps as it changes.
		var size int64
		eph := 0
		for p, n := range v.t.nodes {
			size += int64(len(p) + len(n.Data))
			if v.Kind(n) == Ephemeral {
				eph++
			}
		}
		if size != v.ApproximateDataSize() || eph != v.EphemeralCount() {
			t.Fatalf("data size %d and ephemerals %d kept, %d and %d recomputed", v.ApproximateDataSize(), v.EphemeralCount(), size, eph)
		}
	})
}

// TestACLCacheLikeJava checks index allocation and reference counting.
func TestACLCacheLikeJava(t *testing.T) {
	tr := New(Options{})
	tr.Apply(txn(10, proto.OpCreate, &proto.CreateTxn{Path: "/a", ACL: open, ParentCVersion: 1}))
	tr.Apply(txn(11, proto.OpCreate, &proto.CreateTxn{Path: "/b", ACL: open, ParentCVersion: 2}))
	tr.Apply(txn(12, proto.OpCreate, &proto.CreateTxn{Path: "/c", ACL: genACLs[2], ParentCVersion: 3}))
	idx := map[string]int64{}
	tr.View(func(v View) {
		for _, p := range []string{"/a", "/b", "/c", ConfigPath, "/"} {
			n, _ := v.Node(p)
			idx[p] = n.ACL
		}
	})
	// READ_ACL_UNSAFE of /zookeeper/config is 1; client-supplied
	// OPEN_ACL_UNSAFE gets its own index 2; the digest ACL 3; the root -1.
	want := map[string]int64{"/a": 2, "/b": 2, "/c": 3, ConfigPath: 1, "/": -1}
	if !reflect.DeepEqual(idx, want) {
		t.Fatalf("indexes %v", idx)
	}
	tr.Apply(txn(13, proto.OpDelete, &proto.DeleteTxn{Path: "/c"}))
	tr.Apply(txn(14, proto.OpCreate, &proto.CreateTxn{Path: "/d", ACL: genACLs[2], ParentCVersion: 4}))
	var got int64
	tr.View(func(v View) { n, _ := v.Node("/d"); got = n.ACL })
	if got != 4 {
		t.Fatalf("index after the last user went: %d, want a fresh 4", got)
	}
}

// TestFuzzySnapshotReplay builds snapshots the way a Java server does while
// it keeps applying txns (each node copied at a later moment than the one
// before it), loads them, replays every txn after the snapshot's zxid, and
// requires the exact tree of the uninterrupted run: data, ACLs, stats,
// sessions, indexes and digest.
func TestFuzzySnapshotReplay(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		opts := Options{ExtendedTypes: seed%2 == 0}
		g := newTxnGen(seed, opts)
		var txns []*proto.Txn
		for i := 0; i < 400; i++ {
			txns = append(txns, g.next())
		}
		want := dump(g.ref)

		r := rand.New(rand.NewSource(seed))
		start := 100 + r.Intn(200)
		live := New(opts)
		for _, x := range txns[:start] {
			live.Apply(x)
		}
		snapZxid := live.LastZxid()
		next := start
		applySome := func() {
			for k := r.Intn(3); k > 0 && next < len(txns); k-- {
				live.Apply(txns[next])
				next++
			}
		}
		ld := NewLoader(opts)
		// Sessions first, then ACLs, then a pre-order walk whose nodes are
		// copied at increasing moments.
		live.View(func(v View) {
			for id, to := range v.Sessions() {
				ld.Session(id, to)
			}
		})
		applySome()
		live.View(func(v View) {
			v.ACLTable(func(idx int64, acls []proto.ACL) { ld.ACL(idx, acls) })
		})
		stack := []string{""}
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			applySome()
			live.View(func(v View) {
				n, ok := v.Node(p)
				if !ok {
					return
				}
				if err := ld.Node(p, n.Data, n.ACL, n.Stat); err != nil {
					t.Fatalf("seed %d: load %q: %v", seed, p, err)
				}
				kids := n.Children()
				sort.Strings(kids)
				r.Shuffle(len(kids), func(i, j int) { kids[i], kids[j] = kids[j], kids[i] })
				for _, c := range kids {
					stack = append(stack, p+"/"+c)
				}
			})
		}
		restored, err := ld.Finish(snapZxid)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range txns {
			if x.Header.Zxid > snapZxid {
				restored.Apply(x)
			}
		}
		if got := dump(restored); got != want {
			t.Fatalf("seed %d (snapshot at %x, fuzzy until %d): replayed tree differs:\n%s", seed, snapZxid, next, lineDiff(got, want))
		}
		assertDigestConsistent(t, restored)
		restored.View(func(v View) {
			if d := v.DanglingACLs(); d != 0 {
				t.Fatalf("seed %d: %d nodes without an ACL after replay", seed, d)
			}
		})
	}
}

// TestDigestEveryTxn replays generated streams and checks the digest after
// every txn against the one the generator (playing the leader) attached.
func TestDigestEveryTxn(t *testing.T) {
	g := newTxnGen(99, Options{ExtendedTypes: true})
	g.legacyClose = true
	tr := New(Options{ExtendedTypes: true})
	for i := 0; i < 2000; i++ {
		x := g.next()
		tr.Apply(x)
		if x.Digest != nil && x.Digest.TreeDigest != tr.Digest() {
			t.Fatalf("txn %d (%v): digest %d, want %d", i, x.Header.Type, tr.Digest(), x.Digest.TreeDigest)
		}
	}
	assertDigestConsistent(t, tr)
}

// TestReadAndWatchAtomic: a reader that reads a node and registers a watch
// inside one View never misses a change: either it read the newest version,
// or the trigger for the next version arrives after its registration.
func TestReadAndWatchAtomic(t *testing.T) {
	tr := New(Options{})
	var mu sync.Mutex
	watching := map[int]int32{} // reader -> version it read
	var missed atomic.Int32
	tr.SetTrigger(func(ev EventType, path string, child bool, _ []proto.ACL) {
		if ev != EventNodeDataChanged || path != "/w" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		var cur int32
		tr.withLockedNode("/w", func(n *Node) { cur = n.Stat.Version })
		for r, ver := range watching {
			if ver+1 != cur {
				missed.Add(1)
			}
			delete(watching, r)
		}
	})
	tr.Apply(txn(1, proto.OpCreate, &proto.CreateTxn{Path: "/w", ACL: open, ParentCVersion: 1}))
	const writes = 2000
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; i < writes/4; i++ {
				tr.View(func(v View) {
					n, _ := v.Node("/w")
					mu.Lock()
					watching[r] = n.Stat.Version
					mu.Unlock()
				})
			}
		}(r)
	}
	for i := 1; i <= writes; i++ {
		tr.Apply(txn(int64(1+i), proto.OpSetData, &proto.SetDataTxn{Path: "/w", Version: int32(i)}))
	}
	wg.Wait()
	if m := missed.Load(); m != 0 {
		t.Fatalf("%d watches saw a version other than the one after their read", m)
	}
}

// withLockedNode reads a node from inside a Trigger (the write lock is held).
func (t *DataTree) withLockedNode(path string, fn func(*Node)) {
	if n := t.nodes[key(path)]; n != nil {
		fn(n)
	}
}

func TestLoaderErrors(t *testing.T) {
	ld := NewLoader(Options{})
	if err := ld.Node("/a/b", nil, -1, proto.StatPersisted{}); err == nil {
		t.Fatal("orphan accepted")
	}
	if _, err := ld.Finish(0); err == nil {
		t.Fatal("tree without root accepted")
	}
	ld = NewLoader(Options{})
	if err := ld.Node("", []byte{}, -1, proto.StatPersisted{}); err != nil {
		t.Fatal(err)
	}
	if err := ld.Node("", []byte{}, -1, proto.StatPersisted{}); err == nil {
		t.Fatal("second root accepted")
	}
}

// lineDiff lists the lines only one of two dumps has.
func lineDiff(got, want string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("got:  " + l + "\n")
		}
	}
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("want: " + l + "\n")
		}
	}
	return b.String()
}

// TestFuzzyACLRepaired: a snapshot node whose ACL index its ACL table lacks
// (the list was made while the snapshot was written) gets its list back when
// the txn that created it is replayed, and until then owns no reference.
func TestFuzzyACLRepaired(t *testing.T) {
	ld := NewLoader(Options{})
	ld.ACL(1, proto.ReadACLUnsafe)
	for _, p := range []string{"", "/zookeeper", "/zookeeper/quota"} {
		if err := ld.Node(p, []byte{}, OpenACLIndex, proto.StatPersisted{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ld.Node("/zookeeper/config", []byte{}, 1, proto.StatPersisted{Aversion: -1}); err != nil {
		t.Fatal(err)
	}
	if err := ld.Node("/late", []byte("x"), 7, proto.StatPersisted{Czxid: 20, Mzxid: 20, Pzxid: 20}); err != nil {
		t.Fatal(err)
	}
	tr, err := ld.Finish(10)
	if err != nil {
		t.Fatal(err)
	}
	tr.View(func(v View) {
		n, _ := v.Node("/late")
		if v.ACL(n) != nil || v.DanglingACLs() != 1 {
			t.Fatalf("acl %v dangling %d", v.ACL(n), v.DanglingACLs())
		}
	})
	rc := tr.Apply(txn(20, proto.OpCreate, &proto.CreateTxn{Path: "/late", Data: []byte("x"), ACL: genACLs[2], ParentCVersion: 1}))
	if rc.Err != proto.ErrNodeExists {
		t.Fatalf("replay: %v", rc.Err)
	}
	tr.View(func(v View) {
		n, _ := v.Node("/late")
		if !proto.EqualACLs(v.ACL(n), genACLs[2]) || v.DanglingACLs() != 0 {
			t.Fatalf("acl %v dangling %d", v.ACL(n), v.DanglingACLs())
		}
	})
	// Deleting it releases exactly its reference.
	tr.Apply(txn(21, proto.OpDelete, &proto.DeleteTxn{Path: "/late"}))
	tr.View(func(v View) {
		count := 0
		v.ACLTable(func(int64, []proto.ACL) { count++ })
		if count != 1 {
			t.Fatalf("%d ACL entries left, want only READ_ACL_UNSAFE", count)
		}
	})
}

// TestQuotaStats: the stats node of a quota follows creates, deletes and
// setData below the quota path, and is rebuilt after a snapshot load.
func TestQuotaStats(t *testing.T) {
	tr := New(Options{})
	z := int64(10)
	apply := func(typ proto.OpCode, body jute.Record) {
		z++
		if rc := tr.Apply(txn(z, typ, body)); rc.Err != 0 {
			t.Fatalf("%v: %v", typ, rc.Err)
		}
	}
	cv := func(p string) int32 {
		n, _ := mustNode(t, tr, p)
		return n.Stat.Cversion + 1
	}
	create := func(p string, data string) {
		apply(proto.OpCreate, &proto.CreateTxn{Path: p, Data: []byte(data), ACL: open, ParentCVersion: cv(parentOf(p))})
	}
	create("/app", "12345")
	create("/app/a", "xy")
	// What zkCli's setquota writes.
	create("/zookeeper/quota/app", "")
	create("/zookeeper/quota/app/zookeeper_limits", "count=10,bytes=-1")
	create("/zookeeper/quota/app/zookeeper_stats", "count=0,bytes=0")
	stats := func() string {
		n, _ := mustNode(t, tr, "/zookeeper/quota/app/zookeeper_stats")
		return string(n.Data)
	}
	if got := stats(); got != "count=2,bytes=7" {
		t.Fatalf("after setquota: %q", got)
	}
	create("/app/b", "abc")
	create("/other", "zzzz") // outside the quota
	apply(proto.OpSetData, &proto.SetDataTxn{Path: "/app/a", Data: []byte("x"), Version: 1})
	apply(proto.OpDelete, &proto.DeleteTxn{Path: "/app/b"})
	if got := stats(); got != "count=2,bytes=6" {
		t.Fatalf("after changes: %q", got)
	}
	// Snapshot round trip: the loader recomputes the stats.
	ld := NewLoader(Options{})
	tr.View(func(v View) {
		v.ACLTable(func(i int64, a []proto.ACL) { ld.ACL(i, a) })
		v.Walk(func(p string, n *Node) bool {
			data := n.Data
			if strings.HasSuffix(p, "zookeeper_stats") {
				data = []byte("count=0,bytes=0") // a stale copy
			}
			if err := ld.Node(p, data, n.ACL, n.Stat); err != nil {
				t.Fatal(err)
			}
			return true
		})
	})
	loaded, err := ld.Finish(z)
	if err != nil {
		t.Fatal(err)
	}
	tr = loaded
	if got := stats(); got != "count=2,bytes=6" {
		t.Fatalf("after load: %q", got)
	}
	create("/app/c", "")
	if got := stats(); got != "count=3,bytes=6" {
		t.Fatalf("after load and create: %q", got)
	}
	// Removing the limits node ends the quota.
	apply(proto.OpDelete, &proto.DeleteTxn{Path: "/zookeeper/quota/app/zookeeper_limits"})
	create("/app/d", "")
	if got := stats(); got != "count=3,bytes=6" {
		t.Fatalf("after removing the quota: %q", got)
	}
	assertDigestConsistent(t, tr) // the stats nodes' data counts in the data size
}

func TestStatsTrackFormat(t *testing.T) {
	cases := []struct{ in, out string }{
		{"count=1,bytes=2", "count=1,bytes=2"},
		{"", "count=-1,bytes=-1"},
		{"count=5,bytes=10=;byteHardLimit=-1;countHardLimit=7", "count=5,bytes=10=;byteHardLimit=-1;countHardLimit=7"},
		{"bytes=3;count=4", "count=4,bytes=3"},
		{"count=,bytes=x", "count=-1,bytes=-1"},
	}
	for _, c := range cases {
		if got := string(parseStatsTrack([]byte(c.in)).bytes()); got != c.out {
			t.Errorf("%q -> %q, want %q", c.in, got, c.out)
		}
	}
}
