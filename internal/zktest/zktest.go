// Package zktest is test support for comparing a tree with what ZooKeeper
// clients read from a server: a go-zookeeper connection helper, a reader of
// every znode (data, Stat, ACL) through a client, the same rendering of our
// own DataTree, and a node-by-node comparison that reports every difference.
//
// It is imported by tests only (it uses package testing).
package zktest

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/tree"
)

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// ClientNode is a znode as a client reads it.
type ClientNode struct {
	Data []byte
	Stat zk.Stat
	ACL  []zk.ACL
}

// Connect opens a go-zookeeper session to one server and waits (at most
// 30 s) until it has a session; it fails the test otherwise. dialer may be
// nil. The connection is closed by a t.Cleanup.
func Connect(t testing.TB, addr string, timeout time.Duration, dialer zk.Dialer) *zk.Conn {
	t.Helper()
	if dialer == nil {
		var d net.Dialer
		dialer = func(network, address string, timeout time.Duration) (net.Conn, error) {
			return d.Dial(network, address)
		}
	}
	c, events, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(quietLogger{}), zk.WithLogInfo(false), zk.WithDialer(dialer))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events {
					}
				}()
				return c
			}
		case <-deadline:
			t.Fatalf("connect %s: no session after 30s", addr)
		}
	}
}

// ReadTree reads every znode of the server at addr through a client (after a
// sync, so the server is up to date), walking children in sorted order.
// digestAuth are "user:password" credentials added with the digest scheme
// first, so that digest ACLs hide nothing. Any error fails the test.
func ReadTree(t testing.TB, addr string, digestAuth ...string) map[string]ClientNode {
	t.Helper()
	c := Connect(t, addr, 10*time.Second, nil)
	defer c.Close()
	for _, a := range digestAuth {
		if err := c.AddAuth("digest", []byte(a)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Sync("/"); err != nil {
		t.Fatal(err)
	}
	out := map[string]ClientNode{}
	var walk func(p string)
	walk = func(p string) {
		data, st, err := c.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		acl, _, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("getACL %s: %v", p, err)
		}
		out[p] = ClientNode{Data: data, Stat: *st, ACL: acl}
		kids, _, err := c.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		sort.Strings(kids)
		for _, k := range kids {
			if p == "/" {
				walk("/" + k)
			} else {
				walk(p + "/" + k)
			}
		}
	}
	walk("/")
	return out
}

// TreeAsClientSees renders our tree the way ReadTree renders a server's:
// client paths ("/" for the root), client-visible stats, ACL lists.
func TreeAsClientSees(tr *tree.DataTree) map[string]ClientNode {
	out := map[string]ClientNode{}
	tr.View(func(v tree.View) {
		v.Walk(func(p string, n *tree.Node) bool {
			if p == "" {
				p = "/"
			}
			st := v.Stat(n)
			var acl []zk.ACL
			for _, a := range v.ACL(n) {
				acl = append(acl, zk.ACL{Perms: a.Perms, Scheme: a.ID.Scheme, ID: a.ID.ID})
			}
			out[p] = ClientNode{Data: n.Data, ACL: acl, Stat: zk.Stat{
				Czxid: st.Czxid, Mzxid: st.Mzxid, Ctime: st.Ctime, Mtime: st.Mtime,
				Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
				EphemeralOwner: st.EphemeralOwner, DataLength: st.DataLength,
				NumChildren: st.NumChildren, Pzxid: st.Pzxid,
			}}
			return true
		})
	})
	return out
}

// SameTree compares two client views node by node and reports every
// difference with t.Errorf (the first 20), labelled with server id sid. It
// returns whether they are equal. /zookeeper/config is each server's local
// bookkeeping (Java writes it from its own configuration, outside any txn),
// so only its presence is compared. Data is compared with bytes.Equal, which
// does not tell null data from empty data.
func SameTree(t testing.TB, sid int, got, want map[string]ClientNode) bool {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s", p))
		case p == tree.ConfigPath:
		case !bytes.Equal(g.Data, w.Data):
			diffs = append(diffs, fmt.Sprintf("%s: data %q, want %q", p, g.Data, w.Data))
		case g.Stat != w.Stat:
			diffs = append(diffs, fmt.Sprintf("%s: stat\n  %+v\nwant\n  %+v", p, g.Stat, w.Stat))
		case !EqualACL(g.ACL, w.ACL):
			diffs = append(diffs, fmt.Sprintf("%s: acl %v, want %v", p, g.ACL, w.ACL))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %s", p))
		}
	}
	sort.Strings(diffs)
	for i, d := range diffs {
		if i == 20 {
			t.Errorf("server %d: ... %d more differences", sid, len(diffs)-i)
			break
		}
		t.Errorf("server %d: %s", sid, d)
	}
	return len(diffs) == 0
}

// EqualACL reports whether two ACL lists are equal, element by element in
// order.
func EqualACL(a, b []zk.ACL) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MaxZxid returns the highest czxid, mzxid or pzxid of a client view.
func MaxZxid(m map[string]ClientNode) int64 {
	var z int64
	for _, n := range m {
		z = max(z, n.Stat.Mzxid, n.Stat.Pzxid, n.Stat.Czxid)
	}
	return z
}
