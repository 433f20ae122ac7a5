package tree

import (
	"fmt"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// BenchmarkApply measures Apply (digest upkeep included) on a tree of 100k
// nodes spread over 1,000 parents: setData of 128-byte values, and
// create+delete pairs.
func BenchmarkApply(b *testing.B) {
	build := func() (*DataTree, int64) {
		tr := New(Options{})
		z := int64(1 << 32)
		for p := 0; p < 1000; p++ {
			z++
			tr.Apply(txn(z, proto.OpCreate, &proto.CreateTxn{Path: fmt.Sprintf("/p%d", p), ACL: open, ParentCVersion: int32(p + 1)}))
			for c := 0; c < 100; c++ {
				z++
				tr.Apply(txn(z, proto.OpCreate, &proto.CreateTxn{Path: fmt.Sprintf("/p%d/c%d", p, c), Data: make([]byte, 128), ACL: open, ParentCVersion: int32(c + 1)}))
			}
		}
		return tr, z
	}
	data := make([]byte, 128)
	b.Run("setData", func(b *testing.B) {
		tr, z := build()
		txns := make([]*proto.Txn, 4096)
		for i := range txns {
			txns[i] = txn(0, proto.OpSetData, &proto.SetDataTxn{Path: fmt.Sprintf("/p%d/c%d", i%1000, i%100), Data: data, Version: 1})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			x := txns[i%len(txns)]
			z++
			x.Header.Zxid = z
			tr.Apply(x)
		}
	})
	b.Run("create+delete", func(b *testing.B) {
		tr, z := build()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := fmt.Sprintf("/p%d/n", i%1000)
			z++
			tr.Apply(txn(z, proto.OpCreate, &proto.CreateTxn{Path: p, Data: data, ACL: open, ParentCVersion: -1}))
			z++
			tr.Apply(txn(z, proto.OpDelete, &proto.DeleteTxn{Path: p}))
		}
	})
}

// BenchmarkLoad measures the Loader: 1M nodes (128-byte data) under parents
// of 1,000 children, as a start-up load feeds it.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	paths := make([]string, 0, n)
	for p := 0; len(paths) < n; p++ {
		pp := fmt.Sprintf("/bench%05d", p)
		paths = append(paths, pp)
		for c := 0; c < 999 && len(paths) < n; c++ {
			paths = append(paths, fmt.Sprintf("%s/node%06d", pp, c))
		}
	}
	data := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ld := NewLoaderSize(Options{}, n+1)
		ld.NodeWithACL("", []byte{}, nil, proto.StatPersisted{})
		for j, p := range paths {
			if err := ld.NodeWithACL(p, data, proto.OpenACLUnsafe, proto.StatPersisted{Czxid: int64(j)}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := ld.Finish(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}
