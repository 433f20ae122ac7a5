package tree

import (
	"errors"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// TestAddPreparedSameAsNodeWithACL: a tree loaded through Preparer and
// AddPrepared (the pipelined load) equals the one NodeWithACL builds: same
// digest, data size, nodes, ACLs, ephemeral index; same errors.
func TestAddPreparedSameAsNodeWithACL(t *testing.T) {
	big := []byte(strings.Repeat("x", maxJoined+100))
	digestACL := []proto.ACL{{Perms: proto.PermRead, ID: proto.Id{Scheme: "digest", ID: "u:p"}}}
	type n struct {
		path string
		data []byte
		acl  []proto.ACL
		st   proto.StatPersisted
	}
	nodes := []n{
		{"/", []byte{}, nil, proto.StatPersisted{}},
		{"/zookeeper", nil, nil, proto.StatPersisted{}},
		{"/zookeeper/quota", []byte("q"), nil, proto.StatPersisted{Czxid: 1}},
		{"/a", []byte("a"), proto.OpenACLUnsafe, proto.StatPersisted{Czxid: 2, Mzxid: 3, Version: 1}},
		{"/a/b", big, digestACL, proto.StatPersisted{Czxid: 4, EphemeralOwner: 0x99}},
		{"/a/c", nil, digestACL, proto.StatPersisted{Czxid: 5}},
		{"/a/b", []byte("again"), proto.OpenACLUnsafe, proto.StatPersisted{Czxid: 6}}, // a repeated path replaces
		{"/d", []byte("d"), proto.OpenACLUnsafe, proto.StatPersisted{Czxid: 7, EphemeralOwner: 0x99}},
	}
	plain, prep := NewLoader(Options{}), NewLoader(Options{})
	var pr Preparer
	for _, x := range nodes {
		p := x.path
		if p == "/" {
			p = ""
		}
		e1 := plain.NodeWithACL(p, x.data, x.acl, x.st)
		e2 := prep.AddPrepared(pr.Prepare(x.path, x.data, x.st), x.acl)
		if e1 != nil || e2 != nil {
			t.Fatalf("%s: %v / %v", x.path, e1, e2)
		}
	}
	// Errors: an orphan, a second root.
	for _, bad := range []struct {
		path string
		want error
	}{{"/x/y", ErrOrphan}, {"/", ErrNoRoot}} {
		e1 := plain.NodeWithACL(strings.TrimSuffix(bad.path, "/"), nil, nil, proto.StatPersisted{})
		e2 := prep.AddPrepared(pr.Prepare(bad.path, nil, proto.StatPersisted{}), nil)
		if !errors.Is(e1, bad.want) || !errors.Is(e2, bad.want) {
			t.Fatalf("%s: %v / %v, want %v", bad.path, e1, e2, bad.want)
		}
	}
	a, err := plain.Finish(7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := prep.Finish(7)
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b.Digest() || a.NodeCount() != b.NodeCount() {
		t.Fatalf("digest %x / %x, nodes %d / %d", a.Digest(), b.Digest(), a.NodeCount(), b.NodeCount())
	}
	a.View(func(va View) {
		b.View(func(vb View) {
			if va.ApproximateDataSize() != vb.ApproximateDataSize() || va.EphemeralCount() != vb.EphemeralCount() {
				t.Fatalf("data size %d / %d, ephemerals %d / %d", va.ApproximateDataSize(), vb.ApproximateDataSize(), va.EphemeralCount(), vb.EphemeralCount())
			}
			for _, x := range nodes[3:] {
				na, _ := va.Node(x.path)
				nb, _ := vb.Node(x.path)
				if string(na.Data) != string(nb.Data) || va.Stat(na) != vb.Stat(nb) || len(va.ACL(na)) != len(vb.ACL(nb)) {
					t.Fatalf("%s differs", x.path)
				}
			}
		})
	})
	// And the digest is the one a fresh computation gives.
	var sum uint64
	for p, nd := range b.nodes {
		sum += uint64(NodeDigest(p, nd.Data, &nd.Stat))
	}
	if got := b.Digest(); got != int64(sum) {
		t.Fatalf("prepared digest %x, recomputed %x", got, int64(sum))
	}
}
