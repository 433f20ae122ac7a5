package bench

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// BenchmarkApplyOnly and BenchmarkDecodeOnly measure the two stages of the
// apply pipeline alone (the txngen stream of `bench engines`): they bound
// what the end-to-end rate can reach.
func BenchmarkApplyOnly(b *testing.B) {
	stream := Stream(1, 200_000)
	txns := make([]*proto.Txn, len(stream))
	for i, x := range stream {
		txns[i], _ = proto.DecodeTxn(x, 0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := tree.New(tree.Options{})
		for _, x := range txns {
			t.Apply(x)
		}
	}
	b.ReportMetric(float64(b.N*len(txns))/b.Elapsed().Seconds(), "txn/s")
}

func BenchmarkDecodeOnly(b *testing.B) {
	stream := Stream(1, 200_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, x := range stream {
			proto.DecodeTxn(x, 0)
		}
	}
	b.ReportMetric(float64(b.N*len(stream))/b.Elapsed().Seconds(), "txn/s")
}
