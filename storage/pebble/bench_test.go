package pebble

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
)

// The benchmark tree: parents of 1,000 children ("/app00042/node000123"),
// 128 bytes of random (incompressible) data per child, the open ACL.
const (
	benchFanout   = 1000
	benchDataSize = 128
)

func benchNode(i int, r *rand.Rand, zxid int64) *storage.Node {
	data := make([]byte, benchDataSize)
	r.Read(data)
	return &storage.Node{
		Path: fmt.Sprintf("/app%05d/node%06d", i/benchFanout, i%benchFanout),
		Data: data,
		ACL:  proto.OpenACLUnsafe,
		Stat: proto.StatPersisted{Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: 1_750_000_000_000 + zxid,
			Mtime: 1_750_000_000_000 + zxid, Version: int32(i % 7)},
	}
}

// rawSize is the size the README compares disk bytes with: paths + data +
// 60 bytes of stat per node.
func rawSize(n *storage.Node) int64 {
	return int64(len(n.Path) + len(n.Data) + proto.StatPersistedSize)
}

// buildStore installs n benchmark nodes (and their parents) into a new
// store in dir and returns their raw size.
func buildStore(tb testing.TB, dir string, n int, opts Options) (raw int64) {
	e, err := Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Close()
	in, err := e.BeginInstall()
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		node := benchNode(i, r, int64(i+1))
		if i%benchFanout == 0 {
			parent := &storage.Node{Path: filepath.Dir(node.Path), Data: []byte{}, ACL: proto.OpenACLUnsafe}
			raw += rawSize(parent)
			if err := in.Put(parent); err != nil {
				tb.Fatal(err)
			}
		}
		raw += rawSize(node)
		if err := in.Put(node); err != nil {
			tb.Fatal(err)
		}
	}
	if err := in.Commit(storage.Meta{LastZxid: int64(n)}); err != nil {
		tb.Fatal(err)
	}
	return raw
}

type benchKept struct {
	path string
	data []byte
}

// BenchmarkLoad: Open + Load of a store holding 100k or 1M nodes, built by
// an install; the visitor keeps every node, as the observer's tree does.
// Reports ns/node, and disk bytes against the raw size after the install
// and after a full compaction.
func BenchmarkLoad(b *testing.B) {
	root := b.TempDir()
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			dir := filepath.Join(root, fmt.Sprint(n))
			raw := buildStore(b, dir, n, Options{})
			e, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			installed, _ := e.DiskBytes()
			if err := e.Compact(); err != nil {
				b.Fatal(err)
			}
			e.Close() // the compaction's inputs are deleted by then
			e, err = Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			compacted, _ := e.DiskBytes()
			e.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e, err := Open(dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				// Keep what a tree keeps (the *Node itself is reused).
				nodes := make([]benchKept, 0, n+n/benchFanout)
				err = e.Load(storage.Visitor{
					Node: func(n *storage.Node) error {
						nodes = append(nodes, benchKept{n.Path, n.Data})
						return nil
					},
					Session: func(storage.Session) error { return nil },
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(nodes) != n+(n+benchFanout-1)/benchFanout { // + parents
					b.Fatalf("loaded %d nodes", len(nodes))
				}
				e.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
			b.ReportMetric(float64(installed)/float64(raw), "disk/raw")
			b.ReportMetric(float64(compacted)/float64(raw), "compacted/raw")
			b.ReportMetric(float64(compacted)/(1<<20), "compacted-MiB")
		})
	}
}

// BenchmarkCommit: batches of 100 txns' worth of node puts (128 B data,
// creates then updates over a 100k-node tree) with their zxid, committed
// with and without sync. Reports txn/s (one put per txn).
func BenchmarkCommit(b *testing.B) {
	const perBatch = 100
	for _, sync := range []bool{true, false} {
		name := "nosync"
		if sync {
			name = "sync"
		}
		b.Run(name, func(b *testing.B) {
			e, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			r := rand.New(rand.NewSource(2))
			batches := make([]*storage.Batch, 256)
			zxid := int64(0)
			next := func(i int) *storage.Batch {
				// Prebuilt nodes are reused: Commit encodes and does not keep them.
				bt := batches[i%len(batches)]
				if bt == nil {
					bt = &storage.Batch{}
					for j := 0; j < perBatch; j++ {
						bt.Puts = append(bt.Puts, benchNode((i*perBatch+j)%100_000, r, 0))
					}
					batches[i%len(batches)] = bt
				}
				for _, n := range bt.Puts {
					zxid++
					n.Stat.Mzxid = zxid
				}
				bt.LastZxid = zxid
				return bt
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := e.Commit(next(i), sync); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "txn/s")
		})
	}
}
