package persist

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// TestLoadTreeCorrupt: a store whose nodes do not form a tree fails the
// load with ErrCorrupt naming the node, wherever in the stream the bad node
// is (the pipelined load stops its reader and its builder), and a good
// store of several batches loads whole.
func TestLoadTreeCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before int    // good nodes before the bad one
		bad    string // "" for none
		want   string
	}{
		{"good", 3*loadBatch + 7, "", ""},
		{"orphan first", 0, "/missing/child", "/missing/child"},
		{"orphan after batches", 2*loadBatch + 5, "/zz/missing/child", "/zz/missing/child"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := memory.New()
			if _, _, err := LoadTree(eng, tree.Options{}); err != nil { // installs the built-in nodes
				t.Fatal(err)
			}
			b := &storage.Batch{LastZxid: 5}
			for i := range tc.before {
				b.Puts = append(b.Puts, &storage.Node{Path: fmt.Sprintf("/n%06d", i), Data: []byte("d"), ACL: proto.OpenACLUnsafe,
					Stat: proto.StatPersisted{Czxid: 5, Mzxid: 5}})
			}
			if tc.bad != "" {
				b.Puts = append(b.Puts, &storage.Node{Path: tc.bad, ACL: proto.OpenACLUnsafe})
			}
			if err := eng.Commit(b, true); err != nil {
				t.Fatal(err)
			}
			tr, _, err := LoadTree(eng, tree.Options{})
			if tc.bad == "" {
				if err != nil || tr.NodeCount() != tc.before+4 || tr.LastZxid() != 5 {
					t.Fatalf("load: %v, %d nodes", err, tr.NodeCount())
				}
				return
			}
			if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load: %v, want ErrCorrupt naming %s", err, tc.want)
			}
		})
	}
}
