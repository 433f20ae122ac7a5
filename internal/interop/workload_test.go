package interop

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
)

// connect opens a go-zookeeper session to one server and waits until it is
// connected. dialer may be nil.
func connect(t *testing.T, addr string, timeout time.Duration, dialer zk.Dialer) *zk.Conn {
	t.Helper()
	return zktest.Connect(t, addr, timeout, dialer)
}

// severableDialer lets a test cut a session's TCP connection and refuse
// every reconnect, so that the server expires the session (a closeSession
// txn with cxid 0), which a clean Close never produces.
type severableDialer struct {
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func (d *severableDialer) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("severed")
	}
	c, err := net.DialTimeout(network, address, timeout)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *severableDialer) sever() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, c := range d.conns {
		c.Close()
	}
}

const (
	user     = "alice"
	password = "secret"
)

var (
	digestACL = zk.DigestACL(zk.PermAll, user, password)
	mixedACL  = []zk.ACL{
		{Perms: zk.PermRead | zk.PermWrite, Scheme: "ip", ID: "127.0.0.1"},
		{Perms: zk.PermAdmin | zk.PermRead, Scheme: "world", ID: "anyone"},
	}
	readACL = zk.WorldACL(zk.PermRead)
)

// workload drives every kind of write through real servers: creates in
// every mode, setData, delete, setACL, multis that succeed and fail, error
// txns, sessions that close and sessions that expire, and the leader's own
// container/TTL reaping. It returns the number of client operations issued.
func workload(t *testing.T, addrs []string, seed int64) int {
	ops := 0
	must := func(err error, what string) {
		t.Helper()
		ops++
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	want := func(err, wantErr error, what string) {
		t.Helper()
		ops++
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: got %v, want %v", what, err, wantErr)
		}
	}
	a := connect(t, addrs[0], 10*time.Second, nil)
	b := connect(t, addrs[1%len(addrs)], 10*time.Second, nil)
	if err := b.AddAuth("digest", []byte(user+":"+password)); err != nil {
		t.Fatal(err)
	}
	open := zk.WorldACL(zk.PermAll)

	// Every create mode, null and empty data.
	_, err := a.Create("/app", nil, 0, open)
	must(err, "create /app (null data)")
	// A quota on /app: every server keeps its stats node up to date locally.
	if out, err := ensemble.ZkCli(waitCtx(t, time.Minute), addrs[0], "setquota", "-n", "100000", "/app"); err != nil {
		t.Fatalf("setquota: %v\n%s", err, out)
	}
	_, err = a.Create("/app/empty", []byte{}, 0, open)
	must(err, "create empty")
	_, err = a.Create("/app/data", []byte("hello"), 0, open)
	must(err, "create data")
	for i := 0; i < 3; i++ {
		_, err = a.Create("/app/seq-", []byte{byte(i)}, zk.FlagSequence, open)
		must(err, "create sequential")
	}
	_, err = a.Create("/app/eph", []byte("e"), zk.FlagEphemeral, open)
	must(err, "create ephemeral")
	_, err = a.Create("/app/eseq-", nil, zk.FlagEphemeral|zk.FlagSequence, open)
	must(err, "create ephemeral sequential")
	_, err = a.CreateContainer("/app/box", []byte("c"), zk.FlagContainer, open)
	must(err, "create container")
	_, err = a.Create("/app/box/item", nil, 0, open)
	must(err, "create in container")
	_, err = a.CreateTTL("/app/ttl", []byte("t"), zk.FlagTTL, open, 400*time.Millisecond)
	must(err, "create TTL")
	_, err = a.CreateTTL("/app/ttlseq-", []byte("t"), zk.FlagPersistentSequentialWithTTL, open, time.Hour)
	must(err, "create TTL sequential")

	// Errors that become error txns.
	_, err = a.Create("/app/data", nil, 0, open)
	want(err, zk.ErrNodeExists, "create existing")
	_, err = a.Create("/missing/x", nil, 0, open)
	want(err, zk.ErrNoNode, "create without parent")
	_, err = a.Set("/app/data", []byte("x"), 42)
	want(err, zk.ErrBadVersion, "setData bad version")
	want(a.Delete("/app", -1), zk.ErrNotEmpty, "delete non-empty")

	// setData, setACL, ACL-protected nodes and NOAUTH.
	st, err := a.Set("/app/data", []byte("world"), 0)
	must(err, "setData")
	_, err = a.Set("/app/data", nil, st.Version)
	must(err, "setData null")
	_, err = b.Create("/secure", []byte("s"), 0, digestACL)
	must(err, "create digest-protected")
	_, err = a.Set("/secure", []byte("no"), -1)
	want(err, zk.ErrNoAuth, "setData without auth")
	_, err = b.Create("/mixed", []byte("m"), 0, mixedACL)
	must(err, "create with ip+world ACL")
	_, err = b.SetACL("/app/empty", readACL, -1)
	must(err, "setACL")
	_, err = a.SetACL("/secure", open, -1)
	want(err, zk.ErrNoAuth, "setACL without admin")
	_, err = b.Create("/secure/child", nil, 0, zk.AuthACL(zk.PermAll))
	must(err, "create with auth ACL")

	// Multi that succeeds and multi that fails.
	_, err = a.Multi(
		&zk.CreateRequest{Path: "/multi", Data: []byte("m"), Acl: open},
		&zk.CreateRequest{Path: "/multi/a", Acl: open, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: "/multi", Data: []byte("m2"), Version: 0},
		&zk.CheckVersionRequest{Path: "/multi", Version: 1},
	)
	must(err, "multi")
	res, err := a.Multi(
		&zk.CreateRequest{Path: "/m1", Acl: open},
		&zk.SetDataRequest{Path: "/zz", Data: []byte("x"), Version: -1},
		&zk.DeleteRequest{Path: "/app/data", Version: -1},
	)
	if err == nil && len(res) == 3 {
		err = res[1].Error
	}
	want(err, zk.ErrNoNode, "failing multi")

	// Delete, and the container reaper: /app/box becomes empty and the
	// leader deletes it (deleteContainer); the TTL node expires likewise.
	must(a.Delete("/app/box/item", -1), "delete")

	// Sessions that close with ephemerals (closeSession with paths).
	for i := 0; i < 5; i++ {
		c := connect(t, addrs[i%len(addrs)], 4*time.Second, nil)
		_, err := c.Create(fmt.Sprintf("/app/s%d", i), nil, zk.FlagEphemeral, open)
		must(err, "ephemeral of closing session")
		c.Close()
	}
	// Sessions that expire: cut the connection, refuse reconnects.
	var dialers []*severableDialer
	for i := 0; i < 3; i++ {
		d := &severableDialer{}
		c := connect(t, addrs[i%len(addrs)], 1*time.Second, d.dial)
		_, err := c.Create(fmt.Sprintf("/app/x%d", i), nil, zk.FlagEphemeral, open)
		must(err, "ephemeral of expiring session")
		dialers = append(dialers, d)
	}
	for _, d := range dialers {
		d.sever()
	}

	// Requests go-zookeeper cannot make, through our own codec; the
	// containers are reaped once /rawbox/a is gone.
	rawWrites(t, addrs[2%len(addrs)])
	must(a.Delete("/rawbox/a", -1), "delete in raw container")

	// Bulk random traffic, enough to roll several snapshots and logs.
	r := rand.New(rand.NewSource(seed))
	var live []string
	for i := 0; i < 1500; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		switch k := r.Intn(10); {
		case k < 4 || len(live) == 0:
			p := fmt.Sprintf("/app/r%d", r.Intn(400))
			data := make([]byte, r.Intn(64))
			r.Read(data)
			_, err := c.Create(p, data, 0, open)
			ops++
			if err == nil {
				live = append(live, p)
			} else if !errors.Is(err, zk.ErrNodeExists) {
				t.Fatalf("create %s: %v", p, err)
			}
		case k < 7:
			data := make([]byte, r.Intn(128))
			r.Read(data)
			_, err := c.Set(live[r.Intn(len(live))], data, -1)
			must(err, "bulk setData")
		case k < 9:
			j := r.Intn(len(live))
			must(c.Delete(live[j], -1), "bulk delete")
			live = append(live[:j], live[j+1:]...)
		default:
			_, err := c.Multi(
				&zk.CreateRequest{Path: fmt.Sprintf("/app/mm%d", i), Acl: open},
				&zk.DeleteRequest{Path: fmt.Sprintf("/app/mm%d", i), Version: 0},
			)
			must(err, "bulk multi")
		}
	}

	// Wait for what the servers do on their own: session expiry and the
	// container/TTL reaper.
	waitGone(t, a, "/app/x0", "/app/x1", "/app/x2", "/app/box", "/app/ttl", "/rawbox")
	return ops
}

// waitGone waits, with exist watches, until none of paths exists (they
// disappear through server actions: session expiry and container/TTL
// reaping).
func waitGone(t *testing.T, c *zk.Conn, paths ...string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for _, p := range paths {
		for {
			ok, _, ch, err := c.ExistsW(p)
			if err != nil {
				t.Fatalf("exists %s: %v", p, err)
			}
			if !ok {
				break
			}
			select {
			case <-ch:
			case <-deadline:
				t.Fatalf("%s still exists after 60s", p)
			}
		}
	}
}

// clientNode is a znode as a client reads it.
type clientNode = zktest.ClientNode

// readTree reads every znode through a client with digest auth (so that no
// ACL hides anything), after a sync so the server is up to date.
func readTree(t *testing.T, addr string) map[string]clientNode {
	t.Helper()
	return zktest.ReadTree(t, addr, user+":"+password)
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
