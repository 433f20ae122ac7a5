package txngen

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// TestStreamApplies: every generated txn applies without error to a real
// DataTree, and the stream has every kind it promises.
func TestStreamApplies(t *testing.T) {
	g := New(1, Options{Parents: 50})
	tr := tree.New(tree.Options{})
	kinds := map[proto.OpCode]int{}
	for i := 0; i < 20000; i++ {
		x := g.Next()
		if rc := tr.Apply(x); rc.Err != 0 {
			t.Fatalf("txn %d (%v): %v", i, x.Header.Type, rc.Err)
		}
		kinds[x.Header.Type]++
	}
	for _, k := range []proto.OpCode{proto.OpCreate, proto.OpSetData, proto.OpDelete, proto.OpMulti, proto.OpCreateSession, proto.OpCloseSession} {
		if kinds[k] == 0 {
			t.Errorf("no %v in the stream: %v", k, kinds)
		}
	}
}
