package snapshot_test

import (
	"bytes"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	. "github.com/zkobserver/zkobserver/snapshot"
)

// TestDumpFormat pins the listing format: sorted by path, client-visible
// stat, null data apart from empty data, ACLs as perms:scheme:id, quoting.
func TestDumpFormat(t *testing.T) {
	var b bytes.Buffer
	entries := []DumpEntry{
		{Path: "/b c", Data: []byte{}, ACL: []proto.ACL{{Perms: proto.PermRead | proto.PermAdmin, ID: proto.Id{Scheme: "x509", ID: "CN=a,O=b"}}},
			Stat: proto.Stat{Czxid: 0x10, Mzxid: 0x11, Pzxid: 0x12, Ctime: 5, Mtime: 6, Version: 1, Cversion: -1, Aversion: 2, EphemeralOwner: -1 << 63, NumChildren: 0}},
		{Path: "/", Data: nil, ACL: proto.OpenACLUnsafe, Stat: proto.Stat{NumChildren: 1}},
	}
	if err := WriteDump(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := `/ czxid=0x0 mzxid=0x0 pzxid=0x0 ctime=0 mtime=0 version=0 cversion=0 aversion=0 ephemeralOwner=0x0 dataLength=0 numChildren=1 data=null acl=cdrwa:world:anyone
"/b c" czxid=0x10 mzxid=0x11 pzxid=0x12 ctime=5 mtime=6 version=1 cversion=-1 aversion=2 ephemeralOwner=0x8000000000000000 dataLength=0 numChildren=0 data=crc32:00000000 acl=ra:x509:"CN=a,O=b"
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	// A fresh tree: the built-in nodes, root first.
	b.Reset()
	if err := DumpTree(&b, tree.New(tree.Options{})); err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(b.Bytes(), []byte("\n")); lines != 4 || !bytes.HasPrefix(b.Bytes(), []byte("/ ")) {
		t.Fatalf("fresh tree listing:\n%s", b.String())
	}
}

// TestLargestSubtrees checks the subtree sizes of a fresh tree.
func TestLargestSubtrees(t *testing.T) {
	tr := tree.New(tree.Options{})
	top := LargestSubtrees(tr, 5)
	if len(top) != 3 || top[0] != (Subtree{Path: "/zookeeper", Nodes: 3}) || top[1].Path != "/zookeeper/config" || top[2].Path != "/zookeeper/quota" {
		t.Fatalf("fresh tree: %+v", top)
	}
	if got := LargestSubtrees(tr, 1); len(got) != 1 || got[0].Path != "/zookeeper" {
		t.Fatalf("top 1: %+v", got)
	}
}
