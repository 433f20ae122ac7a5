package memory

import (
	"testing"

	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/storagetest"
)

var harness = storagetest.Harness{
	Open: func(string) (storage.Engine, error) { return New(), nil },
	// A restart of the memory engine is a crash: what was committed
	// without sync is lost.
	Reopen: func(e storage.Engine) storage.Engine {
		e.(*Engine).Crash()
		return e
	},
}

func TestConformance(t *testing.T) { storagetest.Run(t, harness) }

// TestCrashDropsUnsynced: Crash undoes exactly the commits made without
// sync since the last synced one, batch by batch.
func TestCrashDropsUnsynced(t *testing.T) {
	e := New()
	g := storagetest.NewGen(1)
	synced := storagetest.NewModel()
	for i := 0; i < 200; i++ {
		b := g.Next()
		sync := i%7 == 0
		if err := e.Commit(b, sync); err != nil {
			t.Fatal(err)
		}
		if sync {
			synced = modelThrough(t, i)
		}
	}
	e.Crash()
	st, err := storagetest.ReadState(e)
	if err != nil {
		t.Fatal(err)
	}
	if d := storagetest.Diff(st, synced.State()); d != "" {
		t.Fatalf("after crash:\n%s", d)
	}
}

// modelThrough is the model after batches 0..i of seed 1.
func modelThrough(t *testing.T, i int) *storagetest.Model {
	m := storagetest.NewModel()
	g := storagetest.NewGen(1)
	for k := 0; k <= i; k++ {
		m.Apply(g.Next())
	}
	return m
}
