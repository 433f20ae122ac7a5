package bench

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// benchTree builds a tree of n znodes (128 B data, 1,000 per parent).
func benchTree(tb testing.TB, n int) *tree.DataTree {
	t, err := Tree(n, 128, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// BenchmarkInstall: persist.Install of a 1M-znode tree into a fresh engine
// (the second half of a restore, and of a SNAP sync).
func BenchmarkInstall(b *testing.B) {
	t := benchTree(b, 1_000_000)
	for _, eng := range []struct {
		name string
		open func(string) (storage.Engine, error)
	}{
		{"bolt", func(d string) (storage.Engine, error) { return bolt.Open(d, bolt.Options{}) }},
		{"pebble", func(d string) (storage.Engine, error) { return pebble.Open(d, pebble.Options{}) }},
	} {
		b.Run(eng.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e, err := eng.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := persist.Install(e, t, storage.Meta{LastZxid: t.LastZxid()}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				e.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRestore: snapshot.Restore of a 1M-znode Java dataDir (one
// snapshot, as `bench restore` generates) into a fresh engine, in process
// (for profiles; `zkobserver bench restore` is the measurement).
func BenchmarkRestore(b *testing.B) {
	work := b.TempDir()
	javaDir := work + "/java"
	if _, err := BuildJavaDataDir(func(d string) (storage.Engine, error) { return pebble.Open(d, pebble.Options{}) },
		work+"/src", javaDir, 1_000_000, 128, nil); err != nil {
		b.Fatal(err)
	}
	for _, eng := range []struct {
		name string
		open Factory
	}{
		{"bolt", func(d string) (storage.Engine, error) { return bolt.Open(d, bolt.Options{}) }},
		{"pebble", func(d string) (storage.Engine, error) { return pebble.Open(d, pebble.Options{}) }},
	} {
		b.Run(eng.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Restore(eng.name, eng.open, javaDir, b.TempDir()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
