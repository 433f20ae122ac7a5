package bolt

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// benchTree describes a synthetic tree of n znodes (n > 5051): the root,
// /appNN/svc-NNN/nNNNNNNN (50 apps, 100 services each, the rest leaves), 128 bytes of data
// each, the open ACL.
type benchTree struct {
	n     int
	paths []string
	raw   int64 // paths + data + 60 bytes of stat per node
}

func newBenchTree(n int) *benchTree {
	bt := &benchTree{n: n}
	bt.paths = append(bt.paths, "/")
	bt.raw = 1 + 128 + 60
	apps, svcs := 50, 100
	leaves := max(1, (n-1-apps-apps*svcs+apps*svcs-1)/(apps*svcs))
	add := func(p string) {
		if len(bt.paths) < n {
			bt.paths = append(bt.paths, p)
			bt.raw += int64(len(p) + 128 + 60)
		}
	}
	for a := 0; a < apps; a++ {
		add(fmt.Sprintf("/app%02d", a))
		for s := 0; s < svcs; s++ {
			add(fmt.Sprintf("/app%02d/svc-%03d", a, s))
			for l := 0; l < leaves; l++ {
				add(fmt.Sprintf("/app%02d/svc-%03d/n%07d", a, s, l))
			}
		}
	}
	return bt
}

func benchNode(r *rand.Rand, path string, zxid int64) *storage.Node {
	data := make([]byte, 128)
	r.Read(data)
	return &storage.Node{Path: path, Data: data, ACL: proto.OpenACLUnsafe, Stat: proto.StatPersisted{
		Czxid: zxid, Mzxid: zxid, Ctime: 1700000000000 + zxid, Mtime: 1700000000000 + zxid, Pzxid: zxid,
	}}
}

// buildByInstall fills a fresh store in dir with bt through an install, in
// the order a tree walk gives (a parent before its children).
func buildByInstall(tb testing.TB, dir string, bt *benchTree) *Engine {
	e, err := Open(dir, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	in, err := e.BeginInstall()
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	for i, p := range bt.paths {
		if err := in.Put(benchNode(r, p, int64(i+1))); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		in.PutSession(storage.Session{ID: int64(i) << 20, Timeout: 30000})
	}
	if err := in.Commit(storage.Meta{LastZxid: int64(len(bt.paths)), AcceptedEpoch: 1, CurrentEpoch: 1}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// buildByCommits fills a fresh store with bt through commits of 100 puts
// in random order (no sync), as a live observer would.
func buildByCommits(tb testing.TB, dir string, bt *benchTree, opts Options) *Engine {
	e, err := Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	order := r.Perm(len(bt.paths))
	zxid := int64(0)
	for i := 0; i < len(order); i += 100 {
		b := &storage.Batch{}
		for _, j := range order[i:min(i+100, len(order))] {
			zxid++
			b.Puts = append(b.Puts, benchNode(r, bt.paths[j], zxid))
		}
		b.LastZxid = zxid
		if err := e.Commit(b, false); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// cpuTime is the CPU time (user and system, every thread: GC included)
// this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportDisk(b *testing.B, e *Engine, bt *benchTree) {
	disk, err := e.DiskBytes()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(disk)/1e6, "MB-disk")
	b.ReportMetric(float64(bt.raw)/1e6, "MB-raw")
	b.ReportMetric(float64(disk)/float64(bt.raw), "disk/raw")
}

// BenchmarkLoad measures Load of stores of 100k and 1M nodes: "engine" is
// the engine alone (the visitor drops the nodes), "tree" builds the
// observer's DataTree with the nodes (what start-up does). Disk size is
// reported for the store built by an install (a SNAP) and, under
// "commits", by commits of 100 puts in random order.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		bt := newBenchTree(n)
		dir := filepath.Join(b.TempDir(), "data")
		e := buildByInstall(b, dir, bt)
		b.Run(fmt.Sprintf("nodes=%dk/engine", n/1000), func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				nodes := 0
				err := e.Load(storage.Visitor{Node: func(*storage.Node) error { nodes++; return nil }})
				if err != nil || nodes != n {
					b.Fatal(nodes, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/node")
			reportDisk(b, e, bt)
		})
		b.Run(fmt.Sprintf("nodes=%dk/tree", n/1000), func(b *testing.B) {
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				cpu0 := cpuTime()
				ld := tree.NewLoader(tree.Options{})
				err := e.Load(storage.Visitor{
					Node: func(n *storage.Node) error {
						p := n.Path
						if p == "/" {
							p = ""
						}
						return ld.NodeWithACL(p, n.Data, n.ACL, n.Stat)
					},
					Session: func(s storage.Session) error { ld.Session(s.ID, s.Timeout); return nil },
				})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ld.Finish(int64(n)); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - cpu0
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
			b.ReportMetric(float64(cpu)/float64(b.N*n), "cpu-ns/node")
		})
		e.Close()
		if n == 100_000 || testing.Verbose() {
			b.Run(fmt.Sprintf("nodes=%dk/commits", n/1000), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					start := time.Now()
					e := buildByCommits(b, filepath.Join(b.TempDir(), "data"), bt, Options{})
					b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/put")
					reportDisk(b, e, bt)
					e.Close()
				}
			})
		}
	}
}

// BenchmarkCommit measures commits of batches of 100 puts (as ~100 txns
// coalesced) into a store of 100k nodes: 10% creates, 90% updates of
// random existing nodes, with and without sync.
func BenchmarkCommit(b *testing.B) {
	bt := newBenchTree(100_000)
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			e := buildByInstall(b, filepath.Join(b.TempDir(), "data"), bt)
			defer e.Close()
			r := rand.New(rand.NewSource(2))
			zxid := int64(len(bt.paths))
			created := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := &storage.Batch{}
				for j := 0; j < 100; j++ {
					zxid++
					var p string
					if j%10 == 0 {
						p = fmt.Sprintf("/app%02d/svc-%03d/new%08d", r.Intn(50), r.Intn(100), created)
						created++
					} else {
						p = bt.paths[r.Intn(len(bt.paths))]
					}
					batch.Puts = append(batch.Puts, benchNode(r, p, zxid))
				}
				batch.Puts = dedupe(batch.Puts)
				batch.LastZxid = zxid
				if err := e.Commit(batch, sync); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "puts/s")
			disk, _ := e.DiskBytes()
			b.ReportMetric(float64(disk)/1e6, "MB-disk")
		})
	}
}

func dedupe(ns []*storage.Node) []*storage.Node {
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		if !seen[n.Path] {
			seen[n.Path] = true
			out = append(out, n)
		}
	}
	return out
}
