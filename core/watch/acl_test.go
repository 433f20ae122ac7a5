package watch

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// readerConn is a conn that may read only nodes whose ACL names its id.
type readerConn struct {
	conn
	me string
}

func (c *readerConn) CanRead(acl []proto.ACL) bool {
	for _, a := range acl {
		if a.ID.ID == c.me || a.ID.ID == "anyone" {
			return true
		}
	}
	return false
}

// TestTriggerFiltersByACL: an event reaches a ReadChecker only with READ on
// its node (Java since ZOOKEEPER-4799); the watch is consumed either way; a
// nil ACL (the built-in nodes' null list) is readable by all; recursive and
// child watches are filtered the same way.
func TestTriggerFiltersByACL(t *testing.T) {
	m := New()
	alice := &readerConn{conn: conn{id: 1}, me: "alice"}
	bob := &readerConn{conn: conn{id: 2}, me: "bob"}
	aliceOnly := []proto.ACL{{Perms: proto.PermAll, ID: proto.Id{Scheme: "digest", ID: "alice"}}}
	for _, w := range []*readerConn{alice, bob} {
		m.AddDataWatch("/x", w)
		m.AddChildWatch("/", w)
		m.AddWatch("/r", w, PersistentRecursive)
	}
	m.TriggerACL(tree.EventNodeCreated, "/x", false, aliceOnly)
	m.TriggerACL(tree.EventNodeChildrenChanged, "/", true, nil)
	m.TriggerACL(tree.EventNodeCreated, "/r/secret", false, aliceOnly)
	m.TriggerACL(tree.EventNodeCreated, "/r/open", false, proto.OpenACLUnsafe)
	// bob's one-shot watch on /x was consumed without an event.
	m.TriggerACL(tree.EventNodeDataChanged, "/x", false, proto.OpenACLUnsafe)
	want := map[*readerConn][]string{
		alice: {"Created /x", "Children /", "Created /r/secret", "Created /r/open"},
		bob:   {"Children /", "Created /r/open"},
	}
	for w, evs := range want {
		if len(w.events) != len(evs) {
			t.Fatalf("%s: %v, want %v", w.me, w.events, evs)
		}
		for i := range evs {
			if w.events[i] != evs[i] {
				t.Fatalf("%s: %v, want %v", w.me, w.events, evs)
			}
		}
	}
}
