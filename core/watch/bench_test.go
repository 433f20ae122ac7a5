package watch

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// countConn counts its events; Process does what a real connection's
// enqueue costs at least (an atomic add).
type countConn struct {
	id int64
	n  atomic.Int64
}

func (c *countConn) Process(proto.WatcherEvent) { c.n.Add(1) }
func (c *countConn) SessionID() int64           { return c.id }

func conns(n int) []*countConn {
	cs := make([]*countConn, n)
	for i := range cs {
		cs[i] = &countConn{id: int64(i + 1)}
	}
	return cs
}

// deleteTriggers is what DataTree fires for one delete.
func deleteTriggers(m *Manager, p, parent string) {
	m.Trigger(tree.EventNodeDeleted, p, false)
	m.Trigger(tree.EventNodeDeleted, p, true)
	m.Trigger(tree.EventNodeChildrenChanged, parent, true)
}

// BenchmarkTrigger measures Trigger on the apply path: one setData's
// trigger, or a delete's three.
func BenchmarkTrigger(b *testing.B) {
	const deep = "/app/service/instances/node-0001/status"
	b.Run("no-watches/setData", func(b *testing.B) {
		m := New()
		for b.Loop() {
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
	})
	b.Run("no-watches/delete", func(b *testing.B) {
		m := New()
		for b.Loop() {
			deleteTriggers(m, deep, "/app/service/instances/node-0001")
		}
	})
	other := func() *Manager {
		m := New()
		cs := conns(100)
		for i := range 10000 {
			c := cs[i%len(cs)]
			p := fmt.Sprintf("/other/%d", i)
			if i%2 == 0 {
				m.AddDataWatch(p, c)
			} else {
				m.AddChildWatch(p, c)
			}
		}
		return m
	}
	b.Run("10k-watches-elsewhere/setData", func(b *testing.B) {
		m := other()
		for b.Loop() {
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
	})
	b.Run("10k-watches-elsewhere/delete", func(b *testing.B) {
		m := other()
		for b.Loop() {
			deleteTriggers(m, deep, "/app/service/instances/node-0001")
		}
	})
	b.Run("recursive-on-root/setData-depth5", func(b *testing.B) {
		m := other()
		c := &countConn{id: 1}
		m.AddWatch("/", c, PersistentRecursive)
		for b.Loop() {
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
		if c.n.Load() == 0 {
			b.Fatal("no events")
		}
	})
	b.Run("recursive-on-root/delete-depth5", func(b *testing.B) {
		m := other()
		c := &countConn{id: 1}
		m.AddWatch("/", c, PersistentRecursive)
		for b.Loop() {
			deleteTriggers(m, deep, "/app/service/instances/node-0001")
		}
	})
	b.Run("recursive-elsewhere/setData-depth5", func(b *testing.B) {
		// A recursive watch that does not cover the path still makes every
		// trigger walk the ancestors (as Java does).
		m := other()
		m.AddWatch("/other", &countConn{id: 1}, PersistentRecursive)
		for b.Loop() {
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
	})
	b.Run("10-recursive-on-ancestors/setData-depth5", func(b *testing.B) {
		m := other()
		for i, c := range conns(10) {
			m.AddWatch([]string{"/", "/app", "/app/service"}[i%3], c, PersistentRecursive)
		}
		for b.Loop() {
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
	})
	b.Run("standard-watch-fires/getData+setData", func(b *testing.B) {
		m := other()
		c := &countConn{id: 1}
		for b.Loop() {
			m.AddDataWatch(deep, c)
			m.Trigger(tree.EventNodeDataChanged, deep, false)
		}
	})
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("persistent-fanout-%d/setData", n), func(b *testing.B) {
			m := New()
			for _, c := range conns(n) {
				m.AddWatch(deep, c, Persistent)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.Trigger(tree.EventNodeDataChanged, deep, false)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
		})
	}
}

// BenchmarkRegister measures registrations: one connection, many paths,
// and several connections in parallel (contention on the one mutex).
func BenchmarkRegister(b *testing.B) {
	paths := make([]string, 4096)
	for i := range paths {
		paths[i] = fmt.Sprintf("/app/node-%d", i)
	}
	b.Run("getData-watch", func(b *testing.B) {
		m := New()
		c := &countConn{id: 1}
		i := 0
		for b.Loop() {
			m.AddDataWatch(paths[i%len(paths)], c)
			i++
		}
	})
	b.Run("getData-watch-parallel", func(b *testing.B) {
		m := New()
		var ids atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			c := &countConn{id: ids.Add(1)}
			i := 0
			for pb.Next() {
				m.AddDataWatch(paths[i%len(paths)], c)
				i++
			}
		})
	})
	b.Run("setWatches-1000-paths", func(b *testing.B) {
		nodes := zxids{}
		for _, p := range paths[:1000] {
			nodes[p] = [2]int64{1, 1}
		}
		req := &proto.SetWatches2{RelativeZxid: 5, DataWatches: paths[:500], ChildWatches: paths[500:1000]}
		m := New()
		for b.Loop() {
			c := &countConn{id: 1}
			m.SetWatches(req, c, nodes)
			m.RemoveWatcher(c)
		}
	})
}

// BenchmarkApply measures what the Manager adds to a DataTree apply:
// setData through tree.Apply without a trigger and with the Manager wired
// (no watches, and a recursive watch on the root).
func BenchmarkApply(b *testing.B) {
	for _, wiring := range []string{"no-trigger", "manager", "manager+recursive-root"} {
		b.Run(wiring, func(b *testing.B) {
			tr := tree.New(tree.Options{})
			if wiring != "no-trigger" {
				m := New()
				tr.SetTrigger(m.TriggerACL)
				if wiring == "manager+recursive-root" {
					m.AddWatch("/", &countConn{id: 1}, PersistentRecursive)
				}
			}
			zxid := int64(0)
			apply := func(typ proto.OpCode, body jute.Record) {
				zxid++
				tr.Apply(&proto.Txn{Header: proto.TxnHeader{ClientID: 1, Cxid: 1, Zxid: zxid, Time: zxid, Type: typ}, Body: body})
			}
			apply(proto.OpCreate, &proto.CreateTxn{Path: "/a", ACL: proto.OpenACLUnsafe, ParentCVersion: -1})
			apply(proto.OpCreate, &proto.CreateTxn{Path: "/a/b", ACL: proto.OpenACLUnsafe, ParentCVersion: -1})
			data := []byte("value")
			v := int32(0)
			for b.Loop() {
				v++
				apply(proto.OpSetData, &proto.SetDataTxn{Path: "/a/b", Data: data, Version: v})
			}
		})
	}
}
