package bench

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

func memFactory(string) (storage.Engine, error) { return memory.New(), nil }

// TestApplyAndLoad runs the measurements on a small scale and checks their
// bookkeeping.
func TestApplyAndLoad(t *testing.T) {
	stream := Stream(1, 5000)
	res, err := Apply("memory", memFactory, t.TempDir(), persist.SyncBatch, 0, stream, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Txns != 5000 || res.TxnsPerSec <= 0 || res.Commits < 1 {
		t.Fatalf("%+v", res)
	}
}

func BenchmarkApplyMemory(b *testing.B) {
	stream := Stream(1, 200_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Apply("memory", memFactory, b.TempDir(), persist.SyncBatch, 0, stream, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.TxnsPerSec, "txn/s")
	}
}
