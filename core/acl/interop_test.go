package acl

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
)

// TestInteropJava asks a real ZooKeeper 3.8 standalone server, configured
// with a super digest, for the answers this package predicts: auth packet
// replies and connection fate, whoAmI (in Java's order), the permission
// outcome of every data op on znodes with assorted ACLs for connections
// with assorted identities, and create's ACL fixup (the error, or the
// stored ACL read back by the super user, in order).
func TestInteropJava(t *testing.T) {
	superDigest := GenerateDigest("super:secret")
	e := ensemble.Start(t, ensemble.Options{Standalone: true,
		JVMFlags: []string{"-Dzookeeper.DigestAuthenticationProvider.superDigest=" + superDigest}})
	addr := e.ClientAddrs()[0]
	pol := mustPolicy(t, Options{SuperDigest: superDigest})
	// Every client connects over 127.0.0.1, so Java's ip id is that address.
	client := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}

	type cred struct{ scheme, data string }
	predictIDs := func(creds ...cred) []proto.Id {
		var a AuthInfo
		a.Add(IPID(client))
		for _, c := range creds {
			ids, code := pol.Auth(c.scheme, []byte(c.data), client)
			if code != proto.ErrOK {
				t.Fatalf("predicted auth %v fails", c)
			}
			a.Add(ids...)
		}
		return a.IDs()
	}

	t.Run("auth", func(t *testing.T) {
		for _, creds := range [][]cred{
			nil,
			{{"digest", "alice:pw"}},
			{{"digest", "alice:pw"}, {"digest", "bob:pw"}, {"digest", "alice:pw"}},
			{{"digest", "super:secret"}},
			{{"digest", "nocolon"}, {"ip", "10.9.9.9"}},
			{{"digest", "alice:pw"}, {"world", "anyone"}},
			{{"sasl", "x"}},
			{{"super", "secret"}},
			{{"Digest", "alice:pw"}},
			{{"foo", "bar"}},
		} {
			r := dialRaw(t, addr)
			var held AuthInfo
			held.Add(IPID(client))
			failed := false
			for _, c := range creds {
				ids, want := pol.Auth(c.scheme, []byte(c.data), client)
				got := r.auth(c.scheme, c.data)
				if got != want {
					t.Errorf("%v: auth %v: Java %v, predicted %v", creds, c, got, want)
				}
				if got != proto.ErrOK {
					// ZooKeeperServer.processPacket: reply, then closeConn.
					if err := r.expectClosed(); err != nil {
						t.Errorf("%v: after AUTHFAILED: %v", creds, err)
					}
					failed = true
					break
				}
				held.Add(ids...)
			}
			if !failed {
				if got, want := r.whoAmI(), pol.WhoAmI(held.IDs()); !slices.Equal(got, want) {
					t.Errorf("%v: whoAmI: Java %v, predicted %v", creds, got, want)
				}
			}
			r.c.Close()
		}
	})

	conn := func(creds ...cred) *zk.Conn {
		c := zktest.Connect(t, addr, 10*time.Second, nil)
		for _, cr := range creds {
			if err := c.AddAuth(cr.scheme, []byte(cr.data)); err != nil {
				t.Fatalf("AddAuth %v: %v", cr, err)
			}
		}
		return c
	}
	aliceC, bobC, superC := cred{"digest", "alice:pw"}, cred{"digest", "bob:pw"}, cred{"digest", "super:secret"}
	type session struct {
		name string
		c    *zk.Conn
		ids  []proto.Id
	}
	sessions := []session{
		{"anonymous", conn(), predictIDs()},
		{"alice", conn(aliceC), predictIDs(aliceC)},
		{"bob", conn(bobC), predictIDs(bobC)},
		{"alice+bob", conn(aliceC, bobC), predictIDs(aliceC, bobC)},
		{"super", conn(superC), predictIDs(superC)},
	}
	root := sessions[4].c
	if _, err := root.Create("/acl", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	alice := GenerateDigest("alice:pw")
	bob := GenerateDigest("bob:pw")
	R, W, C, D, A := proto.PermRead, proto.PermWrite, proto.PermCreate, proto.PermDelete, proto.PermAdmin

	t.Run("permissions", func(t *testing.T) {
		nodes := [][]proto.ACL{
			proto.OpenACLUnsafe,
			proto.ReadACLUnsafe,
			{acl(proto.PermAll, "digest", alice)},
			{acl(R, "digest", alice), acl(W|C, "digest", bob)},
			{acl(R|W, "ip", "127.0.0.1"), acl(A, "digest", bob)},
			{acl(C|D, "ip", "127.0.0.0/8"), acl(R, "world", "anyone")},
			{acl(proto.PermAll, "ip", "10.0.0.0/8"), acl(D, "digest", alice)},
			{acl(A, "digest", alice), acl(R, "world", "anyone"), acl(W, "digest", bob)},
			{acl(D|A, "ip", "127.0.0.1/32"), acl(C, "digest", alice+":")},
		}
		for i, acls := range nodes {
			path := fmt.Sprintf("/acl/n%d", i)
			if _, err := root.Create(path, nil, 0, toZK(acls)); err != nil {
				t.Fatalf("create %s: %v", path, err)
			}
			for _, s := range sessions {
				check := func(op string, perm int32, okCode proto.ErrCode, err error) {
					t.Helper()
					want := okCode
					if !pol.Check(acls, perm, s.ids) {
						want = proto.ErrNoAuth
					}
					if got := codeOf(t, err); got != want {
						t.Errorf("%s %s as %s: Java %v, predicted %v (ACL %v, ids %v)", op, path, s.name, got, want, acls, s.ids)
					}
				}
				_, _, err := s.c.Get(path)
				check("getData", R, proto.ErrOK, err)
				_, _, err = s.c.Children(path)
				check("getChildren", R, proto.ErrOK, err)
				_, err = s.c.Set(path, []byte("x"), -1)
				check("setData", W, proto.ErrOK, err)
				_, err = s.c.Create(path+"/child", nil, 0, zk.WorldACL(zk.PermAll))
				check("create child", C, proto.ErrOK, err)
				if err == nil {
					if err := root.Delete(path+"/child", -1); err != nil {
						t.Fatal(err)
					}
				}
				err = s.c.Delete(path+"/missing", -1)
				check("delete missing child", D, proto.ErrNoNode, err)
				_, err = s.c.SetACL(path, toZK(acls), -1)
				check("setACL", A, proto.ErrOK, err)
				if _, _, err := s.c.Exists(path); err != nil {
					t.Errorf("exists %s as %s: %v (no check expected)", path, s.name, err)
				}
				got, _, err := s.c.GetACL(path)
				want, code := pol.GetACL(acls, s.ids)
				if gc := codeOf(t, err); gc != code {
					t.Errorf("getACL %s as %s: Java %v, predicted %v", path, s.name, gc, code)
				} else if code == proto.ErrOK && !slices.Equal(fromZK(got), want) {
					t.Errorf("getACL %s as %s: Java %v, predicted %v", path, s.name, fromZK(got), want)
				}
			}
		}
	})

	t.Run("fixup", func(t *testing.T) {
		lists := [][]proto.ACL{
			proto.CreatorAllACL,
			{acl(R, "auth", "ignored"), acl(W, "world", "anyone")},
			{acl(R, "world", "anyone"), acl(R, "world", "anyone"), acl(A, "world", "anyone")},
			{},
			{acl(R, "world", "nobody")},
			{acl(R, "World", "anyone")},
			{acl(R, "digest", "uh")},
			{acl(R, "digest", "u:h:")},
			{acl(R, "digest", ":h")},
			{acl(R, "digest", "u:h:x")},
			{acl(R, "ip", "::1")},
			{acl(R, "ip", "1.2.3.4/33")},
			{acl(R, "ip", "+10.001.0.1/+8")},
			{acl(R, "ip", "١٠.0.0.1")},
			{acl(R, "ip", "10.0.0")},
			{acl(R, "sasl", "alice")},
			{acl(R, "super", "")},
			{acl(R, "foo", "bar")},
			{acl(R, "world", "anyone"), acl(R, "auth", "")},
		}
		n := 0
		for _, acls := range lists {
			for _, s := range sessions {
				n++
				path := fmt.Sprintf("/acl/f%d", n)
				want, code := pol.Fixup(acls, s.ids)
				_, err := s.c.Create(path, nil, 0, toZK(acls))
				if got := codeOf(t, err); got != code {
					t.Errorf("create with %v as %s: Java %v, predicted %v", acls, s.name, got, code)
					continue
				}
				if code != proto.ErrOK {
					continue
				}
				stored, _, err := root.GetACL(path)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(fromZK(stored), want) {
					t.Errorf("create with %v as %s: Java stored %v, predicted %v", acls, s.name, fromZK(stored), want)
				}
			}
		}
	})
}

func toZK(acls []proto.ACL) []zk.ACL {
	out := make([]zk.ACL, len(acls))
	for i, a := range acls {
		out[i] = zk.ACL{Perms: a.Perms, Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

func fromZK(acls []zk.ACL) []proto.ACL {
	out := make([]proto.ACL, len(acls))
	for i, a := range acls {
		out[i] = acl(a.Perms, a.Scheme, a.ID)
	}
	return out
}

func codeOf(t *testing.T, err error) proto.ErrCode {
	t.Helper()
	switch {
	case err == nil:
		return proto.ErrOK
	case errors.Is(err, zk.ErrNoAuth):
		return proto.ErrNoAuth
	case errors.Is(err, zk.ErrNoNode):
		return proto.ErrNoNode
	case errors.Is(err, zk.ErrInvalidACL):
		return proto.ErrInvalidACL
	case errors.Is(err, zk.ErrAuthFailed):
		return proto.ErrAuthFailed
	}
	t.Fatalf("unexpected error %v", err)
	return 0
}

// rawConn is a bare protocol client for what go-zookeeper cannot do:
// whoAmI, and observing the connection after a failed auth.
type rawConn struct {
	t   *testing.T
	c   net.Conn
	xid int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	r := &rawConn{t: t, c: c}
	r.send(&proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)})
	var resp proto.ConnectResponse
	if err := jute.Unmarshal(r.read(), &resp); err != nil || resp.SessionID == 0 {
		t.Fatalf("connect: %v %+v", err, resp)
	}
	return r
}

func (r *rawConn) send(records ...jute.Record) {
	r.t.Helper()
	if _, err := r.c.Write(proto.AppendFrame(nil, records...)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) read() []byte {
	r.t.Helper()
	p, err := proto.ReadFrame(r.c, nil, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rawConn) reply(xid int32) (proto.ReplyHeader, *jute.Decoder) {
	r.t.Helper()
	d := jute.NewDecoder(r.read(), 0)
	var h proto.ReplyHeader
	if err := h.Decode(d); err != nil || h.Xid != xid {
		r.t.Fatalf("reply header %+v (%v), want xid %d", h, err, xid)
	}
	return h, d
}

func (r *rawConn) auth(scheme, data string) proto.ErrCode {
	r.t.Helper()
	r.send(&proto.RequestHeader{Xid: -4, Type: proto.OpAuth}, &proto.AuthPacket{Scheme: scheme, Auth: []byte(data)})
	h, _ := r.reply(-4)
	return h.Err
}

func (r *rawConn) whoAmI() []proto.ClientInfo {
	r.t.Helper()
	r.xid++
	r.send(&proto.RequestHeader{Xid: r.xid, Type: proto.OpWhoAmI})
	h, d := r.reply(r.xid)
	var resp proto.WhoAmIResponse
	if err := resp.Decode(d); h.Err != proto.ErrOK || err != nil {
		r.t.Fatalf("whoAmI: %v %v", h.Err, err)
	}
	return resp.ClientInfo
}

// expectClosed reports an error unless the server closes the connection
// without sending anything more.
func (r *rawConn) expectClosed() error {
	p, err := proto.ReadFrame(r.c, nil, 0)
	if err == nil {
		return fmt.Errorf("got another frame (%d bytes), want the connection closed", len(p))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("connection still open: %v", err)
	}
	return nil
}
