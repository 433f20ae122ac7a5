package snapshot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// synthetic returns a snapshot stream of n nodes (/d<i>/n<j>, 16-byte data).
func synthetic(b *testing.B, n int, c Compression) []byte {
	var buf bytes.Buffer
	w := NewSnapshotWriter(&buf, SnapHeader, c)
	w.WriteSessions([]Session{{ID: 1, Timeout: 30000}})
	w.WriteACLs([]ACLEntry{{Index: 1, ACL: proto.OpenACLUnsafe}})
	w.WriteNode(&Node{Path: "", Data: []byte{}, ACL: -1})
	data := []byte("0123456789abcdef")
	stat := proto.StatPersisted{Czxid: 5, Mzxid: 6, Ctime: 1700000000000, Mtime: 1700000000000, Pzxid: 7}
	for i := 0; i < n/1000+1; i++ {
		w.WriteNode(&Node{Path: fmt.Sprintf("/d%d", i), Data: data, ACL: 1, Stat: stat})
		for j := 0; j < 999 && i*1000+j < n; j++ {
			w.WriteNode(&Node{Path: fmt.Sprintf("/d%d/n%08d", i, j), Data: data, ACL: 1, Stat: stat})
		}
	}
	if err := w.Close(&ZxidDigest{Zxid: 1, Version: 2, Digest: 3}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReadSnapshotFile reads a 100k-node snapshot file and verifies
// its seals; it reports the cost per node.
func BenchmarkReadSnapshotFile(b *testing.B) {
	const nodes = 100_000
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy} {
		b.Run(c.String(), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), SnapshotFileName(1, c))
			if err := os.WriteFile(path, synthetic(b, nodes, c), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := OpenSnapshotFile(path, nil)
				if err != nil {
					b.Fatal(err)
				}
				var n Node
				count := 0
				for {
					err := s.Next(&n)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					count++
				}
				s.Close()
				if count < nodes {
					b.Fatalf("%d nodes", count)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nodes), "ns/node")
		})
	}
}
